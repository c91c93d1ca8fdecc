"""A week of a course through nbgrader's real commands and a local exchange (issue 18).

Two students; release, fetch, submit, collect, grade; a written answer and a task cell scored and
commented in the gradebook as formgrader does; a late resubmission, ``collect --update``, grade
(the new score, nbgrader's late penalty, the instructor's score from the earlier submission kept
and said so); feedback, release_feedback, fetch_feedback; both CSVs against the gradebook.
"""
import csv
import datetime
import io
import os
import subprocess
import sys
import time

import nbformat
import pytest

from autograder import cli
from autograder.course import samples
from autograder.course.build import BuildError, build, source_notebook
from autograder.course.export import export_csv
from autograder.course.feedback import write_feedback
from autograder.course.gradebook import open_gradebook
from autograder.course.grading import grade_assignment
from autograder.course.layout import NOTEBOOKS, nbgrader_env, run_nbgrader
from autograder.course.submission_state import fingerprint

from autograder_course import (ASSIGNMENT, ZERO_ANSWERS, course_template, fresh_course,  # noqa: F401
                               notebooks, submit_answers, with_exchange)

WRITTEN = '''

# %% [markdown]
# **Question.** Why is the central difference more accurate than the forward difference?

# %% [markdown] nbgrader={"grade_id": "why_central", "solution": true, "grade": true, "points": 2}
# The O(h) terms of the two Taylor expansions cancel, so its error is O(h^2).

# %% [markdown] nbgrader={"grade_id": "plot_errors", "task": true, "points": 1}
# **Task.** Plot the error of the three differences against h on log-log axes.
'''


def notebooks_with_written_answers(tmp_path):
    """A notebooks folder whose 01 has a written answer (2 points) and a task cell (1 point)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    text = open(os.path.join(NOTEBOOKS, f"{ASSIGNMENT}.py"), encoding="utf-8").read()
    (folder / f"{ASSIGNMENT}.py").write_text(text + WRITTEN, encoding="utf-8")
    return str(folder)


def _utc(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _set_manual(course, student, grade_id, score=None, comment=None):
    """What formgrader's grade and comment fields do: a manual score and a manual comment."""
    gb = open_gradebook(course)
    try:
        if score is not None:
            grade = gb.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, student)
            grade.manual_score, grade.needs_manual_grade = score, False
        if comment is not None:
            gb.find_comment(grade_id, ASSIGNMENT, ASSIGNMENT, student).manual_comment = comment
        gb.db.commit()
    finally:
        gb.close()


def _gradebook_totals(course):
    """{student: (raw score, late penalty, score after it)} as nbgrader computes them."""
    gb = open_gradebook(course)
    try:
        out = {}
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            raw, penalty = float(submission.score), float(submission.late_submission_penalty)
            out[submission.student.id] = (raw, penalty, max(0.0, raw - penalty))
        return out
    finally:
        gb.close()


@pytest.fixture
def week_course(course_template, tmp_path):
    course = fresh_course(course_template, str(tmp_path / "course"))
    exchange = with_exchange(course, tmp_path, "c.LateSubmissionPlugin.penalty_method = 'zero'\n")
    # rebuilding (here: with a written answer added) keeps them
    build(course.root, [ASSIGNMENT], notebooks_dir=notebooks_with_written_answers(tmp_path), log=lambda *a: None)
    return course, exchange


