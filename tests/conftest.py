"""Shared fixtures: the real COCO sample beside the repository, offline settings, a private cache per test."""
import os
from pathlib import Path
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('MMKG_PROGRESS', '0')
REPO = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def coco_mini() -> Path:
    "../shared/data/coco-mini: 79 real COCO val2017 images with their annotations."
    p = REPO.parent / 'shared' / 'data' / 'coco-mini'
    if not p.exists(): pytest.skip(f'the real COCO sample is not at {p} (it sits beside the repository in CI)')
    return p

@pytest.fixture
def cache(tmp_path):
    from mmkg.core import StageCache
    return StageCache(tmp_path / 'cache')
