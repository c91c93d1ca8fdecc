"""Calls of assignment 04 (convolution, pooling, residual block, attention, layer norm): NumPy only.

Every layer follows CS231n's pattern: ``*_forward(...) -> (out, cache)`` and
``*_backward(dout, cache) -> gradients``. A call runs the student's forward on fresh copies of
the case's arrays, feeds the case's random upstream gradient ``dout`` to their backward, and
returns the arrays; ``probe`` adds their own forward at x +- eps*u for the grader's numerical
check of the backward against that forward.
"""
import numpy as np

from ...sandbox import calls
from ...sandbox.calls import BadReturn, probe, returned_dtype, to_array


def _pair(result, name):
    """(out, cache) from a forward function, or BadReturn saying what came back instead."""
    if not isinstance(result, tuple) or len(result) != 2:
        what = (f"a tuple of {len(result)} items" if isinstance(result, tuple)
                else "None (no return statement?)" if result is None else f"a {type(result).__name__}")
        raise BadReturn(f"{name} should return a pair (out, cache); it returned {what}")
    return result


def _grads(result, name, keys):
    """The gradients a backward returned, as {"grad_<key>": array}, checked for count."""
    if len(keys) == 1:
        result = (result,)
    elif not isinstance(result, (tuple, list)) or len(result) != len(keys):
        count = f"{len(result)} items" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise BadReturn(f"{name} should return {len(keys)} gradients ({', '.join('d' + k for k in keys)}); "
                        f"it returned {count}")
    outputs, dtypes = {}, {}
    for key, value in zip(keys, result):
        outputs[f"grad_{key}"] = to_array(value, f"d{key} returned by {name}")
        dtypes[f"grad_{key}"] = returned_dtype(value)
    return outputs, dtypes


def _forward_only(fn, name, arrays, names, *settings):
    out, _ = _pair(fn(*(arrays[k].copy() for k in names), *settings), name)
    return out


def _layer(forward, backward, fname, bname, arrays, names, settings, grad_keys):
    """Forward on the case's inputs, backward on its dout, plus the probe of that forward."""
    out, cache = _pair(forward(*(arrays[k].copy() for k in names), *settings), fname)
    outputs = {"out": to_array(out, f"the output of {fname}")}
    dtypes = {"out": returned_dtype(out)}
    if backward is not None:
        grads, grad_dtypes = _grads(backward(arrays["dout"].copy(), cache), bname, grad_keys)
        outputs.update(grads)
        dtypes.update(grad_dtypes)
        outputs.update(probe(lambda moved: _forward_only(forward, fname, moved, names, *settings),
                             {k: arrays[k] for k in names}, arrays))
    return outputs, dtypes


def conv_forward(fns, arrays, params):
    """conv2d_forward(x, w, b, stride, padding) -> {"out": (N, F, Ho, Wo)}."""
    (forward,) = fns
    return _layer(forward, None, "conv2d_forward", "", arrays, ("x", "w", "b"),
                  (params["stride"], params["padding"]), ())


def conv_backward(fns, arrays, params):
    """conv2d_backward(dout, cache) after conv2d_forward -> out, grad_x, grad_w, grad_b, probe."""
    forward, backward = fns
    return _layer(forward, backward, "conv2d_forward", "conv2d_backward", arrays, ("x", "w", "b"),
                  (params["stride"], params["padding"]), ("x", "w", "b"))


def relu_layer(fns, arrays, params):
    """relu_forward(x), relu_backward(dout, cache) -> out, grad_x, probe."""
    forward, backward = fns
    return _layer(forward, backward, "relu_forward", "relu_backward", arrays, ("x",), (), ("x",))


def pool_layer(fns, arrays, params):
    """<max|avg>_pool2d_forward(x, kernel_size, stride) and its backward -> out, grad_x, probe."""
    forward, backward = fns
    kind = params["kind"]
    return _layer(forward, backward, f"{kind}_pool2d_forward", f"{kind}_pool2d_backward", arrays, ("x",),
                  (params["kernel_size"], params["stride"]), ("x",))


def residual_block(fns, arrays, params):
    """residual_forward(x, w1, w2), residual_backward(dz, cache) -> out, grad_x, grad_w1, grad_w2."""
    forward, backward = fns
    return _layer(forward, backward, "residual_forward", "residual_backward", arrays, ("x", "w1", "w2"),
                  (), ("x", "w1", "w2"))


def lecture_scores_softmax(x, y):
    """The lecture's attention example: s_i = softmax(x_i * y) row by row. x (n,), y (m,) -> (n, m)."""
    z = np.outer(x, y)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_example(fns, arrays, params):
    """softmax_jacobian(s) -> {"jacobian": (n, n)}, or lecture_attention_backward(x, y, ds) ->
    grad_x (n,), grad_y (m,) and the probe of the example's (given) forward."""
    jacobian, example = fns
    if params["kind"] == "jacobian":
        value = jacobian(arrays["s"].copy())
        return {"jacobian": to_array(value, "the Jacobian you returned")}, {"jacobian": returned_dtype(value)}
    outputs, dtypes = _grads(example(arrays["x"].copy(), arrays["y"].copy(), arrays["dout"].copy()),
                             "lecture_attention_backward", ("x", "y"))
    outputs.update(probe(lambda moved: lecture_scores_softmax(moved["x"], moved["y"]),
                         {"x": arrays["x"], "y": arrays["y"]}, arrays))
    return outputs, dtypes


def attention(fns, arrays, params):
    """attention_forward(Q, K, V, causal), attention_backward(dout, cache) -> out, grad_Q, grad_K,
    grad_V, probe."""
    forward, backward = fns
    return _layer(forward, backward, "attention_forward", "attention_backward", arrays, ("Q", "K", "V"),
                  (bool(params["causal"]),), ("Q", "K", "V"))


def layernorm(fns, arrays, params):
    """layernorm_forward(x, gamma, beta, eps), layernorm_backward(dout, cache) -> out, grad_x,
    grad_gamma, grad_beta, probe."""
    forward, backward = fns
    return _layer(forward, backward, "layernorm_forward", "layernorm_backward", arrays, ("x", "gamma", "beta"),
                  (float(params["eps"]),), ("x", "gamma", "beta"))


CALLS = calls.call_table(
    conv_forward, conv_backward, relu_layer, pool_layer, residual_block, softmax_example,
    attention, layernorm)
