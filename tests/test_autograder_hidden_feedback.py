"""On a hidden case the feedback carries trusted words only (issue 16, finding G).

Student code sees hidden inputs (as arguments, by design). Three channels once carried them onto
the feedback page: the file name and line of an exception (code compiled under a chosen name),
the shape of a returned array, and digits spelled as letters in an exception message. These
tests hand the judge what such a student's process sends back and read what it would show.
"""
import re

import numpy as np

from autograder.judging.judge import cell_error_text, describe_exception, judge_task
from autograder.judging.spec import Case, Check, Task
from autograder.running.runner import TaskRun

SPELLED = "four zero two two nine eight three four"
CHOSEN_FILE = "cell n=402 m=298 k=34"


def _task(compare=None):
    def make_cases(rng, hidden):
        return [Case({"x": np.full((402, 298), 0.5)})]

    return Task(grade_id="t", title="tanh backward", points=2, answer_cells=("a",), functions=("f",),
                call="", make_cases=make_cases, reference=lambda c: {"grad_x": 1 - np.tanh(c.arrays["x"]) ** 2},
                checks=(Check("gradient", ("grad_x",), compare=compare),))


def _judge(run, hidden):
    task = _task()
    cases = task.make_cases(None, hidden)
    return judge_task(task, cases, [hidden] * len(cases), run)


def _texts(result):
    return [result.error] + [c.message for c in result.checks] + [
        m["message"] for c in result.checks for m in c.mistakes]


def _error(**extra):
    return {"type": "ValueError", "message": SPELLED, "cell": CHOSEN_FILE, "line": 402,
            "code": "raise ValueError(spell(x.shape))", **extra}


def test_an_exception_on_a_hidden_input_shows_no_file_name_line_or_message():
    run = TaskRun(cases=[{"error": _error(), "dtypes": {}}], outputs=[{}])
    for text in _texts(_judge(run, hidden=True)):
        assert "402" not in text and "298" not in text and "four" not in text, text
        assert "n=" not in text and "spell" not in text, text
    assert "ValueError" in _judge(run, hidden=True).checks[0].message


def test_an_exception_on_a_visible_input_still_shows_where_and_why():
    run = TaskRun(cases=[{"error": _error(), "dtypes": {}}], outputs=[{}])
    message = _judge(run, hidden=False).checks[0].message
    assert SPELLED in message and "line 402" in message


def test_a_class_made_up_by_the_student_is_not_named_on_a_hidden_input():
    error = _error(type="Leak_four_zero_two")
    text = describe_exception(error, hidden=True)
    assert "Leak" not in text and "four" not in text and "own class" in text


def test_a_forged_missing_function_name_is_not_shown_on_a_hidden_input():
    error = _error(missing_function="four_zero_two")
    assert "four" not in describe_exception(error, hidden=True)
    assert "f is not defined" in describe_exception(_error(missing_function="f"), True, {"f": "its cell raised"})


def test_the_shape_of_a_returned_array_is_not_shown_on_a_hidden_input():
    smuggled = np.zeros((0, 402, 298, 34))
    run = TaskRun(cases=[{"error": None, "dtypes": {}}], outputs=[{"grad_x": smuggled}])
    hidden = _judge(run, hidden=True)
    for text in _texts(hidden):
        assert not re.search(r"\d{2}", text), text
    assert "wrong shape" in hidden.checks[0].message.lower()
    assert "(0, 402, 298, 34)" in _judge(run, hidden=False).checks[0].message


def test_returned_values_are_not_quoted_on_a_hidden_input():
    got = np.full((402, 298), 402298.34)
    run = TaskRun(cases=[{"error": None, "dtypes": {}}], outputs=[{"grad_x": got}])
    for text in _texts(_judge(run, hidden=True)):
        assert "402" not in text and "298" not in text, text


def test_a_custom_comparison_message_is_not_shown_on_a_hidden_input():
    from autograder.judging.compare import Verdict

    task = _task(compare=lambda expected, got, case: Verdict(False, f"got {SPELLED}"))
    cases = task.make_cases(None, True)
    run = TaskRun(cases=[{"error": None, "dtypes": {}}], outputs=[{"grad_x": np.zeros((402, 298))}])
    text = judge_task(task, cases, [True], run).checks[0].message
    assert "four" not in text and "does not match" in text.lower()


def test_a_cell_note_shows_the_type_and_nothing_the_process_wrote():
    text = cell_error_text(_error(type="Leak_four"))
    assert "four" not in text and "Leak" not in text
    assert "NameError" in cell_error_text({"type": "NameError", "message": SPELLED})


def test_a_cell_that_failed_on_an_import_names_the_forbidden_modules_from_the_spec():
    text = cell_error_text({"type": "ImportError", "message": SPELLED}, ("torch", "scipy", "cmath"))
    assert "torch may not be used, nor scipy" in text and "complex arithmetic" in text
    assert "four" not in text
