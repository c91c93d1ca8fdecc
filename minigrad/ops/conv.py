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


class Conv2d(Function):
    """x: (N, C, H, W), weight: (F, C, kh, kw), bias: (F,) -> (N, F, OH, OW)."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=1, padding=0):
        if x.ndim != 4:
            raise ValueError(f"conv2d expects input of shape (N, C, H, W), got {x.ndim} dimensions "
                             f"{x.shape}; add a batch dimension with x.reshape(1, *x.shape) "
                             "for a single image.")
        if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
            raise ValueError(f"conv2d: weight of shape {weight.shape} does not match input of "
                             f"shape {x.shape}: expected (out_channels, {x.shape[1]}, kh, kw).")
        stride, padding = pair(stride), pair(padding)
        xp = pad_hw(x, padding)
        if xp.shape[2] < weight.shape[2] or xp.shape[3] < weight.shape[3]:
            raise ValueError(f"conv2d: kernel {weight.shape[2:]} is larger than the padded input "
                             f"{xp.shape[2:]}.")
        cols = windows(xp, weight.shape[2:], stride)            # (N, C, OH, OW, kh, kw)
        out = np.einsum("nchwij,fcij->nfhw", cols, weight, optimize=True)
        ctx.stride, ctx.padding, ctx.padded_shape = stride, padding, xp.shape
        ctx.save_for_backward(cols, weight)
        return out if bias is None else out + bias[None, :, None, None]

    @staticmethod
    def backward(ctx, grad):
        cols, weight = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            # Each window's gradient is the kernel weighted by the output gradients it fed.
            window_grads = np.einsum("nfhw,fcij->nchwij", grad, weight, optimize=True)
            grad_x = unpad_hw(scatter_windows(window_grads, ctx.padded_shape, ctx.stride),
                              ctx.padding)
        if ctx.needs_input_grad[1]:
            # δK = input windows correlated with δ(output), summed over batch and positions.
            grad_w = np.einsum("nfhw,nchwij->fcij", grad, cols, optimize=True)
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            grad_b = grad.sum(axis=(0, 2, 3))
        return grad_x, grad_w, grad_b
