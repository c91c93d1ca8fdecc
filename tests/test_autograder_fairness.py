"""A grade does not depend on the machine's load or on a neighbour (issue 16, finding H).

Steps are judged on the CPU time their processes used (counted by the trusted side: the
submission's cgroup, or /proc), each submission is capped to one core, a wall limit only
catches a process that waits, and a step that ran out of time runs once more before it is
charged. Time limits come from the reference's own CPU time (``course/limits.py``).
"""
import contextlib
import io
import os
import shutil
import subprocess
import sys
import textwrap
import time

import nbformat
import pytest

from autograder.course import limits
from autograder.course.grading import grade_assignment
from autograder.course.layout import Course
from autograder.judging.spec import Case, scalar
from autograder.running import isolation
from autograder.running.runner import SandboxTask, run_in_sandbox, wall_limit
from autograder.assignments import get_assignment

from autograder_course import course_template, course_with_samples  # noqa: F401

A01 = "01_finite_differences"
CASES = [Case({"x": scalar(0.5), "h": scalar(1e-3)}, {"f": "sin3"})]
pytestmark = pytest.mark.skipif(not isolation.bwrap_works(), reason="needs bubblewrap")


@contextlib.contextmanager
def busy_processes(n=4):
    """n processes spinning on the cores (each with its own BLAS-free Python loop)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5)
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def run(source, functions, timeout):
    cells = [{"grade_id": "answer", "source": textwrap.dedent(source)}]
    tasks = [SandboxTask("difference_quotient", (name,), CASES, timeout) for name in functions]
    return run_in_sandbox(A01, cells, tasks, ("torch", "minigrad"), ())


WORK = """
    import time
    def work(f, x, h):
        # about 0.5 s of CPU: under its 1.5 s limit alone, past it in wall time on a busy machine
        started = time.process_time()
        while time.process_time() - started < 0.5:
            pass
        return (f(x + h) - f(x)) / h
"""


def test_a_step_within_its_cpu_time_passes_while_busy_processes_take_the_cores():
    with busy_processes(6):
        started = time.monotonic()
        result = run(WORK, ["work"], timeout=1.5)
        elapsed = time.monotonic() - started
    assert result.tasks[0].failure is None, result.tasks[0].failure
    assert 0.4 < result.tasks[0].cpu_seconds < 1.5
    print(f"\n0.5 s of CPU took {elapsed:.1f} s of wall time beside 6 spinning processes")


def test_a_spinning_step_is_stopped_on_cpu_time_and_charged_at_once():
    started = time.monotonic()
    result = run("""
        def spins(f, x, h):
            print("spinning starts", flush=True)
            while True:
                pass
        def fine(f, x, h):
            return 4.0
    """, ["spins", "fine"], timeout=1.0)
    elapsed = time.monotonic() - started
    failure = result.tasks[0].failure or ""
    assert "time limit" in failure and "CPU time" in failure, failure
    # CPU time is not stretched by load, so there is no second try to wait for
    assert result.log.count("spinning starts") == 1, result.log
    assert float(result.tasks[1].outputs[0]["value"]) == 4.0
    # stopped on CPU time (about 1 s), well before the wall backstop
    assert elapsed < wall_limit(1.0) + 3, elapsed


def test_a_waiting_step_is_stopped_by_the_wall_backstop():
    result = run("""
        import time
        def waits(f, x, h):
            time.sleep(60)
    """, ["waits"], timeout=1.0)
    failure = result.tasks[0].failure or ""
    assert "time limit" in failure and "without finishing" in failure and "twice" in failure, failure


def test_a_neighbour_forking_spinning_children_costs_it_only_its_own_core():
    """The neighbour's processes share one core (its cgroup's quota), so its CPU time per wall
    second stays near one core, whatever it forks."""
    started = time.monotonic()
    result = run("""
        import os, time
        def forks(f, x, h):
            for _ in range(5):
                if os.fork() == 0:
                    while True:
                        pass
            time.sleep(2.5)
            return 1.0
    """, ["forks"], timeout=30.0)
    elapsed = time.monotonic() - started
    assert result.tasks[0].failure is None, result.tasks[0].failure
    if _cpu_quota_works():
        assert result.tasks[0].cpu_seconds < 1.3 * elapsed, (result.tasks[0].cpu_seconds, elapsed)


def _cpu_quota_works():
    cgroup = isolation.Cgroup(f"autograder-quota-probe-{os.getpid()}", isolation.Limits())
    try:
        return any(os.path.exists(os.path.join(d, "cpu.cfs_quota_us")) or os.path.exists(os.path.join(d, "cpu.max"))
                   for d in cgroup.dirs)
    finally:
        cgroup.close()


def test_limits_follow_the_reference_between_a_floor_and_the_spec_ceiling():
    assignment = get_assignment(A01)
    tasks = assignment.tasks
    floor, between, beyond = tasks[3:6]                 # ceilings of 10, 10 and 15 s
    assert limits.FLOOR_SECONDS < between.timeout and limits.FLOOR_SECONDS < beyond.timeout
    measured = {floor.grade_id: 0.001, between.grade_id: 0.4, beyond.grade_id: 100.0}
    got = limits.limits_from(assignment, measured)
    assert got[floor.grade_id] == limits.FLOOR_SECONDS
    assert got[between.grade_id] == pytest.approx(min(between.timeout, limits.FACTOR * 0.4))
    assert got[beyond.grade_id] == beyond.timeout
    assert all(got[t.grade_id] == t.timeout for t in tasks[:3])   # not measured: the ceiling


def test_the_reference_is_measured_in_the_sandbox_and_every_task_gets_a_limit(course_template):
    course = Course(course_template)
    source = nbformat.read(course.source_notebook(A01), as_version=4)
    release = nbformat.read(course.release_notebook(A01), as_version=4)
    assignment = get_assignment(A01)
    measured = limits.reference_cpu_seconds(assignment, source, release, isolation.isolation_mode())
    assert set(measured) == {t.grade_id for t in assignment.tasks}
    assert all(0 <= seconds < t.timeout / limits.FACTOR for t in assignment.tasks
               for seconds in [measured[t.grade_id]]), measured


@pytest.fixture(scope="module")
def a01_course(tmp_path_factory, course_template):
    return course_with_samples(course_template, tmp_path_factory.mktemp("fair") / "template", A01)


def _graded(template, dest, **kwargs):
    shutil.copytree(template, dest)
    report = grade_assignment(str(dest), A01, workers=2, force=True, progress=False, out=io.StringIO(), **kwargs)
    assert not report.not_graded
    return {r.student: [(t.grade_id, t.score, tuple(sorted(t.mistake_codes))) for t in r.tasks] for r in report.graded}


def test_the_samples_scores_are_identical_while_four_busy_processes_compete(a01_course, tmp_path):
    quiet = _graded(a01_course, tmp_path / "quiet")
    with busy_processes(4):
        busy = _graded(a01_course, tmp_path / "busy")
    assert busy == quiet
