"""Shared by the autograder tests: a built course (and a graded batch) made once per test run.

pytest-xdist may spread one module's tests over several workers, so expensive set-ups are made
once per run in a folder shared by all workers, under a file lock, and then only read (or
copied) by each test.
"""
import contextlib
import fcntl
import json
import os
import shutil

import nbformat
import pytest

from autograder import samples
from autograder.build import build
from autograder.course import Course

ASSIGNMENT = "01_finite_differences"


@contextlib.contextmanager
def _locked(path):
    with open(f"{path}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def made_once(tmp_path_factory, name, make):
    """Path of a folder that make(path) fills exactly once per test run, whatever the workers."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    base = tmp_path_factory.getbasetemp()
    root = base.parent / f"{name}-{run_id}" if run_id else base / name
    with _locked(root):
        if not (root / ".done").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            make(root)
            (root / ".done").touch()
    return root


@pytest.fixture(scope="session")
def course_template(tmp_path_factory):
    """Path of a built course (nbgrader generate_assignment takes ~10 s): copy it, do not modify it."""
    root = made_once(tmp_path_factory, "autograder-template",
                     lambda root: build(str(root / "course"), [ASSIGNMENT], log=lambda *a: None))
    return str(root / "course")


def fresh_course(template, dest):
    """A private copy of the built course (its own gradebook) at dest."""
    shutil.copytree(template, dest)
    return Course(dest)


def notebooks(course):
    """(source, release) notebooks of the assignment."""
    return (nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4),
            nbformat.read(course.release_notebook(ASSIGNMENT), as_version=4))


def submit_answers(course, student, answers, extra_cells=(), edit=None):
    """Hand in the release notebook with `answers` ({grade_id: code}); edit(nb) may mutate it."""
    _, release = notebooks(course)
    nb = samples.student_notebook(release, answers, extra_cells)
    if edit:
        edit(nb)
    return samples.submit(course, ASSIGNMENT, student, nb)


def submit_raw(course, student, filename, content):
    folder = course.submitted_dir(student, ASSIGNMENT)
    os.makedirs(folder, exist_ok=True)
    if filename is not None:
        with open(os.path.join(folder, filename), "wb") as fh:
            fh.write(content if isinstance(content, bytes) else json.dumps(content).encode())
    return folder


ZERO_ANSWERS = {
    "forward_difference": "def forward_difference(f, x, h):\n    return 0.0\n",
    "backward_difference": "def backward_difference(f, x, h):\n    return 0.0\n",
    "central_difference": "def central_difference(f, x, h):\n    return 0.0\n",
    "numerical_gradient": "def numerical_gradient(f, x, h=1e-5):\n    return np.zeros(x.shape)\n",
    "gradient_check": ("def relative_error(a, b):\n    return 0.0\n\n\n"
                       "def gradient_check(f, grad_f, x, h=1e-5):\n    return 0.0\n"),
    "network_gradient": ("def mlp_numerical_gradients(params, X, Y, h=1e-5):\n"
                         "    return {k: np.zeros(v.shape) for k, v in params.items()}\n"),
}
