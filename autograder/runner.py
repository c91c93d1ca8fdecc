"""Running a submission's code in the untrusted process, step by step, surviving its deaths.

The harness (``sandbox/harness.py``) executes the answer cells, then the tasks, reporting each
step on a pipe. This module times every step against its own limit. When the process dies or
hangs, the step it was in is charged with the reason (timeout, memory, crash, exit), and a fresh
process continues with the steps after it, so one bad task never costs the others.
"""
import json
import os
import random
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from . import isolation
from .untrusted import UntrustedDataError, load_json, load_npz

STARTUP_SECONDS = 20.0     # interpreter start, NumPy import, loading inputs
BETWEEN_STEPS_SECONDS = 5.0
LOG_BYTES = 16 << 10


@dataclass
class SandboxTask:
    """One task as the untrusted process sees it: no references, no tolerances, no points."""
    call: str
    functions: tuple
    cases: list          # of spec.Case
    timeout: float


@dataclass
class TaskRun:
    """What came back for one task: per-case status and arrays, or why nothing came back."""
    cases: list = None    # [{"error": dict | None, "dtypes": {key: str}}] per case
    outputs: list = None  # [{key: float64 ndarray}] per case
    failure: str = None


@dataclass
class SandboxRun:
    tasks: list
    cell_errors: dict = field(default_factory=dict)    # grade_id -> exception info
    cell_failures: dict = field(default_factory=dict)  # grade_id -> why the cell killed the process
    log: str = ""
    mode: str = ""


def _signal_reason(signum, limits):
    if signum == signal.SIGKILL:
        return (f"the process was killed (SIGKILL), most likely for using more than "
                f"{limits.memory_bytes >> 20} MB of memory")
    if signum == signal.SIGXCPU:
        return "the process used up its CPU time limit"
    if signum == signal.SIGXFSZ:
        return f"your code wrote a file larger than {limits.file_bytes >> 20} MB"
    if signum == signal.SIGSEGV:
        return "the Python process crashed (segmentation fault)"
    try:
        return f"the process was killed by signal {signal.Signals(signum).name}"
    except ValueError:
        return f"the process was killed by signal {signum}"


def _exit_reason(returncode, mode, limits):
    if returncode is None:
        return "the process did not finish"
    if returncode < 0:
        return _signal_reason(-returncode, limits)
    if mode == "bubblewrap" and returncode > 128:
        return _signal_reason(returncode - 128, limits)
    return f"your code ended the Python process (exit code {returncode}), e.g. by calling os._exit()"


def _write_job(in_dir, cells, tasks):
    plan = {"cells": cells, "tasks": [
        {"call": t.call, "functions": list(t.functions), "cases": [c.params for c in t.cases]}
        for t in tasks]}
    with open(os.path.join(in_dir, "plan.json"), "w") as fh:
        json.dump(plan, fh)
    for k, task in enumerate(tasks):
        arrays = {f"c{i}_{name}": np.asarray(value) for i, case in enumerate(task.cases)
                  for name, value in case.arrays.items()}
        np.savez(os.path.join(in_dir, f"task{k}.npz"), **arrays)


