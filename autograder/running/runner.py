"""Running a submission's code in the untrusted process, step by step, surviving its deaths.

The harness (``sandbox/harness.py``) executes the answer cells, then the tasks, and sends one
record per step on a pipe. This module reads the records within a fixed byte budget and times
every step against its own limit, from the trusted clock only. When the process dies or hangs,
the step it was in is charged with the reason (timeout, memory, crash, exit), and a fresh process
continues with the steps after it, so one bad task never costs the others. When the grader's own
side fails (the job cannot be written, the sandbox does not start) it raises ``GraderFailure``:
nothing is charged to the student.
"""
import fcntl
import json
import os
import random
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .. import assignments
from ..sandbox import packed
from . import isolation, warm
from .untrusted import MAX_ARRAY_BYTES, MAX_JSON_BYTES, UntrustedDataError, parse_json, parse_packed

STARTUP_SECONDS = 20.0     # interpreter start, NumPy import, loading inputs
STEP_SLACK_SECONDS = 1.0   # per step, for sending its record
# A step's limit is CPU time (load on the machine does not stretch it; the cgroup caps a
# submission to one core). Wall time is only the backstop for a process that waits instead of
# computing: a step may take WALL_FACTOR times its CPU limit (at least WALL_SLACK_SECONDS more),
# room for a process that gets a quarter of a core on a busy machine (load 8 on 2 cores).
WALL_FACTOR = 4.0
WALL_SLACK_SECONDS = 5.0
CPU_POLL_SECONDS = 0.1
MEMORY_POLL_SECONDS = 0.002   # during a measured step: how often its lowest memory is sampled
LOG_BYTES = 16 << 10
PIPE_BYTES = 1 << 20                          # the result pipe's buffer, and one read of it
MAX_PACKED_BYTES = MAX_ARRAY_BYTES + (8 << 20)   # one task's arrays as sent (header included)
MAX_RESULT_BYTES = 2 * MAX_PACKED_BYTES          # everything one process may send
MAX_TEXT = 400                                # characters of an exception message kept


@dataclass
class SandboxTask:
    """One task as the untrusted process sees it: no references, no tolerances, no points."""
    call: str
    functions: tuple
    cases: list          # of spec.Case
    timeout: float       # CPU seconds for all its cases (the wall backstop follows: wall_limit)
    keys: tuple = None   # output keys the judge reads (others are dropped unread); None: all
    measure_memory: bool = False  # the trusted side measures the step's memory (TaskRun.memory_bytes)


def wall_limit(cpu_seconds):
    """Wall seconds a step of `cpu_seconds` CPU time may take before it counts as hanging."""
    return max(WALL_FACTOR * cpu_seconds, cpu_seconds + WALL_SLACK_SECONDS)


@dataclass
class TaskRun:
    """What came back for one task: per-case status and arrays, or why nothing came back."""
    cases: list = None    # [{"error": dict | None, "dtypes": {key: str}}] per case
    outputs: list = None  # [{key: float64 ndarray}] per case
    failure: str = None
    cpu_seconds: float = None   # CPU time of the step that ran it (trusted measurement)
    memory_bytes: int = None    # with SandboxTask.measure_memory: how far the memory charged to
                                # the process rose above its lowest point during the step (trusted)


@dataclass
class SandboxRun:
    tasks: list
    cell_errors: dict = field(default_factory=dict)    # grade_id -> exception info
    cell_failures: dict = field(default_factory=dict)  # grade_id -> why the cell killed the process
    log: str = ""
    mode: str = ""
    cell_seen: set = field(default_factory=set)         # cells whose first outcome is known


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


PACKED_CACHE_BYTES = 256 << 20
_packed_cases = OrderedDict()   # id of a task's case list -> (the list, params JSON, packed arrays)
_packed_lock = threading.Lock()


