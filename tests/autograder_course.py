"""Shared by the autograder tests: one built course per test process, copied per test."""
import atexit
import functools
import json
import os
import shutil
import tempfile

import nbformat

from autograder import samples
from autograder.build import build
from autograder.course import Course

ASSIGNMENT = "01_finite_differences"


@functools.lru_cache(maxsize=None)
def course_template():
    """Path of a course built once (nbgrader generate_assignment takes ~10 s)."""
    root = tempfile.mkdtemp(prefix="autograder-template-")
    atexit.register(shutil.rmtree, root, True)
    build(os.path.join(root, "course"), [ASSIGNMENT], log=lambda *a: None)
    return os.path.join(root, "course")


def fresh_course(dest):
    """A private copy of the built course (its own gradebook) at dest."""
    shutil.copytree(course_template(), dest)
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
