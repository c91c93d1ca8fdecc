"""The student's side: the kit that `python -m autograder kit` builds (the student wheel and the
release notebooks with their .checks.json) holds no solution and no hidden test; its wheel,
installed into a fresh virtualenv, has no torch and no grader; in it every notebook runs to the
end, with its answers filled in (every visible check passing) and untouched as released (only
"not answered yet" lines); building the wheel writes nothing into the repository.

pip uses the machine's configured package index (here a local one); nothing else is fetched.
One virtualenv serves every notebook. torch stays out of it (its wheel takes over a minute to
install here): 05 runs its no-torch path, which says what to install.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import available_assignments
from autograder.cli import main
from autograder.course.build import source_notebook
from autograder.course.kit import KIT_NAME, KitLeak, find_leaks, make_kit, secret_lines
from autograder_course import course_template  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("student_install")]

ROOT = Path(__file__).resolve().parents[1]
A01 = "01_finite_differences"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
UNANSWERED = "not answered yet"
SKIPPED = re.compile(r"^This demonstration needs (your answers? to Exercises? .+|an exercise "
                     r"you have not answered yet); skipped\.$")

# Runs inside the student's virtualenv, in the notebook's folder: every code cell, in order, as
# Run All does (plots on Agg, widgets built without a front end, `display` as IPython's); stops
# at the first cell that raises, as Run All does. Prints, per cell, what it said and whether it
# is a test cell, and the error that stopped it.
RUNNER = r'''
import contextlib, io, json, sys, traceback
from IPython.display import display
cells = json.load(open(sys.argv[1]))
namespace, said, error = {"__name__": "__main__", "display": display}, [], None
for index, cell in enumerate(cells):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            exec(compile(cell["source"], f"<cell {index}>", "exec"), namespace)
    except BaseException:
        error = f"cell {index}:\n{cell['source'][:400]}\n{traceback.format_exc()[-3000:]}"
    said.append({"out": out.getvalue(), "err": err.getvalue(), "test": cell["test"]})
    if error:
        break
print(json.dumps({"said": said, "error": error}))
'''


def flat(text):
    """text with its line wrapping undone (coursecheck wraps its messages)."""
    return " ".join(text.split())


def _tree(folder):
    """{relative path: (size, mtime)} of every file under folder."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in Path(folder).rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def kit(course_template, tmp_path_factory):  # noqa: F811
    """The kit of the built course, made by the command and unpacked; and student/ before/after."""
    base = tmp_path_factory.mktemp("kit")
    course = base / "course"
    shutil.copytree(course_template, course)
    before = _tree(ROOT / "student")
    assert main(["kit", "--course", str(course), "--to", str(base / "kit.zip"), "--no-build"]) == 0
    after = _tree(ROOT / "student")
    with zipfile.ZipFile(base / "kit.zip") as archive:
        archive.extractall(base / "unpacked")
    return {"folder": base / "unpacked" / KIT_NAME, "course": course, "student_tree": (before, after)}


@pytest.fixture(scope="module")
def student_venv(kit, tmp_path_factory):
    """A fresh virtualenv with the kit's wheel (no [lab], no [torch]): its python."""
    venv = tmp_path_factory.mktemp("student") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel, = kit["folder"].glob("*.whl")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return python


