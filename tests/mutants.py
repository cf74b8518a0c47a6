"""Can the tests fail? Each mutant below breaks the library (or a notebook) in one place the way a real bug would, runs
the tests that claim to guard that place, and expects them to FAIL. A mutant whose tests still pass is a test that
proves less than it claims. `make mutants` (a few minutes); the library is restored after each mutant, also on Ctrl-C.

    python tests/mutants.py            # every mutant
    python tests/mutants.py cap recall # those whose name contains a word given
"""
import json, subprocess, sys, time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

@dataclass
class Mutant:
    name: str       # what the bug is
    item: str       # the test it checks (issue #23's item, or the test's name)
    path: str       # a library module (mmkg/…; the tests below run under pytest) or a notebook (nbs/…; nbdev_test runs a broken copy)
    old: str        # the code as it is (must occur exactly once)
    new: str        # the bug
    tests: tuple = ()   # pytest node ids (library mutants)

MUTANTS = [
    Mutant('batch images keep their keyword edges in training', '1 leakage spy (trained as tested)', 'mmkg/sage.py',
           "seed_exclusion(g, imgs, cfg.as_tested))", "seed_exclusion(g, imgs[:0], cfg.as_tested))",
           ('tests/test_sage_protocol.py::test_no_held_out_image_in_training_graph_or_sampled_neighbourhoods',
            'tests/test_sage_protocol.py::test_a_batch_is_trained_as_its_held_out_images_are_tested')),
    Mutant('batch images trained with their image edges whatever the reconnection', '1 leakage spy (trained as tested)', 'mmkg/sage.py',
           "seed_exclusion(g, imgs, cfg.as_tested))", "seed_exclusion(g, imgs, ''))",
           ('tests/test_sage_protocol.py::test_a_batch_is_trained_as_its_held_out_images_are_tested',)),
    Mutant('the app lists text results worst first', '2 browser test reads the text results', 'mmkg/app.py',
           "s, i = eng[space].search_text([q], k, mode); _grid(st, gallery, i[0], s[0], 'text-results')",
           "s, i = eng[space].search_text([q], len(gallery), mode); _grid(st, gallery, i[0][::-1][:k], s[0][::-1][:k], 'text-results')",
           ('tests/test_app.py::test_app_in_a_browser',)),
    Mutant('SAGE never takes an optimiser step', '3 SAGE beats frozen CLIP on test images', 'mmkg/sage.py',
           "opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())",
           "opt.zero_grad(); loss.backward(); losses.append(loss.item())",
           ('tests/test_sage_protocol.py::test_sage_is_deterministic_and_beats_frozen_clip',)),
    Mutant('keyword co-occurrence counted over every image', '4 graph reads no test label', 'mmkg/graph.py',
           "cooccurrence_edges(ds.labels[tr], cfg.keyword_cooccurrence)", "cooccurrence_edges(ds.labels, cfg.keyword_cooccurrence)",
           ('tests/test_data_flow.py::test_graph_reads_no_test_label',)),
    Mutant('keyword prototypes averaged over every image', '4 graph reads no test label', 'mmkg/graph.py',
           "'prototype': lambda: keyword_prototypes(emb.image[tr], ds.labels[tr])", "'prototype': lambda: keyword_prototypes(emb.image, ds.labels)",
           ('tests/test_data_flow.py::test_graph_reads_no_test_label',)),
    Mutant('a test image that is also a training image is let through', '4 COCO split guards', 'mmkg/coco.py',
           "if len(both): raise DataError", "if False: raise DataError",
           ('tests/test_data_flow.py::test_coco_split_guards_name_the_shared_image_and_the_categories',)),
    Mutant('COCO splits of different categories are let through', '4 COCO split guards', 'mmkg/coco.py',
           "if a.keywords != b.keywords:", "if False:",
           ('tests/test_data_flow.py::test_coco_split_guards_name_the_shared_image_and_the_categories',)),
    Mutant('the generator draws from an unseeded generator', '5 generated twice', 'mmkg/generate.py',
           "root, rng = Path(root), np.random.default_rng(cfg.seed)", "root, rng = Path(root), np.random.default_rng()",
           ('tests/test_data_flow.py::test_generated_is_deterministic_and_scene_structured',)),
    Mutant('a parameter error carries a second line', '6 one-line parameter error', 'mmkg/params.py',
           """f"(papermill's -p passes text, read here as YAML; -y '{{{name}: ...}}' passes YAML)")""",
           """f"(papermill's -p passes text, read here as YAML;\\n -y '{{{name}: ...}}' passes YAML)")""",
           ('tests/test_experiment.py::test_bad_text_parameter_is_one_line_naming_it',)),
    Mutant('text search answers "none" (−1) for every result', '7 load_run answers every query kind', 'mmkg/search.py',
           "if mode in ('vector', 'bm25'): s, i = sources[0]; return s[:, :k], i[:, :k]",
           "if mode in ('vector', 'bm25'): s, i = sources[0]; return s[:, :k], i[:, :k] * 0 - 1",
           ('tests/test_app.py::test_load_run_answers_all_query_kinds',)),
    Mutant('the "best" graph method is the worst on validation', '7 the app serves the SAGE model best on validation', 'mmkg/methods.py',
           "return max(rs, key=lambda r: r.val_score) if rs else None", "return min(rs, key=lambda r: r.val_score) if rs else None",
           ('tests/test_app.py::test_load_run_answers_all_query_kinds',)),
    Mutant("Karpathy captions attached to the next image", '8 Karpathy reader', 'nbs/01b_coco.ipynb',
           "captions = pd.DataFrame({'image': sents.index.to_numpy(np.int64),",
           "captions = pd.DataFrame({'image': (sents.index.to_numpy(np.int64) + 1) % len(imgs),"),
    Mutant('a clip-retrieval caption shard of another shape is let through', '8 clip-retrieval guards', 'mmkg/tables.py',
           "if Ti.shape != Vi.shape: raise DataError", "if False: raise DataError",
           ('tests/test_precomputed.py::test_clip_retrieval_guards_name_the_bad_file',)),
    Mutant('the threshold cap is twice what was asked', '9 04_graph cap', 'nbs/04_graph.ipynb',
           "m = min(n, max(k, cap if threshold is not None else 0) + 1)",
           "cap = 2 * cap; m = min(n, max(k, cap if threshold is not None else 0) + 1)"),
    Mutant('link scores are not the cosines of the embeddings', '9 06_reconnect scores', 'nbs/06_reconnect.ipynb',
           "return (zi @ zk.T).numpy()", "return (zi @ zk.T + 1e-3 * zi[:, :1]).numpy()"),
    Mutant('recall@k depends on the order within the top k', '9 09_search recall', 'nbs/09_search.ipynb',
           "return float((np.sort(f, 1)[:, :, None] == np.sort(e, 1)[:, None, :]).any(2).mean())",
           "return float((f == e).mean())"),
    Mutant('in-batch ranks taken over the whole gallery', '9 01a in-batch ranks', 'nbs/01a_metrics.ipynb',
           "retrieval_ranks(a[i:i + batch] @ b[i:i + batch].T, np.arange(len(a[i:i + batch])))",
           "retrieval_ranks(a[i:i + batch] @ b.T, np.arange(i, i + len(a[i:i + batch])))"),
    Mutant('reconnection adds no edge', '9 reconnection joins training nodes as its method says', 'mmkg/reconnect.py',
           "src, dst, skips = attach_edges(g, new_x, cfg, new_scene, near)",
           "src, dst, skips = attach_edges(g, new_x, cfg, new_scene, near); src, dst = src[:0], dst[:0]",
           ('tests/test_sage_protocol.py::test_reconnection_only_joins_training_nodes',)),
    Mutant('per-class precision computed over all classes at once', '10 CP@k by hand', 'nbs/01a_metrics.ipynb',
           "CP, CR = (tp / np.maximum(npred, 1))[ok].mean(), (tp[ok] / npos[ok]).mean()",
           "CP, CR = tp.sum() / max(npred.sum(), 1), (tp[ok] / npos[ok]).mean()"),
    Mutant('fine-tuning never takes an optimiser step', '11 the tiny CLIP learns (fast test)', 'mmkg/finetune.py',
           "opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step()",
           "opt.zero_grad(set_to_none=True); loss.backward(); sched.step()",
           ('tests/test_finetune.py',)),
    Mutant("the tagger's Correct & Smooth starts from other base scores", 'mmkg tag reproduces the run (an in-process call)', 'mmkg/methods.py',
           "tg.T['train.labels'], p.predict(X), Xtr, X,", "tg.T['train.labels'], p.predict(X) ** 2, Xtr, X,",
           ('tests/test_tag.py::test_mmkg_tag_reproduces_the_runs_scores[correct-smooth]',)),
    Mutant("the tagger's Correct & Smooth ignores the bundled training labels", 'the bundle serves C&S as the run scored it', 'nbs/09b_methods.ipynb',
           "return correct_and_smooth(tg.models['cs_train'], tg.T['train.labels'],", "return correct_and_smooth(tg.models['cs_train'], 0 * tg.T['train.labels'],"),
    Mutant('a label budget keeps every training label', 'few labels: the budget holds', 'nbs/01_data.ipynb',
           "keep[np.random.default_rng(seed).choice(len(split.train), n, replace=False)] = True", "keep[:] = True"),
    Mutant('label spreading drops its anchor term (labels fade away)', 'label spreading by hand', 'nbs/06c_transductive.ipynb',
           "F = alpha * (S @ F) + (1 - alpha) * Y0", "F = alpha * (S @ F)"),
    Mutant("the GraphSAGE correction keeps its last epoch, not validation's best", 'every graph method can be the probe', 'nbs/06c_transductive.ipynb',
           "if v > (max(r['val_score'] for r in rows[:-1]) if epoch else -np.inf) + 1e-9:", "if True:"),
    Mutant("the caption node reads the image vectors", 'the caption node sees what the image does not', 'nbs/06b_residual.ipynb',
           "yc, pc = neighbour_messages(Tt, Yt, Pt, T, P,", "yc, pc = neighbour_messages(Xt, Yt, Pt, X, P,"),
    Mutant('what a relation adds is subtracted the wrong way', 'relations table by hand', 'nbs/09b_methods.ipynb',
           "rows += [{'relation': row} | paired_difference(per_seed, na, nb, m) for m in metrics]",
           "rows += [{'relation': row} | paired_difference(per_seed, nb, na, m) for m in metrics]"),
    Mutant("the tagger scores every method with the probe's registry entry", 'a method is one registry entry (mmkg tag follows it)', 'mmkg/tag.py',
           "return self.registered(key).tag(self, key, self.meta['methods'][key], np.ascontiguousarray(X, np.float32), scene, caption)",
           "return METHODS['linear-probe'].tag(self, key, {'inputs': 'image'}, np.ascontiguousarray(X, np.float32), scene, caption)",
           ('tests/test_tag.py::test_mmkg_tag_reproduces_the_runs_scores[sage-scene]',)),
    Mutant("the tagger finds kNN neighbours exactly where the run searched blocked lists", 'the bundle tags as the run scored, at scale (#26)', 'nbs/09d_tag.ipynb',
           "D, I = nearest_training(np.concatenate([F_train, F]), np.arange(n), k, self.index,", "D, I = nearest_training(np.concatenate([F_train, F]), np.arange(n), k, 'exact',"),
    Mutant('label-ranking AP counts a tied keyword as ranked below', "scikit-learn's LRAP, vectorised (#26)", 'nbs/01a_metrics.ipynb',
           "above = s[:, None, :] >= s[:, :, None]", "above = s[:, None, :] > s[:, :, None]"),
    Mutant("Correct & Smooth's grid shares one correction across both k", "the grid is PyG's CorrectAndSmooth (#26)", 'nbs/06a_smooth.ipynb',
           "key = (cfg.k, cfg.correction_alpha, cfg.correction_layers)", "key = (cfg.correction_alpha, cfg.correction_layers)"),
    Mutant('the blocked search keeps the worst neighbours of a list', 'blocked search against exact (#26)', 'nbs/04_graph.ipynb',
           "top = np.argpartition(-S, k - 1, axis=1)[:, :k]", "top = np.argpartition(S, k - 1, axis=1)[:, :k]"),
    Mutant('the stage cache never finds a finished stage', 'a killed run resumes', 'mmkg/core.py',
           "if self.enabled and p.exists():", "if False:",
           ('tests/test_reliability.py::test_killed_run_resumes_and_matches_an_uninterrupted_run',)),
]

