"""The contract's second reference: a gradient judged against the student's own forward pass."""
import numpy as np
import pytest

from autograder.judging.judge import judge_task
from autograder.running.runner import TaskRun
from autograder.sandbox.calls import probe
from autograder.judging.spec import Case, Check, Task, add_probe


def _task():
    rng = np.random.default_rng(3)

    def make_cases(rng_, hidden):
        x = rng.normal(size=(3, 4))
        return [Case(add_probe({"x": x, "dout": rng.normal(size=(3, 4))}, rng, ["x"]))]

    return Task(grade_id="t", title="sin backward", points=2, answer_cells=(), functions=(),
                call="", make_cases=make_cases,
                reference=lambda c: {"out": np.sin(c.arrays["x"]), "grad_x": c.arrays["dout"] * np.cos(c.arrays["x"])},
                checks=(Check("forward", ("out",)), Check("backward", ("grad_x",), probe=True, forward=("out",))))


def _judge(forward, backward):
    """Grade a 'student' whose forward is `forward` and whose backward is backward(x, dout)."""
    task = _task()
    cases = task.make_cases(None, True)
    outputs = []
    for case in cases:
        x, dout = case.arrays["x"], case.arrays["dout"]
        out = {"out": forward(x), "grad_x": backward(x, dout)}
        out.update(probe(lambda inputs: forward(inputs["x"]), {"x": x}, case.arrays))
        outputs.append(out)
    run = TaskRun(cases=[{"error": None, "dtypes": {}}] * len(cases), outputs=outputs)
    return judge_task(task, cases, [True] * len(cases), run)


def test_a_correct_backward_passes_both_references():
    result = _judge(np.sin, lambda x, d: d * np.cos(x))
    assert result.score == 2


def test_a_backward_consistent_with_a_wrong_forward_is_named_but_earns_nothing():
    result = _judge(lambda x: np.sin(x) + 0.05 * x, lambda x, d: d * (np.cos(x) + 0.05))
    forward, backward = result.checks
    assert not forward.passed and not backward.passed and result.score == 0
    assert "agrees with a numerical derivative of your own forward" in backward.message


@pytest.mark.parametrize("forward, backward", [
    (np.zeros_like, lambda x, d: np.zeros_like(x)),    # constant forward, zero gradient
    (lambda x: x, lambda x, d: d),                      # identity pair
    (lambda x: 3 * x, lambda x, d: 3 * d),              # consistent, but unrelated
])
def test_a_made_up_consistent_pair_earns_nothing(forward, backward):
    result = _judge(forward, backward)
    assert result.score == 0
    assert "forward pass is wrong" in result.checks[1].message


def test_a_wrong_backward_after_a_right_forward_is_said_to_disagree_with_it():
    result = _judge(np.sin, lambda x, d: -d * np.cos(x))
    backward = result.checks[1]
    assert not backward.passed and "forward pass is right" in backward.message
    assert "wrong_sign" in result.mistake_codes


def test_a_backward_wrong_even_for_its_own_wrong_forward_fails_and_says_so():
    result = _judge(lambda x: np.sin(2 * x), lambda x, d: d * np.cos(x) * 3)
    assert result.score == 0 and "already wrong" in result.checks[1].message


def test_the_probe_is_left_out_when_the_forward_raises():
    def forward(x):
        raise ValueError("not yet")

    case = Case(add_probe({"x": np.ones(3)}, np.random.default_rng(0), ["x"]))
    assert probe(lambda inputs: forward(inputs["x"]), {"x": np.ones(3)}, case.arrays) == {}


def test_a_check_that_applies_to_no_case_earns_nothing():
    task = _task()
    cases = task.make_cases(None, True)
    lonely = Task(**{**task.__dict__, "checks": task.checks + (Check("never applies", ("missing_key",)),)})
    run = TaskRun(cases=[{"error": None, "dtypes": {}}], outputs=[{
        "out": np.sin(cases[0].arrays["x"]), "grad_x": cases[0].arrays["dout"] * np.cos(cases[0].arrays["x"])}])
    result = judge_task(lonely, cases, [True], run)
    assert result.score == pytest.approx(2 * 2 / 3, abs=1e-4) and not result.checks[2].passed