def _packed_cases_of(cases):
    """(JSON of the cases' params, packed bytes of their arrays, keys c<case>_<name>): made once
    per case list (the submissions of a batch share one), so that a batch serialises its cases
    once, not per student."""
    with _packed_lock:
        cached = _packed_cases.get(id(cases))
        if cached is not None and cached[0] is cases:
            return cached[1:]
    params = json.dumps([case.params for case in cases])
    blob = packed.pack({f"c{i}_{name}": value for i, case in enumerate(cases)
                        for name, value in case.arrays.items()})
    with _packed_lock:
        _packed_cases[id(cases)] = (cases, params, blob)
        while sum(len(entry[2]) for entry in _packed_cases.values()) > PACKED_CACHE_BYTES:
            _packed_cases.popitem(last=False)
    return params, blob


def _json_with(obj, key, raw_json):
    """JSON text of the non-empty dict `obj` with one more entry whose value is JSON text already."""
    return f"{json.dumps(obj)[:-1]}, {json.dumps(key)}: {raw_json}}}"


def _job_data(assignment_id, cells, tasks):
    """(plan JSON bytes, [packed bytes of task k's input arrays, keys c<case>_<name>]). The
    cases' share of both is serialised once per batch (``_packed_cases_of``)."""
    serialised = [_packed_cases_of(task.cases) for task in tasks]
    plan_tasks = [_json_with({"call": t.call, "functions": list(t.functions),
                              "measure_memory": bool(getattr(t, "measure_memory", False))}, "cases", params)
                  for t, (params, _) in zip(tasks, serialised)]
    plan = _json_with({"assignment": assignments.folder_name(assignment_id), "cells": cells},
                      "tasks", f"[{', '.join(plan_tasks)}]")
    return plan.encode(), [blob for _, blob in serialised]


def _write_job(job, in_dir, plan_bytes, array_blobs, write_inputs=True):
    """Write the job folder: the seccomp program, and the inputs where a cold start reads them."""
    program = isolation.userns_filter()
    if program is not None:
        with open(os.path.join(job, "seccomp.bpf"), "wb") as fh:
            fh.write(program)
    if not write_inputs:
        return
    with open(os.path.join(in_dir, "plan.json"), "wb") as fh:
        fh.write(plan_bytes)
    for k, blob in enumerate(array_blobs):
        with open(os.path.join(in_dir, f"task{k}.bin"), "wb") as fh:
            fh.write(blob)


class GraderFailure(Exception):
    """The grader's own machinery failed (disk full, sandbox did not start...): not the student's
    doing, so the submission is reported as not graded and retried, never scored."""


_RECORD_NAME = re.compile(rb"(ready|done|cell\d{1,6}|task\d{1,6})")


class _Records:
    """Incremental parser of the harness's records, bounded whatever the process writes.

    Keeps at most ``budget`` payload bytes in all; a record that would exceed it (or a header
    claiming more than one result may hold) is read past and remembered as oversized."""

    def __init__(self, budget):
        self.budget = budget
        self.buffer = bytearray()
        self.current = None       # [name, json_len, array_len, bytearray or None (discarding), left]
        self.oversized = set()

    def feed(self, data, now):
        """-> [(name, json bytes, packed array bytes, arrival)] completed by `data`."""
        done = []
        self.buffer += data
        while self.buffer:
            if self.current is None:
                newline = self.buffer.find(b"\n", 0, 96)
                if newline < 0:
                    if len(self.buffer) >= 96:
                        del self.buffer[:]  # junk without a header: dropped
                    break
                parts = bytes(self.buffer[:newline]).split(b" ")
                del self.buffer[:newline + 1]
                if (len(parts) != 3 or not _RECORD_NAME.fullmatch(parts[0])
                        or not (parts[1].isdigit() and parts[2].isdigit())):
                    continue
                name, json_len, array_len = parts[0].decode(), int(parts[1]), int(parts[2])
                size = json_len + array_len
                keep = json_len <= MAX_JSON_BYTES and array_len <= MAX_PACKED_BYTES and size <= self.budget
                if keep:
                    self.budget -= size
                else:
                    self.oversized.add(name)
                self.current = [name, json_len, array_len, bytearray() if keep else None, size]
            name, json_len, _, payload, left = self.current
            take = min(left, len(self.buffer))
            if payload is not None:
                payload += self.buffer[:take]
            del self.buffer[:take]
            self.current[4] = left - take
            if self.current[4] == 0:
                if payload is not None:
                    done.append((name, bytes(payload[:json_len]), bytes(payload[json_len:]), now))
                else:  # read past: closes its step as "too large"
                    done.append((name, None, None, now))
                self.current = None
        return done


