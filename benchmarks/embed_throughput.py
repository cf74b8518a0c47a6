"""Throughput of `embed_images` vs the bare model forward on the same tensors (not a test).

    python benchmarks/embed_throughput.py [--n 512] [--workers 2]

For the tiny model and ViT-B-32 (random weights), on CPU, and on CUDA when available. The ratio
embed_images / bare forward shows what decoding, preprocessing and batching cost on top of the model
(target ≥ 0.85 with DataLoader workers).
"""
import argparse, os, tempfile, time
from pathlib import Path
import torch
from mmkg.core import StageCache
from mmkg.generate import GeneratorConfig, load_generated
from mmkg.embed import embed_images, load_clip
from mmkg.finetune import image_tensors

def bench(name:str, device:str, paths, workers:int, batch:int):
    clip = load_clip(name, '', device)
    X, _ = image_tensors(clip, paths)                      # the same tensors, preprocessed up front
    with torch.inference_mode():
        clip.model.encode_image(X[:batch].to(clip.device))  # warm-up
        if clip.device.type == 'cuda': torch.cuda.synchronize()
        t = time.perf_counter()
        for i in range(0, len(X), batch): clip.model.encode_image(X[i:i + batch].to(clip.device))
        if clip.device.type == 'cuda': torch.cuda.synchronize()
        bare = len(X) / (time.perf_counter() - t)
    t = time.perf_counter(); embed_images(clip, paths, batch, workers)
    full = len(paths) / (time.perf_counter() - t)
    print(f'{name:<10} {device:<5} workers={workers}  embed_images {full:8.1f} img/s   bare forward {bare:8.1f} img/s   ratio {full / bare:.2f}', flush=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=512); ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    os.environ.setdefault('MMKG_PROGRESS', '0')
    ds = load_generated(GeneratorConfig(n_images=a.n, image_size=256, seed=0), StageCache(Path(tempfile.mkdtemp())))
    paths = ds.images.path.tolist()
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    for dev in devices:
        bench('mmkg-tiny', dev, paths, a.workers, 256)
        bench('ViT-B-32', dev, paths if dev == 'cuda' else paths[:128], a.workers, 64)
