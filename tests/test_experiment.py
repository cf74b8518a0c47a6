"""The experiment notebook end to end through papermill, as a user runs it (reduced sizes)."""
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
import yaml

from conftest import REPO
from mmkg.baselines import DISPLAY_NAMES

def run_experiment(tmp_path, **params) -> Path:
    out = tmp_path / 'run'
    args = [sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', str(REPO / 'nbs'),
            str(REPO / 'nbs' / '10_experiment.ipynb'), str(out / 'executed.ipynb'),
            '-p', 'out_dir', str(out), '-p', 'cache_dir', str(tmp_path / 'cache')]
    for k, v in params.items(): args += ['-y', yaml.safe_dump({k: v})] if isinstance(v, list) else ['-p', k, str(v)]
    out.mkdir(parents=True)
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def test_experiment_on_coco_mini(tmp_path, coco_mini):
    "The reduced experiment completes on real COCO files; its dataset counts agree with the JSON."
    out = run_experiment(tmp_path, dataset='coco', data_root=coco_mini, coco_split='val2017')
    metrics = json.loads((out / 'metrics.json').read_text())
    inst = json.loads((coco_mini / 'annotations' / 'instances_val2017.json').read_text())
    assert metrics['dataset']['images'] == len(inst['images'])
    assert yaml.safe_load((out / 'params.yaml').read_text())['dataset'] == 'coco'  # -p reached the parameters cell
    methods = set(pd.read_csv(out / 'tables' / 'link_prediction.csv').method)
    assert methods == {'CLIP (prompted)', 'CLIP (raw names)', 'CLIP (fine-tuned)', 'SAGE-cosine', 'SAGE-scene', 'SAGE-self', *DISPLAY_NAMES.values()}
    assert (out / 'search' / 'manifest.json').exists() and (out / 'tables' / 'search.csv').exists()   # coco-mini has 5 captions an image
    assert (out / 'figures' / 'roc.png').stat().st_size > 0
    assert 'skipped:' in (out / 'summary.md').read_text()

def test_experiment_over_seeds_reports_intervals(tmp_path):
    "Two seeds: per-seed rows for each, intervals and the paired SAGE − CLIP table."
    out = run_experiment(tmp_path, n_images=80, seeds=[0, 1], methods=['scene'])
    per_seed = pd.read_csv(out / 'tables' / 'link_prediction_per_seed.csv')
    assert sorted(per_seed.seed.unique()) == [0, 1]
    assert pd.read_csv(out / 'tables' / 'link_prediction.csv').macro_auc_ci95.notna().all()
    assert (out / 'tables' / 'sage_minus_clip.csv').exists()
    boot = pd.read_csv(out / 'tables' / 'sage_minus_clip_bootstrap.csv')
    assert sorted(boot.seed) == [0, 1] and (boot.boot_low <= boot.boot_high).all()
    for fig in ('pr', 'threshold_sweep', 'per_keyword', 'embedding_map'): assert (out / 'figures' / f'{fig}.svg').stat().st_size > 0
