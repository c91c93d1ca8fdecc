"""Task specs of assignment 05, inside an autodiff engine.

Orders are graded by property (every node after its inputs, each reachable node once), not
against one depth-first order. Counts (backward calls per op node, evaluations of f, forward
calls of a layer) are counted by the grader's own objects in the sandbox (``sandbox_graphs.py``,
``sandbox.py``); the checkpointing memory is measured from outside, as the kernel charges it to
the student's process (``measure_memory``: ``running/runner.py``). Gradients are compared with torch
autograd (``reference.py``) and, where the student's code has a forward of its own, with
the contract's numerical check of that forward.
"""

import numpy as np

from ...judging.compare import Verdict
from ...judging import returned
from ...judging.diagnosis import Mistake
from . import sandbox_graphs as graphs
from . import reference as ref
from ...judging.choice import choice_tasks
from ...judging.spec import NO_SHORTCUTS, Assignment, Case, Check, Task, add_probe, scalar

# reading torch's own graph is not a derived gradient: torch (whose modules hold complex literals) is
# allowed, and so complex arithmetic is not blocked there (cmath stands for it in NO_SHORTCUTS)
WITH_TORCH = tuple(m for m in NO_SHORTCUTS if m not in ("torch", "cmath"))
CODE = {name: i for i, name in enumerate(graphs.OP_NAMES)}

# The hidden cases that exist to defeat finite differences. A task's time limit is
# min(ceiling, max(1 s, 20 x the reference's CPU time)) (course/limits.py); a central-difference
# backward (2 forwards per input entry, each forward vectorised) over one of these cases must need
# at least FD_MARGIN times that limit on the grading machine. Measured (tests/
# test_a05_autodiff_internals.py::test_finite_differences_need_ten_times_the_limit, which prints them):
# measured on the 2-core grading machine under load (load average 4.7), CPU seconds; the limits
# are the 1 s floor (reference: test_backward 0.04 s, test_ops 0.02 s in the sandbox):
#   lecture program 2 x (120, 100): central differences 48,000 forwards of 0.35 ms = 17 s against 1 s
#   Sigmoid (180, 160): 57,600 forwards of 0.39 ms = 22 s against 1 s
#   MatMul (160, 150) @ (150, 140): 90,000 forwards of 0.21 ms = 19 s against 1 s
FD_MARGIN = 10
BIG_PROGRAM_SHAPE = (120, 100)                 # the lecture program, per leaf
BIG_SIGMOID_SHAPE = (180, 160)
BIG_MATMUL_SHAPES = ((160, 150), (150, 140))

# --- 1. topological order ------------------------------------------------------------------------

LECTURE_TABLE = np.array([[-1, -1], [0, -1], [1, 1], [2, -1], [3, 1]])  # w, x = sin w, x*x, exp, L = b*x


def _diamonds(k):
    """b = a + a stacked k times over one input: 2^k paths from the root to the input."""
    return np.array([[-1, -1]] + [[i, i] for i in range(k)])


def _chain(n):
    return np.array([[-1]] + [[i] for i in range(n - 1)])


def _random_dag(rng, n, fan=3, gather=None):
    """n nodes, node i with 1..fan parents among the earlier ones; the nodes nobody used are
    gathered under a new root: by one node with all of them as parents (gather=None: a node of
    many parents, and a table as wide), or by a chain of nodes of `fan` parents each (the table
    stays `fan` wide). The old last node is then unreachable from the root."""
    rows = [[-1] * fan]
    used = set()
    for i in range(1, n):
        k = int(rng.integers(1, fan + 1))
        window = max(0, i - int(rng.integers(2, 12)))
        parents = [int(rng.integers(window, i)) for _ in range(k)]
        used.update(parents)
        rows.append(parents + [-1] * (fan - k))
    sinks = [i for i in range(n - 1) if i not in used]
    if sinks and gather is None:
        width = max(fan, len(sinks))
        rows = [row + [-1] * (width - fan) for row in rows] + [sinks + [-1] * (width - len(sinks))]
    elif sinks:
        rows.append(sinks[:fan] + [-1] * (fan - len(sinks[:fan])))
        for start in range(fan, len(sinks), fan - 1):
            chunk = [len(rows) - 1] + sinks[start:start + fan - 1]
            rows.append(chunk + [-1] * (fan - len(chunk)))
    return np.array(rows)


def _shuffled_parents(rng, table):
    table = table.copy()
    for row in table:
        rng.shuffle(row)
    return table


def _order_cases(rng, hidden):
    if not hidden:
        return [Case({"parents": LECTURE_TABLE}), Case({"parents": _diamonds(4)}),
                Case({"parents": _random_dag(np.random.default_rng(5), 12)})]
    return [Case({"parents": _chain(10_000)}),
            Case({"parents": _diamonds(25)}),
            Case({"parents": _shuffled_parents(rng, _random_dag(rng, int(rng.integers(100, 200))))}),
            Case({"parents": _shuffled_parents(rng, _random_dag(rng, 3000, fan=2, gather=True))}),
            Case({"parents": np.array([[-1, -1, -1], [-1, -1, -1], [0, 1, 0], [2, 2, 1]])}),
            Case({"parents": np.array([[-1]])})]


ORDER_MISTAKES = {
    "order_reversed": "the order is reversed: a node must come after its inputs (its parents), so "
                      "the root comes last; reverse the list you build, or append a node only after "
                      "all its parents",
    "repeated_nodes": "some nodes appear more than once: a node reached along several paths (a fork, "
                      "or b = a + a) must be listed once; keep a set of visited nodes",
    "missing_nodes": "some nodes reachable from the root are missing from the order",
    "not_a_node": "the list holds things that are not nodes of the graph",
}


def _order_verdict(reference, case, order):
    """Vectorised (a hidden graph has 10,000 nodes, and this runs for every submission)."""
    table = np.asarray(case.arrays["parents"], dtype=np.int64)
    n = len(table)
    expected = np.zeros(n, dtype=bool)
    expected[np.asarray(reference["reachable"], dtype=np.int64)] = True
    returned = np.asarray(order, dtype=np.float64).ravel()
    if not np.all((returned >= 0) & (returned < n) & (returned == np.floor(returned))):
        return Verdict(False, "your list holds objects that are not nodes of the graph: return the "
                       "nodes themselves", mistakes=[Mistake("not_a_node", ORDER_MISTAKES["not_a_node"])])
    ids = returned.astype(np.int64)
    counts = np.bincount(ids, minlength=n)
    if np.any(counts > 1):
        return Verdict(False, f"{int(np.sum(counts > 1))} nodes appear more than once "
                       f"(one of them {int(counts.max())} times)",
                       mistakes=[Mistake("repeated_nodes", ORDER_MISTAKES["repeated_nodes"])])
    missing = int(np.sum(expected & (counts == 0)))
    if missing:
        return Verdict(False, f"{missing} of the {int(expected.sum())} nodes reachable from the root "
                       f"are missing", mistakes=[Mistake("missing_nodes", ORDER_MISTAKES["missing_nodes"])])
    position = np.full(n, -1, dtype=np.int64)
    position[ids] = np.arange(len(ids))
    edge = expected[:, None] & (table >= 0)               # every edge parent -> reachable node
    child, parent = np.nonzero(edge)[0], table[edge]
    wrong = int(np.sum(position[parent] > position[child]))
    if wrong:
        mistakes = ([Mistake("order_reversed", ORDER_MISTAKES["order_reversed"])]
                    if wrong == len(child) else [])
        return Verdict(False, f"{wrong} of the {len(child)} edges point backwards: a node comes "
                       f"before one of its inputs", mistakes=mistakes)
    return Verdict(True)


def _compare_order(reference, outputs, case):
    if "order" not in outputs:
        return Verdict(False, "nothing came back")
    return _order_verdict(reference, case, outputs["order"])


TOPOLOGICAL_ORDER = Task(
    grade_id="test_topological_order", title="topological_order(root): every node after its inputs, once",
    points=3, answer_cells=("topological_order",), functions=("topological_order",),
    call="topological_order", make_cases=_order_cases,
    reference=lambda case: {"order": np.zeros(0),
                            "reachable": np.array(sorted(ref.reachable(case.arrays["parents"])))},
    checks=(Check("a topological order of the reachable nodes", ("order",), weight=1,
                  compare=_compare_order,
                  hint="walk the parents with an explicit stack (no recursion: graphs of 10,000 "
                       "nodes), mark nodes as visited, and append a node after all its parents."),),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="topo")


# --- 2. backward over a program ------------------------------------------------------------------

def _program_case(rng, codes, args, shape, scale=0.8, probe=True):
    """probe=False for the cases that are there for their size (defeating finite differences or
    recursion): the small ones carry the probe, which explains and never grants."""
    arrays = {"codes": np.asarray(codes, dtype=np.int64), "args": np.asarray(args, dtype=np.int64),
              "dout": rng.normal(size=shape)}
    for i in (0, 1):
        arrays[f"leaf{i}"] = rng.uniform(-scale, scale, size=shape)
    # the grader's ops in the sandbox multiply by these numbers: they hold no backward rule
    arrays["local"] = ref.local_derivatives(arrays["codes"], arrays["args"], {i: arrays[f"leaf{i}"] for i in (0, 1)})
    return Case(add_probe(arrays, rng, ["leaf0", "leaf1"]) if probe else arrays)


def _lecture_program():
    """w, c; x = sin w; a = x * x; b = tanh a; y = b * x; out = y + c (the breadth-first trap)."""
    codes = [0, 0, CODE["sin"], CODE["mul"], CODE["tanh"], CODE["mul"], CODE["add"]]
    args = [[-1, -1], [-1, -1], [0, -1], [2, 2], [3, -1], [4, 2], [5, 1]]
    return codes, args


def _diamond_program(k):
    """x, c; b = a + a stacked k times on x; then times c."""
    codes = [0, 0] + [CODE["add"]] * k + [CODE["mul"]]
    args = [[-1, -1], [-1, -1], [0, 0]] + [[i, i] for i in range(2, k + 1)] + [[k + 1, 1]]
    return codes, args


def _chain_program(n):
    codes = [0, 0] + [CODE["sin"] if i % 2 else CODE["tanh"] for i in range(n)] + [CODE["add"]]
    args = [[-1, -1], [-1, -1], [0, -1]] + [[i, -1] for i in range(2, n + 1)] + [[n + 1, 1]]
    return codes, args


