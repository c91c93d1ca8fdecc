"""``python -m autograder kit``: what students get, without a clone of the repository.

    KIT/README.txt                                  how to install and where to work
    KIT/minigrad_course_student-<version>-py3-none-any.whl    minigrad + coursecheck (student/)
    KIT/<assignment>/<assignment>.ipynb             the release notebook (no solutions, no hidden tests)
    KIT/<assignment>/<assignment>.checks.json       its visible self-check data
    KIT/00_tour.ipynb                               the ungraded notebooks

``KIT`` is a folder, or a ``.zip`` archive holding that folder. The repository's ``notebooks/*.py``
hold every solution and hidden test, so the kit is made from ``release/`` only, and before it is
written ``find_leaks`` reads every file of it (the wheel's members too) and refuses the kit if any
solution line or hidden test is in it: this fails closed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import nbformat

from .build import build, student_notebooks, write_ungraded
from .layout import NOTEBOOKS, REPO_ROOT, Course, UsageError
from .selfcheck import check_data_file
from ..assignments import available_assignments

STUDENT_PACKAGE = os.path.join(REPO_ROOT, "student")
KIT_NAME = "minigrad-course-kit"
MIN_LINE = 12  # shorter solution lines ("return dx") also occur in provided code

README = """\
minigrad course: the student kit
================================

1. Install (Python 3.11), from this folder:

     python3.11 -m venv ~/minigrad-venv
     ~/minigrad-venv/bin/pip install "{wheel}[lab]"

   Assignment 05's last exercise reads PyTorch's own graph; for it add the CPU build of torch:

     ~/minigrad-venv/bin/pip install "{wheel}[torch]" --extra-index-url https://download.pytorch.org/whl/cpu