class _Attempt:
    """One launch of the harness; follows its progress and enforces per-step wall time."""

    def __init__(self, argv, env, cwd, progress_w, cell_timeout, task_timeouts, n_cells):
        self.cell_timeout, self.task_timeouts = cell_timeout, task_timeouts
        self.overall_budget = (n_cells * cell_timeout + sum(task_timeouts)
                               + (n_cells + len(task_timeouts) + 2) * BETWEEN_STEPS_SECONDS)
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     pass_fds=(progress_w,), start_new_session=True)
        self.started = None       # ("cell", i) or ("task", k): last step started
        self.ended = None         # last step ended
        self.seen = set()         # steps announced so far: each may start once, in order
        self.ready = self.done = self.timed_out = False
        self.log = bytearray()

    def follow(self, progress_r):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout.fileno(), selectors.EVENT_READ, "log")
        sel.register(progress_r, selectors.EVENT_READ, "progress")
        open_streams, pending, exited_at = 2, b"", None
        deadline = time.monotonic() + STARTUP_SECONDS
        # student code can write to the progress pipe too; whatever it writes, the attempt as a
        # whole never outlives the sum of all its steps' limits
        overall = deadline + self.overall_budget
        while True:
            now = time.monotonic()
            deadline = min(deadline, overall)
            if self.proc.poll() is not None:
                exited_at = exited_at or now
                # an escaped child may hold the pipes open: do not wait for it
                if open_streams == 0 or now - exited_at > 0.3:
                    break
            elif now >= deadline:
                self.timed_out = True
                break
            for key, _ in sel.select(timeout=max(0.0, min(deadline - now, 0.1))):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fd)
                    open_streams -= 1
                elif key.data == "log":
                    self.log += data[: max(0, LOG_BYTES - len(self.log))]
                else:
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    pending = pending[-256:]  # real progress lines are short; junk is dropped
                    for line in lines:
                        deadline = self._on_progress(line.decode(errors="replace"), deadline)
        sel.close()
        self.proc.stdout.close()

    def _on_progress(self, line, deadline):
        now = time.monotonic()
        parts = line.split()
        if parts == ["ready"]:
            self.ready = True
            return now + BETWEEN_STEPS_SECONDS
        if parts == ["done"]:
            self.done = True
            return now + BETWEEN_STEPS_SECONDS
        if len(parts) == 3 and parts[1] in ("cell", "task") and parts[2].isdigit():
            step = (parts[1], int(parts[2]))
            order = (step[0] == "task", step[1])
            if parts[0] == "start":
                if step in self.seen or (self.started and order < (self.started[0] == "task", self.started[1])):
                    return deadline  # a step cannot restart: this line is not the harness's
                self.seen.add(step)
                self.started = step
                if step[0] == "cell":
                    return now + self.cell_timeout
                if step[1] < len(self.task_timeouts):
                    return now + self.task_timeouts[step[1]]
            elif parts[0] == "end":
                self.ended = step
                return now + BETWEEN_STEPS_SECONDS
        return deadline  # a line the student wrote to the pipe: ignored

    def kill(self):
        for target in (lambda: os.killpg(self.proc.pid, signal.SIGKILL), self.proc.kill):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _reap_uid(uid):
    """Kill every process left running under the throwaway uid (children that escaped)."""
    if uid is None:
        return
    kill = shutil.which("kill", path="/usr/bin:/bin")
    if kill is None:
        return
    subprocess.run([kill, "-s", "KILL", "--", "-1"], user=uid, group=uid, extra_groups=[], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def run_in_sandbox(cells, tasks, forbidden=(), allowed=(), limits=None, cell_timeout=10.0):
    """Execute `cells` ([{"grade_id", "source"}]) then call every task; -> SandboxRun.

    Each step runs under its own wall-time limit; a step that kills or hangs the process is
    charged with the reason and the run resumes after it in a fresh process."""
    limits = limits or isolation.Limits()
    mode = isolation.isolation_mode()
    run = SandboxRun(tasks=[TaskRun() for _ in tasks], mode=mode)
    job = tempfile.mkdtemp(prefix="autograder-job-")
    try:
        in_dir, out_dir, scratch = (os.path.join(job, d) for d in ("in", "out", "scratch"))
        for d in (in_dir, out_dir, scratch):
            os.mkdir(d)
        os.chmod(job, 0o755)
        _write_job(in_dir, cells, tasks)
        uid = random.randrange(200_000, 260_000) if isolation.throwaway_uid_usable() else None
        if uid is not None:
            os.chown(out_dir, uid, uid)
            os.chown(scratch, uid, uid)
        skip_cells, first_task = set(), 0
        log = bytearray()
        for _ in range(len(cells) + len(tasks) + 2):
            r, w = os.pipe()
            options = {"progress_fd": w, "uid": uid, "skip_cells": sorted(skip_cells),
                       "first_task": first_task, "forbidden": list(forbidden),
                       "limits": limits.as_options()}
            if mode == "bubblewrap":
                argv = isolation.bwrap_command(in_dir, out_dir, forbidden, allowed, limits)
                argv += [sys.executable, "-I", "-B", "/grader/sandbox/harness.py", "/job/in", "/job/out"]
                options.update(scratch="/scratch", writable=["/scratch", "/tmp"])
                env = isolation.sandbox_env("/scratch")
            else:
                argv = [sys.executable, "-I", "-B", os.path.join(isolation.HARNESS_DIR, "harness.py"),
                        in_dir, out_dir]
                options.update(scratch=scratch, writable=[])
                env = isolation.sandbox_env(scratch)
            argv.append(json.dumps(options))
            try:
                attempt = _Attempt(argv, env, job, w, cell_timeout, [t.timeout for t in tasks], len(cells))
            finally:
                os.close(w)
            try:
                attempt.follow(r)
            finally:
                os.close(r)
            if attempt.timed_out or attempt.proc.poll() is None:
                attempt.kill()
            if mode != "bubblewrap" or not attempt.done:
                _reap_uid(uid)
            log += attempt.log
            if attempt.done:
                break
            if not attempt.ready:
                reason = "the grader could not start Python: " + attempt.log.decode(errors="replace")[-500:]
                for k in range(first_task, len(tasks)):
                    run.tasks[k].failure = reason
                break
            if attempt.timed_out:
                budget = (cell_timeout if attempt.started and attempt.started[0] == "cell"
                          else tasks[attempt.started[1]].timeout if attempt.started else BETWEEN_STEPS_SECONDS)
                reason = f"it ran longer than its {budget:g} s time limit (an endless loop?) and was stopped"
            else:
                reason = _exit_reason(attempt.proc.returncode, mode, limits)
            step = attempt.started
            if step is None or step == attempt.ended:
                # died between steps: charge the next step, so every attempt makes progress
                if step is None or step[0] == "cell":
                    later = [i for i in range(len(cells)) if i not in skip_cells and (step is None or i > step[1])]
                    step = ("cell", later[0]) if later else ("task", first_task)
                else:
                    step = ("task", step[1] + 1)
            if step[0] == "cell":
                skip_cells.add(step[1])
                run.cell_failures[cells[step[1]]["grade_id"]] = reason
            else:
                if step[1] < len(tasks):
                    run.tasks[step[1]].failure = reason
                first_task = step[1] + 1
                if first_task >= len(tasks):
                    break
        run.log = log.decode(errors="replace")[-LOG_BYTES:]
        _collect(out_dir, cells, run)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return run


def _collect(out_dir, cells, run):
    for i, cell in enumerate(cells):
        path = os.path.join(out_dir, f"cell{i}.json")
        if os.path.exists(path):
            try:
                error = load_json(path).get("error")
            except UntrustedDataError:
                continue
            if isinstance(error, dict):
                run.cell_errors[cell["grade_id"]] = error
    for k, task_run in enumerate(run.tasks):
        if task_run.failure:
            continue
        json_path, npz_path = (os.path.join(out_dir, f"task{k}.{ext}") for ext in ("json", "npz"))
        if not (os.path.exists(json_path) and os.path.exists(npz_path)):
            task_run.failure = ("no readable result came back "
                                "(the process ended before this task finished)")
            continue
        try:
            status = load_json(json_path)
            arrays = load_npz(npz_path)
        except UntrustedDataError as exc:
            task_run.failure = f"no readable result came back ({exc})"
            continue
        cases = status.get("cases")
        if not isinstance(cases, list):
            task_run.failure = "no readable result came back"
            continue
        task_run.cases = [c if isinstance(c, dict) else {"error": {"type": "?", "message": "unreadable"}}
                          for c in cases]
        task_run.outputs = [{} for _ in cases]
        for key, value in arrays.items():
            prefix, _, name = key.partition("_")
            if prefix.startswith("c") and prefix[1:].isdigit() and int(prefix[1:]) < len(cases):
                task_run.outputs[int(prefix[1:])][name] = value
