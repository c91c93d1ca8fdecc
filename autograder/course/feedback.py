"""``python -m autograder feedback``: one self-contained HTML page per student and assignment.

Scores come from the gradebook: a score set in formgrader shows, saying the instructor set it
(and when it was set on an earlier version of the submission), as do the written answers and
tasks graded by hand, the instructor's comments, the lateness and nbgrader's late penalty. The
explanations come from the grader's saved results. The page shows, per task, the score and, for a
failed check, what went wrong and the named mistake, but never hidden test code or hidden inputs:
neither is stored in the results.
"""
import html
import os

from .layout import Course, UsageError
from . import submission_state
from .gradebook import (CellScore, SubmissionScores, late_penalty_plugin, open_gradebook,
                        refresh_late_penalties, submission_scores)
from ..judging.results import RESULTS_FILE, SubmissionResult, status_of
from ..assignments import get_assignment
from ..judging.text import printable
from ..running.untrusted import UntrustedDataError, read_regular_file

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
.total { font-size: 1.2rem; margin: 0.5rem 0 1.5rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
.passed { color: #17692c; } .partial { color: #9a6700; } .failed { color: #b42318; }
.task { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 1rem; margin: 0.8rem 0; }
.task h3 { margin: 0.2rem 0 0.4rem; font-size: 1.05rem; }
.check { margin: 0.3rem 0 0.3rem 0.5rem; }
.mistake { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.3rem 0.6rem; margin: 0.3rem 0 0.3rem 1rem; }
.notes li { margin: 0.2rem 0; }
code { background: #f3f3f3; padding: 0 0.2rem; }
.comment { background: #eef4ff; border-left: 4px solid #3b6fd8; padding: 0.3rem 0.6rem; margin: 0.3rem 0; }
.late { background: #fdecea; border-left: 4px solid #b42318; padding: 0.4rem 0.7rem; margin: 0 0 1rem; }
.override { color: #6b4e00; }
footer { color: #666; font-size: 0.85rem; margin-top: 2rem; }
"""


def _esc(text):
    # lone surrogates (from a student's exception message) cannot be written as UTF-8: escape them
    return html.escape(str(text).encode("utf-8", "backslashreplace").decode("utf-8"), quote=True)


def _as_view(result, scores):
    """SubmissionScores for the page: the gradebook's, or (no gradebook row) the saved results'
    with {grade_id: score} overrides."""
    if isinstance(scores, SubmissionScores):
        return scores
    scores = scores or {}
    return SubmissionScores([CellScore(t.grade_id, "auto", float(t.points), float(scores.get(t.grade_id, t.score)))
                             for t in result.tasks])


def _who_set(cell, view):
    if cell.manual_score is None or cell.graded_by_hand:
        return ""
    if view.earlier_manual.get(cell.grade_id) == float(cell.manual_score):
        return "score set by the instructor on an earlier submission"
    return "score set by your instructor"


def _comment(text):
    return f"<div class='comment'><b>Your instructor's comment:</b> {_esc(text)}</div>"


def _lateness(view):
    if not view.seconds_late:
        return ""
    from .class_table import _duration

    when = f"submitted {view.timestamp:%Y-%m-%d %H:%M:%S} UTC, " if view.timestamp else ""
    due = f" (due {view.duedate:%Y-%m-%d %H:%M:%S} UTC)" if view.duedate else ""
    penalty = (f"late penalty: <b>&minus;{view.late_penalty:g}</b> points" if view.late_penalty
               else "no late penalty")
    return (f"<div class='late'>Late: {when}{_esc(_duration(view.seconds_late))} after the due date"
            f"{due}; {penalty}.</div>")


def render(result, scores=None):
    """HTML page for a SubmissionResult. scores: the gradebook's SubmissionScores (instructor's
    scores, written answers, comments, late penalty), or {grade_id: score} overriding the saved
    task scores."""
    view = _as_view(result, scores)
    cells = {c.grade_id: c for c in view.cells}
    task_ids = {t.grade_id for t in result.tasks}
    shown_comments = set()
    rows, details = [], []
    for task in result.tasks:
        cell = cells.get(task.grade_id) or CellScore(task.grade_id, "auto", float(task.points), task.score)
        score = cell.score
        status = status_of(score, task.points)
        who = _who_set(cell, view)
        rows.append(f"<tr><td>{_esc(task.title)}</td><td class='{status}'>{score:g} / {task.points:g}</td>"
                    f"<td class='{status}'>{status}" + (f"<br><small>{_esc(who)}</small>" if who else "")
                    + "</td></tr>")
        comments = [(g, view.comments[g]) for g in [task.grade_id, *_answer_cells(result, task)]
                    if view.comments.get(g)]
        shown_comments.update(g for g, _ in comments)
        if status == "passed" and not comments and not who:
            continue
        parts = [f"<div class='task'><h3 class='{status}'>{_esc(task.title)}: {score:g} / {task.points:g}</h3>"]
        if who:
            parts.append(f"<p class='override'>{_esc(who)} (the grader's checks gave {task.score:g}).</p>")
        parts.extend(_comment(text) for _, text in comments)
        if task.error:
            parts.append(f"<p>{_esc(task.error)}</p>")
        for check in task.checks if status != "passed" else []:
            mark = "&#10003;" if check.passed else "&#10007;"
            css = "passed" if check.passed else "failed"
            parts.append(f"<div class='check'><span class='{css}'>{mark}</span> <b>{_esc(check.name)}</b>"
                         + (f": {_esc(check.message)}" if check.message else "") + "</div>")
            for mistake in check.mistakes:
                parts.append(f"<div class='mistake'><b>Likely mistake</b> "
                             f"(<code>{_esc(mistake['code'])}</code>): {_esc(mistake['message'])}</div>")
        parts.append("</div>")
        details.append("".join(parts))
    written = []
    for cell in view.cells:
        if cell.grade_id in task_ids or not cell.graded_by_hand:
            continue
        what = "Written answer" if cell.kind == "written" else "Task"
        if cell.manual_score is None:
            score_text, status = f"not graded yet / {cell.max_score:g}", "partial"
        else:
            score_text, status = f"{cell.score:g} / {cell.max_score:g}", status_of(cell.score, cell.max_score)
        rows.append(f"<tr><td>{what} <code>{_esc(cell.grade_id)}</code></td><td class='{status}'>"
                    f"{score_text}</td><td class='{status}'>graded by your instructor</td></tr>")
        earlier = (" <small>(score set by the instructor on an earlier submission)</small>"
                   if cell.manual_score is not None
                   and view.earlier_manual.get(cell.grade_id) == float(cell.manual_score) else "")
        text = view.comments.get(cell.grade_id)
        shown_comments.add(cell.grade_id)
        written.append(f"<div class='task'><h3 class='{status}'>{what} <code>{_esc(cell.grade_id)}</code>: "
                       f"{score_text}{earlier}</h3>" + (_comment(text) if text else "") + "</div>")
    other = [(g, t) for g, t in sorted(view.comments.items()) if g not in shown_comments and t]
    written.extend(f"<div class='task'><h3>Cell <code>{_esc(g)}</code></h3>{_comment(t)}</div>" for g, t in other)
    notes = "".join(f"<li>{_esc(n)}</li>" for n in result.notes)
    total = (f"Score: <b>{view.score:g} / {view.max_score:g}</b>"
             + (f" (after a late penalty of {view.late_penalty:g}: {view.raw_score:g} before it)"
                if view.late_penalty else ""))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{_esc(result.assignment)}: feedback for {_esc(result.student)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{_esc(result.assignment)}: feedback for {_esc(result.student)}</h1>
<div class="total">{total}</div>
{_lateness(view)}
<table><thead><tr><th>Task</th><th>Score</th><th>Status</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{'<h2>About your notebook</h2><ul class="notes">' + notes + '</ul>' if notes else ''}
{'<h2>What to fix</h2>' + ''.join(details) if details else '<p>Everything passed. Well done.</p>'}
{'<h2>Graded by your instructor</h2>' + ''.join(written) if written else ''}
<footer>Graded by running your answer cells, after the notebook's read-only setup cells, on inputs
drawn at grading time. Code in cells you added yourself is not run. "Relative error" is
max|a - b| / max(1e-8, max(|a| + |b|)).</footer>
</body></html>
"""


def _answer_cells(result, task):
    """The answer cells of a task (their comments belong with it), from the assignment's specs."""
    try:
        spec = next(t for t in get_assignment(result.assignment).tasks if t.grade_id == task.grade_id)
    except (KeyError, StopIteration):
        return []
    return list(spec.answer_cells)


def _copy_exchange_files(course, student, assignment):
    """nbgrader release_feedback needs the submission's timestamp.txt and submission_secret.txt
    next to the page (nbgrader generate_feedback copies them; so do we). -> missing names."""
    missing = []
    for name, limit in (("timestamp.txt", 200), ("submission_secret.txt", 1024)):
        source = os.path.join(course.submitted_dir(student, assignment), name)
        try:
            data = read_regular_file(source, limit)
        except UntrustedDataError:
            missing.append(name)
            continue
        dest = os.path.join(os.path.dirname(course.feedback_html(student, assignment)), name)
        with open(dest + ".part", "wb") as fh:
            fh.write(data)
        os.replace(dest + ".part", dest)
    return missing


def write_feedback(course_dir, assignment, students=None, out=print):
    """Write feedback/<student>/<assignment>/<assignment>.html for every graded student.

    Each page is written on its own: one that fails is reported and the others are still written.
    UsageError for an unknown assignment or a missing course."""
    course = Course(course_dir).require_built()
    try:
        get_assignment(assignment)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    written, failed, no_secret = [], [], []
    order = course.cell_order(assignment)
    gb = open_gradebook(course)
    try:
        # scores set in formgrader since `grade` (a written answer) count in the penalty too
        refresh_late_penalties(gb, assignment, late_penalty_plugin(course))
        for student in students or course.students_with_submissions(assignment):
            folder = course.autograded_dir(student, assignment)
            if not os.path.exists(os.path.join(folder, RESULTS_FILE)):
                continue
            try:
                result = SubmissionResult.load(folder)
                scores = submission_scores(gb, assignment, student, order)
                if scores is not None:
                    state = submission_state.load(course, student, assignment) or {}
                    scores.earlier_manual = dict(state.get("earlier_manual") or {})
                path = course.feedback_html(student, assignment)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".part", "w", encoding="utf-8") as fh:
                    fh.write(render(result, scores))
                os.replace(path + ".part", path)
                if _copy_exchange_files(course, student, assignment):
                    no_secret.append(student)
                written.append(path)
            except Exception as exc:  # noqa: BLE001 - one student's page must not stop the others
                failed.append(student)
                out(f"feedback for {printable(student, 80)} could not be written: "
                    f"{printable(f'{type(exc).__name__}: {exc}', 300)}")
    finally:
        gb.close()
    out(f"wrote feedback for {len(written)} student(s) under {course.path('feedback')}"
        + (f"; FAILED for {len(failed)}: {', '.join(printable(s, 80) for s in failed)}" if failed else ""))
    if not written and not failed:
        out(f"no graded submissions of {assignment} in {course.root}: run "
            f"`python -m autograder grade {assignment}` first")
    if no_secret:
        out(f"note: {len(no_secret)} submission(s) were not collected through nbgrader's exchange "
            f"(no submission_secret.txt), so nbgrader release_feedback cannot release their pages")
    return written
