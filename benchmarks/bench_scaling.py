"""Grading throughput on a Dask cluster of 1 and 2 local workers (`grade --scheduler`).

    .venv/bin/python benchmarks/bench_scaling.py [--submissions 16] [--max-workers 2] [ASSIGNMENT]

Builds the assignment (default 01) into a temporary course, hands in N submissions (the bundled
samples, cycled), starts `dask scheduler` on 127.0.0.1 and k `dask worker` processes (one
thread each), and times `python -m autograder grade --scheduler ... --force` end to end for
k = 1 .. max-workers, in one run. Prints submissions per minute and the per-worker efficiency
(throughput with k workers / (k x throughput with one)), and what that predicts for a class of
1,000 on machines like this one.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from bench_grading import make_course, timed  # noqa: E402

BIN = os.path.dirname(sys.executable)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(argv, log):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def grade_on_cluster(course_root, assignment, workers, logdir):
    """Seconds for one `grade --scheduler` of every submission on `workers` fresh local workers."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{_free_port()}"
    log = open(os.path.join(logdir, f"cluster{workers}.log"), "wb")
    procs = [_start([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1",
                     "--port", address.rsplit(":", 1)[1], "--no-dashboard"], log)]
    try:
        for i in range(workers):
            procs.append(_start([os.path.join(BIN, "dask"), "worker", address, "--nthreads", "1",
                                 "--no-nanny", "--no-dashboard", "--name", f"w{i}"], log))
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        return timed([sys.executable, "-m", "autograder", "grade", assignment, "--course", course_root,
                      "--scheduler", address, "--force"], course_root)
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="01_finite_differences")
    parser.add_argument("--submissions", type=int, default=16)
    parser.add_argument("--max-workers", type=int, default=2)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="bench-scaling-")
    try:
        template, kinds = make_course(root, args.assignment, args.submissions)
        n = args.submissions
        print(f"{n} submissions of {args.assignment} ({', '.join(kinds)}, cycled); {os.cpu_count()} cores")
        rows = []
        for k in range(1, args.max_workers + 1):
            course = os.path.join(root, f"k{k}")
            shutil.copytree(template, course)
            seconds = grade_on_cluster(course, args.assignment, k, root)
            rows.append((k, seconds))
            print(f"  {k} worker(s): {seconds:7.1f} s, {60 * n / seconds:6.1f} submissions/minute")
        base = n / rows[0][1]
        print(f"\n{'workers':>7} {'s/submission':>13} {'per minute':>11} {'efficiency':>11}")
        for k, seconds in rows:
            print(f"{k:>7} {seconds / n:13.2f} {60 * n / seconds:11.1f} {(n / seconds) / (k * base):10.0%}")
        k, seconds = rows[-1]
        per_worker = (n / seconds) / k
        print(f"\n1,000 submissions at {per_worker * 60:.1f} per worker-minute: "
              + ", ".join(f"{1000 / (per_worker * w) / 60:.1f} min on {w} worker(s)" for w in (2, 8, 32)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
