"""Calls of assignment 05 (autodiff internals): build the test graphs, run the student's engine,
and send back plain arrays, including what the grader's own bookkeeping measured on the way.

Everything counted here (backward calls per op, evaluations of f, forward calls of a layer) is
counted by objects of the grader (``sandbox_graphs``) that the student's code merely calls;
nothing the student returns is taken as a measurement. The traced memory of checkpointing serves
the student's self-check only: the grader judges the memory that the kernel charged to this
process, measured from outside (``Task.measure_memory``).
"""
import tracemalloc

import numpy as np

from . import sandbox_graphs as graphs
from ...sandbox import calls
from ...sandbox.calls import BadReturn, probe, returned_dtype, to_array


def _node_ids(order, known):
    """The student's returned nodes -> their numbers (-1 for objects that are not graph nodes)."""
    if order is None:
        raise BadReturn("topological_order returned None: did you forget a `return` statement?")
    try:
        items = list(order)
    except TypeError:
        raise BadReturn(f"topological_order returned a {type(order).__name__}; expected a list of nodes") from None
    ids = [known.get(id(item), -1) for item in items]
    return np.asarray(ids, dtype=np.float64)


@calls.collector_paused
def topological_order(fns, arrays, params):
    """order(root) on a graph of GraphNodes. -> {"order": node numbers in the returned order}."""
    (order_fn,) = fns
    nodes = graphs.build_graph(arrays["parents"])
    known = {id(node): node.ident for node in nodes}
    order = order_fn(nodes[-1])
    return {"order": _node_ids(order, known)}, {}


def _grad_of(node, what):
    grad = getattr(node, "grad", None)
    if grad is None:
        raise BadReturn(f"{what} has no gradient after backward (its .grad is None)")
    return to_array(grad, what)


@calls.collector_paused
def program_backward(fns, arrays, params):
    """backward(root) on a program of the grader's ops built from the notebook's Tensor and
    Context. -> grad_leaf<i> for every leaf, and backward_calls (one count per op node)."""
    backward, tensor_cls, context_cls = fns
    codes, args = arrays["codes"], arrays["args"]
    leaves = {i: arrays[f"leaf{i}"] for i in range(len(codes)) if codes[i] == graphs.LEAF}
    root, leaf_nodes, ops = graphs.build_program(tensor_cls, context_cls, codes, args, leaves, arrays["dout"],
                                                 arrays["local"])
    backward(root)
    outputs = {f"grad_leaf{i}": _grad_of(node, f"leaf {i}") for i, node in leaf_nodes.items()}
    outputs["backward_calls"] = np.asarray([op.backward_calls for op in ops], dtype=np.float64)

    def evaluate(moved):
        values, loss = graphs.run_program(np, codes, args, {int(k[4:]): v for k, v in moved.items()}, arrays["dout"])
        return loss

    outputs.update(probe(evaluate, {f"leaf{i}": v for i, v in leaves.items()}, arrays))
    return outputs, {}


def _call_op(op_cls, context_cls, values, constants):
    ctx = context_cls()
    out = op_cls.forward(ctx, *values, **constants)
    return ctx, out


def op_rule(fns, arrays, params):
    """One of the student's Op classes: forward(ctx, *inputs, **constants), then backward(ctx, dout).
    -> {"out_<op>", "grad_<input>" for each input}; with the probe of their own forward."""
    classes = dict(zip(("Plus", "Times", "Sigmoid", "RowSum", "Expand", "MatMul", "Context"), fns))
    op_cls, context_cls = classes[params["op"]], classes["Context"]
    names = params["inputs"]
    constants = {"shape": tuple(int(s) for s in arrays["shape"])} if "shape" in arrays else {}
    values = [arrays[name].copy() for name in names]
    ctx, out = _call_op(op_cls, context_cls, values, constants)
    grads = op_cls.backward(ctx, arrays["dout"].copy())
    if not isinstance(grads, (tuple, list)):
        raise BadReturn(f"{params['op']}.backward returned a {type(grads).__name__}; it must return a "
                        f"tuple with one gradient per input, e.g. (grad_x,) for one input")
    if len(grads) != len(names):
        raise BadReturn(f"{params['op']}.backward returned {len(grads)} gradients for {len(names)} input(s)")
    key = f"out_{params['op'].lower()}"
    outputs = {key: to_array(out, f"{params['op']}.forward's output")}
    dtypes = {key: returned_dtype(out)}
    for name, grad in zip(names, grads):
        outputs[f"grad_{name}"] = to_array(grad, f"the gradient for {name.split('_')[-1]}")
        dtypes[f"grad_{name}"] = returned_dtype(grad)

    def evaluate(moved):
        return _call_op(op_cls, context_cls, [moved[name] for name in names], constants)[1]

    outputs.update(probe(evaluate, {name: arrays[name] for name in names}, arrays))
    return outputs, dtypes


# The raw functions behind the counters, kept here and not on the counter: the object handed to
# student code must not lead to an uncounted way of evaluating f (it once had `.f`).
_RAW = {}


