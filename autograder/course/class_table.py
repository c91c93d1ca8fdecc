"""The class at a glance after ``grade``: students x tasks from the gradebook, as ``demo`` prints.

Scores are the gradebook's (the instructor's formgrader scores included, marked ``*``), then the
hand-graded cells (``?`` until graded), the late penalty and the total after it. Below the table:
who was late, who could not be graded and why, who was not graded, and where the pages go.
"""
import os
import sys

from .gradebook import class_scores, open_gradebook
from ..judging.results import RESULTS_FILE, SubmissionResult
from ..judging.text import printable


def _cell_text(cell):
    if cell.graded_by_hand and cell.manual_score is None:
        return f"?/{cell.max_score:g}"
    mark = "*" if cell.manual_score is not None and not cell.graded_by_hand else ""
    return f"{cell.score:g}/{cell.max_score:g}{mark}"


def _status(course, assignment_id, student):
    """(status, reason) from the saved results: "graded", "ungradable" or "not graded"."""
    folder = course.autograded_dir(student, assignment_id)
    if not os.path.exists(os.path.join(folder, RESULTS_FILE)):
        return "not graded", ""
    try:
        result = SubmissionResult.load(folder)
    except (OSError, ValueError, TypeError):
        return "not graded", "its results cannot be read"
    return result.status, result.error


def class_table(course, assignment):
    """(table text, [lines below it]) for every student with a submission of the assignment."""
    assignment_id = assignment.assignment_id
    short = {t.grade_id: t.short_name or t.grade_id for t in assignment.tasks}
    order = course.cell_order(assignment_id)
    students = course.students_with_submissions(assignment_id)
    gb = open_gradebook(course)
    try:
        found = class_scores(gb, assignment_id, order)
        rows = {s: found.get(s) for s in students}
    finally:
        gb.close()
    columns = next((r.cells for r in rows.values() if r is not None), [])
    names = [short.get(c.grade_id, c.grade_id)[:10] for c in columns]
    width = max([8] + [len(printable(s, 40)) for s in students])
    late_column = any(r is not None and r.seconds_late > 0 for r in rows.values())
    head = (f"{'student':<{width}} " + " ".join(f"{n:>10}" for n in names)
            + (f" {'late pen.':>9}" if late_column else "") + f" {'total':>8}")
    lines, below = [head, "-" * len(head)], []
    for student in students:
        scores, (status, reason) = rows[student], _status(course, assignment_id, student)
        name = printable(student, 40)
        if scores is None or status == "not graded":
            lines.append(f"{name:<{width}} " + " ".join(f"{'-':>10}" for _ in names)
                         + (f" {'':>9}" if late_column else "") + f" {'NOT GRADED':>8}")
            below.append(f"not graded: {name}" + (f" ({reason})" if reason else "")
                         + f": run `python -m autograder grade {assignment_id}` again")
            continue
        cells = {c.grade_id: c for c in scores.cells}
        texts = [_cell_text(cells[c.grade_id]) if c.grade_id in cells else "-" for c in columns]
        penalty = f"-{scores.late_penalty:g}" if scores.late_penalty else ""
        lines.append(f"{name:<{width}} " + " ".join(f"{t:>10}" for t in texts)
                     + (f" {penalty:>9}" if late_column else "")
                     + f" {scores.score:>5g}/{scores.max_score:g}")
        if scores.seconds_late > 0:
            below.append(f"late: {name}, {_duration(scores.seconds_late)} after the due date, "
                         f"penalty {scores.late_penalty:g}")
        if status == "ungradable":
            below.append(f"ungradable (scored 0): {name}: {printable(reason, 200)}")
        waiting = [c.grade_id for c in scores.cells if c.graded_by_hand and c.manual_score is None]
        if waiting:
            below.append(f"to grade by hand in formgrader: {name}: {', '.join(waiting)}")
    if any("*" in line for line in lines[2:]):
        below.append("* score set by the instructor in formgrader (it counts instead of the kit's)")
    below.append(f"feedback pages: `python -m autograder feedback {assignment_id}` writes "
                 f"{course.path('feedback', '<student>', assignment_id, assignment_id + '.html')}")
    return "\n".join(lines), below


def _duration(seconds):
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"] * bool(minutes)
    return " ".join(parts + [f"{secs} s"] * (bool(secs) or not parts))


def print_class_table(course, assignment, out=sys.stderr):
    table, below = class_table(course, assignment)
    print("", file=out)
    print(table, file=out)
    print("", file=out)
    for line in below:
        print(line, file=out)
