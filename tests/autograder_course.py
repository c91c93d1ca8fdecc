"""Shared by the autograder tests: a built course (and a graded batch) made once per test run.

pytest-xdist may spread one module's tests over several workers, so expensive set-ups are made
once per run in a folder shared by all workers, under a file lock, and then only read (or
copied) by each test.
"""
import contextlib
import fcntl
import json
import os
import resource
import shutil

import jupytext
import nbformat
import pytest

from autograder.course import samples
from autograder.course.build import build
from autograder.course.layout import NOTEBOOKS, Course
from autograder.course.grading import grade_assignment
from autograder.judging.results import SubmissionResult
from autograder.assignments import available_assignments

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
    """Path of the course built with every assignment (nbgrader generate_assignment takes ~10 s
    each), made once per run: copy it, do not modify it."""
    root = made_once(tmp_path_factory, "autograder-template",
                     lambda root: build(str(root / "course"), available_assignments(), log=lambda *a: None))
    return str(root / "course")


def graded_once(tmp_path_factory, template, assignment, hand_in, workers=2):
    """(course, {student: error}, {student: SubmissionResult}) of one graded batch per test run.

    hand_in(course, source_nb, release_nb) submits the batch's notebooks into a private copy of
    the template; the batch is graded once, whatever the number of xdist workers."""
    return graded_batch_once(tmp_path_factory, template, assignment, hand_in, f"graded-{assignment}", workers)


def graded_batch_once(tmp_path_factory, template, assignment, hand_in, name, workers=2):
    """graded_once for a batch of its own: `name` tells batches of one assignment apart."""
    def make(root):
        course = fresh_course(template, str(root / "course"))
        source = nbformat.read(course.source_notebook(assignment), as_version=4)
        release = nbformat.read(course.release_notebook(assignment), as_version=4)
        hand_in(course, source, release)
        report = grade_assignment(course.root, assignment, workers=workers, progress=False)
        (root / "errors.json").write_text(json.dumps(report.errors))
        record_grader_memory(root)

    root = made_once(tmp_path_factory, name, make)
    course = Course(str(root / "course"))
    errors = dict(json.loads((root / "errors.json").read_text()))
    results = {s: SubmissionResult.load(course.autograded_dir(s, assignment))
               for s in course.students_with_submissions(assignment) if s not in errors}
    return course, errors, results


def record_grader_memory(root):
    """Write the grading process's peak resident memory so far (this test worker grades in its
    own process: an upper bound of what the batch took) to root/grader_memory.json."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # kB on Linux
    (root / "grader_memory.json").write_text(json.dumps({"peak_bytes": peak}))


def hand_in_samples(assignment):
    """A hand_in for graded_once: the bundled sample students of the assignment."""
    def hand_in(course, source, release):
        for student in samples.sample_students(assignment):
            samples.submit(course, assignment, student,
                           samples.sample_notebook(assignment, student, source, release))
    return hand_in


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


def visible_check(grade_id, *functions):
    """A test cell's visible check as the student's kernel runs it (``coursecheck``), for tests.

    Prints the explanation when it passes; raises AssertionError with the explanation and the
    mistake codes (which students are not shown) when it fails."""
    from coursecheck.check import evaluate, load_entry

    report = evaluate(load_entry(grade_id), functions)
    if report.passed:
        print(report.explanation())
        return report
    codes = sorted({m.code for failure in report.failures for m in failure.verdict.mistakes})
    raise AssertionError(report.explanation() + "\nmistake codes: " + ", ".join(codes))


def reference_namespace(assignment_id, replace=None, changes=None):
    """The source notebook's read-only cells and solutions, executed top to bottom in one fresh
    namespace: {name: object}. replace: {grade_id: source} instead of a solution; changes:
    {grade_id: definitions} put into the solution as a sample's changes are (``samples.py``)."""
    nb = jupytext.read(os.path.join(NOTEBOOKS, f"{assignment_id}.py"))
    answers = {**samples.reference_answers(nb), **(replace or {})}
    for grade_id, definitions in (changes or {}).items():
        answers[grade_id] = samples.merge_definitions(answers[grade_id], definitions)
    namespace = {"__name__": "reference"}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        # code cells only: a written answer (a markdown solution cell) is graded by hand
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("locked")):
            source = answers[meta["grade_id"]] if meta.get("solution") else cell.source
            exec(compile(source, meta["grade_id"], "exec"), namespace)
    return namespace


def graded_results(tmp_path_factory, template, assignment, hand_in):
    """{student: SubmissionResult} of the assignment's one graded batch, which must grade every
    submission (an ungradable one fails the caller's test)."""
    _, errors, results = graded_once(tmp_path_factory, template, assignment, hand_in)
    assert errors == {}, errors
    return results


def task_scores(result):
    """The result's task scores in the spec's task order."""
    return [task.score for task in result.tasks]


def mistake_codes(result):
    return {code for task in result.tasks for code in task.mistake_codes}


def assert_expected_sample(result, expected_scores, expected_mistakes):
    """A sample's scores per task equal the expected ones (None: not pinned) and its named
    mistakes include the expected ones (None: not pinned)."""
    if expected_scores is not None:
        assert task_scores(result) == expected_scores, [(t.grade_id, t.score, t.error) for t in result.tasks]
    if expected_mistakes is not None:
        assert expected_mistakes <= mistake_codes(result), mistake_codes(result)


def course_with_samples(template, dest, assignment, copies=1):
    """A private copy of the built course at dest with the assignment's sample students handed
    in `copies` times (as <student>_<k> when more than once); -> its root folder."""
    course = fresh_course(template, str(dest))
    source = nbformat.read(course.source_notebook(assignment), as_version=4)
    release = nbformat.read(course.release_notebook(assignment), as_version=4)
    for copy in range(copies):
        for student in samples.sample_students(assignment):
            name = student if copies == 1 else f"{student}_{copy}"
            samples.submit(course, assignment, name, samples.sample_notebook(assignment, student, source, release))
    return course.root


def with_exchange(course, folder, settings=""):
    """Point the course's nbgrader at a local exchange under `folder` (plus any further
    nbgrader_config lines the instructor would add); -> the exchange's path."""
    exchange = folder / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)
    with open(course.path("nbgrader_config.py"), "a") as fh:   # the instructor's own settings
        fh.write(f"c.Exchange.root = {str(exchange)!r}\n{settings}")
    return exchange
