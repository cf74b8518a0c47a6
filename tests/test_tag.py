"""A trained run tags new images: `mmkg tag` reproduces the run's scores from the image files, one image at a time equals a
batch, unreadable files are counted, and `mmkg index add` makes new images searchable without changing the old results."""
import json, shutil, subprocess, sys
from pathlib import Path
from types import SimpleNamespace
import numpy as np
import pandas as pd
import pytest
from safetensors.numpy import load_file

MMKG = shutil.which('mmkg', path=str(Path(sys.executable).parent)) or 'mmkg'

def mmkg(*args, capsys=None):
    """`mmkg args…`: the installed console script in a process of its own (capsys None), or its `main` in this process
    (the same parser and commands without ~8 s of imports) with what it printed captured."""
    if capsys is None: return subprocess.run([MMKG, *map(str, args)], capture_output=True, text=True)
    from mmkg.cli import main
    capsys.readouterr(); rc = main(list(map(str, args))); printed = capsys.readouterr()
    return SimpleNamespace(returncode=rc, stdout=printed.out, stderr=printed.err)

@pytest.fixture(scope='module')
def test_images(smoke_run) -> pd.DataFrame:
    return pd.read_csv(smoke_run / 'model' / 'test_images.csv', keep_default_na=False)

@pytest.mark.parametrize('method', ['graph-blend', 'sage-scene', 'sage-cosine', 'correct-smooth', 'knn'])
def test_mmkg_tag_reproduces_the_runs_scores(smoke_run, tmp_path, method, capsys):
    """Tagging the run's own test images from their files gives the score matrix the experiment gave them (same method,
    seed). The first method through the installed console script, the others through its `main` in this process."""
    r = mmkg('tag', smoke_run, smoke_run / 'model' / 'test_images.csv', '--method', method, '--top-k', '0', '-o', tmp_path / 't.jsonl',
             capsys=None if method == 'graph-blend' else capsys)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'FutureWarning' not in r.stderr                    # PyG's torch.jit.script deprecation is not the user's to act on
    rows = [json.loads(line) for line in (tmp_path / 't.jsonl').read_text().splitlines()]
    bundle = json.loads((smoke_run / 'model' / 'bundle.json').read_text())
    col = {k: j for j, k in enumerate(bundle['keywords'])}
    S = np.zeros((len(rows), len(col)), np.float32)
    for i, row in enumerate(rows):
        for kw in row['keywords']: S[i, col[kw['keyword']]] = kw['score']
    ref = load_file(str(smoke_run / 'model' / 'check.safetensors'))[f'scores.{method}']
    assert S.shape == ref.shape and np.abs(S - ref).max() < 1e-4
    assert all(kw['tagged'] == (kw['score'] >= bundle['methods'][method]['threshold']) for row in rows for kw in row['keywords'])
    assert f"tagged {len(rows)} images with {bundle['methods'][method]['name']}" in r.stderr

def test_one_image_at_a_time_equals_the_batch(smoke_run, test_images):
    from mmkg.tag import Tagger
    tagger, paths, scenes = Tagger.from_run(smoke_run), test_images.path[:6].tolist(), test_images.scene[:6].tolist()
    for method in ('sage-cosine', 'sage-scene', 'correct-smooth'):
        batch = tagger.tag(paths, method, scenes).scores
        alone = np.concatenate([tagger.tag([p], method, [s]).scores for p, s in zip(paths, scenes)])
        np.testing.assert_allclose(alone, batch, atol=1e-5)

def test_unreadable_files_are_named_and_counted(smoke_run, test_images, tmp_path, capsys):
    "A corrupt file and a missing one are counted in the summary line; the readable images are tagged; exit status 0."
    (tmp_path / 'broken.png').write_bytes(b'not a png')
    good = test_images.path[:3].tolist()
    r = mmkg('tag', smoke_run, *good, tmp_path / 'broken.png', tmp_path / 'gone.jpg', '-o', tmp_path / 'out.csv', capsys=capsys)
    assert r.returncode == 0, r.stderr[-2000:]
    out = pd.read_csv(tmp_path / 'out.csv')
    assert out.path.unique().tolist() == good and (out.groupby('path').size() == 5).all()
    assert 'skipped: 2 unreadable image' in r.stderr and 'broken.png' in r.stderr

def test_tag_a_folder_with_zero_shot_scenes(smoke_run, test_images, tmp_path):
    "Images in a folder carry no scene: the scene method picks one zero-shot, and says so."
    from mmkg.tag import Tagger
    for p in test_images.path[:4]: shutil.copy(p, tmp_path / Path(p).name)
    tags = Tagger.from_run(smoke_run).tag(sorted(str(p) for p in tmp_path.iterdir()), 'sage-scene')
    assert tags.scene_source == ['zero-shot'] * 4 and all(s in json.loads((smoke_run / 'model' / 'bundle.json').read_text())['scenes'] for s in tags.scene)

