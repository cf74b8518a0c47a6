"""The graph → SAGE → reconnection protocol on the generated dataset: leakage, determinism and learning."""
import numpy as np
import pytest
import torch

import mmkg.sage as sage_mod
from mmkg.data import GeneratorConfig, load_generated, split_images
from mmkg.embed import EmbedConfig, embed_dataset
from mmkg.finetune import FinetuneConfig, finetuned_clip
from mmkg.graph import GraphConfig, NodeType, build_graph, flatten
from mmkg.metrics import macro_auc
from mmkg.reconnect import ReconnectConfig, make_validator, reconnect
from mmkg.sage import SageConfig, TrainConfig, train_sage, embed_graph

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    "600 generated images, a tiny CLIP trained briefly on an independent generated set, embeddings, a split."
    from mmkg.core import StageCache
    cache = StageCache(tmp_path_factory.mktemp('cache'))
    ds = load_generated(GeneratorConfig(n_images=600, seed=0), cache)
    pre = load_generated(GeneratorConfig(n_images=600, seed=1000), cache)
    clip, _ = finetuned_clip('mmkg-tiny', '', pre, split_images(pre, (0.85, 0.15, 0.0), seed=0),
                             FinetuneConfig(epochs=6, batch_size=64), cache, 'cpu')
    emb = embed_dataset(clip, ds, EmbedConfig(), cache).value
    split = split_images(ds, seed=0)
    fg = flatten(build_graph(ds, emb, split, GraphConfig(image_knn=3)))
    return ds, emb, split, fg

def test_no_held_out_image_in_training_graph_or_sampled_neighbourhoods(setup, monkeypatch):
    ds, emb, split, fg = setup
    n_train = len(split.train)
    assert fg.count['image'] == n_train                       # only training images are image nodes
    Ytr = ds.labels[split.train].toarray().astype(bool)       # the training images' true keywords, from the dataset
    kw0, n_kw = fg.offset['keyword'], fg.count['keyword']
    seen, real = [], sage_mod.sample_neighbors
    def spy(g, targets, fanout, gen, exclude=None):
        src, seg = real(g, targets, fanout, gen, exclude)
        s, t = src.numpy(), targets[seg].numpy()
        img_kw = (s < n_train) & (t >= kw0) & (t < kw0 + n_kw)   # an image → keyword message …
        assert Ytr[s[img_kw], t[img_kw] - kw0].all()            # … only along a true label of a training image
        assert exclude is not None and len(exclude) > 0          # every sampling step hides the batch's links …
        assert not np.isin(s * g.num_nodes + t, exclude.numpy()).any()   # … and never uses one
        seen.append(int(img_kw.sum())); return src, seg
    monkeypatch.setattr(sage_mod, 'sample_neighbors', spy)
    train_sage(fg, TrainConfig(epochs=1), arch=SageConfig(hidden=32))
    assert sum(seen) > 0

def test_reconnection_only_joins_training_nodes(setup):
    ds, emb, split, fg = setup
    X = torch.as_tensor(emb.image)
    for method in ('cosine', 'scene', 'self'):
        att = reconnect(fg, X[split.test], ReconnectConfig(method=method), emb.image_scene[split.test])
        e = att.graph.edge_index; new = e[:, e[1] >= fg.num_nodes]
        assert ((new[0] < fg.num_nodes) | (new[0] == new[1])).all()         # never between two held-out images
        assert not (att.graph.node_type[new[0]] == NodeType.KEYWORD).any()                  # never to a keyword by default

def test_sage_is_deterministic_and_beats_frozen_clip(setup):
    ds, emb, split, fg = setup
    X, Yv = torch.as_tensor(emb.image), ds.labels[split.val]
    clip_auc = macro_auc(Yv, X[split.val].numpy() @ emb.keyword.T)[0]
    results = {}
    for method in ('cosine', 'scene', 'self'):
        rc = ReconnectConfig(method=method)
        val = make_validator(fg, X[split.val], Yv, rc, emb.image_scene[split.val])
        res = train_sage(fg, TrainConfig(epochs=15, seed=0), val, arch=SageConfig(hidden=128))
        results[method] = res.best['val_macro_auc']
        if method == 'scene':
            again = train_sage(fg, TrainConfig(epochs=2, seed=0), val, arch=SageConfig(hidden=128))
            once = train_sage(fg, TrainConfig(epochs=2, seed=0), val, arch=SageConfig(hidden=128))
            assert torch.equal(embed_graph(again.model, fg), embed_graph(once.model, fg))
    print(f'validation macro ROC AUC: frozen tiny CLIP {clip_auc:.3f}; SAGE ' + ', '.join(f'{m} {a:.3f}' for m, a in results.items()))
    assert max(results.values()) > clip_auc