class _Attempt:
    """One launch of the harness; follows its records and enforces each step's limits.

    A step is stopped when its processes have used more CPU time than its limit, or when it has
    taken its wall backstop (``wall_limit``) without finishing. The schedule is the trusted side's
    alone: step j may run until the earlier of (a) the time its predecessor's record arrived plus
    its own wall limit and (b) the attempt's start plus the wall limits of all steps up to j.
    Nothing the process writes moves a deadline later or its CPU clock back.

    For the steps in `measured` the memory the kernel charges to the job's cgroup (`memory`) is
    followed from outside: its peak since the step began, less the lowest charge sampled while
    the step was under way (so memory held before the step and freed inside it cannot hide what
    the step keeps). A sample counts only if none of the step's record had arrived by the next
    read: the process frees everything as it exits, which may follow its last record at once."""

    def __init__(self, proc, steps, limits_s, budget, cpu_clock=None, memory=None, measured=(), measure_w=None):
        self.steps, self.limits_s = steps, limits_s       # [("cell", i) | ("task", k)], CPU seconds each
        self.proc = proc          # a Popen, or a warm sandbox's child (warm.WarmChild)
        self.records = _Records(budget)
        self.results = {}         # step -> (json bytes, packed array bytes)
        self.step_cpu = {}        # step -> CPU seconds it used (for the reference's calibration)
        self.closed = 0           # steps[:closed] have their records
        self.ready = self.done = self.timed_out = False
        self.timeout_kind = None  # "cpu" or "wall"
        self.memory_at_stop = None  # the most memory charged to the process, when stopped for CPU time
        self.log = bytearray()
        self._cgroup_clock = cpu_clock
        self._memory, self._measured, self._measure_w = memory, set(measured), measure_w
        self.step_memory = {}     # step -> bytes (measured steps), None where unmeasurable
        self._lowest = None       # lowest charge sampled in the measured step under way
        self._sample = None       # the latest sample, until the next read confirms it

    def _begin_step(self):
        """The first step without a record starts now: when it is measured, reset the peak, then
        let the harness begin it (it waits for a byte on the measure pipe), so that however late
        this side is, nothing of the step happens before the reset."""
        self._lowest = self._sample = None
        if self.closed < len(self.steps) and self.steps[self.closed] in self._measured:
            if self._memory.reset_memory_peak():
                self._lowest = self._memory.memory_now()
            try:
                os.write(self._measure_w, b"m")
            except (OSError, TypeError):
                pass  # the process is gone (or never waits): the step has no record to judge

    def _take_sample(self):
        if self._lowest is not None:
            self._sample = self._memory.memory_now()

    def _confirm_sample(self, record_began):
        """After a read: the sample stands unless the current step's record had begun to arrive."""
        if self._sample is not None and not record_began:
            self._lowest = min(self._lowest, self._sample)
        self._sample = None

    def _end_step(self, step):
        if step in self._measured:
            peak = self._memory.memory_peak() if self._lowest is not None else None
            self.step_memory[step] = None if peak is None else max(0, peak - self._lowest)

    def cpu_seconds(self):
        """CPU time used so far by the attempt's processes: the cgroup's count, else /proc's."""
        used = self._cgroup_clock() if self._cgroup_clock is not None else None
        return used if used is not None else isolation.process_tree_cpu_seconds(self.proc.pid)

    def _step_of(self, name):
        kind, index = ("cell", int(name[4:])) if name.startswith("cell") else ("task", int(name[4:]))
        return (kind, index)

    def follow(self, result_r):
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout.fileno(), selectors.EVENT_READ, "log")
        sel.register(result_r, selectors.EVENT_READ, "records")
        open_streams, exited_at = 2, None
        launched = time.monotonic()
        deadline = launched + STARTUP_SECONDS
        schedule = []             # cumulative latest end per step, fixed once "ready" arrives
        pending = {}              # records of steps not yet reached: step -> (json, arrays)
        cpu_start = next_cpu_check = None
        while True:
            now = time.monotonic()
            if self.proc.poll() is not None:
                exited_at = exited_at or now
                # an escaped child may hold the pipes open: do not wait for it
                if open_streams == 0 or now - exited_at > 0.3:
                    break
            elif now >= deadline:
                self.timed_out, self.timeout_kind = True, "wall"
                break
            elif cpu_start is not None and now >= next_cpu_check and self.closed < len(self.steps):
                next_cpu_check = now + CPU_POLL_SECONDS
                if self.cpu_seconds() - cpu_start > self.limits_s[self.closed] + STEP_SLACK_SECONDS / 4:
                    self.timed_out, self.timeout_kind = True, "cpu"
                    # filling memory costs CPU time too (zeroed pages, MemoryError caught and
                    # tried again): how high its memory went tells why
                    self.memory_at_stop = self._memory.memory_high_water() if self._memory is not None else None
                    break
            self._take_sample()
            record_began = False
            # with both streams closed only the exit is awaited: look again soon
            wait = CPU_POLL_SECONDS if open_streams and self._lowest is None else MEMORY_POLL_SECONDS
            for key, _ in sel.select(timeout=max(0.0, min(deadline - now, wait))):
                data = os.read(key.fd, PIPE_BYTES)
                if not data:
                    sel.unregister(key.fd)
                    open_streams -= 1
                    continue
                if key.data == "log":
                    self.log += data[: max(0, LOG_BYTES - len(self.log))]
                    continue
                arrived = time.monotonic()
                completed = self.records.feed(data, arrived)
                current = self.steps[self.closed] if self.closed < len(self.steps) else None
                record_began = record_began or any(
                    name == "done" or (name.startswith(("cell", "task")) and self._step_of(name) == current)
                    for name in [n for n, _, _, _ in completed] + (
                        [self.records.current[0]] if self.records.current else []))
                for name, body, arrays, _ in completed:
                    if name == "ready":
                        if not self.ready:
                            self.ready = True
                            total = arrived
                            for seconds in self.limits_s:
                                total += wall_limit(seconds) + STEP_SLACK_SECONDS
                                schedule.append(total)
                            deadline = self._deadline(schedule, arrived)
                            cpu_start, next_cpu_check = self.cpu_seconds(), arrived + CPU_POLL_SECONDS
                            self._begin_step()
                        continue
                    if name == "done":
                        self.done = self.closed == len(self.steps)
                        continue
                    if not self.ready:
                        continue
                    step = self._step_of(name)
                    if step in self.steps[self.closed:]:
                        pending[step] = (body, arrays)
                    while self.closed < len(self.steps) and self.steps[self.closed] in pending:
                        closed = self.steps[self.closed]
                        self.results[closed] = pending.pop(closed)
                        used = self.cpu_seconds()
                        self.step_cpu[closed] = max(0.0, used - cpu_start)
                        self._end_step(closed)
                        cpu_start = used
                        self.closed += 1
                        self._begin_step()
                        deadline = self._deadline(schedule, arrived)
            self._confirm_sample(record_began)
        sel.close()
        self.proc.stdout.close()

    def _deadline(self, schedule, started):
        """Wall deadline of the first step without a record, which starts now (at `started`)."""
        if self.closed >= len(self.steps):
            return started + STEP_SLACK_SECONDS  # all done: only the exit is left
        return min(schedule[self.closed], started + wall_limit(self.limits_s[self.closed]) + STEP_SLACK_SECONDS)

    @property
    def failed_step(self):
        """The step a death or a timeout is charged to: the first one without a record."""
        return self.steps[self.closed] if self.closed < len(self.steps) else None

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


