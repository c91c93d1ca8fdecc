"""``python -m autograder grade``: every submission of an assignment, in parallel, into the gradebook.

Per submission (``grade_submission``, never raises): find and read the notebook, rebuild it from
the trusted source, draw the cases from a fresh secret seed, run the student's code in the
sandbox, judge every task here. The batch (``grade_assignment``) runs submissions on a thread
pool (the work happens in sandbox processes), shows a progress bar, and in the main thread saves
each result and commits it to the gradebook, one transaction per submission (with nbgrader's late
penalty). A submission is skipped only when its folder is unchanged since it was graded
(``submission_state``), unless ``force``; at the end it prints the class table (``class_table``).

Two kinds of "cannot grade" are kept apart. A submission the student broke (not JSON, no
notebook, an empty folder) is scored 0 with the reason, in the gradebook, the CSV and the
feedback page. A failure of the grader's own machinery (disk full, the sandbox did not start, a
grader bug) is never charged to the student: the submission is retried, then reported loudly as
NOT GRADED, and any earlier score of it is cleared, so that no stale grade survives a regrade.
Without a working sandbox the batch refuses to start (``isolation.py``).
"""
import contextlib
import os
import re
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field

import nbformat

from . import executors, gradebook, submission_state
from .class_table import print_class_table
from .limits import time_limits as measured_time_limits

from ..running import isolation
from .layout import Course, UsageError
from ..judging.judge import cell_error_text, judge_task
from ..running.rebuild import SubmissionError, read_notebook_file, rebuild
from ..judging.results import RESULTS_FILE, SubmissionResult, TaskResult
from ..running.runner import GraderFailure, SandboxTask, TaskRun, run_in_sandbox
from .selfcheck import format_result
from ..assignments import get_assignment
from ..judging.batch_cases import BatchCases
from ..judging.spec import output_keys
from ..judging.text import printable
from ..running.untrusted import read_regular_file

GRADER_RETRIES = 2   # extra attempts for a submission the grader itself failed on


HIDDEN_TESTS = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def find_notebook(folder, assignment):
    """Path of submitted/<student>/<assignment>/<assignment>.ipynb; SubmissionError otherwise."""
    expected = f"{assignment}.ipynb"
    path = os.path.join(folder, expected)
    if os.path.lexists(path):
        return path  # read_notebook_file refuses anything but a regular file
    if not os.path.isdir(folder):
        raise SubmissionError("no submission folder")
    present = sorted(f for f in os.listdir(folder)
                     if f not in ("timestamp.txt", "submission_secret.txt") and not f.startswith("."))
    if not present:
        raise SubmissionError("the submission folder is empty")
    notebooks = [printable(f, 60) for f in present if f.endswith(".ipynb")]
    if notebooks:
        raise SubmissionError(f"expected {expected} but found {', '.join(notebooks[:5])}; rename it to "
                              f"{expected} (the grader does not guess which file to grade)")
    raise SubmissionError(f"no {expected} in the submission folder (found: "
                          f"{', '.join(printable(f, 60) for f in present[:5])})")


def read_timestamp(folder):
    """nbgrader collect's timestamp.txt, if present and parseable; None otherwise."""
    from nbgrader.utils import parse_utc

    try:
        text = read_regular_file(os.path.join(folder, "timestamp.txt"), 100).decode("ascii").strip()
        parse_utc(text)
        return text
    except Exception:  # absent, not a plain file or unparseable: graded without a timestamp
        return None


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
                    problems[name] = (f"its cell '{grade_id}' {cell_error_text(error, task.forbidden)}, so the rest "
                                      f"of that cell never ran")
                elif grade_id in cell_failures:
                    problems[name] = f"its cell '{grade_id}' was stopped: {cell_failures[grade_id]}"
    return problems


def ungradable_result(assignment, student, reason, timestamp=None):
    """A submission the student broke: every task 0, with the reason, so it is recorded and shown."""
    result = SubmissionResult(student, assignment.assignment_id, timestamp=timestamp,
                              error=reason, status="ungradable")
    for task in assignment.tasks:
        result.tasks.append(TaskResult(task.grade_id, task.title, float(task.points), 0.0,
                                       error=f"Not graded: {reason}."))
    result.notes.append(f"Your submission could not be graded: {reason}.")
    return result


