"""`make lab` as a student runs it: work in course/workspace survives rebuilding, the Lab starts
as root, and without nbgrader's instructor extensions."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder_course import course_template  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
A01 = "01_finite_differences"
MY_ANSWER = "def forward_difference(f, x, h):\n    return 'my own answer, kept'\n"


def make_lab(course):
    """`make lab` with the Lab itself replaced by `true` (the server would never return)."""
    done = subprocess.run(["make", "-C", str(ROOT), "lab", f"COURSE={course}", "LAB=true"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
def test_answers_and_other_files_survive_make_lab_twice(tmp_path, course_template):  # noqa: F811
    # a copy of the course the session built (its releases up to date): `make lab` builds what
    # changed (nothing here; the build's own tests rebuild) and makes the workspace
    course = tmp_path / "course"
    shutil.copytree(course_template, course)
    said = make_lab(course)
    assert f"{A01} is up to date" in said
    mine = course / "workspace" / A01 / f"{A01}.ipynb"
    nb = nbformat.read(mine, as_version=4)
    (cell,) = [c for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == "forward_difference"]
    cell.source = MY_ANSWER
    nbformat.write(nb, mine)
    notes = mine.parent / "my_notes.txt"
    notes.write_text("scratch work")
    assert (course / "workspace" / "00_tour.ipynb").exists()
    assert (mine.parent / f"{A01}.checks.json").exists()

    said = make_lab(course)
    assert f"{A01} is up to date" in said   # nothing changed: the release is not generated again
    nb = nbformat.read(mine, as_version=4)
    assert MY_ANSWER in [c.source for c in nb.cells]
    assert notes.read_text() == "scratch work"
    release = nbformat.read(course / "release" / A01 / f"{A01}.ipynb", as_version=4)
    assert MY_ANSWER not in [c.source for c in release.cells]  # release/ is the course's, not mine


def lab_command():
    done = subprocess.run(["make", "-n", "-C", str(ROOT), "lab"], capture_output=True, text=True)
    (line,) = [l for l in done.stdout.replace("\\\n", " ").splitlines() if "jupyter lab" in l]
    return line


def test_the_lab_runs_as_root_when_it_must():
    assert ("--allow-root" in lab_command()) == (os.geteuid() == 0)


def test_the_students_lab_runs_without_nbgrader_extensions():
    line = lab_command()
    config = ROOT / "student" / "jupyter-config"
    assert f"JUPYTER_CONFIG_PATH={config}" in line and "workspace" in line
    # Every server extension nbgrader turns on is turned off for the student's Lab ...
    installed = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "nbgrader.json"
    enabled = json.loads(installed.read_text())["ServerApp"]["jpserver_extensions"]
    ours = json.loads((config / "jupyter_server_config.json").read_text())
    ours = ours["ServerApp"]["jpserver_extensions"]
    assert enabled and all(ours.get(name) is False for name in enabled)
    # ... and so is its JupyterLab extension (menu, Formgrader, Create Assignment sidebar).
    page = json.loads((config / "labconfig" / "page_config.json").read_text())
    done = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"],
                          capture_output=True, text=True)
    listing = done.stdout + done.stderr  # jupyter writes the list to stderr
    nbgrader_labextensions = [w for w in listing.split() if "nbgrader" in w]
    scoped = [name for name in nbgrader_labextensions if name.startswith("@")]
    assert scoped and all(page["disabledExtensions"].get(name) is True for name in scoped)
