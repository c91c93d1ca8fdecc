"""``python -m autograder grade``: every submission of an assignment, in parallel, into the gradebook.

Per submission (``grade_submission``, never raises): find and read the notebook, rebuild it from
the trusted source, draw the cases from a fresh secret seed, run the student's code in the
sandbox, judge every task here. The batch (``grade_assignment``) runs submissions on a thread
pool (the work happens in sandbox processes), shows a progress bar, and in the main thread saves
each result and commits it to the gradebook, one transaction per submission. Submissions already
graded are skipped unless ``force``; a submission that cannot be graded gets one clear line and
the batch goes on.
"""
import os
import re
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import nbformat
import numpy as np

from . import gradebook, isolation
from .course import Course
from .judge import judge_task
from .rebuild import SubmissionError, read_notebook_file, rebuild
from .results import RESULTS_FILE, SubmissionResult
from .runner import SandboxTask, TaskRun, run_in_sandbox
from .selfcheck import format_result
from .tasks import get_assignment


HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def find_notebook(folder, assignment):
    """Path of submitted/<student>/<assignment>/<assignment>.ipynb; SubmissionError otherwise."""
    expected = f"{assignment}.ipynb"
    path = os.path.join(folder, expected)
    if os.path.isfile(path):
        return path
    if not os.path.isdir(folder):
        raise SubmissionError("no submission folder")
    present = sorted(f for f in os.listdir(folder) if f != "timestamp.txt" and not f.startswith("."))
    if not present:
        raise SubmissionError("the submission folder is empty")
    notebooks = [f for f in present if f.endswith(".ipynb")]
    if notebooks:
        raise SubmissionError(f"expected {expected} but found {', '.join(notebooks)}; rename it to "
                              f"{expected} (the grader does not guess which file to grade)")
    raise SubmissionError(f"no {expected} in the submission folder (found: {', '.join(present[:5])})")


def read_timestamp(folder):
    """nbgrader collect's timestamp.txt, if present and parseable; None otherwise."""
    from nbgrader.utils import parse_utc

    path = os.path.join(folder, "timestamp.txt")
    try:
        if os.path.islink(path):
            return None
        with open(path) as fh:
            text = fh.read(100).strip()
        parse_utc(text)
        return text
    except Exception:  # absent or unparseable: the submission is graded without a timestamp
        return None


def draw_cases(assignment, seed):
    """{grade_id: (cases, hidden_flags)}: the notebook's visible cases, then hidden ones from seed."""
    rng = np.random.default_rng(seed)
    drawn = {}
    for task in assignment.tasks:
        visible = task.make_cases(np.random.default_rng(0), False)
        hidden = task.make_cases(rng, True)
        drawn[task.grade_id] = (visible + hidden, [False] * len(visible) + [True] * len(hidden))
    return drawn


def _cell_problems(assignment, rebuilt, cell_errors, cell_failures):
    """{function name: why it may be missing}, from answer cells that raised or killed the process."""
    problems = {}
    cells = {c["grade_id"]: c["source"] for c in rebuilt.cells_to_run}
    for task in assignment.tasks:
        for name in task.functions:
            for grade_id, source in cells.items():
                if not re.search(rf"^\s*def\s+{re.escape(name)}\s*\(", source, re.M):
                    continue
                error = cell_errors.get(grade_id)
                if error:
                    line = f" at line {error.get('line')}" if error.get("line") else ""
                    problems[name] = (f"its cell '{grade_id}' raised {error.get('type')}{line} "
                                      f"({str(error.get('message'))[:200]}), so the rest of that cell never ran")
                elif grade_id in cell_failures:
                    problems[name] = f"its cell '{grade_id}' was stopped: {cell_failures[grade_id]}"
    return problems


def grade_submission(course, assignment, student, source_nb, release_nb, seed=None):
    """-> SubmissionResult for one student (error set when the submission cannot be graded)."""
    started = time.monotonic()
    folder = course.submitted_dir(student, assignment.assignment_id)
    result = SubmissionResult(student, assignment.assignment_id, timestamp=read_timestamp(folder))
    try:
        rebuilt = rebuild(source_nb, read_notebook_file(find_notebook(folder, assignment.assignment_id)),
                          release_nb)
    except SubmissionError as exc:
        result.error = str(exc)
        return result, None
    result.notes = list(rebuilt.notes)
    result.unanswered = sorted(rebuilt.unanswered)
    drawn = draw_cases(assignment, secrets.randbits(128) if seed is None else seed)
    runs, groups = {}, {}
    for task in assignment.tasks:
        groups.setdefault((task.forbidden, task.allowed), []).append(task)
    limits = isolation.Limits(memory_bytes=assignment.memory_bytes)
    cell_errors, cell_failures, log = {}, {}, []
    for (forbidden, allowed), tasks in groups.items():
        sandbox_tasks = [SandboxTask(t.call, t.functions, drawn[t.grade_id][0], t.timeout) for t in tasks]
        run = run_in_sandbox(rebuilt.cells_to_run, sandbox_tasks, forbidden, allowed, limits)
        runs.update({t.grade_id: task_run for t, task_run in zip(tasks, run.tasks)})
        cell_errors.update(run.cell_errors)
        cell_failures.update(run.cell_failures)
        result.isolation = run.mode
        log.append(run.log)
    problems = _cell_problems(assignment, rebuilt, cell_errors, cell_failures)
    for grade_id, error in cell_errors.items():
        if grade_id not in rebuilt.unanswered:
            where = f", line {error.get('line')}" if error.get("line") else ""
            result.notes.append(f"Cell '{grade_id}' raised {error.get('type')}{where}: "
                                f"{str(error.get('message'))[:200]}")
    for grade_id, reason in cell_failures.items():
        result.notes.append(f"Cell '{grade_id}' was stopped: {reason}.")
    for task in assignment.tasks:
        cases, hidden = drawn[task.grade_id]
        result.tasks.append(judge_task(task, cases, hidden, runs.get(task.grade_id, TaskRun(failure="not run")),
                                       problems))
    result.log = "".join(log)[-8000:]
    result.seconds = round(time.monotonic() - started, 3)
    return result, rebuilt


