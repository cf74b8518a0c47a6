"""The search app in a real browser: start it on localhost, type a query in headless Chromium, see result images."""
import json, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import psutil
import pytest


CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def run_dir(smoke_run):
    "The session's smoke run (conftest), with its search artefacts and model bundle."
    return smoke_run

def test_load_run_answers_all_query_kinds(run_dir):
    from mmkg.search import load_run
    run = load_run(run_dir)
    import pandas as pd
    n, kw = len(run['gallery']), run['gallery'].keywords.fillna('').to_numpy()
    for space, eng in run['engines'].items():
        for mode in ('vector', 'bm25', 'rrf', 'weighted'):
            s, i = eng.search_text(['a red circle'], 5, mode)
            assert i.shape == (1, 5) and ((i >= 0) & (i < n)).all(), (space, mode, i)   # five real images (−1 would be "none")
        top = eng.search_text(['a red circle'], 3, 'bm25')[1][0]
        assert all('red circle' in kw[j] for j in top), (space, kw[top])       # BM25 over captions finds the queried keyword
        assert eng.search_image(3, 4)[1][0, 0] == 3
        hits = eng.search_keyword(eng.keywords[0], 4)[1][0]
        assert len(hits) == 4 and (hits >= 0).all()
    # the app's SAGE space is the first seed's SAGE model that is best on validation (never chosen on test)
    per_seed = pd.read_csv(run_dir / 'tables' / 'link_prediction_per_seed.csv')
    sage = per_seed[(per_seed.seed == per_seed.seed.min()) & per_seed.method.str.startswith('SAGE-')]
    assert run['manifest']['sage_method'] == sage.loc[sage.val_score.idxmax(), 'method'].removeprefix('SAGE-')

@pytest.mark.skipif(CHROMIUM is None, reason='no Chromium on this machine: `make browser` installs Debian chromium (needs apt and root)')
def test_app_in_a_browser(run_dir, tmp_path):
    "Text query → result images; an uploaded image → its predicted keywords and neighbours, then added to the index."
    pw = pytest.importorskip('playwright.sync_api', reason='playwright is not installed (`make install` installs it with the dev extras)')
    import pandas as pd
    from PIL import Image
    run = tmp_path / 'run'; shutil.copytree(run_dir, run)   # the upload changes the index: a copy of the session's run
    test_image = pd.read_csv(run / 'model' / 'test_images.csv').path[0]
    Image.open(test_image).transpose(Image.Transpose.ROTATE_180).save(tmp_path / 'upload.png')
    port = free_port()
    app = subprocess.Popen([str(Path(sys.executable).parent / 'mmkg'), 'app', str(run), '--port', str(port)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(f'http://127.0.0.1:{port}/_stcore/health', timeout=2).read() == b'ok': break
            except OSError: pass   # not serving yet (connection refused): poll again until the deadline below
            assert app.poll() is None and time.time() < deadline, f'the app did not start: {app.stdout.read() if app.poll() is not None else "timeout"}'
            time.sleep(0.5)
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                                        '--disable-background-networking', '--disable-component-update', '--disable-sync'])
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/', timeout=60_000)
            box = page.get_by_label('Query'); box.wait_for(timeout=60_000)
            page.get_by_text('bm25', exact=True).click()                       # BM25 over captions: the top results must name the query
            box.fill('a red circle'); box.press('Enter')
            # what a person sees: the text query's own results (Streamlit renders every tab, so count inside their container)
            text_results = page.locator('.st-key-text-results [data-testid="stImage"]')
            text_results.first.wait_for(timeout=60_000)
            pw.expect(text_results).to_have_count(12, timeout=60_000)           # the sidebar's default number (waits: Streamlit renders in steps)
            captions = page.locator('.st-key-text-results [data-testid="stImageCaption"]').all_inner_texts()
            assert len(captions) == 12 and all('red circle' in c for c in captions[:3]), captions[:3]
            page.get_by_role('tab', name='Image → images').click()
            page.locator('input[type="file"]').set_input_files(str(tmp_path / 'upload.png'))
            page.get_by_text('Predicted keywords').wait_for(timeout=60_000)
            line = page.locator('p', has_text='Predicted keywords').inner_text()
            bundle = json.loads((run / 'model' / 'bundle.json').read_text())
            best = bundle['best_without_caption']   # an upload has no caption: the best method on validation that reads none
            assert sum(k in line for k in bundle['keywords']) >= 5 and bundle['methods'][best]['name'] in line, line
            neighbours = page.locator('.st-key-image-results [data-testid="stImage"]')
            neighbours.first.wait_for(timeout=60_000)
            pw.expect(neighbours).to_have_count(12, timeout=60_000)              # the upload's CLIP neighbours, in their own container
            assert 'scores are probability values' in line or 'scores are cosine values' in line, line   # says what its scores are
            page.get_by_role('button', name='Add to the index').click()
            page.get_by_text('Added upload.png to the index').wait_for(timeout=60_000)
            browser.close()
        gallery = pd.read_csv(run / 'search' / 'gallery.csv', keep_default_na=False)
        assert gallery.split.iloc[-1] == 'added' and gallery.path.iloc[-1].endswith('added/upload.png')
    finally:   # `mmkg app` execs Streamlit, so this is the server itself; kill anything it started too
        procs = [app.pid] + [c.pid for c in psutil.Process(app.pid).children(recursive=True)] if app.poll() is None else []
        for pid in procs:
            try: psutil.Process(pid).kill()
            except psutil.NoSuchProcess: pass
        app.wait(10)
    assert not any('streamlit' in ' '.join(p.info['cmdline'] or []) and str(port) in ' '.join(p.info['cmdline'] or [])
                   for p in psutil.process_iter(['cmdline'])), 'the app server outlived the test'
