"""The batch as an instructor runs it: killed half-way and rerun, and plain nbgrader alongside."""
import os
import signal
import subprocess
import sys
import time


from autograder.assignments import get_assignment
from autograder.course import samples
from autograder.course.layout import nbgrader_env, run_nbgrader
from autograder.course.gradebook import is_graded, open_gradebook
from autograder.course.grading import grade_assignment
from nbgrader.api import MissingEntry

from autograder_course import ASSIGNMENT, course_template, fresh_course, notebooks, submit_answers  # noqa: F401

FULL = sum(task.points for task in get_assignment(ASSIGNMENT).tasks)   # every automatic point


def gradebook_state(course, students):
    """{student: "graded" | "absent" | "partial"} as nbgrader's API sees it."""
    gb = open_gradebook(course)
    try:
        state = {}
        for student in students:
            try:
                gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                state[student] = "absent"
                continue
            state[student] = "graded" if is_graded(gb, ASSIGNMENT, student) else "partial"
        return state
    finally:
        gb.close()


def test_a_killed_batch_leaves_a_consistent_gradebook_and_a_rerun_finishes_it(tmp_path, course_template):
    course = fresh_course(course_template, tmp_path / "course")
    source, _ = notebooks(course)
    reference = samples.reference_answers(source)
    slow = dict(reference, forward_difference=reference["forward_difference"] + "\nimport time\ntime.sleep(2.5)\n")
    students = ["a_slow", "b_slow", "c_fast", "d_fast"]
    for student in students:
        submit_answers(course, student, slow if "slow" in student else reference)
    jobs = tmp_path / "jobs"  # the grader's sandbox folders, so that its processes can be found
    jobs.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", course.root,
                             "--workers", "1"], env=dict(nbgrader_env(), TMPDIR=str(jobs)),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and "graded" not in gradebook_state(course, students).values():
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    state = gradebook_state(course, students)
    assert "partial" not in state.values()
    done = [s for s, st in state.items() if st == "graded"]
    assert 1 <= len(done) < len(students)
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", str(jobs)], capture_output=True).stdout == b""

    report = grade_assignment(course.root, ASSIGNMENT, workers=2, progress=False)
    assert sorted(report.skipped) == sorted(done)
    assert sorted(r.student for r in report.graded) == sorted(set(students) - set(done))
    assert set(gradebook_state(course, students).values()) == {"graded"}
    scores = {r.student: r.score for r in report.graded}
    assert set(scores.values()) == {FULL}

    forced = grade_assignment(course.root, ASSIGNMENT, workers=2, force=True, students=["d_fast"], progress=False)
    assert [r.student for r in forced.graded] == ["d_fast"] and forced.skipped == []


def test_plain_nbgrader_still_generates_and_autogrades_the_course(tmp_path, course_template):
    course = fresh_course(course_template, tmp_path / "course")
    source, release = notebooks(course)
    samples.submit(course, ASSIGNMENT, "ref", samples.sample_notebook(ASSIGNMENT, samples.REFERENCE, source, release))
    samples.submit(course, ASSIGNMENT, "blank", samples.sample_notebook(ASSIGNMENT, samples.UNTOUCHED, source, release))
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
    gb = open_gradebook(course)
    try:
        assert gb.find_submission(ASSIGNMENT, "ref").score == FULL
        assert gb.find_submission(ASSIGNMENT, "blank").score == 0
    finally:
        gb.close()
