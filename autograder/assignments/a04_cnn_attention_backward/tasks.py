"""Task specs of assignment 04: backward through convolution, pooling, a residual block, attention
and layer normalisation.

Every layer is CS231n's pair ``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)``.
References are torch autograd in float64 (``reference.py``); every gradient is also checked
against the student's own forward along a random direction (the probe). Hidden cases have random
shapes (size-1 and non-square dimensions, kernels 1-5, strides 1-3, paddings 0-2, output sizes
where (H + 2p - k) is not a multiple of the stride, overlapping pooling windows), random values
and random upstream gradients; max-pooling inputs are tie-free wherever they are probed, and
separate cases with ties check "one maximum per window". Every gradient task has one hidden case
(``BIG_*``) on which a finite-difference gradient cannot finish inside the task's time limit: the
limit is 20x the reference's CPU time, at least 1 s (``course/limits.py``), and central
differences of the reference's own forward over that case need at least 10x it on the machine
the kit is developed on (the figures in the comments), so a faster machine keeps the property.
They are sized no larger than that: the cases travel to the sandbox and back for every
submission. Many inputs with a cheap forward rather than a big forward: finite differences cost
(number of inputs) x (one forward), the reference a few forwards. The figures are CPU time,
the fastest of several runs on 2 shared cores (a busy machine doubles them).
"""
import numpy as np

from . import reference as ref
from ...judging.choice import choice_tasks
from ...judging.spec import NO_SHORTCUTS, Assignment, Case, Check, Task, add_probe

RTOL = 1e-12        # float64 with a different summation order agrees to ~1e-15
KINK_MARGIN = 1e-3  # probed pre-activations stay this far from ReLU's kink


def _grad_check(name, keys, weight, hint=""):
    """A gradient check against torch, with the probe (the contract's second reference) to say
    "your forward is right and your backward disagrees with it" or "your forward is wrong"."""
    return Check(name, keys, weight=weight, rtol=RTOL, probe=True, forward=("out",), hint=hint)


def _forward_check(name, weight=1, hint=""):
    return Check(name, ("out",), weight=weight, rtol=RTOL, hint=hint)


def _probed(arrays, rng, wrt):
    return add_probe(arrays, rng, wrt)


# =============================================================================================
# Convolution
# =============================================================================================
def _conv_arrays(rng, N, C, F, H, W, kh, kw, stride, padding):
    Ho, Wo = (H + 2 * padding - kh) // stride + 1, (W + 2 * padding - kw) // stride + 1
    return {"x": rng.normal(size=(N, C, H, W)), "w": rng.normal(size=(F, C, kh, kw)),
            "b": rng.normal(size=F), "dout": rng.normal(size=(N, F, Ho, Wo))}


LECTURE_KERNEL = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])  # the lecture's flip example
# N, C, F, H, W, kh, kw, stride, padding: 22k inputs. Central differences: 45k forwards of
# 0.30 ms = 13 s against a limit of 1 s (the reference: 1.7 ms for forward, backward and probe).
BIG_CONV = (4, 4, 8, 38, 36, 3, 4, 2, 1)


def _conv_shapes(rng, hidden):
    """(N, C, F, H, W, kh, kw, stride, padding) of each case."""
    if not hidden:
        return [(1, 1, 1, 4, 5, 2, 3, 1, 0),   # one channel, the lecture's 2x3 kernel
                (2, 3, 4, 6, 7, 3, 2, 2, 1),   # stride 2, padding 1, (H + 2p - k) odd
                (1, 2, 1, 5, 5, 1, 1, 3, 2)]   # 1x1 kernel, stride 3, padding 2
    shapes = [(1, 1, 1, 3, 1, 3, 1, 1, 0),            # every size 1 that can be
              (2, 3, 2, 8, 10, 2, 5, 3, 1),           # non-square, remainders 2 and 1
              BIG_CONV]
    while len(shapes) < 10:
        kh, kw = (int(k) for k in rng.integers(1, 6, size=2))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        H = max(1, kh - 2 * padding) + int(rng.integers(0, 7))
        W = max(1, kw - 2 * padding) + int(rng.integers(0, 7))
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        shapes.append((N, C, F, H, W, kh, kw, stride, padding))
    return shapes


def _conv_case(rng, shape, probe, lecture=False):
    arrays = _conv_arrays(rng, *shape)
    if lecture:
        arrays["x"] = np.arange(20.0).reshape(1, 1, 4, 5) % 7 - 3.0
        arrays["w"] = LECTURE_KERNEL.reshape(1, 1, 2, 3).copy()
        arrays["b"] = np.array([0.5])
    stride, padding = shape[7], shape[8]
    if probe:
        arrays = _probed(arrays, rng, ["x", "w", "b"])
    else:
        arrays.pop("dout")
    return Case(arrays, {"stride": stride, "padding": padding})


def _conv_forward_cases(rng, hidden):
    # BIG_CONV is there for the backward (finite differences); a forward needs no such case
    return [_conv_case(rng, s, probe=False, lecture=not hidden and i == 0)
            for i, s in enumerate(_conv_shapes(rng, hidden)) if s != BIG_CONV]


def _conv_backward_cases(rng, hidden):
    return [_conv_case(rng, s, probe=True, lecture=not hidden and i == 0)
            for i, s in enumerate(_conv_shapes(rng, hidden))]


def _conv_reference(case):
    a, p = case.arrays, case.params
    return ref.conv2d(a["x"], a["w"], a["b"], p["stride"], p["padding"], a.get("dout"))


