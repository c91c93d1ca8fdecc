"""Task specs of assignment 03, backpropagation through a vectorised MLP by hand, and training it.

Layers are CS231n-style pairs ``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)``
(calls in ``sandbox.py``). Every gradient has two references: torch
autograd in float64 (``reference.py``) and the numerical check of the student's backward
against their own forward (``add_probe``). Hidden cases: random shapes with size-1, square
(D = M, N = D) and non-square dimensions, random upstream gradients, pre-activations kept away
from ReLU's kink where probed, and one case per gradient task too large for finite differences
inside the time limit (no probe on it; the small cases explain). Tolerances (1e-10 and tighter)
are out of reach of finite differences.
The training task measures the trained parameters' accuracy on digits the student's process
never receives.
"""
import functools

import numpy as np

from . import reference as ref
from ...judging.choice import choice_tasks
from ...judging.compare import Verdict, compare_values, rel_error
from ...judging.diagnosis import Mistake
from ...judging.spec import NO_SHORTCUTS, Assignment, Case, Check, Task, add_probe, scalar

NET = ref.NET_PARAMETERS
GRAD_RTOL = 1e-10    # exact formulas agree with torch to ~1e-15; central differences reach ~1e-9
KINK_MARGIN = 1e-4   # probed pre-activations stay this far from ReLU's kink (the probe moves ~1e-5)


def _batch(case):
    return {"batch_size": case.arrays["X" if "X" in case.arrays else "x"].shape[0]}


def _away_from_zero(rng, shape, scale=1.0):
    """Normal entries with |x| >= KINK_MARGIN * 10 (redrawn where too close to 0)."""
    x = rng.normal(size=shape) * scale
    while True:
        close = np.abs(x) < 10 * KINK_MARGIN
        if not close.any():
            return x
        x[close] = rng.normal(size=int(close.sum())) * scale


def _rows_away_from_kink(rng, X, pre_activation):
    """Redraw rows of X until every pre-activation of the row is KINK_MARGIN away from 0."""
    while True:
        bad = np.any(np.abs(pre_activation(X)) < KINK_MARGIN, axis=tuple(range(1, X.ndim)))
        if not bad.any():
            return X
        X[bad] = rng.normal(size=(int(bad.sum()),) + X.shape[1:])


# ---- 1. affine layer --------------------------------------------------------------------------
def _affine_case(rng, n, d, m, probe=True):
    arrays = {"x": rng.normal(size=(n, d)), "W": rng.normal(size=(d, m)) / np.sqrt(d),
              "b": rng.normal(size=m), "dout": rng.normal(size=(n, m))}
    return Case(add_probe(arrays, rng, ["x", "W", "b"]) if probe else arrays)


def _affine_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(328)
        # the lecture's dimension-analysis example: 3 inputs of 10 features, 5 outputs
        return [_affine_case(fixed, 3, 10, 5), _affine_case(fixed, 1, 2, 2)]
    shapes = [(1, 4, 3), (4, 4, 4), (5, 3, 3), (3, 3, 5), (6, 1, 2), (2, 5, 1), (1, 1, 1)]
    cases = [_affine_case(rng, *shape) for shape in shapes]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 74k forwards of 0.16-0.21 ms = 12-15 s against a limit of 1 s
    cases.append(_affine_case(rng, 128, 128, 160, probe=False))
    return cases


def _affine_variants(case):
    x, W, dout = case.arrays["x"], case.arrays["W"], case.arrays["dout"]
    out = {
        "transposed_dW": ("dW is dout^T x (shape M x D): the gradient of W must have W's shape D x M, "
                          "and the only product of x (N x D) and dout (N x M) with that shape is "
                          "x^T dout", {"grad_W": dout.T @ x}),
        "bias_averaged": ("db is the mean of dout over the batch; b is added to every row of the "
                          "output, so its gradient is the *sum* of dout over the batch (any 1/N "
                          "belongs to the loss, not to the layer)", {"grad_b": dout.mean(axis=0)}),
        "bias_wrong_axis": ("db sums dout over the wrong axis: b has one entry per output column, "
                            "so sum over the batch axis 0", {"grad_b": dout.sum(axis=1)}),
    }
    if W.shape[0] == W.shape[1]:
        out["dx_untransposed"] = ("dx is dout W instead of dout W^T: with a square W the shapes "
                                  "agree either way, so check the indices: dx[n, d] = sum_m "
                                  "dout[n, m] W[d, m]", {"grad_x": dout @ W})
    return out


def _probed(name, keys, weight, hint, forward=("out",), rtol=GRAD_RTOL):
    return Check(name, keys, weight=weight, rtol=rtol, hint=hint, probe=True, forward=forward)


AFFINE = Task(
    grade_id="test_affine", title="affine_forward(x, W, b) and affine_backward(dout, cache)",
    points=2, answer_cells=("affine",), functions=("affine_forward", "affine_backward"),
    call="affine", make_cases=_affine_cases, reference=lambda case: ref.affine(case.arrays),
    variants=_affine_variants, diagnosis_context=_batch,
    checks=(
        Check("forward: out = x W + b", ("out",), rtol=1e-12,
              hint="out has shape (N, M): x @ W, plus b broadcast over the rows."),
        _probed("dx", ("grad_x",), 1, "dx has x's shape (N, D): dout (N, M) times W^T (M, D)."),
        _probed("dW", ("grad_W",), 1, "dW has W's shape (D, M): x^T (D, N) times dout (N, M)."),
        _probed("db", ("grad_b",), 1, "db has b's shape (M,): dout summed over the batch axis."),
    ),
    forbidden=NO_SHORTCUTS, timeout=6, short_name="affine")


# ---- 2. ReLU, sigmoid, tanh ---------------------------------------------------------------------
def _activation_case(rng, kind, shape, probe=True, x=None):
    if x is None:
        x = _away_from_zero(rng, shape, 2.0)
    arrays = {f"x_{kind}": x, "dout": rng.normal(size=np.shape(x))}
    return Case(add_probe(arrays, rng, [f"x_{kind}"]) if probe else arrays, {"kind": kind})


def _activation_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(3)
        relu_x = np.array([[-1.5, 0.5, 2.0], [0.3, -0.2, -3.0]])
        # x = 1 is the lecture's sigmoid neuron (w = [2, -3, -3], x = [-1, -2]): sigmoid(1) = 0.731
        sigmoid_x = np.array([[1.0, -2.0, 0.5, 4.0]])
        tanh_x = np.array([[0.0, 0.5], [-1.0, 2.0], [3.0, -0.25]])
        return [_activation_case(fixed, "relu", None, x=relu_x),
                _activation_case(fixed, "sigmoid", None, x=sigmoid_x),
                _activation_case(fixed, "tanh", None, x=tanh_x),
                # the kink, where the notebook's rule says 0 (no probe: a difference straddles it)
                _activation_case(fixed, "relu", None, probe=False, x=np.array([[0.0, 1.2, 0.0, -0.7]]))]
    cases = []
    for kind in ("relu", "sigmoid", "tanh"):
        for shape in [(1, 1), (4, 7), (5,), (2, 3, 4), (1, 6)]:
            cases.append(_activation_case(rng, kind, shape))
    # ReLU right at its kink: PyTorch (and the course) take the gradient at 0 to be 0
    kink = rng.normal(size=(4, 5))
    kink[rng.random(size=kink.shape) < 0.3] = 0.0
    cases.append(_activation_case(rng, "relu", None, probe=False, x=kink))
    cases.append(_activation_case(rng, "sigmoid", (1, 1), x=np.array([[30.0, -30.0]])))
    return cases


def _activation_variants(case):
    kind = case.params["kind"]
    x, dout = case.arrays[f"x_{kind}"], case.arrays["dout"]
    key = f"grad_x_{kind}"
    if kind == "relu":
        return {
            "relu_mask_wrong_tensor": ("the mask follows the sign of the upstream gradient dout; "
                                       "ReLU passes dout where its *input* x was positive "
                                       "(keep x, or the output, in the cache and mask with it)",
                                       {key: dout * (dout > 0)}),
            "relu_mask_at_zero": ("at x = 0 exactly you let the gradient through; the course (and "
                                  "PyTorch) take ReLU's slope at 0 to be 0: mask with x > 0",
                                  {key: dout * (x >= 0)}),
            "relu_no_mask": ("dx equals dout: the gradient must be zeroed where x <= 0",
                             {key: dout.copy()}),
        }
    s = 1 / (1 + np.exp(-x)) if kind == "sigmoid" else np.tanh(x)
    local = s * (1 - s) if kind == "sigmoid" else 1 - s ** 2
    wrong_cache = x * (1 - x) if kind == "sigmoid" else 1 - x ** 2
    return {
        f"{kind}_no_upstream": (f"dx is the local derivative alone: multiply it by dout (chain rule)",
                                {key: local}),
        f"{kind}_derivative_at_input": (f"the derivative used x where it needs the output "
                                        f"{kind}(x) ({'s (1 - s)' if kind == 'sigmoid' else '1 - t^2'} "
                                        f"with s = {kind}(x)): keep the output in the cache",
                                        {key: dout * wrong_cache}),
    }


