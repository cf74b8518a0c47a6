"""The experiment on precomputed vectors, through papermill as a user runs it: a clip-retrieval output folder (bring your own
embeddings) and the built-in real CLIP features (`dataset: coco-clip`), with the readers' guards."""
import json
import numpy as np
import pandas as pd
import pytest

from test_experiment import run_experiment

def _clip_retrieval_folder(root, n=90, d=16, seed=0):
    "A clip-retrieval output folder (3 shards) of synthetic vectors: each image the sum of its keywords' directions plus noise."
    rng = np.random.default_rng(seed); names = ['bird', 'cat', 'dog', 'fish']
    D = rng.normal(size=(4, d)); Y = rng.random((n, 4)) < 0.35; Y[~Y.any(1), 0] = True
    V = (Y @ D + 0.8 * rng.normal(size=(n, d))).astype(np.float32)
    meta = pd.DataFrame({'image_path': [f'images/{i:04d}.jpg' for i in range(n)], 'caption': [f'photo {i}' for i in range(n)],
                         'keywords': ['|'.join(np.asarray(names)[y]) for y in Y]})
    T = (V + 0.3 * rng.normal(size=V.shape)).astype(np.float32)      # each caption's vector near its image's
    for sub in ('img_emb', 'metadata', 'text_emb'): (root / sub).mkdir(parents=True)
    for i, s in enumerate(range(0, n, 32)):
        np.save(root / 'img_emb' / f'img_emb_{i}.npy', V[s:s + 32]); meta.iloc[s:s + 32].to_parquet(root / 'metadata' / f'metadata_{i}.parquet')
        np.save(root / 'text_emb' / f'text_emb_{i}.npy', T[s:s + 32])
    np.savez(root.parent / 'keywords.npz', names=np.array(names), vectors=D.astype(np.float32))
    return root

def test_experiment_on_a_clip_retrieval_folder(tmp_path):
    "Bring your own embeddings: clip-retrieval's output read directly, with and without keyword vectors of its space."
    folder = _clip_retrieval_folder(tmp_path / 'embeddings')
    common = dict(dataset='clip-retrieval', data_root=folder, keywords_sep='|', seeds=[0, 1], reconnections=['cosine', 'self'], baseline_epochs=2)
    out = run_experiment(tmp_path / 'proto', **common)
    link = pd.read_csv(out / 'tables' / 'link_prediction.csv').set_index('method')
    assert link.index[0] == 'Keyword prototypes (supervised)' and 'CLIP (prompted)' not in link.index   # no text tower: no zero-shot row
    assert link.loc['Linear probe', 'macro_auc'] > 0.8                                    # the vectors carry the labels
    assert 'keywords as training-image prototypes (supervised)' in (out / 'summary.md').read_text()
    # the related-work baselines read the prototypes as keyword vectors: none gives every image the same scores (it did
    # with the all-zero keyword vectors of a space without a text tower), and the summary says what is flagged
    assert link.degenerate.isna().all(), link.degenerate                                 # an empty flag reads back as NaN
    assert link.loc[['CCA', 'CCA layer + ranking'], 'macro_auc'].min() > 0.9
    assert '- flagged, scores that cannot rank (never selected): none' in (out / 'summary.md').read_text()
    ret = pd.read_csv(out / 'tables' / 'retrieval.csv').set_index(['method', 'direction'])
    assert ret.loc[('precomputed vectors', 'image→caption'), 'R@10'] > 0.9             # text_emb/ read: caption retrieval in that space
    out2 = run_experiment(tmp_path / 'kw', **common, keyword_vectors=tmp_path / 'keywords.npz')
    link2 = pd.read_csv(out2 / 'tables' / 'link_prediction.csv').set_index('method')
    assert {'CLIP (prompted)', 'CLIP (raw names)'} <= set(link2.index) and 'CLIP (fine-tuned)' not in link2.index
    assert link2.loc['CLIP (prompted)', 'macro_auc'] > 0.8                                # zero-shot in the file's space works

def test_keyword_vectors_of_another_dimension_name_both_files(tmp_path):
    from mmkg.data import DataError
    from mmkg.tables import load_clip_retrieval
    from mmkg.embed import precomputed_embeddings
    folder = _clip_retrieval_folder(tmp_path / 'embeddings', d=16)
    np.savez(tmp_path / 'kw8.npz', names=np.array(['bird', 'cat', 'dog', 'fish']), vectors=np.ones((4, 8), np.float32))
    ds = load_clip_retrieval(folder, keywords_sep='|')
    with pytest.raises(DataError, match=f"dimension mismatch: {tmp_path / 'kw8.npz'} has 8-d vectors, the image vectors of {folder} are 16-d"):
        precomputed_embeddings(ds, str(tmp_path / 'kw8.npz'), source=str(folder))

