"""Fault injection on a copy of the real COCO sample and on the generated dataset.

Every bad input must end in a one-line error that names the bad item, or in a counted skip that the run summary
reports — and what was already computed must survive (a rerun loads it)."""
import json, shutil
import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from mmkg.core import ConfigError, StageCache
from mmkg.data import DataError, ImageError, split_images, verify_images
from mmkg.generate import GeneratorConfig, load_generated
from mmkg.coco import load_coco
from mmkg.tables import load_table
from mmkg.embed import EmbedConfig, EmbeddingCacheError, Embeddings, WeightsError, embed_dataset, embed_images, load_clip
from mmkg.graph import GraphConfig, build_graph, flatten
from mmkg.metrics import macro_auc
from mmkg.reconnect import ReconnectConfig, reconnect
from mmkg.sage import SageConfig, TrainConfig

INSTANCES = 'annotations/instances_val2017.json'

@pytest.fixture
def coco(tmp_path, coco_mini):
    "A private copy of the coco-mini fixture (20 images)."
    root = tmp_path / 'coco'; shutil.copytree(coco_mini, root); return root

def edit(root, f):
    "Edit the copy's instances JSON in place with `f(dict)`."
    p = root / INSTANCES; d = json.loads(p.read_text()); f(d); p.write_text(json.dumps(d))

@pytest.fixture(scope='module')
def clip():
    return load_clip('mmkg-tiny', '', 'cpu')

def one_line(e): return len(str(e.value).splitlines()) == 1

def images_of(root): return sorted((root / 'val2017').glob('*.jpg'))

def test_missing_image_file_is_counted_or_named(coco):
    gone = images_of(coco)[3]; gone.unlink()
    ds = load_coco(coco, 'val2017')
    assert len(ds) == 19 and ds.skips.to_dict() == {'missing image file': 1} and gone.name in ds.skips.summary()
    with pytest.raises(DataError) as e: load_coco(coco, 'val2017', missing_images='raise')
    assert gone.name in str(e.value) and one_line(e)

def test_image_id_without_file(coco):
    edit(coco, lambda d: d['images'].append({**d['images'][0], 'id': 424242, 'file_name': 'ghost.jpg'}))
    ds = load_coco(coco, 'val2017')
    assert len(ds) == 20 and ds.skips.to_dict() == {'missing image file': 1} and 'ghost.jpg' in ds.skips.summary()

def test_annotation_of_unknown_image_and_category(coco):
    def add(d):
        a = d['annotations'][0]
        d['annotations'] += [{**a, 'id': 10**9, 'image_id': 31337}, {**a, 'id': 10**9 + 1, 'category_id': 4242}]
    edit(coco, add)
    ds = load_coco(coco, 'val2017')
    assert ds.skips.to_dict() == {'annotation of unknown category id': 1, 'annotation of unknown image id': 1}
    assert '4242' in ds.skips.summary() and '31337' in ds.skips.summary()

def test_empty_annotations(coco):
    edit(coco, lambda d: d.update(annotations=[]))
    ds = load_coco(coco, 'val2017')
    assert ds.summary()['images without keywords'] == 20 and ds.labels.nnz == 0
    (coco / INSTANCES).write_text('')
    with pytest.raises(DataError) as e: load_coco(coco, 'val2017')
    assert 'instances_val2017.json' in str(e.value) and one_line(e)

def test_duplicate_image_ids(coco):
    edit(coco, lambda d: d['images'].append(dict(d['images'][5])))
    with pytest.raises(DataError) as e: load_coco(coco, 'val2017')
    assert 'duplicate image id' in str(e.value) and one_line(e)

