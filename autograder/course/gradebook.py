"""Writing scores into nbgrader's gradebook through nbgrader's own API (``nbgrader.api``).

One submission is one database transaction: the submission, its notebook, a Grade per test cell
with ``auto_score`` and a Comment per answer cell are created (or updated, when regrading) and
committed together, so a batch killed at any moment leaves every submission either fully graded
or absent. ``nbgrader export``, the formgrader and ``python -m autograder export`` read the same
rows. Only the trusted grading process opens the gradebook.
"""
from nbgrader import utils
from nbgrader.api import (Comment, Grade, Gradebook, MissingEntry, Student, SubmittedAssignment,
                          SubmittedNotebook)

from .layout import COURSE_ID


def open_gradebook(course):
    return Gradebook(course.db_url, course_id=COURSE_ID)


def is_graded(gb, assignment, student):
    """True when every grade of the student's submission has an auto_score."""
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    grades = [grade for nb in submission.notebooks for grade in nb.grades]
    return bool(grades) and all(grade.auto_score is not None for grade in grades)


def _ensure_rows(gb, submission, assignment):
    """Create the SubmittedNotebook, Grade and Comment rows nbgrader expects, where missing."""
    for notebook in assignment.notebooks:
        nb = next((n for n in submission.notebooks if n.notebook_id == notebook.id), None)
        if nb is None:
            nb = SubmittedNotebook(notebook=notebook, assignment=submission)
            gb.db.add(nb)
        graded = {g.cell_id for g in nb.grades}
        commented = {c.cell_id for c in nb.comments}
        for cell in list(notebook.grade_cells) + list(notebook.task_cells):
            if cell.id not in graded:
                gb.db.add(Grade(cell=cell, notebook=nb))
        for cell in list(notebook.solution_cells) + list(notebook.task_cells):
            if cell.id not in commented:
                gb.db.add(Comment(cell=cell, notebook=nb))


def record(gb, result):
    """Store a SubmissionResult's task scores as the auto scores of the matching grade cells.

    Everything happens in one transaction, committed at the end (or rolled back on error)."""
    scores = {task.grade_id: task.score for task in result.tasks}
    unanswered = set(result.unanswered)
    try:
        with gb.db.no_autoflush:
            try:
                student = gb.find_student(result.student)
            except MissingEntry:
                student = Student(id=result.student)
                gb.db.add(student)
            assignment = gb.find_assignment(result.assignment)
            try:
                submission = gb.find_submission(result.assignment, result.student)
            except MissingEntry:
                submission = SubmittedAssignment(assignment=assignment, student=student)
                gb.db.add(submission)
            _ensure_rows(gb, submission, assignment)
            if result.timestamp:
                submission.timestamp = utils.parse_utc(result.timestamp)
        gb.db.flush()
        for nb in submission.notebooks:
            for grade in nb.grades:
                if grade.cell.name in scores:
                    grade.auto_score = float(scores[grade.cell.name])
                    grade.needs_manual_grade = grade.manual_score is not None
            for comment in nb.comments:
                comment.auto_comment = "No response." if comment.cell.name in unanswered else None
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def clear(gb, assignment, student):
    """Remove the automatic scores of a submission (it could not be graded this time): nbgrader
    then shows it as ungraded, and ``is_graded`` is False, so the next ``grade`` retries it."""
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return
    try:
        for nb in submission.notebooks:
            for grade in nb.grades:
                grade.auto_score = None
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise
