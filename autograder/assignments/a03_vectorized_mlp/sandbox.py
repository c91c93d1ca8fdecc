"""Calls of assignment 03 (a vectorised MLP by hand): the student's layer pairs on one case each.

Every layer is a pair ``*_forward(...) -> (out, cache)`` and ``*_backward(dout, cache) -> grads``;
a call runs the forward, then the backward on the case's upstream gradient ``dout``, and returns
plain float64 arrays. Where the case asks for it (``probe_eps``), the call also evaluates the
student's own forward at the moved inputs (``calls.probe``), for the numerical check of the
backward against that forward. NumPy only; no references, no hidden-case generators.
"""
import numpy as np

from ...sandbox import calls
from ...sandbox.calls import BadReturn, returned_dtype, to_array
from ...sandbox.calls import probe

NET_PARAMETERS = ("W1", "b1", "W2", "b2")
PIXEL_LEVELS = 16  # the training pixels arrive as uint8 sixteenths (0..16)


def _pair(value, what):
    """(out, cache) from a forward pass; BadReturn when it is not a pair."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise BadReturn(f"{what} should return a pair (out, cache), got {type(value).__name__}")
    return value


def _outputs(named):
    """{key: value} -> ({key: float64 array}, {key: dtype name}) with 'the <key>' in messages."""
    return ({key: to_array(value, f"the {what}") for key, (value, what) in named.items()},
            {key: returned_dtype(value) for key, (value, _) in named.items()})


def affine(fns, arrays, params):
    """out, cache = affine_forward(x, W, b); dx, dW, db = affine_backward(dout, cache).
    -> out (N, M), grad_x (N, D), grad_W (D, M), grad_b (M,), plus the probe."""
    forward, backward = fns
    out, cache = _pair(forward(arrays["x"].copy(), arrays["W"].copy(), arrays["b"].copy()),
                       "affine_forward")
    out_array = to_array(out, "output of affine_forward")
    grads = backward(arrays["dout"].copy(), cache)
    if not isinstance(grads, (tuple, list)) or len(grads) != 3:
        raise BadReturn("affine_backward should return three arrays (dx, dW, db)")
    dx, dW, db = grads
    outputs, dtypes = _outputs({"grad_x": (dx, "dx you returned"), "grad_W": (dW, "dW you returned"),
                                "grad_b": (db, "db you returned")})
    outputs["out"], dtypes["out"] = out_array, returned_dtype(out)
    outputs.update(probe(lambda m: forward(m["x"], m["W"], m["b"])[0],
                         {name: arrays[name] for name in ("x", "W", "b")}, arrays))
    return outputs, dtypes


ACTIVATIONS = ("relu", "sigmoid", "tanh")


def activation(fns, arrays, params):
    """One of the three pairs (params["kind"]) on x_<kind> and dout.
    -> out_<kind> and grad_x_<kind>, shaped like x, plus the probe."""
    kind = params["kind"]
    index = ACTIVATIONS.index(kind)
    forward, backward = fns[2 * index], fns[2 * index + 1]
    name = f"x_{kind}"
    out, cache = _pair(forward(arrays[name].copy()), f"{kind}_forward")
    out_array = to_array(out, f"output of {kind}_forward")
    dx = backward(arrays["dout"].copy(), cache)
    outputs, dtypes = _outputs({f"grad_{name}": (dx, f"dx of {kind}_backward")})
    outputs[f"out_{kind}"], dtypes[f"out_{kind}"] = out_array, returned_dtype(out)
    outputs.update(probe(lambda m: forward(m[name])[0], {name: arrays[name]}, arrays))
    return outputs, dtypes


def _loss_and_gradient(value, what):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise BadReturn(f"{what} should return a pair (loss, gradient), got {type(value).__name__}")
    return value


def softmax_cross_entropy(fns, arrays, params):
    """loss, dlogits = softmax_cross_entropy(logits, y) with integer labels y.
    -> loss (), grad_logits (N, C) (keys *_large for the case of huge logits), plus the probe."""
    (loss_fn,) = fns
    labels = arrays["y"].astype(np.int64)
    loss, dlogits = _loss_and_gradient(loss_fn(arrays["logits"].copy(), labels.copy()),
                                       "softmax_cross_entropy")
    suffix = "_large" if params.get("large") else ""
    outputs, dtypes = _outputs({f"loss{suffix}": (loss, "loss you returned"),
                                f"grad_logits{suffix}": (dlogits, "dlogits you returned")})
    if outputs[f"loss{suffix}"].shape != ():
        raise BadReturn(f"the loss should be one number, got an array of shape "
                        f"{outputs[f'loss{suffix}'].shape}")
    outputs.update(probe(lambda m: loss_fn(m["logits"], labels.copy())[0],
                         {"logits": arrays["logits"]}, arrays))
    return outputs, dtypes


def mse(fns, arrays, params):
    """loss, dpred = mse_loss(pred, target). -> loss (), grad_pred (N, K), plus the probe."""
    (loss_fn,) = fns
    loss, dpred = _loss_and_gradient(loss_fn(arrays["pred"].copy(), arrays["target"].copy()), "mse_loss")
    outputs, dtypes = _outputs({"loss": (loss, "loss you returned"), "grad_pred": (dpred, "dpred you returned")})
    outputs.update(probe(lambda m: loss_fn(m["pred"], arrays["target"].copy())[0],
                         {"pred": arrays["pred"]}, arrays))
    return outputs, dtypes


def _gradient_dict(grads, names, what):
    if isinstance(grads, (list, tuple)) and len(grads) == len(names):
        grads = dict(zip(names, grads))
    if not isinstance(grads, dict):
        raise BadReturn(f"{what} should be a dict with keys {', '.join(names)}, got {type(grads).__name__}")
    for name in names:
        if name not in grads:
            raise BadReturn(f"{what} has no key {name!r}")
    return grads


def two_layer_net(fns, arrays, params):
    """loss, grads = two_layer_loss(params, X, y). -> loss, grad_W1, grad_b1, grad_W2, grad_b2,
    plus the probe along all four parameters."""
    (loss_fn,) = fns
    return _network_loss(loss_fn, NET_PARAMETERS, arrays, "two_layer_loss")


def _network_loss(loss_fn, names, arrays, what):
    """loss, grads = loss_fn(params, X, y) on copies -> loss, grad_<name> for each parameter name,
    plus the probe along all of them."""
    labels = arrays["y"].astype(np.int64)
    net = {name: arrays[name].copy() for name in names}
    loss, grads = _loss_and_gradient(loss_fn(net, arrays["X"].copy(), labels.copy()), what)
    grads = _gradient_dict(grads, names, f"the gradients {what} returned")
    named = {"loss": (loss, "loss you returned")}
    named.update({f"grad_{name}": (grads[name], f"gradient for {name}") for name in names})
    outputs, dtypes = _outputs(named)
    outputs.update(probe(lambda m: loss_fn(m, arrays["X"].copy(), labels.copy())[0],
                         {name: arrays[name] for name in names}, arrays))
    return outputs, dtypes


ATOMIC_PARAMETERS = ("W1", "b1", "gamma", "beta", "W2", "b2")
ATOMIC_STEPS = ("a", "mu", "centered", "sq", "var", "inv_std", "normed", "pre", "h", "logits",
                "logit_max", "shifted", "exps", "exp_sum", "exp_sum_inv", "probs", "log_probs")


def backprop_ninja(fns, arrays, params):
    """grads = backward_atomic(cache, dloss) on the cache forward_atomic makes (X, y, the
    parameters and every intermediate, computed by the grader) and an upstream dloss.
    -> grad_<name> for each name the returned dict has among the intermediates, the parameters
    and X (a name left out fails only its own check)."""
    (backward,) = fns
    cache = {name: arrays[name].copy() for name in ("X",) + ATOMIC_PARAMETERS + ATOMIC_STEPS}
    cache["y"] = arrays["y"].astype(np.int64)
    grads = backward(cache, float(arrays["dloss"]))
    if not isinstance(grads, dict):
        raise BadReturn(f"backward_atomic should return a dict {{name: gradient}}, got {type(grads).__name__}")
    named = {}
    for name in ATOMIC_STEPS + ATOMIC_PARAMETERS + ("X",):
        if name in grads:
            named[f"grad_{name}"] = (grads[name], f"gradient of {name}")
    return _outputs(named)


def mlp(fns, arrays, params):
    """loss, grads = mlp_loss(params, X, y) for a stack of params["depth"] layers W1, b1, ...
    -> loss, grad_W<l>, grad_b<l> for every layer, plus the probe along all parameters."""
    (loss_fn,) = fns
    names = tuple(f"{kind}{layer}" for layer in range(1, int(params["depth"]) + 1) for kind in ("W", "b"))
    return _network_loss(loss_fn, names, arrays, "mlp_loss")


def shared_weights(fns, arrays, params):
    """loss, dW = shared_weight_loss(X, W) for Y = ReLU(X W) W. -> loss, grad_W, plus the probe."""
    (loss_fn,) = fns
    loss, dW = _loss_and_gradient(loss_fn(arrays["X"].copy(), arrays["W"].copy()), "shared_weight_loss")
    outputs, dtypes = _outputs({"loss": (loss, "loss you returned"), "grad_W": (dW, "dW you returned")})
    outputs.update(probe(lambda m: loss_fn(arrays["X"].copy(), m["W"])[0], {"W": arrays["W"]}, arrays))
    return outputs, dtypes


def embedding(fns, arrays, params):
    """out, cache = embedding_forward(W, idx); dW = embedding_backward(dout, cache).
    -> out (N, D), grad_W (V, D), plus the probe along W."""
    forward, backward = fns
    idx = arrays["idx"].astype(np.int64)
    out, cache = _pair(forward(arrays["W"].copy(), idx.copy()), "embedding_forward")
    out_array = to_array(out, "output of embedding_forward")
    dW = backward(arrays["dout"].copy(), cache)
    outputs, dtypes = _outputs({"grad_W": (dW, "dW of embedding_backward")})
    outputs["out"], dtypes["out"] = out_array, returned_dtype(out)
    outputs.update(probe(lambda m: forward(m["W"], idx.copy())[0], {"W": arrays["W"]}, arrays))
    return outputs, dtypes


def quadratic_gradient(w, arrays):
    """The gradient the optimiser steps on: of 0.5 * sum(curvature * (w - w_star)**2)."""
    return arrays["curvature"] * (w - arrays["w_star"])


def sgd_momentum(fns, arrays, params):
    """k steps of w, v = sgd_momentum(w, dw, v, lr, momentum, weight_decay) on a quadratic.
    -> w_steps and v_steps (k, *w.shape): the parameters and the velocity after each step."""
    (step,) = fns
    w, v = arrays["w0"].copy(), np.zeros_like(arrays["w0"])
    w_steps, v_steps = [], []
    for k in range(int(params["steps"])):
        dw = quadratic_gradient(w, arrays)
        result = step(w.copy(), dw, v.copy(), float(params["lr"]), float(params["momentum"]),
                      float(params["weight_decay"]))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise BadReturn("sgd_momentum should return a pair (w, v): the new parameters and velocity")
        w = to_array(result[0], f"the parameters you returned at step {k + 1}")
        v = to_array(result[1], f"the velocity you returned at step {k + 1}")
        if w.shape != arrays["w0"].shape or v.shape != arrays["w0"].shape:
            raise BadReturn(f"at step {k + 1} you returned w of shape {w.shape} and v of shape "
                            f"{v.shape}; both must have the parameters' shape {arrays['w0'].shape}")
        w_steps.append(w)
        v_steps.append(v)
    return {"w_steps": np.stack(w_steps), "v_steps": np.stack(v_steps)}, {}


def _parameter_dicts(value, what):
    """(params, velocity) dicts from what train_step returned; BadReturn for anything else."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise BadReturn(f"{what} should return a pair (params, velocity) of dicts, got "
                        f"{type(value).__name__}")
    return (_gradient_dict(value[0], NET_PARAMETERS, f"the params {what} returned"),
            _gradient_dict(value[1], NET_PARAMETERS, f"the velocity {what} returned"))


