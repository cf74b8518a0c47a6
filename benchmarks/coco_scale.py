"""The whole run after embeddings at COCO-train2017 size, stage by stage, with the project's own functions (not a test).

    python benchmarks/coco_scale.py                          # N = 10k, 30k, 118,287, each in its own process
    python benchmarks/coco_scale.py --n 118287               # one size
    python benchmarks/coco_scale.py --n 118287 --device cuda # SAGE training and inference on the GPU
    python benchmarks/coco_scale.py --n 118287 --sage-batch 64 --lr 1e-3    # the experiment's SAGE setting (demo size)
    python benchmarks/coco_scale.py --n 118287 --loss bce --sage-batch 512 --lr 1e-3   # the link loss, as #17 measured it
    python benchmarks/coco_scale.py --n 118287 --per-method  # + a model per reconnection against the shared one

Inputs (made before the clock starts): `graph_scale.synthetic` vectors (512-d, 80 keywords, 30 scenes, about 2.9
keywords per image) and a COCO instances file of the same labels with about 7.3 annotations per image (859k at 118k,
as train2017), with empty image files beside it. Split 70/15/15, seed 0. Stages, each with its wall time and the
process's peak RSS so far:

1. labels: `load_coco` (pycocotools) of the instances file;
2. graph: `build_graph` with top-10 image–image edges (`--image-index blocked|exact|ivf`, default blocked, nprobe 24) and `flatten`;
3. SAGE: `train_sage` (multi-label loss, 1,024 images a batch, Adam at 4e-3, 5 epochs; trained as tested for scene
   reconnection), validated after every epoch on
   the validation images attached by scene, best epoch restored; one model for all reconnections (#17, item 4);
4. reconnect + score: validation and test images attached by cosine, scene and self, scored (`TrainedGraph`);
5. metrics: `link_table` (ROC AUC, AP, P/R/F1 at the validation-chosen threshold) of the three SAGE methods and CLIP.
"""
import argparse, json, os, sys, tempfile, time
from dataclasses import replace
from pathlib import Path
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from graph_scale import rss_gb, synthetic, main as per_size

def coco_file(root:Path, Y, annotations_per_image:float=7.3, seed:int=0):
    "An instances file whose labels are `Y` (each positive drawn as one or more boxes), and empty image files."
    rng = np.random.default_rng(seed); Y = Y.tocoo(); n = Y.shape[0]
    extra = rng.poisson(max(annotations_per_image * n / len(Y.data) - 1, 0), len(Y.data))
    img, cat = np.repeat(Y.row, 1 + extra), np.repeat(Y.col, 1 + extra)
    (root / 'annotations').mkdir(parents=True); (root / 'train2017').mkdir()
    names = [f'{i:012d}.jpg' for i in range(n)]
    for f in names: (root / 'train2017' / f).touch()
    d = {'images': [{'id': i, 'file_name': f, 'width': 640, 'height': 480} for i, f in enumerate(names)],
         'categories': [{'id': k + 1, 'name': f'kw{k}'} for k in range(Y.shape[1])],
         'annotations': [{'id': j, 'image_id': int(i), 'category_id': int(k) + 1, 'bbox': [0, 0, 10, 10], 'area': 100, 'iscrowd': 0}
                         for j, (i, k) in enumerate(zip(img, cat))]}
    (root / 'annotations' / 'instances_train2017.json').write_text(json.dumps(d))
    return len(d['annotations'])

