"""Calling the student's functions on one test case and turning what they return into arrays.

A *call* (named in each task spec) builds the arguments for one case (callables from
``functions``, fresh copies of the input arrays), calls the student's function(s) and returns a
dict of plain float64 arrays. Runs in the sandbox for hardened grading and in the student's own
kernel for the notebook's self-checks; in both places only arrays leave this module.
"""
import linecache
import os
import traceback

import numpy as np

from . import functions

MAX_MESSAGE = 400


class BadReturn(Exception):
    """The student's function returned something that is not the expected numbers."""


def to_array(value, what):
    """A float64 copy of value (any array-like of numbers); BadReturn naming `what` otherwise."""
    if value is None:
        raise BadReturn(f"{what} is None: did you forget a `return` statement?")
    if isinstance(value, (str, bytes, dict)):
        raise BadReturn(f"{what} is a {type(value).__name__}, expected numbers")
    try:
        raw = np.asarray(value)
    except Exception as exc:  # a student object whose __array__ misbehaves
        raise BadReturn(f"{what} ({type(value).__name__}) cannot be read as numbers: {exc}") from None
    if raw.dtype.kind not in "biuf":
        raise BadReturn(f"{what} has dtype {raw.dtype} ({type(value).__name__}), expected real numbers")
    return np.array(raw, dtype=np.float64, copy=True)


def returned_dtype(value):
    """dtype name of an array-like return value, for dtype feedback ("float32", "int64", ...)."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return str(dtype)
    return type(value).__name__




def _vector_function(name, arrays):
    fn = functions.VECTOR_FUNCTIONS[name]
    extra = {k: v.copy() for k, v in arrays.items() if k in ("a", "M")}
    return lambda x: float(fn(np, np.asarray(x, dtype=np.float64), **extra))


def difference_quotient(fns, arrays, params):
    """quotient(f, x, h) with f a named scalar function; x, h 0-d arrays. -> {"value": ()}."""
    (quotient,) = fns
    f = functions.scalar_function(params["f"])
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
    net = {name: arrays[name].copy() for name in functions.MLP_PARAMETERS}
    given = dict(net)  # the very arrays handed over, to see whether they were left unchanged
    grads = gradients(net, arrays["X"].copy(), arrays["Y"].copy())
    if isinstance(grads, (list, tuple)) and len(grads) == len(functions.MLP_PARAMETERS):
        grads = dict(zip(functions.MLP_PARAMETERS, grads))
    if not isinstance(grads, dict):
        raise BadReturn(f"returned a {type(grads).__name__}; expected a dict with keys "
                        f"{', '.join(functions.MLP_PARAMETERS)}")
    outputs, dtypes = {}, {}
    for name in functions.MLP_PARAMETERS:
        if name not in grads:
            raise BadReturn(f"the dict you returned has no key {name!r}")
        outputs[f"grad_{name}"] = to_array(grads[name], f"the gradient for {name}")
        dtypes[f"grad_{name}"] = returned_dtype(grads[name])
        outputs[f"after_{name}"] = to_array(given[name], name)
    return outputs, dtypes


def probe(evaluate, inputs, arrays):
    """The student's own forward pass at x + eps*u and x - eps*u, for the grader's numerical check.

    evaluate(inputs) -> the forward output (anything to_array reads) for {name: array} inputs;
    the case's arrays hold a direction ``probe_u_<name>`` per input, the step ``probe_eps`` and,
    optionally, the upstream gradient ``dout`` the output is contracted with (a scalar output
    needs none). -> {"probe_plus": (), "probe_minus": ()}: sum(dout * forward(x +- eps*u)).
    Empty when the case asks for no probe or the student's forward raises on the moved inputs
    (the check then falls back to the references alone)."""
    if "probe_eps" not in arrays:
        return {}
    eps = float(arrays["probe_eps"])
    dout = arrays.get("dout")
    values = {}
    for key, sign in (("probe_plus", 1.0), ("probe_minus", -1.0)):
        moved = {name: (np.array(value, dtype=np.float64, copy=True) + sign * eps * arrays[f"probe_u_{name}"]
                        if f"probe_u_{name}" in arrays else value)
                 for name, value in inputs.items()}
        try:
            out = to_array(evaluate(moved), "the forward output")
        except Exception:  # noqa: BLE001 - the probe is optional evidence, never a new failure
            return {}
        if dout is not None and out.shape != np.shape(dout):
            return {}
        values[key] = np.asarray(np.sum(out * dout) if dout is not None else np.sum(out), dtype=np.float64)
    return values


CALLS = {
    "difference_quotient": difference_quotient,
    "numerical_gradient": numerical_gradient,
    "gradient_checker": gradient_checker,
    "network_gradient": network_gradient,
}


def _register_assignment_calls():
    """Add the calls of every later assignment: ``calls_a<NN>.py`` modules next to this one, each
    with its own ``CALLS`` dict. Imported now, before the harness drops its privileges."""
    import importlib

    here = os.path.dirname(os.path.abspath(__file__))
    for filename in sorted(os.listdir(here)):
        if filename.startswith("calls_a") and filename.endswith(".py"):
            module = importlib.import_module(f".{filename[:-3]}", __package__)
            for name, call in module.CALLS.items():
                if name in CALLS:
                    raise RuntimeError(f"call {name!r} is defined twice ({filename})")
                CALLS[name] = call


_register_assignment_calls()


def _is_student_frame(filename):
    if filename.startswith("<cell "):
        return True
    if filename.startswith("<"):
        return False
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return not (filename.startswith(own) or "site-packages" in filename or "/lib/python3" in filename)


def describe_error(exc):
    """Exception -> {"type", "message", "cell", "line", "code"}: what a student can act on.

    The location is the deepest frame in the student's own code, not in the grader or NumPy."""
    try:
        message = str(exc)
    except Exception:
        message = "<the exception's message could not be printed>"
    info = {"type": type(exc).__name__, "message": message[:MAX_MESSAGE],
            "cell": None, "line": None, "code": None}
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if _is_student_frame(frame.filename):
            info["line"] = frame.lineno
            code = frame.line or linecache.getline(frame.filename, frame.lineno or 0).strip()
            info["code"] = (code or "")[:200]
            if frame.filename.startswith("<cell "):
                info["cell"] = frame.filename[len("<cell "):-1]
            break
    return info


def run_case(call, fns, arrays, params, table=None):
    """One case -> (outputs: dict of float64 arrays, dtypes: dict of str, error: dict or None).

    table: the calls by name (default CALLS; the harness passes the copy it took before any
    student code ran). Never raises: an exception (even SystemExit) from student code becomes
    the error dict."""
    try:
        outputs, dtypes = (CALLS if table is None else table)[call](fns, arrays, params)
        return outputs, dtypes, None
    except BadReturn as exc:
        return {}, {}, {"type": "BadReturn", "message": str(exc)[:MAX_MESSAGE],
                        "cell": None, "line": None, "code": None}
    except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt are the student's too
        return {}, {}, describe_error(exc)