def grade_submission(course, assignment, student, source_nb, release_nb, seed=None, mode=None,
                     credit="all_or_nothing", time_limits=None, batch_cases=None, sandbox_slots=None):
    """-> (SubmissionResult, Rebuilt or None) for one student; never raises.

    time_limits: {grade_id: CPU seconds} (``limits.py``); a task not in it gets its spec's ceiling.
    batch_cases: the batch's ``BatchCases`` (cases and references shared by its submissions);
    without it, cases are drawn for this submission alone (from `seed`, default a fresh one).
    sandbox_slots: a semaphore held while the student's code runs (the batch's bound on
    sandboxes at once: judging happens outside it).

    result.status is "graded", "ungradable" (the student's doing: scored 0 with the reason) or
    "grader_failure" (the grader's own: not scored, error says why)."""
    started = time.monotonic()
    folder = course.submitted_dir(student, assignment.assignment_id)
    timestamp = read_timestamp(folder)
    try:
        rebuilt = rebuild(source_nb, read_notebook_file(find_notebook(folder, assignment.assignment_id)),
                          release_nb)
    except SubmissionError as exc:
        return ungradable_result(assignment, student, str(exc), timestamp), None
    try:
        result = _run_and_judge(course, assignment, student, rebuilt, batch_cases or BatchCases(assignment, seed),
                                mode, credit, time_limits or {}, sandbox_slots or contextlib.nullcontext())
    except isolation.SandboxUnavailable:
        raise
    except GraderFailure as exc:
        result = SubmissionResult(student, assignment.assignment_id, error=f"grader failure: {exc}",
                                  status="grader_failure")
    except Exception as exc:  # noqa: BLE001 - a grader bug is the grader's, never the student's
        result = SubmissionResult(student, assignment.assignment_id, status="grader_failure",
                                  error=f"grader failure: {type(exc).__name__}: {exc}")
    result.timestamp = timestamp
    result.seconds = round(time.monotonic() - started, 3)
    return result, rebuilt


def _run_and_judge(course, assignment, student, rebuilt, batch_cases, mode, credit, time_limits, sandbox_slots):
    result = SubmissionResult(student, assignment.assignment_id)
    result.notes = list(rebuilt.notes)
    result.unanswered = sorted(rebuilt.unanswered)
    drawn = batch_cases.drawn
    runs, groups = {}, {}
    for task in assignment.tasks:
        groups.setdefault((task.forbidden, task.allowed), []).append(task)
    limits = isolation.Limits(memory_bytes=assignment.memory_bytes)
    cell_errors, cell_failures, log = {}, {}, []
    for (forbidden, allowed), tasks in groups.items():
        sandbox_tasks = [SandboxTask(t.call, t.functions, drawn[t.grade_id][0], time_limits.get(t.grade_id, t.timeout),
                                     output_keys(t), t.measure_memory) for t in tasks]
        with sandbox_slots:
            run = run_in_sandbox(assignment.assignment_id, rebuilt.cells_to_run, sandbox_tasks, forbidden,
                                 allowed, limits, mode=mode)
        runs.update({t.grade_id: task_run for t, task_run in zip(tasks, run.tasks)})
        cell_errors.update(run.cell_errors)
        cell_failures.update(run.cell_failures)
        result.isolation = run.mode
        log.append(run.log)
    problems = _cell_problems(assignment, rebuilt, cell_errors, cell_failures)
    for grade_id, error in cell_errors.items():
        if grade_id not in rebuilt.unanswered:
            # cells run next to the hidden inputs: only trusted words about them are shown
            result.notes.append(f"Cell '{grade_id}' {cell_error_text(error)}.")
    for grade_id, reason in cell_failures.items():
        result.notes.append(f"Cell '{grade_id}' was stopped: {reason}.")
    for task in assignment.tasks:
        cases, hidden = drawn[task.grade_id]
        task_run = runs.get(task.grade_id, TaskRun(failure="not run"))
        result.tasks.append(judge_task(task, cases, hidden, task_run, problems, credit=credit,
                                       expected=None if task_run.failure else batch_cases.expected(task.grade_id)))
    result.log = "".join(log)[-8000:]
    return result


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
    graded: list = field(default_factory=list)    # SubmissionResults (ungradable ones too, scored 0)
    skipped: list = field(default_factory=list)   # students already graded
    errors: list = field(default_factory=list)    # (student, reason): ungradable or not graded
    not_graded: list = field(default_factory=list)  # students the grader itself failed on
    seconds: float = 0.0
    mode: str = ""
    earlier_manual: dict = field(default_factory=dict)  # {student: {grade_id: score}} kept from before

    @property
    def ok(self):
        return not self.errors


