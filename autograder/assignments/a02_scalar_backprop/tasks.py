"""Task specs of assignment 02, the scalar chain rule and a student-built Value engine.

Every gradient has two references: float64 torch autograd on the same computation (below, or
``reference.py`` for graphs), and the contract's numerical check of the student's
backward against their own forward (``add_probe``). Plain-number exercises use rtol 1e-12 and
inputs at ties, which central differences cannot reach; the Value engine is graded on graphs
drawn at grade time, among them a 10,000-node-deep chain and a graph of 2,000 leaves that a
finite-difference "backward" cannot get through within the time limit.
"""
import math

import numpy as np

from . import reference as graphs
from . import sandbox_graphs as eg
from ...judging.compare import Verdict, compare_values
from ...judging.diagnosis import Mistake
from ...judging.choice import choice_tasks
from ...judging.spec import NO_SHORTCUTS, Assignment, Case, Check, Task, add_probe, scalar

# ---- 1. local gradients of gates --------------------------------------------------------------
GATES = ("add", "mul", "max", "sigmoid", "tanh", "exp", "pow")
BINARY_GATES = ("add", "mul", "max")


def _gate_torch(op, a, b, n):
    import torch

    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "max":
        return torch.where(a >= b, a, b)  # a tie routes the whole gradient to the first input
    if op == "pow":
        return a ** n
    return getattr(torch, op)(a)


def _gate_case(rng, op, inputs, n=None, probed=True):
    arrays = {"inputs": np.asarray(inputs, dtype=np.float64)}
    if op == "pow":
        arrays["n"] = scalar(n)
    if probed:
        arrays = add_probe(arrays, rng, ["inputs"])
    return Case(arrays, {"op": op})


def _gate_cases(rng, hidden):
    fixed = np.random.default_rng(11)
    if not hidden:
        return [_gate_case(fixed, "add", [-2.0, 5.0]), _gate_case(fixed, "mul", [3.0, -4.0]),
                _gate_case(fixed, "max", [2.0, -1.0]), _gate_case(fixed, "max", [1.5, 1.5], probed=False),
                _gate_case(fixed, "sigmoid", [1.0]), _gate_case(fixed, "tanh", [0.5]),
                _gate_case(fixed, "exp", [-1.0]), _gate_case(fixed, "pow", [3.0], n=2.0)]
    cases = []
    for op in GATES:
        for _ in range(2):
            if op in BINARY_GATES:
                a, b = rng.uniform(-3, 3, size=2)
                if op == "max" and abs(a - b) < 0.1:
                    b = a + 0.5
                cases.append(_gate_case(rng, op, [a, b]))
            elif op == "pow":
                cases.append(_gate_case(rng, op, [rng.uniform(0.3, 2.5)], n=float(rng.choice(graphs.EXPONENTS))))
            else:
                cases.append(_gate_case(rng, op, [rng.uniform(-2.5, 2.5)]))
    tie = float(rng.uniform(-2, 2))
    cases.append(_gate_case(rng, "max", [tie, tie], probed=False))  # central differences give 1/2
    return cases


def _gate_reference(case):
    import torch

    op = case.params["op"]
    inputs = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in case.arrays["inputs"]]
    n = float(case.arrays["n"]) if op == "pow" else None
    out = _gate_torch(op, inputs[0], inputs[1] if len(inputs) > 1 else None, n)
    grads = torch.autograd.grad(out, inputs)
    result = {"out": scalar(float(out.detach()))}
    # at a tie of max every split (a, 1 - a), 0 <= a <= 1, is a valid subgradient: that case is
    # judged by its own check, which accepts any of them (torch's choice is only one)
    key = "grad_inputs_at_tie" if _is_max_tie(case) else "grad_inputs"
    result[key] = np.array([float(g) for g in grads])
    return result


def _is_max_tie(case):
    values = case.arrays["inputs"]
    return case.params["op"] == "max" and float(values[0]) == float(values[1])


