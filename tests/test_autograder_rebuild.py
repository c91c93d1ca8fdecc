"""A submission is rebuilt from the trusted source: only answer-cell code comes from the student."""
import json

import nbformat
import pytest

from autograder.running.rebuild import SubmissionError, read_notebook_file, rebuild


def nbgrader_cell(source, grade_id, cell_type="code", **flags):
    meta = {"grade_id": grade_id, "grade": False, "solution": False, "locked": False,
            "schema_version": 3, "task": False, **flags}
    maker = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    return maker(source, metadata={"nbgrader": meta})


def source_notebook():
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Intro"),
        nbgrader_cell("import numpy as np", "setup", locked=True),
        nbgrader_cell("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "answer_f",
                      solution=True),
        nbgrader_cell("check('t', f)\n### BEGIN HIDDEN TESTS\ncheck('t', f, hidden=True)\n### END HIDDEN TESTS",
                      "test_f", grade=True, locked=True, points=3),
        nbformat.v4.new_code_cell("plot_something()"),
        nbgrader_cell("def g(x):\n    return 2 * x", "answer_g", solution=True),
    ])


def student(*cells):
    return json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=list(cells))))


def test_answers_are_taken_by_grade_id_and_everything_else_from_the_source():
    sub = student(nbgrader_cell("import os  # edited setup", "setup", locked=True),
                  nbgrader_cell("def g(x):\n    return x + 1", "answer_g", solution=True),
                  nbgrader_cell("def f(x):\n    return -x", "answer_f", solution=True),
                  nbgrader_cell("pass", "test_f", grade=True, locked=True, points=300))
    rebuilt = rebuild(source_notebook(), sub)
    assert [c["grade_id"] for c in rebuilt.cells_to_run] == ["setup", "answer_f", "answer_g"]
    assert rebuilt.cells_to_run[0]["source"] == "import numpy as np"
    assert rebuilt.cells_to_run[1]["source"] == "def f(x):\n    return -x"
    cells = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in rebuilt.notebook["cells"]}
    assert "HIDDEN TESTS" in cells["test_f"]["source"] and cells["test_f"]["metadata"]["nbgrader"]["points"] == 3
    assert any("read-only cell 'setup'" in n for n in rebuilt.notes)
    assert any("points of 'test_f'" in n for n in rebuilt.notes)


def test_deleted_duplicated_and_retyped_answer_cells():
    sub = student(nbgrader_cell("def g(x):\n    return 0", "answer_g", solution=True),
                  nbgrader_cell("def g(x):\n    return 2 * x", "answer_g", solution=True),
                  nbgrader_cell("def f(x): return x", "answer_f", cell_type="markdown", solution=True))
    release = student(nbgrader_cell("def f(x):\n    raise NotImplementedError()", "answer_f", solution=True))
    rebuilt = rebuild(source_notebook(), sub, release)
    run = {c["grade_id"]: c["source"] for c in rebuilt.cells_to_run}
    assert run["answer_g"] == "def g(x):\n    return 0"  # the first copy
    assert run["answer_f"] == "def f(x):\n    raise NotImplementedError()"  # released stub
    assert "answer_f" in rebuilt.unanswered
    joined = " ".join(rebuilt.notes)
    assert "more than once" in joined and "changed to a markdown cell" in joined


def test_unlabelled_student_cells_are_not_run():
    sub = student(nbformat.v4.new_code_cell("import os; os._exit(1)"),
                  nbgrader_cell("def f(x):\n    return x", "answer_f", solution=True))
    run = [c["source"] for c in rebuild(source_notebook(), sub).cells_to_run]
    assert not any("_exit" in source for source in run)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"{\"cells\": [", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "nbformat 3"),
    (json.dumps({"hello": "world"}).encode(), "not a Jupyter notebook"),
])
def test_unreadable_submissions_get_one_clear_reason(tmp_path, content, message):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=message):
        read_notebook_file(path)


def test_a_symlinked_notebook_is_refused(tmp_path):
    target = tmp_path / "source.ipynb"
    target.write_text(nbformat.writes(source_notebook()))
    link = tmp_path / "submitted.ipynb"
    link.symlink_to(target)
    with pytest.raises(SubmissionError, match="symbolic link"):
        read_notebook_file(link)