def _random_program(rng, n_ops):
    codes, args = [0, 0], [[-1, -1], [-1, -1]]
    for i in range(2, 2 + n_ops):
        name = ("add", "mul", "sin", "tanh")[int(rng.integers(4))]
        low = max(0, i - 6)
        args.append([int(rng.integers(low, i)), int(rng.integers(low, i)) if graphs.ARITY[name] == 2 else -1])
        codes.append(CODE[name])
    used = {a for row in args for a in row if a >= 0}
    for sink in [i for i in range(len(codes) - 1) if i not in used]:
        codes.append(CODE["add"])
        args.append([len(codes) - 2, sink])
    return codes, args


def _backward_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(11)
        return [_program_case(fixed, *_lecture_program(), (1,)),
                _program_case(fixed, *_diamond_program(4), (2, 3)),
                _program_case(fixed, *_random_program(fixed, 8), (1, 4))]
    cases = []
    for shape in [(), (1,), (3, 1), (2, 5), (4, 3)]:
        while True:
            case = _program_case(rng, *_random_program(rng, int(rng.integers(8, 30))), shape)
            values, _ = graphs.run_program(np, case.arrays["codes"], case.arrays["args"],
                                           {i: case.arrays[f"leaf{i}"] for i in (0, 1)}, case.arrays["dout"])
            if max(float(np.max(np.abs(v))) for v in values) < 50:
                break
        cases.append(case)
    # sized so that differencing the program's forward per leaf entry cannot finish in the time
    # limit (FD_MARGIN)
    cases.append(_program_case(rng, *_lecture_program(), BIG_PROGRAM_SHAPE, probe=False))
    # 2^14 paths: a per-path recursion calls backward thousands of times (the count check)
    cases.append(_program_case(rng, *_diamond_program(14), (2, 1)))
    # 2^40 paths: a per-path recursion never finishes; values of 2^40 x 1e-6 stay finite
    cases.append(_program_case(rng, *_diamond_program(40), (1, 3), scale=1e-6))
    # deeper than Python's recursion limit (about 1,000 frames): a recursive walk raises
    # RecursionError (test_a_recursive_backward_fails_on_the_hidden_chain)
    cases.append(_program_case(rng, *_chain_program(3000), (2, 1), probe=False))
    return cases


def _backward_reference(case):
    out = ref.program_gradients(case)
    out["backward_calls"] = np.ones(int(np.sum(case.arrays["codes"] != graphs.LEAF)) + 1)
    return out


def _op_node_paths(case):
    """Backward calls of every op node (and the loss) under a per-path recursion."""
    codes = case.arrays["codes"]
    counts = ref.path_counts(ref.program_table(codes, case.arrays["args"]))
    return np.array([counts[i] for i in range(len(codes)) if codes[i] != graphs.LEAF] + [counts[-1]])


def _backward_variants(case):
    table = ref.program_table(case.arrays["codes"], case.arrays["args"])
    found = {"per_path_recursion": (
        "each op's backward ran once per path from the root, not once: this recursion is right in "
        "value but exponential in time on repeated subexpressions; visit the nodes in reverse "
        "topological order and call each backward once, with the summed gradient",
        {"backward_calls": _op_node_paths(case)})}
    message = ("a node's gradient was overwritten where it is used more than once (a fork): the "
               "multivariate chain rule adds the gradients from all uses (+=, starting from zero)")
    for k, order in enumerate((ref.dfs_postorder(table), ref.dfs_postorder(table, reverse_parents=True))):
        found["fork_overwritten" if k == 0 else "fork_overwritten_alt"] = (message, ref.simulate_overwrite(case, order))
    return found


