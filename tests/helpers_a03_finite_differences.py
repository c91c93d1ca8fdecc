"""What a finite-difference "backward" would cost on assignment 03's hidden cases.

A student who does not derive a gradient loops over the input entries and runs the forward pass
twice per entry (central differences). For each gradient task this module names the entries that
loop must move and a forward pass as cheap as a student could write it (NumPy, nothing cached),
so that the cost is 2 x entries x one forward's CPU time: a lower bound (the loop's own overhead
is left out). Run as a script it prints the figures for one draw of the hidden cases:

    OPENBLAS_NUM_THREADS=1 python tests/helpers_a03_finite_differences.py
"""
import time

import numpy as np

from autograder.assignments import get_assignment
from autograder.assignments.a03_vectorized_mlp import tasks as spec


def _cross_entropy(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()


def _stack(a, depth, activation):
    h = a["X"]
    for layer in range(1, depth + 1):
        h = h @ a[f"W{layer}"] + a[f"b{layer}"]
        h = activation(h) if layer < depth else h
    return _cross_entropy(h, a["y"])


def _ninja(a):
    z = a["X"] @ a["W1"] + a["b1"]
    centered = z - z.mean(axis=1, keepdims=True)
    normed = centered * (centered.var(axis=1, keepdims=True) + 1e-5) ** -0.5
    h = np.tanh(a["gamma"] * normed + a["beta"])
    return float(a["dloss"]) * _cross_entropy(h @ a["W2"] + a["b2"], a["y"])


def _relu(x):
    return np.maximum(x, 0)


# grade_id -> (the inputs whose gradients the task asks for, a forward pass on a case's arrays).
# backprop_ninja asks for every intermediate too: only X and the parameters are counted here.
FORWARDS = {
    "test_affine": (("x", "W", "b"), lambda a: np.sum(a["dout"] * (a["x"] @ a["W"] + a["b"]))),
    "test_softmax_cross_entropy": (("logits",), lambda a: _cross_entropy(a["logits"], a["y"])),
    "test_mse_loss": (("pred",), lambda a: 0.5 * np.sum((a["pred"] - a["target"]) ** 2) / len(a["pred"])),
    "test_two_layer_net": (spec.NET, lambda a: _stack(a, 2, _relu)),
    "test_mlp": (None, lambda a: _stack(a, len([k for k in a if k[0] == "W" and k[1:].isdigit()]), _relu)),
    "test_backprop_ninja": (spec.ATOMIC_INPUTS, _ninja),
    "test_shared_weights": (("W",), lambda a: 0.5 * np.sum((_relu(a["X"] @ a["W"]) @ a["W"] - a["X"]) ** 2)),
    "test_embedding": (("W",), lambda a: np.sum(a["dout"] * a["W"][a["idx"]])),
}


def entries(grade_id, case):
    """How many input entries finite differences must move on `case`."""
    names, _ = FORWARDS[grade_id]
    if names is None:
        names = [k for k in case.arrays if k[0] in "Wb" and k[1:].isdigit()]
    return sum(case.arrays[name].size for name in names)


def forward_seconds(grade_id, case, repeats=30):
    """The fastest of `repeats` rounds of CPU time per forward pass on `case` (the least load)."""
    _, forward = FORWARDS[grade_id]
    forward(case.arrays)
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(10):
            forward(case.arrays)
        best = min(best, (time.process_time() - started) / 10)
    return best


def biggest_case(grade_id, seed=1):
    """The hidden case with the most entries for finite differences to move."""
    task = next(t for t in get_assignment("03_vectorized_mlp").tasks if t.grade_id == grade_id)
    return max(task.make_cases(np.random.default_rng(seed), True), key=lambda c: entries(grade_id, c))


def central_difference_seconds(grade_id, seed=1):
    """(entries, seconds per forward, 2 x entries x that) on the task's biggest hidden case."""
    case = biggest_case(grade_id, seed)
    n, forward = entries(grade_id, case), forward_seconds(grade_id, case)
    return n, forward, 2 * n * forward


if __name__ == "__main__":
    for grade_id in FORWARDS:
        n, forward, total = central_difference_seconds(grade_id)
        print(f"{grade_id:28s} central differences: {2 * n} forwards of {1e3 * forward:.3f} ms = {total:.1f} s")
