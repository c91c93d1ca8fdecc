"""Layer normalisation and dropout."""
import numpy as np

from ..autograd import Function


class LayerNorm(Function):
    """Normalise over the trailing `ndim` dims, then scale by weight and shift by bias.

    x: (..., *normalized_shape); weight, bias: normalized_shape or None.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, ndim, eps):
        axes = tuple(range(x.ndim - ndim, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
        x_hat = centred * inv_std
        ctx.axes = axes
        ctx.save_for_backward(x_hat, inv_std, weight)
        out = x_hat if weight is None else x_hat * weight
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        x_hat, inv_std, weight = ctx.saved_tensors
        axes = ctx.axes
        batch_axes = tuple(range(grad.ndim - len(axes)))
        grad_w = (grad * x_hat).sum(axis=batch_axes) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(axis=batch_axes) if ctx.needs_input_grad[2] else None
        grad_x = None
        if ctx.needs_input_grad[0]:
            g = grad if weight is None else grad * weight
            # x_hat depends on x directly and through the mean and variance; projecting out
            # the mean of g and its component along x_hat accounts for both.
            grad_x = inv_std * (g - g.mean(axis=axes, keepdims=True)
                                - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
        return grad_x, grad_w, grad_b


class Dropout(Function):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""

    @staticmethod
    def forward(ctx, x, p, rng):
        keep = (rng.random(x.shape) >= p).astype(x.dtype)
        if p < 1.0:  # p = 1 keeps nothing (zeros, as torch gives): nothing to rescale
            keep /= 1.0 - p
        ctx.save_for_backward(keep)
        return x * keep

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        return grad * keep