def test_a_week_of_the_course_through_nbgrader_and_a_local_exchange(week_course, tmp_path):
    course, exchange = week_course
    config = open(course.path("nbgrader_config.py")).read()
    assert f"c.Exchange.root = {str(exchange)!r}" in config and "penalty_method = 'zero'" in config

    def as_student(student, *args):
        home = tmp_path / student
        home.mkdir(exist_ok=True)
        env = dict(nbgrader_env(), USER=student, LOGNAME=student, HOME=str(home))
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--course", "minigrad-course",
                               f"--Exchange.root={exchange}", f"--CourseDirectory.student_id={student}"],
                              cwd=home, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return home

    def hand_in(student, answers):
        home = as_student(student, "fetch_assignment", ASSIGNMENT) if not (tmp_path / student / ASSIGNMENT).exists() \
            else tmp_path / student
        _, release = notebooks(course)
        nbformat.write(samples.student_notebook(release, answers), str(home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
        as_student(student, "submit", ASSIGNMENT)

    source, release = notebooks(course)
    reference = samples.reference_answers(source)
    assert [c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "why_central"] \
        == ["YOUR ANSWER HERE"]                        # the model answer stays in source/
    run_nbgrader(course, "db", "assignment", "add", ASSIGNMENT,
                 f"--duedate={_utc(datetime.datetime.utcnow() + datetime.timedelta(days=1))}")
    run_nbgrader(course, "release_assignment", ASSIGNMENT)
    hand_in("alice", {**reference, "why_central": "Its error is O(h^2): the h terms cancel."})
    hand_in("bob", ZERO_ANSWERS)
    run_nbgrader(course, "collect", ASSIGNMENT)
    out = io.StringIO()
    report = grade_assignment(course.root, ASSIGNMENT, progress=False, out=out)
    assert sorted((r.student, r.score) for r in report.graded) == [("alice", 21), ("bob", 2)]
    assert "to grade by hand in formgrader: alice: why_not_train_by_differences, why_central, plot_errors" in out.getvalue()
    # formgrader shows the student's written answer in the autograded notebook, never the model one
    graded = open(os.path.join(course.autograded_dir("alice", ASSIGNMENT), f"{ASSIGNMENT}.ipynb")).read()
    assert "the h terms cancel." in graded and "Taylor expansions cancel" not in graded

    # formgrader: alice's written answer and task scored and commented; bob's first try overridden
    _set_manual(course, "alice", "why_central", 1.5, "Right; say which terms cancel.")
    _set_manual(course, "alice", "plot_errors", 1)
    _set_manual(course, "bob", "test_forward_difference", 1)
    _set_manual(course, "bob", "forward_difference", comment="Half a point for the idea.")  # on his answer
    assert _gradebook_totals(course) == {"alice": (23.5, 0.0, 23.5), "bob": (3.0, 0.0, 3.0)}

    # the due date passes; bob resubmits his corrected notebook, late
    run_nbgrader(course, "db", "assignment", "add", ASSIGNMENT, f"--duedate={_utc(datetime.datetime.utcnow())}")
    time.sleep(1.5)
    hand_in("bob", reference)
    run_nbgrader(course, "collect", "--update", ASSIGNMENT)
    out = io.StringIO()
    report = grade_assignment(course.root, ASSIGNMENT, progress=False, out=out)   # no --force
    text = out.getvalue()
    assert [(r.student, r.score) for r in report.graded] == [("bob", 21)] and report.skipped == ["alice"]
    assert "score set by the instructor on an earlier submission kept for test_forward_difference (1)" in text
    assert "--clear-manual" in text and "late: bob" in text and "penalty 20" in text
    table = text[text.index("student "):]
    assert "1/2*" in table and "23.5/25" in table and "-20" in table and "0/25" in table
    # nbgrader's own numbers: the new auto scores, the kept override, the 'zero' penalty
    assert _gradebook_totals(course) == {"alice": (23.5, 0.0, 23.5), "bob": (20.0, 20.0, 0.0)}

    assert len(write_feedback(course.root, ASSIGNMENT, out=lambda *a: None)) == 2
    run_nbgrader(course, "release_feedback", ASSIGNMENT)
    pages = {}
    for student in ("alice", "bob"):
        home = as_student(student, "fetch_feedback", ASSIGNMENT)
        found = [os.path.join(d, f) for d, _, files in os.walk(home / ASSIGNMENT / "feedback") for f in files
                 if f.endswith(".html")]
        assert len(found) == 1, found
        pages[student] = open(found[0], encoding="utf-8").read()
    bob, alice = pages["bob"], pages["alice"]
    assert "Score: <b>0 / 25</b> (after a late penalty of 20: 20 before it)" in bob
    assert "after the due date" in bob and "late penalty: <b>&minus;20</b>" in bob
    assert "score set by the instructor on an earlier submission" in bob and "Half a point for the idea." in bob
    assert "Score: <b>23.5 / 25</b>" in alice and "Late" not in alice
    assert "why_central</code></td><td class='partial'>1.5 / 2" in alice
    assert "Right; say which terms cancel." in alice and "plot_errors</code></td><td class='passed'>1 / 1" in alice

    # both exports agree with the gradebook
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(course.root, ASSIGNMENT, out=lambda *a: None)))}
    totals = _gradebook_totals(course)
    for student, row in rows.items():
        assert float(row["total"]) == pytest.approx(totals[student][2])
        assert float(row["late_penalty"]) == pytest.approx(totals[student][1])
    assert rows["alice"]["why_central"] == "1.5" and rows["alice"]["plot_errors"] == "1.0"
    assert rows["bob"]["test_forward_difference"] == "1.0" and rows["bob"]["max_score"] == "25.0"
    run_nbgrader(course, "export")
    theirs = {r["student_id"]: r for r in csv.DictReader(open(course.path("grades.csv")))}
    for student, (raw, penalty, score) in totals.items():
        assert (float(theirs[student]["raw_score"]), float(theirs[student]["late_submission_penalty"]),
                float(theirs[student]["score"])) == (raw, penalty, score)

    # the instructor drops the score from bob's earlier submission: the kit's 2/2 counts again
    assert cli.main(["grade", ASSIGNMENT, "--course", course.root, "--student", "bob", "--clear-manual"]) == 0
    assert _gradebook_totals(course)["bob"] == (21.0, 21.0, 0.0)