def _activation_checks():
    checks = []
    for kind, derivative in (("relu", "1 where x > 0, else 0"), ("sigmoid", "s (1 - s)"),
                             ("tanh", "1 - t^2")):
        checks.append(Check(f"{kind}_forward", (f"out_{kind}",), rtol=1e-12))
        checks.append(Check(f"{kind}_backward", (f"grad_x_{kind}",), rtol=1e-12, probe=True,
                            forward=(f"out_{kind}",),
                            hint=f"dx = dout * ({derivative}), entry by entry."))
    return tuple(checks)


ACTIVATIONS = Task(
    grade_id="test_activations", title="ReLU, sigmoid and tanh forward/backward pairs",
    points=2, answer_cells=("activations",),
    functions=("relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
               "tanh_forward", "tanh_backward"),
    call="activation", make_cases=_activation_cases,
    reference=lambda case: ref.activation(case.params["kind"], case.arrays),
    variants=_activation_variants, checks=_activation_checks(),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="activations")


# ---- 3. softmax cross-entropy -------------------------------------------------------------------
def _softmax_case(rng, n, c, scale=1.5, large=False, logits=None, y=None, probe=True):
    logits = rng.normal(size=(n, c)) * scale if logits is None else logits
    y = rng.integers(0, c, size=n) if y is None else np.asarray(y)
    arrays = {"logits": logits, "y": y.astype(np.int64)}
    return Case(add_probe(arrays, rng, ["logits"]) if probe and not large else arrays, {"large": large})


def _softmax_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(31)
        return [_softmax_case(fixed, 1, 3, logits=np.array([[2.0, 1.0, 0.1]]), y=[0]),
                _softmax_case(fixed, 4, 3),
                _softmax_case(fixed, 2, 3, large=True, logits=np.array([[1e4, -1e4, 0.0],
                                                                        [-1e4, 1e4, 5e3]]), y=[0, 0])]
    shapes = [(1, 2), (1, 5), (4, 4), (6, 3), (3, 10), (7, 2)]
    cases = [_softmax_case(rng, *shape) for shape in shapes]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 58k forwards of 0.24-0.41 ms = 14-24 s against a limit of 1 s
    cases.append(_softmax_case(rng, 400, 72, probe=False))
    for n, c in [(5, 4), (1, 3)]:
        cases.append(_softmax_case(rng, n, c, scale=1e4, large=True))
    return cases


def _softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    return p / p.sum(axis=1, keepdims=True)


def _softmax_variants(case):
    logits, y = case.arrays["logits"], case.arrays["y"]
    n = logits.shape[0]
    p, onehot = _softmax(logits), np.eye(logits.shape[1])[y]
    suffix = "_large" if case.params.get("large") else ""
    return {
        "softmax_diagonal": ("you used only the diagonal of the softmax Jacobian (dp_i/dz_i = "
                             "p_i (1 - p_i)); the off-diagonal entries dp_k/dz_i = -p_k p_i matter "
                             "too, and with them dlogits = (p - y) / N",
                             {f"grad_logits{suffix}": onehot * (p - 1) / n}),
        "dlogits_without_softmax": ("dlogits was computed from the logits instead of the softmax "
                                    "probabilities: dlogits = (softmax(logits) - y) / N",
                                    {f"grad_logits{suffix}": (logits - onehot) / n}),
    }


SOFTMAX = Task(
    grade_id="test_softmax_cross_entropy",
    title="softmax_cross_entropy(logits, y): the mean loss and dlogits, stable for huge logits",
    points=3, answer_cells=("softmax_cross_entropy",), functions=("softmax_cross_entropy",),
    call="softmax_cross_entropy", make_cases=_softmax_cases,
    reference=lambda case: ref.softmax_cross_entropy(case.arrays,
                                                     "_large" if case.params.get("large") else ""),
    variants=_softmax_variants, diagnosis_context=lambda case: {"batch_size": case.arrays["logits"].shape[0]},
    checks=(
        Check("loss", ("loss",), rtol=1e-12,
              hint="the mean over the batch of -log softmax(logits)[n, y[n]]."),
        Check("dlogits", ("grad_logits",), weight=2, rtol=GRAD_RTOL, probe=True, forward=("loss",),
              hint="dlogits = (softmax(logits) - onehot(y)) / N."),
        Check("finite and right for logits of +-1e4", ("loss_large", "grad_logits_large"), rtol=1e-12,
              hint="if dlogits passes on ordinary logits, this is overflow: subtract each row's "
                   "maximum from the logits before exp, and compute log softmax as (z - max) - "
                   "log(sum(exp(z - max))), never log of a probability that may have underflowed "
                   "to 0."),
    ),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="softmax_ce")


# ---- 4. mean squared error ------------------------------------------------------------------------
def _mse_case(rng, n, k, pred=None, target=None, probe=True):
    pred = rng.normal(size=(n, k)) if pred is None else pred
    target = rng.normal(size=(n, k)) if target is None else target
    arrays = {"pred": pred, "target": target}
    return Case(add_probe(arrays, rng, ["pred"]) if probe else arrays)


def _mse_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(5)
        # assignment 01's lecture example: prediction and target of one input, y = 0.5
        return [_mse_case(fixed, 1, 1, np.array([[0.8]]), np.array([[0.5]])), _mse_case(fixed, 3, 2)]
    cases = [_mse_case(rng, *shape) for shape in [(1, 1), (5, 3), (4, 1), (3, 4), (1, 6), (6, 6)]]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 158k forwards of 0.076-0.097 ms = 12-15 s against a limit of 1 s
    cases.append(_mse_case(rng, 360, 220, probe=False))
    return cases


def _mse_variants(case):
    pred, target = case.arrays["pred"], case.arrays["target"]
    n, k = pred.shape
    if k == 1:
        return {}
    return {"mean_over_entries": (f"you divided by the number of entries N*K; this loss averages "
                                  f"over the N examples only (each example's squared error is "
                                  f"summed over its K outputs)",
                                  {"loss": np.asarray(0.5 * np.sum((pred - target) ** 2) / (n * k)),
                                   "grad_pred": (pred - target) / (n * k)})}


MSE = Task(
    grade_id="test_mse_loss", title="mse_loss(pred, target): L = sum((pred - target)^2) / (2N) and dL/dpred",
    points=2, answer_cells=("mse_loss",), functions=("mse_loss",), call="mse",
    make_cases=_mse_cases, reference=lambda case: ref.mse(case.arrays), variants=_mse_variants,
    diagnosis_context=lambda case: {"batch_size": case.arrays["pred"].shape[0]},
    checks=(
        Check("loss", ("loss",), rtol=1e-12, hint="sum over all entries of (pred - target)^2, "
                                                    "divided by 2 N (N = number of rows)."),
        Check("dpred", ("grad_pred",), rtol=1e-12, probe=True, forward=("loss",),
              hint="dpred = (pred - target) / N: the 2 of the square cancels the 1/2."),
    ),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="mse")


# ---- 5. the two-layer network ---------------------------------------------------------------------
def _net_case(rng, n, d, h, c, probe=True):
    arrays = {"W1": rng.normal(size=(d, h)) / np.sqrt(d), "b1": rng.normal(size=h) * 0.5,
              "W2": rng.normal(size=(h, c)) / np.sqrt(h), "b2": rng.normal(size=c) * 0.5,
              "y": rng.integers(0, c, size=n).astype(np.int64)}
    arrays["X"] = _rows_away_from_kink(rng, rng.normal(size=(n, d)),
                                       lambda X: X @ arrays["W1"] + arrays["b1"])
    return Case(add_probe(arrays, rng, list(NET)) if probe else arrays)


def _net_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(2)
        return [_net_case(fixed, 4, 3, 5, 3), _net_case(fixed, 1, 2, 3, 2)]
    sizes = [(1, 3, 4, 2), (5, 5, 5, 5), (4, 4, 3, 3), (3, 2, 6, 4), (6, 7, 1, 3), (2, 3, 3, 2)]
    cases = [_net_case(rng, *size) for size in sizes]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 53k forwards of 0.23-0.33 ms = 12-18 s against a limit of 1 s
    cases.append(_net_case(rng, 128, 128, 192, 10, probe=False))
    return cases


