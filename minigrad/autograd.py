"""The reverse-mode machinery shared by every Tensor op.

An op is a subclass of `Function` with two static methods written side by side:

    forward(ctx, *arrays, **options) -> ndarray       # computes the output, saves what backward needs
    backward(ctx, grad_output)       -> tuple of grads # one gradient (or None) per Tensor input

`ctx.save_for_backward(...)` is the explicit list of what the graph keeps alive between the
forward and the backward pass: that memory is the price of reverse mode.

This module sits below the Tensor type and never imports tensor.py (as in HIPS autograd, the
machinery comes first and the array type plugs into it): tensor.py imports the ops, the ops
import this module, and tensor.py tells it which type to wrap outputs in, set_tensor_type(Tensor).
"""
import contextlib
import threading

import numpy as np

_state = threading.local()


def is_grad_enabled():
    return getattr(_state, "grad_enabled", True)


@contextlib.contextmanager
def no_grad():
    """Inside this block ops record no graph (evaluation, optimiser updates)."""
    previous = is_grad_enabled()
    _state.grad_enabled = False
    try:
        yield
    finally:
        _state.grad_enabled = previous


@contextlib.contextmanager
def enable_grad():
    previous = is_grad_enabled()
    _state.grad_enabled = True
    try:
        yield
    finally:
        _state.grad_enabled = previous


def unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, so it has `shape`.

    If y = x + b with x: (N, D) and b: (D,), b was used N times, so its gradient is the
    sum of the N row gradients. Every broadcasting op calls this one helper.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class Context:
    """What one op keeps from its forward pass for its backward pass."""

    __slots__ = ("saved", "needs_input_grad", "__dict__")

    def __init__(self):
        self.saved = ()
        self.needs_input_grad = ()

    def save_for_backward(self, *arrays):
        self.saved = arrays

    @property
    def saved_tensors(self):
        if self.saved is None:
            raise RuntimeError(
                "Trying to backward through the graph a second time: its saved values were freed "
                "after the first backward(). Call backward(retain_graph=True) the first time if "
                "you need to go through the same graph again, or run the forward pass again.")
        return self.saved


_tensor_type = None  # the class Function.apply wraps its outputs in; tensor.py sets it


def set_tensor_type(cls):
    """Make `cls` the type Function.apply recognises as inputs and wraps its outputs in.

    tensor.py calls this once, right after defining Tensor. Importing Tensor here instead would
    make a circle (tensor -> ops -> autograd -> tensor); a registration keeps the arrows one way.
    """
    global _tensor_type
    _tensor_type = cls


class Function:
    """Base class of every differentiable op; `apply` runs it and records the graph node.

    After `apply`, the output tensor's `grad_fn` is the Function instance: `inputs` are the
    Tensors it was computed from (the graph's edges) and `ctx` what it saved.
    """

    __slots__ = ("ctx", "inputs")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _tensor_type
        if Tensor is None:
            raise RuntimeError("Function.apply: no tensor type registered; import minigrad first.")
        ctx = Context()
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        tensors = [a for a in args if isinstance(a, Tensor)]
        track = is_grad_enabled() and any(t.requires_grad for t in tensors)
        if track:
            ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        out = Tensor._wrap(cls.forward(ctx, *arrays, **kwargs), track)
        if track:
            node = object.__new__(cls)
            node.ctx = ctx
            node.inputs = tuple(args)
            out.grad_fn = node
        return out

    def name(self):
        return type(self).__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"


def topological_order(root, parents):
    """Every node `root` depends on, each after all the nodes it depends on (root last).

    parents(node) -> the nodes it was computed from. Iterative depth-first search with an
    explicit stack, so a 100,000-op chain does not hit Python's recursion limit. Shared by the
    Tensor engine and the scalar Value engine.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in parents(node) if id(p) not in visited)
    return order


def tensor_parents(tensor):
    """The inputs of the op that made `tensor` that need a gradient (none for a leaf)."""
    if tensor.grad_fn is None:
        return ()
    return [p for p in tensor.grad_fn.inputs if getattr(p, "requires_grad", False)]


def check_grad_shape(node, shape, grad):
    """A backward must return each input's gradient in that input's shape. As in torch, one with
    extra broadcast dims is summed down to it; any other shape is a bug in that backward, and
    broadcasting it silently would hide the bug, so it is an error."""
    try:
        if np.broadcast_shapes(shape, np.shape(grad)) == np.shape(grad):
            return unbroadcast(grad, shape)
    except ValueError:  # not even broadcast-compatible
        pass
    raise RuntimeError(f"{node.name()} returned a gradient of shape {np.shape(grad)} for an input "
                       f"of shape {shape}: each gradient must have the shape of its input.")


def run_backward(root, gradient, retain_graph=False):
    """Propagate `gradient` (d loss / d root) to every leaf that requires grad.

    Gradients meeting at a fork are summed (the multivariate chain rule); leaves accumulate
    into `.grad` across calls, as in PyTorch.
    """
    grads = {id(root): gradient}
    for tensor in reversed(topological_order(root, tensor_parents)):
        grad = grads.pop(id(tensor), None)
        if grad is None:
            continue
        if tensor.grad_fn is None:
            tensor._accumulate_grad(grad)
            continue
        if tensor._retains_grad:
            tensor._accumulate_grad(grad)
        node = tensor.grad_fn
        input_grads = node.backward(node.ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for parent, parent_grad in zip(node.inputs, input_grads):
            if parent_grad is None or not getattr(parent, "requires_grad", False):
                continue
            if np.shape(parent_grad) != parent.shape:
                parent_grad = check_grad_shape(node, parent.shape, parent_grad)
            key = id(parent)
            if key in grads:
                grads[key] = grads[key] + parent_grad
            else:
                grads[key] = parent_grad
        if not retain_graph:
            node.ctx.saved = None
