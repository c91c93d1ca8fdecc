"""Warm sandboxes (``running/warm.py``): one forked interpreter per job, and still nothing a job
does reaches the next one. Each test runs jobs through the real runner, one after another, on the
same warm sandbox (checked), and compares with a cold start where the result must not differ."""
import textwrap

import numpy as np
import pytest

from autograder.running import isolation, runner, warm
from autograder.running.runner import SandboxTask, run_in_sandbox
from autograder.judging.spec import Case, scalar

A01 = "01_finite_differences"
CASES = [Case({"x": scalar(0.5), "h": scalar(1e-3)}, {"f": "sin3"})]
FORBIDDEN = ("torch", "minigrad")

pytestmark = pytest.mark.skipif(not runner.use_warm_sandboxes(isolation.isolation_mode(allow_unsandboxed=True)),
                                reason="warm sandboxes need bubblewrap and a root grader")


def run(source, functions=("probe",), timeout=5.0):
    cells = [{"grade_id": "answer", "source": textwrap.dedent(source)}]
    tasks = [SandboxTask("difference_quotient", (name,), CASES, timeout) for name in functions]
    return run_in_sandbox(A01, cells, tasks, FORBIDDEN)


def value(task_run):
    assert task_run.failure is None, task_run.failure
    assert task_run.cases[0]["error"] is None, task_run.cases[0]["error"]
    return float(task_run.outputs[0]["value"])


def idle_sandboxes():
    """The warm sandboxes of this configuration waiting for a job (identity, process id)."""
    return {(id(s), s.proc.pid) for key, pool in warm._idle.items() if key[0] == A01 and key[1] == FORBIDDEN
            for s in pool}


def test_a_warm_run_returns_what_a_cold_start_returns(monkeypatch):
    source = """
        import numpy as np
        def quotient(f, x, h):
            return (f(x + h) - f(x - h)) / (2 * h)
    """
    warm_value = value(run(source, ["quotient"]).tasks[0])
    monkeypatch.setenv("AUTOGRADER_COLD", "1")
    cold_value = value(run(source, ["quotient"]).tasks[0])
    assert warm_value == cold_value == pytest.approx(3 * np.cos(1.5), rel=1e-5)


def test_files_a_job_leaves_are_gone_for_the_next_job():
    leave = """
        import os
        for folder in ("/scratch", "/tmp"):
            with open(os.path.join(folder, "left_behind.txt"), "w") as fh:
                fh.write("from the last student")
            os.makedirs(os.path.join(folder, "a_folder"), exist_ok=True)
        def probe(f, x, h):
            return 1.0
    """
    look = """
        import os
        def probe(f, x, h):
            return float(len(os.listdir("/scratch")) + len(os.listdir("/tmp")))
    """
    assert value(run(leave).tasks[0]) == 1.0
    before = idle_sandboxes()
    assert before, "the first job should have left its warm sandbox idle for the next"
    assert value(run(look).tasks[0]) == 0.0
    assert idle_sandboxes() == before   # the same sandbox served the second job


def test_a_process_a_job_leaves_running_is_gone_before_the_next_job():
    leave = """
        import os, time
        if os.fork() == 0:      # a daemon that would outlive the job
            os.setsid()
            time.sleep(60)
            os._exit(0)
        def probe(f, x, h):
            return float(os.getuid())
    """
    others = """
        import os
        def probe(f, x, h):
            # processes of any uid but this job's and root's (the sandbox's own)
            found = 0
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        uid = os.stat(f"/proc/{entry}").st_uid
                    except OSError:
                        continue
                    found += uid not in (0, os.getuid())
            return float(found)
    """
    first_uid = value(run(leave).tasks[0])
    assert first_uid >= 200_000   # a throwaway uid, not root
    assert value(run(others).tasks[0]) == 0.0


def test_a_job_cannot_kill_the_warm_sandbox_or_reach_another_uid():
    hostile = """
        import os, signal
        def probe(f, x, h):
            refused = 0
            for pid in (1, 2, os.getppid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except PermissionError:
                    refused += 1
            return float(refused)
    """
    assert value(run(hostile).tasks[0]) == 3.0
    before = idle_sandboxes()
    assert before
    again = run("""
        def probe(f, x, h):
            return 7.0
    """)
    assert value(again.tasks[0]) == 7.0
    assert idle_sandboxes() == before


def test_a_job_that_kills_itself_costs_its_task_and_the_sandbox_serves_on():
    result = run("""
        import os, signal
        def dies(f, x, h):
            os.kill(os.getpid(), signal.SIGKILL)
        def probe(f, x, h):
            return 2.0
    """, ["dies", "probe"])
    assert "SIGKILL" in result.tasks[0].failure
    assert value(result.tasks[1]) == 2.0


def test_a_job_process_is_found_without_the_proc_children_files(monkeypatch):
    """Some kernels lack /proc/PID/task/TID/children: the job's process is found through the
    parents of every process instead."""
    monkeypatch.setattr(warm, "_host_pid_by_children", lambda root_pid, ns_pid: None)
    result = run("""
        import os
        def probe(f, x, h):
            return float(os.getuid())
    """)
    assert value(result.tasks[0]) >= 200_000