def _net_gradients(arrays, mistake):
    """The network's four gradients computed with one named mistake, in NumPy."""
    X, y = arrays["X"], arrays["y"]
    n = X.shape[0]
    a = X @ arrays["W1"] + arrays["b1"]
    h = np.maximum(a, 0)
    scores = h @ arrays["W2"] + arrays["b2"]
    p, onehot = _softmax(scores), np.eye(scores.shape[1])[y]
    dscores = onehot * (p - 1) / n if mistake == "softmax_diagonal" else (p - onehot) / n
    dh = dscores @ arrays["W2"].T
    da = {"relu_mask_wrong_tensor": dh * (dh > 0), "relu_no_mask": dh}.get(mistake, dh * (a > 0))
    return {"grad_W1": X.T @ da, "grad_b1": da.sum(axis=0), "grad_W2": h.T @ dscores,
            "grad_b2": dscores.sum(axis=0)}


NET_MISTAKES = {
    "softmax_diagonal": "the gradient of the scores used only the diagonal of the softmax Jacobian; "
                        "with its off-diagonal entries -p_k p_i too, dscores = (p - y) / N",
    "relu_mask_wrong_tensor": "the ReLU mask follows the sign of the gradient dh; it must follow the "
                              "layer's input a = X W1 + b1 (da = dh * (a > 0))",
    "relu_no_mask": "the gradient went through the ReLU unmasked: da = dh * (a > 0)",
}


def _net_variants(case):
    found = {}
    for code, message in NET_MISTAKES.items():
        found[code] = (message, _net_gradients(case.arrays, code))
    return found


NETWORK = Task(
    grade_id="test_two_layer_net",
    title="two_layer_loss(params, X, y): the loss and all four parameter gradients",
    points=2, answer_cells=("affine", "activations", "softmax_cross_entropy", "two_layer_net"),
    functions=("two_layer_loss",), call="two_layer_net", make_cases=_net_cases,
    reference=lambda case: ref.two_layer_loss(case.arrays), variants=_net_variants,
    diagnosis_context=_batch,
    checks=(Check("loss", ("loss",), rtol=1e-11,
                  hint="scores = relu(X W1 + b1) W2 + b2, then the mean softmax cross-entropy."),)
    + tuple(_probed(f"d{name}", (f"grad_{name}",), 1,
                    "run the layers' backward passes in reverse order, each on the gradient the "
                    "layer after it returned, with the cache its own forward made.", forward=("loss",))
            for name in NET),
    forbidden=NO_SHORTCUTS, timeout=15, short_name="network")


# ---- 5b. backprop ninja: every intermediate of an atomic forward ------------------------------
ATOMIC_INPUTS = ref.ATOMIC_PARAMETERS + ("X",)
# checked from the loss backwards, in the order the student derives them
ATOMIC_GRADIENTS = tuple(reversed(ref.ATOMIC_STEPS)) + ("W2", "b2", "gamma", "beta", "W1", "b1", "X")


def atomic_forward(arrays):
    """The notebook's forward_atomic in NumPy: {name: intermediate} for ref.ATOMIC_STEPS."""
    X, y = arrays["X"], arrays["y"]
    s = {"a": X @ arrays["W1"] + arrays["b1"]}
    s["mu"] = s["a"].mean(axis=1, keepdims=True)
    s["centered"] = s["a"] - s["mu"]
    s["sq"] = s["centered"] ** 2
    s["var"] = s["sq"].mean(axis=1, keepdims=True)
    s["inv_std"] = (s["var"] + ref.ATOMIC_EPS) ** -0.5
    s["normed"] = s["centered"] * s["inv_std"]
    s["pre"] = arrays["gamma"] * s["normed"] + arrays["beta"]
    s["h"] = np.tanh(s["pre"])
    s["logits"] = s["h"] @ arrays["W2"] + arrays["b2"]
    s["logit_max"] = s["logits"].max(axis=1, keepdims=True)
    s["shifted"] = s["logits"] - s["logit_max"]
    s["exps"] = np.exp(s["shifted"])
    s["exp_sum"] = s["exps"].sum(axis=1, keepdims=True)
    s["exp_sum_inv"] = 1.0 / s["exp_sum"]
    s["probs"] = s["exps"] * s["exp_sum_inv"]
    s["log_probs"] = np.log(s["probs"])
    return s


def _ninja_case(rng, n, d, h, c, dloss=None):
    """Inputs, parameters, labels and an upstream dloss (random unless given), plus every
    intermediate of the forward: the student's backward gets them all, as forward_atomic returns them."""
    arrays = {"X": rng.normal(size=(n, d)), "W1": rng.normal(size=(d, h)) / np.sqrt(d),
              "b1": rng.normal(size=h) * 0.5, "gamma": 1.0 + 0.3 * rng.normal(size=h),
              "beta": 0.3 * rng.normal(size=h), "W2": rng.normal(size=(h, c)) / np.sqrt(h),
              "b2": rng.normal(size=c) * 0.5, "y": rng.integers(0, c, size=n).astype(np.int64),
              "dloss": np.asarray(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]) if dloss is None else dloss,
                                  dtype=np.float64)}
    arrays.update(atomic_forward(arrays))
    return Case(arrays)


def _ninja_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(27)
        return [_ninja_case(fixed, 4, 3, 5, 3, dloss=1.0), _ninja_case(fixed, 1, 2, 3, 2, dloss=0.5)]
    # size-1 batch and hidden layer of 2, two classes, square and non-square layers
    sizes = [(1, 3, 4, 2), (5, 4, 4, 3), (3, 2, 6, 10), (7, 5, 2, 2), (2, 6, 3, 4), (4, 4, 4, 4)]
    cases = [_ninja_case(rng, *size) for size in sizes]
    # sized so that finite differences cannot finish within the limit: counting X and W1 alone (the
    # intermediates cost more), central differences: 77k forwards of 0.18-0.30 ms = 14-23 s against a
    # limit of 1 s
    cases.append(_ninja_case(rng, 32, 256, 112, 10))
    return cases


# Tensors of shape (N, 1) broadcast over the row's columns, and parameters of shape (H,) or (C,)
# broadcast over the batch: {name: (unsummed gradient, what it was broadcast over)}.
def _unsummed(case):
    a = case.arrays
    dloss = float(a["dloss"])
    n = a["X"].shape[0]
    s = {name: a[name] for name in ref.ATOMIC_STEPS}
    g = {"log_probs": np.zeros_like(s["log_probs"])}
    g["log_probs"][np.arange(n), a["y"]] = -dloss / n
    g["probs"] = g["log_probs"] / s["probs"]
    g["exps"] = g["probs"] * s["exp_sum_inv"]
    exp_sum_inv_rows = g["probs"] * s["exps"]
    g["exp_sum_inv"] = exp_sum_inv_rows.sum(axis=1, keepdims=True)
    g["exp_sum"] = -g["exp_sum_inv"] / s["exp_sum"] ** 2
    g["exps"] = g["exps"] + g["exp_sum"]
    g["shifted"] = g["exps"] * s["exps"]
    logit_max_rows = -g["shifted"]
    g["logit_max"] = logit_max_rows.sum(axis=1, keepdims=True)
    dlogits = g["shifted"] + (s["logits"] == s["logit_max"]) * g["logit_max"]
    dh = dlogits @ a["W2"].T
    dpre = dh * (1 - s["h"] ** 2)
    dnormed = dpre * a["gamma"]
    inv_std_rows = dnormed * s["centered"]
    dinv_std = inv_std_rows.sum(axis=1, keepdims=True)
    dvar = dinv_std * -0.5 * s["inv_std"] ** 3
    dsq = np.broadcast_to(dvar / s["sq"].shape[1], s["sq"].shape)
    dcentered = dnormed * s["inv_std"] + 2 * s["centered"] * dsq
    mu_rows = -dcentered
    return {
        "exp_sum_inv": (exp_sum_inv_rows, "the C classes of its row (probs = exps * exp_sum_inv)"),
        "logit_max": (logit_max_rows, "the C classes of its row (shifted = logits - logit_max)"),
        "inv_std": (inv_std_rows, "the H columns of its row (normed = centered * inv_std)"),
        "mu": (mu_rows, "the H columns of its row (centered = a - mu)"),
        "gamma": (dpre * s["normed"], "the batch (pre = gamma * normed + beta)"),
        "beta": (dpre, "the batch (pre = gamma * normed + beta)"),
        "b2": (dlogits, "the batch (logits = h W2 + b2)"),
        "b1": (_da(dcentered), "the batch (a = X W1 + b1)"),
    }


def _da(dcentered):
    """da from dcentered: a reaches the loss through centered and through mu = mean(a)."""
    return dcentered - dcentered.sum(axis=1, keepdims=True) / dcentered.shape[1]


