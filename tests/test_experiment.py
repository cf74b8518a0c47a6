"""The experiment notebook end to end through papermill, as a user runs it (reduced sizes)."""
import json, subprocess, sys
from pathlib import Path
import pandas as pd
import pytest
import yaml

from conftest import REPO

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
    out = run_experiment(tmp_path, dataset='coco', data_root=coco_mini, coco_split='val2017')
    table = pd.read_csv(out / 'tables' / 'dataset.csv')
    inst = json.loads((coco_mini / 'annotations' / 'instances_val2017.json').read_text())
    assert table.loc[0, 'images'] == len(inst['images'])
    assert yaml.safe_load((out / 'params.yaml').read_text())['dataset'] == 'coco'  # -p reached the parameters cell
    assert (out / 'figures' / 'samples.png').stat().st_size > 0
    assert 'skipped: none' in (out / 'summary.md').read_text()

def test_experiment_on_generated_reports_splits(tmp_path):
    out = run_experiment(tmp_path, n_images=60, seeds=[0, 1])
    run = json.loads((out / 'run.json').read_text())
    assert run['dataset']['images'] == 60 and run['params']['seeds'] == [0, 1]
    assert 'seed 1' in (out / 'summary.md').read_text()
