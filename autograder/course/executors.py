"""Where a batch's submissions are graded: threads of this process, or a Dask cluster.

Either way one submission is one job that reads the submission, runs the sandbox and judges it,
and returns ``(SubmissionResult, Rebuilt)``; the gradebook, the CSVs and the feedback are written
by the one process that ran ``grade`` (``grading.py``), which takes each submission's first result
only, so a job that ran twice (a worker died after finishing it) is recorded once.

* ``ThreadExecutor`` (default): a thread pool here. The sandboxes are processes, so threads
  suffice; time limits are measured once for this process (``limits.py``).
* ``DaskExecutor`` (``grade --scheduler tcp://HOST:8786``): an existing Dask distributed cluster.
  Every worker needs the same installation (``pip install -e .`` of this checkout, bubblewrap)
  and the course folder at the same path (a shared folder; it only reads it). Before any work
  each worker checks its sandbox; a worker without one takes no work and the batch says so (fail
  closed per worker), and a job re-checks before it runs. A worker that dies loses nothing: Dask
  runs its jobs again on another worker, and a job lost anyway comes back here as a grader
  failure, which the batch retries.
"""
import functools
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ..running import isolation
from .layout import UsageError


class _Executor:
    """submit(student) -> future, next_done(futures), result(future), close(); a context manager."""
    notes = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ThreadExecutor(_Executor):
    """Jobs on a thread pool of this process."""

    def __init__(self, workers, job):
        self.pool = ThreadPoolExecutor(max_workers=max(1, workers or 1))
        self.job = job               # student -> (SubmissionResult, Rebuilt)
        self.description = f"{max(1, workers or 1)} worker(s)"
        self.notes = []

    def submit(self, student):
        return self.pool.submit(self.job, student)

    @staticmethod
    def next_done(futures):
        """One finished future of `futures` (blocks until there is one)."""
        return next(iter(wait(futures, return_when=FIRST_COMPLETED).done))

    @staticmethod
    def result(future):
        return future.result()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


# --- Dask ----------------------------------------------------------------------------------------
_notebooks = {}
_notebooks_lock = threading.Lock()


def _course_notebooks(course, assignment_id):
    """(source, release or None) of the course, read once per worker process and file version."""
    import nbformat

    source_path, release_path = course.source_notebook(assignment_id), course.release_notebook(assignment_id)
    key = (source_path, os.stat(source_path).st_mtime_ns,
           os.stat(release_path).st_mtime_ns if os.path.exists(release_path) else None)
    with _notebooks_lock:
        if key not in _notebooks:
            source = nbformat.read(source_path, as_version=4)
            release = nbformat.read(release_path, as_version=4) if key[2] is not None else None
            _notebooks[key] = (source, release)
        return _notebooks[key] + (key,)


def worker_sandbox_problem(allow_unsandboxed=False):
    """Run on each worker before it takes work: None when it can run student code safely (a
    working bubblewrap, or --no-sandbox where that is allowed), else why not, in one line."""
    try:
        isolation.isolation_mode(allow_unsandboxed)
    except isolation.SandboxUnavailable as exc:
        return (isolation.sandbox_problem() or str(exc).splitlines()[0])[:300]
    except Exception as exc:  # noqa: BLE001 - a worker that cannot even check takes no work
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


def grade_on_worker(course_root, assignment_id, student, credit, allow_unsandboxed=False):
    """One Dask job: grade `student`'s submission on this worker -> (SubmissionResult, Rebuilt).

    Fails closed: without a working sandbox here it raises SandboxUnavailable (the batch then
    counts it as the grader's failure and retries it elsewhere), never grades without one."""
    from ..assignments import get_assignment
    from .grading import grade_submission
    from .layout import Course
    from .limits import time_limits

    mode = isolation.isolation_mode(allow_unsandboxed)
    course = Course(course_root)
    assignment = get_assignment(assignment_id)
    source_nb, release_nb, key = _course_notebooks(course, assignment_id)
    import torch  # the trusted references

    torch.set_num_threads(1)
    limits = time_limits(assignment, source_nb, release_nb, mode, key=key)
    return grade_submission(course, assignment, student, source_nb, release_nb, mode=mode, credit=credit,
                            time_limits=limits)


def open_executor(course, assignment, source_nb, release_nb, credit, mode, workers=None, scheduler=None,
                  allow_unsandboxed=False, measure=True):
    """The executor of one batch: DaskExecutor when `scheduler` is given, else a ThreadExecutor
    whose jobs share the time limits measured here once (``limits.py``; with nothing to grade,
    `measure` False, the ceilings)."""
    if scheduler:
        return DaskExecutor(scheduler, course, assignment.assignment_id, credit, allow_unsandboxed)
    from .grading import grade_submission
    from .limits import time_limits

    import torch  # trusted references; imported once here rather than racing in worker threads

    torch.set_num_threads(1)
    limits = (time_limits(assignment, source_nb, release_nb, mode,
                          key=os.stat(course.source_notebook(assignment.assignment_id)).st_mtime_ns)
              if measure else {})
    job = functools.partial(grade_submission, course, assignment, source_nb=source_nb, release_nb=release_nb,
                            mode=mode, credit=credit, time_limits=limits)
    return ThreadExecutor(workers, lambda student: job(student=student))


class DaskExecutor(_Executor):
    """Jobs on an existing Dask distributed cluster, only on workers whose sandbox works."""

    def __init__(self, scheduler, course, assignment_id, credit, allow_unsandboxed=False, out=None,
                 connect_timeout=20):
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs the packages dask and distributed (pip install -e . "
                             "installs the pinned versions)") from None
        try:
            self.client = Client(scheduler, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; start one with "
                             f"`dask scheduler` and workers with `dask worker {scheduler}`") from None
        self.args = (course.root, assignment_id, credit, allow_unsandboxed)
        problems = self.client.run(worker_sandbox_problem, allow_unsandboxed)
        self.workers = sorted(address for address, problem in problems.items() if problem is None)
        self.notes = [f"Dask worker {address} has no working sandbox and takes no work: {problem}"
                      for address, problem in sorted(problems.items()) if problem is not None]
        if not self.workers:
            self.client.close()
            why = "; ".join(self.notes) or "the cluster has no workers"
            raise isolation.SandboxUnavailable(f"no Dask worker at {scheduler} can grade: {why}")
        self.description = f"Dask at {scheduler}, {len(self.workers)} worker(s) with a sandbox"
        self.tries = {}

    def submit(self, student):
        self.tries[student] = self.tries.get(student, 0) + 1
        return self.client.submit(grade_on_worker, *self.args[:2], student, *self.args[2:],
                                  key=f"grade-{self.args[1]}-{student}-{self.tries[student]}",
                                  pure=False, workers=self.workers, allow_other_workers=False)

    @staticmethod
    def next_done(futures):
        # polled: distributed.wait would need this client to be the process's default one
        while True:
            for future in futures:
                if future.done():
                    return future
            time.sleep(0.05)

    @staticmethod
    def result(future):
        """The job's result; whatever went wrong on the cluster (a worker lost too often, a
        worker without its sandbox after all) is the grader's failure, retried by the batch."""
        from ..running.runner import GraderFailure

        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - never the student's doing
            raise GraderFailure(f"on the Dask cluster: {type(exc).__name__}: {exc}"[:500]) from None
        finally:
            future.release()

    def close(self):
        self.client.close()
