"""Real weights by path: an open_clip model of a real architecture saved to a checkpoint file loads through `load_clip`
and embeds exactly as the model it was saved from (random weights: no network, the same code path as a downloaded file)."""
import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

from mmkg.embed import embed_images, embed_texts, load_clip

def test_real_architecture_checkpoint_loads_by_path(tmp_path, coco_mini):
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms('ViT-B-32')   # the real architecture, random weights
    model.eval()
    ckpt = tmp_path / 'open_clip_model.safetensors'
    save_file(model.state_dict(), str(ckpt))
    clip = load_clip('ViT-B-32', str(ckpt), 'cpu')
    assert clip.weights_id != 'random-init' and clip.pretrained == str(ckpt)
    paths = [str(p) for p in sorted((coco_mini / 'val2017').glob('*.jpg'))[:3]]
    with torch.inference_mode():
        ref = F.normalize(model.encode_image(torch.stack([preprocess(Image.open(p).convert('RGB')) for p in paths])), dim=-1).numpy()
        ref_text = F.normalize(model.encode_text(open_clip.get_tokenizer('ViT-B-32')(['a photo of a dog.'])), dim=-1).numpy()
    got, ok = embed_images(clip, paths)
    assert ok.all() and got.shape == (3, 512)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(embed_texts(clip, ['a photo of a dog.']), ref_text, rtol=0, atol=1e-5)
    other = load_clip('ViT-B-32', '', 'cpu')                                      # another random init differs
    assert not np.allclose(embed_images(other, paths[:1])[0], got[:1], atol=1e-3)
