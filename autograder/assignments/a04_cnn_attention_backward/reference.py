"""Trusted computations for assignment 04: torch references and the classic wrong answers.

References are torch autograd in float64 on the same computation the notebook asks for
(``conv2d``, ``relu``, ``max_pool2d``, ``avg_pool2d``, ``scaled_dot_product_attention``,
``softmax``, ``layer_norm``). Wrong answers (the spec's ``variants``) are NumPy re-enactments of a mistake,
vectorised over the batch so that even the large hidden cases cost milliseconds.
"""
import numpy as np


def _t(array, grad=False):
    import torch

    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _np(tensor):
    return tensor.detach().numpy().copy()


# ---- torch references -------------------------------------------------------------------------
def conv2d(x, w, b, stride, padding, dout=None):
    """{"out", and with dout "grad_x", "grad_w", "grad_b"} of torch's conv2d (a correlation)."""
    import torch

    tx, tw, tb = _t(x, True), _t(w, True), _t(b, True)
    out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
    result = {"out": _np(out)}
    if dout is not None:
        out.backward(_t(dout))
        result.update(grad_x=_np(tx.grad), grad_w=_np(tw.grad), grad_b=_np(tb.grad))
    return result


def relu(x, dout):
    import torch

    tx = _t(x, True)
    out = torch.relu(tx)
    out.backward(_t(dout))
    return {"out": _np(out), "grad_x": _np(tx.grad)}


def pool(kind, x, kernel_size, stride, dout):
    """max_pool2d (ties: the first maximum of a window in row-major order) or avg_pool2d."""
    import torch

    tx = _t(x, True)
    fn = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    out = fn(tx, kernel_size, stride)
    out.backward(_t(dout))
    return {"out": _np(out), "grad_x": _np(tx.grad)}


def residual(x, w1, w2, dout):
    """z = conv(relu(conv(x, w1)), w2) + x with 'same' convolutions, no bias."""
    import torch

    tx, t1, t2 = _t(x, True), _t(w1, True), _t(w2, True)
    conv = torch.nn.functional.conv2d
    z = conv(torch.relu(conv(tx, t1, padding=w1.shape[2] // 2)), t2, padding=w2.shape[2] // 2) + tx
    z.backward(_t(dout))
    return {"out": _np(z), "grad_x": _np(tx.grad), "grad_w1": _np(t1.grad), "grad_w2": _np(t2.grad)}


def softmax_jacobian(s):
    """d softmax(z) / dz at the logits z = log s (softmax is shift-invariant, so any logits of s)."""
    import torch

    jac = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, dim=0), _t(np.log(s)))
    return _np(jac)


def lecture_attention(x, y, dout):
    """s_i = softmax(x_i y) for every row i; gradients of sum(dout * s) for x and y."""
    import torch

    tx, ty = _t(x, True), _t(y, True)
    s = torch.softmax(torch.outer(tx, ty), dim=1)
    s.backward(_t(dout))
    return {"grad_x": _np(tx.grad), "grad_y": _np(ty.grad)}


def attention(Q, K, V, causal, dout):
    import torch

    tq, tk, tv = _t(Q, True), _t(K, True), _t(V, True)
    out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=bool(causal))
    out.backward(_t(dout))
    return {"out": _np(out), "grad_Q": _np(tq.grad), "grad_K": _np(tk.grad), "grad_V": _np(tv.grad)}


def layernorm(x, gamma, beta, eps, dout=None):
    """{"out", and with dout "grad_x", "grad_gamma", "grad_beta"} of torch's layer_norm over the
    last axis. x: (N, D), gamma and beta: (D,)."""
    import torch

    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    out = torch.nn.functional.layer_norm(tx, (x.shape[1],), tg, tb, float(eps))
    result = {"out": _np(out)}
    if dout is not None:
        out.backward(_t(dout))
        result.update(grad_x=_np(tx.grad), grad_gamma=_np(tg.grad), grad_beta=_np(tb.grad))
    return result


# ---- NumPy: the pieces wrong answers are made of ----------------------------------------------
def pad(x, padding):
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def windows(x, kh, kw, stride):
    """(N, C, Ho, Wo, kh, kw) view of every window (x already padded)."""
    N, C, H, W = x.shape
    Ho, Wo = (H - kh) // stride + 1, (W - kw) // stride + 1
    sN, sC, sH, sW = x.strides
    return np.lib.stride_tricks.as_strided(x, (N, C, Ho, Wo, kh, kw),
                                           (sN, sC, sH * stride, sW * stride, sH, sW), writeable=False)