def _job_folders(plan_bytes, array_blobs, write_inputs=True):
    """(job, in_dir, scratch) with the job's inputs written (a cold start reads them there; a
    warm child gets them in memory); GraderFailure if the disk says no."""
    try:
        job = tempfile.mkdtemp(prefix="autograder-job-")
    except OSError as exc:
        raise GraderFailure(f"cannot create a job folder in {tempfile.gettempdir()}: {exc.strerror}") from None
    try:
        in_dir, scratch = os.path.join(job, "in"), os.path.join(job, "scratch")
        os.mkdir(in_dir)
        os.mkdir(scratch)
        os.chmod(job, 0o755)
        _write_job(job, in_dir, plan_bytes, array_blobs, write_inputs)
    except OSError as exc:
        shutil.rmtree(job, ignore_errors=True)
        raise GraderFailure(f"cannot write the job's inputs: {exc.strerror or exc}") from None
    return job, in_dir, scratch


def preloaded_modules(forbidden, allowed):
    """What a warm sandbox imports beyond NumPy and the calls: the course packages the tasks may
    use, and PyTorch where it is not forbidden (its import alone takes seconds)."""
    return sorted(set(allowed) | ({"torch"} - set(forbidden)))


def _warm_key(assignment_id, forbidden, allowed, limits):
    files = assignments.sandbox_files(assignment_id)
    stamps = tuple((path, os.stat(path).st_mtime_ns) for path in files)
    return (assignment_id, tuple(forbidden), tuple(allowed), limits, stamps, isolation.bwrap_path())


