"""Every notebook of the course in a real JupyterLab 4, driven by headless Chromium (Playwright),
as a student opens it: the Lab of `make lab` (the student's workspace, no nbgrader extensions).

Checks what only a browser can: Run All reaches the end of each notebook with no error and no
widget failing to render; the live training curve's image changes while the kernel is still busy;
no picture (widget, plot, graph drawing) is wider than the output area JupyterLab gives it; the
nbgrader menu and sidebars are absent. Saves a screenshot of every widget and picture, at the
width JupyterLab gives it, under artifacts/browser/. Uses Debian's Chromium; Playwright never
downloads a browser.
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.course.build import fill_workspace, source_notebook
from autograder.assignments import available_assignments

from autograder_course import course_template  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser_lab")]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts" / "browser"
STUDENT_CONFIG = ROOT / "student" / "jupyter-config"  # what `make lab` puts on JUPYTER_CONFIG_PATH
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does) "
                "to run the JupyterLab browser test", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

# Settings a fresh JupyterLab would otherwise ask about or fetch from the network; and all
# cells attached to the page, so every output is in the DOM wherever it is scrolled.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def notebooks_in_course():
    """Workspace paths of every notebook in notebooks/: the tour(s) and each assignment present."""
    graded = set(available_assignments())
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.py"))
    return [f"{name}/{name}.ipynb" if name in graded else f"{name}.ipynb" for name in names]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answered(workspace, assignment):
    """Put the instructor's solutions (hidden tests removed) into the workspace copy, so that
    every picture that uses the student's functions is drawn in full."""
    path = workspace / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    solved = {c.metadata["nbgrader"]["grade_id"]: HIDDEN.sub("", c.source)
              for c in source_notebook(assignment).cells if "nbgrader" in c.metadata}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            cell.source = solved[grade_id]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, course_template):
    """The student's JupyterLab on 127.0.0.1, serving the workspace `make lab` fills; yields
    (base url, token, server log path)."""
    home = tmp_path_factory.mktemp("lab")
    course = home / "course"
    shutil.copytree(course_template, course)
    workspace = Path(fill_workspace(str(course), log=lambda *a: None))
    for assignment in available_assignments():
        if (workspace / assignment).exists():
            answered(workspace, assignment)
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    env.update(JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTER_CONFIG_PATH=str(STUDENT_CONFIG),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"),
               # One BLAS thread: threaded BLAS on small matrices crawls when the other
               # pytest worker holds the second core.
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workspace}",
               "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = home / "jupyter-lab.log"
    log = open(log_path, "wb")
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
                                       + log_path.read_text()[-3000:])
                time.sleep(0.3)
        yield base, token, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


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

