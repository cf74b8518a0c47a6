"""`mmkg tag` throughput with the tiny model, and what share of it is image decoding (not a test).

    python benchmarks/tag_throughput.py [RUN] [--n 2000] [--batch 64] [--workers 0]

RUN is a finished run with its model bundle (default: outputs/demo, after `make demo`). Tags the first N images of
the run's gallery (files on disk) and prints, in images per second: decoding and preprocessing alone (the
DataLoader without the model), embedding (decoding + the CLIP forward), scoring the embedded images by each bundled
method, and the whole `Tagger.tag` with the bundle's best method; then the wall time of one `mmkg tag` command on a
single image (process start, imports and model loading included).
"""
import argparse, os, shutil, subprocess, sys, time
from pathlib import Path
import pandas as pd
import torch

def per_second(n:int, seconds:float) -> str: return f'{n / seconds:9.1f} images/s ({seconds:6.2f} s)'

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('run', nargs='?', default='outputs/demo')
    ap.add_argument('--n', type=int, default=2000); ap.add_argument('--batch', type=int, default=64); ap.add_argument('--workers', type=int, default=0)
    a = ap.parse_args()
    os.environ.setdefault('MMKG_PROGRESS', '0')
    from mmkg.embed import image_loader
    from mmkg.tag import Tagger
    tagger = Tagger.from_run(a.run)
    paths = pd.read_csv(Path(a.run) / 'search' / 'gallery.csv', keep_default_na=False).path.tolist()[:a.n]
    clip, n = tagger.clip, len(paths)
    print(f'{n} images of {a.run}, CLIP {clip.name}, {torch.get_num_threads()} threads, batch {a.batch}, workers {a.workers}', flush=True)
    t = time.perf_counter()
    for _ in image_loader(clip, paths, a.batch, a.workers): pass
    t_decode = time.perf_counter() - t
    print(f'decode + preprocess        {per_second(n, t_decode)}', flush=True)
    t = time.perf_counter(); X, ok = tagger.embed(paths, a.batch); t_embed = time.perf_counter() - t
    print(f'embed (decode + CLIP)      {per_second(n, t_embed)}', flush=True)
    for key in tagger.methods:
        tagger.tag_vectors(X[:8], key)                       # models loaded, training-graph states computed: once per process
        t = time.perf_counter(); tagger.tag_vectors(X[ok], key); dt = time.perf_counter() - t
        print(f'score {key:<20} {per_second(n, dt)}', flush=True)
    t = time.perf_counter(); tags = tagger.tag(paths, 'best', batch_size=a.batch); t_all = time.perf_counter() - t
    print(f'Tagger.tag, best ({tags.method}) {per_second(n, t_all)}; decoding is {t_decode / t_all:.0%} of it', flush=True)
    mmkg = shutil.which('mmkg', path=str(Path(sys.executable).parent)) or 'mmkg'
    t = time.perf_counter(); subprocess.run([mmkg, 'tag', a.run, paths[0]], check=True, capture_output=True)
    print(f'one `mmkg tag` command on one image: {time.perf_counter() - t:.1f} s (process start, imports, model load)', flush=True)

if __name__ == '__main__': main()