def _start_warm(assignment_id, forbidden, allowed, limits, job):
    """A new warm sandbox (``warm.py``) for this configuration; GraderFailure if it fails."""
    seccomp = os.path.join(job, "seccomp.bpf")
    fds = [os.open(seccomp, os.O_RDONLY)] if os.path.exists(seccomp) else []
    try:
        argv = isolation.bwrap_command(None, forbidden, allowed, limits, isolation.bwrap_path(),
                                       fds[0] if fds else None, assignments.sandbox_files(assignment_id))
        options = {"assignment": assignments.folder_name(assignment_id),
                   "preload": preloaded_modules(forbidden, allowed), "writable": ["/scratch", "/tmp"]}
        return warm.WarmSandbox(argv, isolation.sandbox_env("/scratch"), job, options, fds)
    except warm.WarmStartError as exc:
        raise GraderFailure(str(exc)) from None
    finally:
        for fd in fds:
            os.close(fd)


def use_warm_sandboxes(mode):
    """Warm sandboxes (``warm.py``) where each job can get its own throwaway uid: bubblewrap
    under a root grader. AUTOGRADER_COLD=1 starts a fresh interpreter for every job instead."""
    return mode == "bubblewrap" and os.geteuid() == 0 and os.environ.get("AUTOGRADER_COLD") != "1"


