"""``make demo``: build the course, hand in the bundled samples, grade, write feedback and the CSV.

Prints a table of students x tasks and, per student, the named mistakes the grader found. Refuses
up front, with what to do, when no sandbox works here (unless ``--no-sandbox``).
"""
import os
import shutil

import nbformat

from ..running import isolation

from . import samples
from .build import build
from .layout import Course
from .export import export_csv
from .feedback import write_feedback
from .grading import grade_assignment
from ..assignments import available_assignments, get_assignment
from ..judging.text import printable

def format_table(assignment, results):
    """Text table: one row per student, one column per task, then the total."""
    names = [t.short_name or t.grade_id for t in assignment.tasks]
    width = max(8, *(len(printable(r.student)) for r in results)) if results else 8
    head = f"{'student':<{width}} " + " ".join(f"{n:>10}" for n in names) + f" {'total':>8}"
    lines = [head, "-" * len(head)]
    for result in results:
        cells = [f"{t.score:g}/{t.points:g}" for t in result.tasks]
        lines.append(f"{printable(result.student):<{width}} " + " ".join(f"{c:>10}" for c in cells)
                     + f" {result.score:>5g}/{result.max_score:g}")
    return "\n".join(lines)


def _forget_samples(course, assignment_ids):
    """Remove the sample students' earlier demo submissions from the gradebook: nbgrader refuses
    to rebuild an assignment whose cells changed (a newer kit) while submissions of it exist, and
    the demo hands them in again anyway. Real students' submissions are left alone."""
    if not os.path.exists(course.path("gradebook.db")):
        return
    from nbgrader.api import MissingEntry

    from .gradebook import open_gradebook

    gb = open_gradebook(course)
    try:
        for assignment_id in assignment_ids:
            for student in samples.sample_students(assignment_id):
                try:
                    gb.remove_submission(assignment_id, student)
                except MissingEntry:
                    pass
    finally:
        gb.close()


def demo(course_dir=None, workers=None, assignments=None, out=print, allow_unsandboxed=False):
    mode = isolation.isolation_mode(allow_unsandboxed)  # SandboxUnavailable: nothing is built
    course = Course(course_dir)
    out(f"== sandbox: {mode}" + (f" ({isolation.bwrap_path()})" if mode == "bubblewrap" else ""))
    out(f"== building the course in {course.root}")
    _forget_samples(course, assignments or available_assignments())
    build(course.root, assignments, log=out)
    status = 0
    for assignment_id in assignments or available_assignments():
        if not os.path.exists(course.source_notebook(assignment_id)):
            continue
        assignment = get_assignment(assignment_id)
        source_nb = nbformat.read(course.source_notebook(assignment_id), as_version=4)
        release_nb = nbformat.read(course.release_notebook(assignment_id), as_version=4)
        students = samples.sample_students(assignment_id)
        out(f"== handing in {len(students)} sample submissions of {assignment_id}: {', '.join(students)}")
        for student in students:
            folder = course.submitted_dir(student, assignment_id)
            shutil.rmtree(folder, ignore_errors=True)
            samples.submit(course, assignment_id, student,
                           samples.sample_notebook(assignment_id, student, source_nb, release_nb))
        out(f"== grading (python -m autograder grade {assignment_id} --force)")
        report = grade_assignment(course.root, assignment_id, workers=workers, force=True, students=students,
                                  allow_unsandboxed=allow_unsandboxed, table=False)
        status |= 0 if report.ok else 1
        write_feedback(course.root, assignment_id, students, out=out)
        export_csv(course.root, None, out=out)
        results = sorted(report.graded, key=lambda r: students.index(r.student))
        out("")
        out(format_table(assignment, results))
        out("")
        for result in results:
            codes = sorted({code for t in result.tasks for code in t.mistake_codes})
            if codes:
                out(f"{result.student}: named mistakes: {', '.join(codes)}")
        out(f"\nPer-student feedback: {course.path('feedback', '<student>', assignment_id, assignment_id + '.html')}")
    return status
