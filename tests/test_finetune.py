"""Fine-tuning the tiny CLIP really learns (a ~40 s run; the notebook shows the API on a shorter one)."""
from mmkg.data import GeneratorConfig, load_generated, split_images
from mmkg.embed import load_clip
from mmkg.finetune import FinetuneConfig, finetune_clip

def test_short_training_run_learns(cache):
    ds = load_generated(GeneratorConfig(n_images=600, seed=0), cache)
    clip = load_clip('mmkg-tiny', '', 'cpu')
    res = finetune_clip(clip, ds, split_images(ds, seed=0), FinetuneConfig(epochs=8, patience=8, batch_size=32))
    h = res.history
    print(h[['epoch', 'loss', 'i2t_R@1', 't2i_R@1', 'keyword_macro_auc']].round(3).to_string())
    assert h.loss.iloc[-1] < h.loss.iloc[1]                                           # the loss decreases
    untrained, best = h.iloc[0], res.best
    assert best['i2t_R@1'] + best['t2i_R@1'] > untrained['i2t_R@1'] + untrained['t2i_R@1']
    assert h.keyword_macro_auc.max() > untrained['keyword_macro_auc'] + 0.1          # zero-shot keywords improve