class Recorder:
    """Saves results into the gradebook and the submission state, and remembers what to report:
    the instructor's scores kept from an earlier submission ({student: {grade_id: score}})."""

    def __init__(self, course, gb, assignment_id, clear_manual=False):
        self.course, self.gb, self.assignment_id = course, gb, assignment_id
        self.clear_manual = clear_manual
        self.late_plugin = gradebook.late_penalty_plugin(course)
        self.fingerprints, self.earlier = {}, {}

    def changed(self, student):
        """True unless the submission is exactly what was graded last time (and still recorded)."""
        state = submission_state.load(self.course, student, self.assignment_id)
        now = self.fingerprints.setdefault(
            student, submission_state.fingerprint(self.course.submitted_dir(student, self.assignment_id)))
        return state is None or state["sha256"] != now or not (
            gradebook.is_graded(self.gb, self.assignment_id, student) and os.path.exists(
                os.path.join(self.course.autograded_dir(student, self.assignment_id), RESULTS_FILE)))

    def has_earlier_manual(self, student):
        state = submission_state.load(self.course, student, self.assignment_id)
        return bool(state and state.get("earlier_manual"))

    def record(self, result, rebuilt):
        """Save and commit one result; a failure here is the grader's (GraderFailure)."""
        student = result.student
        try:
            state = submission_state.load(self.course, student, self.assignment_id)
            sha = self.fingerprints.get(student) or submission_state.fingerprint(
                self.course.submitted_dir(student, self.assignment_id))
            # scores the instructor set before: on an earlier version when the folder changed
            # (no state: graded for the first time, or by a kit that kept none: nothing to flag)
            earlier = {} if state is None else (
                True if state["sha256"] != sha else state.get("earlier_manual") or {})
            if rebuilt is not None:
                write_autograded(self.course, result, rebuilt)
            else:
                result.save(self.course.autograded_dir(student, self.assignment_id))
            kept = gradebook.record(self.gb, result, self.late_plugin, earlier, self.clear_manual)
            submission_state.save(self.course, student, self.assignment_id, sha, result.timestamp, kept)
        except Exception as exc:  # e.g. disk full, a locked database
            raise GraderFailure(f"could not record the result: {type(exc).__name__}: {exc}") from None
        if kept:
            self.earlier[student] = kept

    def clear_stale(self, student):
        """A submission that could not be graded now keeps no earlier score or feedback source."""
        submission_state.forget(self.course, student, self.assignment_id)
        gradebook.clear(self.gb, self.assignment_id, student)
        path = os.path.join(self.course.autograded_dir(student, self.assignment_id), RESULTS_FILE)
        if os.path.exists(path):
            os.replace(path, path + ".stale")


def unknown_students(course, assignment_id, students):
    """The names in `students` with no submitted/<student>/<assignment_id>/ folder."""
    present = set(course.students_with_submissions(assignment_id))
    return [s for s in students if s not in present]


