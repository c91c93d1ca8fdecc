"""Scaled dot-product attention as one op, with its backward written out.

    S = Q Kᵀ / sqrt(d) (+ mask),   P = softmax(S) over keys,   O = P V
"""
import numpy as np

from ..autograd import Function, unbroadcast


class ScaledDotProductAttention(Function):
    """q: (..., L, d), k: (..., S, d), v: (..., S, d_v) -> (..., L, d_v).

    mask_bias: None or an array broadcastable to (..., L, S) added to the scores
    (-inf where a query may not look).
    """

    @staticmethod
    def forward(ctx, q, k, v, mask_bias=None, scale=None):
        if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
            raise ValueError(f"scaled_dot_product_attention: q {q.shape}, k {k.shape}, v {v.shape} "
                             "need q and k to share the last dim and k and v the second-to-last.")
        scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
        scores = (q @ np.swapaxes(k, -1, -2)) * q.dtype.type(scale)
        if mask_bias is not None:
            scores = scores + mask_bias
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        ctx.scale, ctx.mask_shape = scale, np.shape(mask_bias)
        ctx.save_for_backward(q, k, v, probs)
        return probs @ v

    @staticmethod
    def backward(ctx, grad):
        q, k, v, probs = ctx.saved_tensors
        scale = q.dtype.type(ctx.scale)
        grad_v = np.swapaxes(probs, -1, -2) @ grad                  # O = P V  =>  dV = Pᵀ dO
        grad_probs = grad @ np.swapaxes(v, -1, -2)                  #          dP = dO Vᵀ
        # Softmax Jacobian per row, diag(p) - p pᵀ, applied without forming it:
        grad_scores = probs * (grad_probs - (grad_probs * probs).sum(axis=-1, keepdims=True))
        grad_q = (grad_scores @ k) * scale                          # S = Q Kᵀ s
        grad_k = (np.swapaxes(grad_scores, -1, -2) @ q) * scale
        # The mask is added to the scores, so a learned float mask gets the scores' gradient.
        grad_mask = (unbroadcast(grad_scores, ctx.mask_shape)
                     if len(ctx.needs_input_grad) > 3 and ctx.needs_input_grad[3] else None)
        # Batch dims may have been broadcast (e.g. one k, v shared by every head).
        return (unbroadcast(grad_q, q.shape), unbroadcast(grad_k, k.shape),
                unbroadcast(grad_v, v.shape), grad_mask)