def test_bad_method_and_old_bundle_are_one_line_errors(smoke_run, test_images, tmp_path, capsys):
    r = mmkg('tag', smoke_run, test_images.path[0], '--method', 'sage-selff', capsys=capsys)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("mmkg: error: method 'sage-selff' is not in the bundle")
    old = tmp_path / 'old'; shutil.copytree(smoke_run / 'model', old / 'model')
    meta = json.loads((old / 'model' / 'bundle.json').read_text()); (old / 'model' / 'bundle.json').write_text(json.dumps(meta | {'format': 99}))
    r = mmkg('tag', old, test_images.path[0], capsys=capsys)
    assert r.returncode == 2 and 'model bundle format 99, this mmkg reads format 4' in r.stderr

def test_index_add_finds_new_images_and_keeps_old_results(smoke_run, test_images, tmp_path, capsys):
    "`mmkg index add`: each added image is found by its own image and caption queries; old images' results are unchanged."
    from mmkg.search import load_run
    from mmkg.embed import embed_images
    run = tmp_path / 'run'; shutil.copytree(smoke_run, run)
    before = load_run(run); n0 = len(before['gallery'])
    old_hits = {sp: [eng.search_image(r, 10)[1][0] for r in range(0, n0, 17)] for sp, eng in before['engines'].items()}
    old_text = before['engines']['CLIP'].search_text(['a red circle'], 10, 'vector')[1][0]
    new = tmp_path / 'new'; new.mkdir()
    from PIL import Image
    for i, p in enumerate(test_images.path[:3]):   # new images: the test images turned upside down (not duplicates of the gallery's)
        Image.open(p).transpose(Image.Transpose.ROTATE_180).save(new / f'added_{i}.png')
    pd.DataFrame({'path': ['added_0.png', 'added_1.png', 'added_2.png'],
                  'caption': ['a zebra crossing xylophone', '', 'quokka on a unicycle']}).to_csv(new / 'list.csv', index=False)
    r = mmkg('index', 'add', run, new / 'list.csv', capsys=capsys)
    assert r.returncode == 0 and 'added 3 images' in r.stdout, r.stderr[-2000:]
    after = load_run(run); g = after['gallery']
    assert len(g) == n0 + 3 and g.split.tolist()[-3:] == ['added'] * 3 and after['manifest']['added'] == 3
    clip = after['engines']['CLIP']
    X, _ = embed_images(after['clip'], [str(new / f'added_{i}.png') for i in range(3)])
    for i in range(3): assert clip.search_image(X[i], 1)[1][0, 0] == n0 + i                     # found by its own image
    assert after['engines']['SAGE'].search_image(n0 + 2, 1)[1][0, 0] == n0 + 2
    for q, row in (('zebra xylophone', n0), ('quokka unicycle', n0 + 2)):
        assert clip.search_text([q], 1, 'bm25')[1][0, 0] == row                                     # and by its caption
    for sp, eng in after['engines'].items():
        for r_, b in zip(range(0, n0, 17), old_hits[sp]):
            a = eng.search_image(r_, 13)[1][0]; assert (a[a < n0][:10] == b).all(), sp              # old results, same order
    t = clip.search_text(['a red circle'], 13, 'vector')[1][0]; assert (t[t < n0][:10] == old_text).all()
    assert not any(p.name.startswith('.search') for p in run.iterdir())                            # no temporary folder left

def test_caption_methods_read_the_caption_column(smoke_run, test_images, tmp_path, capsys):
    """A method that reads captions tags a CSV's caption column (embedded by the run's CLIP text tower): without one it is
    a one-line error; 'best' for images without captions is the best method on validation that reads none."""
    from mmkg.tag import Tagger
    tagger = Tagger.from_run(smoke_run)
    assert 'linear-probe-caption' in tagger.methods and tagger.needs_caption('linear-probe-caption')
    t = test_images[:4]
    t[['path']].to_csv(tmp_path / 'bare.csv', index=False); t[['path', 'caption']].to_csv(tmp_path / 'cap.csv', index=False)
    r = mmkg('tag', smoke_run, tmp_path / 'bare.csv', '--method', 'linear-probe-caption', capsys=capsys)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        "mmkg: error: method 'linear-probe-caption' reads each image's caption: give captions (a CSV's caption column, or caption vectors)")
    r = mmkg('tag', smoke_run, tmp_path / 'cap.csv', '--method', 'linear-probe-caption', '--top-k', '0', '-o', tmp_path / 'c.csv', capsys=capsys)
    assert r.returncode == 0, r.stderr[-2000:]
    got = pd.read_csv(tmp_path / 'c.csv').pivot(index='path', columns='keyword', values='score').loc[t.path, tagger.keywords].to_numpy()
    X, _ = tagger.embed(t.path.tolist())
    want = tagger.scores('linear-probe-caption', X, caption=tagger.caption_vectors(t.caption.tolist()))
    assert np.abs(got - want).max() < 1e-4 and np.abs(got - tagger.scores('linear-probe-caption', X, caption=np.zeros_like(X))).max() > 1e-3
    assert tagger.tag(t.path.tolist()).method == tagger.best_for(False) and not tagger.needs_caption(tagger.best_for(False))
