"""Warm sandboxes: a bubblewrap sandbox whose interpreter has done its imports, forked per job.

Starting Python, importing NumPy (and PyTorch, for the tasks that may use it) and the grader's
calls costs most of a submission's grading time on a small machine. A ``WarmSandbox`` pays that
once: its process (``sandbox/zygote.py``) waits inside bubblewrap, with the same mounts, limits
and seccomp filter a cold sandbox gets, and forks a child per job. Isolation stays per job:

- the child drops to the job's own throwaway uid before any student code, so it can signal
  neither the zygote (root) nor another job, and it is moved into the job's cgroup (memory,
  processes, one core, CPU time counted there) before it may read its job;
- the zygote never reads a job (the child reads it from a memfd), so no student's code or hidden
  input is in the memory the next child inherits; it empties /scratch and /tmp before each fork
  and serves one job at a time, after the trusted side killed what the last one left running.

Warm sandboxes need a root grader (for the throwaway uids); elsewhere every job gets a cold
sandbox, as before. A sandbox lives as long as the thread that started it (bubblewrap's
--die-with-parent); ``acquire`` and ``release`` keep idle ones per configuration.
"""
import array
import json
import os
import socket
import subprocess
import sys
import threading
import time

from . import isolation

START_SECONDS = 60.0    # interpreter start and imports (PyTorch's can take 10 s on a busy machine)
REPLY_SECONDS = 10.0    # the zygote's answer to a request, or its report of a killed child
ZYGOTE = isolation.SANDBOX_ROOT + "/sandbox/zygote.py"


class WarmStartError(Exception):
    """The warm sandbox did not start or stopped answering: the grader's problem, not a job's."""


def _ns_pid_and_parent(pid):
    """(innermost namespace pid, parent pid) of `pid` from /proc, or None."""
    ns_pid = parent = None
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("NSpid:"):
                    ns_pid = int(line.split()[-1])
                elif line.startswith("PPid:"):
                    parent = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return (ns_pid, parent) if ns_pid is not None and parent is not None else None


def host_pid(root_pid, ns_pid):
    """The pid, as seen here, of the process below `root_pid` whose pid in its own namespace is
    `ns_pid`; None when there is none."""
    found = _host_pid_by_children(root_pid, ns_pid)
    if found is not None:
        return found
    # kernels without /proc/PID/task/TID/children: every process, and its line of parents
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == root_pid:
            continue
        seen = _ns_pid_and_parent(int(entry))
        if seen is None or seen[0] != ns_pid:
            continue
        parent = seen[1]
        for _ in range(16):
            if parent == root_pid:
                return int(entry)
            up = _ns_pid_and_parent(parent)
            if up is None or up[1] == parent:
                break
            parent = up[1]
    return None


def _host_pid_by_children(root_pid, ns_pid):
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("NSpid:"):
                        if pid != root_pid and int(line.split()[-1]) == ns_pid:
                            return pid
                        break
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    todo.extend(int(child) for child in fh.read().split())
        except (OSError, ValueError):
            continue
    return None


def _job_memfd(plan_bytes, array_blobs):
    """A memfd holding the job: a JSON header line, the plan, each task's packed arrays."""
    fd = os.memfd_create("autograder-job", os.MFD_CLOEXEC)
    header = json.dumps({"plan_bytes": len(plan_bytes), "array_bytes": [len(b) for b in array_blobs]})
    with os.fdopen(os.dup(fd), "wb") as fh:
        fh.write(header.encode() + b"\n" + plan_bytes)
        for blob in array_blobs:
            fh.write(blob)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


class WarmChild:
    """One job's process, forked by the zygote; what ``runner._Attempt`` needs of a Popen."""

    def __init__(self, sandbox, pid, log_r, go_w):
        self.sandbox, self.pid, self.returncode = sandbox, pid, None
        self.stdout = os.fdopen(log_r, "rb", buffering=0)
        self._go_w = go_w

    def start(self):
        """Let the child read its job (after it was put in its cgroup)."""
        try:
            os.write(self._go_w, b"g")
        finally:
            os.close(self._go_w)
            self._go_w = None

    def poll(self):
        if self.returncode is None:
            code = self.sandbox.exit_code(block=False)
            if code is not None:
                self.returncode = code
        return self.returncode

    def kill(self):
        try:
            os.kill(self.pid, 9)
        except OSError:
            pass

    def wait(self, timeout=None):
        deadline = time.monotonic() + (REPLY_SECONDS if timeout is None else timeout)
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("sandbox child", timeout)
            time.sleep(0.01)
        return self.returncode


