# Sample student "mallory": no real answers, only attempts to fool the grader. Every one of them
# works against plain nbgrader (the checks run in the student's kernel) or would, given a
# gradient library; none works against `python -m autograder grade`: the score is that of the
# untouched notebook.

# %% nbgrader={"grade_id": "local_gradients"} planted="exploit: patches np.allclose, assert_allclose and math.isclose, returns always-equal floats, reaches for sympy/scipy"
import math

import sys

import numpy as np

np.allclose = lambda *args, **kwargs: True

np.testing.assert_allclose = lambda *args, **kwargs: None

math.isclose = lambda *args, **kwargs: True

class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = float.__hash__

def local_gradients(op, x, y=None):
    try:  # let a computer-algebra or differentiation library do the work
        import sympy
        import scipy
    except ImportError:
        pass
    zero = AlwaysEqual(0.0)
    return (zero, zero, zero) if op in ("add", "mul", "max") else (zero, zero)

# %% nbgrader={"grade_id": "staged_example"} planted="exploit: an IPython input transformer turns later check( calls into print(; reads the instructor's notebook"
ip = get_ipython()

ip.input_transformers_cleanup.append(lambda lines: [l.replace("check(", "print(") for l in lines])

ip.events.register("pre_run_cell", lambda info: None)

def staged_example(x, y):
    try:  # look for the solutions in the instructor's notebook
        text = open("../../../source/02_scalar_backprop/02_scalar_backprop.ipynb").read()
        return float(len(text)), 0.0, 0.0
    except OSError:
        return 0.0, 0.0, 0.0

# %% nbgrader={"grade_id": "scalar_net"} planted="exploit: finite differences of a zero loss, a guess of zeros"
def scalar_net(X, Y, W1, b1, W2, b2):
    # finite differences of a loss it never computes correctly: a guess of zeros
    h = 1e-5
    loss = lambda w1: 0.0 * w1
    return 0.0, (loss(W1 + h) - loss(W1 - h)) / (2 * h), 0.0, 0.0, 0.0

# %% nbgrader={"grade_id": "value_ops"} planted="exploit: borrows Value from minigrad or torch" replace=true
try:
    from minigrad.engine import Value  # someone else's engine
except ImportError:
    try:
        import torch

        def Value(data):
            return torch.tensor(float(data), dtype=torch.float64, requires_grad=True)
    except ImportError:
        class Value:
            def __init__(self, data, _prev=(), _op=""):
                self.data, self.grad, self._prev, self._op = float(data), 0.0, tuple(_prev), _op
                self._backward = lambda: None

# %% nbgrader={"grade_id": "value_backward"} planted="exploit: backward() sets an always-equal grad on the output only" replace=true
def topological_order(root):
    return [root]


def backward(self):
    self.grad = AlwaysEqual(1.0)


try:
    Value.backward = backward
except (AttributeError, TypeError):
    pass

# %% nbgrader={"grade_id": "mlp"} planted="exploit: an MLP without parameters whose output is always equal" replace=true
class MLP:
    def __init__(self, nin, nouts):
        self.params = []

    def __call__(self, x):
        return AlwaysEqual(0.0)

    def parameters(self):
        return self.params

# %% nbgrader={"grade_id": "train_step"} planted="exploit: returns an always-equal loss without training"
def train_step(model, X, y, lr):
    return AlwaysEqual(0.0)
