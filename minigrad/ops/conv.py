"""2-D convolution (really cross-correlation, as in every DL library), NCHW layout.

The forward pass views the padded input as a grid of k_h × k_w windows (no copy, via
stride tricks) and contracts them with the kernel: one matrix product, no loop over pixels.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd import Function


def pair(v):
    return (v, v) if isinstance(v, (int, np.integer)) else tuple(v)


def pad_hw(x, padding, value=0.0):
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def windows(x, kernel, stride):
    """(N, C, H, W) -> (N, C, OH, OW, kh, kw): a view of every window the kernel visits."""
    sh, sw = stride
    return sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::sh, ::sw]


def scatter_windows(window_grads, padded_shape, stride):
    """Adjoint of `windows`: add each window's gradient back onto the pixels it covered.

    window_grads: (N, C, OH, OW, kh, kw). Loops over the kh·kw kernel offsets only; each
    offset is one strided slice covering every window at once.
    """
    sh, sw = stride
    _, _, oh, ow, kh, kw = window_grads.shape
    out = np.zeros(padded_shape, dtype=window_grads.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += window_grads[:, :, :, :, i, j]
    return out


def unpad_hw(x, padding):
    ph, pw = padding
    return x[:, :, ph:x.shape[2] - ph, pw:x.shape[3] - pw]


def channels_first_padded(x, padding):
    """(N, C, H, W) -> (C, N, H + 2ph, W + 2pw), zero-padded: the layout im2col reads from."""
    n, c, h, w = x.shape
    ph, pw = padding
    out = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x.transpose(1, 0, 2, 3)
    return out


def im2col(xp, kernel, stride, out_hw):
    """Copy every window into one matrix: (kh·kw·C, N·OH·OW), row (i, j, c) holds input channel
    c shifted by kernel offset (i, j). One strided slice per kernel offset, none per pixel."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    c, n = xp.shape[:2]
    cols = np.empty((kh, kw, c, n, oh, ow), dtype=xp.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[i, j] = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
    return cols.reshape(kh * kw * c, n * oh * ow)


class Conv2d(Function):
    """x: (N, C, H, W), weight: (F, C, kh, kw), bias: (F,) -> (N, F, OH, OW).

    With the input unrolled into columns (im2col) the convolution is one matrix product:
    out = W_mat @ cols, W_mat: (F, kh·kw·C). Backward is then the matmul rule twice.
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0):
        if x.ndim != 4:
            raise ValueError(f"conv2d expects input of shape (N, C, H, W), got {x.ndim} dimensions "
                             f"{x.shape}; add a batch dimension with x.reshape(1, *x.shape) "
                             "for a single image.")
        if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
            raise ValueError(f"conv2d: weight of shape {weight.shape} does not match input of "
                             f"shape {x.shape}: expected (out_channels, {x.shape[1]}, kh, kw).")
        (sh, sw), padding = pair(stride), pair(padding)
        n, (f, _, kh, kw) = x.shape[0], weight.shape
        xp = channels_first_padded(x, padding)
        if xp.shape[2] < kh or xp.shape[3] < kw:
            raise ValueError(f"conv2d: kernel {(kh, kw)} is larger than the padded input "
                             f"{xp.shape[2:]}.")
        oh, ow = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
        cols = im2col(xp, (kh, kw), (sh, sw), (oh, ow))
        w_mat = weight.transpose(0, 2, 3, 1).reshape(f, -1)          # rows ordered (i, j, c)
        out = (w_mat @ cols).reshape(f, n, oh, ow).transpose(1, 0, 2, 3)
        ctx.geometry = (sh, sw), padding, xp.shape, (oh, ow)
        ctx.save_for_backward(cols, weight)  # the unrolled input is the activation memory
        return out if bias is None else out + bias[None, :, None, None]

    @staticmethod
    def backward(ctx, grad):
        cols, weight = ctx.saved_tensors
        (sh, sw), (ph, pw), padded_shape, (oh, ow) = ctx.geometry
        f, c, kh, kw = weight.shape
        grad_mat = np.ascontiguousarray(grad.transpose(1, 0, 2, 3)).reshape(f, -1)  # (F, N·OH·OW)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            # cols = im2col(x) and out = W_mat @ cols, so d cols = W_matᵀ @ d out; im2col copied
            # each pixel into several columns, so those column gradients add back onto it.
            # Done per kernel offset (the same loop as im2col) to keep temporaries small.
            grad_xp = np.zeros(padded_shape, dtype=grad.dtype)
            for i in range(kh):
                for j in range(kw):
                    grad_cols = (weight[:, :, i, j].T @ grad_mat).reshape(c, -1, oh, ow)
                    grad_xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw] += grad_cols
            h, w = padded_shape[2] - 2 * ph, padded_shape[3] - 2 * pw
            grad_x = grad_xp[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)
        if ctx.needs_input_grad[1]:
            # δK = δout correlated with the input windows: the matmul rule dW = dY · colsᵀ.
            grad_w = (grad_mat @ cols.T).reshape(f, kh, kw, c).transpose(0, 3, 1, 2)
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b