class _CountedFunction:
    """f(ops, x) that counts its evaluations and how many of them were on an x of the class
    expected (the notebook's Dual for forward mode, its Tensor for reverse mode)."""

    __slots__ = ("input_cls", "calls", "foreign_calls", "__weakref__")

    def __init__(self, f, input_cls):
        _RAW.clear()  # one counted function at a time
        _RAW[id(self)] = f
        self.input_cls = input_cls
        self.calls, self.foreign_calls = 0, 0

    def __call__(self, ops, x):
        self.calls += 1
        if type(x) is not self.input_cls:
            self.foreign_calls += 1
        return _RAW[id(self)](ops, x)


def jvp(fns, arrays, params):
    """jvp(f, x, v) for a named f(ops, x). -> value, tangent, f_calls, non_dual_calls."""
    jvp_fn, dual_cls = fns
    f = _CountedFunction(graphs.vector_function(params["f"], arrays), dual_cls)
    result = jvp_fn(f, arrays["x"].copy(), arrays["v"].copy())
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise BadReturn("jvp must return a pair (value, tangent)")
    value, tangent = result
    return ({"value": to_array(value, "the value f(x)"), "tangent": to_array(tangent, "the tangent J v"),
             "f_calls": np.asarray(float(f.calls)), "non_dual_calls": np.asarray(float(f.foreign_calls))},
            {"tangent": returned_dtype(tangent)})


def jacobian(fns, arrays, params):
    """jacobian_forward(f, x) and jacobian_reverse(f, x). -> J_forward, J_reverse (m, n), how
    often each evaluated f, and how often on something else than the engine's own input (a Dual
    in forward mode, a Tensor in reverse mode)."""
    forward_fn, reverse_fn, dual_cls, tensor_cls = fns
    outputs, dtypes = {}, {}
    for key, fn, input_cls in (("forward", forward_fn, dual_cls), ("reverse", reverse_fn, tensor_cls)):
        f = _CountedFunction(graphs.vector_function(params["f"], arrays), input_cls)
        J = fn(f, arrays["x"].copy())
        outputs[f"J_{key}"] = to_array(J, f"the Jacobian from jacobian_{key}")
        dtypes[f"J_{key}"] = returned_dtype(J)
        outputs[f"f_calls_{key}"] = np.asarray(float(f.calls))
        outputs[f"foreign_calls_{key}"] = np.asarray(float(f.foreign_calls))
    return outputs, dtypes


def op_counts(fns, arrays, params):
    """jacobian_op_counts(n, m, k) -> (forward-mode count, reverse-mode count)."""
    (count_fn,) = fns
    result = count_fn(int(arrays["n"]), int(arrays["m"]), int(arrays["k"]))
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise BadReturn("jacobian_op_counts must return a pair (forward count, reverse count)")
    return {"forward_count": to_array(result[0], "the forward-mode count"),
            "reverse_count": to_array(result[1], "the reverse-mode count")}, {}


# Taken when the harness imports this module, before any student code runs: the measurement
# below uses these, and a call finding any of them replaced reports the measurement as tampered.
_IS_TRACING, _TRACED_MEMORY = tracemalloc.is_tracing, tracemalloc.get_traced_memory
_PRISTINE = ((graphs.Meter, "record", graphs.Meter.record), (graphs.TanhLayer, "forward", graphs.TanhLayer.forward),
             (graphs.TanhLayer, "backward", graphs.TanhLayer.backward),
             (tracemalloc, "is_tracing", tracemalloc.is_tracing),
             (tracemalloc, "get_traced_memory", tracemalloc.get_traced_memory),
             (tracemalloc, "get_object_traceback", tracemalloc.get_object_traceback))


def _traced_now():
    if not _IS_TRACING():
        return None
    return _TRACED_MEMORY()[0]


def _bookkeeping_intact(layers, meter):
    """The grader's layers and meter still do what they did when this module was imported."""
    if any(getattr(owner, name) is not original for owner, name, original in _PRISTINE):
        return False
    return all(type(layer) is graphs.TanhLayer and layer.meter is meter
               and not ({"forward", "backward"} & set(vars(layer))) for layer in layers) \
        and type(meter) is graphs.Meter and "record" not in vars(meter) and meter.sample is _traced_now


