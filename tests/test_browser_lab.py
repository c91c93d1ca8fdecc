"""Run the tour notebook in a real JupyterLab 4 driven by headless Chromium (Playwright).

Checks what only a browser can: the live training curve's image changes while the kernel is
still busy ("Run All"), and no widget fails to render ("Error displaying widget"). Saves
screenshots under artifacts/. Uses Debian's Chromium; Playwright never downloads a browser.
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jupytext
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser_lab")]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does) "
                "to run the JupyterLab browser test", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

# Settings a fresh JupyterLab would otherwise ask about or fetch from the network; and all
# cells attached to the page, so the live curve's image is in the DOM wherever it is scrolled.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving the tour notebook; yields (base url, token)."""
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    notebook = jupytext.read(ROOT / "notebooks" / "00_tour.py")
    # A "formats" entry would make jupytext's contents manager refuse the .ipynb alone.
    notebook.metadata.get("jupytext", {}).pop("formats", None)
    jupytext.write(notebook, notebooks / "00_tour.ipynb")
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"),
               # One BLAS thread: threaded BLAS on small matrices crawls when the other
               # pytest worker holds the second core.
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
               "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "jupyter-lab.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("jupyter lab did not start:\n"
                                       + (home / "jupyter-lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


# Reads the state of the open notebook: kernel status, how far "Run All" got, and a short
# signature of the live curve's current image (its length and tail change with every frame).
PROBE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const img = document.querySelector('.minigrad-live-curve img');
  const src = img ? img.getAttribute('src') || '' : '';
  return {
    status: kernel ? kernel.status : 'none',
    executed: cells.filter(c => c.model.executionCount !== null).length,
    total: cells.length,
    pending: cells.filter(c => c.node.querySelector('.jp-InputPrompt')
                               && c.node.querySelector('.jp-InputPrompt').textContent.includes('*')).length,
    frame: src ? src.length + ':' + src.slice(-48) : '',
  };
}"""

ERROR_OUTPUTS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .flatMap(c => c.model.outputs.toJSON())
  .filter(o => o.output_type === 'error')
  .map(o => o.ename + ': ' + o.evalue)"""


def test_run_all_updates_the_live_curve_while_busy(lab):
    base, token = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(120_000)  # JupyterLab's first load on a busy 2-core CI
            page.goto(f"{base}/lab/tree/00_tour.ipynb?reset&token={token}")
            page.wait_for_function(
                "() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " return p && p.sessionContext && p.sessionContext.session"
                " && p.sessionContext.session.kernel"
                " && p.sessionContext.session.kernel.status === 'idle'; }", timeout=90_000)
            # Not awaited: the command's promise settles only when every cell has run.
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells');"
                          " return true; }")

            frames_while_busy, history = set(), []
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                state = page.evaluate(PROBE)
                history.append(state)
                if state and state["frame"] and state["status"] == "busy":
                    frames_while_busy.add(state["frame"])
                if (state and state["executed"] == state["total"] and state["pending"] == 0
                        and state["status"] == "idle"):
                    break
                page.wait_for_timeout(100)
            else:
                page.screenshot(path=str(ARTIFACTS / "browser_lab_timeout.png"))
                pytest.fail(f"Run All did not finish in 240 s; last state {history[-1]}")

            assert page.evaluate(ERROR_OUTPUTS) == []
            assert page.get_by_text("Error displaying widget").count() == 0
            curve = page.locator(".minigrad-live-curve").first
            curve.scroll_into_view_if_needed()
            label = curve.locator(".widget-label").first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "browser_lab_tour.png"))
            curve.screenshot(path=str(ARTIFACTS / "browser_lab_live_curve.png"))
            (ARTIFACTS / "browser_lab_frames.json").write_text(json.dumps(
                {"distinct_frames_while_busy": len(frames_while_busy), "polls": len(history),
                 "final_label": label}, indent=1))
            assert label.startswith("epoch 80/80"), label
            assert len(frames_while_busy) > 1, (
                f"the live curve showed {len(frames_while_busy)} frame(s) while the kernel was "
                f"busy; polled {len(history)} times")
            # The Output widgets of all five widgets rendered their PNGs; keep a picture of each.
            images = page.locator(".widget-output img")
            assert images.count() >= 5
            for index in range(images.count()):
                images.nth(index).scroll_into_view_if_needed()
                images.nth(index).screenshot(path=str(ARTIFACTS / f"browser_lab_widget_{index}.png"))
        finally:
            browser.close()
