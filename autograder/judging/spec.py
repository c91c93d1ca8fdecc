"""The task-spec format: one spec per graded test cell, the single source of truth for grading.

A ``Task`` says which answer cells and functions it grades, how to draw its inputs (``make_cases``,
seeded: fixed cases for the notebook's visible test, more and larger ones when hidden), how to
call the student's code (``call``, a name in the ``CALLS`` of the assignment's ``sandbox.py``), how to compute
the reference in the trusted process, which properties are checked with what tolerance and
weight (``checks``), its points, and which modules the student's code may not use.
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    """Inputs of one call: named arrays plus small JSON-able settings (function names...)."""
    arrays: dict
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One graded property: the outputs `keys` must match the reference on every case that has them.

    rtol bounds minigrad's relative error max|a-b| / max(1e-8, max(|a|+|b|)); exact demands
    equality (e.g. "x is unchanged"). `compare`, when given, replaces the default comparison:
    (expected, got, case) -> compare.Verdict."""
    name: str
    keys: tuple
    weight: float = 1.0
    rtol: float = 1e-6
    exact: bool = False
    compare: Callable = None
    hint: str = ""  # shown when the check fails, e.g. "restore x[i] after perturbing it"
    # The contract's second reference (see ``add_probe``): the gradient keys ``grad_<name>`` are
    # also checked against the student's *own* forward along the case's random direction, and
    # `forward` names the output keys that hold that forward's result, so that feedback can say
    # "your forward is right and your backward disagrees with it" apart from "your forward is
    # wrong and your backward agrees with it". Agreeing with a wrong forward earns no points
    # (judge.py says why).
    probe: bool = False
    forward: tuple = ()
    # False: the notebook's visible self-check leaves this check out and says so, because its
    # `compare` needs the grader's own computation (e.g. torch on what the student returned) and
    # so cannot ship to the student's kernel. Grading always runs it.
    self_check: bool = True


@dataclass(frozen=True)
class Task:
    grade_id: str                      # the test cell's grade_id
    title: str                         # what the student implemented, for feedback
    points: float
    answer_cells: tuple                # grade_ids of the solution cells this task exercises
    functions: tuple                   # names the student defines, passed to `call` in this order
    call: str                          # key of autograder.sandbox.calls.CALLS
    make_cases: Callable               # (rng: np.random.Generator, hidden: bool) -> list[Case]
    reference: Callable                # Case -> {key: ndarray}, computed in the trusted process
    checks: tuple
    variants: Callable = None          # Case -> {mistake name: {key: ndarray}}: known wrong answers
    diagnosis_context: Callable = None  # Case -> kwargs for diagnosis.diagnose (batch_size, branches)
    forbidden: tuple = ("torch",)      # modules the student's code may not import
    allowed: tuple = ()                # course packages mounted for the student's code
    timeout: float = 10.0              # wall seconds for all cases of this task
    short_name: str = ""               # column heading in the demo's table (default: grade_id)
    # the grader measures the memory of the task's whole run from outside the student's process
    # (runner.TaskRun.memory_bytes) and hands it to the checks as "memory_bytes" in every case
    measure_memory: bool = False

    @property
    def total_weight(self):
        return sum(check.weight for check in self.checks)


@dataclass(frozen=True)
class Assignment:
    """The graded part of one notebook."""
    assignment_id: str
    tasks: tuple
    memory_bytes: int = 1 << 30
    # what the notebook teaches that the integrity report must not flag ("numerical_derivatives")
    teaches: tuple = ()


# Modules that compute gradients (or finite differences) for the student: out of reach of graded
# code wherever a task asks for a gradient derived by hand.
# Everything that differentiates for the student: autodiff (torch, minigrad, jax, autograd,
# tensorflow), symbolic (sympy) and numerical differentiation (scipy, mpmath, numdifftools, findiff).
# cmath stands for complex arithmetic as a whole (the complex step differentiates exactly):
# the sandbox's guard blocks it where cmath is forbidden.
NO_SHORTCUTS = ("torch", "minigrad", "scipy", "sympy", "mpmath", "numdifftools", "findiff", "jax",
                "autograd", "tensorflow", "cmath")

PROBE_EPS = 1e-5  # step of the numerical check; directions have unit norm over all inputs


def add_probe(arrays, rng, wrt, eps=PROBE_EPS):
    """arrays plus what the sandbox needs to evaluate the student's forward at x +- eps*u.

    wrt: names of the inputs the gradient is taken with respect to (their gradients travel back
    as ``grad_<name>``). The direction u is random with unit norm over all of them together.
    Keep probed inputs further than eps from kinks (ReLU at 0, ties of a max)."""
    directions = {name: np.asarray(rng.normal(size=np.shape(arrays[name])), dtype=np.float64) for name in wrt}
    norm = np.sqrt(sum(float(np.sum(u * u)) for u in directions.values())) or 1.0
    out = dict(arrays)
    out.update({f"probe_u_{name}": u / norm for name, u in directions.items()})
    out["probe_eps"] = scalar(eps)
    return out


def scalar(value):
    """A 0-d float64 array (how scalar inputs travel)."""
    return np.asarray(value, dtype=np.float64)


def draw_cases(assignment, seed):
    """{grade_id: (cases, hidden_flags)}: the notebook's visible cases, then hidden ones from seed."""
    rng = np.random.default_rng(seed)
    drawn = {}
    for task in assignment.tasks:
        visible = task.make_cases(np.random.default_rng(0), False)
        hidden = task.make_cases(rng, True)
        drawn[task.grade_id] = (visible + hidden, [False] * len(visible) + [True] * len(hidden))
    return drawn


def output_keys(task):
    """Output keys the judge may read for `task` (the rest of what comes back is dropped unread):
    every check's keys, its forward keys, the probe's values, and keys named by a custom compare
    (which may read anything its task's call returns, so those tasks accept all keys)."""
    if any(check.compare is not None for check in task.checks):
        return None
    keys = {"probe_plus", "probe_minus"}
    for check in task.checks:
        keys.update(check.keys)
        keys.update(check.forward)
    return tuple(sorted(keys))