def checkpoint(fns, arrays, params):
    """checkpointed_backward(layers, x, grad_out, segments) on the grader's TanhLayers.

    -> grad_x, grad_W (L, D, D), grad_b (L, D), and what the layers measured: peak_units (the
    largest traced memory sampled at any layer call above the start, in units of one activation),
    forward_calls, backward_calls, tampered (1 when tracing was stopped or cleared)."""
    (checkpointed,) = fns
    weights, biases = arrays["W"], arrays["b"]
    x, grad_out = arrays["x"].copy(), arrays["dout"].copy()
    unit = float(x.nbytes)
    was_tracing = _IS_TRACING()
    if not was_tracing:
        tracemalloc.start()
    try:
        meter = graphs.Meter(_traced_now)
        layers = [graphs.TanhLayer(weights[i].copy(), biases[i].copy(), meter) for i in range(len(weights))]
        sentinel = np.ones(64)
        intact = _bookkeeping_intact(layers, meter)
        baseline = _TRACED_MEMORY()[0]
        grad_x = checkpointed(layers, x, grad_out, int(arrays["segments"]))
        intact = (intact and _bookkeeping_intact(layers, meter) and _IS_TRACING()
                  and tracemalloc.get_object_traceback(sentinel) is not None)
    finally:
        if not was_tracing and _IS_TRACING():
            tracemalloc.stop()
    outputs = {
        "grad_x": to_array(grad_x, "the gradient for x"),
        "grad_W": np.stack([layer.grad_W for layer in layers]),
        "grad_b": np.stack([layer.grad_b for layer in layers]),
        "peak_units": np.asarray(max(0.0, meter.peak - baseline) / unit),
        "forward_calls": np.asarray(float(meter.forward_calls)),
        "backward_calls": np.asarray(float(meter.backward_calls)),
        "tampered": np.asarray(float(meter.tampered or not intact)),
    }
    return outputs, {"grad_x": returned_dtype(grad_x)}


def torch_graph(fns, arrays, params):
    """read_torch_graph(program, inputs) -> names (encoded) and grad_<leaf> after two backward calls."""
    (read_graph,) = fns
    program = graphs.TORCH_PROGRAMS[params["program"]]
    inputs = {name: arrays[name].copy() for name in params["leaves"]}
    result = read_graph(program, inputs)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise BadReturn("read_torch_graph must return a pair (names, grads)")
    names, grads = result
    if isinstance(names, str) or not hasattr(names, "__iter__"):
        raise BadReturn("the names must be a list of strings, one per node")
    if not isinstance(grads, dict):
        raise BadReturn(f"the gradients must be a dict {{leaf name: gradient}}, not a {type(grads).__name__}")
    outputs = {"names": graphs.encode_names(graphs.short_name(n) for n in names)}
    for name in params["leaves"]:
        if name not in grads:
            raise BadReturn(f"the gradient dict has no entry {name!r}")
        grad = grads[name]
        if hasattr(grad, "detach"):
            grad = grad.detach().cpu().numpy()
        outputs[f"grad_{name}"] = to_array(grad, f"the gradient for {name}")
    return outputs, {}


MAX_COUNTEREXAMPLE_NODES = 500


def counterexample(fns, arrays, params):
    """breadth_first_counterexample() -> (root, leaf), a graph of Plus, Times and Sigmoid on scalar
    leaves, sent back as a program table (codes, args, leaf values) numbered by the grader's own
    walk; the trusted side recomputes everything from that table."""
    make, plus, times, sigmoid, tensor_cls = fns
    result = make()
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise BadReturn("breadth_first_counterexample must return a pair (root, leaf)")
    root, leaf = result
    codes_of = {plus: graphs.OP_NAMES.index("add"), times: graphs.OP_NAMES.index("mul"),
                sigmoid: graphs.OP_NAMES.index("sigmoid")}
    order, seen, stack = [], set(), [(root, False)]
    while stack:  # the grader's own topological walk: the student's is not trusted here
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        if type(node) is not tensor_cls:
            raise BadReturn("the graph holds something that is not a Tensor: build it with Tensor leaves "
                            "and Plus.apply, Times.apply, Sigmoid.apply")
        seen.add(id(node))
        if len(seen) > MAX_COUNTEREXAMPLE_NODES:
            raise BadReturn(f"the graph has more than {MAX_COUNTEREXAMPLE_NODES} nodes; a handful is enough")
        stack.append((node, True))
        stack.extend((parent, False) for parent in node.parents if id(parent) not in seen)
    index = {id(node): i for i, node in enumerate(order)}
    codes, args, values = [], [], []
    for node in order:
        if node.op is None:
            if np.shape(node.value) != ():
                raise BadReturn("use scalar leaves, e.g. Tensor(0.7)")
            codes.append(graphs.LEAF)
            args.append([-1, -1])
            values.append(float(node.value))
            continue
        if node.op not in codes_of:
            raise BadReturn(f"the graph uses {getattr(node.op, '__name__', node.op)!r}; build it from Plus, "
                            f"Times and Sigmoid only")
        parents = [index[id(p)] for p in node.parents]
        if len(parents) != graphs.ARITY[graphs.OP_NAMES[codes_of[node.op]]]:
            raise BadReturn("an op node has the wrong number of parents")
        codes.append(codes_of[node.op])
        args.append(parents + [-1] * (2 - len(parents)))
        values.append(0.0)
    if id(leaf) not in index or order[index[id(leaf)]].op is not None:
        raise BadReturn("the second thing returned must be a leaf Tensor of the graph (one with op None)")
    return {"codes": np.asarray(codes, dtype=np.float64), "args": np.asarray(args, dtype=np.float64),
            "leaf_values": np.asarray(values), "leaf_index": np.asarray(float(index[id(leaf)]))}, {}


CALLS = calls.call_table(
    topological_order, program_backward, op_rule, jvp, jacobian, op_counts, checkpoint,
    torch_graph, counterexample)