def _ninja_variants(case):
    found = {}
    for name, (wrong, axis) in _unsummed(case).items():
        message = (f"the gradient of {name} was not summed over the broadcast axis: {name} is "
                   f"broadcast over {axis}, so it is used once per entry there, and its gradient "
                   f"adds all those uses up (sum over that axis, keeping {name}'s shape)")
        if name == "logit_max":
            message += ("; summed, it is zero up to rounding: subtracting the same number from every "
                        "logit of a row leaves the softmax unchanged, so the loss does not depend on "
                        "logit_max at all, which is why the shift is safe")
        found[f"broadcast_not_summed_{name}"] = (message, {f"grad_{name}": wrong})
    return found


NINJA = Task(
    grade_id="test_backprop_ninja",
    title="backward_atomic(cache, dloss): the gradient of every intermediate of forward_atomic",
    points=3, answer_cells=("backprop_ninja",), functions=("backward_atomic",), call="backprop_ninja",
    make_cases=_ninja_cases, reference=lambda case: ref.atomic_mlp(case.arrays), variants=_ninja_variants,
    diagnosis_context=_batch,
    checks=tuple(Check(f"d{name}", (f"grad_{name}",), weight=1,
                       # logit_max's gradient is zero in exact arithmetic: rounding (~1e-17) is
                       # all that is left, and rel_error's 1e-8 floor turns that into ~1e-9
                       rtol=1e-6 if name == "logit_max" else GRAD_RTOL,
                       hint=f"d{name} has {name}'s shape; start from the step that uses {name} and "
                            f"multiply its upstream gradient by the local derivative (sum over "
                            f"every use).")
                 for name in ATOMIC_GRADIENTS),
    forbidden=NO_SHORTCUTS, timeout=6, short_name="ninja")


# ---- 5c. a stack of any depth ------------------------------------------------------------------
MAX_DEPTH = 4


def _layer_names(depth):
    return tuple(f"{kind}{layer}" for layer in range(1, depth + 1) for kind in ("W", "b"))


