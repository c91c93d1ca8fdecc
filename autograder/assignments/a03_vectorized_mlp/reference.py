"""Trusted references of assignment 03: PyTorch autograd on the same computations, in float64.

Only the grader's process imports this module (through ``a03_vectorized_mlp``); torch is
imported inside each function so that loading the task specs stays cheap.
"""
import numpy as np


def _tensors(arrays, names, grad=()):
    import torch

    return {name: torch.tensor(arrays[name], dtype=torch.float64, requires_grad=name in grad)
            for name in names}


def _numpy(tensor):
    return tensor.detach().numpy().copy()


def affine(arrays):
    """out = x W + b and, for the upstream gradient dout, the gradients of x, W and b."""
    t = _tensors(arrays, ("x", "W", "b", "dout"), grad=("x", "W", "b"))
    out = t["x"] @ t["W"] + t["b"]
    out.backward(t["dout"])
    return {"out": _numpy(out), "grad_x": _numpy(t["x"].grad), "grad_W": _numpy(t["W"].grad),
            "grad_b": _numpy(t["b"].grad)}


def activation(kind, arrays):
    """out = kind(x) and dx for dout; ReLU's gradient at exactly 0 is 0, as in PyTorch."""
    import torch

    name = f"x_{kind}"
    t = _tensors(arrays, (name, "dout"), grad=(name,))
    out = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}[kind](t[name])
    out.backward(t["dout"])
    return {f"out_{kind}": _numpy(out), f"grad_{name}": _numpy(t[name].grad)}


def softmax_cross_entropy(arrays, suffix=""):
    """Mean cross-entropy of softmax(logits) against integer labels, and dL/dlogits."""
    import torch

    t = _tensors(arrays, ("logits",), grad=("logits",))
    loss = torch.nn.functional.cross_entropy(t["logits"], torch.tensor(arrays["y"], dtype=torch.int64))
    loss.backward()
    return {f"loss{suffix}": _numpy(loss), f"grad_logits{suffix}": _numpy(t["logits"].grad)}


def mse(arrays):
    """L = sum((pred - target)**2) / (2 N) and dL/dpred."""
    t = _tensors(arrays, ("pred", "target"), grad=("pred",))
    loss = 0.5 * ((t["pred"] - t["target"]) ** 2).sum() / arrays["pred"].shape[0]
    loss.backward()
    return {"loss": _numpy(loss), "grad_pred": _numpy(t["pred"].grad)}


NET_PARAMETERS = ("W1", "b1", "W2", "b2")


def two_layer_loss(arrays):
    """Mean softmax cross-entropy of relu(X W1 + b1) W2 + b2 and its four parameter gradients."""
    import torch

    t = _tensors(arrays, NET_PARAMETERS + ("X",), grad=NET_PARAMETERS)
    scores = torch.relu(t["X"] @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss = torch.nn.functional.cross_entropy(scores, torch.tensor(arrays["y"], dtype=torch.int64))
    loss.backward()
    out = {"loss": _numpy(loss)}
    out.update({f"grad_{name}": _numpy(t[name].grad) for name in NET_PARAMETERS})
    return out


def shared_weights(arrays):
    """L = 0.5 * ||relu(X W) W - X||^2 (the lecture's shared weights) and dL/dW over both uses."""
    import torch

    t = _tensors(arrays, ("X", "W"), grad=("W",))
    Y = torch.relu(t["X"] @ t["W"]) @ t["W"]
    loss = 0.5 * ((Y - t["X"]) ** 2).sum()
    loss.backward()
    return {"loss": _numpy(loss), "grad_W": _numpy(t["W"].grad)}


def embedding(arrays):
    """out = W[idx] and, for dout, dL/dW (rows of repeated indices add up)."""
    import torch

    t = _tensors(arrays, ("W", "dout"), grad=("W",))
    out = torch.nn.functional.embedding(torch.tensor(arrays["idx"], dtype=torch.int64), t["W"])
    out.backward(t["dout"])
    return {"out": _numpy(out), "grad_W": _numpy(t["W"].grad)}


def sgd_momentum(arrays, lr, momentum, weight_decay, steps):
    """torch.optim.SGD on 0.5 * sum(curvature * (w - w_star)**2): w and the momentum buffer after
    every step, (steps, *w.shape) each. With momentum 0 torch keeps no buffer: the velocity is
    then the step direction itself, g + weight_decay * w."""
    import torch

    w = torch.tensor(arrays["w0"], dtype=torch.float64, requires_grad=True)
    curvature = torch.tensor(arrays["curvature"], dtype=torch.float64)
    w_star = torch.tensor(arrays["w_star"], dtype=torch.float64)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=weight_decay)
    w_steps, v_steps = [], []
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * (curvature * (w - w_star) ** 2).sum()).backward()
        direction = w.grad + weight_decay * w.detach()
        optimizer.step()
        buffer = optimizer.state[w].get("momentum_buffer") if momentum else None
        w_steps.append(_numpy(w))
        v_steps.append(_numpy(buffer) if buffer is not None else _numpy(direction))
    return {"w_steps": np.stack(w_steps), "v_steps": np.stack(v_steps)}


def train_step(arrays, lr, momentum, weight_decay):
    """One torch.optim.SGD step (momentum > 0, its buffers set to the velocities v_<name>) on the
    gradient of two_layer_loss over the minibatch X_batch, y_batch.
    -> step_<name> (the new parameters) and step_v_<name> (the new momentum buffers)."""
    import torch

    t = _tensors(arrays, NET_PARAMETERS + ("X_batch",), grad=NET_PARAMETERS)
    optimizer = torch.optim.SGD([t[name] for name in NET_PARAMETERS], lr=lr, momentum=momentum,
                                weight_decay=weight_decay)
    for name in NET_PARAMETERS:
        optimizer.state[t[name]]["momentum_buffer"] = torch.tensor(arrays[f"v_{name}"], dtype=torch.float64)
    scores = torch.relu(t["X_batch"] @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    torch.nn.functional.cross_entropy(scores, torch.tensor(arrays["y_batch"], dtype=torch.int64)).backward()
    optimizer.step()
    out = {f"step_{name}": _numpy(t[name]) for name in NET_PARAMETERS}
    out.update({f"step_v_{name}": _numpy(optimizer.state[t[name]]["momentum_buffer"]) for name in NET_PARAMETERS})
    return out
