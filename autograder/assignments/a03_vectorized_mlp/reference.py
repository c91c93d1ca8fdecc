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


# ---- backprop ninja: the atomic forward of the notebook, every intermediate kept -------------------
ATOMIC_PARAMETERS = ("W1", "b1", "gamma", "beta", "W2", "b2")
# the forward's intermediate tensors, in the order the forward makes them
ATOMIC_STEPS = ("a", "mu", "centered", "sq", "var", "inv_std", "normed", "pre", "h", "logits",
                "logit_max", "shifted", "exps", "exp_sum", "exp_sum_inv", "probs", "log_probs")
ATOMIC_EPS = 1e-5  # the normalisation's epsilon, as in the notebook's forward_atomic


def atomic_mlp(arrays):
    """The notebook's forward_atomic step by step in torch (float64), loss scaled by the upstream
    dloss; -> grad_<name> for every intermediate, every parameter and X (torch's retain_grad)."""
    import torch

    leaves = ATOMIC_PARAMETERS + ("X",)
    t = _tensors(arrays, leaves, grad=leaves)
    kept = {}

    def keep(name, value):
        value.retain_grad()
        kept[name] = value
        return value

    a = keep("a", t["X"] @ t["W1"] + t["b1"])
    mu = keep("mu", a.mean(dim=1, keepdim=True))
    centered = keep("centered", a - mu)
    sq = keep("sq", centered ** 2)
    var = keep("var", sq.mean(dim=1, keepdim=True))
    inv_std = keep("inv_std", (var + ATOMIC_EPS) ** -0.5)
    normed = keep("normed", centered * inv_std)
    pre = keep("pre", t["gamma"] * normed + t["beta"])
    h = keep("h", torch.tanh(pre))
    logits = keep("logits", h @ t["W2"] + t["b2"])
    logit_max = keep("logit_max", logits.max(dim=1, keepdim=True).values)
    shifted = keep("shifted", logits - logit_max)
    exps = keep("exps", torch.exp(shifted))
    exp_sum = keep("exp_sum", exps.sum(dim=1, keepdim=True))
    exp_sum_inv = keep("exp_sum_inv", 1.0 / exp_sum)
    probs = keep("probs", exps * exp_sum_inv)
    log_probs = keep("log_probs", torch.log(probs))
    n = arrays["X"].shape[0]
    loss = -log_probs[torch.arange(n), torch.tensor(arrays["y"], dtype=torch.int64)].mean()
    (loss * float(arrays["dloss"])).backward()
    out = {f"grad_{name}": _numpy(value.grad) for name, value in kept.items()}
    out.update({f"grad_{name}": _numpy(t[name].grad) for name in leaves})
    return out


# ---- a stack of any depth ----------------------------------------------------------------------
def mlp_loss(arrays, depth):
    """Mean softmax cross-entropy of an MLP of `depth` affine layers W1, b1 ... W<depth>, b<depth>
    with ReLU between them; -> loss and grad_W<l>, grad_b<l> for every layer."""
    import torch

    return _stack_loss(arrays, depth, torch.relu)


# ---- the sanity checks' own networks -------------------------------------------------------------
def tanh_mlp_loss(arrays, depth):
    """The same stack with tanh between the layers (the grader's loss functions in the sanity
    checks); -> loss and grad_W<l>, grad_b<l>."""
    import torch

    return _stack_loss(arrays, depth, torch.tanh)


def _stack_loss(arrays, depth, activation):
    import torch

    names = tuple(f"{kind}{layer}" for layer in range(1, depth + 1) for kind in ("W", "b"))
    t = _tensors(arrays, names + ("X",), grad=names)
    h = t["X"]
    for layer in range(1, depth + 1):
        h = h @ t[f"W{layer}"] + t[f"b{layer}"]
        if layer < depth:
            h = activation(h)
    loss = torch.nn.functional.cross_entropy(h, torch.tensor(arrays["y"], dtype=torch.int64))
    loss.backward()
    out = {"loss": _numpy(loss)}
    out.update({f"grad_{name}": _numpy(t[name].grad) for name in names})
    return out