def _stack_case(rng, n, widths, probe=True):
    """An MLP of len(widths) - 1 affine layers (widths: input, hidden..., classes), ReLU between,
    inputs redrawn until every hidden pre-activation is away from ReLU's kink."""
    depth = len(widths) - 1
    arrays = {}
    for layer in range(1, depth + 1):
        fan_in, fan_out = widths[layer - 1], widths[layer]
        arrays[f"W{layer}"] = rng.normal(size=(fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
        arrays[f"b{layer}"] = rng.normal(size=fan_out) * 0.3
    arrays["y"] = rng.integers(0, widths[-1], size=n).astype(np.int64)

    def pre_activations(X):
        found, h = [], X
        for layer in range(1, depth):
            z = h @ arrays[f"W{layer}"] + arrays[f"b{layer}"]
            found.append(z)
            h = np.maximum(z, 0)
        return np.concatenate(found, axis=1) if found else np.ones((len(X), 1))

    arrays["X"] = _rows_away_from_kink(rng, rng.normal(size=(n, widths[0])), pre_activations)
    return Case(add_probe(arrays, rng, list(_layer_names(depth))) if probe else arrays, {"depth": depth})


def _stack_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(41)
        return [_stack_case(fixed, 4, (3, 5, 4, 3)), _stack_case(fixed, 2, (2, 3, 3, 4, 2))]
    shapes = [(1, (4, 3)), (5, (3, 6, 2)), (3, (5, 5, 5, 5)), (6, (2, 7, 1, 4, 3)), (1, (3, 4, 4, 4, 2)),
              (4, (6, 3, 8, 10))]
    cases = [_stack_case(rng, n, widths) for n, widths in shapes]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 51k forwards of 0.37 ms = 19 s against a limit of 1 s
    cases.append(_stack_case(rng, 128, (128, 128, 64, 10), probe=False))
    return cases


def _stack_gradients(arrays, depth, mistake):
    """Every layer's gradients of the stack with one named mistake at its ReLUs, in NumPy."""
    hs, zs = [arrays["X"]], []
    for layer in range(1, depth + 1):
        z = hs[-1] @ arrays[f"W{layer}"] + arrays[f"b{layer}"]
        zs.append(z)
        hs.append(np.maximum(z, 0) if layer < depth else z)
    n = arrays["X"].shape[0]
    p, onehot = _softmax(zs[-1]), np.eye(zs[-1].shape[1])[arrays["y"]]
    dz = (p - onehot) / n
    out = {}
    for layer in range(depth, 0, -1):
        out[f"grad_W{layer}"], out[f"grad_b{layer}"] = hs[layer - 1].T @ dz, dz.sum(axis=0)
        if layer > 1:
            dh = dz @ arrays[f"W{layer}"].T
            dz = {"relu_mask_wrong_tensor": dh * (dh > 0), "relu_no_mask": dh}.get(mistake, dh * (zs[layer - 2] > 0))
    return out


STACK_MISTAKES = {
    "relu_mask_wrong_tensor": "a ReLU's mask follows the sign of the gradient arriving at it; it must "
                              "follow that ReLU's own input (keep each layer's cache)",
    "relu_no_mask": "the gradient went back through the ReLUs unmasked: each one passes it only where "
                    "its input was positive",
}


def _stack_variants(case):
    return {code: (message, _stack_gradients(case.arrays, case.params["depth"], code))
            for code, message in STACK_MISTAKES.items()}


STACK = Task(
    grade_id="test_mlp",
    title="mlp_loss(params, X, y): a stack of any depth built from your layers, loss and every gradient",
    points=2, answer_cells=("affine", "activations", "softmax_cross_entropy", "mlp"),
    functions=("mlp_loss",), call="mlp", make_cases=_stack_cases,
    reference=lambda case: ref.mlp_loss(case.arrays, case.params["depth"]), variants=_stack_variants,
    diagnosis_context=_batch,
    checks=(Check("loss", ("loss",), rtol=1e-11,
                  hint="affine layers with a ReLU after every one but the last, then the mean "
                       "softmax cross-entropy of the last layer's output."),)
    + tuple(_probed(f"dW{layer}, db{layer} ({'the first layer' if layer == 1 else f'layer {layer}'})",
                    (f"grad_W{layer}", f"grad_b{layer}"), 1,
                    "walk the layers backwards with the caches their forward passes made; "
                    "the last layer has no ReLU.", forward=("loss",))
            for layer in range(1, MAX_DEPTH + 1)),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="mlp")


# ---- 5d. CS231n's three sanity checks, written by the student ----------------------------------
# Graded with loss functions of the grader's own (a stack with tanh between the layers: smooth, so
# central differences need no distance from a kink, and not what mlp_loss computes, so a "check"
# that compares with mlp_loss's gradients fails), except the overfitting run, which trains with the
# student's own mlp_loss.
SANITY_FUNCTIONS = ("initial_loss_check", "overfit_tiny_batch", "stack_gradient_check", "mlp_loss")
INIT_TOLERANCE = 0.1      # the grader's verdict: |loss - log C| below this is a right start
RIGHT_INIT_GAP = 0.02     # right initialisations are drawn this close to log C ...
WRONG_INIT_GAP = 0.5      # ... and wrong ones this far from it, so any sensible tolerance decides
GRADCHECK_RIGHT = 1e-6    # largest error accepted on right gradients (central differences: ~1e-9)
GRADCHECK_BUG = 1e-3      # smallest error accepted on a planted bug (a factor f gives |1-f|/(1+|f|))
BUG_FACTORS = (2.0, 0.5, -1.0, 3.0)
MEMORISED_LOSS = 0.05     # the loss of the returned parameters on the tiny batch must end below
SANITY_STEP_RTOL = 1e-10
MAX_REPLAYED_STEPS = 3    # short runs are replayed step by step; longer ones graded by their outcome


def _sanity_net(rng, widths, last_scale=None, bias_scale=0.3):
    """{W1, b1, ...}: He-scaled layers (std sqrt(2 / fan_in)), random biases; the last layer's
    weights have std last_scale when it is given."""
    net = {}
    depth = len(widths) - 1
    for layer in range(1, depth + 1):
        fan_in, fan_out = widths[layer - 1], widths[layer]
        scale = last_scale if (layer == depth and last_scale is not None) else np.sqrt(2.0 / fan_in)
        net[f"W{layer}"] = rng.normal(size=(fan_in, fan_out)) * scale
        net[f"b{layer}"] = rng.normal(size=fan_out) * (0.0 if layer == depth and last_scale is not None
                                                       else bias_scale)
    return net


def _tanh_stack(net, X, y):
    """(loss, {grad_<name>}) of the grader's tanh stack, in NumPy (the tables of right gradients)."""
    depth = len(net) // 2
    hs = [X]
    for layer in range(1, depth + 1):
        z = hs[-1] @ net[f"W{layer}"] + net[f"b{layer}"]
        hs.append(np.tanh(z) if layer < depth else z)
    n = len(y)
    p = _softmax(hs[-1])
    loss = float(-np.mean(np.log(p[np.arange(n), y])))
    dz = (p - np.eye(p.shape[1])[y]) / n
    grads = {}
    for layer in range(depth, 0, -1):
        grads[f"grad_W{layer}"], grads[f"grad_b{layer}"] = hs[layer - 1].T @ dz, dz.sum(axis=0)
        if layer > 1:
            dz = (dz @ net[f"W{layer}"].T) * (1 - hs[layer - 1] ** 2)
    return loss, grads


def _sanity_case(part, net, X, y, tables=None, **params):
    """net's parameters, X, y and (for the grader's loss functions) the gradient tables."""
    arrays = dict(net, X=X, y=y.astype(np.int64))
    arrays.update({f"table_{key}": value for key, value in (tables or {}).items()})
    return Case(arrays, dict(params, part=part, depth=len(net) // 2))


def _init_case(rng, n, widths, right):
    """A net whose loss at initialisation is within RIGHT_INIT_GAP of log C (right) or more than
    WRONG_INIT_GAP from it: the last layer's weights too large, or its biases not zero."""
    while True:
        net = _sanity_net(rng, widths, last_scale=0.01 / np.sqrt(widths[-2]))
        if not right:
            if rng.random() < 0.5:
                net[f"W{len(widths) - 1}"] *= rng.uniform(300.0, 800.0)
            else:
                net[f"b{len(widths) - 1}"] = rng.normal(size=widths[-1]) * 3.0
        X, y = rng.normal(size=(n, widths[0])), rng.integers(0, widths[-1], size=n)
        loss, grads = _tanh_stack(net, X, y)
        gap = abs(loss - np.log(widths[-1]))
        if (gap < RIGHT_INIT_GAP) if right else (gap > WRONG_INIT_GAP):
            return _sanity_case("init", net, X, y, grads, classes=widths[-1])


def _gradcheck_case(rng, n, widths, planted=None):
    """A tanh stack with its right gradients, or with planted = (name, factor): that parameter's
    whole gradient multiplied by the factor (every entry of it away from 0, so any entry shows it)."""
    while True:
        net = _sanity_net(rng, widths, last_scale=1.0 / np.sqrt(widths[-2]))
        X, y = rng.normal(size=(n, widths[0])), rng.integers(0, widths[-1], size=n)
        _, grads = _tanh_stack(net, X, y)
        if planted is None or np.min(np.abs(grads[f"grad_{planted[0]}"])) > 1e-4:
            break
    if planted is not None:
        grads[f"grad_{planted[0]}"] = grads[f"grad_{planted[0]}"] * planted[1]
    return _sanity_case("gradcheck", net, X, y, grads)


def _overfit_case(rng, n, widths, steps, lr):
    net = _sanity_net(rng, widths, last_scale=0.01 / np.sqrt(widths[-2]), bias_scale=0.0)
    X, y = rng.normal(size=(n, widths[0])), rng.integers(0, widths[-1], size=n)
    return _sanity_case("overfit", net, X, y, steps=int(steps), lr=float(lr))


def _random_widths(rng, depth, n_in=None, classes=None):
    widths = [int(n_in or rng.integers(1, 7))] + [int(rng.integers(1, 8)) for _ in range(depth - 1)]
    return tuple(widths + [int(classes or rng.integers(2, 11))])


def _sanity_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(43)
        return [_init_case(fixed, 6, (4, 8, 10), right=True), _init_case(fixed, 6, (4, 8, 10), right=False),
                _overfit_case(fixed, 3, (4, 5, 3), steps=1, lr=0.5),
                _overfit_case(fixed, 8, (6, 32, 32, 4), steps=300, lr=0.5),
                _gradcheck_case(fixed, 4, (5, 6, 4, 3)),
                _gradcheck_case(fixed, 4, (5, 6, 4, 3), planted=("b2", 2.0))]
    cases = []
    for right in (True, False, True, False, True, False):
        depth = int(rng.integers(1, MAX_DEPTH + 1))
        cases.append(_init_case(rng, int(rng.integers(1, 9)), _random_widths(rng, depth), right))
    for depth in (1, 2, 3):
        cases.append(_overfit_case(rng, int(rng.integers(1, 6)), _random_widths(rng, depth),
                                   steps=int(rng.integers(1, 4)), lr=float(rng.uniform(0.1, 1.0))))
    # the run that must memorise: 6 to 10 examples, one or two hidden layers of 32
    hidden_layers = (32,) * int(rng.integers(1, 3))
    widths = (int(rng.integers(4, 9)),) + hidden_layers + (int(rng.integers(3, 6)),)
    cases.append(_overfit_case(rng, int(rng.integers(6, 11)), widths, steps=300, lr=0.5))
    for planted in (None, None, None, "b", "b", "W", "W"):
        depth = int(rng.integers(1, MAX_DEPTH + 1))
        widths = _random_widths(rng, depth)
        bug = None
        if planted:
            layer = int(rng.integers(1, depth + 1))
            bug = (f"{planted}{layer}", float(rng.choice(BUG_FACTORS)))
        cases.append(_gradcheck_case(rng, int(rng.integers(1, 7)), widths, bug))
    return cases


def _sanity_reference(case):
    """init: the tanh stack's loss (torch), log C and whether they are within INIT_TOLERANCE.
    overfit: the losses before each step and the parameters after `steps` plain SGD steps on
    the stack's gradient (torch), or, for a long run, only the loss at the start.
    gradcheck: whether the case's table of gradients differs from torch's (a planted bug)."""
    a, p = case.arrays, case.params
    depth, part = p["depth"], p["part"]
    names = _layer_names(depth)
    if part == "init":
        loss = float(ref.tanh_mlp_loss(a, depth)["loss"])
        log_c = float(np.log(p["classes"]))
        return {"init_loss": scalar(loss), "init_expected": scalar(log_c),
                "init_passed": scalar(1.0 if abs(loss - log_c) < INIT_TOLERANCE else 0.0)}
    if part == "gradcheck":
        exact = ref.tanh_mlp_loss(a, depth)
        planted = any(rel_error(exact[f"grad_{name}"], a[f"table_grad_{name}"]) > 1e-8 for name in names)
        return {"grad_check": scalar(1.0 if planted else 0.0)}
    if p["steps"] > MAX_REPLAYED_STEPS:
        return {"memorised": scalar(MEMORISED_LOSS), "loss_start": ref.mlp_loss(a, depth)["loss"]}
    net, losses = {name: a[name] for name in names}, []
    for _ in range(p["steps"]):
        out = ref.mlp_loss(dict(net, X=a["X"], y=a["y"]), depth)
        losses.append(float(out["loss"]))
        net = {name: net[name] - p["lr"] * out[f"grad_{name}"] for name in names}
    expected = {f"final_{name}": net[name] for name in names}
    expected.update(sgd_steps=scalar(1.0), losses=np.array(losses))
    return expected


# The comparisons ship to the student's kernel as source (autograder.selfcheck): NumPy, Verdict,
# Mistake and compare_values only, with the module-level helpers and constants they use.
def _one_number(outputs, key):
    value = outputs.get(key)
    if value is None or np.shape(value) != () or not np.isfinite(value):
        return None
    return float(value)


def initial_loss_verdict(expected, outputs, case):
    """The loss must be loss_fn's, the expected value log C, and passed must say whether the two
    are close: True on a right initialisation, False on one far from log C."""
    loss, log_c, passed = (_one_number(outputs, key) for key in ("init_loss", "init_expected", "init_passed"))
    if loss is None or log_c is None or passed is None:
        return Verdict(False, "initial_loss_check must return three finite numbers (loss, expected, "
                              "passed)", kind="invalid")
    right_log_c = float(expected["init_expected"])
    if not compare_values(expected["init_loss"], np.asarray(loss), what="the loss", rtol=1e-10).passed:
        mistakes = []
        if abs(loss - right_log_c) < 1e-12:
            mistakes.append(Mistake("loss_not_computed", "the loss you returned is log C itself: return the "
                                    "loss that loss_fn computes at the params you were given"))
        return Verdict(False, "the loss returned is not the loss loss_fn gives at these params",
                       kind="", note="the loss returned is not the loss loss_fn gives at these params: ",
                       mistakes=mistakes)
    if abs(log_c - right_log_c) > 1e-10 * right_log_c:
        mistakes = []
        if abs(log_c - right_log_c / np.log(10.0)) < 1e-10 or abs(log_c - right_log_c / np.log(2.0)) < 1e-10:
            mistakes.append(Mistake("log_base", "the expected loss uses a logarithm of another base: the "
                                    "cross-entropy uses the natural logarithm, so expect np.log(C)"))
        return Verdict(False, "the expected loss returned is not log C (C = number of classes)",
                       kind="", note="the expected loss returned is not log C: ", mistakes=mistakes)
    if passed == float(expected["init_passed"]):
        return Verdict(True)
    if passed:
        return _failed_check("your check passes a network whose loss at initialisation is far from log C",
                             "check_always_passes", "the check said passed for a network whose loss "
                             "starts far from log C (its last layer was initialised too large): passed "
                             "must compare the loss with log C")
    return _failed_check("your check fails a network whose loss at initialisation is close to log C",
                         "check_too_strict", "the check said failed for a network whose loss starts "
                         "within a hundredth of log C: use a tolerance of about a tenth")


def _failed_check(what, code, why):
    """A sanity check that decided wrong: `what` it did (also the note before hidden text), and the
    mistake it names."""
    return Verdict(False, what, kind="", note=what + ": ", mistakes=[Mistake(code, why)])


def _unchanged(outputs, case):
    return all(np.array_equal(outputs.get(f"final_{key}"), case.arrays[key])
               for key in case.arrays if f"final_{key}" in outputs)


def sgd_steps_verdict(expected, outputs, case):
    """A short run: after every step params - lr * grads of mlp_loss (torch's), losses[k] the loss
    before step k + 1."""
    for key in sorted(k for k in expected if k.startswith("final_")) + ["losses"]:
        verdict = compare_values(expected[key], outputs.get(key), what=key, rtol=SANITY_STEP_RTOL)
        if not verdict.passed:
            mistakes = []
            if key.startswith("final_") and _unchanged(outputs, case):
                mistakes.append(Mistake("params_unchanged", "the parameters came back unchanged: each "
                                        "step must replace every parameter by params - lr * grads"))
            note = ("the losses are not the loss before each step: " if key == "losses" else
                    "the parameters after the steps are not params - lr * grads of your mlp_loss "
                    "(check mlp_loss first, if its test fails): ")
            return Verdict(False, note + verdict.message, kind="", note=note, mistakes=mistakes)
    return Verdict(True)


def _relu_stack_loss(params, X, y):
    """Mean softmax cross-entropy of the ReLU stack W1, b1, ... on (X, y), in NumPy."""
    layers = len(params) // 2
    h = X
    for k in range(layers):  # (written unlike mlp_loss's solution: this source ships to students)
        h = h @ params[f"W{k + 1}"] + params[f"b{k + 1}"]
        h = np.maximum(h, 0) if k + 1 < layers else h
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(len(y)), y.astype(np.int64)]))


def memorised_verdict(expected, outputs, case):
    """A long run on the tiny batch: losses starts at the loss of the given params, and the
    parameters returned (the grader computes their loss itself) reach a loss below MEMORISED_LOSS."""
    names = [key for key in case.arrays if key[:1] in ("W", "b") and key[1:].isdigit()]
    final = {}
    for name in names:
        value = outputs.get(f"final_{name}")
        if value is None or value.shape != case.arrays[name].shape or not np.all(np.isfinite(value)):
            return Verdict(False, "the parameters returned must have the given ones' shapes, finite",
                           kind="invalid")
        final[name] = value
    losses = outputs.get("losses")
    if losses is None or losses.shape != (int(case.params["steps"]),) or not np.all(np.isfinite(losses)):
        return Verdict(False, "losses must hold one finite loss per step", kind="invalid")
    if not compare_values(expected["loss_start"], losses[:1].reshape(()), what="losses[0]", rtol=1e-8).passed:
        return Verdict(False, "losses[0] is not the loss at the params you were given", kind="",
                       note="losses[0] is not the loss at the params you were given: ")
    loss = _relu_stack_loss(final, case.arrays["X"], case.arrays["y"])
    if loss < float(expected["memorised"]):
        return Verdict(True)
    mistakes = [Mistake("params_unchanged", "the parameters came back unchanged: train them")] \
        if _unchanged(outputs, case) else []
    note = (f"the parameters returned do not memorise the tiny batch (their loss, computed by the "
            f"grader, is not below {MEMORISED_LOSS}): ")
    return Verdict(False, f"{note}it is {loss:.3g}", kind="", note=note, mistakes=mistakes)


def gradient_check_verdict(expected, outputs, case):
    """Small (< GRADCHECK_RIGHT) on right gradients, large (> GRADCHECK_BUG) on a planted bug."""
    error = _one_number(outputs, "grad_check")
    if error is None or error < 0:
        return Verdict(False, "stack_gradient_check must return one finite relative error >= 0",
                       kind="invalid")
    if float(expected["grad_check"]):
        if error > GRADCHECK_BUG:
            return Verdict(True)
        return _failed_check("your check reports a small error for a loss function whose gradient of "
                             "one parameter is off by a constant factor", "missed_planted_bug",
                             "a bug in one parameter's gradient went unnoticed: check some entries of "
                             "every parameter (each W and each b of every layer) and return the largest "
                             "error")
    if error < GRADCHECK_RIGHT:
        return Verdict(True)
    return _failed_check("your check reports a large error for a loss function whose gradients are right",
                         "false_alarm", "right gradients were reported wrong: use central differences, "
                         "restore every entry you move, and divide by the larger of a tiny floor and the "
                         "sum of the sizes")


SANITY = Task(
    grade_id="test_sanity_checks",
    title="initial_loss_check, overfit_tiny_batch and stack_gradient_check: CS231n's sanity checks",
    points=2, answer_cells=("affine", "activations", "softmax_cross_entropy", "mlp", "sanity_checks"),
    functions=SANITY_FUNCTIONS, call="sanity_checks", make_cases=_sanity_cases,
    reference=_sanity_reference,
    checks=(
        Check("initial_loss_check: loss_fn's loss, log C, and passed only near log C",
              ("init_passed",), compare=initial_loss_verdict,
              hint=f"call loss_fn, compare its loss with np.log(num_classes); passed when they are "
                   f"within a tolerance such as {INIT_TOLERANCE}."),
        Check("overfit_tiny_batch: each step is params - lr * grads, losses the loss before each",
              ("sgd_steps",), compare=sgd_steps_verdict,
              hint="losses.append(loss) before the step; then every parameter -= lr * its gradient."),
        Check(f"overfit_tiny_batch memorises a tiny batch (loss below {MEMORISED_LOSS})",
              ("memorised",), compare=memorised_verdict,
              hint="run all the steps it is given; if the one-step check fails, fix that first."),
        Check("stack_gradient_check: tiny on right gradients, large on a planted bug", ("grad_check",),
              compare=gradient_check_verdict,
              hint=f"central differences (f(x + h) - f(x - h)) / (2 h), h = 1e-5, at a few entries of "
                   f"every parameter; relative error max|a - n| / max(1e-8, max(|a| + |n|)); return "
                   f"the largest over the parameters. Right gradients must give < {GRADCHECK_RIGHT:g}, "
                   f"a wrong one > {GRADCHECK_BUG:g}."),
    ),
    # numerical differentiation is what the check does: only the libraries that would do the
    # work for the student are out (and no cmath, so the integrity report leaves this cell alone)
    forbidden=tuple(m for m in NO_SHORTCUTS if m != "cmath"), timeout=20, short_name="sanity")


# ---- 6. shared weights ---------------------------------------------------------------------------
def _shared_case(rng, n, d, X=None, W=None, probe=True):
    W = rng.normal(size=(d, d)) / np.sqrt(d) if W is None else W
    X = _rows_away_from_kink(rng, rng.normal(size=(n, d)) if X is None else X, lambda X: X @ W)
    return Case(add_probe({"X": X, "W": W}, rng, ["W"]) if probe else {"X": X, "W": W})


def _shared_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(7)
        return [_shared_case(fixed, 2, 2, X=np.array([[1.0, -2.0], [0.5, 1.5]]),
                             W=np.array([[0.5, -1.0], [1.0, 0.25]])),
                _shared_case(fixed, 4, 3)]
    cases = [_shared_case(rng, n, d) for n, d in [(1, 1), (1, 3), (4, 4), (5, 2), (3, 6), (2, 5)]]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 51k forwards of 0.30-0.43 ms = 15-22 s against a limit of 1 s
    cases.append(_shared_case(rng, 128, 160, probe=False))
    return cases


def _shared_variants(case):
    X, W = case.arrays["X"], case.arrays["W"]
    Z1 = X @ W
    Z2 = np.maximum(Z1, 0)
    Y = Z2 @ W
    dY = Y - X
    dZ2 = dY @ W.T
    first = X.T @ (dZ2 * (Z1 > 0))
    second = Z2.T @ dY
    return {
        "only_second_use": ("dW holds only the gradient through the second use of W (ReLU(X W) W): "
                            "W is used twice, and the gradients of both uses add up: "
                            "dW = Z2^T dY + X^T dZ1", {"grad_W": second}),
        "only_first_use": ("dW holds only the gradient through the first use of W (X W): W is used "
                           "twice, and the gradients of both uses add up: dW = Z2^T dY + X^T dZ1",
                           {"grad_W": first}),
        "relu_mask_wrong_tensor": ("the ReLU mask was taken from the wrong tensor; dZ1 = dZ2 * "
                                   "(Z1 > 0) with Z1 = X W, the ReLU's own input",
                                   {"grad_W": second + X.T @ (dZ2 * (Y > 0))}),
    }


SHARED = Task(
    grade_id="test_shared_weights",
    title="shared_weight_loss(X, W): loss and dW of Y = ReLU(X W) W with L = ||Y - X||^2 / 2",
    points=2, answer_cells=("shared_weights",), functions=("shared_weight_loss",),
    call="shared_weights", make_cases=_shared_cases, reference=lambda case: ref.shared_weights(case.arrays),
    variants=_shared_variants,
    checks=(
        Check("loss", ("loss",), rtol=1e-11, hint="L = 0.5 * sum((ReLU(X W) W - X)^2), no 1/N."),
        _probed("dW", ("grad_W",), 2, "add the gradients of both uses of W.", forward=("loss",)),
    ),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="shared_W")


# ---- 7. embedding (indexing) ---------------------------------------------------------------------
def _embedding_case(rng, v, d, n, idx=None, probe=True):
    if idx is None:
        idx = rng.integers(0, v, size=n)
        if n >= 2:
            idx[0] = idx[-1]  # at least one repeated index
    arrays = {"W": rng.normal(size=(v, d)), "idx": np.asarray(idx, dtype=np.int64),
              "dout": rng.normal(size=(len(idx), d))}
    return Case(add_probe(arrays, rng, ["W"]) if probe else arrays)


def _embedding_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(11)
        return [_embedding_case(fixed, 5, 3, 5, idx=[0, 2, 2, 4, 2])]
    cases = [_embedding_case(rng, *size) for size in [(1, 3, 4), (6, 1, 8), (4, 4, 4), (10, 5, 1),
                                                      (3, 2, 12), (7, 3, 2)]]
    # sized so that finite differences cannot finish within the limit (20 x the reference's few ms
    # is under the 1 s floor; no probe, the small cases explain). Central differences:
    # 56k forwards of 0.24-0.41 ms = 13-23 s against a limit of
    # 1 s (a forward costs per looked-up row: many rows of width 2)
    cases.append(_embedding_case(rng, 14000, 2, 16000, probe=False))
    return cases


def _embedding_variants(case):
    W, idx, dout = case.arrays["W"], case.arrays["idx"], case.arrays["dout"]
    overwritten = np.zeros_like(W)
    overwritten[idx] += dout  # buffered: a repeated row keeps one contribution
    return {"repeated_indices_overwritten": (
        "rows picked more than once got only one of their gradients: dW[idx] += dout does not add "
        "repeated indices up (NumPy buffers it); use np.add.at(dW, idx, dout)",
        {"grad_W": overwritten})}


EMBEDDING = Task(
    grade_id="test_embedding", title="embedding_forward(W, idx) and embedding_backward(dout, cache)",
    points=2, answer_cells=("embedding",), functions=("embedding_forward", "embedding_backward"),
    call="embedding", make_cases=_embedding_cases, reference=lambda case: ref.embedding(case.arrays),
    variants=_embedding_variants,
    checks=(Check("forward: out = W[idx]", ("out",), rtol=1e-12, hint="row n of out is W[idx[n]]."),
            _probed("dW", ("grad_W",), 1, "every row W[v] collects dout[n] for every n with idx[n] == v.",
                    rtol=1e-12)),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="embedding")


# ---- 8. SGD with momentum and weight decay --------------------------------------------------------
def _sgd_case(rng, shape, steps, lr, momentum, weight_decay, w0=None):
    arrays = {"w0": rng.normal(size=shape) if w0 is None else w0,
              "curvature": rng.uniform(0.2, 3.0, size=shape), "w_star": rng.normal(size=shape)}
    return Case(arrays, {"steps": int(steps), "lr": float(lr), "momentum": float(momentum),
                         "weight_decay": float(weight_decay)})


def _sgd_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(9)
        return [_sgd_case(fixed, (3,), 4, 0.1, 0.9, 0.01, w0=np.array([1.0, -2.0, 0.5])),
                _sgd_case(fixed, (2, 2), 3, 0.05, 0.5, 0.0)]
    cases = []
    for shape, steps in [((1,), 5), ((3, 4), 4), ((2, 2, 2), 6), ((5,), 1), ((4, 1), 3)]:
        cases.append(_sgd_case(rng, shape, steps, rng.uniform(0.01, 0.3), rng.uniform(0.3, 0.95),
                               rng.uniform(0.0, 0.1)))
    cases.append(_sgd_case(rng, (3, 2), 4, rng.uniform(0.01, 0.3), 0.0, rng.uniform(0.01, 0.1)))
    cases.append(_sgd_case(rng, (6,), 5, rng.uniform(0.01, 0.3), rng.uniform(0.5, 0.95), 0.0))
    return cases


def _simulate(case, rule):
    """(w_steps, v_steps) of k steps of a (possibly wrong) update rule on the case's quadratic."""
    a, p = case.arrays, case.params
    lr, mu, wd = p["lr"], p["momentum"], p["weight_decay"]
    w, v = a["w0"].copy(), np.zeros_like(a["w0"])
    w_steps, v_steps = [], []
    for _ in range(p["steps"]):
        dw = a["curvature"] * (w - a["w_star"])
        w, v = rule(w, dw, v, lr, mu, wd)
        w_steps.append(w)
        v_steps.append(v)
    return {"w_steps": np.stack(w_steps), "v_steps": np.stack(v_steps)}


SGD_MISTAKES = {
    "velocity_not_kept": (
        "the velocity starts from zero at every step (plain SGD): return the new velocity and use "
        "it at the next step, v = momentum * v + g",
        lambda w, dw, v, lr, mu, wd: (w - lr * (dw + wd * w), dw + wd * w)),
    "momentum_sign": (
        "the momentum step goes the wrong way: with torch's convention v = momentum * v + g and "
        "w = w - lr * v",
        lambda w, dw, v, lr, mu, wd: (w - lr * (mu * v - (dw + wd * w)), mu * v - (dw + wd * w))),
    "velocity_convention": (
        "your parameters follow torch's, but your velocity is -lr times torch's (the CS231n "
        "convention v = momentum * v - lr * g, w = w + v); keep torch's v = momentum * v + g, "
        "w = w - lr * v",
        lambda w, dw, v, lr, mu, wd: (w + (mu * v - lr * (dw + wd * w)), mu * v - lr * (dw + wd * w))),
    "velocity_times_lr": (
        "your parameters follow torch's, but your velocity is lr times torch's (v = momentum * v "
        "+ lr * g, w = w - v); keep torch's v = momentum * v + g, w = w - lr * v",
        lambda w, dw, v, lr, mu, wd: (w - (mu * v + lr * (dw + wd * w)), mu * v + lr * (dw + wd * w))),
    "weight_decay_outside_momentum": (
        "weight decay was added after the momentum; torch adds weight_decay * w to the gradient "
        "first, g = dw + weight_decay * w, and the velocity accumulates g",
        lambda w, dw, v, lr, mu, wd: (w - lr * (mu * v + dw + wd * w), mu * v + dw)),
    "weight_decay_sign": (
        "weight decay has the wrong sign: it pulls the parameters toward 0, g = dw + weight_decay * w",
        lambda w, dw, v, lr, mu, wd: (w - lr * (mu * v + dw - wd * w), mu * v + dw - wd * w)),
    "stale_velocity": (
        "the parameters moved with the old velocity: update v first, then w = w - lr * v_new",
        lambda w, dw, v, lr, mu, wd: (w - lr * v, mu * v + dw + wd * w)),
}


def _sgd_variants(case):
    return {code: (message, _simulate(case, rule)) for code, (message, rule) in SGD_MISTAKES.items()}


SGD = Task(
    grade_id="test_sgd_momentum",
    title="sgd_momentum(w, dw, v, lr, momentum, weight_decay): torch.optim.SGD's update",
    points=2, answer_cells=("sgd_momentum",), functions=("sgd_momentum",), call="sgd_momentum",
    make_cases=_sgd_cases,
    reference=lambda case: ref.sgd_momentum(case.arrays, **case.params), variants=_sgd_variants,
    checks=(
        Check("parameters after every step", ("w_steps",), weight=2, rtol=1e-10,
              hint="g = dw + weight_decay * w; v = momentum * v + g; w = w - lr * v."),
        Check("velocity after every step", ("v_steps",), weight=1, rtol=1e-10,
              hint="return the new v; the next step starts from it."),
    ),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="sgd")


# ---- 9. training on digits -----------------------------------------------------------------------
TEST_FRACTION = 0.2
ACCURACY_THRESHOLD = 0.93   # the reference reaches ~0.97 (0.95-0.99 over seeds and splits)
LEARNS_THRESHOLD = 0.80
PIXEL_LEVELS = 16          # scikit-learn's digits: pixels 0..16


@functools.lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / PIXEL_LEVELS, digits.target.astype(np.int64)


def digits_split(split_seed):
    """(X_train, y_train, X_test, y_test): scikit-learn's 1797 digits, pixels in [0, 1], 20% test."""
    X, y = _digits()
    order = np.random.default_rng(split_seed).permutation(len(X))
    n_test = int(round(TEST_FRACTION * len(X)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


STEP_KEYS = tuple(f"step_{name}" for name in NET) + tuple(f"step_v_{name}" for name in NET)
STEP_RTOL = 1e-10


def _step_arrays(rng, n, d, h, c):
    """Parameters, velocities (mid-training: not zero) and a minibatch for one train_step, with
    the pre-activations away from ReLU's kink; settings drawn alongside."""
    arrays = {"W1": rng.normal(size=(d, h)) / np.sqrt(d), "b1": rng.normal(size=h) * 0.5,
              "W2": rng.normal(size=(h, c)) / np.sqrt(h), "b2": rng.normal(size=c) * 0.5,
              "y_batch": rng.integers(0, c, size=n).astype(np.int64)}
    arrays.update({f"v_{name}": rng.normal(size=arrays[name].shape) * 0.1 for name in NET})
    arrays["X_batch"] = _rows_away_from_kink(rng, rng.normal(size=(n, d)),
                                             lambda X: X @ arrays["W1"] + arrays["b1"])
    settings = {"lr": float(rng.uniform(0.01, 0.2)), "momentum": float(rng.uniform(0.5, 0.95)),
                "weight_decay": float(rng.uniform(1e-4, 0.05))}
    return arrays, settings


def _training_cases(rng, hidden):
    """One case with a train_step and the training run (the visible one on split 0, seed 0),
    and, hidden, more train_steps of other shapes (batch of 1, non-square layers)."""
    if not hidden:
        step, settings = _step_arrays(np.random.default_rng(31), 4, 5, 6, 3)
        split_seed, seed = 0, 0
    else:
        step, settings = _step_arrays(rng, 32, 64, 16, 10)
        split_seed, seed = int(rng.integers(1, 2**31)), int(rng.integers(1, 2**31))
    X_train, y_train, _, _ = digits_split(split_seed)
    # the pixels travel as their integer sixteenths (uint8, an eighth of the float64 bytes); the
    # student's process divides by 16 and gets X_train exactly
    pixels = np.rint(X_train * PIXEL_LEVELS).astype(np.uint8)
    cases = [Case(dict(step, pixels_train=pixels, y_train=y_train),
                  dict(settings, seed=seed, split_seed=split_seed))]
    if hidden:
        for size in [(1, 3, 4, 2), (5, 2, 7, 3)]:
            cases.append(Case(*_step_arrays(rng, *size)))
    return cases


def _training_reference(case):
    out = {}
    if "X_batch" in case.arrays:
        out.update(ref.train_step(case.arrays, case.params["lr"], case.params["momentum"],
                                  case.params["weight_decay"]))
    if "pixels_train" in case.arrays:
        _, _, X_test, y_test = digits_split(case.params["split_seed"])
        out.update({"accuracy": np.asarray(ACCURACY_THRESHOLD), "X_test": X_test, "y_test": y_test})
    return out


def _step_variants(case):
    """One train_step with each known sgd_momentum mistake, on the network's exact gradient."""
    a, p = case.arrays, case.params
    grads = _net_gradients({"X": a["X_batch"], "y": a["y_batch"], **{name: a[name] for name in NET}}, None)
    found = {}
    for code, (message, rule) in SGD_MISTAKES.items():
        arrays = {}
        for name in NET:
            w, v = rule(a[name], grads[f"grad_{name}"], a[f"v_{name}"], p["lr"], p["momentum"],
                        p["weight_decay"])
            arrays[f"step_{name}"], arrays[f"step_v_{name}"] = w, v
        found[code] = (message, arrays)
    return found


def network_accuracy(params, X, y):
    """Accuracy of the network relu(X W1 + b1) W2 + b2 on (X, y)."""
    scores = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    return float(np.mean(np.argmax(scores, axis=1) == y))


# The accuracy checks ship to the student's kernel as source (autograder.selfcheck): NumPy,
# Verdict and compare_values only, with their module-level helper and thresholds.
def stepped_like_sgd(reference, outputs):
    """Did the case's train_step return torch.optim.SGD's parameters and velocities?"""
    return all(compare_values(reference[key], outputs.get(key), what=key, rtol=STEP_RTOL).passed
               for key in STEP_KEYS if key in reference)


def accuracy_verdict(reference, outputs, threshold):
    """Verdict: the parameters train returned classify >= threshold of the held-out digits, and
    the loop that trained them steps like SGD (a network fitted some other way, e.g. random
    features and a least-squares solve, teaches nothing about backpropagation)."""
    if not stepped_like_sgd(reference, outputs):
        note = ("the accuracy counts only for a network trained by SGD steps on its backpropagated "
                "gradients, and one step of your train_step differs from torch.optim.SGD's (see the "
                "check of train_step): ")
        return Verdict(False, note + "fix train_step first.", note=note)
    X, y = reference["X_test"], reference["y_test"]
    try:
        W1, b1, W2, b2 = (outputs[name] for name in ("W1", "b1", "W2", "b2"))
        scores = np.maximum(X @ W1 + b1, 0) @ W2 + b2
        if scores.shape != (len(y), 10) or not np.all(np.isfinite(scores)):
            raise ValueError
    except (KeyError, ValueError):
        return Verdict(False, "train must return finite W1 (64, H), b1 (H,), W2 (H, 10) and b2 (10,)")
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y))
    if accuracy >= threshold:
        return Verdict(True)
    return Verdict(False, f"the trained network classifies {100 * accuracy:.1f}% of the held-out "
                          f"test images correctly; at least {100 * threshold:.0f}% are needed")


def learns(reference, outputs, case):
    return accuracy_verdict(reference, outputs, LEARNS_THRESHOLD)


def accurate(reference, outputs, case):
    return accuracy_verdict(reference, outputs, ACCURACY_THRESHOLD)


TRAINING = Task(
    grade_id="test_train",
    title="train_step(params, velocity, X, y, lr, momentum, weight_decay) and train(X_train, y_train, "
          "seed): a two-layer MLP on digits with your own gradients",
    points=3, answer_cells=("affine", "activations", "softmax_cross_entropy", "two_layer_net",
                            "sgd_momentum", "train"),
    functions=("train_step", "train"), call="training", make_cases=_training_cases,
    reference=_training_reference, variants=_step_variants,
    checks=(
        Check("one train_step: torch.optim.SGD's parameters and velocities from the network's gradient",
              STEP_KEYS, weight=1, rtol=STEP_RTOL,
              hint="take two_layer_loss's gradients on the minibatch, then sgd_momentum on every "
                   "parameter with its own velocity; return both new dicts."),
        Check(f"it learns: test accuracy of at least {100 * LEARNS_THRESHOLD:.0f}%", ("accuracy",),
              weight=1, compare=learns,
              hint="check the loss goes down during training; try a smaller learning rate."),
        Check(f"test accuracy of at least {100 * ACCURACY_THRESHOLD:.0f}%", ("accuracy",),
              weight=1, compare=accurate,
              hint="train longer or with a wider hidden layer; the suggested settings reach ~97%."),
    ),
    forbidden=NO_SHORTCUTS + ("sklearn",), timeout=60, short_name="train")


QUESTIONS = choice_tasks(__file__, forbidden=NO_SHORTCUTS)  # questions.toml


ASSIGNMENT = Assignment(
    assignment_id="03_vectorized_mlp",
    tasks=(AFFINE, ACTIVATIONS, SOFTMAX, MSE, NETWORK, NINJA, STACK, SANITY, SHARED, EMBEDDING, SGD, TRAINING,
           *QUESTIONS),
)
