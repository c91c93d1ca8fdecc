"""``python -m autograder export``: per-task scores from the gradebook as CSV.

``nbgrader export`` gives one total per student and assignment (``DIR/grades.csv``); this adds a
column per graded test cell, read through nbgrader's API, so manual overrides from the
formgrader are included, into ``DIR/per_task_grades.csv`` (a different name, so neither
overwrites the other). A submission the grader could not grade has empty cells, not zeros.
"""
import csv
import os

from .layout import PER_TASK_CSV, Course, UsageError
from .gradebook import open_gradebook
from .integrity import flag_counts  # the integrity report's count: flags for a human, not penalties
from nbgrader.api import MissingEntry


def _cell(value):
    """A CSV cell that a spreadsheet will not run as a formula (student ids come from folders)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gradebook_rows(course, assignment=None):
    """([column names], [row dicts]): one row per submission, one column per grade cell."""
    gb = open_gradebook(course)
    try:
        try:
            assignments = [gb.find_assignment(assignment)] if assignment else list(gb.assignments)
        except MissingEntry:
            raise UsageError(f"no assignment {assignment!r} in {course.gradebook} (known: "
                             f"{', '.join(a.name for a in gb.assignments) or 'none'})") from None
        columns, rows, flags = ["student", "assignment"], [], {}
        for a in assignments:
            cells = [cell.name for nb in a.notebooks for cell in nb.grade_cells]
            columns += [c for c in cells if c not in columns]
            max_score = sum(cell.max_score for nb in a.notebooks for cell in nb.grade_cells)
            for student in sorted(gb.students, key=lambda s: s.id):
                try:
                    submission = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    continue
                row = {"student": _cell(student.id), "assignment": a.name}
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        row[grade.cell.name] = "" if grade.score is None else round(float(grade.score), 4)
                values = [row.get(c, "") for c in cells]
                row["total"] = "" if "" in values else round(sum(values), 4)
                row["max_score"] = max_score
                row["integrity_flags"] = flags.setdefault(a.name, flag_counts(course.root, a.name)).get(student.id, "")
                rows.append(row)
        return columns + ["total", "max_score", "integrity_flags"], rows
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
