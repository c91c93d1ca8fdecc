"""Broadcasting arithmetic and matrix multiplication."""
import numpy as np

from ..autograd import Function, unbroadcast


def broadcast_shape(a, b, op):
    """The shape numpy broadcasting gives, or an error naming both shapes."""
    try:
        return np.broadcast_shapes(np.shape(a), np.shape(b))
    except ValueError:
        raise ValueError(
            f"{op}: shapes {tuple(np.shape(a))} and {tuple(np.shape(b))} cannot be broadcast "
            "together (trailing dimensions must be equal or 1).") from None


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        broadcast_shape(a, b, "add")
        ctx.shapes = np.shape(a), np.shape(b)
        return a + b

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        broadcast_shape(a, b, "sub")
        ctx.shapes = np.shape(a), np.shape(b)
        return a - b

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        return unbroadcast(grad, a_shape), unbroadcast(-grad, b_shape)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        broadcast_shape(a, b, "mul")
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # d(ab)/da = b: each input's gradient is the upstream gradient times the other input.
        grad_a = unbroadcast(grad * b, np.shape(a)) if ctx.needs_input_grad[0] else None
        grad_b = unbroadcast(grad * a, np.shape(b)) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        broadcast_shape(a, b, "div")
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        grad_a = unbroadcast(grad / b, np.shape(a)) if ctx.needs_input_grad[0] else None
        # d(a/b)/db = -a / b²
        grad_b = unbroadcast(-grad * a / (b * b), np.shape(b)) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        broadcast_shape(a, b, "pow")
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            # d(a^b)/da = b a^(b-1), and 0 where b = 0 (a^0 is constant, even at a = 0 where
            # 0·0^(-1) would give nan), as torch defines it.
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_a = unbroadcast(np.where(b == 0, 0.0, grad * b * a ** (b - 1)), np.shape(a))
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b log a; only defined for a > 0 (torch gives nan/inf likewise),
            # except that torch takes 0 where a = 0 and b >= 0 (instead of 0·log 0 = nan).
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = unbroadcast(np.where((a == 0) & (b >= 0), 0.0, grad * out * np.log(a)),
                                     np.shape(b))
        return grad_a, grad_b


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class MatMul(Function):
    """a @ b with numpy/torch semantics: 1-D operands are promoted, leading dims broadcast."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes "
                             f"{a.shape} and {b.shape}.")
        k_a = a.shape[-1]
        k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last dimension of "
                f"the first ({k_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} "
                f"dimension of the second ({k_b}).")
        try:
            out = a @ b
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of shapes {a.shape} and {b.shape} "
                             "cannot be broadcast together.") from None
        ctx.save_for_backward(a, b)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # Work with matrices: a vector a is a row (1, K), a vector b a column (K, 1).
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # Restore the dims the promotion removed from the output; the column dim first, so that
        # a 1-D @ 1-D dot product (a 0-d grad) becomes (1,) and then (1, 1).
        if b.ndim == 1:
            grad = np.expand_dims(grad, -1)
        if a.ndim == 1:
            grad = np.expand_dims(grad, -2)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            # Y = A B  =>  dA = dY Bᵀ
            grad_a = unbroadcast(grad @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            # Y = A B  =>  dB = Aᵀ dY
            grad_b = unbroadcast(np.swapaxes(a2, -1, -2) @ grad, b2.shape).reshape(b.shape)
        return grad_a, grad_b
