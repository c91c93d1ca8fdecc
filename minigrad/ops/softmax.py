"""Softmax, log-softmax, log-sum-exp and cross-entropy, all shifted by the max for stability."""
import numpy as np

from ..autograd import Function


def stable_logsumexp(x, axis):
    """log Σ exp(x) along `axis` (kept), computed as m + log Σ exp(x - m) so nothing overflows."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        shifted = np.exp(x - np.max(x, axis=dim, keepdims=True))
        out = shifted / shifted.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        # The Jacobian is diag(p) - p pᵀ; applied to grad without building it:
        # dx = p * (grad - <grad, p>)
        return p * (grad - np.sum(grad * p, axis=ctx.dim, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        out = x - stable_logsumexp(x, dim)
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        # d log p_i / d x_j = [i = j] - p_j
        return grad - np.exp(out) * np.sum(grad, axis=ctx.dim, keepdims=True)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, dim, keepdim=False):
        out = stable_logsumexp(x, dim)
        ctx.dim, ctx.keepdim = dim, keepdim
        ctx.save_for_backward(x, out)
        return out if keepdim else np.squeeze(out, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.dim)
        return grad * np.exp(x - out)  # the gradient of logsumexp is the softmax


class CrossEntropy(Function):
    """Mean (or sum) over the batch of -log softmax(logits)[target].

    logits: (N, C) floats; targets: (N,) integer class indices.
    """

    @staticmethod
    def forward(ctx, logits, targets, reduction="mean"):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy expects logits of shape (N, C), got {logits.shape}.")
        targets = np.asarray(targets)
        if targets.shape != logits.shape[:1] or not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(
                f"cross_entropy expects integer class targets of shape ({logits.shape[0]},), got "
                f"{targets.dtype} of shape {targets.shape}.")
        if targets.size and (targets.min() < 0 or targets.max() >= logits.shape[1]):
            raise ValueError(f"cross_entropy: targets must lie in [0, {logits.shape[1]}), "
                             f"got values from {targets.min()} to {targets.max()}.")
        log_probs = logits - stable_logsumexp(logits, 1)
        losses = -log_probs[np.arange(len(targets)), targets]
        ctx.reduction, ctx.targets = reduction, targets
        ctx.save_for_backward(log_probs)
        if reduction == "none":
            return losses
        total = losses.sum()
        return total / len(targets) if reduction == "mean" else total

    @staticmethod
    def backward(ctx, grad):
        (log_probs,) = ctx.saved_tensors
        # d loss_n / d logits_n = softmax(logits_n) - onehot(target_n): "yp - y".
        dlogits = np.exp(log_probs)
        dlogits[np.arange(len(ctx.targets)), ctx.targets] -= 1
        if ctx.reduction == "none":
            return dlogits * grad[:, None], None
        if ctx.reduction == "mean":
            dlogits /= len(ctx.targets)
        return dlogits * grad, None
