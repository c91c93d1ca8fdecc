"""What every assignment's calls share: reading returns as arrays, the probe, error reports.

A *call* (named in a task spec, defined in the ``CALLS`` of its assignment's ``sandbox.py``)
builds the arguments for one case (callables, fresh copies of the input arrays), calls the
student's function(s) and returns a dict of plain float64 arrays. Calls run in the sandbox for
hardened grading and in the student's own kernel for the notebook's self-checks; in both places
only arrays leave them. ``run_case`` runs one call and never raises.
"""
import functools
import gc
import linecache
import os
import traceback

import numpy as np

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
    if raw.dtype.kind == "c":
        raise BadReturn(f"{what} is complex ({raw.dtype}): complex values are refused, because complex "
                        f"arithmetic (the complex step) would compute the derivative for you; return "
                        f"real numbers derived by hand")
    if raw.dtype.kind not in "biuf":
        raise BadReturn(f"{what} has dtype {raw.dtype} ({type(value).__name__}), expected real numbers")
    return np.array(raw, dtype=np.float64, copy=True)


def returned_dtype(value):
    """dtype name of an array-like return value, for dtype feedback ("float32", "int64", ...)."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return str(dtype)
    return type(value).__name__




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


def run_case(table, call, fns, arrays, params):
    """One case -> (outputs: dict of float64 arrays, dtypes: dict of str, error: dict or None).

    table: the assignment's calls by name (the harness passes the copy it took before any
    student code ran). Never raises: an exception (even SystemExit) from student code becomes
    the error dict."""
    try:
        outputs, dtypes = table[call](fns, arrays, params)
        return outputs, dtypes, None
    except BadReturn as exc:
        return {}, {}, {"type": "BadReturn", "message": str(exc)[:MAX_MESSAGE],
                        "cell": None, "line": None, "code": None}
    except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt are the student's too
        return {}, {}, describe_error(exc)


def multiple_choice(fns, arrays, params):
    """answer() -> one of the letters params["letters"] -> {"choice": ()}: 1 for the first letter.

    "b", "B" and " (b) " all read as b; anything else is a BadReturn that lists the letters."""
    (answer,) = fns
    letters = str(params["letters"])
    value = answer()
    options = ", ".join(f'"{letter}"' for letter in letters)
    if not isinstance(value, str):
        raise BadReturn(f"your answer is a {type(value).__name__}; return one letter as a string, "
                        f"one of {options}")
    text = str.strip(str.lower(value)).strip("() ")
    if len(text) != 1 or text not in letters:
        raise BadReturn(f"your answer {value[:20]!r} is not one of the options; return one of {options}")
    return {"choice": np.asarray(float(letters.index(text) + 1))}, {"choice": "str"}


def call_table(*functions):
    """The CALLS of an assignment's ``sandbox.py``: {call name: function}, each call named after
    its function (a task spec's ``call``), with the questions' ``multiple_choice``."""
    return {"multiple_choice": multiple_choice, **{fn.__name__: fn for fn in functions}}


def collector_paused(call):
    """The call (fns, arrays, params), run with Python's cyclic garbage collector paused: a graph
    of thousands of nodes (each op's backward closure refers to its output, a reference cycle)
    triggers collections that rescan all of them again and again, as much time as the work
    itself or more; the cycles are collected once, afterwards."""
    @functools.wraps(call)
    def run(fns, arrays, params):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return call(fns, arrays, params)
        finally:
            if was_enabled:
                gc.enable()
    return run
