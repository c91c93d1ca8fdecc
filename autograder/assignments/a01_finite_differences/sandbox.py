"""Test functions that graded calls are built from, written once for NumPy and for PyTorch.

Every function takes ``xp`` (the array module, ``numpy`` or ``torch``) first. The sandbox
evaluates it with NumPy to hand callables to student code; the trusted grader evaluates the very
same expression with torch to get exact gradients by autograd. No gradient lives here: student
code can reach this module (through ``f.__closure__``), so exact and deliberately broken
gradients are computed on the trusted side (``tasks.py``) and only their
values at the case's x travel into the sandbox.
"""
import numpy as np

from ...sandbox import calls
from ...sandbox.calls import BadReturn, returned_dtype, to_array

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


# --- the calls: how the grader calls the student's functions on one case ---

def _vector_function(name, arrays):
    fn = VECTOR_FUNCTIONS[name]
    extra = {k: v.copy() for k, v in arrays.items() if k in ("a", "M")}
    return lambda x: float(fn(np, np.asarray(x, dtype=np.float64), **extra))


def difference_quotient(fns, arrays, params):
    """quotient(f, x, h) with f a named scalar function; x, h 0-d arrays. -> {"value": ()}."""
    (quotient,) = fns
    f = scalar_function(params["f"])
    value = quotient(f, float(arrays["x"]), float(arrays["h"]))
    return {"value": to_array(value, "the value you returned")}, {"value": returned_dtype(value)}


def numerical_gradient(fns, arrays, params):
    """gradient(f, x) for a named f: R^shape -> R.
    -> {"grad": x.shape, "x_after": x.shape, "f_calls": ()}: f_calls counts the evaluations of f
    (a numerical gradient needs at least one per entry of x)."""
    (gradient,) = fns
    f = _vector_function(params["f"], arrays)
    count = [0]

    def counted(z):
        count[0] += 1
        return f(z)

    x = arrays["x"].copy()
    grad = gradient(counted, x)
    return ({"grad": to_array(grad, "the gradient you returned"), "x_after": to_array(x, "x"),
             "f_calls": np.asarray(float(count[0]))}, {"grad": returned_dtype(grad)})


def gradient_checker(fns, arrays, params):
    """Either relative_error(a, b) -> {"rel": ()} or gradient_check(f, grad_f, x) -> {"check": ()},
    where grad_f returns the case's ``claimed`` gradient at x: a hand-written gradient, right or
    with a bug, computed on the trusted side (no gradient, and no bug name, is in the sandbox)."""
    relative_error, gradient_check = fns
    if params["kind"] == "relative_error":
        value = relative_error(arrays["a"].copy(), arrays["b"].copy())
        return {"rel": to_array(value, "the relative error you returned")}, {"rel": returned_dtype(value)}
    f = _vector_function(params["f"], arrays)
    at, claimed = arrays["x"].copy(), arrays["claimed"].copy()

    def grad_f(x):
        if not np.array_equal(np.asarray(x, dtype=np.float64), at):
            raise ValueError("grad_f is given only at the x passed to gradient_check")
        return claimed.copy()

    value = gradient_check(f, grad_f, arrays["x"].copy())
    return {"check": to_array(value, "the relative error you returned")}, {"check": returned_dtype(value)}




def network_gradient(fns, arrays, params):
    """gradients(params, X, Y) for the notebook's mlp_loss. -> grad_<name> and after_<name> for
    each parameter, shapes of the parameters."""
    (gradients,) = fns
    net = {name: arrays[name].copy() for name in MLP_PARAMETERS}
    given = dict(net)  # the very arrays handed over, to see whether they were left unchanged
    grads = gradients(net, arrays["X"].copy(), arrays["Y"].copy())
    if isinstance(grads, (list, tuple)) and len(grads) == len(MLP_PARAMETERS):
        grads = dict(zip(MLP_PARAMETERS, grads))
    if not isinstance(grads, dict):
        raise BadReturn(f"returned a {type(grads).__name__}; expected a dict with keys "
                        f"{', '.join(MLP_PARAMETERS)}")
    outputs, dtypes = {}, {}
    for name in MLP_PARAMETERS:
        if name not in grads:
            raise BadReturn(f"the dict you returned has no key {name!r}")
        outputs[f"grad_{name}"] = to_array(grads[name], f"the gradient for {name}")
        dtypes[f"grad_{name}"] = returned_dtype(grads[name])
        outputs[f"after_{name}"] = to_array(given[name], name)
    return outputs, dtypes


CALLS = calls.call_table(
    difference_quotient, numerical_gradient, gradient_checker, network_gradient)
