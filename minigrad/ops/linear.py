"""The affine layer as one op: y = x Wᵀ + b."""
from ..autograd import Function


class Linear(Function):
    """x: (..., in), weight: (out, in), bias: (out,) or None  ->  (..., out)."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features but "
                             f"the weight of shape {weight.shape} expects {weight.shape[1]}.")
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        grad_w = grad_b = None
        if ctx.needs_input_grad[1]:
            # Sum over every leading (batch) dim: each example contributes an outer product.
            grad_w = grad.reshape(-1, grad.shape[-1]).T @ x.reshape(-1, x.shape[-1])
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            # The bias was broadcast over the batch, so its gradient is summed over it.
            grad_b = grad.reshape(-1, grad.shape[-1]).sum(axis=0)
        return grad_x, grad_w, grad_b
