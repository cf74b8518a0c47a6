"""Scale of graph build, SAGE training, reconnection and inference on generated vectors (not a test).

    python benchmarks/graph_scale.py                 # N = 10k, 30k, 118k, each in its own process
    python benchmarks/graph_scale.py --n 30000       # one size

Generated 512-d vectors, 80 keywords, 30 scenes, ~3 keywords per image, top-10 image–image edges. Prints wall time
and peak RSS (of the process, so far) after each stage. Target at 118k on a 2-core CPU: all ≤ 10 min, ≤ 8 GB.
"""
import argparse, os, resource, subprocess, sys, time
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

def rss_gb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

def synthetic(n:int, d:int=512, k:int=80, s:int=30, seed:int=0):
    "A Dataset with precomputed vectors and embeddings shaped like COCO train2017 with scenes."
    from mmkg.data import Dataset
    from mmkg.embed import Embeddings
    rng = np.random.default_rng(seed)
    kw, sc = rng.normal(size=(k, d)).astype(np.float32), rng.normal(size=(s, d)).astype(np.float32)
    scene = rng.integers(0, s, n)
    nk = rng.poisson(2, n) + 1
    rows = np.repeat(np.arange(n), nk); cols = rng.integers(0, k, len(rows))
    Y = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, k)); Y.sum_duplicates(); Y.data[:] = 1
    X = (Y @ kw) / np.maximum(Y.sum(1), 1) + sc[scene] + rng.normal(size=(n, d)).astype(np.float32)
    norm = lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)
    images = pd.DataFrame({'image_id': np.arange(n), 'path': None, 'scene': scene, 'group': None})
    ds = Dataset(f'synthetic-{n}', images, [f'kw{i}' for i in range(k)], [f'scene{i}' for i in range(s)], Y, vectors=norm(X))
    emb = Embeddings(image=norm(X), keyword=norm(kw), keyword_raw=norm(kw), scene=norm(sc), image_scene=scene, scene_names=ds.scenes)
    return ds, emb

def run(n:int):
    from mmkg.data import split_images
    from mmkg.graph import GraphConfig, build_graph, flatten
    from mmkg.sage import SageConfig, TrainConfig, train_sage
    from mmkg.reconnect import ReconnectConfig, reconnect, link_scores
    torch.set_num_threads(os.cpu_count())
    rows, t = [], time.perf_counter()
    def mark(stage):
        nonlocal t
        now = time.perf_counter(); rows.append((stage, now - t, rss_gb())); t = now
        print(f'N={n:>7}  {stage:<26} {rows[-1][1]:8.1f} s   peak RSS {rows[-1][2]:5.2f} GB', flush=True)
    ds, emb = synthetic(n); split = split_images(ds, seed=0); mark('generate vectors')
    g = build_graph(ds, emb, split, GraphConfig(image_knn=10)); fg = flatten(g); mark('graph build (top-10 kNN)')
    res = train_sage(fg, TrainConfig(loss='bce', epochs=1, batch_size=1024), arch=SageConfig(hidden=256)); mark('one training epoch')
    X = torch.as_tensor(emb.image)
    for m in ('cosine', 'scene', 'self'):
        att = reconnect(fg, X[split.test], ReconnectConfig(method=m), emb.image_scene[split.test]); mark(f'reconnect {m}')
    S = link_scores(res.model, att); mark('inference + scores')
    total = sum(r[1] for r in rows)
    print(f'N={n:>7}  total {total:.1f} s, peak RSS {max(r[2] for r in rows):.2f} GB, {fg.edge_index.shape[1]:,} directed edges', flush=True)

def main(run, script:str, sizes=(10_000, 30_000, 118_287), extra:tuple=()):
    "`--n N`: run(N) here; several sizes or none: each size in its own process (peak RSS per size) with `extra` arguments, shared by the benchmarks."
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, nargs='*', default=None); a, _ = ap.parse_known_args()
    if a.n and len(a.n) == 1: run(a.n[0])
    else:
        for n in a.n or sizes: subprocess.run([sys.executable, script, '--n', str(n), *extra], check=True)

if __name__ == '__main__': main(run, __file__)
