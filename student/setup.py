"""Stage the student install from the repository: minigrad, coursecheck, and inside coursecheck
(as ``coursecheck._grader``) the part of the grader that self-checks need, chosen by the
layout, not by a list: the ``judging`` package, the ``sandbox`` package and every assignment's
``sandbox*.py`` (the untrusted side, which runs in the student's process anyway), at the same
relative places as in ``autograder/``. Never shipped: an assignment's ``tasks.py`` and
``reference*.py`` (hidden-case generators, references, known wrong answers), its samples, and
the rest of the grader.

Building writes nothing into the repository: the staged copy, setuptools' ``build/`` and its
``.egg-info`` all go to a temporary folder removed when the build ends, so ``pip install
./student`` works from a read-only clone (``python -m autograder kit`` builds the wheel once,
for students who get no clone at all).
"""
import atexit
import glob
import os
import shutil
import tempfile

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GRADER = os.path.join(ROOT, "autograder")
SHIPPED_PACKAGES = ("judging", "sandbox")
SHIPPED_FROM_ASSIGNMENTS = "assignments/a*/sandbox*.py"

INIT = '''"""Copied from the course's autograder/ when this package was built (student/setup.py):
the judging and sandbox code and each assignment's sandbox*.py, never a task spec."""
'''


def shipped_grader_files():
    """(source, path relative to coursecheck/_grader) of every grader file the install ships."""
    files = []
    for package in SHIPPED_PACKAGES:
        for path in sorted(glob.glob(os.path.join(GRADER, package, "*.py"))):
            files.append((path, os.path.relpath(path, GRADER)))
    for path in sorted(glob.glob(os.path.join(GRADER, SHIPPED_FROM_ASSIGNMENTS))):
        files.append((path, os.path.relpath(path, GRADER)))
    return files


def stage(stage_dir):
    """Copy the shipped packages into stage_dir (a folder outside the repository)."""
    if not os.path.isdir(os.path.join(ROOT, "minigrad")):
        raise SystemExit(f"student/ builds from the course repository ({ROOT} has no minigrad/): "
                         "install the wheel from the kit instead (python -m autograder kit)")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("minigrad", "coursecheck"):
        shutil.copytree(os.path.join(ROOT, package), os.path.join(stage_dir, package), ignore=ignore)
    grader = os.path.join(stage_dir, "coursecheck", "_grader")
    for source, target in shipped_grader_files():
        os.makedirs(os.path.dirname(os.path.join(grader, target)), exist_ok=True)
        shutil.copyfile(source, os.path.join(grader, target))
    for folder, _, files in os.walk(grader):
        if "__init__.py" not in files:
            with open(os.path.join(folder, "__init__.py"), "w") as fh:
                fh.write(INIT)


# setuptools runs this file once per build step (metadata, wheel), each in its own process:
# each stages afresh into its own temporary folder and removes it on exit.
STAGE = tempfile.mkdtemp(prefix="minigrad-student-")
atexit.register(shutil.rmtree, STAGE, ignore_errors=True)
stage(os.path.join(STAGE, "src"))
setup(
    packages=find_packages(os.path.join(STAGE, "src")),
    # relative, as setuptools wants package_dir; it points outside the source tree
    package_dir={"": os.path.relpath(os.path.join(STAGE, "src"), HERE)},
    options={"build": {"build_base": os.path.join(STAGE, "build")},
             "egg_info": {"egg_base": STAGE}},
)
