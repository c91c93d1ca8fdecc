"""A warm sandbox: one interpreter, its imports done once, forked afresh for every job.

    python -I -B zygote.py OPTIONS_JSON

Runs inside bubblewrap as root (of the sandbox; the trusted side starts it, ``running/warm.py``).
It imports NumPy, the calls, the assignment's sandbox module and ``options["preload"]`` (what
the notebook's setup cells import, where this sandbox may see it), then serves requests on the
unix socket ``options["control_fd"]``, one job at a time:

1. a request: a JSON line of harness options, with three fds attached (SCM_RIGHTS): the job (a
   memfd: a JSON header line, the plan, each task's packed arrays), a "go" pipe, and the log pipe; the
   result pipe is a fourth;
2. the zygote empties the writable folders (nothing of the previous job survives), forks, and
   answers ``forked NSPID``;
3. the child waits on "go" (the trusted side moves it into the job's cgroup first, so no student
   code runs outside it), reads its job, and runs it exactly as a cold harness would (it drops
   to the job's throwaway uid: it can signal neither the zygote nor another job);
4. the zygote waits for the child and answers ``exit CODE`` (negative: killed by that signal).

The zygote itself never reads a job, so no student's code or hidden input is in the memory the
next child inherits.
"""
import array
import gc
import json
import os
import shutil
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from autograder.sandbox import harness  # noqa: E402

MAX_REQUEST = 1 << 16


def _empty(folder):
    """Remove everything in `folder` (root: whatever the last job's uid left there)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for name in entries:
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _read_job(fd):
    """(plan, inputs) from the job memfd written by the trusted side."""
    from autograder.sandbox import packed

    with os.fdopen(fd, "rb") as fh:
        header = json.loads(fh.readline())
        plan = json.loads(fh.read(header["plan_bytes"]))
        inputs = [packed.unpack(fh.read(size)) for size in header["array_bytes"]]
    return plan, inputs


def _child(control, fds, options, assignment):
    """In the forked child: wait for "go", read the job, run it; never returns."""
    job_fd, go_fd, log_fd, result_fd = fds[:4]
    measure_fd = fds[4] if len(fds) > 4 else None
    try:
        control.close()
        os.setsid()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        keep = {0, 1, 2, job_fd, go_fd, result_fd, measure_fd}
        for fd in range(3, 1024):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        go = os.read(go_fd, 1)
        os.close(go_fd)
        if go != b"g":
            os._exit(0)
        plan, inputs = _read_job(job_fd)
        options["result_fd"], options["measure_fd"] = result_fd, measure_fd
        harness.run_job(plan, inputs, options, assignment)
    except BaseException as exc:  # noqa: BLE001 - reported on the log, the runner charges the exit
        try:
            os.write(2, f"sandbox child: {type(exc).__name__}: {exc}\n".encode())
        except OSError:
            pass
        os._exit(70)
    os._exit(0)


def serve(options):
    control = socket.socket(fileno=options["control_fd"])
    assignment = harness.preload(options["assignment"])
    for name in options.get("preload", []):
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - not visible in this sandbox: the job imports it (or not)
            pass
    writable = options.get("writable", [])
    control.sendall(b"ready\n")
    while True:
        fds = array.array("i")
        try:
            message, ancillary, _, _ = control.recvmsg(MAX_REQUEST, socket.CMSG_LEN(5 * fds.itemsize))
        except OSError:
            return
        if not message:
            return  # the trusted side closed: nothing more to do
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
        if len(fds) not in (4, 5):  # the fifth: the pipe a measured task waits on (harness.run_job)
            return
        job_options = json.loads(message)
        for folder in writable:
            _empty(folder)
        # what the preload made stays out of the children's collections: a collection would write
        # to every object it visits, and the kernel would copy (and charge to the child's cgroup,
        # inside a measured step) each page of them
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            _child(control, list(fds), job_options, assignment)
        for fd in fds:
            os.close(fd)
        control.sendall(b"forked %d\n" % pid)
        _, status = os.waitpid(pid, 0)
        control.sendall(b"exit %d\n" % os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