def test_a_resubmission_or_a_renamed_notebook_is_regraded_without_force(course_template, tmp_path):
    course = fresh_course(course_template, str(tmp_path / "course"))
    source, _ = notebooks(course)
    reference = samples.reference_answers(source)
    submit_answers(course, "bob", ZERO_ANSWERS)
    folder = submit_answers(course, "carl", reference)
    os.rename(os.path.join(folder, f"{ASSIGNMENT}.ipynb"), os.path.join(folder, "my work.ipynb"))
    first = grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    assert sorted((r.student, r.score, r.status) for r in first.graded) == [
        ("bob", 2, "graded"), ("carl", 0, "ungradable")]
    # what collect --update brings: a new notebook and a new timestamp; carl renames as told
    folder = submit_answers(course, "bob", reference)
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write("2025-01-16 09:30:00.000000 UTC")
    os.rename(os.path.join(course.submitted_dir("carl", ASSIGNMENT), "my work.ipynb"),
              os.path.join(course.submitted_dir("carl", ASSIGNMENT), f"{ASSIGNMENT}.ipynb"))
    second = grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    assert sorted((r.student, r.score) for r in second.graded) == [("bob", 21), ("carl", 21)]
    gb = open_gradebook(course)
    try:
        assert str(gb.find_submission(ASSIGNMENT, "bob").timestamp).startswith("2025-01-16 09:30")
    finally:
        gb.close()
    # unchanged now: skipped; a timestamp alone changing counts as a resubmission
    third = grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    assert third.graded == [] and sorted(third.skipped) == ["bob", "carl"]
    before = fingerprint(folder)
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write("2025-01-17 09:30:00.000000 UTC")
    assert fingerprint(folder) != before
    fourth = grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    assert [r.student for r in fourth.graded] == ["bob"]


