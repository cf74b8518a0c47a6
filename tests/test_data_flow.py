"""Data sources agree with each other: a table written from a loaded COCO dataset reads back to the same labels."""
import numpy as np
import pandas as pd
from mmkg.coco import load_coco
from mmkg.tables import load_table
from mmkg.generate import load_generated, GeneratorConfig
from mmkg.data import split_images

def test_table_roundtrip_of_coco_mini(tmp_path, coco_mini):
    coco = load_coco(coco_mini, 'val2017')
    df = pd.DataFrame({'image': coco.images.path, 'keywords': [repr(coco.image_keywords(i)) for i in range(len(coco))],
                       'group': coco.images.image_id % 7})
    df.to_parquet(tmp_path / 't.parquet')
    tab = load_table(tmp_path / 't.parquet')
    assert len(tab) == len(coco)
    on_images = {k for i in range(len(coco)) for k in coco.image_keywords(i)}
    assert len(on_images) >= 10 and set(tab.keywords) == on_images        # the table keeps every keyword an image has, and only those
    used = [k for k in coco.keywords if k in set(tab.keywords)]
    cols = [coco.keywords.index(k) for k in used]
    assert (coco.labels[:, cols] != tab.labels[:, [tab.keywords.index(k) for k in used]]).nnz == 0
    sp = split_images(tab, seed=0)                       # grouped: 7 groups, none straddles two sides
    sides = {s: set(tab.images.group[sp[s]]) for s in ('train', 'val', 'test')}
    assert not (sides['train'] & sides['val']) and not (sides['train'] & sides['test']) and not (sides['val'] & sides['test'])

def test_generated_is_deterministic_and_scene_structured(tmp_path):
    from mmkg.core import StageCache
    cfg = GeneratorConfig(n_images=400, seed=3)
    ds, again = (load_generated(cfg, StageCache(tmp_path / d)) for d in ('a', 'b'))   # generated twice, in separate caches
    assert ds.key == again.key                                                           # ids, labels, scenes, captions, relative paths
    assert all(open(p, 'rb').read() == open(q, 'rb').read() for p, q in zip(ds.images.path[:20], again.images.path[:20]))   # the pixels
    assert ds.key != load_generated(GeneratorConfig(n_images=400, seed=4), StageCache(tmp_path / 'c')).key
    Y = ds.labels.toarray()
    per_scene = np.stack([Y[ds.image_scene == s].mean(0) for s in range(len(ds.scenes))])
    # object frequencies differ across scenes far more than sampling noise would make them
    spread = per_scene.max(0) - per_scene.min(0)
    assert spread.mean() > 0.3, spread

def test_coco_split_guards_name_the_shared_image_and_the_categories(coco_two_splits):
    "load_coco_splits refuses a test image that is also a training image, and splits of different category lists."
    import json, pytest
    from mmkg.data import DataError
    from mmkg.coco import load_coco_splits
    ann = coco_two_splits / 'annotations'
    assert len(load_coco_splits(coco_two_splits, 'trainmini', 'testmini')) == 20          # the fixture itself loads
    inst, caps = (json.loads((ann / f'{k}_testmini.json').read_text()) for k in ('instances', 'captions'))
    train_inst = json.loads((ann / 'instances_trainmini.json').read_text())
    shared = train_inst['images'][0]
    (ann / 'instances_leaky.json').write_text(json.dumps({**inst, 'images': inst['images'] + [shared]}))
    (ann / 'captions_leaky.json').write_text(json.dumps(caps)); (coco_two_splits / 'leaky').symlink_to(coco_two_splits / 'trainmini')
    with pytest.raises(DataError, match=f"image id {shared['id']} is in both trainmini and leaky \\(1 shared\\)"):
        load_coco_splits(coco_two_splits, 'trainmini', 'leaky')
    (ann / 'instances_fewer.json').write_text(json.dumps({**inst, 'categories': inst['categories'][:-1],
                                                          'annotations': [a for a in inst['annotations'] if a['category_id'] != inst['categories'][-1]['id']]}))
    (ann / 'captions_fewer.json').write_text(json.dumps(caps)); (coco_two_splits / 'fewer').symlink_to(coco_two_splits / 'testmini')
    with pytest.raises(DataError, match='COCO splits trainmini and fewer .* have different categories \\(80 vs 79'):
        load_coco_splits(coco_two_splits, 'trainmini', 'fewer')

def test_graph_reads_no_test_label(tmp_path):
    "Keyword co-occurrence edges and keyword prototypes come from training labels only: rewriting every test image's labels changes nothing."
    import dataclasses
    import scipy.sparse as sp
    import torch
    from mmkg.core import StageCache
    from mmkg.embed import Embeddings
    from mmkg.graph import GraphConfig, build_graph, flatten
    ds = load_generated(GeneratorConfig(n_images=120, seed=0), StageCache(tmp_path))
    g = np.random.default_rng(0); unit = lambda n: (lambda a: a / np.linalg.norm(a, axis=1, keepdims=True))(g.normal(size=(n, 16)).astype(np.float32))
    emb = Embeddings(image=unit(len(ds)), keyword=unit(len(ds.keywords)), keyword_raw=unit(len(ds.keywords)),
                     scene=unit(len(ds.scenes)), image_scene=ds.image_scene, scene_names=ds.scenes)
    split = split_images(ds, seed=0)
    Y = ds.labels.toarray(); Y[split.test] = 1 - Y[split.test]                             # every test label flipped
    other = dataclasses.replace(ds, labels=sp.csr_matrix(Y))
    cfg = GraphConfig(keyword_cooccurrence=0.2, keyword_features='prototype')
    a, b = (flatten(build_graph(d, emb, split, cfg)) for d in (ds, other))
    assert torch.equal(a.x, b.x) and torch.equal(a.rowptr, b.rowptr) and torch.equal(a.col, b.col)
    kw = a.offset['keyword']; e = a.edge_index
    assert ((e[0] >= kw) & (e[0] < kw + a.count['keyword']) & (e[1] >= kw) & (e[1] < kw + a.count['keyword'])).any()   # co-occurrence edges exist
    # the same rewrite on a training image does change them: the test can see a leak
    Y2 = ds.labels.toarray(); Y2[split.train[:40]] = 1 - Y2[split.train[:40]]
    c = flatten(build_graph(dataclasses.replace(ds, labels=sp.csr_matrix(Y2)), emb, split, cfg))
    assert not (torch.equal(a.x, c.x) and torch.equal(a.col, c.col))