def _flip(w):
    return w[:, :, ::-1, ::-1]


def _conv_forward_variants(case):
    a, s, p = case.arrays, case.params["stride"], case.params["padding"]
    x, w, b = a["x"], a["w"], a["b"]
    H, W, kh, kw = x.shape[2], x.shape[3], w.shape[2], w.shape[3]
    found = {"flipped_in_forward": (
        "your output is the convolution with the flipped kernel: a convolution layer computes a "
        "correlation, out[i, j] = sum_pq x[i*stride + p, j*stride + q] w[p, q], with no flip in the "
        "forward pass (the flip belongs to the backward pass for dx)",
        {"out": ref.conv_out(x, _flip(w), b, s, p)}),
        "bias_missing": ("the bias is missing: add b[f] to every output of filter f",
                         {"out": ref.conv_out(x, w, np.zeros_like(b), s, p)})}
    if p and H >= kh and W >= kw:
        found["padding_ignored"] = ("your output is what you get without zero padding: pad x with "
                                    "`padding` zeros on each side of both spatial axes first",
                                    {"out": ref.conv_out(x, w, b, s, 0)})
    if s > 1:
        found["stride_ignored"] = ("your output is the stride-1 result: with stride s, output (i, j) "
                                   "starts at input row i*s and column j*s",
                                   {"out": ref.conv_out(x, w, b, 1, p)})
    return found


def _conv_backward_variants(case):
    a, s, p = case.arrays, case.params["stride"], case.params["padding"]
    x, w, dout = a["x"], a["w"], a["dout"]
    H, W, kh, kw = x.shape[2], x.shape[3], w.shape[2], w.shape[3]
    padded = (H + 2 * p, W + 2 * p)
    dx_pad = ref.conv_dx_padded(dout, w, padded, s)
    found = {"kernel_not_flipped": (
        "dx is the correlation of the padded dout with the kernel as it is: dx = pad(dout) * flip(w), "
        "the kernel flipped in both spatial axes (w[::-1, ::-1]), because output (i, j) used input "
        "(i + p, j + q) with weight w[p, q]",
        {"grad_x": ref.conv_dx_padded(dout, _flip(w), padded, s)[:, :, p:p + H, p:p + W]})}
    if p:
        found["padding_not_cropped"] = (
            "dx has the shape of the padded input: the gradient of the zero padding is not wanted, "
            "cut `padding` rows and columns off each side so that dx has the shape of x",
            {"grad_x": dx_pad})
        found["padding_misplaced"] = (
            "dx is cropped from the wrong place: the padded gradient must lose `padding` rows and "
            "columns on every side (dx_pad[:, :, p:p+H, p:p+W]), not only at the end",
            {"grad_x": dx_pad[:, :, :H, :W]})
    if s > 1:
        Ho, Wo = dout.shape[2:]
        wrong = {"grad_x": ref.conv_dx_padded(dout, w, padded, 1)[:, :, p:p + H, p:p + W],
                 "grad_w": ref.conv_dw(ref.pad(x, p)[:, :, :Ho - 1 + kh, :Wo - 1 + kw], dout, kh, kw, 1)}
        found["stride_ignored_in_backward"] = (
            "your backward treats the convolution as if its stride were 1: with stride s, dout[i, j] "
            "goes back to the window starting at input row i*s and column j*s (insert s - 1 zeros "
            "between the entries of dout before correlating)", wrong)
    return found


CONV_FORWARD = Task(
    grade_id="test_conv2d_forward", title="conv2d_forward(x, w, b, stride, padding)",
    points=3, answer_cells=("conv2d_forward",), functions=("conv2d_forward",), call="conv_forward",
    make_cases=_conv_forward_cases, reference=_conv_reference, variants=_conv_forward_variants,
    checks=(_forward_check("output of the convolution layer",
                           hint="pad, then out[n, f, i, j] = sum over c, p, q of x_pad[n, c, i*stride + p, "
                                "j*stride + q] * w[f, c, p, q], plus b[f]"),),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="conv_fwd")


CONV_BACKWARD = Task(
    grade_id="test_conv2d_backward", title="conv2d_backward(dout, cache) -> dx, dw, db",
    points=4, answer_cells=("conv2d_forward", "conv2d_backward"),
    functions=("conv2d_forward", "conv2d_backward"), call="conv_backward",
    make_cases=_conv_backward_cases, reference=_conv_reference, variants=_conv_backward_variants,
    checks=(
        _grad_check("dx", ("grad_x",), 3,
                    hint="dx = pad(dout) * flip(w) for stride 1; in general every dout[n, f, i, j] "
                         "adds dout * w[f, :, p, q] to x_pad[n, :, i*stride + p, j*stride + q], and the "
                         "padding is cut off at the end."),
        _grad_check("dw", ("grad_w",), 2, hint="dw = x_pad * dout: dw[f, c, p, q] sums dout[n, f, i, j] "
                                                "* x_pad[n, c, i*stride + p, j*stride + q] over n, i, j."),
        _grad_check("db", ("grad_b",), 1, hint="db[f] sums dout[:, f] over the batch and both spatial axes."),
    ),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="conv_bwd")


# =============================================================================================
# ReLU
# =============================================================================================
def _away_from_zero(rng, shape):
    x = rng.normal(size=shape)
    return np.where(x < 0, x - KINK_MARGIN, x + KINK_MARGIN)


