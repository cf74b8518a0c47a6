"""Data sources agree with each other: a table written from a loaded COCO dataset reads back to the same labels."""
import numpy as np
import pandas as pd
from mmkg.data import load_coco, load_table, load_generated, GeneratorConfig, split_images

def test_table_roundtrip_of_coco_mini(tmp_path, coco_mini):
    coco = load_coco(coco_mini, 'val2017')
    df = pd.DataFrame({'image': coco.images.path, 'keywords': [repr(coco.image_keywords(i)) for i in range(len(coco))],
                       'group': coco.images.image_id % 7})
    df.to_parquet(tmp_path / 't.parquet')
    tab = load_table(tmp_path / 't.parquet')
    assert len(tab) == len(coco)
    used = [k for k in coco.keywords if k in set(tab.keywords)]
    cols = [coco.keywords.index(k) for k in used]
    assert (coco.labels[:, cols] != tab.labels[:, [tab.keywords.index(k) for k in used]]).nnz == 0
    sp = split_images(tab, seed=0)                       # grouped: 7 groups, none straddles two sides
    sides = {s: set(tab.images.group[sp[s]]) for s in ('train', 'val', 'test')}
    assert not (sides['train'] & sides['val']) and not (sides['train'] & sides['test']) and not (sides['val'] & sides['test'])

def test_generated_is_deterministic_and_scene_structured(cache):
    ds = load_generated(GeneratorConfig(n_images=400, seed=3), cache)
    Y = ds.labels.toarray()
    per_scene = np.stack([Y[ds.image_scene == s].mean(0) for s in range(len(ds.scenes))])
    # object frequencies differ across scenes far more than sampling noise would make them
    spread = per_scene.max(0) - per_scene.min(0)
    assert spread.mean() > 0.3, spread