def tie_split_is_valid(expected, got, case):
    """At a tie of max: the two local gradients are a and 1 - a for some 0 <= a <= 1."""
    grads = got.get("grad_inputs")
    if grads is None or np.shape(grads) != (2,):
        return Verdict(False, "the local gradients at a tie of max: expected two numbers")
    a, b = (float(v) for v in np.asarray(grads).reshape(-1))
    if np.isfinite([a, b]).all() and -1e-12 <= a <= 1 + 1e-12 and abs(a + b - 1.0) <= 1e-12:
        return Verdict(True)
    return Verdict(False, "at a tie of max (x == y) the local gradients must be a valid split of "
                   "the incoming gradient: a for x and 1 - a for y with 0 <= a <= 1 (all to x, "
                   "all to y, or half each are all right); they do not add up to 1 here.",
                   mistakes=[Mistake("max_tie_not_a_split", "at a tie, the two local gradients of "
                                     "max must add up to 1, each between 0 and 1")])


def _gate_variants(case):
    op, values = case.params["op"], [float(v) for v in case.arrays["inputs"]]
    x = values[0]
    s = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
    wrong = {}
    if op == "tanh":
        wrong["tanh_from_input"] = [1.0 - x * x]
    if op == "sigmoid":
        wrong["sigmoid_one_minus_k"] = [s(x) * s(1.0 - x)]
        wrong["sigmoid_from_input"] = [x * (1.0 - x)]
    if op == "pow":
        n = float(case.arrays["n"])
        wrong["pow_without_n"] = [x ** (n - 1)]
        wrong["pow_n_x_n"] = [n * x ** n]
    messages = dict(graphs.RULE_MISTAKES)
    if op == "max":
        y = values[1]
        messages["max_routes_smaller"] = "max sent the gradient to the smaller input: it goes to the larger one"
        if x != y:
            wrong["max_routes_smaller"] = [0.0, 1.0] if x > y else [1.0, 0.0]
    if op == "mul":
        messages["mul_not_swapped"] = ("the multiply gate's local gradients are the inputs swapped: "
                                       "d(xy)/dx = y and d(xy)/dy = x")
        wrong["mul_not_swapped"] = values
    return {code: (messages[code], {"grad_inputs": np.asarray(v, dtype=np.float64)}) for code, v in wrong.items()}


GATE_GRADIENTS = Task(
    grade_id="test_local_gradients", title="local_gradients(op, x, y): a gate's output and local gradients",
    points=3, answer_cells=("local_gradients",), functions=("local_gradients",), call="gate_gradients",
    make_cases=_gate_cases, reference=_gate_reference, variants=_gate_variants,
    checks=(Check("the gate's output", ("out",), weight=1, rtol=1e-12),
            Check("the local gradients", ("grad_inputs",), weight=1.5, rtol=1e-12, probe=True, forward=("out",),
                  hint="write each derivative from its formula."),
            Check("the local gradients at a tie of max", ("grad_inputs_at_tie",), weight=0.5, rtol=1e-12,
                  compare=tie_split_is_valid)),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="gates")


# ---- 2. the staged example (x + sigma(y)) / (sigma(x) + (x + y)^2) --------------------------------
def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


def _staged_cases(rng, hidden):
    points = [(3.0, -4.0), (-1.0, 2.0)] if not hidden else [tuple(rng.uniform(-4, 4, size=2)) for _ in range(8)]
    fixed = np.random.default_rng(12) if not hidden else rng
    return [Case(add_probe({"x": scalar(x), "y": scalar(y)}, fixed, ["x", "y"])) for x, y in points]


def _staged_reference(case):
    import torch

    x, y = (torch.tensor(float(case.arrays[k]), dtype=torch.float64, requires_grad=True) for k in ("x", "y"))
    f = (x + torch.sigmoid(y)) / (torch.sigmoid(x) + (x + y) ** 2)
    dx, dy = torch.autograd.grad(f, (x, y))
    return {"out": scalar(float(f.detach())), "grad_x": scalar(float(dx)), "grad_y": scalar(float(dy))}


def _staged_parts(case):
    """The lecture's staged backward, term by term: {input: [contribution of each use]}."""
    x, y = float(case.arrays["x"]), float(case.arrays["y"])
    sigy, sigx, xpy = _sigmoid(y), _sigmoid(x), x + y
    num, den = x + sigy, sigx + xpy ** 2
    dnum, dden = 1.0 / den, -num / den ** 2
    dxpy = 2 * xpy * dden
    return {"x": [dxpy, sigx * (1 - sigx) * dden, dnum], "y": [dxpy, sigy * (1 - sigy) * dnum]}, \
        (x, y, sigx, sigy, dden, dnum, dxpy)


