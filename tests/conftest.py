"""Shared fixtures: the repository's real COCO fixture, offline settings, a private cache per test."""
import os, shutil
from pathlib import Path
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('MMKG_PROGRESS', '0')
REPO = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def coco_mini() -> Path:
    "tests/data/coco-mini: 20 real COCO val2017 images with their instances and captions (see its README)."
    return REPO / 'tests' / 'data' / 'coco-mini'

@pytest.fixture
def cache(tmp_path):
    from mmkg.core import StageCache
    return StageCache(tmp_path / 'cache')

@pytest.fixture
def coco_two_splits(tmp_path, coco_mini) -> Path:
    "coco-mini as two COCO splits of one root: `trainmini` (14 images) and `testmini` (the 6 highest ids), images linked."
    import json
    inst = json.loads((coco_mini / 'annotations' / 'instances_val2017.json').read_text())
    caps = json.loads((coco_mini / 'annotations' / 'captions_val2017.json').read_text())
    test_ids = set(sorted(im['id'] for im in inst['images'])[-6:])
    root = tmp_path / 'coco2'; (root / 'annotations').mkdir(parents=True)
    for split, is_test in (('trainmini', False), ('testmini', True)):
        (root / split).mkdir()
        for kind, d in (('instances', inst), ('captions', caps)):
            sub = {**d, 'images': [im for im in d['images'] if (im['id'] in test_ids) == is_test],
                   'annotations': [a for a in d['annotations'] if (a['image_id'] in test_ids) == is_test]}
            (root / 'annotations' / f'{kind}_{split}.json').write_text(json.dumps(sub))
        for im in inst['images']:
            if (im['id'] in test_ids) == is_test: (root / split / im['file_name']).symlink_to(coco_mini / 'val2017' / im['file_name'])
    return root

SMOKE_RUN = '{seeds: [0, 1], reconnections: [cosine, scene], baselines: [linear-probe, knn], extra_methods: [linear-probe-caption], finetune: false, n_boot: 10}'

@pytest.fixture(scope='session')
def smoke_run(tmp_path_factory, worker_id) -> Path:
    """A smoke-sized experiment run over two seeds (SAGE-cosine and -scene, probe, kNN, C&S, blends) with its search index
    and model bundle; made once per test session, also when pytest-xdist's workers share it (a file lock: the first makes it)."""
    import subprocess, sys
    from filelock import FileLock
    root = tmp_path_factory.getbasetemp() if worker_id == 'master' else tmp_path_factory.getbasetemp().parent
    out = root / 'smoke' / 'run'
    with FileLock(str(root / 'smoke.lock')):
        if not (out / 'metrics.json').exists():
            shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
            r = subprocess.run([sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', str(REPO / 'nbs'), '--no-progress-bar',
                                str(REPO / 'nbs' / '10_experiment.ipynb'), str(out / 'executed.ipynb'), '-p', 'out_dir', str(out),
                                '-y', SMOKE_RUN], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr[-3000:]
    return out

def pytest_terminal_summary(terminalreporter):
    "Say it loudly, not as an `s`, when the app's browser test did not run (no Chromium or Playwright on this machine)."
    for r in terminalreporter.stats.get('skipped', []):
        if 'test_app_in_a_browser' in r.nodeid:
            reason = r.longrepr[2] if isinstance(r.longrepr, tuple) else str(r.longrepr)
            terminalreporter.write_sep('!', f'THE APP WAS NOT TESTED IN A BROWSER: {reason}', red=True, bold=True)
