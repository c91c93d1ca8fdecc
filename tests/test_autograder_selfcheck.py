"""The trusted side of the self-checks: hidden tests in the instructor's installation, with the
grader's diagnosis in student words (no mistake codes), and the data the build ships."""
import pytest

from autograder.course.selfcheck import find_task, format_result, run_hidden, visible_entry


def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


def test_correct_functions_pass_the_hidden_checks(capsys):
    assert run_hidden("test_forward_difference", (forward_difference,)) is None
    assert "hidden tests pass" in capsys.readouterr().out


def test_a_wrong_function_fails_with_the_named_mistake_in_words():
    text = run_hidden("test_forward_difference", (lambda f, x, h: (f(x) - f(x - h)) / h,))
    assert "0 / 2 points" in text and "you computed the backward difference" in text
    assert "On hidden input 1 of 10" in text
    for grader_word in ("Failed", "visible test", "tests;"):
        assert grader_word not in text


def test_an_exception_on_a_hidden_input_is_named_without_its_message():
    def broken(f, x, h):
        return f(x) / undefined_name  # noqa: F821

    text = run_hidden("test_forward_difference", (broken,))
    # the message and line come from the process that saw the hidden input (issue 16, G)
    assert "NameError" in text and "undefined_name" not in text


def test_unknown_grade_id_is_an_error():
    with pytest.raises(KeyError):
        find_task("test_nothing")
    assert visible_entry("test_nothing") is None
