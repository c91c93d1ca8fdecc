"""The student install: `pip install ./student` in a fresh virtualenv gives minigrad and the
self-checks with NumPy, matplotlib and ipywidgets, and no torch, no task specs, no grader; in it
assignment 01 runs from top to bottom with every visible check passing on right answers.

pip uses the machine's configured package index (here a local one); nothing else is fetched."""
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from autograder.course.build import source_notebook
from autograder.course.selfcheck import write_check_data

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("student_install")]

ROOT = Path(__file__).resolve().parents[1]
A01 = "01_finite_differences"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)

# Runs inside the student's virtualenv: every code cell of the notebook, in order, as Run All
# would (plots on Agg, widgets built without a front end); prints what the test cells said.
RUNNER = r'''
import contextlib, io, json, sys
cells = json.load(open(sys.argv[1]))
namespace, said = {}, []
for index, cell in enumerate(cells):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exec(compile(cell["source"], f"<cell {index}>", "exec"), namespace)
    if cell["test"]:
        said.append({"out": out.getvalue(), "err": err.getvalue()})
print(json.dumps(said))
'''


@pytest.fixture(scope="module")
def student_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("student") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT / "student")],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return python


def run_in(python, code, cwd, *args):
    """python -c code in cwd (not the repository: its packages must not be on the path)."""
    return subprocess.run([str(python), "-c", code, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600,
                          env=dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1"))


def run_cells(python, cells, cwd):
    return run_in(python, RUNNER, cwd, cells)


def released_cells(folder, answers=None):
    """The notebook's code cells as the student gets them (hidden tests removed), with the
    solutions (or `answers`: {grade_id: source}) in the answer cells; written to cells.json."""
    cells = []
    for cell in source_notebook(A01).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = (answers or {}).get(meta.get("grade_id"), HIDDEN.sub("", cell.source))
        cells.append({"source": source, "test": bool(meta.get("grade"))})
    path = folder / "cells.json"
    path.write_text(json.dumps(cells))
    return path


def test_the_student_install_has_no_torch_and_no_grader(student_venv, tmp_path):
    probe = ("import importlib.util as u, coursecheck, minigrad, numpy, matplotlib, ipywidgets\n"
             "print([n for n in ('torch', 'autograder', 'nbgrader', 'coursecheck._grader.tasks') "
             "if u.find_spec(n) is not None])")
    done = run_in(student_venv, probe, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_student_package_pins_what_the_course_pins():
    course = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    student = tomllib.loads((ROOT / "student" / "pyproject.toml").read_text())["project"]
    extras = student["optional-dependencies"]
    for pin in student["dependencies"] + extras["lab"] + extras["torch"]:
        assert pin in course
    assert not [p for p in student["dependencies"] if p.startswith(("torch", "nbgrader"))]


def test_assignment_01_runs_its_self_checks_in_the_student_install(student_venv, tmp_path):
    write_check_data(A01, str(tmp_path))  # what the build ships next to the release notebook
    cells = released_cells(tmp_path)
    done = run_cells(student_venv, cells, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    said = json.loads(done.stdout.splitlines()[-1])
    assert len(said) == 6
    for cell in said:
        assert "checks pass" in cell["out"] and cell["err"] == "", cell

    wrong = {"forward_difference":
             "def forward_difference(f, x, h):\n    return (f(x) - f(x - h)) / h\n"}
    cells = released_cells(tmp_path, wrong)
    done = run_cells(student_venv, cells, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads(done.stdout.splitlines()[-1])[0]
    assert "you computed the backward difference" in first["err"].lower()
    assert "expected: 0.2077225626" in first["err"]

    hidden = run_in(student_venv, "from coursecheck import check\n"
                    "check('test_forward_difference', lambda f, x, h: 0.0, hidden=True)", tmp_path)
    assert hidden.returncode != 0 and "only the instructor's installation" in hidden.stderr