BACKWARD = Task(
    grade_id="test_backward", title="backward(root): every node's gradient, summed at forks",
    points=4, answer_cells=("topological_order", "backward"), functions=("backward", "Tensor", "Context"),
    call="program_backward", make_cases=_backward_cases, reference=_backward_reference,
    variants=_backward_variants,
    checks=(Check("gradients of the leaves", ("grad_leaf0", "grad_leaf1"), weight=3, rtol=1e-10, probe=True,
                  hint="seed the root with ones, walk the nodes in reverse topological order, and add "
                       "each op's input gradients to its parents' .grad."),
            Check("each op's backward runs exactly once", ("backward_calls",), weight=1, rtol=1e-12,
                  hint="call node.op.backward once per op node, after all its users have been visited.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="backward")


# --- 3. the lecture's ops ------------------------------------------------------------------------

OPS = ("Plus", "Times", "Sigmoid", "RowSum", "Expand", "MatMul")
OP_INPUTS = {"Plus": ("a", "b"), "Times": ("a", "b"), "Sigmoid": ("x",), "RowSum": ("x",),
             "Expand": ("x",), "MatMul": ("a", "b")}


def _op_case(rng, op, shapes, out_shape=None, probe=True):
    key = op.lower()
    names = [f"{key}_{n}" for n in OP_INPUTS[op]]
    arrays = {name: rng.normal(size=shape) for name, shape in zip(names, shapes)}
    if op == "Expand":
        arrays["shape"] = np.asarray(out_shape, dtype=np.float64)
    result_shape = {
        "Plus": lambda: np.broadcast_shapes(*shapes), "Times": lambda: shapes[0],
        "Sigmoid": lambda: shapes[0], "RowSum": lambda: shapes[0][:1],
        "Expand": lambda: tuple(out_shape), "MatMul": lambda: (shapes[0][0], shapes[1][1])}[op]()
    arrays["dout"] = rng.normal(size=result_shape)
    return Case(add_probe(arrays, rng, names) if probe else arrays, {"op": op, "inputs": names})


def _op_cases(rng, hidden):
    if not hidden:
        r = np.random.default_rng(21)
        return [_op_case(r, "Plus", [(2, 3), (2, 3)]), _op_case(r, "Plus", [(2, 3), (3,)]),
                _op_case(r, "Times", [(2, 3), (2, 3)]), _op_case(r, "Sigmoid", [(2, 3)]),
                _op_case(r, "RowSum", [(2, 3)]), _op_case(r, "Expand", [()], (2, 3)),
                _op_case(r, "Expand", [(3,)], (2, 3)), _op_case(r, "MatMul", [(2, 3), (3, 4)])]

    def dim():
        return int(rng.integers(1, 6))

    cases = []
    n, m = dim(), dim()
    for b_shape in [(n, m), (m,), (1, m), (n, 1), ()]:
        cases.append(_op_case(rng, "Plus", [(n, m), b_shape]))
    cases.append(_op_case(rng, "Plus", [(1, m), (n, m)]))
    for _ in range(2):
        n, m, k = dim(), dim(), dim()
        cases.append(_op_case(rng, "Times", [(n, m), (n, m)]))
        cases.append(_op_case(rng, "Sigmoid", [(n, m, k)]))
        cases.append(_op_case(rng, "RowSum", [(n, m)]))
        cases.append(_op_case(rng, "MatMul", [(n, k), (k, m)]))
    n, m = dim(), dim() + 1
    for x_shape in [(), (m,), (1, m), (n, 1)]:
        cases.append(_op_case(rng, "Expand", [x_shape], (n, m)))
    # sized so that a finite-difference backward cannot finish in the time limit (FD_MARGIN)
    cases.append(_op_case(rng, "Sigmoid", [BIG_SIGMOID_SHAPE], probe=False))
    cases.append(_op_case(rng, "MatMul", list(BIG_MATMUL_SHAPES), probe=False))
    return cases


def _op_variants(case):
    op, names, a = case.params["op"], case.params["inputs"], case.arrays
    dout = a["dout"]
    found = {}
    if op == "Expand":
        x = names[0]
        found["expand_not_summed"] = (
            "Expand's backward returned the upstream gradient unchanged: every entry of x was copied "
            "to many outputs, so its gradient is the sum of theirs over the broadcast axes "
            "(shaped like x)", {f"grad_{x}": dout.copy()})
        if a[x].ndim and a[x].ndim == dout.ndim:
            axes = tuple(i for i in range(dout.ndim) if a[x].shape[i] == 1 and dout.shape[i] != 1)
            if axes:
                found["expand_keepdims"] = (
                    "right sums but the wrong shape: sum over the broadcast axes with keepdims=True "
                    "so that the gradient has x's shape", {f"grad_{x}": dout.sum(axis=axes)})
    if op == "RowSum":
        x = names[0]
        found["rowsum_not_broadcast"] = (
            "RowSum's backward must give every entry of row i the upstream gradient of that row: "
            "broadcast gy[:, None] to x's shape (n, m)", {f"grad_{x}": dout.copy()})
        found["rowsum_column"] = (
            "RowSum's backward returned gy[:, None] of shape (n, 1): expand it to x's shape (n, m)",
            {f"grad_{x}": dout[:, None].copy()})
    if op == "Plus":
        for name in names:
            if a[name].shape != dout.shape:
                found["plus_not_unbroadcast"] = (
                    "Plus's gradient for a broadcast input must be summed over the broadcast axes "
                    "so that it has that input's shape", {f"grad_{name}": dout.copy()})
    if op == "Sigmoid":
        x = names[0]
        s = 1.0 / (1.0 + np.exp(-a[x]))
        found["sigmoid_no_chain"] = ("you returned the local derivative s(1 - s) without multiplying "
                                     "by the upstream gradient", {f"grad_{x}": s * (1 - s)})
    return found


def _op_checks():
    checks = []
    for op in OPS:
        key = op.lower()
        grads = tuple(f"grad_{key}_{n}" for n in OP_INPUTS[op])
        checks.append(Check(f"{op}.forward", (f"out_{key}",), weight=0.25, rtol=1e-12))
        checks.append(Check(f"{op}.backward", grads, weight=0.75, rtol=1e-11, probe=True,
                            forward=(f"out_{key}",), hint=OP_HINTS[op]))
    return tuple(checks)


OP_HINTS = {
    "Plus": "the gradient for each input is the upstream gradient, summed over the axes along which "
            "that input was broadcast (unbroadcast to its shape).",
    "Times": "each input's gradient is the upstream gradient times the other input.",
    "Sigmoid": "save sigmoid(x) in the context; the gradient is g * s * (1 - s).",
    "RowSum": "save m = x.shape[1]; every entry of row i gets the upstream gradient of row i.",
    "Expand": "sum the upstream gradient over the broadcast axes, back to x's shape.",
    "MatMul": "for C = A @ B: dA = dC @ B.T and dB = A.T @ dC.",
}

OP_TASK = Task(
    grade_id="test_ops", title="the lecture's ops: Plus, Times, Sigmoid, RowSum, Expand, MatMul",
    points=4, answer_cells=("plus_times", "sigmoid", "rowsum_expand", "matmul"),
    functions=OPS + ("Context",), call="op_rule", make_cases=_op_cases,
    reference=lambda case: ref.op_reference(case.params["op"], case.arrays, case.params["inputs"]),
    variants=_op_variants, checks=_op_checks(), forbidden=NO_SHORTCUTS, timeout=10, short_name="ops")


# --- 4. forward mode ------------------------------------------------------------------------------

def _function_case(rng, name, n, m, h=3):
    if name == "mlp":
        arrays = {"W1": rng.normal(size=(h, n)), "b1": rng.normal(size=h), "W2": rng.normal(size=(m, h))}
    else:
        arrays = {"W": rng.normal(size=(m, n)) / np.sqrt(n), "V": rng.normal(size=(m, n)), "c": rng.normal(size=m)}
    arrays.update({"x": rng.normal(size=n), "v": rng.normal(size=n)})
    return Case(arrays, {"f": name})


def _function_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(31)
        return [_function_case(fixed, "mlp", 3, 2), _function_case(fixed, "product", 4, 3)]
    cases = []
    for n, m in [(1, 4), (5, 1), (6, 3), (2, 2)]:
        for name in ("mlp", "product"):
            cases.append(_function_case(rng, name, n, m, h=int(rng.integers(1, 5))))
    return cases


def _jvp_reference(case):
    value, tangent = ref.exact_jvp(case)
    return {"value": value, "tangent": tangent, "f_calls": scalar(1.0), "non_dual_calls": scalar(0.0)}


def _jvp_variants(case):
    return {
        "product_rule_one_term": (
            "the tangent of a product a * b is a.tangent * b.value + a.value * b.tangent; you kept "
            "only the first term", {"tangent": ref.wrong_product_tangent(case)}),
        "finite_difference_jvp": (
            "jvp evaluated f three times (f(x) and two moved points): that is a directional finite "
            "difference, not forward mode; evaluate f once on Dual(x, v)", {"f_calls": scalar(3.0)}),
        "finite_difference_jvp_two_sided": (
            "jvp evaluated f twice: that is a directional finite difference, not forward mode; "
            "evaluate f once on Dual(x, v)", {"f_calls": scalar(2.0)}),
        "no_dual_input": (
            "f was not called with a Dual: forward mode passes Dual(x, v) through f (complex numbers "
            "or plain arrays are not dual numbers)", {"non_dual_calls": scalar(1.0)}),
    }


JVP = Task(
    grade_id="test_jvp", title="jvp(f, x, v) with dual numbers",
    points=3, answer_cells=("jvp",), functions=("jvp", "Dual"), call="jvp",
    make_cases=_function_cases, reference=_jvp_reference, variants=_jvp_variants,
    # f must be evaluated once, on the notebook's Dual: a finite difference (two evaluations)
    # or a complex step (one evaluation on complex arrays) earns nothing, however close
    checks=(Check("value f(x), from Dual numbers", ("non_dual_calls", "value"), weight=0.5, rtol=1e-12,
                  hint="call f once, with Dual(x, v)."),
            Check("tangent J v from one evaluation of f on Dual numbers", ("f_calls", "non_dual_calls", "tangent"),
                  weight=2.5, rtol=1e-12,
                  hint="every dual op computes its value and its tangent; the tangent of a product "
                       "needs both terms of the product rule.")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="jvp")


def _jacobian_reference(case):
    J = ref.exact_jacobian(case)
    n = case.arrays["x"].size
    return {"J_forward": J, "J_reverse": J, "f_calls_forward": scalar(n), "f_calls_reverse": scalar(1.0),
            "foreign_calls_forward": scalar(0.0), "foreign_calls_reverse": scalar(0.0)}


def _jacobian_variants(case):
    J = ref.exact_jacobian(case)
    message = ("your Jacobian is transposed: row i of J holds the derivatives of output i, so the "
               "JVP with e_j is column j (forward mode) and the VJP with e_i is row i (reverse mode)")
    m = J.shape[0]
    return {"jacobian_transposed": (message, {"J_forward": J.T.copy(), "J_reverse": J.T.copy()}),
            "reverse_rebuilds_graph": (
                "jacobian_reverse evaluated f once per output: one forward pass builds the graph, "
                "then each backward(y, e_i) reuses it", {"f_calls_reverse": scalar(m)}),
            "reverse_accumulates": (
                "the rows of your reverse-mode Jacobian accumulate: the gradients of the previous "
                "backward were not cleared", {"J_reverse": np.cumsum(J, axis=0)})}


JACOBIAN = Task(
    grade_id="test_jacobian", title="jacobian_forward and jacobian_reverse",
    points=3, answer_cells=("topological_order", "backward", "plus_times", "sigmoid", "rowsum_expand",
                            "matmul", "jvp", "jacobian"),
    functions=("jacobian_forward", "jacobian_reverse", "Dual", "Tensor"), call="jacobian",
    make_cases=_function_cases, reference=_jacobian_reference, variants=_jacobian_variants,
    checks=(Check("forward-mode Jacobian from n JVPs", ("f_calls_forward", "foreign_calls_forward", "J_forward"), weight=1.5, rtol=1e-12,
                  hint="column j of J is the tangent of jvp(f, x, e_j)."),
            Check("reverse-mode Jacobian from one forward pass", ("f_calls_reverse", "foreign_calls_reverse", "J_reverse"), weight=1.5,
                  rtol=1e-12, hint="evaluate f once on Tensor(x); row i of J is x's gradient after "
                                   "backward(y, e_i).")),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="jacobian")


# --- 5. counting ----------------------------------------------------------------------------------

def _count_cases(rng, hidden):
    if not hidden:
        return [Case({"n": scalar(3), "m": scalar(2), "k": scalar(8)}),
                Case({"n": scalar(1000), "m": scalar(1), "k": scalar(9)})]
    return [Case({"n": scalar(int(rng.integers(1, 500))), "m": scalar(int(rng.integers(1, 500))),
                  "k": scalar(int(rng.integers(1, 50)))}) for _ in range(4)] + \
        [Case({"n": scalar(1), "m": scalar(int(rng.integers(2, 100))), "k": scalar(int(rng.integers(2, 20)))})]


def _counts(case):
    n, m, k = (float(case.arrays[key]) for key in ("n", "m", "k"))
    return n, m, k


def _count_reference(case):
    n, m, k = _counts(case)
    return {"forward_count": scalar(n * k), "reverse_count": scalar(k + m * k)}


def _count_variants(case):
    n, m, k = _counts(case)
    return {"modes_swapped": ("forward mode needs one pass per input (n), reverse mode one backward "
                              "per output (m): your two counts are the other way round",
                              {"forward_count": scalar(m * k), "reverse_count": scalar(k + n * k)}),
            "reverse_without_forward": ("reverse mode also evaluates f once to build the graph: k "
                                        "forward ops before the m backward passes",
                                        {"reverse_count": scalar(m * k)}),
            "reverse_rebuilds": ("one forward pass is enough for reverse mode: the m backward passes "
                                 "reuse the graph", {"reverse_count": scalar(2 * m * k)})}


OP_COUNTS = Task(
    grade_id="test_op_counts", title="jacobian_op_counts(n, m, k): the cost of forward and reverse mode",
    points=2, answer_cells=("op_counts",), functions=("jacobian_op_counts",), call="op_counts",
    make_cases=_count_cases, reference=_count_reference, variants=_count_variants,
    checks=(Check("forward-mode count", ("forward_count",), weight=1, rtol=1e-12),
            Check("reverse-mode count", ("reverse_count",), weight=1, rtol=1e-12)),
    forbidden=NO_SHORTCUTS, timeout=5, short_name="counts")


# --- 6. checkpointing -----------------------------------------------------------------------------

def _chain_case(rng, L, segments, N, D, memory=None):
    """memory: None (not judged on this case), "traced" (the self-check's tracemalloc figure is)
    or "measured" (the grader's figure for the whole run is, and the self-check's)."""
    return Case({"W": rng.normal(size=(L, D, D)) / np.sqrt(D), "b": rng.normal(size=(L, D)) * 0.1,
                 "x": rng.normal(size=(N, D)), "dout": rng.normal(size=(N, D)),
                 "segments": scalar(segments)}, {"L": L, "memory": memory})


def _checkpoint_cases(rng, hidden):
    if not hidden:
        return [_chain_case(np.random.default_rng(41), 36, 6, 16, 32, memory="traced")]
    # The first is the one whose memory is judged (the grader measures the whole run): activations
    # of about 1 MB each, far above the interpreter's own noise, and every other case far smaller.
    # 25 layers in 5 segments: the budget (16 + MEASURED_SLACK = 22 activations) lies between the
    # reference (about 15) and plain backprop (about 31), at 2/3 of the CPU time of 36 layers.
    return [_chain_case(rng, 25, 5, 8192, 16, memory="measured"),
            _chain_case(rng, 49, 7, 1, int(rng.integers(8, 16))),
            _chain_case(rng, 30, 5, int(rng.integers(4, 12)), int(rng.integers(8, 16)))]


MEASURED_SLACK = 6   # activations' worth of the grader's own arrays (inputs and outputs) and allocator slack


def memory_budget(L, segments):
    """Activations a checkpointed backward may keep at its peak: the segment boundaries, one
    segment's activations, and a few arrays of slack (gradients, temporaries)."""
    return segments + -(-L // segments) + 6  # ceil(L / segments) in integers


def _compare_memory(reference, outputs, case):
    """Graded: the grader's own measurement of the whole run ("memory_bytes", from the kernel),
    judged on the case drawn for it. In the student's kernel (a self-check): the layers'
    tracemalloc samples ("peak_units")."""
    L, segments = case.params["L"], int(case.arrays["segments"])
    graded = "memory_bytes" in outputs
    if case.params.get("memory") != "measured" and (graded or case.params.get("memory") != "traced"):
        return Verdict(True)
    if not graded and "peak_units" not in outputs:
        return Verdict(False, "nothing came back")
    if not graded and float(outputs.get("tampered", 1.0)) != 0.0:
        return Verdict(False, "the grader's memory measurement was stopped or cleared during your call",
                       mistakes=[Mistake("measurement_tampered", "leave tracemalloc alone")])
    if float(outputs.get("backward_calls", -1)) != L:
        return Verdict(False, f"the memory is judged on a complete backward pass, and the layers' backward "
                       f"did not run once per layer ({float(outputs.get('backward_calls', -1)):.0f} calls "
                       f"for {L} layers)")
    if graded:
        # the kernel also charges the grader's copies of the inputs and outputs: a little slack
        peak = float(outputs["memory_bytes"]) / case.arrays["x"].nbytes
        budget = memory_budget(L, segments) + MEASURED_SLACK
    else:
        peak, budget = float(outputs["peak_units"]), memory_budget(L, segments)
    if peak <= budget:
        return Verdict(True)
    mistakes = []
    if peak >= 0.8 * L:
        mistakes.append(Mistake("stores_everything", "your checkpointing keeps every layer's activations "
                                "alive at once, like plain backprop: during the first pass keep only the "
                                "input of each segment (discard the contexts), and rebuild one segment "
                                "at a time during the backward pass"))
    return Verdict(False, f"at its peak your code kept about {peak:.0f} activations alive; with "
                   f"{segments} segments of {L} layers at most about {budget} are needed", mistakes=mistakes)


def _compare_recompute(reference, outputs, case):
    L = case.params["L"]
    if "forward_calls" not in outputs:
        return Verdict(False, "nothing came back")
    forward, backward = float(outputs["forward_calls"]), float(outputs.get("backward_calls", -1))
    if forward <= 2 * L and backward == L:
        return Verdict(True)
    if backward != L:
        return Verdict(False, f"the layers' backward ran {backward:.0f} times for {L} layers: run each "
                       f"layer's backward exactly once")
    return Verdict(False, f"the layers' forward ran {forward:.0f} times for {L} layers; checkpointing "
                   f"needs at most 2L = {2 * L} (one pass, then each segment once more)",
                   mistakes=[Mistake("recomputes_everything", "you recompute the forward from the input "
                                     "for every layer: correct, but quadratic in time; store each "
                                     "segment's input during the first pass and recompute from there")])


def _checkpoint_reference(case):
    # the measured keys are judged by their compare functions; they are listed here so that
    # those checks apply to every case
    return {**ref.chain_gradients(case.arrays), "peak_units": scalar(0.0), "forward_calls": scalar(0.0)}


CHECKPOINT = Task(
    grade_id="test_checkpoint", title="checkpointed_backward(layers, x, grad_out, segments)",
    points=4, answer_cells=("checkpoint",), functions=("checkpointed_backward",), call="checkpoint",
    make_cases=_checkpoint_cases, reference=_checkpoint_reference,
    checks=(Check("gradients (x and every layer's W and b)", ("grad_x", "grad_W", "grad_b"), weight=2,
                  rtol=1e-10, hint="each segment's backward starts from the gradient the segment "
                                   "after it produced; each layer's backward runs once."),
            Check("about sqrt(L) activations stored", ("peak_units",), weight=1.5, compare=_compare_memory),
            Check("each segment recomputed once", ("forward_calls",), weight=0.5, compare=_compare_recompute)),
    forbidden=NO_SHORTCUTS, timeout=20, short_name="checkpoint", measure_memory=True)


# --- 7. PyTorch's graph ---------------------------------------------------------------------------

def _torch_case(rng, program, shapes):
    arrays = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    return Case(arrays, {"program": program, "leaves": list(shapes)})


def _torch_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(51)
        return [Case({"a": scalar(2.0), "b": scalar(2.0)}, {"program": "sum", "leaves": ["a", "b"]}),
                _torch_case(fixed, "mixed", {"x": (3,), "w": (3,)}),
                _torch_case(fixed, "mlp", {"X": (4, 3), "W1": (3, 2), "b1": (2,), "W2": (2, 1)})]
    n, d, h = (int(v) for v in rng.integers(1, 6, size=3))
    return [_torch_case(rng, "sum", {"a": (n,), "b": (n,)}),
            _torch_case(rng, "mixed", {"x": (d, n), "w": (d, n)}),
            _torch_case(rng, "mlp", {"X": (n, d), "W1": (d, h), "b1": (h,), "W2": (h, 1)})]


def _torch_reference(case):
    order, twice, _, _ = ref.torch_graph_reference(case)
    out = {"names": graphs.encode_names(order)}
    out.update({f"grad_{k}": v for k, v in twice.items()})
    return out


def _compare_names(reference, outputs, case):
    if "names" not in outputs:
        return Verdict(False, "nothing came back")
    order, _, _, preorder = ref.torch_graph_reference(case)
    got = graphs.decode_names(outputs["names"])
    if got == order:
        return Verdict(True)
    mistakes = []
    if got == order[::-1]:
        mistakes.append(Mistake("names_reversed", "your list is in the order the forward pass created the "
                                "nodes; backward runs them from the loss towards the leaves"))
    elif got == preorder:
        mistakes.append(Mistake("names_depth_first", "that is the depth-first listing of next_functions "
                                "(the lecture's print_graph), with repeats; backward runs a node only "
                                "after all its users: record the order with a hook on every node"))
    elif [n for n in got if n != "AccumulateGrad"] == [n for n in order if n != "AccumulateGrad"]:
        mistakes.append(Mistake("names_without_leaves", "the AccumulateGrad nodes of the leaves are part of "
                                "the graph too"))
    elif sorted(got) == sorted(order):
        mistakes.append(Mistake("names_other_order", "the right nodes in another order: record the order "
                                "in which backward actually runs them (node.register_prehook)"))
    return Verdict(False, f"you listed {len(got)} nodes; backward runs {len(order)}, and the lists "
                   f"differ (first difference at position "
                   f"{next((i for i, (a, b) in enumerate(zip(got, order)) if a != b), min(len(got), len(order)))})",
                   mistakes=mistakes)


def _torch_variants(case):
    _, _, once, _ = ref.torch_graph_reference(case)
    return {"single_backward": ("these are the gradients after one backward call: PyTorch adds the "
                                "second call's gradients to .grad (call zero_grad between steps)",
                                {f"grad_{k}": v for k, v in once.items()})}


TORCH_GRAD_KEYS = {"sum": ("grad_a", "grad_b"), "mixed": ("grad_x", "grad_w"),
                   "mlp": ("grad_X", "grad_W1", "grad_b1", "grad_W2")}


TORCH_GRAPH = Task(
    grade_id="test_torch_graph", title="read_torch_graph(program, inputs): PyTorch's own graph",
    points=3, answer_cells=("torch_graph",), functions=("read_torch_graph",), call="torch_graph",
    make_cases=_torch_cases, reference=_torch_reference, variants=_torch_variants,
    checks=(Check("grad_fn names in the order backward runs them", ("names",), weight=1.5,
                  compare=_compare_names, self_check=False),
            *(Check(f"leaf gradients after two backward calls ({program} program)", keys, weight=0.5,
                    rtol=1e-10, hint="backward(retain_graph=True) the first time, so that the graph "
                                     "survives for the second call; .grad accumulates.")
              for program, keys in TORCH_GRAD_KEYS.items())),
    forbidden=WITH_TORCH, timeout=30, short_name="torch")


# --- the notes' breadth-first walk: a counterexample ---------------------------------------------

# held here: the sandbox's own cap is a variable that student code can raise
MAX_COUNTEREXAMPLE_NODES = 500


def _compare_counterexample(reference, outputs, case):
    if any(key not in outputs for key in ("codes", "args", "leaf_values", "leaf_index")):
        return Verdict(False, "nothing came back")
    codes, args, leaf_values, leaf = returned.program_table(
        outputs["codes"], outputs["args"], outputs["leaf_values"], outputs["leaf_index"],
        n_codes=len(graphs.OP_NAMES), max_nodes=MAX_COUNTEREXAMPLE_NODES,
        arity={code: graphs.ARITY.get(name, 0) for code, name in enumerate(graphs.OP_NAMES)})
    breadth_first, true = ref.breadth_first_and_true_gradients(codes, args, leaf_values, leaf)
    if not (np.isfinite(breadth_first) and np.isfinite(true)):
        return Verdict(False, "the gradients on your graph are not finite")
    if abs(breadth_first - true) > 1e-3 * max(1e-3, abs(true)):
        return Verdict(True, f"on your graph the breadth-first walk gives {breadth_first:.4g}, the "
                             f"true derivative is {true:.4g}")
    return Verdict(False, f"on your graph the breadth-first walk gets the derivative right "
                   f"({true:.4g}), so it is no counterexample",
                   mistakes=[Mistake("no_counterexample", "the walk goes wrong only when a node is reached "
                                     "along a short path from the root before the gradient coming along a "
                                     "longer path has arrived: use a node both directly and through "
                                     "other ops, as in L = exp(x*x) * x")])


COUNTEREXAMPLE = Task(
    grade_id="test_counterexample", title="breadth_first_counterexample(): where the notes' walk fails",
    points=2, answer_cells=("counterexample",),
    functions=("breadth_first_counterexample", "Plus", "Times", "Sigmoid", "Tensor"), call="counterexample",
    make_cases=lambda rng, hidden: [Case({"none": scalar(0.0)})],  # the student's graph is the input
    reference=lambda case: {"codes": np.zeros(0)},
    checks=(Check("the breadth-first walk gets d root / d leaf wrong on your graph", ("codes",), weight=1,
                  compare=_compare_counterexample, self_check=False),),
    forbidden=NO_SHORTCUTS, timeout=10, short_name="bfs_trap")


QUESTIONS = choice_tasks(__file__, forbidden=NO_SHORTCUTS)  # questions.toml


ASSIGNMENT = Assignment(
    assignment_id="05_autodiff_internals",
    tasks=(TOPOLOGICAL_ORDER, BACKWARD, OP_TASK, COUNTEREXAMPLE, JVP, JACOBIAN, OP_COUNTS, CHECKPOINT,
           TORCH_GRAPH, *QUESTIONS),
)