def write_autograded(course, result, rebuilt):
    """autograded/<student>/<assignment>/: the rebuilt notebook (feedback in test cells) + results."""
    folder = course.autograded_dir(result.student, result.assignment)
    os.makedirs(folder, exist_ok=True)
    nb = nbformat.from_dict(rebuilt.notebook)
    by_id = {t.grade_id: t for t in result.tasks}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in by_id:
            # hidden tests stay out, so that no feedback made from this notebook can show them
            cell.source = HIDDEN_TESTS.sub("", cell.source).rstrip() + "\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                   text=format_result(by_id[grade_id]) + "\n")]
    path = os.path.join(folder, f"{result.assignment}.ipynb")
    nbformat.write(nb, path + ".part")
    os.replace(path + ".part", path)
    result.save(folder)


@dataclass
class BatchReport:
    graded: list = field(default_factory=list)    # SubmissionResults
    skipped: list = field(default_factory=list)   # students already graded
    errors: list = field(default_factory=list)    # (student, reason)
    seconds: float = 0.0

    @property
    def ok(self):
        return not self.errors


def grade_assignment(course_dir, assignment_id, workers=None, force=False, students=None,
                     progress=True, out=sys.stderr):
    """Grade submitted/*/<assignment_id>; -> BatchReport. Results go to the gradebook as they come."""
    from tqdm import tqdm

    started = time.monotonic()
    course = Course(course_dir)
    assignment = get_assignment(assignment_id)
    if not os.path.exists(course.source_notebook(assignment_id)):
        raise SystemExit(f"{course.source_notebook(assignment_id)} does not exist: run "
                         f"`python -m autograder build --course {course.root}` first")
    source_nb = nbformat.read(course.source_notebook(assignment_id), as_version=4)
    release_nb = (nbformat.read(course.release_notebook(assignment_id), as_version=4)
                  if os.path.exists(course.release_notebook(assignment_id)) else None)
    import torch  # trusted references; imported once here rather than racing in worker threads

    torch.set_num_threads(1)
    report = BatchReport()
    students = students or course.students_with_submissions(assignment_id)
    gb = gradebook.open_gradebook(course)
    try:
        todo = []
        for student in students:
            if not force and gradebook.is_graded(gb, assignment_id, student) and os.path.exists(
                    os.path.join(course.autograded_dir(student, assignment_id), RESULTS_FILE)):
                report.skipped.append(student)
            else:
                todo.append(student)
        mode = isolation.isolation_mode()
        print(f"grading {len(todo)} submission(s) of {assignment_id} with {workers or 1} worker(s), "
              f"isolation: {mode}" + (f" ({len(report.skipped)} already graded; --force regrades)"
                                      if report.skipped else ""), file=out)
        with ThreadPoolExecutor(max_workers=max(1, workers or 1)) as pool, \
                tqdm(total=len(todo), unit="submission", disable=not progress, file=out) as bar:
            futures = {pool.submit(grade_submission, course, assignment, s, source_nb, release_nb): s
                       for s in todo}
            for future in as_completed(futures):
                student = futures[future]
                try:
                    result, rebuilt = future.result()
                except Exception as exc:  # a grader bug must not stop the batch
                    result, rebuilt = SubmissionResult(student, assignment_id, error=f"grader error: {exc!r}"), None
                if not result.error:
                    try:
                        write_autograded(course, result, rebuilt)
                        gradebook.record(gb, result)
                        report.graded.append(result)
                    except Exception as exc:  # e.g. a locked database: this student only
                        result.error = f"could not record the result: {exc!r}"
                if result.error:
                    report.errors.append((student, result.error))
                    bar.write(f"{student}: not graded: {result.error}", file=out)
                bar.update(1)
    finally:
        gb.close()
    report.seconds = time.monotonic() - started
    print(f"graded {len(report.graded)}, could not grade {len(report.errors)}, "
          f"skipped {len(report.skipped)} in {report.seconds:.1f} s", file=out)
    return report
