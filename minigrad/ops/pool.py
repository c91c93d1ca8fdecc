"""Max and average pooling over k × k windows, NCHW, vectorised with the conv window view."""
import numpy as np

from ..autograd import Function
from .conv import pad_hw, pair, scatter_windows, unpad_hw, windows


def pool_arguments(x, kernel_size, stride, padding, name):
    if x.ndim != 4:
        raise ValueError(f"{name} expects input of shape (N, C, H, W), got shape {x.shape}.")
    kernel = pair(kernel_size)
    stride = kernel if stride is None else pair(stride)
    padding = pair(padding)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"{name}: padding {padding} should be at most half the kernel {kernel}.")
    return kernel, stride, padding


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0):
        kernel, stride, padding = pool_arguments(x, kernel_size, stride, padding, "max_pool2d")
        xp = pad_hw(x, padding, value=-np.inf)
        cols = windows(xp, kernel, stride)                       # (N, C, OH, OW, kh, kw)
        flat = cols.reshape(*cols.shape[:4], -1)
        winner = np.argmax(flat, axis=-1)                        # first max wins, as in torch
        ctx.shape, ctx.kernel, ctx.stride, ctx.padding = xp.shape, kernel, stride, padding
        ctx.save_for_backward(winner)
        return np.take_along_axis(flat, winner[..., None], axis=-1)[..., 0]

    @staticmethod
    def backward(ctx, grad):
        (winner,) = ctx.saved_tensors
        kh, kw = ctx.kernel
        # Only the winning input of each window receives that window's gradient.
        onehot = winner[..., None] == np.arange(kh * kw)
        window_grads = (onehot * grad[..., None]).reshape(*grad.shape, kh, kw)
        return unpad_hw(scatter_windows(window_grads, ctx.shape, ctx.stride), ctx.padding)


class AvgPool2d(Function):
    """Average pooling; zero padding counts in the average (torch's count_include_pad=True)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride=None, padding=0):
        kernel, stride, padding = pool_arguments(x, kernel_size, stride, padding, "avg_pool2d")
        xp = pad_hw(x, padding)
        ctx.shape, ctx.kernel, ctx.stride, ctx.padding = xp.shape, kernel, stride, padding
        return windows(xp, kernel, stride).mean(axis=(-2, -1))

    @staticmethod
    def backward(ctx, grad):
        kh, kw = ctx.kernel
        # Every input in a window gets an equal 1/(kh·kw) share of that window's gradient.
        share = np.broadcast_to((grad / (kh * kw))[..., None, None], (*grad.shape, kh, kw))
        return unpad_hw(scatter_windows(share, ctx.shape, ctx.stride), ctx.padding)
