"""``python -m autograder export``: per-task scores from the gradebook as CSV.

``nbgrader export`` gives one total per student and assignment (``DIR/grades.csv``); this adds a
column per graded cell (test cells, then written answers and tasks graded by hand), the late
penalty and the total after it, read through nbgrader's API, so scores set in formgrader are
included, into ``DIR/per_task_grades.csv`` (a different name, so neither
overwrites the other). A submission the grader could not grade has empty cells, not zeros.
"""
import csv
import os

from .layout import PER_TASK_CSV, Course, UsageError
from .gradebook import late_penalty_plugin, open_gradebook, refresh_late_penalties, class_scores
from .integrity import flag_counts  # the integrity report's count: flags for a human, not penalties
from nbgrader.api import MissingEntry


def _cell(value):
    """A CSV cell that a spreadsheet will not run as a formula (student ids come from folders)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gradebook_rows(course, assignment=None):
    """([column names], [row dicts]): one row per submission, one column per graded cell (the
    kit's test cells, then written answers and task cells graded by hand), the late penalty and
    the total after it, as nbgrader's own export computes it."""
    gb = open_gradebook(course)
    try:
        try:
            assignments = [gb.find_assignment(assignment)] if assignment else list(gb.assignments)
        except MissingEntry:
            raise UsageError(f"no assignment {assignment!r} in {course.gradebook} (known: "
                             f"{', '.join(a.name for a in gb.assignments) or 'none'})") from None
        plugin = late_penalty_plugin(course)
        columns, rows, flags = ["student", "assignment"], [], {}
        for a in assignments:
            refresh_late_penalties(gb, a.name, plugin)
            cells = [cell.name for nb in a.notebooks for cell in list(nb.grade_cells) + list(nb.task_cells)]
            columns += [c for c in cells if c not in columns]
            max_score = sum(cell.max_score for nb in a.notebooks
                            for cell in list(nb.grade_cells) + list(nb.task_cells))
            submitted = class_scores(gb, a.name)
            for student in sorted(gb.students, key=lambda s: s.id):
                scores = submitted.get(student.id)
                if scores is None:
                    continue
                row = {"student": _cell(student.id), "assignment": a.name}
                for cell in scores.cells:
                    ungraded = cell.auto_score is None and cell.manual_score is None
                    # a kit cell with no score: the grader could not grade it (never a zero)
                    row[cell.grade_id] = "" if ungraded and not cell.graded_by_hand else round(cell.score, 4)
                values = [row.get(c, "") for c in cells]
                row["late_penalty"] = round(scores.late_penalty, 4)
                row["total"] = "" if "" in values else round(scores.score, 4)
                row["max_score"] = max_score
                row["integrity_flags"] = flags.setdefault(a.name, flag_counts(course.root, a.name)).get(student.id, "")
                rows.append(row)
        return columns + ["late_penalty", "total", "max_score", "integrity_flags"], rows
    finally:
        gb.close()


def export_csv(course_dir, assignment=None, to=None, out=print):
    """Write the CSV (default DIR/per_task_grades.csv); returns its path."""
    course = Course(course_dir).require_built()
    columns, rows = gradebook_rows(course, assignment)
    path = to or course.path(PER_TASK_CSV)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    out(f"wrote {len(rows)} row(s) to {path}")
    return path
