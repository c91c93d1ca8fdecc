"""Writing scores into nbgrader's gradebook through nbgrader's own API (``nbgrader.api``).

One submission is one database transaction: the submission, its notebook, a Grade per test cell
with ``auto_score`` and a Comment per answer cell are created (or updated, when regrading) and
committed together, so a batch killed at any moment leaves every submission either fully graded
or absent. ``nbgrader export``, the formgrader and ``python -m autograder export`` read the same
rows. Only the trusted grading process opens the gradebook.
"""
from dataclasses import dataclass, field

from nbgrader import utils
from nbgrader.api import (Assignment, Comment, Grade, Gradebook, MissingEntry, Student, SubmittedAssignment,
                          SubmittedNotebook, TaskCell)
from sqlalchemy.orm import selectinload



def open_gradebook(course):
    return Gradebook(course.db_url, course_id=course.course_id)


def is_auto_cell(cell):
    """A cell the kit scores: a code test cell. Written answers and task cells (markdown) are
    graded by hand in formgrader."""
    return getattr(cell, "cell_type", None) == "code" and not isinstance(cell, TaskCell)


def is_graded(gb, assignment, student):
    """True when every test cell the kit scores has an auto_score (hand-graded cells aside)."""
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    grades = [grade for nb in submission.notebooks for grade in nb.grades if is_auto_cell(grade.cell)]
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


def grade_score(grade):
    """A Grade's score as nbgrader counts it (manual over auto, plus extra credit), in Python:
    the column property is stale inside an open transaction."""
    base = grade.manual_score if grade.manual_score is not None else grade.auto_score
    return float(base or 0.0) + float(grade.extra_credit or 0.0)


def late_penalty_plugin(course):
    """nbgrader's late-submission plugin as the course's nbgrader_config.py sets it up
    (AssignLatePenalties.plugin_class, LateSubmissionPlugin.penalty_method...)."""
    from nbgrader.preprocessors import AssignLatePenalties

    assigner = AssignLatePenalties(config=course.nbgrader_config())
    return assigner.plugin_class(parent=assigner)


def apply_late_penalty(submission, plugin):
    """Set each notebook's late_submission_penalty as nbgrader's AssignLatePenalties does (the
    plugin's penalty, kept between 0 and the notebook's score; None when on time)."""
    late = submission.total_seconds_late
    for nb in submission.notebooks:
        nb.late_submission_penalty = None
        if late > 0:
            score = sum(grade_score(g) for g in nb.grades)
            penalty = plugin.late_submission_penalty(submission.student.id, score, late)
            if penalty is not None:
                nb.late_submission_penalty = min(max(0.0, float(penalty)), score)


def refresh_late_penalties(gb, assignment, plugin):
    """Recompute the penalties of every submission (scores set in formgrader since count too)."""
    try:
        for submission in gb.find_assignment(assignment).submissions:
            apply_late_penalty(submission, plugin)
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def record(gb, result, late_plugin=None, earlier=None, clear_earlier=False):
    """Store a SubmissionResult's task scores as the auto scores of the matching grade cells, and
    the late penalty. -> {grade_id: manual score}: the instructor's scores set on an earlier
    version of the submission. earlier=True (the submission changed since it was last graded):
    every manual score there is now; a dict {grade_id: score} (unchanged since): those of them
    the instructor has not changed since. clear_earlier drops them (the kit's score counts
    again; a written answer needs grading again).

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
        overrides = {}
        for nb in submission.notebooks:
            for grade in nb.grades:
                name, manual = grade.cell.name, grade.manual_score
                if manual is not None and (earlier is True or (
                        isinstance(earlier, dict) and earlier.get(name) == float(manual))):
                    overrides[grade.cell.name] = float(grade.manual_score)
                    if clear_earlier:
                        grade.manual_score = None
                if grade.cell.name in scores:
                    grade.auto_score = float(scores[grade.cell.name])
                    grade.needs_manual_grade = grade.manual_score is not None
                elif not is_auto_cell(grade.cell):
                    grade.needs_manual_grade = grade.manual_score is None
            for comment in nb.comments:
                comment.auto_comment = "No response." if comment.cell.name in unanswered else None
        if late_plugin is not None:
            apply_late_penalty(submission, late_plugin)
        gb.db.commit()
        return {} if clear_earlier else overrides
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


@dataclass
class CellScore:
    """One graded cell of a submission as the gradebook holds it."""
    grade_id: str
    kind: str                  # "auto" (the kit's test cell), "written" (answer) or "task"
    max_score: float
    score: float               # what counts: manual over auto, plus extra credit; 0 if neither
    auto_score: float = None
    manual_score: float = None
    comment: str = ""          # the instructor's comment in formgrader on this cell's answer

    @property
    def graded_by_hand(self):
        return self.kind != "auto"


@dataclass
class SubmissionScores:
    """A submission's scores, penalty and lateness, read from the gradebook."""
    cells: list                # of CellScore, in the notebook's order
    late_penalty: float = 0.0
    seconds_late: float = 0.0
    timestamp: object = None
    duedate: object = None
    comments: dict = field(default_factory=dict)        # {answer or task cell: instructor's comment}
    earlier_manual: dict = field(default_factory=dict)  # {grade_id: score} set on an earlier version

    @property
    def raw_score(self):
        return round(sum(c.score for c in self.cells), 4)

    @property
    def score(self):
        return round(max(0.0, self.raw_score - self.late_penalty), 4)

    @property
    def max_score(self):
        return sum(c.max_score for c in self.cells)

    def cell(self, grade_id):
        return next((c for c in self.cells if c.grade_id == grade_id), None)


def _kind(cell):
    if isinstance(cell, TaskCell):
        return "task"
    return "auto" if is_auto_cell(cell) else "written"


def submission_scores(gb, assignment, student, order=()):
    """SubmissionScores of one submission, cells in `order` (grade_ids; others last); None when
    the gradebook has none."""
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return None
    return _scores_of(submission, order)


def class_scores(gb, assignment, order=()):
    """{student id: SubmissionScores} of every submission of `assignment`, read in a few queries
    (the grades, comments and cells of all of them at once, not row by row per student)."""
    notebooks = selectinload(SubmittedAssignment.notebooks)
    submissions = (gb.db.query(SubmittedAssignment).join(Assignment).filter(Assignment.name == assignment)
                   .options(selectinload(SubmittedAssignment.student),
                            notebooks.selectinload(SubmittedNotebook.grades).selectinload(Grade.cell),
                            notebooks.selectinload(SubmittedNotebook.comments).selectinload(Comment.cell))
                   .all())
    return {submission.student.id: _scores_of(submission, order) for submission in submissions}


def _scores_of(submission, order):
    comments = {}
    for nb in submission.notebooks:
        for comment in nb.comments:
            if comment.manual_comment:
                comments[comment.cell.name] = comment.manual_comment
    order = {grade_id: i for i, grade_id in enumerate(order)}
    cells = []
    for nb in submission.notebooks:
        for grade in nb.grades:
            cells.append(CellScore(grade.cell.name, _kind(grade.cell), float(grade.cell.max_score),
                                   grade_score(grade), grade.auto_score, grade.manual_score,
                                   comments.get(grade.cell.name, "")))
    cells.sort(key=lambda c: order.get(c.grade_id, len(order)))
    penalty = sum(float(nb.late_submission_penalty or 0.0) for nb in submission.notebooks)
    return SubmissionScores(cells, penalty, submission.total_seconds_late, submission.timestamp,
                            submission.duedate, comments)