def test_corrupt_grayscale_cmyk_and_tiny_images(coco, clip, tmp_path):
    "A truncated JPEG is counted and named; grayscale, CMYK and 1×1 images embed like any other; a rerun loads the rest."
    files = images_of(coco)
    files[0].write_bytes(files[0].read_bytes()[:2000])                       # truncated JPEG
    Image.open(files[1]).convert('L').save(files[1])                          # grayscale
    Image.open(files[2]).convert('CMYK').save(files[2])                       # CMYK JPEG
    Image.open(files[3]).resize((1, 1)).save(files[3])                        # 1×1 px
    ds = load_coco(coco, 'val2017')
    cache = StageCache(tmp_path / 'cache')
    first = embed_dataset(clip, ds, EmbedConfig(), cache)
    emb = first.value
    assert emb.skips == {'unreadable image': 1} and emb.image_ok.sum() == 19
    bad_row = ds.images.path.tolist().index(str(files[0]))
    assert not emb.image_ok[bad_row] and np.isfinite(emb.image[emb.image_ok]).all()
    with pytest.raises(ImageError, match=files[0].name) as e: embed_images(clip, [str(files[0])], on_error='raise')
    assert files[0].name in str(e.value) and one_line(e)
    again = embed_dataset(clip, ds, EmbedConfig(), cache)                     # nothing already computed is lost
    assert again.hit and np.array_equal(again.value.image, emb.image)

def test_verify_images_counts_corrupt_files(coco):
    images_of(coco)[7].write_bytes(b'\xff\xd8\xff not a jpeg')
    ok = verify_images(load_coco(coco, 'val2017'))
    assert len(ok) == 19 and ok.skips.to_dict() == {'unreadable image': 1}

def write_table(tmp_path, **cols):
    p = tmp_path / 't.csv'; pd.DataFrame(cols).to_csv(p, index=False); return p

def test_table_keywords_string_instead_of_list(tmp_path):
    p = write_table(tmp_path, image=['a', 'b'], vec=['[1, 0]', '[0, 1]'], keywords=['["cat"]', '"cat"'])
    with pytest.raises(DataError) as e: load_table(p, vector_col='vec')
    assert 'keywords' in str(e.value) and one_line(e)

@pytest.mark.parametrize('bad, why', [('[nan, 1]', 'NaN'), ('[0, 0]', 'all-zero vector')])
def test_table_nan_and_zero_vectors(tmp_path, bad, why):
    p = write_table(tmp_path, image=['a', 'b'], vec=['[1, 0]', bad], keywords=['["x"]', '["y"]'])
    with pytest.raises(DataError) as e: load_table(p, vector_col='vec')
    assert why.lower() in str(e.value).lower() and 'vec' in str(e.value) and one_line(e)

def test_table_duplicate_ids(tmp_path):
    p = write_table(tmp_path, image=['a', 'a'], vec=['[1, 0]', '[0, 1]'], keywords=['["x"]', '["y"]'])
    with pytest.raises(DataError) as e: load_table(p, vector_col='vec')
    assert "'a'" in str(e.value) and one_line(e)

def test_embedding_cache_of_another_model_or_dimension(coco_mini, clip, tmp_path):
    ds = load_coco(coco_mini, 'val2017').subset(np.arange(6))
    cache = StageCache(tmp_path / 'cache')
    res = embed_dataset(clip, ds, EmbedConfig(), cache)
    path = cache.path('embed', res.key)
    for field, value in (('image', np.zeros((len(ds), 7), np.float32)), ('model', 'ViT-B-32')):
        art = torch.load(path, weights_only=False); setattr(art, field, value); torch.save(art, path)
        with pytest.raises(EmbeddingCacheError) as e: embed_dataset(clip, ds, EmbedConfig(), cache)
        assert ('dim=7' if field == 'image' else str(value)) in str(e.value) and one_line(e)