def _one_step(step, arrays, params):
    """new_params, new_velocity = train_step(params, velocity, X, y, lr, momentum, weight_decay)
    on the case's parameters (W1 ... b2), velocities (v_W1 ... v_b2) and minibatch.
    -> step_<name> and step_v_<name>, shaped like each parameter."""
    net = {name: arrays[name].copy() for name in NET_PARAMETERS}
    velocity = {name: arrays[f"v_{name}"].copy() for name in NET_PARAMETERS}
    new_params, new_velocity = _parameter_dicts(
        step(net, velocity, arrays["X_batch"].copy(), arrays["y_batch"].astype(np.int64),
             float(params["lr"]), float(params["momentum"]), float(params["weight_decay"])),
        "train_step")
    named = {f"step_{name}": (new_params[name], f"{name} train_step returned") for name in NET_PARAMETERS}
    named.update({f"step_v_{name}": (new_velocity[name], f"velocity of {name} train_step returned")
                  for name in NET_PARAMETERS})
    return _outputs(named)


def training(fns, arrays, params):
    """One train_step on the case's minibatch (when the case has one), then, when the case has
    training data (pixels_train: uint8 sixteenths), params = train(pixels_train / 16, y_train,
    seed). -> step_* (see _one_step) and the four parameters the trained network has (the
    trusted side measures their accuracy on images this process never sees)."""
    step, train = fns
    outputs, dtypes = {}, {}
    if "X_batch" in arrays:
        outputs, dtypes = _one_step(step, arrays, params)
    if "pixels_train" in arrays:
        X_train = arrays["pixels_train"].astype(np.float64) / PIXEL_LEVELS
        trained = train(X_train, arrays["y_train"].astype(np.int64), int(params["seed"]))
        trained = _gradient_dict(trained, NET_PARAMETERS, "what train returned")
        more, more_dtypes = _outputs({name: (trained[name], f"{name} train returned") for name in NET_PARAMETERS})
        outputs.update(more)
        dtypes.update(more_dtypes)
    return outputs, dtypes