2. Work in the assignment folders: each notebook needs the .checks.json file next to it
   (its test cells' visible checks). Open JupyterLab here:

     ~/minigrad-venv/bin/jupyter lab

3. Hand in <assignment>/<assignment>.ipynb as your instructor says.
"""

_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


class KitLeak(Exception):
    """A file of the kit holds a solution line or a hidden test."""


def secret_lines(notebooks_dir=NOTEBOOKS, assignments=None):
    """{line: where} of every solution line and hidden-test line of the source notebooks that a
    release must not hold: stripped, at least MIN_LINE characters, and in no notebook's provided
    text (outside the solutions and hidden tests: `loss.backward()` is also in the tour)."""
    texts = {name[:-3]: open(os.path.join(notebooks_dir, name)).read()
             for name in sorted(os.listdir(notebooks_dir)) if name.endswith(".py")}
    public_lines = {line.strip() for text in texts.values()
                    for line in _HIDDEN.sub("", _SOLUTION.sub("", text)).splitlines()}
    secrets = {}
    for assignment_id in assignments or available_assignments():
        text = texts.get(assignment_id, "")
        for pattern, kind in ((_SOLUTION, "solution"), (_HIDDEN, "hidden test")):
            for block in pattern.findall(text):
                for line in block.splitlines():
                    line = line.strip()
                    if len(line) >= MIN_LINE and line not in public_lines:
                        secrets.setdefault(line, f"{kind} of {assignment_id}")
    return secrets


def _public_source(member):
    """The repository file a wheel member is a copy of (minigrad, coursecheck and the shipped
    grader files), "" for a generated file (package __init__, metadata), None otherwise."""
    top = member.split("/", 1)[0]
    if top.endswith(".dist-info"):
        return ""
    if member.startswith("coursecheck/_grader/"):
        relative = member[len("coursecheck/_grader/"):]
        if re.fullmatch(r"(judging|sandbox)/\w+\.py|assignments/a\d\d_\w+/sandbox\w*\.py", relative):
            return os.path.join(REPO_ROOT, "autograder", relative)
        return "" if relative.endswith("__init__.py") else None
    if top in ("minigrad", "coursecheck"):
        return os.path.join(REPO_ROOT, member)
    return None


def _texts(path):
    """(name, bytes) of every file under path, and of every member of each zip or wheel in it."""
    for folder, _, files in os.walk(path):
        for filename in sorted(files):
            full = os.path.join(folder, filename)
            name = os.path.relpath(full, path)
            if zipfile.is_zipfile(full):
                with zipfile.ZipFile(full) as archive:
                    for member in archive.namelist():
                        yield f"{name}!{member}", archive.read(member)
            else:
                with open(full, "rb") as fh:
                    yield name, fh.read()


def _wheel_member_leak(name, content):
    """Why a wheel member must not ship, or None: the wheel holds the public library and the
    grader's untrusted side, each an unchanged copy of its repository file, and nothing else."""
    member = name.split("!", 1)[1]
    source = _public_source(member)
    if source is None:
        return f"{name}: not part of the student package"
    if source and (not os.path.isfile(source) or open(source, "rb").read() != content):
        return f"{name}: not an unchanged copy of {os.path.relpath(source, REPO_ROOT)}"
    if source == "" and member.endswith(".py") and len(content.splitlines()) > 3:
        return f"{name}: a generated file with code in it"
    return None


def _notebook_texts(text):
    """A notebook's cell sources as they read (JSON escapes its newlines and quotes)."""
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception:  # not a notebook: searched as plain text
        return text
    return "\n".join(cell.source for cell in nb.cells)


def find_leaks(path, secrets=None):
    """["file: solution of 02_... : line", ...] for every secret line found under path; a
    wheel's members are checked against the repository files they copy (_wheel_member_leak)."""
    secrets = secret_lines() if secrets is None else secrets
    leaks = []
    for name, content in _texts(path):
        if "!" in name and name.split("!", 1)[0].endswith(".whl"):
            leak = _wheel_member_leak(name, content)
            leaks.extend([leak] if leak else [])
            continue
        text = content.decode("utf-8", "replace")
        if name.endswith(".ipynb"):
            text = _notebook_texts(text)
        if "hidden=True" in text or "BEGIN HIDDEN TESTS" in text:
            leaks.append(f"{name}: a hidden test")
        present = {line.strip() for line in text.splitlines()}
        for line in sorted(present & set(secrets)):
            leaks.append(f"{name}: {secrets[line]}: {line[:80]}")
        if re.search(r"(^|/)(tasks|reference\w*)\.py$|(^|/)samples/", name):
            leaks.append(f"{name}: a trusted grader file")
    return leaks


def build_wheel(folder):
    """Build the student package (student/) into folder; the wheel's path. Writes nothing into
    the repository (student/setup.py stages in a temporary folder)."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                           "--wheel-dir", folder, STUDENT_PACKAGE],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if done.returncode != 0 or len(wheels) != 1:
        raise RuntimeError(f"building the student wheel failed (pip wheel, exit {done.returncode}):\n"
                           f"{(done.stdout + done.stderr)[-3000:]}")
    return os.path.join(folder, wheels[0])


def _fill(folder, course, notebooks_dir, log):
    wheel = build_wheel(folder)
    graded = 0
    for name, is_graded in student_notebooks(notebooks_dir):
        release = course.release_notebook(name)
        if not is_graded:
            write_ungraded(name, os.path.join(folder, f"{name}.ipynb"), notebooks_dir)
            continue
        if not os.path.exists(release):
            raise UsageError(f"{release} is missing: build the course first "
                             "(python -m autograder build, or kit without --no-build)")
        os.makedirs(os.path.join(folder, name))
        for file in (f"{name}.ipynb", check_data_file(name)):
            shutil.copyfile(os.path.join(os.path.dirname(release), file), os.path.join(folder, name, file))
        graded += 1
    with open(os.path.join(folder, "README.txt"), "w") as fh:
        fh.write(README.format(wheel="./" + os.path.basename(wheel)))
    log(f"kit: {os.path.basename(wheel)} and {graded} assignments")


def make_kit(course_dir=None, to=None, rebuild=True, notebooks_dir=NOTEBOOKS, log=print):
    """Write the student kit to `to` (a folder that must not exist yet, or a .zip file; default
    DIR/kit). Refuses (KitLeak, nothing written) if a secret line is in it. Returns the path."""
    course = Course(course_dir)
    to = os.path.abspath(to or course.path("kit"))
    if os.path.exists(to):
        raise UsageError(f"{to} already exists: remove it or pass --to another place")
    if rebuild:
        build(course.root, notebooks_dir=notebooks_dir, log=log)
    else:
        course.require_built()
    with tempfile.TemporaryDirectory(prefix="kit-") as work:
        folder = os.path.join(work, KIT_NAME)
        os.makedirs(folder)
        _fill(folder, course, notebooks_dir, log)
        leaks = find_leaks(folder, secret_lines(notebooks_dir))
        if leaks:
            raise KitLeak("the kit would give away answers, so it was not written:\n  "
                          + "\n  ".join(leaks[:20]))
        os.makedirs(os.path.dirname(to), exist_ok=True)
        if to.endswith(".zip"):
            shutil.make_archive(to[:-len(".zip")], "zip", work, KIT_NAME)
        else:
            shutil.copytree(folder, to)
    log(f"kit written: {to}")
    return to
