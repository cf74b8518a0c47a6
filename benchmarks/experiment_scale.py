"""The experiment's default method set at COCO size, through the registry — the code path of `mmkg run` on precomputed
vectors — not a test.

    python benchmarks/experiment_scale.py                      # N = 10k, 30k, 118,287, each in its own process
    python benchmarks/experiment_scale.py --n 30000            # one size
    python benchmarks/experiment_scale.py --n 118287 --methods linear-probe knn   # some methods only
    python benchmarks/experiment_scale.py --probe-solver sklearn                  # the per-keyword probe, to compare
    python benchmarks/experiment_scale.py --device cuda                           # on a GPU (probe, SAGE, propagation)
    python benchmarks/experiment_scale.py --n 118287 --folder /tmp/synthetic-118k # write the vectors as a clip-retrieval folder

Vectors shaped like COCO train2017 (`graph_scale.synthetic`: 512-d, 80 keywords, 30 scenes), one seed, 70/15/15, a run's
default parameters on precomputed vectors (`ExperimentConfig(dataset='clip-retrieval')`: SAGE's batch and learning rate
by the training set's size, `sage_recipe`). Prints the machine's BLAS (threadpoolctl), each method's seconds and the
process's peak RSS after it, the total of the methods the issue's target names (probe, kNN, Correct & Smooth, SAGE,
blends, their metrics) and the total with the related-work baselines. With `--folder`, writes the same vectors as a
clip-retrieval output folder (img_emb/, metadata/ with keywords and scene) for `mmkg run` end to end (README).
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from graph_scale import main, rss_gb, synthetic

BASELINES = ('prototypes', 'ranking', 'cca', 'cca-layer', 'compat-euclid', 'compat-inner')   # outside the target

def blas() -> str:
    "The BLAS libraries numpy and torch call, with their thread counts (why another machine's figures differ)."
    from threadpoolctl import threadpool_info
    return '; '.join(f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads, {Path(i['filepath']).name})" for i in threadpool_info())

def write_folder(ds, emb, folder:Path, shard:int=20_000):
    "The vectors as clip-retrieval writes them: img_emb/img_emb_i.npy and metadata/metadata_i.parquet (keywords '|'-joined, scene)."
    import numpy as np, pandas as pd
    for sub in ('img_emb', 'metadata'): (folder / sub).mkdir(parents=True, exist_ok=True)
    Y = ds.labels.tocsr(); kw = np.asarray(ds.keywords)
    meta = pd.DataFrame({'image_path': [f'images/{i:06d}.jpg' for i in range(len(ds))],
                         'keywords': ['|'.join(kw[Y.indices[Y.indptr[i]:Y.indptr[i + 1]]]) for i in range(len(ds))],
                         'scene': np.asarray(ds.scenes)[emb.image_scene]})
    for i, s in enumerate(range(0, len(ds), shard)):
        np.save(folder / 'img_emb' / f'img_emb_{i}.npy', emb.image[s:s + shard]); meta.iloc[s:s + shard].to_parquet(folder / 'metadata' / f'metadata_{i}.parquet')
    print(f'wrote {len(ds):,} images to {folder} (clip-retrieval layout)', flush=True)

def run(n:int):
    import torch
    from mmkg.core import StageCache
    from mmkg.params import ExperimentConfig
    from mmkg.run import method_settings
    from mmkg.methods import score_methods, seed_context
    ap = argparse.ArgumentParser(); ap.add_argument('--n', nargs='*'); ap.add_argument('--methods', nargs='*', default=None)
    ap.add_argument('--probe-solver', default='auto'); ap.add_argument('--device', default='cpu'); ap.add_argument('--folder', default='')
    a = ap.parse_args()
    if a.folder: return write_folder(*synthetic(n), Path(a.folder))
    torch.set_num_threads(os.cpu_count())
    cfg = ExperimentConfig(dataset='clip-retrieval', seeds=(0,), probe_solver=a.probe_solver, device=a.device)
    keys = a.methods or cfg.method_keys()
    print(f'N={n}: {os.cpu_count()} CPU cores; BLAS: {blas()}; torch {torch.__version__} ({torch.get_num_threads()} threads), device {a.device}', flush=True)
    t0 = time.perf_counter(); ds, emb = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = seed_context(0, ds, emb, f'synthetic-{n}', cfg.fractions, method_settings(cfg), StageCache(Path(tmp)))
        setup = time.perf_counter() - t0; t = ctx.settings.train
        print(f'N={n:>7}  {"data, split, training graph":<34} {setup:8.1f} s   peak RSS {rss_gb():5.2f} GB'
              f'   (SAGE: batch {t.batch_size}, lr {t.lr:g}, {t.epochs} epochs)', flush=True)
        seconds = {}
        for key in keys:
            r = score_methods(ctx, [key])[0]; seconds[key] = r.seconds
            print(f'N={n:>7}  {r.name:<34} {r.seconds:8.1f} s   peak RSS {rss_gb():5.2f} GB', flush=True)
    target = setup + sum(s for k, s in seconds.items() if k not in BASELINES)
    print(f'N={n:>7}  target set (probe, kNN, C&S, SAGE, blends) {target:.1f} s; with the related-work baselines '
          f'{setup + sum(seconds.values()):.1f} s; peak RSS {rss_gb():.2f} GB ({len(keys)} methods; probe solver {ctx.probe_solver})', flush=True)

if __name__ == '__main__':
    main(run, __file__, extra=tuple(a for a in sys.argv[1:] if a != '--n' and not a.isdigit()))