def test_the_real_feature_benchmark_runs_with_same_input_references(tmp_path):
    """`dataset: coco-clip` — the built-in real CLIP features — runs end to end: every row says what it reads of a held-out
    image, the references read the scene when a graph method does, each graph method is compared with a reference of
    the same inputs chosen on validation, and the bundle serves its best method on validation with probabilities."""
    out = run_experiment(tmp_path, dataset='coco-clip', seeds=[0, 1], reconnections=['scene'], baselines=['linear-probe', 'knn', 'cca'],
                         sage_epochs=2, baseline_epochs=2, n_boot=10)
    link = pd.read_csv(out / 'tables' / 'link_prediction.csv').set_index('method')
    assert link.loc['Linear probe (+ scene)', 'inputs'] == 'image+scene' and link.loc['Linear probe', 'inputs'] == 'image'
    assert link.loc['SAGE-scene', 'inputs'] == 'image+scene'
    assert {'label_ranking_ap', 'P@1', 'val_score', 'degenerate'} <= set(link.columns)
    vs = pd.read_csv(out / 'tables' / 'graph_minus_best_nongraph.csv')
    ref = vs[(vs.a == 'SAGE-scene') & (vs.metric == 'macro_ap')].b.item()
    cands = link[(link.inputs.isin(['image', 'image+scene'])) & ~link.index.str.contains('SAGE|Correct|graph')]
    assert ref == cands.val_score.idxmax()                                   # chosen on validation, among same-input references
    metrics = json.loads((out / 'metrics.json').read_text())
    bundle = json.loads((out / 'model' / 'bundle.json').read_text())
    assert bundle['best'] == max(bundle['methods'], key=lambda k: bundle['methods'][k]['val_score'])
    assert bundle['methods']['linear-probe-scene']['scores'] == 'probability'
    assert metrics['best_on_validation']['without_graph'] in link.index

def test_clip_retrieval_guards_name_the_bad_file(tmp_path):
    "A clip-retrieval folder whose shards disagree is a one-line DataError naming the file: rows vs vectors, dimensions, text vectors."
    from mmkg.data import DataError
    from mmkg.tables import load_clip_retrieval
    def folder(name):
        f = _clip_retrieval_folder(tmp_path / name); return f, sorted((f / 'img_emb').glob('*.npy'))
    f, shards = folder('rows'); np.save(shards[1], np.load(shards[1])[:-1])                     # one vector fewer than metadata rows
    with pytest.raises(DataError, match=f"{shards[1]} has 31 vectors but .*metadata_1.parquet has 32 rows"):
        load_clip_retrieval(f, keywords_sep='|')
    f, shards = folder('dims'); np.save(shards[2], np.load(shards[2])[:, :8])                   # a shard of another dimension
    with pytest.raises(DataError, match=f"{shards[2]} has 8-d vectors, {shards[0]} 16-d"):
        load_clip_retrieval(f, keywords_sep='|')
    f, _ = folder('text'); t = sorted((f / 'text_emb').glob('*.npy'))[0]; np.save(t, np.load(t)[:, :4])   # caption vectors of another shape
    with pytest.raises(DataError, match=f"{t}: 32 text vectors of shape \\(4,\\), expected 32 of \\(16,\\) as its img_emb shard"):
        load_clip_retrieval(f, keywords_sep='|')

def test_a_label_budget_and_the_relations_on_the_real_benchmark(tmp_path):
    """A label budget leaves the rest of the training side unlabelled (the run says how many); the transductive methods,
    the caption as a feature and as a node, and the MLP control run through papermill, and what each relation adds is tabled."""
    extra = ['linear-probe-caption', 'probe-correction-caption', 'mlp-correction', 'sage-correction-all', 'label-spreading']
    out = run_experiment(tmp_path, dataset='coco-clip', seeds=[0, 1], fractions=[0.6, 0.2, 0.2], reconnections=[], baselines=['linear-probe', 'knn'],
                         label_budget=30, extra_methods=extra, baseline_epochs=2, n_boot=10, bundle=False, search=False)
    assert '- label budget: 30 labelled training images per seed; 270 unlabelled' in (out / 'summary.md').read_text()
    link = pd.read_csv(out / 'tables' / 'link_prediction.csv').set_index('method')
    assert link.loc['Graph correction of the probe (+ caption node)', 'inputs'] == 'image+caption'
    assert link.loc['GraphSAGE correction of the probe (all images)', 'inputs'] == 'image'
    rel = pd.read_csv(out / 'tables' / 'relations.csv')
    assert set(rel.relation) == {'caption as a probe feature: probe (+ caption) − probe', 'caption as a text node (with neighbours) − caption as a feature',
                                 'every image as a node: GraphSAGE − MLP correction (no graph)', 'the probe corrected at all: MLP correction − probe'}
    per_seed = pd.read_csv(out / 'tables' / 'link_prediction_per_seed.csv').pivot(index='seed', columns='method', values='macro_ap')
    r = rel[(rel.metric == 'macro_ap') & rel.relation.str.startswith('every image')].iloc[0]
    assert np.isclose(r.mean_diff, (per_seed['GraphSAGE correction of the probe (all images)'] - per_seed['MLP correction of the probe (no graph)']).mean())
    vs = pd.read_csv(out / 'tables' / 'graph_minus_best_nongraph.csv')   # the caption node is compared with references that may read the caption
    assert vs[vs.a == 'Graph correction of the probe (+ caption node)'].inputs.eq('image+caption').all()
    assert 'MLP correction of the probe (no graph)' not in set(vs.a)                      # no edges: a reference, not a graph method
