"""Calls of assignment 02: gates, the staged example, the scalar net, the student's Value engine.

Graphs are built from the case's description (``sandbox_graphs``) with the student's own
``Value`` class; only float64 arrays go back. The call ``value_ops`` runs its own reverse pass
over the nodes' ``_prev`` / ``_backward`` (the interface the notebook fixes), so the operators
are graded apart from the student's ``backward()``; ``value_backward`` uses theirs.
"""

import numpy as np

from . import sandbox_graphs as eg
from ...sandbox import calls
from ...sandbox.calls import BadReturn, returned_dtype, to_array
from ...sandbox.calls import probe


def _numbers(result, count, what):
    """A tuple/list of `count` numbers -> list of floats; BadReturn saying what was expected."""
    if not isinstance(result, (tuple, list)) or len(result) != count:
        got = f"a {type(result).__name__}" + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
        raise BadReturn(f"returned {got}; expected a tuple of {count} numbers ({what})")
    numbers = []
    for i, value in enumerate(result):
        array = to_array(value, f"entry {i} of what you returned")
        if array.size != 1:
            raise BadReturn(f"entry {i} of what you returned has {array.size} numbers, expected one")
        numbers.append(float(array.reshape(-1)[0]))
    return numbers


def gate_gradients(fns, arrays, params):
    """local_gradients(op, x[, y]) -> (out, dx[, dy]); y is the exponent n for "pow".
    -> {"out": (), "grad_inputs": (number of inputs,)}."""
    (local_gradients,) = fns
    op, inputs = params["op"], [float(v) for v in arrays["inputs"]]

    def run(values):
        args = list(values) + ([float(arrays["n"])] if op == "pow" else [])
        return _numbers(local_gradients(op, *args), 1 + len(values),
                        "the output, then one partial derivative per input")

    result = run(inputs)
    outputs = {"out": np.asarray(result[0]), "grad_inputs": np.asarray(result[1:])}
    outputs.update(probe(lambda moved: run(moved["inputs"])[0], {"inputs": arrays["inputs"]}, arrays))
    return outputs, {}


def staged_backprop(fns, arrays, params):
    """staged_example(x, y) -> (f, dfdx, dfdy). -> {"out", "grad_x", "grad_y"}: ()."""
    (staged_example,) = fns

    def run(x, y):
        return _numbers(staged_example(float(x), float(y)), 3, "f, df/dx, df/dy")

    f, dx, dy = run(arrays["x"], arrays["y"])
    outputs = {"out": np.asarray(f), "grad_x": np.asarray(dx), "grad_y": np.asarray(dy)}
    outputs.update(probe(lambda m: run(m["x"], m["y"])[0], {"x": arrays["x"], "y": arrays["y"]}, arrays))
    return outputs, {}


NET_PARAMETERS = ("W1", "b1", "W2", "b2")


def scalar_net(fns, arrays, params):
    """scalar_net(X, Y, W1, b1, W2, b2) -> (L, dW1, db1, dW2, db2). -> "out" and grad_<name>: ()."""
    (net,) = fns

    def run(values):
        return _numbers(net(float(arrays["X"]), float(arrays["Y"]), *(float(values[k]) for k in NET_PARAMETERS)),
                        5, "L, dL/dW1, dL/db1, dL/dW2, dL/db2")

    given = {k: arrays[k] for k in NET_PARAMETERS}
    result = run(given)
    outputs = {"out": np.asarray(result[0])}
    outputs.update({f"grad_{k}": np.asarray(g) for k, g in zip(NET_PARAMETERS, result[1:])})
    outputs.update(probe(lambda moved: run(moved)[0], given, arrays))
    return outputs, {}


def _node_check(node, what):
    for attribute in ("data", "grad", "_prev", "_backward"):
        if not hasattr(node, attribute):
            raise BadReturn(f"{what} has no attribute {attribute!r}: keep the data, grad, _prev and "
                            f"_backward that Value.__init__ sets up, on every Value an op returns")