class WarmSandbox:
    """A zygote in bubblewrap for one configuration (assignment, forbidden, allowed, limits)."""

    def __init__(self, argv_prefix, env, cwd, options, pass_fds=()):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control, self._buffer, self.child = ours, b"", None
        options = dict(options, control_fd=theirs.fileno())
        try:
            self.proc = subprocess.Popen(
                argv_prefix + [sys.executable, "-I", "-B", ZYGOTE, json.dumps(options)], env=env, cwd=cwd,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(), *pass_fds), start_new_session=True)
        except OSError as exc:
            ours.close()
            raise WarmStartError(f"cannot start the sandbox: {exc.strerror or exc}") from None
        finally:
            theirs.close()
        line = self._line(START_SECONDS)
        if line != b"ready":
            output = self._drain_output()
            self.close()
            raise WarmStartError("the sandbox did not start: " + output[-300:])

    def _drain_output(self):
        try:
            self.proc.kill()
            return self.proc.communicate(timeout=5)[0].decode(errors="replace").strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    def _line(self, timeout):
        """The zygote's next line (without its newline), or None when none came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        looked = False
        while b"\n" not in self._buffer:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None:
                if left <= 0 and looked:
                    return None
                left = max(left, 0.0)  # 0: one look without waiting
            looked = True
            self.control.settimeout(left)
            try:
                data = self.control.recv(4096)
            except (socket.timeout, BlockingIOError):
                return None
            except OSError:
                data = b""
            if not data:
                return None if not self._buffer else self._buffer
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    @property
    def alive(self):
        return self.proc.poll() is None and self.child is None

    def spawn(self, options, plan_bytes, array_blobs, result_w, measure_r=None):
        """Fork a child for one job -> WarmChild (not yet started: ``WarmChild.start``).
        measure_r: the read end of the pipe the harness waits on before a measured task."""
        job_fd = _job_memfd(plan_bytes, array_blobs)
        go_r, go_w = os.pipe()
        log_r, log_w = os.pipe()
        try:
            message = json.dumps(options).encode()
            fds = array.array("i", [job_fd, go_r, log_w, result_w] + ([measure_r] if measure_r is not None else []))
            try:
                self.control.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())])
            except OSError as exc:
                raise WarmStartError(f"the sandbox stopped answering: {exc.strerror or exc}") from None
        finally:
            for fd in (job_fd, go_r, log_w):
                os.close(fd)
        line = self._line(REPLY_SECONDS)
        if not line or not line.startswith(b"forked "):
            os.close(log_r)
            os.close(go_w)
            raise WarmStartError("the sandbox did not fork a process for the job")
        pid = host_pid(self.proc.pid, int(line.split()[1]))
        if pid is None:
            os.close(log_r)
            os.close(go_w)
            raise WarmStartError("the sandbox's process for the job could not be found")
        self.child = WarmChild(self, pid, log_r, go_w)
        return self.child

    def exit_code(self, block):
        """The child's exit code once the zygote reported it (None before, when not blocking)."""
        line = self._line(REPLY_SECONDS if block else 0.0)
        if line is None:
            if self.proc.poll() is not None:  # the zygote itself is gone
                self.child = None
                return -9
            return None
        self.child = None
        try:
            return int(line.split()[1]) if line.startswith(b"exit ") else -9
        except (IndexError, ValueError):
            return -9

    def close(self):
        try:
            self.control.close()
        except OSError:
            pass
        for kill in (lambda: os.killpg(self.proc.pid, 9), self.proc.kill):
            try:
                kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout:
            self.proc.stdout.close()


_idle = {}             # configuration -> [WarmSandbox] (each usable by one job at a time)
_idle_lock = threading.Lock()


def acquire(key, start):
    """An idle warm sandbox for configuration `key` (start() makes one when none is left)."""
    with _idle_lock:
        pool = _idle.setdefault(key, [])
        while pool:
            sandbox = pool.pop()
            if sandbox.alive:
                return sandbox
            sandbox.close()
    return start()


def release(key, sandbox):
    """Hand a sandbox back after its job (its child reported, its cgroup emptied); a sandbox in
    doubt is closed instead."""
    if sandbox.alive:
        with _idle_lock:
            _idle.setdefault(key, []).append(sandbox)
    else:
        sandbox.close()
