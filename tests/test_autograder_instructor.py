"""The instructor's side: refusing without a sandbox, one-line errors, the lock, the CSV, stale and
ungradable submissions, grader failures, partial credit, and nbgrader's exchange end to end."""
import csv
import errno
import io
import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from autograder import cli
from autograder.course import samples
from autograder.running import isolation, runner
from autograder.course.layout import PER_TASK_CSV, Course, UsageError, nbgrader_env, run_nbgrader
from autograder.course.export import export_csv
from autograder.course.feedback import write_feedback
from autograder.course.gradebook import is_graded, open_gradebook
from autograder.course.grading import grade_assignment
from autograder.judging.judge import describe_exception, judge_task
from autograder.judging.results import RESULTS_FILE
from autograder.running.runner import TaskRun
from autograder.assignments import get_assignment

from autograder_course import (ASSIGNMENT, course_template, fresh_course, made_once,  # noqa: F401
                               notebooks, submit_answers, submit_raw, with_exchange)

ESCAPED = "x_esc\x1b[2K\rgraded 20 of 20"


def _batch(root, template):
    course = fresh_course(template, str(root / "course"))
    source, _ = notebooks(course)
    reference = samples.reference_answers(source)
    for student in ("ref", "stale"):
        submit_answers(course, student, reference)
    for student in ("empty_json", ESCAPED):
        submit_raw(course, student, f"{ASSIGNMENT}.ipynb", {})
    os.mkfifo(os.path.join(submit_raw(course, "fifo_notebook", None, None), f"{ASSIGNMENT}.ipynb"))
    folder = submit_answers(course, "fifo_timestamp", reference)
    os.remove(os.path.join(folder, "timestamp.txt"))
    os.mkfifo(os.path.join(folder, "timestamp.txt"))
    first, second = io.StringIO(), io.StringIO()
    grade_assignment(course.root, ASSIGNMENT, workers=2, progress=False, out=first)
    submit_raw(course, "stale", f"{ASSIGNMENT}.ipynb", {})   # the regrade cannot grade it
    grade_assignment(course.root, ASSIGNMENT, workers=1, progress=False, out=second, force=True,
                     students=["stale"])
    for student, name in (("fifo_notebook", f"{ASSIGNMENT}.ipynb"), ("fifo_timestamp", "timestamp.txt")):
        os.remove(os.path.join(course.submitted_dir(student, ASSIGNMENT), name))  # copies cannot copy FIFOs
    (root / "out.json").write_text(json.dumps([first.getvalue(), second.getvalue()]))


@pytest.fixture(scope="module")
def batch(tmp_path_factory, course_template):
    root = made_once(tmp_path_factory, "autograder-instructor", lambda root: _batch(root, course_template))
    return Course(str(root / "course")), json.loads((root / "out.json").read_text())


@pytest.fixture
def course(batch, tmp_path):
    """A private copy of the graded batch's course."""
    return fresh_course(batch[0].root, str(tmp_path / "course"))


def scores(course, student):
    gb = open_gradebook(course)
    try:
        submission = gb.find_submission(ASSIGNMENT, student)
        return [g.auto_score for nb in submission.notebooks for g in nb.grades]
    finally:
        gb.close()


def auto_scores(course, student):
    """The autograded cells' scores (six tasks and the question); the written answer, graded by
    hand, has none (None) and is left out."""
    return [score for score in scores(course, student) if score is not None]


def test_an_ungradable_submission_gets_a_csv_row_and_a_page_saying_why(course):
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(course.root, ASSIGNMENT, out=lambda *a: None)))}
    assert float(rows["empty_json"]["total"]) == 0 and float(rows["ref"]["total"]) == 21
    write_feedback(course.root, ASSIGNMENT, out=lambda *a: None)
    page = open(course.feedback_html("empty_json", ASSIGNMENT), encoding="utf-8").read()
    assert "could not be graded" in page and "not a Jupyter notebook" in page and "0 / 22" in page


def test_a_fifo_in_place_of_a_notebook_or_timestamp_never_blocks_the_grader(course):
    assert auto_scores(course, "fifo_notebook") == [0.0] * 7
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(course.root, ASSIGNMENT, out=lambda *a: None)))}
    assert float(rows["fifo_timestamp"]["total"]) == 21
    from autograder.judging.results import SubmissionResult

    assert "not a regular file" in SubmissionResult.load(course.autograded_dir("fifo_notebook", ASSIGNMENT)).error


