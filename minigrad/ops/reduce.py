"""Reductions: the gradient of a sum is copied back to every element that was summed."""
import numpy as np

from ..autograd import Function


def normalize_dims(dim, ndim):
    """`dim` (None, int or tuple, negatives allowed) as a sorted tuple of axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dimension {d} is out of range for a tensor with {ndim} dimensions")
        out.append(d % ndim if ndim else 0)
    return tuple(sorted(out))


def restore_reduced_dims(grad, axes, keepdim):
    """Put back the size-1 axes a reduction removed, so `grad` broadcasts against the input."""
    return grad if keepdim or not axes else np.expand_dims(grad, axes)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, normalize_dims(dim, x.ndim), keepdim
        return np.sum(x, axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        grad = restore_reduced_dims(grad, ctx.axes, ctx.keepdim)
        return np.broadcast_to(grad, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, normalize_dims(dim, x.ndim), keepdim
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes])) if x.ndim else 1
        return np.mean(x, axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        grad = restore_reduced_dims(grad, ctx.axes, ctx.keepdim)
        return np.broadcast_to(grad / ctx.count, ctx.shape)


class Max(Function):
    """Max values over `dim`; the gradient goes to the element that won.

    Over all elements (dim=None) ties share the gradient equally, as torch.max() does;
    along a dim the first maximum takes it, as torch.max(x, dim) does.
    """

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.keepdim = keepdim
        if dim is None:
            out = np.max(x)
            ctx.axis = None
            ctx.save_for_backward(x == out)
            return out
        if not isinstance(dim, (int, np.integer)):  # else only its first dim would be reduced
            raise TypeError(f"max: dim must be one int, as in torch.max, got {dim!r}.")
        ctx.axis = normalize_dims(dim, x.ndim)[0]
        index = np.argmax(x, axis=ctx.axis)
        ctx.shape = x.shape
        ctx.save_for_backward(np.expand_dims(index, ctx.axis))
        return np.max(x, axis=ctx.axis, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        if ctx.axis is None:
            (winners,) = ctx.saved_tensors
            return grad * winners / winners.sum()
        (index,) = ctx.saved_tensors
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.axis)
        out = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(out, index, grad, axis=ctx.axis)
        return out
