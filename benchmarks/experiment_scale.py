"""The experiment's default method set at COCO size, through the registry — the code path of `mmkg run` on precomputed
vectors — not a test.

    python benchmarks/experiment_scale.py                      # N = 10k, 30k, 118,287, each in its own process
    python benchmarks/experiment_scale.py --n 30000            # one size
    python benchmarks/experiment_scale.py --n 118287 --methods linear-probe knn   # some methods only
    python benchmarks/experiment_scale.py --probe-solver sklearn                  # the per-keyword probe, to compare

Vectors shaped like COCO train2017 (`graph_scale.synthetic`: 512-d, 80 keywords, 30 scenes), one seed, 70/15/15, the
default parameters of a run on precomputed vectors with the scale recipe of SAGE (batch 1,024, Adam 4e-3, 5 epochs).
Prints the machine's BLAS (threadpoolctl), each method's seconds and the process's peak RSS after it, and the total.
"""
import argparse, os, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from graph_scale import main, rss_gb, synthetic

def blas() -> str:
    "The BLAS libraries numpy and torch call, with their thread counts (why another machine's figures differ)."
    from threadpoolctl import threadpool_info
    return '; '.join(f"{i['internal_api']} {i.get('version') or ''} ({i['num_threads']} threads, {Path(i['filepath']).name})" for i in threadpool_info())

def run(n:int):
    import torch
    from mmkg.core import StageCache
    from mmkg.params import ExperimentConfig
    from mmkg.run import method_settings
    from mmkg.methods import score_methods, seed_context
    ap = argparse.ArgumentParser(); ap.add_argument('--n', nargs='*'); ap.add_argument('--methods', nargs='*', default=None)
    ap.add_argument('--probe-solver', default='auto'); ap.add_argument('--device', default='cpu'); a = ap.parse_args()
    torch.set_num_threads(os.cpu_count())
    cfg = ExperimentConfig(dataset='clip-retrieval', seeds=(0,), sage_batch_size=1024, sage_lr=4e-3, sage_epochs=5,
                           probe_solver=a.probe_solver, device=a.device)
    keys = a.methods or cfg.method_keys()
    print(f'N={n}: {os.cpu_count()} CPU cores; BLAS: {blas()}; torch {torch.__version__} ({torch.get_num_threads()} threads), device {a.device}', flush=True)
    t0 = time.perf_counter(); ds, emb = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = seed_context(0, ds, emb, f'synthetic-{n}', cfg.fractions, method_settings(cfg), StageCache(Path(tmp)))
        print(f'N={n:>7}  {"data, split, training graph":<34} {time.perf_counter() - t0:8.1f} s   peak RSS {rss_gb():5.2f} GB', flush=True)
        total = time.perf_counter() - t0
        for key in keys:
            r = score_methods(ctx, [key])[0]; total += r.seconds
            print(f'N={n:>7}  {r.name:<34} {r.seconds:8.1f} s   peak RSS {rss_gb():5.2f} GB', flush=True)
    print(f'N={n:>7}  total {total:.1f} s, peak RSS {rss_gb():.2f} GB ({len(keys)} methods; probe solver {ctx.probe_solver})', flush=True)

if __name__ == '__main__':
    main(run, __file__, extra=tuple(a for a in sys.argv[1:] if a != '--n' and not a.isdigit()))