def test_one_page_that_cannot_be_written_does_not_stop_the_others(course, monkeypatch):
    from autograder.course import feedback

    real = feedback.render

    def render(result, scores=None):
        if result.student == "ref":
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real(result, scores)

    monkeypatch.setattr(feedback, "render", render)
    lines = []
    written = write_feedback(course.root, ASSIGNMENT, out=lines.append)
    assert len(written) == len(course.students_with_submissions(ASSIGNMENT)) - 1
    assert not os.path.exists(course.feedback_html("ref", ASSIGNMENT))
    assert any("could not be written" in line and "ref" in line for line in lines)
    assert any("FAILED for 1" in line for line in lines)


def test_a_regrade_that_cannot_grade_leaves_no_stale_score(course, batch):
    assert auto_scores(course, "stale") == [0.0] * 7   # was 21/21 before the {} was handed in
    assert "not a Jupyter notebook" in batch[1][1]


def test_control_characters_in_names_reach_the_terminal_escaped(batch):
    first, _ = batch[1]
    assert "\x1b" not in first and "\r" not in first
    assert "x_esc\\x1b[2K\\x0dgraded" in first


def test_export_writes_its_own_file_inside_the_course_next_to_nbgraders(course):
    path = export_csv(course.root, out=lambda *a: None)
    assert path == course.path(PER_TASK_CSV)
    before = open(path).read()
    run_nbgrader(course, "export")
    assert os.path.exists(course.path("grades.csv")) and open(path).read() == before
    assert "test_numerical_gradient" in before


def test_command_line_errors_are_one_line_and_create_nothing(course, tmp_path, capsys):
    missing, empty = str(tmp_path / "missing"), tmp_path / "empty"
    empty.mkdir()
    cases = [["grade", "nope", "--course", course.root], ["export", "nope", "--course", course.root],
             ["feedback", "nope", "--course", course.root], ["feedback", ASSIGNMENT, "--course", missing],
             ["export", "--course", str(empty)], ["grade", ASSIGNMENT, "--course", str(empty)]]
    for argv in cases:
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert not os.path.exists(missing) and os.listdir(empty) == []


def test_a_second_grade_on_the_same_course_is_refused(course):
    with course.grading_lock():
        with pytest.raises(UsageError, match="another `python -m autograder grade` is running"):
            grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    report = grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    # the lock is free again; the two folders whose FIFO was removed after grading have changed
    assert sorted(r.student for r in report.graded) == ["fifo_notebook", "fifo_timestamp"]
    assert len(report.skipped) >= 3


def test_a_grader_failure_is_retried_never_charged_and_clears_the_old_score(course, monkeypatch):
    real, calls = runner._write_job, []

    def full_disk(*args):
        calls.append(1)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "_write_job", full_disk)
    out = io.StringIO()
    report = grade_assignment(course.root, ASSIGNMENT, force=True, students=["ref"], progress=False, out=out)
    assert report.not_graded == ["ref"] and report.graded == [] and not report.ok
    assert len(calls) == 3 and "NOT GRADED" in out.getvalue() and "No space left" in out.getvalue()
    gb = open_gradebook(course)
    try:
        assert not is_graded(gb, ASSIGNMENT, "ref")   # the earlier 20/20 is gone, not kept
    finally:
        gb.close()
    assert not os.path.exists(os.path.join(course.autograded_dir("ref", ASSIGNMENT), RESULTS_FILE))

    def once(*args):
        monkeypatch.setattr(runner, "_write_job", real)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runner, "_write_job", once)
    report = grade_assignment(course.root, ASSIGNMENT, students=["ref"], progress=False, out=io.StringIO())
    assert [r.score for r in report.graded] == [21] and report.ok


def test_without_a_sandbox_grade_and_demo_refuse_clearly(course, tmp_path):
    env = dict(nbgrader_env(), AUTOGRADER_NO_BWRAP="1")
    before = scores(course, "ref")
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", course.root,
                           "--force"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    # one short paragraph with the one thing that works here (the variable hides the real bwrap)
    assert done.stderr.count("\n") == 1 and len(done.stderr) < 600, done.stderr
    assert "`unset AUTOGRADER_NO_BWRAP`" in done.stderr
    if isolation.throwaway_uid_problem():
        assert "add --no-sandbox" not in done.stderr   # it would be refused here
    assert "Traceback" not in done.stderr and scores(course, "ref") == before
    demo_dir = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "autograder", "demo", "--course", str(demo_dir)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "bubblewrap" in done.stderr and not demo_dir.exists()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", course.root,
                           "--force", "--no-sandbox", "--student", "ref"], env=env, capture_output=True, text=True)
    if isolation.throwaway_uid_problem():
        # here (not root, or a Python others cannot read) the opt-in is refused too
        assert done.returncode == 2 and "never run as the grading user" in done.stderr
        assert scores(course, "ref") == before
    else:
        assert "WITHOUT bubblewrap" in done.stderr and "isolation: unsandboxed" in done.stderr