def conv_out(x, w, b, stride, padding):
    cols = windows(pad(x, padding), w.shape[2], w.shape[3], stride)
    return np.einsum("ncijpq,fcpq->nfij", cols, w, optimize=True) + b[None, :, None, None]


def conv_dx_padded(dout, w, padded_shape, stride):
    """dx of the padded input: every dout[n, f, i, j] goes back, weighted by w[f, :, p, q], to the
    input position (i * stride + p, j * stride + q) it was computed from."""
    N, F, Ho, Wo = dout.shape
    _, C, kh, kw = w.shape
    dx = np.zeros((N, C) + tuple(padded_shape))
    for p in range(kh):
        for q in range(kw):
            dx[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                np.einsum("nfij,fc->ncij", dout, w[:, :, p, q], optimize=True)
    return dx


def conv_dw(x_padded, dout, kh, kw, stride):
    return np.einsum("ncijpq,nfij->fcpq", windows(x_padded, kh, kw, stride), dout, optimize=True)


def window_argmax(x, k, stride, transpose=False):
    """(rows, cols) of each window's first maximum, each (N, C, Ho, Wo); transpose=True gives the
    position mirrored inside the window (an argmax over the window's axes in the wrong order)."""
    win = windows(x, k, k, stride)
    N, C, Ho, Wo = win.shape[:4]
    p, q = np.divmod(win.reshape(N, C, Ho, Wo, k * k).argmax(axis=-1), k)
    if transpose:
        p, q = q, p
    rows = np.arange(Ho)[None, None, :, None] * stride + p
    cols = np.arange(Wo)[None, None, None, :] * stride + q
    return rows, cols


def scatter_add(shape, rows, cols, values):
    N, C = shape[:2]
    out = np.zeros(shape)
    n = np.arange(N)[:, None, None, None]
    c = np.arange(C)[None, :, None, None]
    np.add.at(out, (n, c, rows, cols), values)
    return out


def spread(shape, k, stride, per_window, overwrite=False):
    """Each window's (N, C, k, k) share per_window(i, j) added to (or, with overwrite, assigned
    over) its window of an array of `shape`, windows visited in row-major order."""
    out = np.zeros(shape)
    Ho, Wo = (shape[2] - k) // stride + 1, (shape[3] - k) // stride + 1
    for i in range(Ho):
        for j in range(Wo):
            block = out[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            if overwrite:
                block[...] = per_window(i, j)
            else:
                block += per_window(i, j)
    return out


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention_parts(Q, K, V, causal, dout):
    """(P, dP) of softmax(Q K^T / sqrt d) V: probabilities and the gradient reaching them."""
    d = Q.shape[-1]
    scores = Q @ K.swapaxes(1, 2) / np.sqrt(d)
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[1:], dtype=bool)), scores, -np.inf)
    return softmax_rows(scores), dout @ V.swapaxes(1, 2)


def attention_grads(Q, K, P, dS, dout, scale=True):
    """dQ, dK, dV from the probabilities P and the gradient dS of the scores."""
    factor = 1.0 / np.sqrt(Q.shape[-1]) if scale else 1.0
    return dS @ K * factor, dS.swapaxes(1, 2) @ Q * factor, P.swapaxes(1, 2) @ dout


def layernorm_variant(x, gamma, beta, eps, dout, ddof=0, mean_path=True, variance_path=True,
                      backward_divisor=None):
    """Layer norm with one thing changed, as {"out", "grad_x", "grad_gamma", "grad_beta"}.

    ddof=1: the unbiased variance (divided by D - 1) in the forward, and a backward consistent
    with it; mean_path / variance_path=False: dx without that path; backward_divisor: what the
    backward divides by where the variance's derivative has D (the forward keeps ddof)."""
    D = x.shape[1]
    xhat, inv_std = _normalised(x, eps, ddof)
    g = dout * gamma
    dx = g.copy()
    if mean_path:
        dx -= g.mean(axis=1, keepdims=True)
    if variance_path:
        dx -= xhat * (g * xhat).sum(axis=1, keepdims=True) / (backward_divisor or (D - ddof))
    return {"out": gamma * xhat + beta, "grad_x": dx * inv_std,
            "grad_gamma": (dout * xhat).sum(axis=0), "grad_beta": dout.sum(axis=0)}


def _normalised(x, eps, ddof=0):
    """(xhat, 1/std) of each row of x (N, D): xhat (N, D), 1/std (N, 1)."""
    d = x - x.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt((d * d).sum(axis=1, keepdims=True) / (x.shape[1] - ddof) + eps)
    return d * inv_std, inv_std


def layernorm_xhat(x, eps):
    """Each row of x (N, D) normalised with the biased variance: (N, D)."""
    return _normalised(x, eps)[0]