def run(n:int):
    a = ARGS
    from mmkg.coco import load_coco
    from mmkg.data import split_images
    from mmkg.graph import GraphConfig, build_graph, flatten
    from mmkg.sage import SageConfig, TrainConfig, train_sage
    from mmkg.reconnect import ReconnectConfig, TrainedGraph, make_validator
    from mmkg.contract import MethodScores
    from mmkg.evaluate import link_table
    torch.set_num_threads(os.cpu_count())
    ds, emb = synthetic(n); root = Path(tempfile.mkdtemp()); n_ann = coco_file(root, ds.labels)
    print(f'N={n:>7}  inputs: {n_ann:,} annotations, {ds.labels.nnz / n:.2f} keywords per image, device {a.device}, '
          f'SAGE {a.loss} batch {a.sage_batch}, {a.sage_epochs} epochs, lr {a.lr:g}, image index {a.image_index}', flush=True)
    rows, t = [], time.perf_counter(); t0 = t
    def mark(stage, note=''):
        nonlocal t
        now = time.perf_counter(); rows.append((stage, now - t, rss_gb())); t = now
        print(f'N={n:>7}  {stage:<28} {rows[-1][1]:8.1f} s   peak RSS {rows[-1][2]:5.2f} GB  {note}', flush=True)
    coco = load_coco(root, 'train2017'); assert (coco.labels != ds.labels).nnz == 0; mark('labels (load_coco)')
    split = split_images(ds, seed=0)
    fg = flatten(build_graph(ds, emb, split, GraphConfig(image_knn=10, image_index=a.image_index, ivf_nprobe=a.nprobe)))
    mark('graph (top-10 image edges)', f'{fg.col.numel():,} directed edges')
    X, sc, Y = torch.as_tensor(emb.image), np.asarray(emb.image_scene), ds.labels
    validate = make_validator(fg, X[split.val], Y[split.val], ReconnectConfig(method='scene'), sc[split.val])
    cfg = TrainConfig(epochs=a.sage_epochs, loss=a.loss, as_tested='scene', batch_size=a.sage_batch, lr=a.lr, patience=a.sage_epochs)
    res = train_sage(fg, cfg, validate, SageConfig(hidden=128), device=a.device)
    h = res.history
    mark('SAGE training + validation', f'best epoch {res.best_epoch}, val macro AUC {res.best["val_macro_auc"]:.4f}; by epoch: '
         + ', '.join(f'{r.val_macro_auc:.4f} ({r.seconds:.0f} s)' for r in h.itertuples()))
    records = []
    for m in ('cosine', 'scene', 'self'):
        tg = TrainedGraph(res.model.cpu(), fg, ReconnectConfig(method=m))
        S = {side: tg.scores(X[split[side]], sc[split[side]]) for side in ('val', 'test')}
        records.append(MethodScores(f'SAGE-{m}', 'graph', S['test'], S['val'])); mark(f'reconnect + score {m}')
    records.append(MethodScores('CLIP', 'clip', emb.image[split.test] @ emb.keyword.T, emb.image[split.val] @ emb.keyword.T))
    table = link_table(records, Y[split.test], Y[split.val]); mark('link metrics, 4 methods')
    print(table[['method', 'macro_auc', 'macro_ap', 'macro_f1']].to_string(index=False, float_format=lambda x: f'{x:.4f}'))
    print(f'N={n:>7}  whole run after embeddings {time.perf_counter() - t0:.1f} s, peak RSS {max(r[2] for r in rows):.2f} GB', flush=True)
    if a.per_method:   # item 4: each reconnection's own model (trained and selected as tested for it) against the shared one
        from mmkg.metrics import macro_ap, macro_auc
        models = {'scene': res.model}
        for m in ('cosine', 'self'):
            v = make_validator(fg, X[split.val], Y[split.val], ReconnectConfig(method=m), sc[split.val])
            models[m] = train_sage(fg, replace(cfg, as_tested=m), v, SageConfig(hidden=128), device=a.device).model
        out = []
        for trained, model in models.items():
            for m in ('cosine', 'scene', 'self'):
                tg = TrainedGraph(model, fg, ReconnectConfig(method=m))
                sv, st = (tg.scores(X[split[s_]], sc[split[s_]]) for s_ in ('val', 'test'))
                out.append({'reconnect': m, 'model trained as': trained, 'val macro AUC': macro_auc(Y[split.val], sv)[0],
                            'test macro AUC': macro_auc(Y[split.test], st)[0], 'test macro AP': macro_ap(Y[split.test], st)[0]})
        import pandas as pd
        print(pd.DataFrame(out).sort_values(['reconnect', 'model trained as']).to_string(index=False, float_format=lambda x: f'{x:.4f}'), flush=True)

ARGS = None
if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--device', default='cpu'); ap.add_argument('--sage-batch', type=int, default=1024)
    ap.add_argument('--sage-epochs', type=int, default=5); ap.add_argument('--lr', type=float, default=4e-3)
    ap.add_argument('--loss', default='multilabel', choices=['multilabel', 'bce'], help="bce: the link loss (the issue's reference: batch 512 links, lr 1e-3)")
    ap.add_argument('--image-index', default='blocked', choices=['exact', 'ivf', 'blocked']); ap.add_argument('--nprobe', type=int, default=24)
    ap.add_argument('--per-method', action='store_true', help='also train a model per reconnection and compare it with the shared one')
    ARGS, _ = ap.parse_known_args()
    flags = [f"--{k.replace('_', '-')}" for k, v in vars(ARGS).items() if v is True]
    per_size(run, __file__, extra=tuple(flags + [str(x) for k, v in vars(ARGS).items() if not isinstance(v, bool) for x in (f"--{k.replace('_', '-')}", v)]))