@pytest.mark.parametrize('make, item', [
    (lambda: TrainConfig.from_dict({'fanuot': [3, 3]}), "'fanuot'"),
    (lambda: TrainConfig(fanout=(3, -1)), 'fanout'),
    (lambda: SageConfig(dropout=1.5), 'dropout'),
    (lambda: split_images(load_generated(GeneratorConfig(n_images=20)), (0.7, 0.2, 0.2)), 'fractions'),
    (lambda: GraphConfig(image_knn=-1), 'image_knn'),
    (lambda: ReconnectConfig(method='nearest'), 'method'),
])
def test_bad_config_values(make, item, tmp_path, monkeypatch):
    monkeypatch.setenv('MMKG_CACHE', str(tmp_path))
    with pytest.raises(ConfigError) as e: make()
    assert item in str(e.value) and one_line(e)

def test_held_out_image_without_scene_is_counted(cache):
    ds = load_generated(GeneratorConfig(n_images=60, seed=4), cache)
    split = split_images(ds, seed=0)
    kw = np.eye(len(ds.keywords), 8, dtype=np.float32)
    emb = Embeddings(image=np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32), keyword=kw, keyword_raw=kw,
                     scene=np.eye(len(ds.scenes), 8, k=1, dtype=np.float32), image_scene=ds.images.scene.to_numpy(), scene_names=ds.scenes)
    g = flatten(build_graph(ds, emb, split))
    scene = ds.images.scene.to_numpy()[split.test].copy(); scene[:3] = -1
    att = reconnect(g, torch.as_tensor(emb.image[split.test]), ReconnectConfig(method='scene'), scene)
    assert att.skips.to_dict() == {'held-out image without scene (self-loop only)': 3}

def test_keyword_without_test_positives_is_skipped_and_counted():
    rng = np.random.default_rng(0); Y = rng.random((30, 5)) < 0.4; Y[:, 2] = False
    S = rng.random(Y.shape)
    auc, skipped = macro_auc(Y, S)
    assert skipped == 1 and auc == pytest.approx(np.mean([roc_auc_score(Y[:, k], S[:, k]) for k in (0, 1, 3, 4)]))

def test_annotation_file_with_a_json_syntax_error(coco):
    p = coco / INSTANCES; p.write_text(p.read_text()[:-40] + ',,}')
    with pytest.raises(DataError, match='not valid JSON') as e: load_coco(coco, 'val2017')
    assert 'instances_val2017.json' in str(e.value) and one_line(e)

def test_captions_of_unknown_images_are_counted(coco):
    p = coco / 'annotations' / 'captions_val2017.json'; d = json.loads(p.read_text())
    d['annotations'] += [{'id': 10**9, 'image_id': 777777, 'caption': 'a ghost'}, {'id': 10**9 + 1, 'image_id': 888888, 'caption': 'another'}]
    p.write_text(json.dumps(d))
    ds = load_coco(coco, 'val2017')
    assert ds.skips.to_dict() == {'caption of unknown image id': 2} and '777777' in ds.skips.summary()
    assert len(ds.captions) == len(d['annotations']) - 2

@pytest.mark.parametrize('content', ['text', 'foreign state dict'])
def test_checkpoint_that_is_not_an_open_clip_state_dict(tmp_path, content):
    p = tmp_path / 'model.pt'
    if content == 'text': p.write_text('not a checkpoint')
    else: torch.save({'encoder.weight': torch.zeros(3, 3)}, p)
    with pytest.raises(WeightsError, match='cannot load checkpoint') as e: load_clip('mmkg-tiny', str(p), 'cpu')
    assert str(p) in str(e.value) and one_line(e)

def test_parquet_vector_column_with_mixed_lengths(tmp_path):
    p = tmp_path / 't.parquet'
    pd.DataFrame({'image': ['a', 'b', 'c'], 'vec': [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0, 1.0]], 'keywords': [['x'], ['y'], []]}).to_parquet(p)
    with pytest.raises(DataError, match="row 2 \\(image 'c'\\): column 'vec' has length 3, expected 2") as e: load_table(p, vector_col='vec')
    assert 't.parquet' in str(e.value) and one_line(e)
