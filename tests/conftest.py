"""Shared fixtures: the repository's real COCO fixture, offline settings, a private cache per test."""
import os
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
