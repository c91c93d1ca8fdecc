"""``python -m autograder build``: notebooks/*.py (jupytext) -> an nbgrader course directory.

The text sources carry short nbgrader metadata (grade_id, solution/grade/locked); the build fills
in the rest, takes every test cell's points from its task spec (the single source of truth),
checks that notebook and specs agree, writes ``source/`` with the self-check data next to the
notebook (``<id>.checks.json``: visible cases and their references, see ``selfcheck``), then runs
nbgrader's own ``generate_assignment``, which writes ``release/`` (notebook and data) and records
the assignment in the gradebook.

``release/`` is regenerated on every build, so students never work there: ``fill_workspace``
copies each release notebook into ``workspace/`` only where the student has no copy yet, and
refreshes the data files beside them. Building never touches ``workspace/``.
"""
import os
import shutil

import jupytext
import nbformat

from .layout import NOTEBOOKS, Course, UsageError, run_nbgrader
from .selfcheck import check_data_file, write_check_data
from ..assignments import available_assignments, get_assignment


class BuildError(Exception):
    """The notebook source and its task specs disagree."""


def nbgrader_metadata(short, points=None):
    """Full nbgrader cell metadata (schema 3) from the short form used in the text sources."""
    grade = bool(short.get("grade", False))
    solution = bool(short.get("solution", False))
    # a written answer (solution and grade) is the student's to edit; a test or task cell is not
    meta = {"grade": grade, "grade_id": short["grade_id"],
            "locked": bool(short.get("locked", (grade or short.get("task", False)) and not solution)),
            "schema_version": 3, "solution": solution, "task": bool(short.get("task", False))}
    if grade or meta["task"]:
        meta["points"] = points if points is not None else short.get("points", 0)
    return meta


def is_manual(cell, short):
    """A cell formgrader grades by hand: a written answer (markdown, solution and grade) or an
    nbgrader task cell. Its points are in the notebook; the kit never grades it."""
    return bool(short.get("task")) or (cell.cell_type == "markdown" and bool(short.get("grade"))
                                        and bool(short.get("solution")))


def _check_manual_points(text_path, grade_id, short, points):
    if grade_id in points:
        raise BuildError(f"{text_path}: {grade_id!r} is graded by hand (a written answer or task "
                         f"cell) but also has a task spec; make it a code test cell or drop the spec")
    value = short.get("points")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise BuildError(f"{text_path}: the hand-graded cell {grade_id!r} needs its points in its "
                         f"metadata, e.g. nbgrader={{\"grade_id\": \"{grade_id}\", \"solution\": true, "
                         f"\"grade\": true, \"points\": 2}} (got {value!r})")


