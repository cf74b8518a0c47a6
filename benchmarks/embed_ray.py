"""Embedding throughput on a local Ray (the `scale` extra, `02a_scale`) against the single-process embed (not a test).

    python benchmarks/embed_ray.py [--n 2000] [--actors 2] [--batch 256]

Generated 64-px images and the tiny model (random weights, from a checkpoint so every actor loads the same), on the
CPUs of this machine; with GPUs, Ray gives each actor one and the same call scales with their number.
"""
import argparse, os, tempfile, time
from pathlib import Path
import pandas as pd
import torch

if __name__ == '__main__':
    ap = argparse.ArgumentParser(); ap.add_argument('--n', type=int, default=2000); ap.add_argument('--actors', type=int, default=2)
    ap.add_argument('--batch', type=int, default=256); a = ap.parse_args()
    os.environ.setdefault('MMKG_PROGRESS', '0')
    import ray
    from mmkg.core import StageCache
    from mmkg.generate import GeneratorConfig, load_generated
    from mmkg.embed import embed_images, load_clip
    from mmkg.scale import embed_table_ray
    tmp = Path(tempfile.mkdtemp())
    ds = load_generated(GeneratorConfig(n_images=a.n, seed=5), StageCache(tmp / 'cache'))
    torch.manual_seed(0); ckpt = tmp / 'tiny.pt'; torch.save(load_clip('mmkg-tiny', '', 'cpu').model.state_dict(), ckpt)
    clip = load_clip('mmkg-tiny', str(ckpt), 'cpu')
    t = time.perf_counter(); embed_images(clip, ds.images.path.tolist(), a.batch); t1 = time.perf_counter() - t
    print(f'single process   {a.n / t1:7.1f} images/s ({t1:.1f} s)', flush=True)
    t = time.perf_counter(); ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False); t_init = time.perf_counter() - t
    table = pd.DataFrame({'image': ds.images.path})
    t = time.perf_counter(); embed_table_ray(table, tmp / 'shards', 'mmkg-tiny', str(ckpt), batch_size=a.batch, actors=a.actors, device='cpu'); t2 = time.perf_counter() - t
    print(f'Ray, {a.actors} actors   {a.n / t2:7.1f} images/s ({t2:.1f} s, actor start included; ray.init {t_init:.1f} s)', flush=True)
    ray.shutdown()
