"""Writing scores into nbgrader's gradebook through nbgrader's own API (``nbgrader.api``).

One submission is one database transaction: the submission, its notebook, a Grade per test cell
with ``auto_score`` and a Comment per answer cell are created (or updated, when regrading) and
committed together, so a batch killed at any moment leaves every submission either fully graded
or absent. ``nbgrader export``, the formgrader and ``python -m autograder export`` read the same
rows. Only the trusted grading process opens the gradebook.
"""
from nbgrader import utils
from nbgrader.api import (Comment, Grade, Gradebook, MissingEntry, SubmittedAssignment,
                          SubmittedNotebook)

from .course import COURSE_ID


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


def record(gb, result, timestamp=None):
    """Store a SubmissionResult's task scores as the auto scores of the matching grade cells."""
    scores = {task.grade_id: task.score for task in result.tasks}
    try:
        gb.find_student(result.student)
    except MissingEntry:
        gb.add_student(result.student)
    assignment = gb.find_assignment(result.assignment)
    try:
        submission = gb.find_submission(result.assignment, result.student)
    except MissingEntry:
        submission = SubmittedAssignment(assignment=assignment, student=gb.find_student(result.student))
        gb.db.add(submission)
        for notebook in assignment.notebooks:
            nb = SubmittedNotebook(notebook=notebook, assignment=submission)
            for cell in notebook.grade_cells:
                Grade(cell=cell, notebook=nb)
            for cell in notebook.solution_cells:
                Comment(cell=cell, notebook=nb)
            for cell in notebook.task_cells:
                Comment(cell=cell, notebook=nb)
                Grade(cell=cell, notebook=nb)
    if timestamp:
        submission.timestamp = utils.parse_utc(timestamp)
    unanswered = set(result.unanswered)
    try:
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
