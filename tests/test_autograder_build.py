"""Building the course: metadata from the text source, points from the task specs."""

import os

import nbformat
import pytest

from autograder.course.build import BuildError, build, source_notebook
from autograder.course.layout import NOTEBOOKS
from autograder.assignments import available_assignments, get_assignment

from autograder_course import ASSIGNMENT, course_template, fresh_course  # noqa: F401


def graded_cells(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def test_every_test_cell_has_a_spec_and_takes_its_points_from_it():
    nb = source_notebook(ASSIGNMENT)
    spec = get_assignment(ASSIGNMENT)
    cells = graded_cells(nb)
    written = {g for g, c in cells.items() if c.cell_type == "markdown"}  # graded by hand, no spec
    assert written == {"why_not_train_by_differences"}
    assert set(cells) - written == {t.grade_id for t in spec.tasks}
    for task in spec.tasks:
        assert cells[task.grade_id].metadata["nbgrader"]["points"] == task.points
    assert sum(t.points for t in spec.tasks) == 21 and len(spec.tasks) >= 4


def test_release_has_stubs_and_no_hidden_tests_and_source_keeps_them(course_template):
    from autograder.course.layout import Course

    course = Course(course_template)
    source = nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4)
    release = nbformat.read(course.release_notebook(ASSIGNMENT), as_version=4)
    release_text = "\n".join(c.source for c in release.cells if c.cell_type == "code")
    assert "hidden=True" not in release_text and "BEGIN SOLUTION" not in release_text
    assert release_text.count("raise NotImplementedError()") == 8  # one per function to write
    assert "hidden=True" in "\n".join(c.source for c in source.cells)
    assert all(not c.get("outputs") for c in release.cells if c.cell_type == "code")


def test_points_written_in_the_notebook_must_agree_with_the_spec(tmp_path):
    text = open(f"{NOTEBOOKS}/{ASSIGNMENT}.py").read()
    text = text.replace('"grade_id": "test_numerical_gradient", "grade": true',
                        '"grade_id": "test_numerical_gradient", "grade": true, "points": 50')
    (tmp_path / f"{ASSIGNMENT}.py").write_text(text)
    with pytest.raises(BuildError, match="points belong in the spec"):
        source_notebook(ASSIGNMENT, str(tmp_path))


def test_a_test_cell_without_a_spec_is_refused(tmp_path):
    text = open(f"{NOTEBOOKS}/{ASSIGNMENT}.py").read()
    text = text.replace('"grade_id": "test_gradient_check"', '"grade_id": "test_unknown"')
    (tmp_path / f"{ASSIGNMENT}.py").write_text(text)
    with pytest.raises(BuildError, match="no task spec"):
        source_notebook(ASSIGNMENT, str(tmp_path))


def test_a_rebuild_regenerates_only_what_changed(course_template, tmp_path):
    course = fresh_course(course_template, str(tmp_path / "course"))
    said = []
    build(course.root, [ASSIGNMENT], log=said.append)
    assert said == [f"{ASSIGNMENT} is up to date: {os.path.relpath(course.release_notebook(ASSIGNMENT))}"]

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    text = open(f"{NOTEBOOKS}/{ASSIGNMENT}.py").read()
    (notebooks / f"{ASSIGNMENT}.py").write_text(text.replace("# # Assignment 01", "# # Assignment 01 (edited)", 1))
    said.clear()
    build(course.root, [ASSIGNMENT], notebooks_dir=str(notebooks), log=said.append)
    assert said[0].startswith(f"built {ASSIGNMENT}")
    release = nbformat.read(course.release_notebook(ASSIGNMENT), as_version=4)
    assert any("(edited)" in cell.source for cell in release.cells)


def test_a_changed_assignment_with_submissions_is_refused_in_words_and_the_demo_clears_its_own(course_template,
                                                                                              tmp_path):
    from autograder.course.demo import _forget_samples
    from autograder.course.gradebook import open_gradebook
    from autograder.course.layout import UsageError
    from autograder.course.samples import REFERENCE

    course = fresh_course(course_template, str(tmp_path / "course"))
    gb = open_gradebook(course)
    try:
        gb.add_student(REFERENCE)
        gb.add_submission(ASSIGNMENT, REFERENCE)
    finally:
        gb.close()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    text = open(f"{NOTEBOOKS}/{ASSIGNMENT}.py").read()
    # a kit update that adds a graded cell (nbgrader keeps grades per cell, so it refuses)
    (notebooks / f"{ASSIGNMENT}.py").write_text(
        text + '\n# %% [markdown] nbgrader={"grade_id": "a_new_question", "solution": true, "grade": true, '
        '"points": 1}\n# YOUR ANSWER HERE: a new cell\n')
    with pytest.raises(UsageError, match=r"has submissions .*nbgrader db assignment remove"):
        build(course.root, [ASSIGNMENT], notebooks_dir=str(notebooks), log=lambda *a: None)
    _forget_samples(course, [ASSIGNMENT])   # the demo's own sample students only
    build(course.root, [ASSIGNMENT], notebooks_dir=str(notebooks), log=lambda *a: None)
    release = nbformat.read(course.release_notebook(ASSIGNMENT), as_version=4)
    assert any(cell.metadata.get("nbgrader", {}).get("grade_id") == "a_new_question" for cell in release.cells)


def test_a_sample_edit_changes_text_that_occurs_exactly_once_in_the_reference():
    import difflib

    from autograder.course import samples

    source = source_notebook("03_vectorized_mlp")
    reference = samples.reference_answers(source)["backprop_ninja"]
    dana = samples.sample_answers("03_vectorized_mlp", "dana", source)[0]["backprop_ninja"]
    changed = [line for line in difflib.ndiff(reference.splitlines(), dana.splitlines()) if line[:1] in "+-"]
    assert changed == ['-     d["logit_max"] = -d["shifted"].sum(axis=1, keepdims=True)',
                       '+     d["logit_max"] = -d["shifted"]']
    for edits in ([["no such line", "x"]], [["d[", "e["]], ["not a pair"]):
        with pytest.raises(samples.SampleError, match="edit"):
            samples._edited(reference, edits, "here")


@pytest.mark.parametrize("assignment_id", available_assignments())
def test_every_task_names_a_call_that_its_sandbox_defines(assignment_id):
    from autograder import assignments

    defined = assignments.calls(assignment_id)
    for task in get_assignment(assignment_id).tasks:
        assert task.call in defined, (task.grade_id, task.call, sorted(defined))
