"""The graph → SAGE → reconnection protocol on the generated dataset: leakage, determinism and learning."""
import numpy as np
import pytest
import torch

import mmkg.sage as sage_mod
from mmkg.generate import GeneratorConfig, load_generated
from mmkg.data import split_images
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
        if exclude is not None: assert not np.isin(s * g.num_nodes + t, exclude.numpy()).any()   # a hidden edge is never used
        seen.append(int(img_kw.sum())); return src, seg
    monkeypatch.setattr(sage_mod, 'sample_neighbors', spy)
    train_sage(fg, TrainConfig(epochs=1, loss='multilabel', as_tested='scene', batch_size=64), arch=SageConfig(hidden=32))   # the experiment's path
    assert sum(seen) > 0

@pytest.mark.parametrize('method', ['cosine', 'scene', 'self'])
def test_a_batch_is_trained_as_its_held_out_images_are_tested(setup, monkeypatch, method):
    """The experiment's training (multi-label loss, trained as tested for each reconnection), spied at every hop of every
    batch: a batch image receives only what a held-out image attached by `method` gets (cosine: training images; scene:
    its scene; self: nothing) — never its keyword edges — and sends nothing, as a held-out image is nobody's neighbour."""
    ds, emb, split, fg = setup
    batch, hops, real_sf, real_sn = {}, [], sage_mod.sampled_forward, sage_mod.sample_neighbors
    def sf(model, g, targets, gen, fanout, exclude=None):
        batch['images'] = targets[g.node_type[targets] == NodeType.IMAGE]    # the batch's images (the rest are keywords)
        return real_sf(model, g, targets, gen, fanout, exclude)
    def sn(g, targets, fanout, gen, exclude=None):
        src, seg = real_sn(g, targets, fanout, gen, exclude)
        into, out_of, st = torch.isin(targets[seg], batch['images']), torch.isin(src, batch['images']), g.node_type[src]
        assert not out_of.any(), 'a batch image sent a message'
        allowed = {'cosine': NodeType.IMAGE, 'scene': NodeType.SCENE}.get(method)
        assert (st[into] == allowed).all() if allowed is not None else not into.any(), (method, st[into].unique())
        hops.append(int(into.sum())); return src, seg
    monkeypatch.setattr(sage_mod, 'sampled_forward', sf); monkeypatch.setattr(sage_mod, 'sample_neighbors', sn)
    train_sage(fg, TrainConfig(epochs=1, loss='multilabel', as_tested=method, batch_size=64), arch=SageConfig(hidden=32))
    assert len(hops) >= 2 * (len(split.train) // 64) and (sum(hops) > 0) == (method != 'self')   # two hops a batch; messages arrive

def test_reconnection_only_joins_training_nodes(setup):
    ds, emb, split, fg = setup
    X = torch.as_tensor(emb.image)
    for method in ('cosine', 'scene', 'self'):
        att = reconnect(fg, X[split.test], ReconnectConfig(method=method), emb.image_scene[split.test])
        e = att.graph.edge_index; new = e[:, e[1] >= fg.num_nodes]
        assert ((new[0] < fg.num_nodes) | (new[0] == new[1])).all()         # never between two held-out images
        assert not (att.graph.node_type[new[0]] == NodeType.KEYWORD).any()                  # never to a keyword by default
        # and every held-out image is attached as its method says (no edge at all would pass the two checks above)
        into = new[1] - fg.num_nodes; other = new[0] != new[1]
        if method == 'cosine':   # its top-5 training images
            assert (torch.bincount(into[other], minlength=len(split.test)) >= 5).all()
            assert (att.graph.node_type[new[0][other]] == NodeType.IMAGE).all()
        elif method == 'scene':  # its own scene's node
            sc = torch.as_tensor(emb.image_scene[split.test]); has = sc >= 0
            order = into[other].argsort(stable=True); tgt, got = into[other][order], new[0][other][order]
            assert has.sum() > 0 and torch.equal(tgt, torch.nonzero(has).ravel()) and torch.equal(got, fg.offset['scene'] + sc[has])
        else: assert not other.any()                                                          # self: a self-loop only

def test_sage_is_deterministic_and_beats_frozen_clip(setup):
    """The experiment's recipe (multi-label loss, trained as tested, batches of 64, the epoch chosen on validation images
    attached as test images will be), then scored on the **test** images: the reconnection best on validation beats frozen
    CLIP there. (Not every reconnection does with this weak 6-epoch CLIP: measured cosine 0.598, scene 0.539, self 0.527
    against CLIP's 0.527 — self-loops carry nothing the features lack.)"""
    from mmkg.reconnect import link_scores
    ds, emb, split, fg = setup
    X, Yv, Yt = torch.as_tensor(emb.image), ds.labels[split.val], ds.labels[split.test]
    clip_test = macro_auc(Yt, X[split.test].numpy() @ emb.keyword.T)[0]
    recipe = lambda method, epochs: TrainConfig(epochs=epochs, seed=0, loss='multilabel', as_tested=method, batch_size=64)
    results, val = {}, {}
    for method in ('cosine', 'scene', 'self'):
        rc = ReconnectConfig(method=method)
        validator = make_validator(fg, X[split.val], Yv, rc, emb.image_scene[split.val])
        res = train_sage(fg, recipe(method, 10), validator, arch=SageConfig(hidden=128)); val[method] = res.best['val_macro_auc']
        results[method] = macro_auc(Yt, link_scores(res.model, reconnect(fg, X[split.test], rc, emb.image_scene[split.test])))[0]
        if method == 'scene':
            again, once = (train_sage(fg, recipe(method, 2), validator, arch=SageConfig(hidden=128)) for _ in range(2))
            assert torch.equal(embed_graph(again.model, fg), embed_graph(once.model, fg))
    print(f'test macro ROC AUC: frozen tiny CLIP {clip_test:.3f}; SAGE ' + ', '.join(f'{m} {a:.3f}' for m, a in results.items()))
    chosen = max(val, key=val.get)                                                  # chosen on validation, never on test
    assert results[chosen] > clip_test + 0.02, (chosen, results, clip_test)