def test_a_mistyped_student_is_a_one_line_error_and_creates_nothing(course_template, tmp_path, capsys):
    course = fresh_course(course_template, str(tmp_path / "course"))
    submit_answers(course, "alice", ZERO_ANSWERS)
    listing = sorted(os.listdir(course.root))
    assert cli.main(["grade", ASSIGNMENT, "--course", course.root, "--student", "nobody"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no submission of 01_finite_differences by 'nobody'") and err.count("\n") == 1
    assert "alice" in err   # who does have one
    gb = open_gradebook(course)
    try:
        assert [s.id for s in gb.students] == []
    finally:
        gb.close()
    assert sorted(os.listdir(course.root)) == listing and not os.path.exists(course.autograded_dir("nobody", ASSIGNMENT))


def test_roster_puts_names_into_the_gradebook_and_refuses_a_bad_file_whole(course_template, tmp_path, capsys):
    course = fresh_course(course_template, str(tmp_path / "course"))
    good = tmp_path / "roster.csv"
    good.write_text("id,first_name,last_name,email\nalice,Alice,Liddell,alice@example.org\nbob,Bob,,\n")
    assert cli.main(["roster", str(good), "--course", course.root]) == 0
    good.write_text("id,first_name,last_name,email\nalice,Alice,Pleasance,alice@example.org\n")
    assert cli.main(["roster", str(good), "--course", course.root]) == 0   # updates, as db student import
    bad = tmp_path / "bad.csv"
    bad.write_text("id,first_name\ncarol,Carol\ncarol,Again\n")
    assert cli.main(["roster", str(bad), "--course", course.root]) == 2
    err = capsys.readouterr().err
    assert "row 3: student 'carol' appears twice" in err and err.count("\n") == 1
    bad.write_text("name,first_name\ncarol,Carol\n")
    assert cli.main(["roster", str(bad), "--course", course.root]) == 2
    assert "at least `id`" in capsys.readouterr().err
    gb = open_gradebook(course)
    try:
        people = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
    finally:
        gb.close()
    assert people == {"alice": ("Alice", "Pleasance", "alice@example.org"), "bob": ("Bob", None, None)}


def test_build_keeps_the_instructors_nbgrader_config_and_reads_the_course_id(course_template, tmp_path):
    course = fresh_course(course_template, str(tmp_path / "course"))
    with open(course.path("nbgrader_config.py"), "a") as fh:
        fh.write("c.Exchange.root = '/srv/exchange'\nc.CourseDirectory.course_id = 'backprop-2025'\n")
    build(course.root, [ASSIGNMENT], log=lambda *a: None)
    build(course.root, [ASSIGNMENT], log=lambda *a: None)
    text = open(course.path("nbgrader_config.py")).read()
    assert text.count("c.Exchange.root = '/srv/exchange'") == 1 and text.count("c.Execute.timeout = 300") == 1
    assert course.course_id == "backprop-2025"
    # a config written by an earlier build (the whole file the kit's) is upgraded, own lines kept
    with open(course.path("nbgrader_config.py"), "w") as fh:
        fh.write('# Written by `python -m autograder build`. nbgrader reads it when run from this directory.\n'
                 'c = get_config()\nc.CourseDirectory.course_id = "minigrad-course"\n'
                 'c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}\n'
                 'c.Execute.timeout = 300\nc.Exchange.root = "/srv/exchange"\n')
    course.write_config()
    text = open(course.path("nbgrader_config.py")).read()
    assert text.count("c = get_config()") == 1 and text.endswith('c.Exchange.root = "/srv/exchange"\n')
    assert "KitAutogradeExporter" in text and course.course_id == "minigrad-course"


def test_written_answers_and_tasks_build_with_their_own_points(tmp_path):
    folder = notebooks_with_written_answers(tmp_path)
    nb = source_notebook(ASSIGNMENT, folder)
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata}
    assert meta["why_central"] == {"grade": True, "grade_id": "why_central", "locked": False, "points": 2,
                                   "schema_version": 3, "solution": True, "task": False}
    assert meta["plot_errors"]["task"] and meta["plot_errors"]["locked"] and meta["plot_errors"]["points"] == 1
    path = os.path.join(folder, f"{ASSIGNMENT}.py")
    text = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8").write(text.replace(', "points": 2}', "}"))
    with pytest.raises(BuildError, match="hand-graded cell 'why_central' needs its points"):
        source_notebook(ASSIGNMENT, folder)
