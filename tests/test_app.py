"""The search app in a real browser: start it on localhost, type a query in headless Chromium, see result images."""
import shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import psutil
import pytest

from conftest import REPO

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def run_dir(tmp_path_factory):
    "A smoke-sized experiment run with its search artefacts."
    out = tmp_path_factory.mktemp('app') / 'run'; out.mkdir()
    r = subprocess.run([sys.executable, '-m', 'papermill', '-k', 'python3', '--cwd', str(REPO / 'nbs'), '--no-progress-bar',
                        str(REPO / 'nbs' / '10_experiment.ipynb'), str(out / 'executed.ipynb'), '-p', 'out_dir', str(out),
                        '-y', '{methods: [scene], baselines: [], finetune: false, n_boot: 10}'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

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
    assert run['manifest']['sage_method'] == 'scene'

@pytest.mark.skipif(CHROMIUM is None, reason='no Chromium on this machine: `make browser` installs Debian chromium (needs apt and root)')
def test_app_in_a_browser(run_dir, tmp_path):
    pw = pytest.importorskip('playwright.sync_api', reason='playwright is not installed (`make install` installs it with the dev extras)')
    port = free_port()
    app = subprocess.Popen([str(Path(sys.executable).parent / 'mmkg'), 'app', str(run_dir), '--port', str(port)],
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
            page.screenshot(path=str(tmp_path / 'app.png'), full_page=True)
            browser.close()
        assert (tmp_path / 'app.png').stat().st_size > 10_000
    finally:   # `mmkg app` execs Streamlit, so this is the server itself; kill anything it started too
        procs = [app.pid] + [c.pid for c in psutil.Process(app.pid).children(recursive=True)] if app.poll() is None else []
        for pid in procs:
            try: psutil.Process(pid).kill()
            except psutil.NoSuchProcess: pass
        app.wait(10)
    assert not any('streamlit' in ' '.join(p.info['cmdline'] or []) and str(port) in ' '.join(p.info['cmdline'] or [])
                   for p in psutil.process_iter(['cmdline'])), 'the app server outlived the test'
