"""Grading speed: `python -m autograder grade` against plain `nbgrader autograde`, same notebooks.

    .venv/bin/python benchmarks/bench_grading.py [--submissions 40] [--workers N] [ASSIGNMENT ...]

For every assignment (default: all with task specs) builds it into a temporary course, hands in N
submissions (the bundled samples, cycled:
reference, untouched release, typical mistakes, exploit attempts), copies the course twice and
grades one copy with each tool, both as the instructor would run them (a fresh process, timed end
to end, including imports). nbgrader autograde starts a Jupyter kernel per notebook and executes
every cell, one notebook at a time; the hardened grader runs only setup and answer cells in a
sandboxed plain Python process per submission, --workers at a time. Prints seconds per
submission for each and the ratio.

Then, per assignment, the time per correct submission: N copies of the reference solution graded
in one batch, as the batch itself reports it (``grade``'s "in X s": from the batch's start,
the time limits' calibration included, the interpreter's imports not), divided by N.
Throughput on a Dask cluster: bench_scaling.py.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from autograder.course import samples  # noqa: E402
from autograder.course.build import build  # noqa: E402
from autograder.course.layout import Course, nbgrader_env  # noqa: E402
from autograder.assignments import available_assignments  # noqa: E402


def timed(cmd, cwd, output=False):
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=nbgrader_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return (seconds, done.stdout + done.stderr) if output else seconds


def make_course(root, assignment, submissions, only=None):
    """-> (path of a built course under root with `submissions` samples handed in, sample kinds);
    only: hand in that sample every time."""
    course = build(os.path.join(root, "template"), [assignment], log=lambda *a: None)
    source = nbformat.read(course.source_notebook(assignment), as_version=4)
    release = nbformat.read(course.release_notebook(assignment), as_version=4)
    kinds = [only] if only else samples.sample_students(assignment)
    for i in range(submissions):
        kind = kinds[i % len(kinds)]
        samples.submit(course, assignment, f"s{i:03d}_{kind}",
                       samples.sample_notebook(assignment, kind, source, release))
    return course.root, kinds


def bench(assignment, submissions, workers):
    """-> (hardened seconds, plain nbgrader seconds) for `submissions` notebooks of `assignment`."""
    root = tempfile.mkdtemp(prefix="bench-grading-")
    try:
        template, kinds = make_course(root, assignment, submissions)
        course = Course(template)
        ours, theirs = (Course(os.path.join(root, name)) for name in ("hardened", "nbgrader"))
        shutil.copytree(course.root, ours.root)
        shutil.copytree(course.root, theirs.root)

        n = submissions
        print(f"{n} submissions of {assignment} ({', '.join(kinds)}, cycled); {os.cpu_count()} cores")
        hardened = timed([sys.executable, "-m", "autograder", "grade", assignment, "--course", ours.root,
                          "--workers", str(workers), "--force"], ours.root)
        print(f"  python -m autograder grade --workers {workers}: {hardened:7.1f} s "
              f"= {hardened / n:6.2f} s per submission")
        plain = timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"], theirs.root)
        print(f"  nbgrader autograde:                        {plain:7.1f} s = {plain / n:6.2f} s per submission")
        print(f"  ratio: the hardened grader is {plain / hardened:.1f}x faster")
        return hardened, plain
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_correct(assignment, submissions, workers):
    """-> seconds of batch time per correct submission (`submissions` copies of the reference)."""
    root = tempfile.mkdtemp(prefix="bench-correct-")
    try:
        course_root, _ = make_course(root, assignment, submissions, only=samples.REFERENCE)
        _, output = timed([sys.executable, "-m", "autograder", "grade", assignment, "--course", course_root,
                           "--workers", str(workers), "--force"], course_root, output=True)
        found = re.search(r"^graded (\d+), .* in ([0-9.]+) s$", output, re.M)
        if not found or int(found.group(1)) != submissions:
            sys.exit(f"grading {submissions} references of {assignment} did not grade them all:\n{output[-2000:]}")
        per = float(found.group(2)) / submissions
        print(f"  {submissions} correct submissions: {float(found.group(2)):.1f} s of batch time "
              f"= {per:.2f} s per submission")
        return per
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    rows = [(a, *bench(a, args.submissions, args.workers), bench_correct(a, args.submissions, args.workers))
            for a in args.assignments or available_assignments()]
    print(f"\n{'assignment':<28} {'hardened s/sub':>14} {'nbgrader s/sub':>14} {'ratio':>7} {'correct s/sub':>14}")
    for assignment, hardened, plain, correct in rows:
        n = args.submissions
        print(f"{assignment:<28} {hardened / n:14.2f} {plain / n:14.2f} {plain / hardened:6.1f}x {correct:14.2f}")


if __name__ == "__main__":
    main()