def run_in_sandbox(assignment_id, cells, tasks, forbidden=(), allowed=(), limits=None,
                   cell_timeout=10.0, mode=None):
    """Execute `cells` ([{"grade_id", "source"}]) then call every task of `assignment_id` (its
    calls come from the assignment's ``sandbox.py``); -> SandboxRun.

    Each step runs under its own CPU-time limit (tasks[k].timeout, `cell_timeout`) with a wall
    backstop (``wall_limit``); a step that runs out of CPU time is charged at once, one that
    only runs past its wall backstop is run once more in a fresh process before it is charged
    (a busy moment of the machine is not the student's doing). A step that
    kills or hangs the process is charged with the reason and the run resumes after it in a fresh
    process. mode: "bubblewrap"
    or "unsandboxed" (default: bubblewrap, SandboxUnavailable without it). Under a root grader
    with bubblewrap each process is a fork of a warm sandbox (``warm.py``), else a cold start.
    GraderFailure when the grader's own side fails (nothing is charged to the student then)."""
    limits = limits or isolation.Limits()
    mode = mode or isolation.isolation_mode()
    run = SandboxRun(tasks=[TaskRun() for _ in tasks], mode=mode)
    plan_bytes, array_blobs = _job_data(assignment_id, cells, tasks)
    measured = [(k, task) for k, task in enumerate(tasks) if getattr(task, "measure_memory", False)]
    warm_key = (_warm_key(assignment_id, forbidden, allowed, limits) if use_warm_sandboxes(mode) else None)
    job, in_dir, scratch = _job_folders(plan_bytes, array_blobs, write_inputs=warm_key is None)
    try:
        uid = random.randrange(200_000, 260_000) if os.geteuid() == 0 else None
        if mode != "bubblewrap" and uid is None:
            raise GraderFailure("unsandboxed grading needs a throwaway uid (a root grader)")
        if uid is not None and mode != "bubblewrap":
            os.chown(scratch, uid, uid)
        seccomp = os.path.join(job, "seccomp.bpf")
        skip_cells, first_task, task_records, retried = set(), 0, {}, set()
        log = bytearray()
        for attempt_no in range(2 * (len(cells) + len(tasks)) + 2):
            steps = ([("cell", i) for i in range(len(cells)) if i not in skip_cells]
                     + [("task", k) for k in range(first_task, len(tasks))])
            seconds = [cell_timeout if kind == "cell" else tasks[k].timeout for kind, k in steps]
            cgroup = isolation.Cgroup(f"autograder-{os.path.basename(job)}-{attempt_no}", limits)
            if measured and cgroup.memory_dir is None:
                cgroup.close()
                raise GraderFailure(
                    f"the task calling {measured[0][1].call} is judged on the memory the kernel charges "
                    f"to the student's process, and no cgroup with a memory controller could be made "
                    f"here: run the grader as root on Linux with cgroups (v1, or v2 on Linux 6.12+)")
            r, w = os.pipe()
            try:   # results of megabytes: fewer round trips between the writer and this reader
                fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except OSError:
                pass   # above /proc/sys/fs/pipe-max-size: the default size works too, more slowly
            measure_r, measure_w = os.pipe() if measured else (None, None)
            extra_fds = [measure_r] if measured else []
            options = {"result_fd": w, "uid": uid, "skip_cells": sorted(skip_cells),
                       "first_task": first_task, "forbidden": list(forbidden),
                       "limits": limits.as_options(), "measure_fd": measure_r}
            sandbox = None
            try:
                try:
                    if warm_key is not None:
                        options.update(scratch="/scratch", writable=["/scratch", "/tmp"])
                        for tries_left in (1, 0):   # an idle sandbox may have died since: once more
                            sandbox = warm.acquire(warm_key, lambda: _start_warm(assignment_id, forbidden,
                                                                                 allowed, limits, job))
                            try:
                                proc = sandbox.spawn(options, plan_bytes, array_blobs, w, measure_r)
                                break
                            except warm.WarmStartError as exc:
                                sandbox.close()
                                sandbox = None
                                if not tries_left:
                                    raise GraderFailure(str(exc)) from None
                        if not cgroup.adopt(proc.pid):
                            proc.kill()
                            raise GraderFailure("the job's process could not be put in its cgroup")
                        proc.start()
                    else:
                        if mode == "bubblewrap":
                            seccomp_fd = os.open(seccomp, os.O_RDONLY) if os.path.exists(seccomp) else None
                            if seccomp_fd is not None:
                                extra_fds.append(seccomp_fd)
                            argv = isolation.bwrap_command(in_dir, forbidden, allowed, limits,
                                                           isolation.bwrap_path(), seccomp_fd,
                                                           assignments.sandbox_files(assignment_id))
                            argv += [sys.executable, "-I", "-B", isolation.SANDBOX_HARNESS, "/job/in"]
                            options.update(scratch="/scratch", writable=["/scratch", "/tmp"])
                            env = isolation.sandbox_env("/scratch")
                        else:
                            argv = [sys.executable, "-I", "-B", os.path.join(isolation.HARNESS_DIR, "harness.py"),
                                    in_dir]
                            options.update(scratch=scratch, writable=[])
                            env = isolation.sandbox_env(scratch)
                        argv.append(json.dumps(options))
                        proc = subprocess.Popen(cgroup.wrap(argv), env=env, cwd=job, stdin=subprocess.DEVNULL,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                pass_fds=(w, *extra_fds), start_new_session=True)
                except OSError as exc:
                    raise GraderFailure(f"cannot start the sandbox: {exc.strerror or exc}") from None
                finally:
                    os.close(w)
                    for fd in extra_fds:
                        os.close(fd)
                attempt = _Attempt(proc, steps, seconds, MAX_RESULT_BYTES,
                                   cgroup.cpu_seconds if cgroup.usage_file else None, cgroup,
                                   [("task", k) for k, _ in measured if k >= first_task], measure_w)
                try:
                    attempt.follow(r)
                finally:
                    os.close(r)
                if attempt.timed_out or attempt.proc.poll() is None:
                    attempt.kill()
                cgroup.kill_all()
                # a warm child's descendants are all in its cgroup: where there is none, by uid
                if mode != "bubblewrap" or not attempt.done or (sandbox is not None and not cgroup.active):
                    _reap_uid(uid)
            finally:
                cgroup.close()
                if measure_w is not None:
                    os.close(measure_w)
                if sandbox is not None:
                    if sandbox.child is not None:   # its exit was not reported: do not reuse it
                        sandbox.close()
                    else:
                        warm.release(warm_key, sandbox)
            log += attempt.log
            if not attempt.ready:
                raise GraderFailure("the sandbox did not start: "
                                    + attempt.log.decode(errors="replace").strip()[-300:])
            for step, (body, arrays) in attempt.results.items():
                if step[0] == "task":
                    task_records[step[1]] = (body, arrays)
                    run.tasks[step[1]].cpu_seconds = attempt.step_cpu.get(step)
                    run.tasks[step[1]].memory_bytes = attempt.step_memory.get(step)
                    if step in attempt.step_memory and attempt.step_memory[step] is None:
                        raise GraderFailure(f"the memory of the task calling {tasks[step[1]].call} could "
                                            f"not be read from its cgroup")
                elif step[1] not in run.cell_seen:
                    run.cell_seen.add(step[1])
                    error = _cell_error(body)
                    if error:
                        run.cell_errors[cells[step[1]]["grade_id"]] = error
            step = attempt.failed_step
            if step is None:
                break
            if attempt.timed_out:
                # CPU time is the step's own and a busy machine does not stretch it: charged at
                # once. A wall timeout may be the machine's doing: once more, from a fresh process.
                if attempt.timeout_kind == "wall" and step not in retried:
                    retried.add(step)
                    continue
                budget = cell_timeout if step[0] == "cell" else tasks[step[1]].timeout
                if attempt.timeout_kind == "cpu" and (attempt.memory_at_stop or 0) >= limits.memory_bytes / 4:
                    reason = (f"it used up its time limit ({budget:.2g} s of CPU time) after its memory "
                              f"reached {attempt.memory_at_stop >> 20} MB (the limit is "
                              f"{limits.memory_bytes >> 20} MB) and was stopped (something growing "
                              f"without end?)")
                elif attempt.timeout_kind == "cpu":
                    reason = (f"it used up its time limit ({budget:.2g} s of CPU time) and was "
                              f"stopped (an endless loop, or far slower than the intended solution?)")
                else:
                    reason = (f"it ran past its time limit ({wall_limit(budget):.2g} s, twice) without "
                              f"finishing and was stopped (an endless loop, or waiting for something?)")
            else:
                reason = _exit_reason(attempt.proc.returncode, mode, limits)
            if step[0] == "cell":
                skip_cells.add(step[1])
                run.cell_failures[cells[step[1]]["grade_id"]] = reason
            else:
                run.tasks[step[1]].failure = reason
                first_task = step[1] + 1
                if first_task >= len(tasks):
                    break
        run.log = log.decode(errors="replace")[-LOG_BYTES:]
        _collect(tasks, task_records, run)
    finally:
        shutil.rmtree(job, ignore_errors=True)
    return run


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,59}")
_DTYPE = re.compile(r"[a-z]{2,10}[0-9]{0,3}")