def _staged_variants(case):
    parts, (x, y, sigx, sigy, dden, dnum, dxpy) = _staged_parts(case)
    s = _sigmoid
    return {
        "overwrite_at_fork": (graphs.FLOW_MISTAKES["overwrite_at_fork"],
                              {"grad_x": scalar(parts["x"][-1]), "grad_y": scalar(parts["y"][-1])}),
        "sigmoid_one_minus_k": (graphs.RULE_MISTAKES["sigmoid_one_minus_k"], {
            "grad_x": scalar(dxpy + s(x) * s(1 - x) * dden + dnum), "grad_y": scalar(dxpy + s(y) * s(1 - y) * dnum)}),
        "sigmoid_from_input": (graphs.RULE_MISTAKES["sigmoid_from_input"], {
            "grad_x": scalar(dxpy + x * (1 - x) * dden + dnum), "grad_y": scalar(dxpy + y * (1 - y) * dnum)}),
    }


def _staged_branches(case):
    parts, _ = _staged_parts(case)
    uses = {"x": ["x + y", "sigma(x)", "the numerator x + sigma(y)"], "y": ["x + y", "sigma(y)"]}
    return {"branches": {f"grad_{k}": {f"the use of {k} in {u}": scalar(p) for u, p in zip(uses[k], parts[k])}
                         for k in parts}}


