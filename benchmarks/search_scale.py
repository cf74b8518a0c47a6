"""Search at COCO-train scale: build time, memory and recall@10 of faiss indexes, and a BM25 index, at 118,287 items.

    python benchmarks/search_scale.py [--n 118287] [--dim 512] [--queries 1000]

Vectors are generated (clustered unit vectors, like image embeddings); documents are generated captions. Prints one
line per index: build seconds, index bytes, peak RSS growth, queries/s and recall@10 against exact search.
"""
import argparse, resource, time
import faiss, numpy as np
from mmkg.search import SearchConfig, TextIndex, build_index, recall_at_k

def rss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=118_287); ap.add_argument('--dim', type=int, default=512)
ap.add_argument('--queries', type=int, default=1000); ap.add_argument('--threads', type=int, default=2)
a = ap.parse_args(); faiss.omp_set_num_threads(a.threads)
rng = np.random.default_rng(0)
centres = rng.normal(size=(400, a.dim)).astype(np.float32)
X = centres[rng.integers(0, 400, a.n)] + 0.6 * rng.normal(size=(a.n, a.dim)).astype(np.float32)
X /= np.linalg.norm(X, axis=1, keepdims=True)
Q = X[rng.choice(a.n, a.queries, replace=False)] + 0.05 * rng.normal(size=(a.queries, a.dim)).astype(np.float32)
Q /= np.linalg.norm(Q, axis=1, keepdims=True)
print(f'{a.n} vectors × {a.dim} (float32 {X.nbytes / 2**20:.0f} MiB), {a.queries} queries, {a.threads} threads')
exact = None
for kind in ('flat', 'hnsw', 'ivf'):
    r0, t0 = rss_mb(), time.perf_counter()
    index = build_index(X, SearchConfig(index=kind)); build = time.perf_counter() - t0
    size = faiss.serialize_index(index).nbytes
    t0 = time.perf_counter(); _, ids = index.search(Q, 10); qps = a.queries / (time.perf_counter() - t0)
    exact = ids if kind == 'flat' else exact
    print(f'{kind:5s} build {build:6.1f} s  index {size / 2**20:7.1f} MiB  peak RSS +{rss_mb() - r0:6.0f} MiB  '
          f'{qps:8.0f} queries/s  recall@10 {recall_at_k(ids, exact):.3f}')
    del index
words = np.array('a the red green blue white black yellow purple orange circle square triangle star on in near beach street kitchen forest office park'.split())
docs = [' '.join(w) for w in words[rng.integers(0, len(words), (a.n, 10))]]
r0, t0 = rss_mb(), time.perf_counter(); ti = TextIndex(docs); build = time.perf_counter() - t0
t0 = time.perf_counter(); ti.search(docs[:a.queries], 10); qps = a.queries / (time.perf_counter() - t0)
print(f'bm25  build {build:6.1f} s  ({a.n} ten-word documents)  peak RSS +{rss_mb() - r0:6.0f} MiB  {qps:8.0f} queries/s')
