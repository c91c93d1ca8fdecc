"""Stage the student install from the repository: minigrad, coursecheck, and inside coursecheck
(as ``coursecheck._grader``) the grader's generic comparison code and the sandbox calls that the
self-checks run: the same files the grader uses, so that a check says what the grader would.

Deliberately left out: the task specs (``autograder/tasks``: hidden-case generators, references,
known wrong answers), the grader, the sandbox harness, anything that imports torch.
"""
import glob
import os
import shutil

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STAGE = os.path.join(HERE, "_staged")

# (source relative to the repository root, destination relative to the staged packages)
SHIPPED = [(f"autograder/{name}.py", f"coursecheck/_grader/{name}.py")
           for name in ("judge", "compare", "diagnosis", "results", "text")]
# Every module of the sandbox package (the calls and the test material they use: NumPy only,
# no secrets by that package's rule) except the parts that only the grading process needs.
NOT_SHIPPED = {"harness.py", "guard.py", "cells.py"}
SHIPPED += [(os.path.relpath(path, ROOT), "coursecheck/_grader/sandbox/" + os.path.basename(path))
            for path in sorted(glob.glob(os.path.join(ROOT, "autograder", "sandbox", "*.py")))
            if os.path.basename(path) not in NOT_SHIPPED]

GRADER_INIT = '''"""Copied from the course's autograder/ when this package was built
(student/setup.py): the generic comparison code and the sandbox calls, never a task spec."""
'''


def stage():
    if not os.path.isdir(os.path.join(ROOT, "minigrad")):
        return  # building from an unpacked sdist: already staged
    shutil.rmtree(STAGE, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("minigrad", "coursecheck"):
        shutil.copytree(os.path.join(ROOT, package), os.path.join(STAGE, package), ignore=ignore)
    for source, target in SHIPPED:
        os.makedirs(os.path.dirname(os.path.join(STAGE, target)), exist_ok=True)
        shutil.copyfile(os.path.join(ROOT, source), os.path.join(STAGE, target))
    with open(os.path.join(STAGE, "coursecheck", "_grader", "__init__.py"), "w") as fh:
        fh.write(GRADER_INIT)


stage()
setup(packages=find_packages(STAGE), package_dir={"": os.path.relpath(STAGE, HERE)})
