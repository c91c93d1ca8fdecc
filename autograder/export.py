"""``python -m autograder export``: per-task scores from the gradebook as CSV.

``nbgrader export`` gives one total per student and assignment; this adds a column per graded
test cell, read through nbgrader's API, so manual overrides from the formgrader are included.
"""
import csv
import os

from .course import Course
from .gradebook import open_gradebook
from nbgrader.api import MissingEntry


def gradebook_rows(course, assignment=None):
    """([column names], [row dicts]): one row per submission, one column per grade cell."""
    gb = open_gradebook(course)
    try:
        assignments = [gb.find_assignment(assignment)] if assignment else list(gb.assignments)
        columns, rows = ["student", "assignment"], []
        for a in assignments:
            cells = [cell.name for nb in a.notebooks for cell in nb.grade_cells]
            columns += [c for c in cells if c not in columns]
            max_score = sum(cell.max_score for nb in a.notebooks for cell in nb.grade_cells)
            for student in sorted(gb.students, key=lambda s: s.id):
                try:
                    submission = gb.find_submission(a.name, student.id)
                except MissingEntry:
                    continue
                row = {"student": student.id, "assignment": a.name}
                for nb in submission.notebooks:
                    for grade in nb.grades:
                        row[grade.cell.name] = round(float(grade.score), 4)
                row["total"] = round(sum(row.get(c, 0.0) for c in cells), 4)
                row["max_score"] = max_score
                rows.append(row)
        return columns + ["total", "max_score"], rows
    finally:
        gb.close()


def export_csv(course_dir, assignment=None, to=None, out=print):
    """Write the CSV (default DIR/grades.csv); returns its path."""
    course = Course(course_dir)
    columns, rows = gradebook_rows(course, assignment)
    path = to or course.path("grades.csv")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    out(f"wrote {len(rows)} row(s) to {path}")
    return path
