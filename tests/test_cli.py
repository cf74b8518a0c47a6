"""The `mmkg` console script: a sweep with its index, a resumed sweep, and a failing run that keeps its notebook."""
import shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO


MMKG = shutil.which('mmkg', path=str(Path(sys.executable).parent)) or 'mmkg'
SMALL = {'n_images': 80, 'clip_pretrain_images': 80, 'sage_epochs': 2, 'finetune': False, 'n_boot': 50, 'methods': ['scene']}

def mmkg(*args, cwd):
    return subprocess.run([MMKG, *args, '--no-progress'], capture_output=True, text=True, cwd=cwd)

def test_sweep_writes_an_index_and_resumes(tmp_path):
    spec = {'name': 'sw', 'base': SMALL, 'grid': {'seeds': [[0], [1]]}}
    (tmp_path / 'grid.yaml').write_text(yaml.safe_dump(spec))
    r = mmkg('sweep', '-f', 'grid.yaml', '--outputs', 'out', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    index = pd.read_csv(tmp_path / 'out' / 'sw' / 'index.csv')
    assert index.run.tolist() == ['seeds=0', 'seeds=1'] and (index.status == 'ok').all()
    table = pd.read_csv(tmp_path / 'out' / 'sw' / 'seeds=1' / 'tables' / 'link_prediction.csv').set_index('method')
    assert index['SAGE-scene macro_auc'].iloc[1] == pytest.approx(table.loc['SAGE-scene', 'macro_auc'])   # the run's own table
    assert (tmp_path / 'out' / 'sw' / 'seeds=1' / 'executed.ipynb').exists()
    assert index['CLIP (prompted) macro_auc'].nunique() == 2          # the two seeds are different runs
    again = mmkg('sweep', '-f', 'grid.yaml', '--outputs', 'out', cwd=tmp_path)   # finished runs are kept, not rerun
    assert again.returncode == 0 and (pd.read_csv(tmp_path / 'out' / 'sw' / 'index.csv').status == 'kept').all()

def test_failed_run_keeps_its_notebook(tmp_path):
    r = mmkg('run', '--run', 'bad', '--outputs', 'out', '-p', 'dataset', 'nope', cwd=tmp_path)
    assert r.returncode == 1
    assert "parameter 'dataset'" in r.stdout and 'failed' in r.stdout
    assert (tmp_path / 'out' / 'bad' / 'executed.ipynb').exists()

def test_unknown_parameter_is_refused_before_running(tmp_path):
    r = mmkg('run', '--outputs', 'out', '-p', 'sage_epoch', '3', cwd=tmp_path)
    assert r.returncode == 2 and "unknown parameter 'sage_epoch'" in r.stderr
    assert not (tmp_path / 'out').exists()

def test_sweep_report_over_a_knob(tmp_path):
    "A sweep over the generator's hidden_frac writes one table and one figure of every method's macro AP by the knob."
    spec = {'name': 'kn', 'base': {**SMALL, 'baselines': ['linear-probe']}, 'grid': {'hidden_frac': [0.0, 0.5]},
            'report': {'knob': 'hidden_frac', 'metric': 'macro_ap'}}
    (tmp_path / 'k.yaml').write_text(yaml.safe_dump(spec))
    r = mmkg('sweep', '-f', 'k.yaml', '--outputs', 'out', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    root = tmp_path / 'out' / 'kn'
    report = pd.read_csv(root / 'report_hidden_frac.csv')
    assert sorted(report.hidden_frac.unique()) == [0.0, 0.5] and (root / 'report_hidden_frac.png').stat().st_size > 0
    own = pd.read_csv(root / 'hidden_frac=0.5' / 'tables' / 'link_prediction.csv').set_index('method').macro_ap
    got = report[report.hidden_frac == 0.5].set_index('method').macro_ap
    assert set(got.index) == set(own.index) and np.allclose(got[own.index], own)   # the runs' own tables, by knob value

def test_every_sweep_file_is_valid():
    "Every committed sweep file (including the documented coco2014 one that CI does not run) expands into valid runs."
    from mmkg.cli import expand_grid
    from mmkg.params import ExperimentConfig
    files = sorted((REPO / 'sweeps').glob('*.yaml'))
    assert {f.stem for f in files} >= {'relational', 'relational-coco', 'coco2014'}
    for f in files:
        runs = expand_grid(yaml.safe_load(f.read_text()))
        assert runs, f
        for _, params in runs: ExperimentConfig.from_params(params)
