"""Fine-tuning the tiny CLIP really learns (one ~20 s run; the notebook shows the API on a shorter one)."""
import pytest
from mmkg.core import seed_everything
from mmkg.generate import GeneratorConfig, load_generated
from mmkg.data import split_images
from mmkg.embed import SCENE_TEMPLATES, embed_images, embed_keywords, load_clip, zero_shot_scenes
from mmkg.finetune import FinetuneConfig, finetune_clip

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "600 generated images; the tiny CLIP trained 8 epochs from its seeded random initialisation (keyword texts half the time)."
    from mmkg.core import StageCache
    ds = load_generated(GeneratorConfig(n_images=600, seed=0), StageCache(tmp_path_factory.mktemp('cache')))
    split = split_images(ds, seed=0)
    seed_everything(0); clip = load_clip('mmkg-tiny', '', 'cpu')     # the random initialisation is part of the seeded run
    res = finetune_clip(clip, ds, split, FinetuneConfig(epochs=8, patience=8, batch_size=32, keyword_text_prob=0.5))
    return ds, split, clip, res

def test_short_training_run_learns(trained):
    _, _, _, res = trained
    h = res.history
    print(h[['epoch', 'loss', 'i2t_R@1', 'i2t_R@5', 't2i_R@5', 'keyword_macro_auc']].round(3).to_string())
    assert h.loss.iloc[-1] < h.loss.iloc[1]                                           # the loss decreases
    untrained = h.iloc[0]
    assert h['i2t_R@5'].max() + h['t2i_R@5'].max() > untrained['i2t_R@5'] + untrained['t2i_R@5'] + 0.05   # retrieval improves
    assert res.best_epoch > 0                                                         # the selected epoch is a trained one
    assert h.keyword_macro_auc.max() > untrained['keyword_macro_auc'] + 0.1          # zero-shot keywords improve

def test_zero_shot_scenes_of_trained_tiny_model(trained):
    "Scenes by zero-shot (argmax over scene prompts) match the generated images' true scenes well above chance."
    ds, split, clip, _ = trained
    X, ok = embed_images(clip, ds.images.path[split.test].tolist())
    pred = zero_shot_scenes(X, embed_keywords(clip, ds.scenes, SCENE_TEMPLATES))
    acc = float((pred == ds.image_scene[split.test]).mean())
    print(f'zero-shot scene accuracy {acc:.3f} (chance {1 / len(ds.scenes):.3f})')
    assert acc > 2 / len(ds.scenes)
