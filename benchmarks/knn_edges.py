"""Image–image top-10 edges at COCO sizes: exact faiss search against IVF and the list-blocked search, with recall, and
the blocked search under three thread settings (not a test).

    python benchmarks/knn_edges.py                 # N = 10k, 30k, 118k, each in its own process
    python benchmarks/knn_edges.py --n 30000       # one size

The vectors are `graph_scale.synthetic`'s (512-d, COCO-like keywords and scenes). Recall@10 is the share of the exact
top-10 edges (directed, before symmetrising) that the approximate search also returns: faiss IVF-flat (`knn_index`)
and `blocked_knn` (IVF lists searched a list at a time by matrix products). The blocked search's small products are
timed with the BLAS on every core and one list at a time (how it ran before #26; 83.8 s with 16 threads on a 16-core
machine), with a one-thread BLAS and one list at a time, and with a one-thread BLAS in one worker per core (the default).
Prints the machine's BLAS. Target at 118k on 2 cores: ≤ 15 s at recall@10 ≥ 0.95.
"""
import os, sys, time
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

def run(n:int, nprobes=(8, 16, 32), blocked_nprobes=(16, 24)):
    from graph_scale import synthetic
    from experiment_scale import blas
    from mmkg.graph import blocked_knn, knn_index
    cores = os.cpu_count() or 1
    print(f'N={n}: {cores} CPU cores; BLAS: {blas()}', flush=True)
    _, emb = synthetic(n); X = np.ascontiguousarray(emb.image)
    t = time.perf_counter(); _, I_ex = knn_index(X, 'exact').search(X, 11); t_ex = time.perf_counter() - t
    print(f'N={n:>7}  exact           {t_ex:7.1f} s   recall@10 1.000', flush=True)
    edges = lambda I: np.unique(np.repeat(np.arange(n), 10) * n + I.ravel())   # directed (query, neighbour) codes
    exact = edges(I_ex[:, 1:])
    for p in nprobes:
        t = time.perf_counter(); index = knn_index(X, 'ivf', p); t_build = time.perf_counter() - t
        _, I = index.search(X, 11); t_all = time.perf_counter() - t
        got = I[:, 1:] if (I[:, 0] == np.arange(n)).mean() > 0.99 else I[:, :10]
        recall = np.isin(exact, edges(got), assume_unique=True).mean()
        print(f'N={n:>7}  ivf nprobe={p:<3}  {t_all:7.1f} s   recall@10 {recall:.3f}   (train + add {t_build:.1f} s)', flush=True)
    for p in blocked_nprobes:
        for workers, threads, what in ((1, cores, f'BLAS {cores} threads, 1 worker'), (1, 1, 'BLAS 1 thread, 1 worker'),
                                       (cores, 1, f'BLAS 1 thread, {cores} workers (default)')):
            t = time.perf_counter(); _, I = blocked_knn(X, 11, p, workers=workers, blas_threads=threads); t_all = time.perf_counter() - t
            recall = np.isin(exact, edges(I[:, 1:]), assume_unique=True).mean()
            print(f'N={n:>7}  blocked nprobe={p:<3} {t_all:6.1f} s   recall@10 {recall:.3f}   {what}', flush=True)

if __name__ == '__main__':
    from graph_scale import main
    main(run, __file__)
