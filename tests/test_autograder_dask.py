"""Grading on a real Dask cluster: a scheduler and worker processes started here on localhost.

The same scores as the local thread pool; a worker killed in the middle of a batch loses no
submission and records none twice; a worker without a sandbox takes no work and the batch says so.
"""
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from autograder.assignments import get_assignment
from autograder.course import gradebook, samples
from autograder.course.grading import grade_assignment
from autograder.course.layout import Course
from autograder.running import isolation

from autograder_course import course_template, course_with_samples  # noqa: F401

pytest.importorskip("distributed")
pytestmark = pytest.mark.skipif(not isolation.bwrap_works(), reason="needs bubblewrap")

A01 = "01_finite_differences"
N = 2 * len(samples.sample_students(A01))   # every sample handed in twice
BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`dask scheduler` and `dask worker` processes on 127.0.0.1, stopped by close()."""

    def __init__(self, tmp_path):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.tmp = tmp_path
        self.procs = []
        self.scheduler = self._start([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1",
                                      "--port", self.address.rsplit(":", 1)[1], "--no-dashboard"], "scheduler")
        self.workers = []

    def _start(self, argv, name, env=None):
        log = open(self.tmp / f"{name}.log", "wb")
        environment = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
                           OPENBLAS_NUM_THREADS="1", **(env or {}))
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environment,
                                start_new_session=True, cwd=self.tmp)
        self.procs.append(proc)
        return proc

    def add_worker(self, name, env=None):
        proc = self._start([os.path.join(BIN, "dask"), "worker", self.address, "--nthreads", "1",
                            "--no-nanny", "--no-dashboard", "--name", name], name, env)
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n, timeout=120):
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=timeout)
            return {info["name"]: address for address, info in client.scheduler_info()["workers"].items()}

    def executed(self):
        """{worker name: tasks it executed} (client.run calls are not tasks)."""
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            counts = client.run(lambda dask_worker: (dask_worker.name, dask_worker.state.executed_count))
        return dict(counts.values())

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    yield c
    c.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory, course_template):
    """A built course with every sample of 01 handed in twice (N submissions)."""
    return course_with_samples(course_template, tmp_path_factory.mktemp("dask") / "template", A01, copies=2)


def _copy(template, dest):
    shutil.copytree(template, dest)
    return str(dest)


def _scores(course_root):
    """{student: {grade_id: score}} as recorded in the gradebook."""
    gb = gradebook.open_gradebook(Course(course_root))
    try:
        scores = {}
        for submission in gb.assignment_submissions(A01):
            scores[submission.student_id] = {grade.name: grade.score for grade in submission.notebooks[0].grades}
        return scores
    finally:
        gb.close()


def test_a_batch_on_the_cluster_gets_the_local_scores(template, cluster, tmp_path):
    cluster.add_worker("w0")
    cluster.add_worker("w1")
    cluster.wait_for_workers(2)
    local = _copy(template, tmp_path / "local")
    remote = _copy(template, tmp_path / "remote")
    grade_assignment(local, A01, workers=2, force=True, progress=False, out=io.StringIO())
    out = io.StringIO()
    report = grade_assignment(remote, A01, force=True, progress=False, out=out, scheduler=cluster.address)
    assert not report.not_graded, out.getvalue()
    assert "Dask at" in out.getvalue() and "2 worker(s) with a sandbox" in out.getvalue()
    assert _scores(remote) == _scores(local)
    assert len(_scores(remote)) == N
    executed = cluster.executed()
    # each submission runs once, plus once more for each grader failure the batch announced it
    # retries (a sandbox that did not start on a loaded machine): never silently twice
    retried = out.getvalue().count("grader failure, retrying")
    assert retried <= 1, out.getvalue()
    assert executed["w0"] > 0 and executed["w1"] > 0 and sum(executed.values()) == N + retried, (
        executed, out.getvalue())


class _KillOnProgress(io.StringIO):
    """Progress output that kills a worker once the bar shows the first finished submission."""

    def __init__(self, victim):
        super().__init__()
        self.victim, self.killed_at = victim, None

    def write(self, text):
        done = re.search(rf"\b(\d+)/{N}\b", text)
        if self.killed_at is None and done and 0 < int(done.group(1)) < N:
            os.killpg(self.victim.pid, signal.SIGKILL)
            self.killed_at = text
        return super().write(text)


def test_a_worker_killed_mid_batch_loses_nothing_and_records_nothing_twice(template, cluster, tmp_path):
    victim = cluster.add_worker("victim")
    cluster.add_worker("survivor")
    cluster.wait_for_workers(2)
    course = _copy(template, tmp_path / "course")
    out = _KillOnProgress(victim)
    report = grade_assignment(course, A01, force=True, progress=True, out=out, scheduler=cluster.address)
    assert out.killed_at is not None, "the batch ended before a worker could be killed"
    assert victim.wait(timeout=10) is not None
    students = [r.student for r in report.graded]
    assert sorted(students) == sorted(set(students)) and len(students) == N, out.getvalue()
    assert not report.not_graded, out.getvalue()
    scores = _scores(course)
    assert len(scores) == N
    # the same scores as before the kill would have given: the reference full, the untouched 0
    for round_ in range(2):
        assert sum(scores[f"ada_reference_{round_}"].values()) == sum(t.points for t in get_assignment(A01).tasks)
        assert sum(scores[f"ben_untouched_{round_}"].values()) == 0


def test_a_worker_without_a_sandbox_takes_no_work_and_the_batch_says_so(template, cluster, tmp_path):
    cluster.add_worker("sandboxed")
    cluster.add_worker("bare", env={"AUTOGRADER_NO_BWRAP": "1"})
    names = cluster.wait_for_workers(2)
    course = _copy(template, tmp_path / "course")
    out = io.StringIO()
    report = grade_assignment(course, A01, force=True, progress=False, out=out, scheduler=cluster.address)
    text = out.getvalue()
    assert f"Dask worker {names['bare']} has no working sandbox and takes no work" in text, text
    assert "AUTOGRADER_NO_BWRAP" in text
    assert len(report.graded) == N and not report.not_graded, text
    executed = cluster.executed()
    assert executed["bare"] == 0 and executed["sandboxed"] == N, executed


def test_a_cluster_without_any_sandbox_refuses_the_batch(template, cluster, tmp_path):
    cluster.add_worker("bare", env={"AUTOGRADER_NO_BWRAP": "1"})
    cluster.wait_for_workers(1)
    course = _copy(template, tmp_path / "course")
    with pytest.raises(isolation.SandboxUnavailable, match="no Dask worker .* can grade"):
        grade_assignment(course, A01, force=True, progress=False, out=io.StringIO(), scheduler=cluster.address)
    assert _scores(course) == {}


def test_an_unreachable_scheduler_is_a_one_line_error(template, tmp_path):
    course = _copy(template, tmp_path / "course")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", A01, "--course", course,
                           "--scheduler", f"tcp://127.0.0.1:{_free_port()}"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
                                   DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s"))  # Dask's own setting
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:"), done.stderr
