"""Composite blocks: a residual block and multi-head self-attention."""
import numpy as np

from .. import functional as F
from .layers import Conv2d, Linear
from .module import Module


class ResidualBlock(Module):
    """z = conv2(relu(conv1(x))) + x: the skip connection hands the upstream gradient
    straight to x, added to what flows back through the convolutions.

    Both convolutions keep the shape (3×3, padding 1, `channels` in and out).
    """

    def __init__(self, channels, kernel_size=3, dtype=np.float32):
        super().__init__()
        padding = kernel_size // 2
        self.conv1 = Conv2d(channels, channels, kernel_size, padding=padding, dtype=dtype)
        self.conv2 = Conv2d(channels, channels, kernel_size, padding=padding, dtype=dtype)

    def forward(self, x):
        return self.conv2(F.relu(self.conv1(x))) + x


class MultiheadSelfAttention(Module):
    """x: (N, L, embed_dim) -> (N, L, embed_dim), `num_heads` heads of size embed_dim/num_heads.

    Same parameters as torch.nn.MultiheadAttention used as self-attention with
    batch_first=True: in_proj (3·E, E) for q, k, v stacked, and out_proj (E, E).
    attn_mask follows F.scaled_dot_product_attention: a boolean mask is True where a query MAY
    attend, the opposite of nn.MultiheadAttention's boolean attn_mask (True = masked out).
    """

    def __init__(self, embed_dim, num_heads, bias=True, dtype=np.float32):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}.")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.in_proj = Linear(embed_dim, 3 * embed_dim, bias=bias, dtype=dtype)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)

    def forward(self, x, attn_mask=None, is_causal=False):
        n, length, e = x.shape
        head = e // self.num_heads
        # (N, L, 3E) -> (3, N, heads, L, head_dim): one projection, then split q, k, v.
        qkv = self.in_proj(x).reshape(n, length, 3, self.num_heads, head).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal)
        return self.out_proj(out.permute(0, 2, 1, 3).reshape(n, length, e))

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