def _clean_error(error):
    """An error dict from the sandbox with only the fields and types the judge expects."""
    if not isinstance(error, dict):
        return {"type": "Error", "message": "unreadable error report"}
    kind = error.get("type")
    clean = {"type": kind if isinstance(kind, str) and _IDENTIFIER.fullmatch(kind) else "Exception",
             "message": str(error.get("message", ""))[:MAX_TEXT],
             "cell": str(error["cell"])[:80] if isinstance(error.get("cell"), str) else None,
             "line": error["line"] if isinstance(error.get("line"), int) and 0 < error["line"] < 10**6 else None,
             "code": str(error["code"])[:200] if isinstance(error.get("code"), str) else None}
    missing = error.get("missing_function")
    if isinstance(missing, str) and _IDENTIFIER.fullmatch(missing):
        clean["missing_function"] = missing
    return clean


def _cell_error(body):
    try:
        error = parse_json(body, "cell result").get("error") if body is not None else None
    except UntrustedDataError:
        return None
    return _clean_error(error) if error is not None else None


def _collect(tasks, task_records, run):
    for k, task_run in enumerate(run.tasks):
        if task_run.failure:
            continue
        if k not in task_records:
            task_run.failure = "no result came back (the process ended before this task finished)"
            continue
        body, packed_arrays = task_records[k]
        if body is None:
            task_run.failure = (f"your code returned more data than the grader accepts "
                                f"({MAX_RESULT_BYTES >> 20} MB per run)")
            continue
        keys = getattr(tasks[k], "keys", None)
        expected = (r"c\d{1,6}_(?:%s)" % "|".join(re.escape(key) for key in keys)) if keys else None
        try:
            status = parse_json(body, "task result")
            arrays = parse_packed(packed_arrays, expected=expected)
        except UntrustedDataError as exc:
            task_run.failure = f"no readable result came back ({exc})"
            continue
        cases = status.get("cases")
        if not isinstance(cases, list) or len(cases) > len(tasks[k].cases):
            task_run.failure = "no readable result came back"
            continue
        task_run.cases = []
        for case in cases:
            case = case if isinstance(case, dict) else {}
            error = case.get("error")
            dtypes = case.get("dtypes") if isinstance(case.get("dtypes"), dict) else {}
            task_run.cases.append({
                "error": _clean_error(error) if error is not None or not case else None,
                "dtypes": {str(key)[:60]: (value if isinstance(value, str) and _DTYPE.fullmatch(value) else "other")
                           for key, value in list(dtypes.items())[:64]}})
        task_run.outputs = [{} for _ in cases]
        for key, value in arrays.items():
            prefix, _, name = key.partition("_")
            if prefix.startswith("c") and prefix[1:].isdigit() and int(prefix[1:]) < len(cases):
                task_run.outputs[int(prefix[1:])][name] = value
