"""The `mmkg` console script: a sweep with its index, a resumed sweep, and a failing run that keeps its notebook."""
import shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO


MMKG = shutil.which('mmkg', path=str(Path(sys.executable).parent)) or 'mmkg'
SMALL = {'n_images': 80, 'clip_pretrain_images': 80, 'sage_epochs': 2, 'finetune': False, 'n_boot': 50, 'reconnections': ['scene']}

def mmkg(*args, cwd):
    return subprocess.run([MMKG, *args, '--no-progress'], capture_output=True, text=True, cwd=cwd)

def test_failed_run_keeps_its_notebook(tmp_path):
    r = mmkg('run', '--run', 'bad', '--outputs', 'out', '-p', 'dataset', 'nope', cwd=tmp_path)
    assert r.returncode == 1
    assert "parameter 'dataset'" in r.stdout and 'failed' in r.stdout
    assert (tmp_path / 'out' / 'bad' / 'executed.ipynb').exists()

def test_unknown_parameter_is_refused_before_running(tmp_path, monkeypatch, capsys):
    "The console script's `main`, in this process: a misspelt parameter is refused before a folder is made or a kernel started."
    from mmkg.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(['run', '--outputs', 'out', '-p', 'sage_epoch', '3', '--no-progress']) == 2
    assert "unknown parameter 'sage_epoch'" in capsys.readouterr().err
    assert not (tmp_path / 'out').exists()

def test_sweep_writes_an_index_and_a_report_and_resumes(tmp_path):
    """A sweep over the generator's hidden_frac: an index of its runs read from their own tables, one table and one figure
    of every method's macro AP by the knob, and a rerun that keeps the finished runs instead of running them again."""
    spec = {'name': 'kn', 'base': {**SMALL, 'baselines': ['linear-probe']}, 'grid': {'hidden_frac': [0.0, 0.5]},
            'report': {'knob': 'hidden_frac', 'metric': 'macro_ap'}}
    (tmp_path / 'k.yaml').write_text(yaml.safe_dump(spec))
    r = mmkg('sweep', '-f', 'k.yaml', '--outputs', 'out', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    root = tmp_path / 'out' / 'kn'
    index = pd.read_csv(root / 'index.csv')
    assert index.run.tolist() == ['hidden_frac=0.0', 'hidden_frac=0.5'] and (index.status == 'ok').all()
    own = pd.read_csv(root / 'hidden_frac=0.5' / 'tables' / 'link_prediction.csv').set_index('method')
    assert index['SAGE-scene macro_auc'].iloc[1] == pytest.approx(own.loc['SAGE-scene', 'macro_auc'])   # the run's own table
    assert (root / 'hidden_frac=0.5' / 'executed.ipynb').exists()
    assert index['CLIP (prompted) macro_auc'].nunique() == 2          # the two knob values are different runs
    report = pd.read_csv(root / 'report_hidden_frac.csv')
    assert sorted(report.hidden_frac.unique()) == [0.0, 0.5] and (root / 'report_hidden_frac.png').stat().st_size > 0
    got = report[report.hidden_frac == 0.5].set_index('method').macro_ap
    assert set(got.index) == set(own.index) and np.allclose(got[own.index], own.macro_ap)   # the runs' own tables, by knob value
    again = mmkg('sweep', '-f', 'k.yaml', '--outputs', 'out', cwd=tmp_path)   # finished runs are kept, not rerun
    assert again.returncode == 0 and (pd.read_csv(root / 'index.csv').status == 'kept').all()

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