# ---- the three sanity checks ---------------------------------------------------------------------
def _tanh_stack_loss(net, X, y):
    """Mean softmax cross-entropy of affine layers W1, b1 ... with tanh between them (a forward
    only: the gradients the grader's loss functions return come from the case, see below)."""
    layers = len(net) // 2
    h = X
    for k in range(layers):
        h = h @ net[f"W{k + 1}"] + net[f"b{k + 1}"]
        h = np.tanh(h) if k + 1 < layers else h
    shifted = h - h.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(len(y)), y]))


def _grader_loss_fn(arrays, names):
    """loss_fn(params, X, y) -> (loss, grads), like mlp_loss, for the grader's own network (tanh
    between the layers). The loss is computed at any params; the gradients are the case's
    table_grad_<name> (computed by the grader, right or with a planted bug), returned only at the
    case's own params, and None anywhere else (a sanity check needs them only there)."""
    at = {name: arrays[name].copy() for name in names}
    table = {name: arrays[f"table_grad_{name}"] for name in names}

    def loss_fn(params, X, y):
        loss = _tanh_stack_loss(params, np.asarray(X), np.asarray(y))
        here = all(np.array_equal(np.asarray(params[name]), at[name]) for name in names)
        return loss, ({name: table[name].copy() for name in names} if here else None)

    return loss_fn