def _reverse_pass(root):
    """The notebook's reverse pass, run by the grader: each node's _backward, output first."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            _node_check(node, f"a {type(node).__name__} in the graph")
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev if id(p) not in visited)
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


REFLECTED = {"radd": ("2.0 + v", "__radd__"), "rsub": ("2.0 - v", "__rsub__"),
             "rmul": ("2.0 * v", "__rmul__"), "rdiv": ("2.0 / v", "__rtruediv__")}


def _build(value_class, params, leaf_values):
    try:
        leaves, nodes = eg.build_with(value_class, params["graph"], leaf_values)
    except eg.OpFailed as failed:
        if failed.op in REFLECTED and isinstance(failed.error, TypeError):
            example, method = REFLECTED[failed.op]
            raise BadReturn(f"{example} raised TypeError ({failed.error}): with a plain number on the left "
                            f"Python calls v.{method}(2.0); define {method} in your Value class") from None
        raise failed.error
    for i, node in enumerate(nodes):
        if not isinstance(node, value_class):
            raise BadReturn(f"an operation returned a {type(node).__name__}, not a {value_class.__name__}: "
                            f"every op must return a new Value (check {params['graph']['ops'][i - len(leaves)][0]!r})"
                            if i >= len(leaves) else "a leaf is not a Value")
    return leaves, nodes


def _forward_output(value_class, params):
    return lambda moved: eg.as_float(_build(value_class, params, moved["leaves"])[1][-1].data, "the output's .data")


@calls.collector_paused
def value_ops(fns, arrays, params):
    """Build the graph with the student's Value, run the grader's reverse pass over _backward.
    -> {"values": (n_nodes,), "grad_leaves": (n_leaves,)}."""
    (value_class,) = fns
    leaves, nodes = _build(value_class, params, arrays["leaves"])
    _node_check(nodes[-1], "the output")
    _reverse_pass(nodes[-1])
    outputs = {"values": eg.datas(nodes), "grad_leaves": eg.grads(leaves)}
    outputs.update(probe(_forward_output(value_class, params), {"leaves": arrays["leaves"]}, arrays))
    return outputs, {}


MAX_ORDER_FACTOR = 4  # entries of an order sent back per node (constants may be wrapped)


@calls.collector_paused
def value_backward(fns, arrays, params):
    """topological_order(root) and out.backward() (twice when params["twice"]).
    -> {"out": (), "grad_leaves": (n_leaves,), "order_nodes": (len(order),)[, "grad2_leaves"]}.

    order_nodes is the student's order as node numbers (-1 for an object that is not one of the
    graph's nodes, e.g. a constant the class wrapped); the trusted side decides whether it is a
    topological order. The numbering is done here, inline, with nothing an answer cell could
    have replaced in a module (it once called a module function that computed the verdict)."""
    value_class, topological_order = fns
    leaves, nodes = _build(value_class, params, arrays["leaves"])
    out = nodes[-1]
    try:
        order = list(topological_order(out))
        if len(order) > MAX_ORDER_FACTOR * len(nodes):
            raise BadReturn(f"topological_order returned {len(order)} objects for a graph of "
                            f"{len(nodes)} nodes: each node belongs in it once")
        number = {id(node): i for i, node in enumerate(nodes)}
        order_nodes = np.array([number.get(id(node), -1) for node in order], dtype=np.float64)
        out.backward()
        outputs = {"out": np.asarray(eg.as_float(out.data, "the output's .data")),
                   "grad_leaves": eg.grads(leaves), "order_nodes": order_nodes}
        if params.get("twice"):
            out.backward()
            outputs["grad2_leaves"] = eg.grads(leaves)
    except RecursionError:
        raise BadReturn(f"RecursionError on a graph of {eg.n_nodes(params['graph'])} nodes (a long chain): a "
                        f"recursive topological sort (or backward) hits Python's recursion limit of about "
                        f"1,000 nested calls; use a loop with an explicit stack") from None
    outputs.update(probe(_forward_output(value_class, params), {"leaves": arrays["leaves"]}, arrays))
    return outputs, {"grad_leaves": returned_dtype(leaves[0].grad)}


def _mlp(MLP, arrays, params):
    model = MLP(int(params["nin"]), list(params["nouts"]))
    parameters = list(model.parameters())
    theta = arrays["theta"]
    if len(parameters) != theta.size:
        raise BadReturn(f"MLP({params['nin']}, {params['nouts']}).parameters() returned {len(parameters)} "
                        f"Values; expected {theta.size} (each neuron's weights, then its bias)")
    for p, value in zip(parameters, theta):
        p.data, p.grad = float(value), 0.0
    return model, parameters


def _loss(squared_loss, model, arrays):
    X, y = arrays["X"], arrays["y"]
    return squared_loss(model, [list(map(float, row)) for row in X], [float(v) for v in y])


@calls.collector_paused
def mlp_gradients(fns, arrays, params):
    """squared_loss(MLP(...), X, y).backward() at given parameters.
    -> {"out": (), "grad_theta": (n_parameters,)}."""
    MLP, squared_loss = fns
    model, parameters = _mlp(MLP, arrays, params)
    loss = _loss(squared_loss, model, arrays)
    loss.backward()
    outputs = {"out": np.asarray(eg.as_float(loss.data, "the loss's .data")),
               "grad_theta": eg.grads(parameters)}

    def evaluate(moved):
        for p, value in zip(parameters, moved["theta"]):
            p.data = float(value)
        return eg.as_float(_loss(squared_loss, model, arrays).data, "the loss's .data")

    outputs.update(probe(evaluate, {"theta": arrays["theta"]}, arrays))
    return outputs, {}


@calls.collector_paused
def mlp_train_step(fns, arrays, params):
    """Two calls of train_step(model, X, y, lr). -> {"losses": (2,), "theta_after": (n_parameters,)}."""
    MLP, squared_loss, train_step = fns
    model, parameters = _mlp(MLP, arrays, params)
    X = [list(map(float, row)) for row in arrays["X"]]
    y = [float(v) for v in arrays["y"]]
    losses = [train_step(model, X, y, float(arrays["lr"])) for _ in range(2)]
    losses = [eg.as_float(getattr(v, "data", v), "the loss train_step returned") for v in losses]
    return {"losses": np.asarray(losses), "theta_after": eg.datas(parameters)}, {}


CALLS = calls.call_table(
    gate_gradients, staged_backprop, scalar_net, value_ops, value_backward, mlp_gradients,
    mlp_train_step)
