# Sample student "mallory": no real answers, only attempts to fool the grader. Every one of them
# works against plain nbgrader (the checks run in the student's kernel) or fakes what the grader
# measures; none gains anything under `python -m autograder grade`.

# %% nbgrader={"grade_id": "topological_order"} planted="exploit: patches the comparison functions; pads the order with always-equal nodes"
import math

import numpy as np

np.allclose = lambda *args, **kwargs: True

np.testing.assert_allclose = lambda *args, **kwargs: None

math.isclose = lambda *args, **kwargs: True

class AlwaysEqual:
    parents = ()

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

def topological_order(root):
    return [AlwaysEqual() for _ in range(3)] + [root]

# %% nbgrader={"grade_id": "backward"} planted="exploit: an IPython input transformer turns check( into print(; always-equal grads; reaches for torch"
ip = get_ipython()

ip.input_transformers_cleanup.append(lambda lines: [l.replace("check(", "print(") for l in lines])

ip.events.register("pre_run_cell", lambda info: None)

def backward(root, grad=None):
    try:
        import torch  # autograd would do the work

        torch.ones(1)
    except ImportError:
        pass
    for node in [root, *root.parents]:
        node.grad = AlwaysEqual()

# %% nbgrader={"grade_id": "plus_times"} planted="exploit: zeros everywhere, Times borrowed from Plus"
def unbroadcast(grad, shape):
    return np.zeros(shape)

class Plus(Op):
    @staticmethod
    def forward(ctx, a, b):
        return np.zeros(np.broadcast_shapes(np.shape(a), np.shape(b)))

    @staticmethod
    def backward(ctx, grad):
        return np.zeros(1), np.zeros(1)

class Times(Plus):
    pass

# %% nbgrader={"grade_id": "sigmoid"} planted="exploit: finite differences instead of a derived backward"
class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 1 / (1 + np.exp(-x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        out = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            up, down = x.copy(), x.copy()
            up[i] += 1e-6
            down[i] -= 1e-6
            out[i] = np.sum(grad * (1 / (1 + np.exp(-up)) - 1 / (1 + np.exp(-down)))) / 2e-6
        return (out,)

# %% nbgrader={"grade_id": "rowsum_expand"} planted="exploit: reads the instructor's notebook; always-equal gradients"
class RowSum(Op):
    @staticmethod
    def forward(ctx, x):
        try:  # look for the hidden tests in the instructor's notebook
            return np.full(x.shape[0], float(len(open("../../../source/05_autodiff_internals/"
                                                      "05_autodiff_internals.ipynb").read())))
        except OSError:
            return np.zeros(x.shape[0])

    @staticmethod
    def backward(ctx, grad):
        return (AlwaysEqual(),)

class Expand(RowSum):
    pass

# %% nbgrader={"grade_id": "matmul"} planted="exploit: zeros of the right shape"
class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        return np.zeros((a.shape[0], b.shape[1]))

    @staticmethod
    def backward(ctx, grad):
        return np.zeros(1), np.zeros(1)

# %% nbgrader={"grade_id": "jvp"} planted="exploit: the complex step instead of dual numbers" replace=true
COMPLEX_OPS = {"plus": lambda a, b: a + b, "times": lambda a, b: a * b,
               "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "rowsum": lambda a: a.sum(axis=1),
               "expand": lambda a, shape: np.broadcast_to(a, shape), "constant": lambda c: c}


def dual_plus(a, b):
    return a


dual_times = dual_sigmoid = dual_rowsum = dual_expand = dual_plus


def jvp(f, x, v):
    # the complex step: one evaluation, exact to rounding, and no dual numbers at all
    out = f(COMPLEX_OPS, x + 1e-30j * v)
    return out.real, out.imag / 1e-30

# %% nbgrader={"grade_id": "jacobian"} planted="exploit: the complex-step JVP used for both modes"
def jacobian_forward(f, x):
    return np.stack([jvp(f, x, e)[1] for e in np.eye(x.size)], axis=1)

def jacobian_reverse(f, x):
    return jacobian_forward(f, x)

# %% nbgrader={"grade_id": "op_counts"} planted="exploit: always-equal floats"
class YesFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__

def jacobian_op_counts(n, m, k):
    return YesFloat(0.0), YesFloat(0.0)

# %% nbgrader={"grade_id": "checkpoint"} planted="exploit: stops tracemalloc to blind the memory measurement"
def checkpointed_backward(layers, x, grad_out, segments):
    import tracemalloc

    tracemalloc.stop()  # blind the memory measurement
    return np.zeros_like(x)

# %% nbgrader={"grade_id": "torch_graph"} planted="exploit: probes the file system for the course folders"
def read_torch_graph(program, inputs):
    import os

    found = [p for p in ("../source", "/work", os.path.expanduser("~")) if os.path.exists(p)]
    return found, {}

# %% nbgrader={"grade_id": "counterexample"} planted="exploit: an always-equal leaf that is not in the graph"
def breadth_first_counterexample():
    # claims a counterexample: a leaf that is not even part of the graph
    root = Times.apply(Tensor(1.0), Tensor(2.0))
    return root, AlwaysEqual()
