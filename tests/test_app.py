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
    n = len(run['gallery'])
    for space, eng in run['engines'].items():
        for mode in ('vector', 'bm25', 'rrf', 'weighted'):
            s, i = eng.search_text(['a red circle'], 5, mode)
            assert i.shape == (1, 5) and ((i >= -1) & (i < n)).all(), (space, mode)
        assert eng.search_image(3, 4)[1][0, 0] == 3
        assert len(eng.search_keyword(eng.keywords[0], 4)[1][0]) == 4
    assert run['manifest']['sage_method'] in ('cosine', 'scene')   # the run's SAGE method best on validation

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
            except OSError: pass
            assert app.poll() is None and time.time() < deadline, f'the app did not start: {app.stdout.read() if app.poll() is not None else "timeout"}'
            time.sleep(0.5)
        with pw.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                                        '--disable-background-networking', '--disable-component-update', '--disable-sync'])
            page = browser.new_page(viewport={'width': 1400, 'height': 1000})
            page.goto(f'http://127.0.0.1:{port}/', timeout=60_000)
            box = page.get_by_label('Query'); box.wait_for(timeout=60_000)
            box.fill('a red circle'); box.press('Enter')
            images = page.locator('[data-testid="stImage"] img, [data-testid="stImageContainer"] img')
            images.first.wait_for(timeout=60_000)
            assert images.count() >= 6
            page.get_by_role('tab', name='Image → images').click()
            page.locator('input[type="file"]').set_input_files(str(tmp_path / 'upload.png'))
            page.get_by_text('Predicted keywords').wait_for(timeout=60_000)
            line = page.locator('p', has_text='Predicted keywords').inner_text()
            bundle = json.loads((run / 'model' / 'bundle.json').read_text())
            assert sum(k in line for k in bundle['keywords']) >= 5 and bundle['methods'][bundle['best']]['name'] in line, line   # by the best method
            assert images.count() >= 7                                              # the upload and its CLIP neighbours
            page.get_by_role('button', name='Add to the index').click()
            page.get_by_text('Added upload.png to the index').wait_for(timeout=60_000)
            page.screenshot(path=str(tmp_path / 'app.png'), full_page=True)
            browser.close()
        assert (tmp_path / 'app.png').stat().st_size > 10_000
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