def run_tests(m: Mutant) -> tuple[bool, str]:
    "Run the mutant's tests; (failed, the last line they printed)."
    if m.path.startswith('nbs/'):   # a broken copy of the notebook beside it (relative paths hold), tested alone
        copy = REPO / 'nbs' / f'mutant_{Path(m.path).name}'
        nb = json.loads((REPO / m.path).read_text())
        cells = [c for c in nb['cells'] if m.old in ''.join(c['source'])]
        assert len(cells) == 1 and ''.join(cells[0]['source']).count(m.old) == 1, f'{m.path}: {m.old!r} is not in exactly one place'
        cells[0]['source'] = ''.join(cells[0]['source']).replace(m.old, m.new)
        copy.write_text(json.dumps(nb))
        try: r = subprocess.run([str(Path(PY).parent / 'nbdev_test'), '--path', str(copy), '--do_print'], capture_output=True, text=True, cwd=REPO)
        finally: copy.unlink()
    else:
        r = subprocess.run([PY, '-m', 'pytest', '-q', '-x', '-p', 'no:cacheprovider', *m.tests], capture_output=True, text=True, cwd=REPO)
        if r.returncode in (4, 5): raise SystemExit(f'{m.name}: pytest could not run {m.tests} (exit {r.returncode}): {r.stdout[-500:]}')   # not a catch
    lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    why = next((l for l in lines if l.startswith('E ')), next((l for l in lines if 'Error' in l or 'FAIL' in l), lines[-1] if lines else ''))
    return r.returncode != 0, why.strip()[:160]

def main(words):
    chosen = [m for m in MUTANTS if not words or any(w in m.name or w in m.item for w in words)]
    results = []
    for m in chosen:
        t0 = time.perf_counter()
        if m.path.startswith('nbs/'): failed, why = run_tests(m)
        else:
            f = REPO / m.path; original = f.read_text()
            assert original.count(m.old) == 1, f'{m.path}: {m.old!r} is not in exactly one place'
            try: f.write_text(original.replace(m.old, m.new)); failed, why = run_tests(m)
            finally: f.write_text(original)
        results.append(failed)
        print(f"{'caught  ' if failed else 'SURVIVED'} {time.perf_counter() - t0:5.0f} s  [{m.item}] {m.name}\n{'':18}{why}", flush=True)
    print(f'{sum(results)} of {len(results)} mutants caught by the tests that claim to guard them')
    return 0 if all(results) else 1

if __name__ == '__main__': sys.exit(main(sys.argv[1:]))
