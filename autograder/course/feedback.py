"""``python -m autograder feedback``: one self-contained HTML page per student and assignment.

Scores come from the gradebook (so a manual override made in the formgrader shows); the
explanations come from the grader's saved results. The page shows, per task, the score and, for a
failed check, what went wrong and the named mistake, but never hidden test code or hidden inputs:
neither is stored in the results.
"""
import html
import os

from .layout import Course, UsageError
from .gradebook import open_gradebook
from ..judging.results import RESULTS_FILE, SubmissionResult, status_of
from ..assignments import get_assignment
from ..judging.text import printable
from ..running.untrusted import UntrustedDataError, read_regular_file
from nbgrader.api import MissingEntry

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
footer { color: #666; font-size: 0.85rem; margin-top: 2rem; }
"""


def _esc(text):
    # lone surrogates (from a student's exception message) cannot be written as UTF-8: escape them
    return html.escape(str(text).encode("utf-8", "backslashreplace").decode("utf-8"), quote=True)


def render(result, scores=None):
    """HTML page for a SubmissionResult; scores: {grade_id: score} overriding the saved ones."""
    scores = scores or {}
    total = sum(scores.get(t.grade_id, t.score) for t in result.tasks)
    rows, details = [], []
    for task in result.tasks:
        score = scores.get(task.grade_id, task.score)
        status = status_of(score, task.points)
        rows.append(f"<tr><td>{_esc(task.title)}</td><td class='{status}'>{score:g} / {task.points:g}</td>"
                    f"<td class='{status}'>{status}</td></tr>")
        if status == "passed":
            continue
        parts = [f"<div class='task'><h3 class='{status}'>{_esc(task.title)}: {score:g} / {task.points:g}</h3>"]
        if task.error:
            parts.append(f"<p>{_esc(task.error)}</p>")
        for check in task.checks:
            mark = "&#10003;" if check.passed else "&#10007;"
            css = "passed" if check.passed else "failed"
            parts.append(f"<div class='check'><span class='{css}'>{mark}</span> <b>{_esc(check.name)}</b>"
                         + (f": {_esc(check.message)}" if check.message else "") + "</div>")
            for mistake in check.mistakes:
                parts.append(f"<div class='mistake'><b>Likely mistake</b> "
                             f"(<code>{_esc(mistake['code'])}</code>): {_esc(mistake['message'])}</div>")
        parts.append("</div>")
        details.append("".join(parts))
    notes = "".join(f"<li>{_esc(n)}</li>" for n in result.notes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{_esc(result.assignment)}: feedback for {_esc(result.student)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{_esc(result.assignment)}: feedback for {_esc(result.student)}</h1>
<div class="total">Score: <b>{total:g} / {result.max_score:g}</b></div>
<table><thead><tr><th>Task</th><th>Score</th><th>Status</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{'<h2>About your notebook</h2><ul class="notes">' + notes + '</ul>' if notes else ''}
{'<h2>What to fix</h2>' + ''.join(details) if details else '<p>Everything passed. Well done.</p>'}
<footer>Graded by running your answer cells, after the notebook's read-only setup cells, on inputs
drawn at grading time. Code in cells you added yourself is not run. "Relative error" is
max|a - b| / max(1e-8, max(|a| + |b|)).</footer>
</body></html>
"""


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
    gb = open_gradebook(course)
    try:
        for student in students or course.students_with_submissions(assignment):
            folder = course.autograded_dir(student, assignment)
            if not os.path.exists(os.path.join(folder, RESULTS_FILE)):
                continue
            try:
                result = SubmissionResult.load(folder)
                try:
                    submission = gb.find_submission(assignment, student)
                    scores = {g.cell.name: float(g.score) for nb in submission.notebooks for g in nb.grades
                              if g.score is not None}
                except MissingEntry:
                    scores = {}
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
