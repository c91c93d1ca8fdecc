"""Functions with torch.nn.functional's names and signatures (NCHW layout)."""
import numpy as np

from . import rng
from .ops import attention, conv, linear as linear_op, normalization, pool, softmax as softmax_ops
from .tensor import Tensor


def relu(x):
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def softmax(x, dim=-1):
    return softmax_ops.Softmax.apply(x, dim=dim)


def log_softmax(x, dim=-1):
    return softmax_ops.LogSoftmax.apply(x, dim=dim)


def logsumexp(x, dim, keepdim=False):
    return softmax_ops.LogSumExp.apply(x, dim=dim, keepdim=keepdim)


def cross_entropy(logits, targets, reduction="mean"):
    """logits: (N, C) scores; targets: (N,) integer classes. Mean of -log p[target]."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}.")
    return softmax_ops.CrossEntropy.apply(logits, _as_array(targets), reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    if input.shape != tuple(np.shape(_as_array(target))):
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape "
                         f"{np.shape(_as_array(target))} differ.")
    squared = (input - target) ** 2
    if reduction == "none":
        return squared
    return squared.mean() if reduction == "mean" else squared.sum()


def linear(x, weight, bias=None):
    """x: (..., in), weight: (out, in), bias: (out,) -> (..., out)."""
    return linear_op.Linear.apply(x, weight, bias)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """x: (N, C, H, W), weight: (F, C, kh, kw), bias: (F,) -> (N, F, OH, OW)."""
    return conv.Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return pool.MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    return pool.AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride, padding=padding)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    if x.shape[x.ndim - len(normalized_shape):] != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with "
                         f"normalized_shape {normalized_shape}.")
    return normalization.LayerNorm.apply(x, weight, bias, ndim=len(normalized_shape), eps=eps)


def dropout(x, p=0.5, training=True, generator=None):
    """Inverted dropout: identity when not training or p == 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}.")
    if not training or p == 0.0:
        return x
    return normalization.Dropout.apply(x, p=p, rng=generator or rng.dropout)


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """q: (..., L, d), k: (..., S, d), v: (..., S, d_v) -> (..., L, d_v).

    attn_mask: boolean (True = may attend, as in torch) or float (added to the scores).
    is_causal: query i attends to keys 0..i only.
    """
    length, source = q.shape[-2], k.shape[-2]
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both.")
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = _as_array(attn_mask)
        if mask.dtype == bool:
            bias = np.where(mask, 0.0, -np.inf).astype(q.dtype)
        elif isinstance(attn_mask, Tensor) and attn_mask.requires_grad:
            bias = attn_mask  # a learned bias (e.g. relative positions): it gets a gradient
        else:
            bias = mask.astype(q.dtype)
    return attention.ScaledDotProductAttention.apply(q, k, v, bias, scale=scale)


def _as_array(value):
    return value.data if isinstance(value, Tensor) else np.asarray(value)


__all__ = [name for name in dir() if not name.startswith("_") and name not in
           ("np", "Tensor", "attention", "conv", "linear_op", "normalization", "pool",
            "softmax_ops")]