def _relu_case(rng, shape, zeros=False, lecture=False):
    if lecture:  # the lecture's example: the left column is negative, so its gradient is 0
        arrays = {"x": np.array([[[[-1.0, 2.0], [-3.0, 0.5]]]]), "dout": np.array([[[[1.0, 3.0], [2.0, 4.0]]]])}
    else:
        arrays = {"x": _away_from_zero(rng, shape), "dout": rng.normal(size=shape)}
    if zeros:  # exact zeros, ReLU's kink: its derivative there is taken to be 0 (as in torch)
        arrays["x"][rng.random(shape) < 0.3] = 0.0
        return Case(arrays)
    return Case(_probed(arrays, rng, ["x"]))


# 80k inputs, ReLU's forward the cheapest there is. A feature map with exact zeros, like the
# small kink case, so unprobed: its input and dout are all that travel. Central differences:
# 160k forwards of 0.087 ms = 14 s against a limit of 1 s.
BIG_RELU = (4, 8, 48, 52)


def _relu_cases(rng, hidden):
    if not hidden:
        return [_relu_case(rng, None, lecture=True), _relu_case(rng, (2, 3, 4, 5), zeros=True)]
    cases = [_relu_case(rng, (1, 1, 1, 1)), _relu_case(rng, (1, 2, 3, 1)),
             _relu_case(rng, (2, 2, 5, 4), zeros=True), _relu_case(rng, BIG_RELU, zeros=True)]
    for _ in range(3):
        cases.append(_relu_case(rng, tuple(int(v) for v in rng.integers(1, 7, size=4))))
    return cases


def _relu_variants(case):
    x, dout = case.arrays["x"], case.arrays["dout"]
    return {
        "half_at_kink": ("where x is exactly 0 your gradient is half of dout: a valid subgradient at "
                         "the kink, but this exercise states a convention, ReLU'(0) = 0 (PyTorch's), "
                         "so that every layer that uses it agrees",
                         {"grad_x": dout * (x > 0) + 0.5 * dout * (x == 0)}),
        "passes_at_zero": ("where x is exactly 0 you passed dout on: the convention is ReLU'(0) = 0, "
                           "so use x > 0, not x >= 0",
                           {"grad_x": dout * (x >= 0)}),
        "times_output": ("you multiplied dout by ReLU's output max(x, 0); its derivative is the "
                         "indicator 1[x > 0]", {"grad_x": dout * np.maximum(x, 0)}),
    }