def source_notebook(assignment_id, notebooks_dir=NOTEBOOKS):
    """The instructor's notebook for an assignment, with full metadata, checked against its specs."""
    text_path = os.path.join(notebooks_dir, f"{assignment_id}.py")
    nb = jupytext.read(text_path)
    spec = get_assignment(assignment_id)
    points = {task.grade_id: task.points for task in spec.tasks}
    seen, solutions, grades = set(), set(), set()
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        short = cell.metadata.get("nbgrader")
        if not short:
            continue
        grade_id = short.get("grade_id")
        if not grade_id or grade_id in seen:
            raise BuildError(f"{text_path}: missing or duplicate grade_id {grade_id!r}")
        seen.add(grade_id)
        if is_manual(cell, short):
            _check_manual_points(text_path, grade_id, short, points)
        elif short.get("grade"):
            if grade_id not in points:
                raise BuildError(f"{text_path}: test cell {grade_id!r} has no task spec (a written "
                                 f"answer graded by hand is a markdown cell with \"solution\" and "
                                 f"\"grade\" and its \"points\")")
            if "points" in short and short["points"] != points[grade_id]:
                raise BuildError(f"{text_path}: {grade_id!r} says {short['points']} points, its spec "
                                 f"says {points[grade_id]}: points belong in the spec")
            grades.add(grade_id)
        if short.get("solution"):
            solutions.add(grade_id)
        cell.metadata["nbgrader"] = nbgrader_metadata(short, points.get(grade_id))
    for task in spec.tasks:
        if task.grade_id not in grades:
            raise BuildError(f"{text_path}: no test cell for task {task.grade_id!r}")
        missing = set(task.answer_cells) - solutions
        if missing:
            raise BuildError(f"{text_path}: task {task.grade_id!r} needs answer cells {sorted(missing)}")
    for number, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{number}"  # jupytext draws random ids; the same text builds the same notebook
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def _read_bytes(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def build(course_dir=None, assignments=None, notebooks_dir=NOTEBOOKS, log=print, force=False):
    """Write source/ for each assignment, then nbgrader generate_assignment. Returns the Course.

    An assignment whose source notebook and self-check data come out the same as the ones
    already built, and whose release exists, is left as it is (nbgrader would write the same
    release again, about 10 s each); force regenerates it anyway."""
    course = Course(course_dir)
    course.write_config()
    for assignment_id in assignments or available_assignments():
        if not os.path.exists(os.path.join(notebooks_dir, f"{assignment_id}.py")):
            continue
        nb = source_notebook(assignment_id, notebooks_dir)
        path = course.source_notebook(assignment_id)
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        before = (_read_bytes(path), _read_bytes(os.path.join(folder, check_data_file(assignment_id))))
        nbformat.write(nb, path)
        after = (_read_bytes(path), _read_bytes(write_check_data(assignment_id, folder)))
        release = course.release_notebook(assignment_id)
        if not force and before == after and os.path.exists(release):
            log(f"{assignment_id} is up to date: {os.path.relpath(release)}")
            continue
        done = run_nbgrader(course, "generate_assignment", assignment_id, "--force", "--create", check=False)
        if done.returncode != 0:
            output = (done.stdout or "") + (done.stderr or "")
            if "there are submissions associated with it" in output:
                raise UsageError(
                    f"{assignment_id} changed, and nbgrader cannot add or remove cells of an assignment "
                    f"that has submissions in {course.path('gradebook.db')}: keep the version the "
                    f"students got for this term, or remove its submissions from the gradebook first "
                    f"(`nbgrader db assignment remove {assignment_id} --force` in {course.root}, which "
                    f"drops their grades)")
            raise RuntimeError(f"nbgrader generate_assignment {assignment_id} failed (exit {done.returncode}):\n"
                               f"{output[-3000:]}")
        log(f"built {assignment_id}: {os.path.relpath(release)}")
    return course


def workspace_dir(course):
    return course.path("workspace")


def student_notebooks(notebooks_dir=NOTEBOOKS):
    """(name, graded) of every notebook students get, in course order: an assignment (students
    get its built release) or an ungraded notebook such as the tour (``write_ungraded``)."""
    graded = set(available_assignments())
    for filename in sorted(os.listdir(notebooks_dir)):
        name, ext = os.path.splitext(filename)
        if ext == ".py":
            yield name, name in graded


def write_ungraded(name, target, notebooks_dir=NOTEBOOKS):
    """An ungraded notebook (no solutions to remove) as .ipynb at target."""
    nb = jupytext.read(os.path.join(notebooks_dir, f"{name}.py"))
    nb.metadata.pop("jupytext", None)
    nbformat.write(nb, target)


def fill_workspace(course_dir=None, notebooks_dir=NOTEBOOKS, log=print):
    """Give the student a copy of every release notebook (and of the ungraded notebooks such as
    the tour) in DIR/workspace, where none exists yet; never overwrite one. The self-check data
    beside each assignment is refreshed: it is not the student's work. Returns the folder."""
    course = Course(course_dir)
    root = workspace_dir(course)
    os.makedirs(root, exist_ok=True)
    for name, graded in student_notebooks(notebooks_dir):
        release = course.release_notebook(name)
        if graded and not os.path.exists(release):
            continue  # not built
        folder = os.path.join(root, name) if graded else root
        target = os.path.join(folder, f"{name}.ipynb")
        if graded:
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(os.path.join(os.path.dirname(release), check_data_file(name)),
                            os.path.join(folder, check_data_file(name)))
        if not os.path.exists(target):
            if graded:
                shutil.copyfile(release, target)
            else:
                write_ungraded(name, target, notebooks_dir)
            log(f"workspace: new copy {os.path.relpath(target)}")
    return root
