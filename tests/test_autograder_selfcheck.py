"""The notebook's test cells: visible checks in the student's kernel, with the same diagnosis."""
import numpy as np
import pytest

from autograder.selfcheck import check


def forward_difference(f, x, h):
    return (f(x + h) - f(x)) / h


def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        saved = x[i]
        x[i] = saved + h / 2
        up = f(x)
        x[i] = saved - h / 2
        down = f(x)
        x[i] = saved
        grad[i] = (up - down) / h
    return grad


def test_correct_functions_pass_visible_and_hidden_checks(capsys):
    check("test_forward_difference", forward_difference)
    check("test_numerical_gradient", numerical_gradient, hidden=True)
    assert "visible tests pass" in capsys.readouterr().out


def test_a_wrong_function_fails_with_the_named_mistake():
    with pytest.raises(AssertionError, match="(?s)forward_difference.*0 / 2.*backward"):
        check("test_forward_difference", lambda f, x, h: (f(x) - f(x - h)) / h)


def test_an_exception_is_reported_with_its_line():
    def broken(f, x, h):
        return f(x) / undefined_name  # noqa: F821

    with pytest.raises(AssertionError, match="(?s)NameError.*undefined_name"):
        check("test_forward_difference", broken)


def test_unknown_grade_id_is_an_error():
    with pytest.raises(KeyError):
        check("test_nothing", forward_difference)