RELU = Task(
    grade_id="test_relu", title="relu_forward(x) and relu_backward(dout, cache)", points=2,
    answer_cells=("relu",), functions=("relu_forward", "relu_backward"), call="relu_layer",
    make_cases=_relu_cases, reference=lambda c: ref.relu(c.arrays["x"], c.arrays["dout"]),
    variants=_relu_variants,
    checks=(_forward_check("ReLU output"),
            _grad_check("dx", ("grad_x",), 1, hint="dx = dout where x > 0 and 0 elsewhere (also at x == 0).")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="relu")


# =============================================================================================
# Pooling
# =============================================================================================
def _tie_free(rng, shape):
    """Values with no two closer than 1e-3 (no ties, and none within the probe's step)."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * 1e-3 * rng.uniform(1, 3)).reshape(shape)


def _pool_case(rng, kind, shape, k, stride, ties=None, values=None):
    if values is not None:
        x = values
    elif ties == "relu":      # a feature map after ReLU: whole windows of zeros tie
        x = np.maximum(rng.normal(-1.0, 1.0, size=shape), 0.0)
    elif ties == "levels":    # few grey levels: ties at every value
        x = rng.integers(0, 4, size=shape).astype(np.float64)
    else:
        x = _tie_free(rng, shape) if kind == "max" else rng.normal(size=shape)
    Ho, Wo = (x.shape[2] - k) // stride + 1, (x.shape[3] - k) // stride + 1
    arrays = {"x": x, "dout": rng.normal(size=x.shape[:2] + (Ho, Wo))}
    params = {"kind": kind, "kernel_size": k, "stride": stride}
    if ties:
        return Case(arrays, params)
    return Case(_probed(arrays, rng, ["x"]), params)


# the lecture's 2x2, stride-2 example: the maxima sit where the lecture's picture puts dy1..dy4
LECTURE_POOL_X = np.array([[[[1.0, 2.0, 8.0, 3.0], [0.0, 5.0, 6.0, 1.0],
                             [7.0, 3.0, 2.0, 4.0], [1.0, 4.0, 0.0, 9.0]]]])
LECTURE_POOL_DOUT = np.array([[[[1.0, 3.0], [2.0, 4.0]]]])  # [[dy1, dy3], [dy2, dy4]]


# (shape, kernel, stride), overlapping 3x3 windows at stride 2. Central differences: max 33k
# forwards of 0.47 ms = 15 s, avg 41k forwards of 0.34 ms = 14 s, against limits of 1 s.
BIG_POOL = {"max": ((4, 4, 32, 32), 3, 2), "avg": ((4, 4, 36, 36), 3, 2)}


def _pool_cases(kind):
    def make(rng, hidden):
        if not hidden:
            lecture = _pool_case(rng, kind, None, 2, 2, values=LECTURE_POOL_X)
            lecture.arrays["dout"] = LECTURE_POOL_DOUT.copy()
            cases = [lecture, _pool_case(rng, kind, (2, 3, 5, 6), 3, 1),   # overlapping windows
                     _pool_case(rng, kind, (1, 2, 7, 6), 3, 2)]           # overlap, remainder
            if kind == "max":
                cases += [_pool_case(rng, kind, (1, 2, 7, 6), 3, 2, ties="relu"),
                          _pool_case(rng, kind, (1, 1, 6, 6), 2, 1, ties="levels")]
            return cases
        cases = [_pool_case(rng, kind, (1, 1, 3, 3), 3, 1),         # one window
                 _pool_case(rng, kind, (2, 3, 6, 7), 3, 1),         # overlapping, non-square
                 _pool_case(rng, kind, (1, 2, 8, 9), 2, 3),         # gaps between windows
                 _pool_case(rng, kind, *BIG_POOL[kind])]          # beyond finite differences
        if kind == "max":
            cases += [_pool_case(rng, kind, (2, 2, 7, 8), 3, 1, ties="relu"),
                      _pool_case(rng, kind, (1, 3, 5, 6), 2, 1, ties="levels")]
        for _ in range(4):
            k, stride = int(rng.integers(1, 5)), int(rng.integers(1, 4))
            H, W = (k + int(v) for v in rng.integers(0, 7, size=2))
            N, C = (int(v) for v in rng.integers(1, 4, size=2))
            cases.append(_pool_case(rng, kind, (N, C, H, W), k, stride))
        return cases
    return make


def _pool_reference(case):
    a, p = case.arrays, case.params
    return ref.pool(p["kind"], a["x"], p["kernel_size"], p["stride"], a["dout"])


def _window_dout(dout, k):
    return lambda i, j: np.broadcast_to(dout[:, :, i, j][:, :, None, None], dout.shape[:2] + (k, k))


def _max_variants(case):
    a, k, s = case.arrays, case.params["kernel_size"], case.params["stride"]
    x, dout = a["x"], a["dout"]
    win = ref.windows(x, k, k, s)
    window_max = win.max(axis=(4, 5))
    is_max = lambda i, j: x[:, :, i * s:i * s + k, j * s:j * s + k] == window_max[:, :, i, j][:, :, None, None]
    ties = lambda i, j: is_max(i, j).sum(axis=(2, 3), keepdims=True)
    rows, cols = ref.window_argmax(x, k, s)
    first = lambda i, j: (np.arange(k * k).reshape(k, k) == (
        (rows[:, :, i, j] - i * s) * k + cols[:, :, i, j] - j * s)[:, :, None, None])
    mirrored = ref.scatter_add(x.shape, *ref.window_argmax(x, k, s, transpose=True), dout)
    return {
        "every_entry": ("every entry of a window got the window's gradient: only the maximum "
                        "influenced the output, so only its position gets dout (the others get 0)",
                        {"grad_x": ref.spread(x.shape, k, s, _window_dout(dout, k))}),
        "spread_evenly": ("you spread each window's gradient evenly over the window, as average "
                          "pooling does; max pooling sends all of it to the maximum",
                          {"grad_x": ref.spread(x.shape, k, s, _window_dout(dout / (k * k), k))}),
        "every_maximum": ("where a window's maximum occurs more than once (a tie), every copy got the "
                          "gradient; the output depends on one of them only: send dout to a single "
                          "index, the first maximum in row-major order (what np.argmax returns)",
                          {"grad_x": ref.spread(x.shape, k, s, lambda i, j: is_max(i, j) * dout[:, :, i, j][:, :, None, None])}),
        "half_at_ties": ("at a tie every tied maximum got half of the window's gradient: a valid "
                         "subgradient, but this exercise states a convention, PyTorch's for max "
                         "pooling: all of dout goes to the first maximum of the window",
                         {"grad_x": ref.spread(x.shape, k, s, lambda i, j: is_max(i, j) * np.where(
                             ties(i, j) > 1, 0.5, 1.0) * dout[:, :, i, j][:, :, None, None])}),
        "argmax_wrong_axes": ("the gradient lands at the maximum's position mirrored inside its window "
                              "(row and column swapped): the argmax was taken, or unravelled, over the "
                              "window's axes in the wrong order",
                              {"grad_x": mirrored}),
        "overwrite_not_accumulate": (
            "where windows overlap, a later window's gradient replaced the earlier ones: an input can be "
            "the maximum of several windows, so its gradients must add up (+=, or np.add.at; a fancy-"
            "index assignment dx[idx] += v keeps only one of repeated indices)",
            {"grad_x": ref.spread(x.shape, k, s, lambda i, j: first(i, j) * dout[:, :, i, j][:, :, None, None],
                                  overwrite=True)}),
        "assigned_at_maximum": (
            "where windows overlap, one input can be the maximum of several windows: you assigned "
            "(=) its gradient, so only the last window's survives; add them up (+=, or np.add.at)",
            {"grad_x": _assigned_at_maximum(x, dout, rows, cols)}),
    }


def _assigned_at_maximum(x, dout, rows, cols):
    """dx[first maximum of each window] = dout, windows in row-major order (later ones win)."""
    out = np.zeros(x.shape)
    n, c = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            out[n, c, rows[:, :, i, j], cols[:, :, i, j]] = dout[:, :, i, j]
    return out


def _avg_variants(case):
    a, k, s = case.arrays, case.params["kernel_size"], case.params["stride"]
    x, dout = a["x"], a["dout"]
    return {
        "not_divided_by_window": ("each window's gradient was not divided by the window size: the "
                                  "output is the mean of k*k entries, so each gets dout / (k*k)",
                                  {"grad_x": ref.spread(x.shape, k, s, _window_dout(dout, k))}),
        "divided_by_k": ("each entry got dout / k; the window holds k*k entries, so divide by k*k",
                         {"grad_x": ref.spread(x.shape, k, s, _window_dout(dout / k, k))}),
        "overwrite_not_accumulate": (
            "where windows overlap, a later window's gradient replaced the earlier ones: an entry in "
            "several windows gets a share from each of them (+=)",
            {"grad_x": ref.spread(x.shape, k, s, _window_dout(dout / (k * k), k), overwrite=True)}),
    }


def _pool_task(kind, name, points, variants, grad_check):
    return Task(
        grade_id=f"test_{kind}_pool2d",
        title=f"{kind}_pool2d_forward(x, kernel_size, stride) and {kind}_pool2d_backward",
        points=points, answer_cells=(f"{kind}_pool2d",),
        functions=(f"{kind}_pool2d_forward", f"{kind}_pool2d_backward"), call="pool_layer",
        make_cases=_pool_cases(kind), reference=_pool_reference, variants=variants,
        checks=(_forward_check(f"{name} output"), grad_check), forbidden=NO_SHORTCUTS, timeout=10,
        short_name=f"{kind}_pool")


MAX_POOL = _pool_task("max", "max-pooling", 4, _max_variants, _grad_check(
    "dx: each window's gradient to its maximum", ("grad_x",), 3,
    hint="each window sends dout[n, c, i, j] to the position of its first maximum (np.argmax of the "
         "flattened window); overlapping windows add up."))
AVG_POOL = _pool_task("avg", "average-pooling", 2, _avg_variants, _grad_check(
    "dx", ("grad_x",), 1, hint="every entry of a window gets dout[n, c, i, j] / (k*k); overlapping windows add up."))


# =============================================================================================
# Residual block
# =============================================================================================
def _residual_case(rng, N, C, Cm, H, W, k1, k2):
    for _ in range(100):
        x, w1 = rng.normal(size=(N, C, H, W)), rng.normal(size=(Cm, C, k1, k1))
        z1 = ref.conv_out(x, w1, np.zeros(Cm), 1, k1 // 2)
        if np.min(np.abs(z1)) > KINK_MARGIN:
            break
    else:
        raise RuntimeError("could not draw a residual case away from ReLU's kink")
    arrays = {"x": x, "w1": w1, "w2": rng.normal(size=(C, Cm, k2, k2)) / k2, "dout": rng.normal(size=x.shape)}
    return Case(_probed(arrays, rng, ["x", "w1", "w2"]))


# N, C, Cm, H, W, k1, k2: 8.6k inputs (x, w1, w2). Central differences: 17k forwards of 0.96 ms
# = 16 s against a limit of 1 s.
BIG_RESIDUAL = (3, 4, 8, 24, 28, 3, 3)


def _residual_cases(rng, hidden):
    if not hidden:
        return [_residual_case(rng, 1, 1, 1, 5, 6, 3, 3),   # the lecture's single-channel block
                _residual_case(rng, 2, 3, 2, 4, 5, 3, 1)]
    cases = [_residual_case(rng, 1, 1, 1, 1, 4, 3, 1), _residual_case(rng, 2, 2, 3, 6, 1, 1, 3),
             _residual_case(rng, *BIG_RESIDUAL),           # beyond finite differences
             _residual_case(rng, 1, 2, 2, 7, 6, 5, 3),     # a 5x5 kernel: "same" padding is k // 2,
             _residual_case(rng, 1, 2, 3, 6, 7, 3, 5)]     # in either convolution (not only by chance)
    for _ in range(3):
        k1, k2 = (int(k) for k in rng.choice([1, 3, 5], size=2))
        N, C, Cm = (int(v) for v in rng.integers(1, 4, size=3))
        H, W = (int(v) for v in rng.integers(1, 9, size=2))
        cases.append(_residual_case(rng, N, C, Cm, H, W, k1, k2))
    return cases


def _residual_reference(case):
    a = case.arrays
    return ref.residual(a["x"], a["w1"], a["w2"], a["dout"])


def _residual_variants(case):
    a = case.arrays
    x, w1, w2, dz = a["x"], a["w1"], a["w2"], a["dout"]
    p1, p2 = w1.shape[2] // 2, w2.shape[2] // 2
    H, W = x.shape[2:]
    z1 = ref.conv_out(x, w1, np.zeros(w1.shape[0]), 1, p1)
    dz2 = ref.conv_dx_padded(dz, w2, (H + 2 * p2, W + 2 * p2), 1)[:, :, p2:p2 + H, p2:p2 + W]
    conv_path = lambda dz1: ref.conv_dx_padded(dz1, w1, (H + 2 * p1, W + 2 * p1), 1)[:, :, p1:p1 + H, p1:p1 + W]
    dz1 = dz2 * (z1 > 0)
    no_mask = {"grad_x": conv_path(dz2) + dz, "grad_w1": ref.conv_dw(ref.pad(x, p1), dz2, *w1.shape[2:], 1)}
    return {
        "skip_path_missing": ("dx is only the gradient through the two convolutions: x also reaches z "
                              "directly through the skip connection, so dx = dx_conv_path + dz",
                              {"grad_x": conv_path(dz1)}),
        "conv_path_missing": ("dx is only dz, the skip path's gradient: add the gradient that comes back "
                              "through conv2, the ReLU and conv1", {"grad_x": dz.copy()}),
        "relu_mask_missing": ("the gradient went back through the ReLU unchanged: multiply by 1[z1 > 0], "
                              "where z1 = conv(x, w1) is the ReLU's input", no_mask),
    }


RESIDUAL = Task(
    grade_id="test_residual_block", title="residual_forward(x, w1, w2) and residual_backward(dz, cache)",
    points=4, answer_cells=("conv2d_forward", "conv2d_backward", "relu", "residual_block"),
    functions=("residual_forward", "residual_backward"), call="residual_block",
    make_cases=_residual_cases, reference=_residual_reference, variants=_residual_variants,
    checks=(_forward_check("z = conv(relu(conv(x, w1)), w2) + x"),
            _grad_check("dx: the conv path plus the skip path", ("grad_x",), 2,
                        hint="x is used twice (conv1 and the skip), so its gradients add up."),
            _grad_check("dw1 and dw2", ("grad_w1", "grad_w2"), 1)),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="residual")


# =============================================================================================
# Softmax Jacobian and the lecture's attention example
# =============================================================================================
# (n queries, m keys). The reference builds one m x m Jacobian per query in a Python loop (about
# 15 us a row), finite differences move each of the n + m inputs through all n x m scores: their
# ratio grows with n x m, the reference's time with n, so n is as small as keeps the reference
# under 1/20 s (the 1 s floor). Central differences: 6.1k forwards of 3.8 ms = 23 s against a
# limit of 1 s (the reference: 50 ms for this case, the task 0.05 s in the sandbox).
BIG_SOFTMAX = (3000, 54)


def _softmax_cases(rng, hidden):
    if not hidden:
        cases = [Case({"s": np.array([0.2, 0.3, 0.5])}, {"kind": "jacobian"}),
                 Case({"s": np.array([1.0])}, {"kind": "jacobian"}),
                 Case({"s": ref.softmax_rows(np.array([1.0, -2.0, 0.5, 3.0, 0.0]))}, {"kind": "jacobian"})]
        example = {"x": np.array([1.0, -0.5, 2.0]), "y": np.array([0.3, -1.2, 0.8, 0.1]),
                   "dout": np.array([[0.5, -1.0, 2.0, 0.3], [1.5, 0.2, -0.7, -1.1], [-0.4, 0.9, 0.6, -2.0]])}
        return cases + [Case(_probed(example, rng, ["x", "y"]), {"kind": "example"})]
    cases = [Case({"s": ref.softmax_rows(2 * rng.normal(size=n))}, {"kind": "jacobian"}) for n in (1, 2, 6, 9)]
    for n, m in [(1, 1), (1, 5), (4, 1), (5, 3), (3, 7), tuple(int(v) for v in rng.integers(2, 9, size=2)),
                 BIG_SOFTMAX]:
        arrays = {"x": rng.normal(size=n), "y": rng.normal(size=m), "dout": rng.normal(size=(n, m))}
        cases.append(Case(_probed(arrays, rng, ["x", "y"]), {"kind": "example"}))
    # scores x_i * y_j in the thousands: exp overflows unless each row's maximum is subtracted
    arrays = {"x": np.array([40.0, -35.0, 20.0]) + rng.normal(size=3), "y": np.array([30.0, -25.0, 18.0, 10.0]),
              "dout": rng.normal(size=(3, 4))}
    cases.append(Case(_probed(arrays, rng, ["x", "y"]), {"kind": "example"}))
    return cases


def _softmax_reference(case):
    if case.params["kind"] == "jacobian":
        return {"jacobian": ref.softmax_jacobian(case.arrays["s"])}
    a = case.arrays
    return ref.lecture_attention(a["x"], a["y"], a["dout"])


def _softmax_variants(case):
    if case.params["kind"] == "jacobian":
        s = case.arrays["s"]
        return {"jacobian_diagonal_only": ("only the diagonal s_k (1 - s_k) is there: every s_k depends on "
                                           "every z_l, so the off-diagonal entries are -s_k s_l",
                                           {"jacobian": np.diag(s * (1 - s))}),
                "jacobian_no_diagonal": ("the diagonal lacks its s_k term: J = diag(s) - s s^T",
                                         {"jacobian": -np.outer(s, s)})}
    x, y, ds = case.arrays["x"], case.arrays["y"], case.arrays["dout"]
    s = ref.softmax_rows(np.outer(x, y))
    dz = s * (1 - s) * ds
    return {"jacobian_diagonal_only": ("your dz_i used only the Jacobian's diagonal s(1 - s): the "
                                       "off-diagonal terms -s_k s_l carry how each probability moves "
                                       "when another score changes",
                                       {"grad_x": dz @ y, "grad_y": x @ dz})}


SOFTMAX = Task(
    grade_id="test_softmax_jacobian",
    title="softmax_jacobian(s) and lecture_attention_backward(x, y, ds)", points=3,
    answer_cells=("softmax_jacobian",), functions=("softmax_jacobian", "lecture_attention_backward"),
    call="softmax_example", make_cases=_softmax_cases, reference=_softmax_reference, variants=_softmax_variants,
    checks=(Check("softmax Jacobian", ("jacobian",), weight=1, rtol=RTOL,
                  hint="J[k, l] = s_k (1 - s_k) if k == l else -s_k s_l, i.e. diag(s) - s s^T."),
            Check("dx and dy of the lecture's example", ("grad_x", "grad_y"), weight=2, rtol=RTOL, probe=True,
                  hint="dz_i = J(s_i) ds_i; dx_i = sum_j y_j dz_ij; dy_j = sum_i x_i dz_ij.")),
    forbidden=NO_SHORTCUTS, timeout=20, short_name="softmax")


# =============================================================================================
# Scaled dot-product attention
# =============================================================================================
def _attention_case(rng, B, Lq, Lk, d, dv, causal, scale=1.0):
    arrays = {"Q": scale * rng.normal(size=(B, Lq, d)), "K": scale * rng.normal(size=(B, Lk, d)),
              "V": rng.normal(size=(B, Lk, dv)), "dout": rng.normal(size=(B, Lq, dv))}
    return Case(_probed(arrays, rng, ["Q", "K", "V"]), {"causal": causal})


# B, Lq, Lk, d, dv: 15k inputs (Q, K, V), causal; long sequences make the forward dear per
# input. Central differences: 31k forwards of 0.45 ms = 14 s against a limit of 1 s.
BIG_ATTENTION = (2, 128, 128, 24, 12)


def _attention_cases(rng, hidden):
    if not hidden:
        return [_attention_case(rng, 1, 3, 3, 2, 2, False), _attention_case(rng, 2, 4, 5, 3, 2, False),
                _attention_case(rng, 2, 4, 4, 4, 3, True)]
    cases = [_attention_case(rng, 1, 1, 1, 1, 1, True), _attention_case(rng, 1, 1, 6, 3, 2, False),
             _attention_case(rng, 3, 7, 2, 5, 4, False), _attention_case(rng, 2, 6, 6, 2, 5, True),
             _attention_case(rng, *BIG_ATTENTION, True),         # beyond finite differences
             # scores in the thousands: exp overflows unless each row's maximum is subtracted
             _attention_case(rng, 2, 5, 4, 3, 2, False, scale=40.0)]
    for causal in (False, True):
        B, Lq, d, dv = (int(v) for v in rng.integers(1, 9, size=4))
        Lk = Lq if causal else int(rng.integers(1, 9))
        cases.append(_attention_case(rng, B, Lq, Lk, d, dv, causal))
    return cases


def _attention_reference(case):
    a = case.arrays
    return ref.attention(a["Q"], a["K"], a["V"], case.params["causal"], a["dout"])


def _softmax_backward(P, dP):
    return P * (dP - np.sum(P * dP, axis=-1, keepdims=True))


def _attention_variants(case):
    a, causal = case.arrays, case.params["causal"]
    Q, K, V, dout = a["Q"], a["K"], a["V"], a["dout"]
    P, dP = ref.attention_parts(Q, K, V, causal, dout)
    dQ, dK, dV = ref.attention_grads(Q, K, P, _softmax_backward(P, dP), dout)
    diag = ref.attention_grads(Q, K, P, P * (1 - P) * dP, dout)
    unscaled = ref.attention_grads(Q, K, P, _softmax_backward(P, dP), dout, scale=False)
    found = {
        "softmax_jacobian_diagonal_only": (
            "dS used only the softmax Jacobian's diagonal, P * (1 - P) * dP; the full Jacobian gives "
            "dS = P * (dP - sum_j P_j dP_j) row by row",
            {"grad_Q": diag[0], "grad_K": diag[1]}),
        "scale_missing_in_backward": (
            "dQ and dK lack the factor 1/sqrt(d): the scores are Q K^T / sqrt(d), so the chain rule "
            "brings 1/sqrt(d) into both", {"grad_Q": unscaled[0], "grad_K": unscaled[1]}),
        "dq_dk_swapped": ("dQ and dK are swapped: dQ = dS K / sqrt(d) (rows of dS are queries), "
                          "dK = dS^T Q / sqrt(d)", {"grad_Q": dK, "grad_K": dQ}),
        "dv_transposed": ("dV is transposed: dV = P^T dout has one row per key, shape (B, Lk, dv)",
                          {"grad_V": dV.swapaxes(1, 2).copy()}),
    }
    if causal:
        Pu, _ = ref.attention_parts(Q, K, V, False, dout)
        un = ref.attention_grads(Q, K, Pu, _softmax_backward(Pu, dP), dout)
        found["causal_mask_missing_in_backward"] = (
            "your backward ignores the causal mask: masked scores have probability 0 in the forward and "
            "must get no gradient; reuse the forward's masked P in the backward",
            {"grad_Q": un[0], "grad_K": un[1], "grad_V": un[2]})
    return found


ATTENTION = Task(
    grade_id="test_attention", title="attention_forward(Q, K, V, causal) and attention_backward(dout, cache)",
    points=4, answer_cells=("attention",), functions=("attention_forward", "attention_backward"),
    call="attention", make_cases=_attention_cases, reference=_attention_reference,
    variants=_attention_variants,
    checks=(_forward_check("attention output softmax(Q K^T / sqrt(d)) V",
                           hint="with causal=True, query i may only attend to keys j <= i: set the other "
                                "scores to -inf before the softmax."),
            _grad_check("dQ", ("grad_Q",), 2), _grad_check("dK", ("grad_K",), 2),
            _grad_check("dV", ("grad_V",), 1, hint="dV = P^T dout, with P the attention probabilities.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="attention")


# =============================================================================================
# Layer normalisation
# =============================================================================================
LAYERNORM_WORKED_X = np.array([[1.0, 3.0]])  # the notebook's worked case: D = 2, dx is almost 0
# 18k inputs in many short rows (the row-wise means cost most per entry there). Central
# differences: 37k forwards of 0.37 ms = 14 s against a limit of 1 s.
BIG_LAYERNORM = (4608, 4)


def _layernorm_case(rng, N, D, eps, x=None):
    """x with a different mean and spread per row (so the mean's and the variance's paths both
    matter), gamma around 1, beta and dout random. D >= 2: with D = 1 the layer normalises
    nothing (out = beta, dx = 0) and torch's own dx there is rounding noise, not a reference."""
    if x is None:
        x = rng.normal(size=(N, 1), scale=2.0) + rng.uniform(0.5, 2.0, size=(N, 1)) * rng.normal(size=(N, D))
    arrays = {"x": x, "gamma": rng.normal(1.0, 0.5, size=D), "beta": rng.normal(size=D),
              "dout": rng.normal(size=(N, D))}
    return Case(_probed(arrays, rng, ["x", "gamma", "beta"]), {"eps": float(eps)})


def _layernorm_cases(rng, hidden):
    # D = 2 only with eps >= 0.01: there dx is of order eps (the worked case), and a smaller eps
    # leaves it to rounding noise that no two summation orders agree on to RTOL
    if not hidden:
        return [_layernorm_case(rng, 1, 2, 0.01, x=LAYERNORM_WORKED_X.copy()),
                _layernorm_case(rng, 2, 3, 1e-5), _layernorm_case(rng, 4, 5, 0.1)]
    cases = [_layernorm_case(rng, 1, 5, 1e-5),      # one example
             _layernorm_case(rng, 4, 2, 0.1),       # two features
             _layernorm_case(rng, 3, 9, 1.0),       # eps as large as the variance
             _layernorm_case(rng, *BIG_LAYERNORM, 1e-5)]
    for _ in range(4):
        N, D = int(rng.integers(1, 9)), int(rng.integers(3, 13))
        cases.append(_layernorm_case(rng, N, D, float(rng.choice([1e-5, 1e-3, 0.1, 1.0]))))
    return cases


def _layernorm_reference(case):
    a = case.arrays
    return ref.layernorm(a["x"], a["gamma"], a["beta"], case.params["eps"], a["dout"])


def _layernorm_variants(case):
    a, eps = case.arrays, case.params["eps"]
    x, gamma, beta, dout = a["x"], a["gamma"], a["beta"], a["dout"]
    D = x.shape[1]
    variant = lambda **changed: ref.layernorm_variant(x, gamma, beta, eps, dout, **changed)
    right = variant()
    grads = lambda found, *keys: {k: found[k] for k in keys}
    return {
        "mean_path_missing": (
            "dx lacks the path through the mean: every x_j moves the row's mean, and the mean is "
            "subtracted from every entry, so each entry of dx also gets minus the row's average of "
            "dxhat (times the inverse standard deviation)",
            grads(variant(mean_path=False), "grad_x")),
        "variance_path_missing": (
            "dx lacks the path through the variance: every x_j also moves the row's variance, which "
            "divides every entry; that path subtracts xhat times the row's average of dxhat * xhat "
            "(times the inverse standard deviation)",
            grads(variant(variance_path=False), "grad_x")),
        "gamma_missing_in_dx": (
            "dx was computed from dout instead of dxhat = dout * gamma: the output is gamma * xhat + "
            "beta, so the gradient reaching xhat is scaled by gamma first",
            grads(ref.layernorm_variant(x, np.ones_like(gamma), beta, eps, dout), "grad_x")),
        "dgamma_dbeta_not_summed": (
            "dgamma and dbeta have one row per example: gamma and beta are shared by every row of "
            "the batch, so their gradients are summed over the batch axis, shape (D,)",
            {"grad_gamma": dout * ref.layernorm_xhat(x, eps), "grad_beta": dout.copy()}),
        "dgamma_dbeta_averaged": (
            "dgamma and dbeta are averaged over the batch: every example adds its own share, so "
            "sum over the batch axis (a mean of the loss, if any, is already in dout)",
            {"grad_gamma": right["grad_gamma"] / len(x), "grad_beta": right["grad_beta"] / len(x)}),
        **({} if D < 2 else {
            "unbiased_variance": (
                "your layer divides the squared deviations by D - 1 (the unbiased variance, "
                "np.var(..., ddof=1) or torch.var's default): layer norm uses the biased variance, "
                "the plain mean of the squared deviations over the D features",
                variant(ddof=1)),
            "unbiased_in_backward": (
                "the forward uses the biased variance (divided by D) but your backward divides by "
                "D - 1 where the variance's derivative appears: d var / d x_j = 2 (x_j - mean) / D",
                grads(variant(backward_divisor=D - 1), "grad_x"))}),
    }


LAYERNORM = Task(
    grade_id="test_layernorm", title="layernorm_forward(x, gamma, beta, eps) and layernorm_backward(dout, cache)",
    points=2, answer_cells=("layernorm",), functions=("layernorm_forward", "layernorm_backward"),
    call="layernorm", make_cases=_layernorm_cases, reference=_layernorm_reference,
    variants=_layernorm_variants,
    checks=(_forward_check("layer-norm output gamma * xhat + beta, each row normalised over its D features",
                           hint="xhat = (x - mean) / sqrt(var + eps), mean and (biased) var over each row."),
            _grad_check("dx: the direct path plus the mean's and the variance's", ("grad_x",), 2,
                        hint="x reaches xhat three ways: directly, through the mean and through the "
                             "variance; the three gradients add up."),
            _grad_check("dgamma and dbeta", ("grad_gamma", "grad_beta"), 1,
                        hint="gamma and beta are shared by every row: sum over the batch axis.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="layernorm")


QUESTIONS = choice_tasks(__file__, forbidden=NO_SHORTCUTS)  # questions.toml


ASSIGNMENT = Assignment(
    assignment_id="04_cnn_attention_backward",
    tasks=(CONV_FORWARD, CONV_BACKWARD, RELU, MAX_POOL, AVG_POOL, RESIDUAL, SOFTMAX, ATTENTION, LAYERNORM,
           *QUESTIONS),
)
