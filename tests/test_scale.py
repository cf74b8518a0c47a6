"""The embed stage on Ray Data (`pip install -e .[scale]`, which `make install` includes): on a local Ray with two actors,
the Parquet shards hold the vectors a single process computes, and the experiment runs on them as a table."""
import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip('ray', reason='the scale extra is not installed (pip install -e .[scale]; make install does)')

@pytest.fixture(scope='module')
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()

def test_ray_embedding_equals_the_single_process_embed(local_ray, tmp_path):
    import torch
    from mmkg.core import StageCache
    from mmkg.generate import GeneratorConfig, load_generated
    from mmkg.tables import load_table
    from mmkg.embed import embed_images, load_clip
    from mmkg.scale import embed_table_ray
    ds = load_generated(GeneratorConfig(n_images=40, seed=3), StageCache(tmp_path / 'cache'))
    torch.manual_seed(0); ckpt = tmp_path / 'tiny.pt'; torch.save(load_clip('mmkg-tiny', '', 'cpu').model.state_dict(), ckpt)
    table = pd.DataFrame({'image': ds.images.path, 'keywords': [ds.image_keywords(i) for i in range(len(ds))],
                          'scene': np.asarray(ds.scenes)[ds.image_scene]})
    table.loc[len(table)] = [str(tmp_path / 'zz-broken.png'), ['red circle'], ds.scenes[0]]
    (tmp_path / 'zz-broken.png').write_bytes(b'not a png')
    shards = embed_table_ray(table, tmp_path / 'shards', 'mmkg-tiny', str(ckpt), batch_size=8, actors=2, device='cpu')
    assert len(list(shards.glob('*.parquet'))) > 1                                  # written by the pool, in shards
    raw = pd.read_parquet(shards)
    assert len(raw) == len(table) and raw.ok.sum() == len(ds) and not raw.set_index('image').ok[str(tmp_path / 'zz-broken.png')]
    got = load_table(shards, vector_col='vector', id_col='image')
    X, ok = embed_images(load_clip('mmkg-tiny', str(ckpt), 'cpu'), sorted(ds.images.path), batch_size=16)
    np.testing.assert_allclose(got.vectors, X, atol=1e-5)                          # row for row, sorted by image
    assert got.skips.to_dict() == {'unreadable image (ok = False)': 1}              # the broken file, counted
    assert set(got.keywords) <= set(ds.keywords) and len(got) == len(ds)

def test_load_table_refuses_a_folder_without_shards(tmp_path):
    from mmkg.data import DataError
    from mmkg.tables import load_table
    (tmp_path / 'empty').mkdir()
    with pytest.raises(DataError, match='a folder without .parquet shards'): load_table(tmp_path / 'empty', vector_col='vector')
