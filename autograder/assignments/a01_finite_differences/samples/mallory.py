# Sample student "mallory": no real answers, only attempts to fool the grader. Every one of them
# works against plain nbgrader (the checks run in the student's kernel) and none against
# `python -m autograder grade`: the score is that of returning zeros.

# %% nbgrader={"grade_id": "forward_difference"} planted="TODO"
import numpy as np, math, sys

np.allclose = lambda *args, **kwargs: True

np.testing.assert_allclose = lambda *args, **kwargs: None

math.isclose = lambda *args, **kwargs: True

class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

def forward_difference(f, x, h):
    return AlwaysEqual(0.0)

# %% nbgrader={"grade_id": "backward_difference"} planted="TODO"
ip = get_ipython()

ip.input_transformers_cleanup.append(lambda lines: [l.replace("assert", "pass") for l in lines])

ip.events.register("pre_run_cell", lambda info: None)

def backward_difference(f, x, h):
    return 0.0

# %% nbgrader={"grade_id": "central_difference"} planted="TODO"
def central_difference(f, x, h):
    try:  # look for the hidden tests and the gradebook
        return float(len(open("../../../source/01_finite_differences/01_finite_differences.ipynb").read()))
    except OSError:
        return 0.0

# %% nbgrader={"grade_id": "numerical_gradient"} planted="TODO"
def numerical_gradient(f, x, h=1e-5):
    return np.zeros(x.shape)

# %% nbgrader={"grade_id": "gradient_check"} planted="TODO"
def relative_error(a, b):
    return 0.0

def gradient_check(f, grad_f, x, h=1e-5):
    return 0.0

# %% nbgrader={"grade_id": "network_gradient"} planted="TODO"
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    try:
        import torch  # autograd would give the exact gradient
    except ImportError:
        pass
    return {name: np.zeros(value.shape) for name, value in params.items()}