STAGED = Task(
    grade_id="test_staged_backprop", title="staged_example(x, y): forward and staged backward of "
    "(x + sigma(y)) / (sigma(x) + (x + y)**2)", points=4, answer_cells=("staged_example",),
    functions=("staged_example",), call="staged_backprop", make_cases=_staged_cases,
    reference=_staged_reference, variants=_staged_variants, diagnosis_context=_staged_branches,
    checks=(Check("f(x, y)", ("out",), weight=1, rtol=1e-12),
            Check("df/dx and df/dy", ("grad_x", "grad_y"), weight=3, rtol=1e-12, probe=True, forward=("out",),
                  hint="x and y are each used more than once: add (+=) the gradient of every use.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="staged")


# ---- 3. the scalar two-layer net Yp = sigma(X W1 + b1) W2 + b2 ------------------------------------
NET = ("W1", "b1", "W2", "b2")


def _net_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(13)
        by_hand = {"X": 2.0, "Y": 1.0, "W1": 0.5, "b1": -1.0, "W2": 3.0, "b2": 0.5}  # Z2 = 0, sigma = 1/2
        other = {"X": -1.5, "Y": 0.25, "W1": 1.2, "b1": 0.3, "W2": -0.7, "b2": 0.1}
        draws = [by_hand, other]
    else:
        fixed = rng
        draws = [dict(zip(("X", "Y") + NET, rng.normal(size=6) * 1.5)) for _ in range(8)]
    return [Case(add_probe({k: scalar(v) for k, v in d.items()}, fixed, list(NET))) for d in draws]


def _net_reference(case):
    import torch

    t = {k: torch.tensor(float(v), dtype=torch.float64, requires_grad=k in NET) for k, v in case.arrays.items()
         if k in ("X", "Y") + NET}
    loss = 0.5 * (torch.sigmoid(t["X"] * t["W1"] + t["b1"]) * t["W2"] + t["b2"] - t["Y"]) ** 2
    grads = torch.autograd.grad(loss, [t[k] for k in NET])
    return {"out": scalar(float(loss.detach())), **{f"grad_{k}": scalar(float(g)) for k, g in zip(NET, grads)}}


def _net_variants(case):
    v = {k: float(case.arrays[k]) for k in ("X", "Y") + NET}
    z2 = v["X"] * v["W1"] + v["b1"]
    z3 = _sigmoid(z2)
    dyp = z3 * v["W2"] + v["b2"] - v["Y"]

    def wrong(local):
        dz2 = local * v["W2"] * dyp
        return {"grad_W1": scalar(v["X"] * dz2), "grad_b1": scalar(dz2)}

    return {
        "sigmoid_one_minus_k": (graphs.RULE_MISTAKES["sigmoid_one_minus_k"], wrong(_sigmoid(z2) * _sigmoid(1 - z2))),
        "sigmoid_from_input": (graphs.RULE_MISTAKES["sigmoid_from_input"], wrong(z2 * (1 - z2))),
        "no_sigmoid_derivative": ("the delta of the hidden pre-activation lacks sigma'(Z2): "
                                  "delta Z2 = sigma'(Z2) * W2 * delta Yp", wrong(1.0)),
    }


SCALAR_NET = Task(
    grade_id="test_scalar_net", title="scalar_net(X, Y, W1, b1, W2, b2): loss and gradients by deltas",
    points=4, answer_cells=("scalar_net",), functions=("scalar_net",), call="scalar_net",
    make_cases=_net_cases, reference=_net_reference, variants=_net_variants,
    checks=(Check("the loss L", ("out",), weight=1, rtol=1e-12),
            Check("dL/dW1, dL/db1, dL/dW2, dL/db2", tuple(f"grad_{k}" for k in NET), weight=3, rtol=1e-12,
                  probe=True, forward=("out",),
                  hint="compute the deltas from the output back: delta Yp, then delta Z3 = W2 delta Yp, "
                       "then delta Z2 = sigma'(Z2) delta Z3.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="net")


# ---- 4. and 5. the Value engine on graphs -----------------------------------------------------
def _graph_case(rng, description, leaves, twice=False, probed=True):
    """probed=False: no probe of the student's forward (3 builds of the graph instead of 1), for
    the one case sized against finite differences, where the reference's time sets the limit."""
    eg.check_description(description)
    arrays = {"leaves": np.asarray(leaves, dtype=np.float64)}
    return Case(add_probe(arrays, rng, ["leaves"]) if probed else arrays,
                {"graph": description, "twice": bool(twice)})


def _with_weight(description, leaves, weight):
    """description * weight (one more leaf), so the output's upstream gradient is not 1."""
    n = description["n_leaves"]
    shifted = []
    for entry in description["ops"]:
        kind = eg.OPS[entry[0]][0]
        refs = [i if i < n else i + 1 for i in (entry[1:3] if kind == "binary" else entry[1:2])]
        shifted.append([entry[0], *refs] + (list(entry[2:3]) if kind in ("const", "rconst") else []))
    last = n + 1 + len(shifted) - 1
    return ({"n_leaves": n + 1, "ops": shifted + [["mul", last, n]]},
            list(leaves) + [weight])


def _one_op(name, a, b=None, c=None):
    kind = eg.OPS[name][0]
    if kind == "binary":
        return {"n_leaves": 2, "ops": [[name, 0, 1]]}, [a, b]
    if kind == "unary":
        return {"n_leaves": 1, "ops": [[name, 0]]}, [a]
    return {"n_leaves": 1, "ops": [[name, 0, c]]}, [a]


LECTURE_GRAPHS = {
    # (x + y) z at (-2, 5, -4): f = -12, gradients (-4, -4, 3)
    "circuit": ({"n_leaves": 3, "ops": [["add", 0, 1], ["mul", 3, 2]]}, [-2.0, 5.0, -4.0]),
    # b = a + a; c = b + b: dc/da = 4 (a recursive per-path backward counts 8)
    "doubling": ({"n_leaves": 1, "ops": [["add", 0, 0], ["add", 1, 1]]}, [3.0]),
    # the sigmoid neuron w = [2, -3, -3], x = [-1, -2]: f = 0.7311
    "neuron": ({"n_leaves": 5, "ops": [["mul", 0, 3], ["mul", 1, 4], ["add", 5, 6], ["add", 7, 2],
                                       ["sigmoid", 8]]}, [2.0, -3.0, -3.0, -1.0, -2.0]),
    # (x + sigma(y)) / (sigma(x) + (x + y)^2) at (3, -4): df/dx = 2.0596, df/dy = 1.5922
    "staged": ({"n_leaves": 2, "ops": [["sigmoid", 1], ["add", 0, 2], ["sigmoid", 0], ["add", 0, 1],
                                       ["pow", 5, 2.0], ["add", 4, 6], ["div", 3, 7]]}, [3.0, -4.0]),
    # a used by two different ops: f = a * b + exp(a)
    "fork": ({"n_leaves": 2, "ops": [["mul", 0, 1], ["exp", 0], ["add", 2, 3]]}, [0.7, -1.3]),
    "square": ({"n_leaves": 1, "ops": [["mul", 0, 0], ["tanh", 1]]}, [0.6]),
}

OP_EXAMPLES = [("add", 1.5, -0.5), ("sub", 1.5, -0.5), ("mul", 2.0, -3.0), ("div", 1.0, 4.0),
               ("addc", 0.5, None, 2.0), ("subc", 0.5, None, 2.0), ("mulc", 0.5, None, -3.0),
               ("divc", 0.5, None, 4.0), ("pow", 1.5, None, 3.0), ("pow", 2.0, None, -1.0),
               ("pow", 4.0, None, 0.5), ("radd", 0.5, None, 2.0), ("rsub", 0.5, None, 2.0),
               ("rmul", 0.5, None, -3.0), ("rdiv", 2.0, None, 3.0), ("neg", 0.8), ("exp", 0.3),
               ("tanh", 0.8), ("relu", 0.9), ("relu", -0.4), ("relu", 0.0), ("sigmoid", 0.6)]
# ("relu", 0.0): the notebook's rule at the kink (derivative 0 at 0) is checked where students see it


def _ops_cases(rng, hidden):
    fixed = np.random.default_rng(14)
    if not hidden:
        cases = [_graph_case(fixed, *_with_weight(*_one_op(*example), 1.7)) for example in OP_EXAMPLES]
        return cases + [_graph_case(fixed, *LECTURE_GRAPHS[k]) for k in ("circuit", "square", "doubling", "fork")]
    cases = []
    for name in eg.OPS:
        for _ in range(2 if name == "pow" else 1):
            description, leaves = graphs.random_graph(rng, 2, 1, ops=(name,))
            cases.append(_graph_case(rng, *_with_weight(description, leaves, float(rng.uniform(-2, 2)))))
    for n_leaves, n_ops in ((1, 4), (3, 20), (5, 60), (8, 100)):
        cases.append(_graph_case(rng, *graphs.random_graph(rng, n_leaves, n_ops)))
    return cases


_REFERENCES = {}  # id(leaves array) -> (that array, torch result): reference and variants share one build


def _graph_reference(case):
    """(values, leaf grads) of the case's graph by torch, built once per case."""
    leaves = case.arrays["leaves"]
    cached = _REFERENCES.get(id(leaves))
    if cached is None or cached[0] is not leaves:
        if len(_REFERENCES) > 256:
            _REFERENCES.clear()
        cached = _REFERENCES[id(leaves)] = (leaves, graphs.torch_reference(case.params["graph"], leaves))
    return cached[1]


def _ops_reference(case):
    values, grads = _graph_reference(case)
    return {"values": values, "grad_leaves": grads}


def _graph_variants(codes):
    def variants(case):
        _, reference = _graph_reference(case)
        return graphs.variants(case.params["graph"], case.arrays["leaves"], "grad_leaves", codes, reference)
    return variants


def _graph_branches(case):
    return {"branches": graphs.overwrite_branches(case.params["graph"], case.arrays["leaves"], "grad_leaves")}


VALUE_OPS = Task(
    grade_id="test_value_ops", title="Value: + - * / ** (number exponent), reflected ops, exp, tanh, relu, sigmoid",
    points=5, answer_cells=("value_ops",), functions=("Value",), call="value_ops",
    make_cases=_ops_cases, reference=_ops_reference,
    variants=_graph_variants(tuple(graphs.RULE_MISTAKES) + ("overwrite_at_fork",)),
    diagnosis_context=_graph_branches,
    checks=(Check("the data of every node", ("values",), weight=2, rtol=1e-12),
            Check("the leaves' grads after each node's _backward ran, output first", ("grad_leaves",),
                  weight=3, rtol=1e-12, probe=True, forward=("values",),
                  hint="each _backward adds (+=) local derivative * out.grad into its inputs' grad.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="ops")


CHAIN_LINKS = 3000  # 6,001 leaves, 9,000 ops, 9,001 nodes deep


def _backward_cases(rng, hidden):
    fixed = np.random.default_rng(15)
    if not hidden:
        cases = [_graph_case(fixed, *LECTURE_GRAPHS[k], twice=k in ("circuit", "fork"))
                 for k in ("circuit", "doubling", "neuron", "staged", "fork", "square")]
        # 2,101 nodes deep: a recursive sort fails here already, in the student's own kernel
        return cases + [_graph_case(fixed, *graphs.chain_graph(fixed, 700), probed=False)]
    cases = [_graph_case(rng, *_with_weight(*LECTURE_GRAPHS[k], float(rng.uniform(0.5, 2.0))), twice=True)
             for k in ("doubling", "fork", "square")]
    for n_leaves, n_ops, twice in ((1, 6, True), (3, 15, False), (4, 40, True), (6, 120, False), (2, 200, True)):
        cases.append(_graph_case(rng, *graphs.random_graph(rng, n_leaves, n_ops), twice=twice))
    # many leaves, wide (operands from the last 40 nodes); its output reaches only some of them
    cases.append(_graph_case(rng, *graphs.random_graph(rng, 120, 200, recent=40)))
    # The deep chain: a recursive sort or backward exceeds Python's recursion limit (about 1,000
    # nested calls) on it, as on the visible chain (2,101 deep), which it is more than four times
    # as deep as. Sized so that a finite-difference "backward" cannot finish within the limit:
    # every leaf reaches the output, 2 forward passes of the whole chain per leaf, where the
    # reference builds, sorts and walks it about 30 forward passes' worth (no probe here: 2 more
    # builds). Finite differences grow as leaves x ops, the reference as leaves + ops.
    # central differences: 12,002 forwards of 2.7 ms = 32 s against a limit of 2.7-2.9 s
    # (20 x the reference's 0.135-0.144 s CPU for this task in the sandbox): 11-12.6 x, measured
    # side by side in one run on 2 shared cores (load 4.5).
    cases.append(_graph_case(rng, *graphs.chain_graph(rng, CHAIN_LINKS), probed=False))
    return cases


def _reachable(description):
    flags = np.zeros(eg.n_nodes(description))
    flags[graphs._dfs_order(description)] = 1.0
    return flags


# The order check ships to the student's kernel as source (autograder.selfcheck): NumPy,
# Verdict and compare_values only, with its module-level helper.
BINARY_OPS = ("add", "sub", "mul", "div")  # the ops of sandbox_graphs.OPS with two node operands


def order_flags(description, order_nodes):
    """(n_nodes,) flags computed here from the node numbers the sandbox sent back in the student's
    order: entry i is 1.0 when node i appears exactly once and after each of its operands. Any
    valid order passes; -1 entries (objects that are not graph nodes) are allowed.

    Vectorised (one pass over the ops to list operands, the rest in NumPy): it runs for every
    submission on graphs of thousands of nodes."""
    n_leaves, ops = int(description["n_leaves"]), description["ops"]
    n = n_leaves + len(ops)
    order = np.asarray(order_nodes, dtype=np.int64).reshape(-1)
    positions = np.flatnonzero((order >= 0) & (order < n))
    nodes = order[positions]
    count = np.bincount(nodes, minlength=n)[:n]
    where = np.full(n, -1, dtype=np.int64)  # the last position of each node in the order
    np.maximum.at(where, nodes, positions)
    # each node's operands (a unary op lists its one operand twice; a leaf lists itself twice and
    # is then compared with itself, which only asks that it be present)
    first = np.arange(n)
    second = np.arange(n)
    first[n_leaves:] = [entry[1] for entry in ops]
    second[n_leaves:] = [entry[2] if entry[0] in BINARY_OPS else entry[1] for entry in ops]
    is_leaf = first == np.arange(n)

    def before(parent):
        return is_leaf | ((where[parent] >= 0) & (where[parent] < where))

    return ((count == 1) & before(first) & before(second)).astype(np.float64)


ORDER_RTOL = 0.1


def valid_order(reference, outputs, case):
    """Verdict on the student's order, judged from the node numbers that came back."""
    got = outputs.get("order_nodes")
    n = len(reference["order_ok"])
    if got is None or got.ndim != 1 or got.size > 4 * n + 1 or not np.all(np.isfinite(got)) \
            or np.any(got != np.round(got)) or np.any((got < -1) | (got >= n)):
        return Verdict(False, "topological_order must return a list of the graph's nodes (each at most "
                              "once), and not many more objects than the graph has nodes", kind="invalid")
    return compare_values(reference["order_ok"], order_flags(case.params["graph"], got),
                          what="order_ok", rtol=ORDER_RTOL)


def _backward_reference(case):
    values, grads = _graph_reference(case)
    ref = {"out": scalar(values[-1]), "grad_leaves": grads, "order_ok": _reachable(case.params["graph"])}
    if case.params.get("twice"):
        ref["grad2_leaves"] = 2.0 * grads
    return ref


def _backward_variants(case):
    found = _graph_variants(tuple(graphs.FLOW_MISTAKES))(case)
    if case.params.get("twice"):
        _, grads = _graph_reference(case)
        second = graphs.variants(case.params["graph"], case.arrays["leaves"], "grad2_leaves",
                                 tuple(graphs.SECOND_PASS_MISTAKES), 2.0 * grads)
        found.update(second)
    return found


VALUE_BACKWARD = Task(
    grade_id="test_value_backward", title="topological_order(root) and Value.backward()",
    points=5, answer_cells=("value_ops", "value_backward"), functions=("Value", "topological_order"),
    call="value_backward", make_cases=_backward_cases, reference=_backward_reference,
    variants=_backward_variants, diagnosis_context=_graph_branches,
    checks=(Check("the output's data", ("out",), weight=1, rtol=1e-10),
            Check("a valid topological order (any one: each node after its inputs)", ("order_ok",), weight=1,
                  rtol=0.1, compare=valid_order, hint="order_ok has one entry per node: 1 when the node is in your list exactly "
                                 "once and after all of its inputs. Use a depth-first search with an explicit "
                                 "stack: a node goes into the list after all of its inputs."),
            Check("the leaves' grads after out.backward()", ("grad_leaves",), weight=3, rtol=1e-10,
                  probe=True, forward=("out",),
                  hint="sort once, set out.grad = 1, then call _backward on each node in reverse order."),
            Check("the leaves' grads after a second out.backward() (they add up, as in PyTorch)",
                  ("grad2_leaves",), weight=1, rtol=1e-10,
                  hint="at the start of backward() reset the grad of every node that has inputs; leave the "
                       "leaves' grads alone so they accumulate.")),
    forbidden=NO_SHORTCUTS, timeout=30, short_name="backward")


# ---- 6. and 7. an MLP of Values -------------------------------------------------------------------
def _mlp_case(rng, nin, nouts, n_examples, with_lr=False):
    sizes = [nin] + list(nouts)
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    arrays = {"theta": rng.normal(size=n_params) * 0.8, "X": rng.normal(size=(n_examples, nin)),
              "y": rng.normal(size=n_examples)}
    if with_lr:
        arrays["lr"] = scalar(rng.uniform(0.05, 0.3))
    else:
        arrays = add_probe(arrays, rng, ["theta"])
    return Case(arrays, {"nin": int(nin), "nouts": [int(k) for k in nouts]})


MLP_SIZES = {False: [(2, (3, 1), 2), (1, (1,), 1)],
             True: [(3, (4, 2, 1), 5), (1, (1,), 1), (2, (5, 1), 3), (4, (3, 3, 1), 6), (1, (2, 1), 4)]}


def _mlp_cases(with_lr):
    def make_cases(rng, hidden):
        source = rng if hidden else np.random.default_rng(16)
        return [_mlp_case(source, *size, with_lr=with_lr) for size in MLP_SIZES[hidden]]
    return make_cases


def _torch_mlp(case, theta, output_tanh=False, hidden_tanh=True):
    """Forward of the notebook's MLP from the flat parameters (per neuron: weights, then bias)."""
    import torch

    sizes = [case.params["nin"]] + case.params["nouts"]
    h = torch.tensor(case.arrays["X"], dtype=torch.float64).T
    start = 0
    for layer, (nin, nout) in enumerate(zip(sizes[:-1], sizes[1:])):
        block = theta[start:start + nout * (nin + 1)].reshape(nout, nin + 1)
        start += nout * (nin + 1)
        h = block[:, :nin] @ h + block[:, nin:]
        last = layer == len(sizes) - 2
        if (hidden_tanh and not last) or (output_tanh and last):
            h = torch.tanh(h)
    y = torch.tensor(case.arrays["y"], dtype=torch.float64)
    return 0.5 * ((h[0] - y) ** 2).mean()


def _mlp_grad(case, **kw):
    import torch

    theta = torch.tensor(case.arrays["theta"], dtype=torch.float64, requires_grad=True)
    loss = _torch_mlp(case, theta, **kw)
    (grad,) = torch.autograd.grad(loss, theta)
    return float(loss.detach()), grad.numpy().copy()


def _mlp_reference(case):
    loss, grad = _mlp_grad(case)
    return {"out": scalar(loss), "grad_theta": grad}


def _mlp_variants(case):
    found = {}
    if case.params["nouts"][:-1]:
        found["no_hidden_tanh"] = ("the hidden layers are linear: apply tanh to every layer's outputs "
                                   "except the last", {"grad_theta": _mlp_grad(case, hidden_tanh=False)[1]})
    found["pow_without_n"] = ("every gradient is half the expected one: squared_loss squares with ** 2, so "
                              "check the factor n of the power rule in your __pow__",
                              {"grad_theta": 0.5 * _mlp_grad(case)[1]})
    found["output_tanh"] = ("the last layer also applies tanh: the output neuron is linear (nonlin=False)",
                            {"grad_theta": _mlp_grad(case, output_tanh=True)[1]})
    return found


MLP_GRADIENTS = Task(
    grade_id="test_mlp_gradients", title="Neuron, Layer, MLP of Values: parameter gradients of squared_loss",
    points=4, answer_cells=("value_ops", "value_backward", "mlp"), functions=("MLP", "squared_loss"),
    call="mlp_gradients", make_cases=_mlp_cases(False), reference=_mlp_reference, variants=_mlp_variants,
    checks=(Check("the loss", ("out",), weight=1, rtol=1e-10),
            Check("every parameter's grad", ("grad_theta",), weight=3, rtol=1e-10, probe=True, forward=("out",))),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="mlp")


def _steps(case, zero_grad=True, sign=-1.0):
    import torch

    theta = torch.tensor(case.arrays["theta"], dtype=torch.float64)
    lr, losses, accumulated = float(case.arrays["lr"]), [], torch.zeros_like(theta)
    for _ in range(2):
        t = theta.clone().requires_grad_(True)
        loss = _torch_mlp(case, t)
        (grad,) = torch.autograd.grad(loss, t)
        accumulated = grad if zero_grad else accumulated + grad
        losses.append(float(loss.detach()))
        theta = theta + sign * lr * accumulated
    return {"losses": np.array(losses), "theta_after": theta.numpy().copy()}


def _train_variants(case):
    return {"no_zero_grad": ("the second step used the sum of both steps' gradients: zero every "
                             "parameter's grad before loss.backward()", _steps(case, zero_grad=False)),
            "ascent": ("the parameters moved uphill: p.data -= lr * p.grad", _steps(case, sign=1.0))}


TRAIN_STEP = Task(
    grade_id="test_train_step", title="train_step(model, X, y, lr): zero grads, loss, backward, update",
    points=3, answer_cells=("value_ops", "value_backward", "mlp", "train_step"),
    functions=("MLP", "squared_loss", "train_step"), call="mlp_train_step", make_cases=_mlp_cases(True),
    reference=_steps, variants=_train_variants,
    checks=(Check("the losses train_step returned", ("losses",), weight=1, rtol=1e-10),
            Check("the parameters after two steps", ("theta_after",), weight=2, rtol=1e-10,
                  hint="each step: zero the grads, compute the loss, backward, then p.data -= lr * p.grad.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="step")


QUESTIONS = choice_tasks(__file__, forbidden=NO_SHORTCUTS)  # questions.toml


ASSIGNMENT = Assignment(
    assignment_id="02_scalar_backprop",
    tasks=(GATE_GRADIENTS, STAGED, SCALAR_NET, VALUE_OPS, VALUE_BACKWARD, MLP_GRADIENTS, TRAIN_STEP,
           *QUESTIONS),
)