def grade_assignment(course_dir, assignment_id, workers=None, force=False, students=None,
                     progress=True, out=sys.stderr, allow_unsandboxed=False, scheduler=None,
                     clear_manual=False, table=True):
    """Grade submitted/*/<assignment_id>; -> BatchReport. Results go to the gradebook as they come.

    A submission is graded when it is new or its folder changed since it was graded (a
    resubmission, a renamed notebook); force regrades unchanged ones too. clear_manual drops the
    instructor's scores that were set on an earlier version of a submission (regrading it).
    scheduler: a Dask scheduler's address (tcp://HOST:8786) to grade on its workers
    (``executors.py``); without it, `workers` threads here.
    table: print the class's students x tasks table at the end.

    UsageError (one line) for an unknown assignment, a missing course or a concurrent batch;
    isolation.SandboxUnavailable when no sandbox works and allow_unsandboxed is not set."""
    from tqdm import tqdm

    started = time.monotonic()
    course = Course(course_dir).require_built()
    try:
        assignment = get_assignment(assignment_id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if not os.path.exists(course.source_notebook(assignment_id)):
        raise UsageError(f"{course.source_notebook(assignment_id)} does not exist: run "
                         f"`python -m autograder build --course {course.root}` first")
    unknown = unknown_students(course, assignment_id, students or [])
    if unknown:
        known = course.students_with_submissions(assignment_id)
        raise UsageError(f"no submission of {assignment_id} by {', '.join(repr(printable(s, 80)) for s in unknown)} "
                         f"in {course.path('submitted')} (students with one: "
                         f"{', '.join(printable(s, 40) for s in known[:20]) or 'none'}"
                         f"{', ...' if len(known) > 20 else ''}); nothing was graded")
    credit = course.settings()["partial_credit"]
    # on a cluster each worker checks its own sandbox (executors.py); here, this machine's
    mode = isolation.isolation_mode(allow_unsandboxed) if scheduler is None else "on Dask workers"
    if mode == "unsandboxed" or (scheduler and allow_unsandboxed):
        print(isolation.UNSANDBOXED_WARNING, file=out)
    with course.grading_lock():
        source_nb = nbformat.read(course.source_notebook(assignment_id), as_version=4)
        release_nb = (nbformat.read(course.release_notebook(assignment_id), as_version=4)
                      if os.path.exists(course.release_notebook(assignment_id)) else None)
        report = BatchReport(mode=mode)
        students = students or course.students_with_submissions(assignment_id)
        gb = gradebook.open_gradebook(course)
        try:
            recorder = Recorder(course, gb, assignment_id, clear_manual)
            todo = []
            for student in students:
                if force or recorder.changed(student) or (clear_manual and recorder.has_earlier_manual(student)):
                    todo.append(student)
                else:
                    report.skipped.append(student)
            pool = _open_executor(course, assignment, source_nb, release_nb, credit, mode,
                                  workers, scheduler, allow_unsandboxed, bool(todo))
            for note in pool.notes:
                print(printable(note, 500), file=out)
            print(f"grading {len(todo)} submission(s) of {assignment_id} with {pool.description}, "
                  f"isolation: {mode}" + (f" ({len(report.skipped)} unchanged since graded; --force "
                                          f"regrades them)" if report.skipped else ""), file=out)
            tries = {student: 0 for student in todo}
            with pool, tqdm(total=len(todo), unit="submission", disable=not progress, file=out) as bar:
                def submit(student):
                    tries[student] += 1
                    return pool.submit(student)

                futures = {submit(s): s for s in todo}
                while futures:
                    future = pool.next_done(futures)
                    student = futures.pop(future)
                    name = printable(student, 80)
                    try:
                        result, rebuilt = pool.result(future)
                        if result.status == "grader_failure":
                            raise GraderFailure(result.error)
                        recorder.record(result, rebuilt)
                    except GraderFailure as exc:
                        if tries[student] <= GRADER_RETRIES:
                            bar.write(f"{name}: grader failure, retrying: {printable(exc, 300)}", file=out)
                            futures[submit(student)] = student
                            continue
                        reason = f"NOT GRADED (grader failure, not the student's doing): {exc}"
                        try:
                            recorder.clear_stale(student)
                        except Exception as clear_exc:  # noqa: BLE001 - reported with the rest
                            reason += f"; its earlier score could not be cleared either: {clear_exc!r}"
                        report.errors.append((student, reason))
                        report.not_graded.append(student)
                        bar.write(f"{name}: {printable(reason, 500)}", file=out)
                        bar.update(1)
                        continue
                    report.graded.append(result)
                    if result.status == "ungradable":
                        report.errors.append((student, result.error))
                        bar.write(f"{name}: scored 0, the submission cannot be graded: "
                                  f"{printable(result.error, 300)}", file=out)
                    bar.update(1)
            report.earlier_manual = recorder.earlier
        finally:
            gb.close()
    report.seconds = time.monotonic() - started
    ungradable = len(report.errors) - len(report.not_graded)
    print(f"graded {len(report.graded) - ungradable}, ungradable (scored 0) {ungradable}, "
          f"NOT GRADED {len(report.not_graded)}, skipped {len(report.skipped)} "
          f"in {report.seconds:.1f} s", file=out)
    if report.not_graded:
        print(f"NOT GRADED because the grader failed (rerun `grade` to retry them): "
              f"{', '.join(printable(s, 80) for s in report.not_graded)}", file=out)
    for student, kept in sorted(report.earlier_manual.items()):
        print(f"{printable(student, 80)}: score set by the instructor on an earlier submission kept for "
              f"{', '.join(f'{k} ({v:g})' for k, v in sorted(kept.items()))}; to use the new grades "
              f"instead: python -m autograder grade {assignment_id} --student {printable(student, 80)} "
              f"--clear-manual", file=out)
    if table:
        print_class_table(course, assignment, out=out)
    return report


# --- where the batch's jobs run (executors.py) -----------------------------------------------
_notebooks = {}
_notebooks_lock = threading.Lock()


def _course_notebooks(course, assignment_id):
    """(source, release or None, key) of the course, read once per process and file version."""
    source_path, release_path = course.source_notebook(assignment_id), course.release_notebook(assignment_id)
    key = (source_path, os.stat(source_path).st_mtime_ns,
           os.stat(release_path).st_mtime_ns if os.path.exists(release_path) else None)
    with _notebooks_lock:
        if key not in _notebooks:
            source = nbformat.read(source_path, as_version=4)
            release = nbformat.read(release_path, as_version=4) if key[2] is not None else None
            _notebooks[key] = (source, release)
        return _notebooks[key] + (key,)


_torch_lock = threading.Lock()


def _trusted_torch():
    """torch for the references, on one thread (the sandboxes use the cores). Imported by the
    first caller; a second caller waits for that import to finish (never two racing)."""
    with _torch_lock:
        import torch

        torch.set_num_threads(1)


def _import_torch_in_background():
    """Start importing torch (seconds) while the batch measures its limits and starts its
    sandboxes, which need no torch here; the first reference waits for it (``BatchCases``)."""
    threading.Thread(target=_trusted_torch, name="import-torch", daemon=True).start()


_batch_cases = {}   # batch id -> BatchCases, on a Dask worker (the last few batches)


def _worker_batch_cases(assignment, batch_id):
    """This worker's cases of batch `batch_id`: drawn once per batch (from this worker's own
    secret seed), so a new run of ``grade`` gets fresh cases and a batch's references are
    computed once per worker."""
    with _notebooks_lock:
        if batch_id not in _batch_cases:
            while len(_batch_cases) >= 4:
                _batch_cases.pop(next(iter(_batch_cases)))
            _batch_cases[batch_id] = BatchCases(assignment)
        return _batch_cases[batch_id]


def grade_on_worker(course_root, assignment_id, credit, allow_unsandboxed, batch_id, student):
    """One Dask job: grade `student`'s submission on this worker -> (SubmissionResult, Rebuilt).

    Fails closed: without a working sandbox here it raises SandboxUnavailable (the batch then
    counts it as the grader's failure and retries it elsewhere), never grades without one."""
    mode = isolation.isolation_mode(allow_unsandboxed)
    course = Course(course_root)
    assignment = get_assignment(assignment_id)
    source_nb, release_nb, key = _course_notebooks(course, assignment_id)
    _trusted_torch()
    batch_cases = _worker_batch_cases(assignment, batch_id)
    limits = measured_time_limits(assignment, source_nb, release_nb, mode, key=key, drawn=batch_cases.drawn)
    return grade_submission(course, assignment, student, source_nb, release_nb, mode=mode, credit=credit,
                            time_limits=limits, batch_cases=batch_cases)


def _open_executor(course, assignment, source_nb, release_nb, credit, mode, workers=None, scheduler=None,
                   allow_unsandboxed=False, measure=True):
    """The executor of one batch: on the Dask cluster at `scheduler`, else threads here whose
    jobs share the time limits measured once (``limits.py``; with nothing to grade, `measure`
    False, the ceilings)."""
    if scheduler:
        return executors.DaskExecutor(scheduler, grade_on_worker,
                                      (course.root, assignment.assignment_id, credit, allow_unsandboxed,
                                       secrets.token_hex(16)),
                                      f"grade-{assignment.assignment_id}", allow_unsandboxed)
    _import_torch_in_background()
    batch_cases = BatchCases(assignment, prepare=_trusted_torch)
    if measure:
        batch_cases.compute_in_background()
    limits = (measured_time_limits(assignment, source_nb, release_nb, mode, drawn=batch_cases.drawn,
                                   key=os.stat(course.source_notebook(assignment.assignment_id)).st_mtime_ns)
              if measure else {})

    workers = max(1, workers or 1)
    sandbox_slots = threading.BoundedSemaphore(workers)

    def job(student):
        return grade_submission(course, assignment, student, source_nb, release_nb, mode=mode,
                                credit=credit, time_limits=limits, batch_cases=batch_cases,
                                sandbox_slots=sandbox_slots)
    # twice as many submissions in flight as sandboxes: while one waits for its references or
    # is judged, the next one's code already runs
    return executors.ThreadExecutor(workers, job, threads=2 * workers)
