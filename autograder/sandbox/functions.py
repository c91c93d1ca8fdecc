"""Test functions that graded calls are built from, written once for NumPy and for PyTorch.

Every function takes ``xp`` (the array module, ``numpy`` or ``torch``) first. The sandbox
evaluates it with NumPy to hand callables to student code; the trusted grader evaluates the very
same expression with torch to get exact gradients by autograd. No gradient lives here: student
code can reach this module (through ``f.__closure__``), so exact and deliberately broken
gradients are computed on the trusted side (``tasks/a01_finite_differences.py``) and only their
values at the case's x travel into the sandbox.
"""
import numpy as np

# Scalar functions f(x) for the difference-quotient exercises. "lecture" is the lecture's
# f(x) = 2 / sin(exp(-x)).
SCALAR_FUNCTIONS = {
    "sin3": lambda xp, x: xp.sin(3.0 * x),
    "cubic": lambda xp, x: x**3 - 2.0 * x,
    "lecture": lambda xp, x: 2.0 / xp.sin(xp.exp(-x)),
    "softplus": lambda xp, x: xp.log(1.0 + xp.exp(x)),
    "exp_half": lambda xp, x: xp.exp(0.5 * x),
}


def smooth_mix(xp, x, a, M):
    """f(x) = sum(a * sin x) + 0.5 * x_flat^T M x_flat + tanh(sum x); x of any shape, a like x,
    M of shape (x.size, x.size). Returns a scalar."""
    flat = x.reshape(-1)
    return (a * xp.sin(x)).sum() + 0.5 * (flat @ (M @ flat)) + xp.tanh(x.sum())


def log_sum_exp(xp, x, a):
    """f(x) = log(sum(exp(a * x))); x of any shape, a like x. Returns a scalar."""
    z = a * x
    peak = z.max()
    return peak + xp.log(xp.exp(z - peak).sum())


VECTOR_FUNCTIONS = {"smooth_mix": smooth_mix, "log_sum_exp": log_sum_exp}


def scalar_function(name):
    """The named scalar test function as a plain float -> float callable."""
    fn = SCALAR_FUNCTIONS[name]
    return lambda x: float(fn(np, x))


# The parameters of mlp_loss, in the order its arrays travel.
MLP_PARAMETERS = ("W1", "b1", "W2", "b2")


def mlp_loss(xp, W1, b1, W2, b2, X, Y):
    """Mean over the batch of 0.5 * ||y_hat - y||^2 for a ReLU network.

    W1: (H, D), b1: (H,), W2: (K, H), b2: (K,), X: (N, D), Y: (N, K). Returns a scalar.
    """
    A = X @ W1.T + b1
    Z = A * (A > 0)
    Y_hat = Z @ W2.T + b2
    return 0.5 * ((Y_hat - Y) ** 2).sum() / X.shape[0]
