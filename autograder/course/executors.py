"""Where a batch's submissions are graded: threads of this process, or a Dask cluster.

Either way one submission is one job (given by ``grading.py``) that reads the submission, runs
the sandbox and judges it, and returns ``(SubmissionResult, Rebuilt)``; the gradebook, the CSVs and the feedback are written
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
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from ..running import isolation
from ..running.runner import GraderFailure
from .layout import UsageError


class _Executor:
    """submit(student) -> future, next_done(futures), result(future), close(); a context manager."""
    notes = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ThreadExecutor(_Executor):
    """Jobs on a thread pool of this process: `threads` of them (default `workers`) in flight,
    e.g. more than the sandboxes that may run at once (the job bounds those), so that a job
    whose judging waits for the batch's references does not keep a core idle."""

    def __init__(self, workers, job, threads=None):
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads or workers or 1))
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


class DaskExecutor(_Executor):
    """Jobs on an existing Dask distributed cluster, only on workers whose sandbox works."""

    def __init__(self, scheduler, job, args, name, allow_unsandboxed=False):
        """job(*args, student) runs on a worker (importable there by name); name tells the batch's
        jobs apart in Dask's keys. How long to try to reach the scheduler is Dask's own setting
        (distributed.comm.timeouts.connect, 30 s; e.g. DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=5s)."""
        try:
            from distributed import Client
        except ImportError:
            raise UsageError("--scheduler needs the packages dask and distributed (pip install -e . "
                             "installs the pinned versions)") from None
        try:
            self.client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}; start one with "
                             f"`dask scheduler` and workers with `dask worker {scheduler}`") from None
        self.job, self.args, self.name = job, tuple(args), name
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
        return self.client.submit(self.job, *self.args, student,
                                  key=f"{self.name}-{student}-{self.tries[student]}",
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
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - never the student's doing
            raise GraderFailure(f"on the Dask cluster: {type(exc).__name__}: {exc}"[:500]) from None
        finally:
            future.release()

    def close(self):
        self.client.close()