def run_in(python, code, cwd, *args):
    """python -c code in cwd (not the repository: its packages must not be on the path)."""
    return subprocess.run([str(python), "-c", code, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=900,
                          env=dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1"))


def run_all(python, cells, folder):
    """Run All of `cells` ([{"source", "test"}]) in folder -> {"said": [...], "error": ...}."""
    path = folder.parent / f"{folder.name}-cells.json"
    path.write_text(json.dumps(cells))
    done = run_in(python, RUNNER, folder, path)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def answered_cells(assignment, answers=None):
    """The source notebook's code cells with the solutions (or `answers`: {grade_id: source})
    in the answer cells and the hidden tests removed."""
    cells = []
    for cell in source_notebook(assignment).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = (answers or {}).get(meta.get("grade_id"), HIDDEN.sub("", cell.source))
        cells.append({"source": source, "test": bool(meta.get("grade"))})
    return cells


def release_cells(kit_folder, assignment):
    """The kit's release notebook's code cells, untouched."""
    nb = nbformat.read(kit_folder / assignment / f"{assignment}.ipynb", as_version=4)
    return [{"source": c.source, "test": bool(c.metadata.get("nbgrader", {}).get("grade"))}
            for c in nb.cells if c.cell_type == "code"]


# --- the kit ----------------------------------------------------------------------------------

def test_the_kit_holds_the_wheel_and_each_release_notebook_with_its_checks(kit):
    folder = kit["folder"]
    assert len(list(folder.glob("minigrad_course_student-*-py3-none-any.whl"))) == 1
    assert (folder / "README.txt").read_text().count("pip install") >= 2
    assert (folder / "00_tour.ipynb").is_file()
    for assignment in available_assignments():
        assert sorted(p.name for p in (folder / assignment).iterdir()) == \
            [f"{assignment}.checks.json", f"{assignment}.ipynb"]
    assert not list(folder.rglob("*.py"))  # notebooks/*.py hold the solutions


def test_nothing_in_the_kit_is_a_solution_line_or_a_hidden_test(kit):
    secrets = secret_lines()
    assert len(secrets) > 200  # every assignment's solutions, not an empty list
    assert {where.split(" of ")[1] for where in secrets.values()} == set(available_assignments())
    assert find_leaks(kit["folder"], secrets) == []
    wheel, = kit["folder"].glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if re.search(r"tasks\.py$|reference\w*\.py$|samples/", n)]
    assert "coursecheck/_grader/judging/compare.py" in names and "minigrad/engine.py" in names


def test_the_leak_check_finds_a_planted_solution_line_and_the_kit_is_not_written(kit, tmp_path):
    secrets = secret_lines()
    line = next(s for s, where in secrets.items() if where == "solution of 03_vectorized_mlp")
    planted = tmp_path / "planted"
    shutil.copytree(kit["folder"], planted)
    nb_path = planted / A01 / f"{A01}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"# scratch\n    {line}\n"))
    nbformat.write(nb, nb_path)
    leaks = find_leaks(planted, secrets)
    assert len(leaks) == 1 and "solution of 03_vectorized_mlp" in leaks[0] and A01 in leaks[0]

    # the command refuses such a release and writes nothing
    course = tmp_path / "course"
    shutil.copytree(kit["course"], course)
    shutil.copyfile(nb_path, course / "release" / A01 / f"{A01}.ipynb")
    with pytest.raises(KitLeak, match="solution of 03_vectorized_mlp"):
        make_kit(str(course), str(tmp_path / "kit"), rebuild=False, log=lambda *a: None)
    assert not (tmp_path / "kit").exists()


def test_the_kit_refuses_an_existing_target_and_an_unbuilt_course(tmp_path, capsys):
    (tmp_path / "kit").mkdir()
    assert main(["kit", "--course", str(tmp_path / "course"), "--to", str(tmp_path / "kit")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["kit", "--course", str(tmp_path / "none"), "--no-build",
                 "--to", str(tmp_path / "k.zip")]) == 2
    assert "not a built course" in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "k.zip").exists()


def test_building_the_student_wheel_writes_nothing_into_the_repository(kit):
    before, after = kit["student_tree"]
    assert after == before
    assert not [p for p in after if p.startswith(("_staged", "build", "dist")) or ".egg-info" in p]


# --- the install ------------------------------------------------------------------------------

def test_the_student_install_has_no_torch_and_no_grader(student_venv, tmp_path):
    probe = ("import importlib.util as u, coursecheck, minigrad, numpy, matplotlib, ipywidgets, sklearn\n"
             "print([n for n in ('torch', 'autograder', 'nbgrader', 'coursecheck._grader.assignments"
             ".a01_finite_differences.tasks') if u.find_spec(n) is not None])")
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


@pytest.mark.parametrize("assignment", available_assignments())
def test_every_notebook_with_its_answers_runs_to_the_end_in_the_student_install(
        student_venv, kit, assignment):
    result = run_all(student_venv, answered_cells(assignment), kit["folder"] / assignment)
    assert result["error"] is None, result["error"]
    tests = [cell for cell in result["said"] if cell["test"]]
    assert len(tests) == len([c for c in answered_cells(assignment) if c["test"]])
    for cell in tests:
        cell = {key: flat(value) if isinstance(value, str) else value for key, value in cell.items()}
        text = cell["out"] + cell["err"]
        if "imports torch, which is not installed here" in text:  # 05, Exercise 9, without [torch]
            assert "pip install torch==2.13.0" in text, text
            continue
        assert re.search(r"checks? pass|check passes|your code runs on this cell's input",
                         cell["out"]) and cell["err"] == "", cell
    demos = "".join(cell["out"] for cell in result["said"] if not cell["test"])
    assert "This demonstration needs" not in demos
    if assignment == "03_vectorized_mlp":  # the self-check table reads as a match, row by row
        # table rows (a name, then a shape): the two-layer net's 8, then the ninja's
        rows = [line for line in demos.splitlines() if re.match(r"\s+d(scores|W[12]|b[12]|h|a|X)\s+\(", line)]
        assert len(rows) >= 8 and all(re.search(r" (bit-exact|exact|close) ", r) for r in rows), "\n".join(rows)
        assert "False" not in "".join(rows) and "validation (held-out) accuracy" in demos


@pytest.mark.parametrize("assignment", available_assignments())
def test_every_release_notebook_untouched_runs_to_the_end_saying_only_not_answered_yet(
        student_venv, kit, assignment):
    result = run_all(student_venv, release_cells(kit["folder"], assignment),
                     kit["folder"] / assignment)
    assert result["error"] is None, result["error"]
    for cell in result["said"]:
        if cell["test"]:
            assert UNANSWERED in flat(cell["err"]) and cell["out"] == "", cell
            assert "Traceback" not in cell["err"] and len(cell["err"]) < 400, cell
        else:
            assert "Traceback" not in cell["err"] + cell["out"], cell


def test_a_wrong_answer_is_explained_and_hidden_tests_are_refused(student_venv, kit, tmp_path):
    wrong = {"forward_difference":
             "def forward_difference(f, x, h):\n    return (f(x) - f(x - h)) / h\n"}
    result = run_all(student_venv, answered_cells(A01, wrong), kit["folder"] / A01)
    assert result["error"] is None, result["error"]
    first = [cell for cell in result["said"] if cell["test"]][0]
    assert "you computed the backward difference" in first["err"].lower()
    assert "expected: 0.2077225626" in first["err"]

    hidden = run_in(student_venv, "from coursecheck import check\n"
                    "check('test_forward_difference', lambda f, x, h: 0.0, hidden=True)", tmp_path)
    assert hidden.returncode != 0 and "only the instructor's installation" in hidden.stderr
