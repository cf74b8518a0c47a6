"""The experiment notebook end to end through papermill, as a user runs it (reduced sizes)."""
import json, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pandas as pd
import yaml
from safetensors.numpy import load_file

from conftest import REPO
from mmkg.contract import METHODS
import mmkg.methods  # noqa: F401 (registers every built-in method in METHODS)
from mmkg.params import ExperimentConfig
from mmkg.coco import load_coco
from mmkg.data import split_images

def run_experiment(tmp_path, *extra, **params) -> Path:
    "Run the experiment with papermill (`-y` for lists, `-p` for the rest, then `extra` arguments) into tmp_path/run."
    out = tmp_path / 'run'
    args = [sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', str(REPO / 'nbs'), '--log-output', '--no-progress-bar',
            str(REPO / 'nbs' / '10_experiment.ipynb'), str(out / 'executed.ipynb'),
            '-p', 'out_dir', str(out), '-p', 'cache_dir', str(tmp_path / 'cache')]
    for k, v in params.items(): args += ['-y', yaml.safe_dump({k: v})] if isinstance(v, list) else ['-p', k, str(v)]
    out.mkdir(parents=True)
    r = subprocess.run(args + list(extra), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    (out / 'log.txt').write_text(r.stderr)
    return out

TOY_METHOD = '''"""A method registered outside the package: each image gets the labels of its nearest training image."""
import numpy as np
from mmkg.contract import MethodScores
from mmkg.contract import register_method

def nearest(X_train, Y_train, X): return np.asarray(Y_train, np.float32)[np.argmax(X @ X_train.T, 1)]

@register_method('toy-nearest', 'Toy: labels of the nearest training image', 'baseline', score_kind='label of the nearest image',
                 tag=lambda tg, key, m, X, scene=None, caption=None: nearest(tg.T['train.x'], tg.T['train.labels'], X))   # nothing to bundle of its own
def toy(ctx):
    X, s, Y = ctx.emb.image, ctx.split, ctx.ds.labels[ctx.split.train].toarray()
    return MethodScores('', 'baseline', nearest(X[s.train], Y, X[s.test]), nearest(X[s.train], Y, X[s.val]))
'''

def test_experiment_on_coco_mini(tmp_path, coco_mini, monkeypatch):
    """The reduced experiment completes on real COCO files; its dataset counts agree with the JSON. A method registered in
    a module of the user's (one file, nothing else touched) is in the table, the bundle and `mmkg tag`'s output."""
    (tmp_path / 'mmkg_toy.py').write_text(TOY_METHOD); monkeypatch.setenv('PYTHONPATH', str(tmp_path))   # the kernel and `mmkg tag` import it
    out = run_experiment(tmp_path, dataset='coco', data_root=coco_mini, coco_split='val2017', method_modules=['mmkg_toy'], extra_methods=['toy-nearest'])
    metrics = json.loads((out / 'metrics.json').read_text())
    inst = json.loads((coco_mini / 'annotations' / 'instances_val2017.json').read_text())
    assert metrics['dataset']['images'] == len(inst['images'])
    assert yaml.safe_load((out / 'params.yaml').read_text())['dataset'] == 'coco'  # -p reached the parameters cell
    methods = set(pd.read_csv(out / 'tables' / 'link_prediction.csv').method)
    monkeypatch.syspath_prepend(str(tmp_path))
    keys = ExperimentConfig(dataset='coco', method_modules=('mmkg_toy',), extra_methods=('toy-nearest',)).method_keys()
    assert methods == {METHODS[k].name for k in keys}   # every method of the run, by its registry name
    assert {'CLIP (prompted)', 'CLIP (fine-tuned)', 'SAGE-scene'} <= methods
    assert (out / 'search' / 'manifest.json').exists() and (out / 'tables' / 'search.csv').exists()   # coco-mini has 5 captions an image
    assert (out / 'figures' / 'roc.png').stat().st_size > 0
    assert 'skipped:' in (out / 'summary.md').read_text()
    link = pd.read_csv(out / 'tables' / 'link_prediction.csv').set_index('method')
    assert link.loc['Toy: labels of the nearest training image', 'inputs'] == 'image'
    bundle = json.loads((out / 'model' / 'bundle.json').read_text())['methods']['toy-nearest']
    assert bundle['module'] == 'mmkg_toy' and bundle['scores'] == 'label of the nearest image'
    r = subprocess.run([str(Path(sys.executable).parent / 'mmkg'), 'tag', str(out), str(out / 'model' / 'test_images.csv'), '--method', 'toy-nearest',
                        '--top-k', '0', '-o', str(tmp_path / 'toy.csv')], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    tags = pd.read_csv(tmp_path / 'toy.csv'); ref = load_file(str(out / 'model' / 'check.safetensors'))['scores.toy-nearest']
    assert 'tagged' in r.stderr and 'Toy: labels of the nearest training image' in r.stderr
    assert sorted(tags.score.round(6)) == sorted(ref.ravel().round(6))   # every score of every test image, as the run gave them
    lit, link = (pd.read_csv(out / 'tables' / f'{t}.csv').set_index('method') for t in ('literature', 'link_prediction'))
    assert list(lit.index) == list(link.index)                                       # every method, in the literature's format
    assert np.allclose(lit.mAP, 100 * link.macro_ap) and np.allclose(lit.OF1, 100 * link.micro_f1)

def test_experiment_trains_and_tests_on_separate_coco_splits(tmp_path, coco_two_splits):
    "The literature's protocol: train (and validation, carved by seed) from one annotation file, test on another."
    out = run_experiment(tmp_path, dataset='coco', data_root=coco_two_splits, coco_split='trainmini', coco_test_split='testmini',
                         seeds=[0, 1], reconnections=['scene'], baselines=['linear-probe'], finetune=False, search=False, n_boot=10)
    per_seed = pd.read_csv(out / 'tables' / 'link_prediction_per_seed.csv')
    assert set(per_seed.images) == {6}                                   # every seed scores exactly the test file's 6 images
    graph = pd.read_csv(out / 'tables' / 'graph.csv')
    assert graph[(graph.kind == 'node') & (graph.type == 'image')]['count'].item() == 12   # training-file images only (14 less val)
    assert json.loads((out / 'metrics.json').read_text())['dataset']['images'] == 20
    assert 'trainmini+testmini' in (out / 'summary.md').read_text()
    assert (out / 'tables' / 'literature.csv').exists()
    # the tiny CLIP trained only on training-file images: the test file's ids are not among them
    test_ids = {im['id'] for im in json.loads((coco_two_splits / 'annotations' / 'instances_testmini.json').read_text())['images']}
    assert not test_ids & set(pd.read_csv(out / 'tables' / 'clip_training_images.csv').image_id)

def test_experiment_over_seeds_reports_intervals(smoke_run):
    "Two seeds (the shared smoke run): per-seed rows for each, intervals and the paired graph − CLIP table of every graph method."
    out = smoke_run
    per_seed = pd.read_csv(out / 'tables' / 'link_prediction_per_seed.csv')
    assert sorted(per_seed.seed.unique()) == [0, 1]
    assert pd.read_csv(out / 'tables' / 'link_prediction.csv').macro_auc_ci95.notna().all()
    assert (out / 'tables' / 'sage_minus_clip.csv').exists()
    boot = pd.read_csv(out / 'tables' / 'sage_minus_clip_bootstrap.csv')
    assert sorted(boot.a.unique()) == ['Blend (best graph + probe)', 'Correct & Smooth (probe)', 'SAGE-cosine', 'SAGE-scene']   # every graph method of the run
    boot = boot[boot.a == 'SAGE-scene']
    assert sorted(boot.seed) == [0, 1]
    auc = per_seed.pivot(index='seed', columns='method', values='macro_auc')   # the bootstrap's point = the tables' difference
    assert np.allclose(boot.sort_values('seed').mean_diff, (auc['SAGE-scene'] - auc['CLIP (prompted)']).loc[[0, 1]])
    assert (auc.loc[0] != auc.loc[1]).all()                                   # a different seed is a different run, for every method
    for fig in ('pr', 'threshold_sweep', 'per_keyword', 'embedding_map'): assert (out / 'figures' / f'{fig}.svg').stat().st_size > 0

def test_captionless_coco_in_images_layout_with_text_list_parameters(tmp_path, coco_mini):
    """COCO as the original project used it — instances only, images under images/<split>/ — run with papermill's
    text parameters (`-p seeds '[3, 4]'`): the run completes, text search says it has no documents, and the tiny CLIP
    (no pretrained weights) never trained on an image that either seed tests on."""
    root = tmp_path / 'coco'
    shutil.copytree(coco_mini / 'annotations', root / 'annotations'); shutil.copytree(coco_mini / 'val2017', root / 'images' / 'val2017')
    (root / 'annotations' / 'captions_val2017.json').unlink()
    out = run_experiment(tmp_path, '-p', 'seeds', '[3, 4]', '-p', 'reconnections', '[scene]', '-p', 'baselines', '[ranking]',
                         dataset='coco', data_root=root, finetune='false', n_boot=20)
    params = yaml.safe_load((out / 'params.yaml').read_text())
    assert params['seeds'] == [3, 4] and params['finetune'] is False           # text parameters, read as YAML
    summary = (out / 'summary.md').read_text()
    assert 'text search: no documents' in summary
    assert json.loads((out / 'search' / 'clip' / 'bm25' / 'n.json').read_text()) == 20
    assert sorted(pd.read_csv(out / 'tables' / 'link_prediction_per_seed.csv').seed.unique()) == [3, 4]
    ds = load_coco(root, 'val2017')
    trained = set(pd.read_csv(out / 'tables' / 'clip_training_images.csv').image_id)
    tested = {int(i) for s in (3, 4) for i in ds.images.image_id[split_images(ds, (0.7, 0.15, 0.15), seed=s).test]}
    assert trained and not trained & tested and len(trained | tested) == len(ds)
    log = (out / 'log.txt').read_text()                                          # the stages show on the terminal
    assert 'stage clip' in log and 'stage embed' in log and 'stage timings (s):' in log

def test_bad_text_parameter_is_one_line_naming_it(tmp_path):
    "A bad parameter stops the run in the config cell with one line naming it (the executed notebook's error, not a traceback of the work)."
    out = tmp_path / 'run'; out.mkdir()
    r = subprocess.run([sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', str(REPO / 'nbs'), '--no-progress-bar',
                        str(REPO / 'nbs' / '10_experiment.ipynb'), str(out / 'executed.ipynb'), '-p', 'out_dir', str(out), '-p', 'seeds', 'first'],
                       capture_output=True, text=True)
    assert r.returncode != 0
    errors = [o for c in json.loads((out / 'executed.ipynb').read_text())['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert len(errors) == 1 and errors[0]['ename'] == 'ConfigError'
    msg = errors[0]['evalue']
    assert '\n' not in msg and msg.startswith("parameter 'seeds': expected list of int, got 'first'"), msg
    assert not (out / 'tables' / 'link_prediction.csv').exists()                        # stopped before any work

def test_committed_demo_results_hold_no_absolute_paths():
    "outputs/demo is committed: no machine's path may be in it (a fresh clone's `make demo` rewrites it byte for byte)."
    demo = REPO / 'outputs' / 'demo'
    params = yaml.safe_load((demo / 'params.yaml').read_text())
    assert params['out_dir'] == 'outputs/demo' and params['cache_dir'] == 'outputs/cache'
    for f in [demo / 'summary.md', demo / 'params.yaml', demo / 'metrics.json', *demo.glob('tables/*')]:
        text = f.read_text()
        assert str(REPO) not in text and '/work/' not in text and '/home/' not in text, f

def test_experiment_config_defaults_are_the_notebooks():
    "ExperimentConfig repeats the parameters cell's defaults (tests and the CLI read them): the two must not drift apart."
    import papermill as pm
    import ast
    nb = {k: ast.literal_eval(v['default']) for k, v in pm.inspect_notebook(str(REPO / 'nbs' / '10_experiment.ipynb')).items()}
    cfg = {k: list(v) if isinstance(v, tuple) else v for k, v in ExperimentConfig().to_dict().items()}
    assert nb == cfg
