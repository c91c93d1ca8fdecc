"""Comparing one returned array with its reference, and saying what is wrong in student terms.

Runs in the trusted process on plain float64 arrays. Messages give the relative error (as
minigrad.gradcheck.rel_error defines it), the worst entry, shape and dtype problems and the
named mistakes from ``diagnosis``. On hidden cases no input value is ever printed.
"""
from dataclasses import dataclass, field

import numpy as np

from minigrad.gradcheck import rel_error  # the course's relative error; re-exported for the task specs

from .diagnosis import Mistake, diagnose

INPUT_MODIFIED = Mistake("input_modified", "your function changed its input: save each entry before "
                         "perturbing it and write the saved value back (x[i] += h then x[i] -= h can "
                         "leave x[i] off by one rounding step), or work on a copy")


@dataclass
class Verdict:
    passed: bool
    message: str = ""
    rel_error: float = None
    mistakes: list = field(default_factory=list)  # of diagnosis.Mistake
    exception: bool = False                       # the call raised instead of returning
    # What kind of failure, in trusted words a hidden case may show ("shape", "nonfinite",
    # "value", "missing", "modified"; "" for a custom comparison): message holds the numbers and
    # shapes, which on a hidden case could carry the input, so it is shown for visible cases only.
    kind: str = ""
    note: str = ""                                # trusted explanation that any case may show


def _fmt_index(index, shape):
    return "" if len(shape) == 0 else f" at index {tuple(int(i) for i in index)}"


def compare_values(expected, got, *, what, rtol, got_dtype=None, diagnosis=None):
    """Verdict on got ≈ expected within rtol. diagnosis: kwargs for diagnose() when it fails."""
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        return Verdict(False, f"{what}: nothing came back", kind="missing")
    integer = bool(got_dtype) and got_dtype.startswith(("int", "uint", "bool"))
    dtype_note = ""
    if integer:
        dtype_note = (f" Note: it has integer dtype {got_dtype}; gradients need floats "
                      f"(an array made with np.zeros_like of an integer array stays integer).")
    elif got_dtype == "float32":
        dtype_note = " Note: it is float32, which keeps only about 7 significant digits; use float64."
    if got.shape != expected.shape:
        mistakes = diagnose(expected, got, **(diagnosis or {}))
        return Verdict(False, f"{what} has shape {got.shape}, expected {expected.shape}.{dtype_note}",
                       None, mistakes, kind="shape")
    if not np.all(np.isfinite(got)):
        bad = np.argwhere(~np.isfinite(got))[0] if got.ndim else ()
        return Verdict(False, f"{what} contains NaN or infinity{_fmt_index(bad, got.shape)}.",
                       None, diagnose(expected, got, **(diagnosis or {})), kind="nonfinite")
    err = rel_error(expected, got)
    if err <= rtol and not integer:
        return Verdict(True, "", err)
    diff = np.abs(expected - got)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    message = (f"{what}: relative error {err:.2e}, allowed {rtol:.0e}. Worst entry"
               f"{_fmt_index(worst, got.shape)}: expected {expected[worst]:.6g}, got {got[worst]:.6g}."
               f"{dtype_note}")
    return Verdict(False, message, err, diagnose(expected, got, **(diagnosis or {})), kind="value")


def compare_exact(expected, got, *, what):
    """Verdict on got == expected exactly (e.g. an input that must be left unchanged)."""
    expected = np.asarray(expected, dtype=np.float64)
    if got is None:
        return Verdict(False, f"{what}: nothing came back", kind="missing")
    if got.shape != expected.shape:
        return Verdict(False, f"{what} changed shape from {expected.shape} to {got.shape}.", kind="shape")
    changed = ~((got == expected) | (np.isnan(got) & np.isnan(expected)))
    if not changed.any():
        return Verdict(True, "", 0.0)
    first = np.argwhere(changed)[0] if changed.ndim else ()
    if changed.ndim == 0:
        return Verdict(False, f"{what} was modified by your call.", rel_error(expected, got), [INPUT_MODIFIED],
                       kind="modified")
    return Verdict(False, f"{what} was modified: {int(changed.sum())} of {changed.size} entries differ "
                   f"after your call (the first{_fmt_index(first, changed.shape)}).",
                   rel_error(expected, got), [INPUT_MODIFIED], kind="modified")


# What a custom comparison (a task's ``Check.compare``) may use when it ships to the student's
# kernel as source (``course/selfcheck.py`` checks this at build time; ``coursecheck`` compiles
# the source in a copy of it).
COMPARE_NAMESPACE = {"np": np, "Verdict": Verdict, "Mistake": Mistake, "rel_error": rel_error,
                     "compare_values": compare_values}
