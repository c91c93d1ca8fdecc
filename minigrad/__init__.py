"""minigrad: a small, readable reverse-mode autodiff library on NumPy with PyTorch's names.

    import minigrad as mg
    x = mg.Tensor(np.random.randn(3, 4), requires_grad=True)
    (x.tanh() * 2).sum().backward()      # x.grad now holds d/dx
"""
from .autograd import Function, enable_grad, is_grad_enabled, no_grad
from .engine import Value
from .tensor import Tensor, cat, ones, randn, stack, tensor, zeros
from . import functional, gradcheck, nn, optim
from .rng import manual_seed

import numpy as _np

# dtype names as in torch: mg.Tensor(x, dtype=mg.float64)
float32, float64, int64 = _np.float32, _np.float64, _np.int64

__all__ = ["Tensor", "Value", "Function", "no_grad", "enable_grad", "is_grad_enabled", "tensor",
           "cat", "stack", "zeros", "ones", "randn", "functional", "gradcheck", "nn", "optim",
           "manual_seed"]
