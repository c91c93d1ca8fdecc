"""Naming the classic gradient mistakes from an expected and a wrong answer (a pure function).

``diagnose(expected, got)`` tries, in order: values that are not finite, all zeros, known wrong
answers the task spec computed (``variants``: e.g. a forward difference where a central one was
asked for), right values in the wrong shape, a transposed result, a bias gradient not summed over
the batch, the gradient of only one branch at a fork (``branches``), a wrong sign, and a constant
factor (2, 1/2, the batch size, anything else). It returns every mistake that fits, most specific
first; an empty list means "wrong, but not in a way we recognise".
"""
from dataclasses import dataclass

import numpy as np

from minigrad.gradcheck import rel_error

MATCH_TOLERANCE = 1e-3    # a wrong answer "is" a classic mistake when it matches it this closely
VARIANT_TOLERANCE = 1e-5  # the spec's known wrong answers are computed exactly: match them tightly


@dataclass(frozen=True)
class Mistake:
    code: str     # stable name: "transposed", "wrong_sign", "factor", "batch_size", ...
    message: str  # what to tell the student, in terms they can act on


def _matches(candidate, got, tol=MATCH_TOLERANCE):
    candidate = np.asarray(candidate, dtype=np.float64)
    return candidate.shape == got.shape and got.size > 0 and rel_error(candidate, got) <= tol


def _near(value, target, tol=MATCH_TOLERANCE):
    return abs(value - target) <= tol * max(1.0, abs(target))


def _factor_mistakes(expected, got, batch_size):
    """got == c * expected for a constant c != 1 (expected and got of the same shape)."""
    norm = float(np.sum(expected * expected))
    if norm == 0.0:
        return []
    c = float(np.sum(expected * got)) / norm
    if abs(c - 1.0) < 0.01 or _near(c, 0.0) or not _matches(c * expected, got):
        return []
    found = []
    if c < 0:
        found.append(Mistake("wrong_sign", "the sign is flipped: your result is the negative of the "
                             "expected one (e.g. a - b where b - a was needed, or descending "
                             "instead of ascending)"))
    size = abs(c)
    if _near(size, 1.0):
        return found
    named = [2.0, 0.5] + ([batch_size, 1.0 / batch_size] if batch_size and batch_size > 1 else [])
    if got.size == 1 and not any(_near(size, k) for k in named):
        return found  # any two numbers differ by "a factor": only named factors mean something
    if _near(size, 2.0):
        found.append(Mistake("factor_2", "exactly twice the expected value: look for a step of 2h "
                             "divided by h, a doubled term, or a missing 1/2"))
    elif _near(size, 0.5):
        found.append(Mistake("factor_2", "exactly half the expected value: look for a division by "
                             "2h where h was right, or a missing factor 2"))
    elif batch_size and batch_size > 1 and _near(size, batch_size):
        found.append(Mistake("batch_size", f"{batch_size} times too large, and {batch_size} is the "
                             "batch size: the loss is a mean over the batch, so its gradient "
                             "needs the 1/N factor"))
    elif batch_size and batch_size > 1 and _near(size, 1.0 / batch_size):
        found.append(Mistake("batch_size", f"{batch_size} times too small, and {batch_size} is the "
                             "batch size: you divided by the batch size once too often"))
    else:
        found.append(Mistake("factor", f"off by a constant factor: your result is {c:.4g} times the "
                             "expected one"))
    return found


def diagnose(expected, got, *, batch_size=None, branches=None, variants=None):
    """-> list[Mistake] explaining how `got` differs from `expected` (both array-likes).

    batch_size: the batch size N, to recognise a missing or extra 1/N.
    branches: {description: partial gradient through that branch} where the value forks.
    variants: {code: (message, wrong answer)} known wrong answers for this exercise."""
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    found = []
    if got.size and not np.all(np.isfinite(got)):
        return [Mistake("not_finite", "your result contains NaN or infinity: a division by zero, "
                        "an overflow, or an uninitialised array (np.empty)")]
    if got.shape == expected.shape and got.size and not np.any(got) and np.any(expected):
        return [Mistake("zeros", "your result is all zeros: was the array filled in (and returned), "
                        "and was the function evaluated at the perturbed input?")]
    best = None
    for code, (message, wrong) in (variants or {}).items():
        wrong = np.asarray(wrong, dtype=np.float64)
        if wrong.shape != got.shape or _matches(wrong, expected, VARIANT_TOLERANCE):
            continue
        err = rel_error(wrong, got)
        if err <= VARIANT_TOLERANCE and (best is None or err < best[0]):
            best = (err, Mistake(code, message))
    if best:
        return [best[1]]
    if got.shape != expected.shape and got.size == expected.size and _matches(expected, got.reshape(expected.shape)):
        return [Mistake("reshaped", f"the values are right but the shape is {got.shape}, not "
                        f"{expected.shape}: return an array shaped like the input")]
    if expected.ndim == 2 and got.shape == expected.T.shape and not _matches(expected, expected.T) \
            and _matches(expected.T, got):
        return [Mistake("transposed", "your result is the transpose of the expected one: check the "
                        "order of the factors in a matrix product (dW = dY^T X, not X^T dY) and which "
                        "axis indexes what")]
    if got.ndim == expected.ndim + 1 and got.shape[1:] == expected.shape:
        if _matches(expected, got.sum(axis=0)):
            return [Mistake("bias_not_summed", f"your result has one row per example (shape "
                            f"{got.shape}) and their sum is right: a bias gradient must be summed "
                            f"over the batch axis, giving shape {expected.shape}")]
        if _matches(expected, got.mean(axis=0)):
            return [Mistake("bias_not_summed", f"your result has one row per example (shape "
                            f"{got.shape}) and their mean is right: reduce over the batch axis")]
    if got.shape == expected.shape:
        for description, partial in (branches or {}).items():
            if _matches(partial, got):
                return [Mistake("one_branch", f"your result is only the gradient through "
                                f"{description}: where a value is used twice, the gradients from "
                                f"all its uses add up (+=)")]
        found = _factor_mistakes(expected, got, batch_size)
        if found:
            return found
        close = np.abs(got - expected) <= MATCH_TOLERANCE * max(1e-8, float(np.max(np.abs(expected))))
        if 0 < close.sum() < close.size and close.size > 1:
            wrong = np.argwhere(~close)
            first = tuple(int(i) for i in wrong[0])
            right, bad = int(close.sum()), len(wrong)
            return [Mistake("some_entries", f"{right} of {close.size} entries are right and "
                            f"{bad} {'is' if bad == 1 else 'are'} wrong (the first at index {first}): "
                            f"look at what is different about {'that entry' if bad == 1 else 'those entries'}")]
    return found