def test_no_sandbox_is_refused_where_no_throwaway_uid_exists(monkeypatch):
    monkeypatch.setattr(isolation, "bwrap_works", lambda: False)
    monkeypatch.setattr(isolation, "sandbox_problem", lambda: "simulated")
    monkeypatch.setattr(isolation, "throwaway_uid_problem", lambda: "the grader is not root")
    with pytest.raises(isolation.SandboxUnavailable, match="never run as the grading user"):
        isolation.isolation_mode(allow_unsandboxed=True)
    with pytest.raises(isolation.SandboxUnavailable) as refused:
        isolation.isolation_mode()
    assert "--no-sandbox" not in str(refused.value)   # never recommended where it would be refused


@pytest.mark.parametrize("root", [True, False])
def test_the_sandbox_refusal_is_one_paragraph_with_the_command_for_this_machine(monkeypatch, root):
    monkeypatch.delenv("AUTOGRADER_NO_BWRAP", raising=False)
    monkeypatch.setattr(isolation, "bwrap_works", lambda: False)
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(isolation, "throwaway_uid_problem", lambda: "the Python installation is not readable")
    monkeypatch.setattr(isolation, "sandbox_problem", lambda: "no bwrap found")
    monkeypatch.setattr(isolation.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    with pytest.raises(isolation.SandboxUnavailable) as missing:
        isolation.isolation_mode()
    text = str(missing.value)
    assert ("`apt-get install bubblewrap`" if root else "`sudo apt-get install bubblewrap`") in text
    assert "\n" not in text and len(text) < 400 and "add --no-sandbox" not in text
    # installed, but this kernel forbids unprivileged user namespaces: the sysctl that allows them
    monkeypatch.setattr(isolation, "sandbox_problem", lambda: "bwrap: setting up uid map: Permission denied")
    monkeypatch.setattr(isolation, "_read_proc", lambda path: "1" if "apparmor" in path else None)
    with pytest.raises(isolation.SandboxUnavailable, match=r"sysctl kernel\.apparmor_restrict_unprivileged_userns=0"):
        isolation.isolation_mode()
    # where --no-sandbox would work, it is offered, with what it costs
    monkeypatch.setattr(isolation, "throwaway_uid_problem", lambda: None)
    with pytest.raises(isolation.SandboxUnavailable, match="read the hidden tests .* add --no-sandbox"):
        isolation.isolation_mode()


def _one_wrong_hidden_case(credit):
    task = next(t for t in get_assignment(ASSIGNMENT).tasks if t.grade_id == "test_forward_difference")
    cases = task.make_cases(np.random.default_rng(0), False) + task.make_cases(np.random.default_rng(1), True)
    hidden = [False] * 3 + [True] * (len(cases) - 3)
    outputs = [{"value": task.reference(c)["value"]} for c in cases]
    outputs[-1] = {"value": np.asarray(1e6)}
    run = TaskRun(cases=[{"error": None, "dtypes": {}} for _ in cases], outputs=outputs)
    return judge_task(task, cases, hidden, run, credit=credit), len(cases)


def test_per_case_credit_is_a_course_setting_and_all_or_nothing_the_default(course):
    strict, n = _one_wrong_hidden_case("all_or_nothing")
    per_case, _ = _one_wrong_hidden_case("per_case")
    assert strict.score == 0
    assert per_case.score == pytest.approx(2 * (n - 1) / n, abs=1e-4)
    assert per_case.checks[0].message.startswith("On hidden input")  # the failing case, named
    assert course.settings()["partial_credit"] == "all_or_nothing"
    with open(course.path("autograder.toml"), "w") as fh:
        fh.write('partial_credit = "per_case"\n')
    assert course.settings()["partial_credit"] == "per_case"
    with open(course.path("autograder.toml"), "w") as fh:
        fh.write('partial_credit = "some"\n')
    with pytest.raises(UsageError, match="partial_credit must be one of"):
        course.settings()


def test_student_text_in_feedback_is_short_and_hidden_cases_show_no_numbers():
    error = {"type": "Leak_123456", "message": "x = 0.7231 and n = 41 " + "y" * 1000, "line": 3,
             "cell": "answer", "code": "raise Leak(0.7231)"}
    hidden = describe_exception(error, hidden=True)
    assert not any(ch.isdigit() for ch in hidden.replace("line 3", "")), hidden
    assert len(hidden) < 400
    visible = describe_exception(error, hidden=False)
    assert "0.7231" in visible and "Leak_123456" in visible
    assert describe_exception({"type": "<script>", "message": "m"}, hidden=False).startswith("Exception")


@pytest.fixture
def exchange_course(course_template, tmp_path):
    course = fresh_course(course_template, str(tmp_path / "course"))
    return course, with_exchange(course, tmp_path)


def test_release_collect_grade_and_release_feedback_through_a_local_exchange(exchange_course, tmp_path):
    course, exchange = exchange_course
    home = tmp_path / "alice"
    home.mkdir()
    student_env = dict(nbgrader_env(), USER="alice", LOGNAME="alice", HOME=str(home))

    def as_student(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--course", "minigrad-course",
                               f"--Exchange.root={exchange}", "--CourseDirectory.student_id=alice"], cwd=home, env=student_env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    run_nbgrader(course, "release_assignment", ASSIGNMENT)
    as_student("fetch_assignment", ASSIGNMENT)
    fetched = home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    source, release = notebooks(course)
    nbformat.write(samples.student_notebook(release, samples.reference_answers(source)), str(fetched))
    as_student("submit", ASSIGNMENT)
    run_nbgrader(course, "collect", ASSIGNMENT)
    assert os.path.exists(os.path.join(course.submitted_dir("alice", ASSIGNMENT), "submission_secret.txt"))
    report = grade_assignment(course.root, ASSIGNMENT, progress=False, out=io.StringIO())
    assert [r.score for r in report.graded] == [21]
    assert write_feedback(course.root, ASSIGNMENT, out=lambda *a: None)
    run_nbgrader(course, "release_feedback", ASSIGNMENT)
    as_student("fetch_feedback", ASSIGNMENT)
    pages = [os.path.join(d, f) for d, _, files in os.walk(home / ASSIGNMENT / "feedback") for f in files
             if f.endswith(".html")]
    assert len(pages) == 1 and "21 / 22" in open(pages[0], encoding="utf-8").read()


def test_formgraders_autograde_and_generate_feedback_buttons_say_what_to_run_and_change_nothing(course):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    write_feedback(course.root, ASSIGNMENT, out=lambda *a: None)
    results = os.path.join(course.autograded_dir("ref", ASSIGNMENT), RESULTS_FILE)
    page = course.feedback_html("ref", ASSIGNMENT)
    before = (open(results).read(), open(page).read(), scores(course, "ref"))
    # what formgrader's handlers call (server_extensions/formgrader/apihandlers.py), with the
    # configuration formgrader loads from the course folder
    config = course.nbgrader_config()
    api = NbGraderAPI(CourseDirectory(root=course.root, config=config), config=config)
    graded = api.autograde(ASSIGNMENT, "ref")
    assert not graded["success"] and f"python -m autograder grade {ASSIGNMENT}" in graded["log"]
    for feedback in (api.generate_feedback(ASSIGNMENT, "ref"), api.generate_feedback(ASSIGNMENT)):
        assert not feedback["success"] and f"python -m autograder feedback {ASSIGNMENT}" in feedback["log"]
    assert (open(results).read(), open(page).read(), scores(course, "ref")) == before
    # the same from nbgrader's own command: generate_feedback refused, nothing overwritten
    done = run_nbgrader(course, "generate_feedback", ASSIGNMENT, "--force", check=False)
    assert done.returncode != 0 and "python -m autograder feedback" in done.stdout + done.stderr
    assert open(page).read() == before[1]


def test_a_score_and_comment_from_formgrader_reach_the_page_saying_who_set_them(course):
    gb = open_gradebook(course)
    try:   # what formgrader's grade and comment fields write
        grade = gb.find_grade("test_forward_difference", ASSIGNMENT, ASSIGNMENT, "ref")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.find_comment("forward_difference", ASSIGNMENT, ASSIGNMENT, "ref").manual_comment = "Name <h> clearly."
        gb.find_comment("central_difference", ASSIGNMENT, ASSIGNMENT, "ref").manual_comment = "Nice & short."
        gb.db.commit()
    finally:
        gb.close()
    write_feedback(course.root, ASSIGNMENT, students=["ref"], out=lambda *a: None)
    page = open(course.feedback_html("ref", ASSIGNMENT), encoding="utf-8").read()
    assert "Score: <b>20.5 / 22</b>" in page
    assert "score set by your instructor (the grader's checks gave 2)" in page
    assert "Name &lt;h&gt; clearly." in page and "Nice &amp; short." in page   # escaped, both shown
    assert "earlier submission" not in page   # set on this very submission