# Every output holding a picture (a widget, an image, an inline SVG), with how wide it is drawn
# against the output area JupyterLab gives it. Marks each with data-picture="<index>".
PICTURES = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const found = [];
  panel.content.node.querySelectorAll('.jp-OutputArea-output').forEach(area => {
    if (area.parentElement.closest('.jp-OutputArea-output')) return;  // outputs inside widgets
    const widget = area.querySelector('.jupyter-widgets, .widget-output');
    const drawings = [...area.querySelectorAll('img, svg')].filter(
      e => !e.closest('button') && !e.closest('.jp-icon') && e.getBoundingClientRect().width > 40);
    if (!widget && !drawings.length) return;
    const box = area.getBoundingClientRect();
    const widest = Math.max(area.scrollWidth,
                            ...drawings.map(e => e.getBoundingClientRect().right - box.left));
    area.setAttribute('data-picture', String(found.length));
    found.push({kind: widget ? 'widget' : drawings[0].tagName.toLowerCase(),
                area_width: Math.round(box.width), drawn_width: Math.round(widest),
                natural: drawings.map(
                  e => e.naturalWidth || Math.round(e.getBoundingClientRect().width))});
  });
  return found;
}"""


def open_and_run_all(page, base, token, path, budget=400):
    """Open a notebook, Run All, wait until every cell ran; -> (poll history, live frames)."""
    page.goto(f"{base}/lab/tree/{path}?reset&token={token}")
    page.wait_for_function(
        "() => { const p = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return p && p.sessionContext && p.sessionContext.session"
        " && p.sessionContext.session.kernel"
        " && p.sessionContext.session.kernel.status === 'idle'; }", timeout=90_000)
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells');"
                  " return true; }")
    frames_while_busy, history = set(), []
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        state = page.evaluate(PROBE)
        history.append(state)
        if state and state["frame"] and state["status"] == "busy":
            frames_while_busy.add(state["frame"])
        if (state and state["executed"] == state["total"] and state["pending"] == 0
                and state["status"] == "idle"):
            return history, frames_while_busy
        page.wait_for_timeout(100)
    page.screenshot(path=str(ARTIFACTS / f"timeout_{Path(path).stem}.png"))
    pytest.fail(f"Run All of {path} did not finish in {budget} s; last state {history[-1]}")


def keep_pictures(page, stem):
    """Screenshot every picture output; -> the PICTURES measurements."""
    pictures = page.evaluate(PICTURES)
    for index, picture in enumerate(pictures):
        element = page.locator(f'[data-picture="{index}"]')
        element.scroll_into_view_if_needed()
        element.screenshot(path=str(ARTIFACTS / f"{stem}_{index:02d}_{picture['kind']}.png"))
    (ARTIFACTS / f"{stem}_pictures.json").write_text(json.dumps(pictures, indent=1))
    return pictures


@pytest.mark.parametrize("path", notebooks_in_course())
def test_run_all_draws_every_picture_inside_its_output_area(lab, browser, path):
    base, token, _ = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(120_000)  # JupyterLab's first load on a busy 2-core CI
    try:
        history, frames_while_busy = open_and_run_all(page, base, token, path)
        assert page.evaluate(ERROR_OUTPUTS) == []
        assert page.get_by_text("Error displaying widget").count() == 0
        page.screenshot(path=str(ARTIFACTS / f"{stem}_page.png"))
        pictures = keep_pictures(page, stem)
        assert pictures, f"{path} showed no picture at all"
        overflowing = [p for p in pictures if p["drawn_width"] > p["area_width"] + 1]
        assert overflowing == [], f"drawn wider than the output area: {overflowing}"
        if page.locator(".minigrad-live-curve").count():
            curve = page.locator(".minigrad-live-curve").first
            label = curve.locator(".widget-label").first.inner_text()
            (ARTIFACTS / f"{stem}_frames.json").write_text(json.dumps(
                {"distinct_frames_while_busy": len(frames_while_busy), "polls": len(history),
                 "final_label": label}, indent=1))
            assert re.match(r"(epoch|step) (\d+)/\2", label), label  # it reached its last frame
            if stem == "00_tour":
                # the tour trains for seconds; an assignment's short run may show only its last frame
                assert len(frames_while_busy) > 1, (
                    f"the live curve showed {len(frames_while_busy)} frame(s) while the kernel was "
                    f"busy; polled {len(history)} times")
    finally:
        page.close()


def test_the_students_lab_has_no_nbgrader_instructor_tools(lab, browser):
    base, token, log_path = lab
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(f"{base}/lab?reset&token={token}")
        page.wait_for_selector("#jp-MainMenu", timeout=90_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started !== undefined")
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lab_menus.png"))
        menus = page.locator("#jp-MainMenu").inner_text()
        assert "File" in menus and "Nbgrader" not in menus
        plugins = page.evaluate("() => window.jupyterapp.listPlugins()")
        assert plugins and not [p for p in plugins if "nbgrader" in p]
    finally:
        page.close()
    log = log_path.read_text()
    assert "nbgrader" not in log.lower(), log[-2000:]