def _scalar(value, what):
    array = to_array(value, what)
    if array.shape != ():
        raise BadReturn(f"{what} should be one number, got an array of shape {array.shape}")
    return array


def sanity_checks(fns, arrays, params):
    """One of the three checks (params["part"]) on the case's network W1, b1 ..., X and y.
    "init": loss, expected, passed = initial_loss_check(loss_fn, params, X, y, C) with the
    grader's loss function -> init_loss, init_expected, init_passed (1 or 0).
    "overfit": final, losses = overfit_tiny_batch(mlp_loss, params, X, y, steps, lr) with the
    student's own mlp_loss -> final_<name> for every parameter, losses (steps,).
    "gradcheck": error = stack_gradient_check(loss_fn, params, X, y) with the grader's loss
    function -> grad_check ()."""
    initial_loss_check, overfit_tiny_batch, stack_gradient_check, mlp_loss = fns
    names = tuple(f"{kind}{layer}" for layer in range(1, int(params["depth"]) + 1) for kind in ("W", "b"))
    net = {name: arrays[name].copy() for name in names}
    X, labels = arrays["X"].copy(), arrays["y"].astype(np.int64)
    part = params["part"]
    if part == "init":
        result = initial_loss_check(_grader_loss_fn(arrays, names), net, X, labels.copy(),
                                    int(params["classes"]))
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise BadReturn("initial_loss_check should return three things (loss, expected, passed)")
        loss, expected, passed = result
        passed = _scalar(passed, "whether initial_loss_check passed")
        if float(passed) not in (0.0, 1.0):
            raise BadReturn("the third thing initial_loss_check returns should be True or False")
        return ({"init_loss": _scalar(loss, "the loss initial_loss_check returned"),
                 "init_expected": _scalar(expected, "the expected loss initial_loss_check returned"),
                 "init_passed": passed}, {})
    if part == "overfit":
        result = overfit_tiny_batch(mlp_loss, net, X, labels.copy(), int(params["steps"]),
                                    float(params["lr"]))
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise BadReturn("overfit_tiny_batch should return a pair (params, losses)")
        final = _gradient_dict(result[0], names, "the params overfit_tiny_batch returned")
        outputs = {f"final_{name}": to_array(final[name], f"{name} overfit_tiny_batch returned")
                   for name in names}
        outputs["losses"] = to_array(result[1], "the losses overfit_tiny_batch returned")
        if outputs["losses"].ndim != 1:
            raise BadReturn("the losses overfit_tiny_batch returns should be a list of numbers, "
                            "one per step")
        return outputs, {}
    error = stack_gradient_check(_grader_loss_fn(arrays, names), net, X, labels.copy())
    return {"grad_check": _scalar(error, "the error stack_gradient_check returned")}, {}


CALLS = calls.call_table(
    affine, activation, softmax_cross_entropy, mse, two_layer_net, backprop_ninja, mlp,
    shared_weights, embedding, sgd_momentum, training, sanity_checks)
