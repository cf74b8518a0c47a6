"""Reliability of whole runs: kill and resume, atomic stage writes, determinism, the skip summary line."""
import json, shutil, signal, subprocess, sys, textwrap, time
from pathlib import Path
import psutil
import yaml

from conftest import REPO

RUN = {'n_images': 240, 'clip_pretrain_images': 240, 'clip_epochs': 3, 'sage_epochs': 15, 'seeds': [0],
       'reconnections': ['cosine', 'scene', 'self'], 'finetune': False, 'n_boot': 10,
       # what these tests assert needs the cached stages (tiny CLIP, embeddings, SAGE) and the metrics, not every reference
       'baselines': ['linear-probe'], 'correct_smooth': False, 'blend': False, 'search': False, 'bundle': False}

def papermill_args(out: Path, cache: Path, **params):
    args = [sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', str(REPO / 'nbs'), '--no-progress-bar',
            str(REPO / 'nbs' / '10_experiment.ipynb'), str(out / 'executed.ipynb'), '-p', 'out_dir', str(out), '-p', 'cache_dir', str(cache)]
    for k, v in params.items(): args += ['-y', yaml.safe_dump({k: v})]
    out.mkdir(parents=True, exist_ok=True)
    return args

def run(out, cache, **params):
    r = subprocess.run(papermill_args(out, cache, **params), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads((out / 'metrics.json').read_text())

def comparable(metrics: dict) -> str:
    "metrics.json as text (NaN-safe), without the CLIP artefact's cache key (it hashes file paths, which differ by cache)."
    m = json.loads(json.dumps(metrics)); m['clip_model'].pop('weights_id')
    return json.dumps(m, sort_keys=True)

def events(cache: Path):
    f = cache / 'stages.jsonl'
    return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []

def kill_tree(proc):
    "SIGKILL papermill and its kernel (jupyter starts the kernel in a session of its own)."
    for p in psutil.Process(proc.pid).children(recursive=True) + [psutil.Process(proc.pid)]:
        try: p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess: pass
    proc.wait()

def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path):
    """Kill a run during SAGE training (embedding finished); the rerun loads finished stages and ends with the same metrics
    as an uninterrupted run of the same seed (which runs meanwhile, in a process and cache of its own)."""
    reference = subprocess.Popen(papermill_args(tmp_path / 'a', tmp_path / 'cache-a', **RUN), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    out, cache = tmp_path / 'b', tmp_path / 'cache-b'
    proc = subprocess.Popen(papermill_args(out, cache, **RUN), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not any(e['stage'] == 'sage' for e in events(cache)):       # the first SAGE model is saved: the second is training
        assert proc.poll() is None and time.time() < deadline, 'the run ended before it could be interrupted'
        time.sleep(0.02)
    kill_tree(proc)
    assert not (out / 'metrics.json').exists()
    before = events(cache)
    computed = {(e['stage'], e['key']) for e in before if e['event'] == 'computed'}
    assert {'finetune', 'embed', 'sage'} <= {s for s, _ in computed}
    assert len([e for e in before if e['stage'] == 'sage']) < len(RUN['reconnections'])

    resumed = run(out, cache, **RUN)
    after = events(cache)[len(before):]
    for stage, key in computed:                                         # every finished stage is loaded, not recomputed
        assert {'stage': stage, 'key': key, 'event': 'loaded'}.items() <= next(e for e in after if e['key'] == key).items()
    assert not any(e['event'] == 'computed' and (e['stage'], e['key']) in computed for e in after)
    assert reference.wait() == 0, reference.stderr.read()[-3000:]
    reference = json.loads((tmp_path / 'a' / 'metrics.json').read_text())
    # what is compared holds every method's numbers (an empty or constant record would make the equality below vacuous)
    rows = {r['method']: r for r in reference['per_seed']}
    assert {'SAGE-cosine', 'SAGE-scene', 'Linear probe'} <= set(rows) and len({round(r['macro_auc'], 6) for r in rows.values()}) > 2
    assert comparable(resumed) == comparable(reference)                # same seed, independent caches: identical metrics

def test_stage_killed_while_writing_leaves_nothing_complete(tmp_path):
    "SIGKILL inside torch.save: no artefact appears under the final name, and the next run recomputes."
    script = textwrap.dedent(f'''
        import time, torch
        from mmkg.core import StageCache
        real_save = torch.save
        def slow_save(obj, f):
            with open(f, 'wb') as h: h.write(b'partial'); h.flush(); time.sleep(60)
        torch.save = slow_save
        StageCache({str(tmp_path / 'cache')!r}).get_or_compute('big', {{'n': 1}}, lambda: torch.zeros(10))
    ''')
    proc = subprocess.Popen([sys.executable, '-c', script])
    stage_dir, deadline = tmp_path / 'cache' / 'big', time.time() + 60
    while not list(stage_dir.glob('.*.tmp')):
        assert proc.poll() is None and time.time() < deadline, 'the writer ended before it could be killed'
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert [p.suffix for p in stage_dir.iterdir()] == ['.tmp'] and not list(stage_dir.glob('*.pt'))

    from mmkg.core import StageCache
    res = StageCache(tmp_path / 'cache').get_or_compute('big', {'n': 1}, lambda: {'value': 1})
    assert not res.hit and res.value == {'value': 1}
    assert [p.name for p in stage_dir.iterdir()] == [f'{res.key}.pt']   # the killed writer's leftover is gone

def test_run_summary_counts_skipped_items(tmp_path, coco_mini):
    "On a damaged copy of coco-mini the run completes, and its summary line counts what was skipped, by reason."
    root = tmp_path / 'coco'; shutil.copytree(coco_mini, root)
    files = sorted((root / 'val2017').glob('*.jpg'))
    files[0].unlink(); files[1].write_bytes(files[1].read_bytes()[:1500])
    run(tmp_path / 'run', tmp_path / 'cache', **{**RUN, 'reconnections': ['cosine']}, dataset='coco', data_root=str(root), coco_split='val2017')
    line = next(l for l in (tmp_path / 'run' / 'summary.md').read_text().splitlines() if l.startswith('- skipped:'))
    assert '1 missing image file' in line and files[0].name in line
    assert '1 unreadable image' in line and files[1].name in line
