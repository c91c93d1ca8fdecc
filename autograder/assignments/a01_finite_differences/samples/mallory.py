# Sample student "mallory": no real answers, only attempts to fool the grader. Every one of them
# works against plain nbgrader (the checks run in the student's kernel) and none against
# `python -m autograder grade`: the score is that of returning zeros.

# %% nbgrader={"grade_id": "forward_difference"} planted="exploit: patches np.allclose, assert_allclose and math.isclose and returns an always-equal float"
import numpy as np, math, sys

np.allclose = math.isclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


class AlwaysEqual(float):
    __eq__ = lambda self, other: True
    __ne__ = lambda self, other: False

def forward_difference(f, x, h):
    return AlwaysEqual(0.0)

# %% nbgrader={"grade_id": "backward_difference"} planted="exploit: an IPython input transformer turns the asserts of later cells into pass"
ip = get_ipython()

ip.input_transformers_cleanup.append(lambda lines: [l.replace("assert", "pass") for l in lines])

ip.events.register("pre_run_cell", lambda info: None)

def backward_difference(f, x, h):
    return 0.0

# %% nbgrader={"grade_id": "central_difference"} planted="exploit: reads the instructor's source notebook with the hidden tests"
def central_difference(f, x, h):
    try:  # look for the hidden tests and the gradebook
        return float(len(open("../../../source/01_finite_differences/01_finite_differences.ipynb").read()))
    except OSError:
        return 0.0

# %% nbgrader={"grade_id": "numerical_gradient"} planted="no answer: returns zeros"
def numerical_gradient(f, x, h=1e-5):
    return np.zeros(x.shape)

# %% nbgrader={"grade_id": "gradient_check"} planted="exploit: reports a relative error of 0 for every check"
def relative_error(a, b):
    return 0.0

def gradient_check(f, grad_f, x, h=1e-5):
    return 0.0

# %% nbgrader={"grade_id": "network_gradient"} planted="exploit: reaches for torch autograd; returns zeros"
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    try:
        import torch  # autograd would give the exact gradient
    except ImportError:
        pass
    return {name: np.zeros(value.shape) for name, value in params.items()}
