"""`Value`: a scalar that remembers how it was computed (the scalar chain-rule engine).

Each op computes its result and, next to it, the local derivatives of the result with
respect to each input. `backward()` multiplies them along every path (the chain rule)
and adds over paths that meet (forks).
"""
import math

from .autograd import topological_order


class Value:
    """One float in a computational graph: data, grad (d output / d this), and its parents."""

    __slots__ = ("data", "grad", "_prev", "_local_grads", "_op", "label")

    def __init__(self, data, _prev=(), _local_grads=(), _op="", label=""):
        if isinstance(data, Value):
            raise TypeError("Value(Value(...)): pass the number, not a Value.")
        self.data = float(data)
        self.grad = 0.0
        self._prev = _prev                # the Values this one was computed from
        self._local_grads = _local_grads  # d self / d each parent, evaluated in the forward pass
        self._op = _op
        self.label = label

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- ops: value, then local derivative with respect to each input ----------------------
    def __add__(self, other):
        other = as_value(other)
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = as_value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __pow__(self, other):
        if isinstance(other, Value):
            # d(a^b)/da = b a^(b-1);  d(a^b)/db = a^b ln a  (needs a > 0)
            out = self.data ** other.data
            d_base = other.data * self.data ** (other.data - 1)
            d_exp = out * math.log(self.data) if self.data > 0 else 0.0
            return Value(out, (self, other), (d_base, d_exp), "**")
        return Value(self.data ** other, (self,), (other * self.data ** (other - 1),), f"**{other}")

    def exp(self):
        out = math.exp(self.data)
        return Value(out, (self,), (out,), "exp")

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log of a non-positive Value ({self.data}).")
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self):
        x = self.data
        # Written so exp never overflows: for x < 0 use e^x / (1 + e^x).
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return Value(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self):
        return Value(max(self.data, 0.0), (self,), (float(self.data > 0),), "relu")

    # ---- the rest is built from the ops above ------------------------------------------------
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-as_value(other))

    def __truediv__(self, other):
        return self * as_value(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return as_value(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return as_value(other) / self

    def __rpow__(self, other):
        return as_value(other) ** self

    # ---- reverse mode ----------------------------------------------------------------------------
    def backward(self):
        """Add d self / d v into .grad of every Value v this one depends on.

        As in PyTorch, leaves (Values you created) accumulate across calls, so zero them
        between steps; intermediate Values hold this call's gradient only.
        """
        order = topological_order(self, lambda value: value._prev)
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in zip(node._prev, node._local_grads):
                parent.grad += local * node.grad  # += : paths that meet at a fork add up


def as_value(x):
    return x if isinstance(x, Value) else Value(x)
