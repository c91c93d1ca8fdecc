"""Trusted twin of ``sandbox_graphs.py``: references, known wrong answers, random graphs.

* ``torch_reference`` builds a description with float64 PyTorch scalars (the very same
  ``build``) and returns every node's value and d output / d leaf by autograd.
* ``replay`` re-runs the graph in plain floats with a chosen *mistake* (a wrong local rule, ``=``
  instead of ``+=``, the wrong visiting order, a second pass without a reset, a recursive per-path
  backward): the spec's named wrong answers.
* ``random_graph`` / ``chain_graph`` draw descriptions at grade time, keeping every op inside its
  domain (no division by ~0, positive bases for fractional powers, ReLU inputs off the kink).
Runs only in the trusted process.
"""
import functools
import gc
import math

import numpy as np

from . import sandbox_graphs as eg

RULE_MISTAKES = {
    "tanh_from_input": "tanh's derivative uses the input: 1 - x**2 instead of 1 - tanh(x)**2 "
                       "(use the output t of the forward pass: 1 - t**2)",
    "sigmoid_one_minus_k": "sigmoid's derivative written as sigmoid(k) * sigmoid(1 - k); it is "
                           "sigmoid(k) * (1 - sigmoid(k)), i.e. s * (1 - s) with s the output",
    "sigmoid_from_input": "sigmoid's derivative uses the input: x * (1 - x) instead of s * (1 - s) "
                          "with s = sigmoid(x), the output",
    "pow_without_n": "the power rule is missing the factor n: d(x**n)/dx = n * x**(n-1)",
    "pow_n_x_n": "the power rule keeps the exponent: d(x**n)/dx = n * x**(n-1), not n * x**n",
    "div_sign": "the derivative of a / b with respect to the denominator b has the wrong sign: "
                "it is -a / b**2",
}
FLOW_MISTAKES = {
    "overwrite_at_fork": "where a value is used more than once its gradient was overwritten "
                         "(=) instead of accumulated (+=): gradients from every use add up",
    "forward_order": "the nodes were visited in forward order: backward must call each node's "
                     "_backward in reverse topological order, output first",
    "recursive_per_path": "a recursive backward that runs a node's _backward once per path to it "
                          "counts shared nodes several times (try b = a + a; c = b + b): sort the "
                          "nodes topologically once and visit each exactly once",
}
SECOND_PASS_MISTAKES = {
    "interior_not_reset": "a second backward() added to the gradients the intermediate nodes kept "
                          "from the first one: reset every non-leaf node's grad to 0 before a pass "
                          "(leaves keep accumulating, as in PyTorch)",
    "leaves_reset": "a second backward() replaced the leaves' gradients instead of adding to them: "
                    "in PyTorch (and here) leaf gradients accumulate until you zero them",
}


def collector_paused(fn):
    """Run fn with Python's cyclic garbage collector paused (big graphs: see sandbox.py)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return run


@collector_paused
def torch_reference(description, leaf_values):
    """-> (values (n_nodes,), d output / d leaf (n_leaves,)) by float64 autograd."""
    import torch

    leaves = [torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
              for x in np.asarray(leaf_values).reshape(-1)]
    nodes = eg.build(description, leaves)
    grads = torch.autograd.grad(nodes[-1], leaves, allow_unused=True)
    values = np.array([float(node.detach()) for node in nodes])
    return values, np.array([0.0 if g is None else float(g) for g in grads])


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _local(name, a, b, c, out, mistake):
    """Local derivatives of one op with respect to its operand nodes, possibly with a mistake."""
    if name == "add":
        return [1.0, 1.0]
    if name == "sub":
        return [1.0, -1.0]
    if name == "mul":
        return [b, a]
    if name == "div":
        return [1.0 / b, (a / b ** 2) if mistake == "div_sign" else -a / b ** 2]
    if name in ("addc", "subc", "radd"):
        return [1.0]
    if name == "rsub" or name == "neg":
        return [-1.0]
    if name in ("mulc", "rmul"):
        return [c]
    if name == "divc":
        return [1.0 / c]
    if name == "rdiv":
        return [c / a ** 2 if mistake == "div_sign" else -c / a ** 2]
    if name == "pow":
        if mistake == "pow_without_n":
            return [a ** (c - 1)]
        if mistake == "pow_n_x_n":
            return [c * a ** c]
        return [c * a ** (c - 1)]
    if name == "exp":
        return [out]
    if name == "tanh":
        return [1.0 - a * a if mistake == "tanh_from_input" else 1.0 - out * out]
    if name == "relu":
        return [1.0 if a > 0 else 0.0]
    if name == "sigmoid":
        if mistake == "sigmoid_one_minus_k":
            return [_sigmoid(a) * _sigmoid(1.0 - a)]
        if mistake == "sigmoid_from_input":
            return [a * (1.0 - a)]
        return [out * (1.0 - out)]
    raise eg.BadDescription(name)


def forward_values(description, leaf_values):
    """Every node's value in plain floats (float64, like the reference)."""
    values = [float(x) for x in np.asarray(leaf_values).reshape(-1)]
    for entry in description["ops"]:
        name, kind = entry[0], eg.OPS[entry[0]][0]
        a = values[entry[1]]
        if kind == "binary":
            values.append(float(eg.OPS[name][1](a, values[entry[2]])))
        elif kind == "unary":
            values.append({"neg": -a, "exp": math.exp(a), "tanh": math.tanh(a),
                           "relu": max(a, 0.0), "sigmoid": _sigmoid(a)}[name])
        else:
            values.append(float(eg.OPS[name][1](a, float(entry[2]))))
    return values


_CACHE = {}  # (kind, ids of the objects) -> (the objects, result): a case's graph is replayed
            # for every mistake and the order check; its description and leaves are not mutated


def _cached(kind, objects, compute):
    """compute(), remembered while the very same objects (by identity) come back."""
    key = (kind,) + tuple(id(o) for o in objects)
    hit = _CACHE.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], objects)):
        return hit[1]
    if len(_CACHE) > 512:
        _CACHE.clear()
    result = compute()
    _CACHE[key] = (objects, result)
    return result


def _dfs_order(description):
    """The topological order a recursive/iterative depth-first search from the output gives."""
    return _cached("dfs", (description,), lambda: _dfs_order_of(description))


def _dfs_order_of(description):
    n = int(description["n_leaves"])
    ops = description["ops"]
    binary = {name for name, (kind, _) in eg.OPS.items() if kind == "binary"}
    order, visited, stack = [], set(), [(eg.n_nodes(description) - 1, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            if node >= n:
                entry = ops[node - n]
                parents = (entry[2], entry[1]) if entry[0] in binary else (entry[1],)  # reversed
                stack.extend((p, False) for p in parents if p not in visited)
    return order


def _edges(description, leaf_values, rule):
    """{node: [(operand, local derivative)]} with the local rule `rule` (None: the right one)."""
    n = int(description["n_leaves"])
    values = forward_values(description, leaf_values)
    edges = {}
    for k, entry in enumerate(description["ops"]):
        args = eg.operands(description, k)
        a = values[args[0]]
        b = values[args[1]] if len(args) == 2 else None
        c = float(entry[2]) if eg.OPS[entry[0]][0] in ("const", "rconst") else None
        edges[n + k] = list(zip(args, _local(entry[0], a, b, c, values[n + k], rule)))
    return edges


@collector_paused
def replay(description, leaf_values, mistake=None, order="creation"):
    """d output / d leaf (n_leaves,) the way an engine with `mistake` computes it.

    mistake: None, a RULE_MISTAKES / FLOW_MISTAKES / SECOND_PASS_MISTAKES key (second-pass ones
    return the leaves' grads after two backward() calls). order: "creation" (reverse build order)
    or "dfs" (reverse of a depth-first topological order), the two orders engines typically use.
    Returns None when the mistake would take exponential time to replay (recursive_per_path)."""
    n = int(description["n_leaves"])
    rule = mistake if mistake in RULE_MISTAKES else None
    edges = _cached(f"edges {rule}", (description, leaf_values), lambda: _edges(description, leaf_values, rule))
    total = eg.n_nodes(description)
    dfs = _dfs_order(description)
    if order == "creation":
        visit = sorted(dfs)  # creation order, restricted to the nodes the output depends on
    else:
        visit = dfs

    def one_pass(grad, flow):
        grad[total - 1] = 1.0
        sequence = visit if flow == "forward_order" else list(reversed(visit))
        for node in sequence:
            for parent, local in edges.get(node, []):
                if flow == "overwrite_at_fork":
                    grad[parent] = local * grad[node]
                else:
                    grad[parent] += local * grad[node]
        return grad

    if mistake == "recursive_per_path":
        grad = [0.0] * total
        grad[total - 1] = 1.0
        budget = [20000]

        def push(node):
            budget[0] -= 1
            if budget[0] < 0:
                raise OverflowError
            for parent, local in edges.get(node, []):
                grad[parent] += local * grad[node]
            for parent, _ in edges.get(node, []):
                push(parent)
        try:
            push(total - 1)
        except (OverflowError, RecursionError):
            return None
        return np.array(grad[:n])
    if mistake in SECOND_PASS_MISTAKES:
        first = one_pass([0.0] * total, None)
        if mistake == "leaves_reset":
            return np.array(first[:n])
        return np.array(one_pass(list(first), None)[:n])  # interior grads kept from pass 1
    return np.array(one_pass([0.0] * total, mistake)[:n])


def variants(description, leaf_values, key, codes, reference=None):
    """{code: (message, {key: wrong grads})} for the given mistake codes that change the answer."""
    messages = {**RULE_MISTAKES, **FLOW_MISTAKES, **SECOND_PASS_MISTAKES}
    found = {}
    for code in codes:
        wrong = replay(description, leaf_values, code)
        if wrong is None or not np.all(np.isfinite(wrong)):
            continue
        if reference is not None and np.allclose(wrong, reference, rtol=1e-9, atol=1e-12):
            continue
        found[code] = (messages[code], {key: wrong})
    return found


def overwrite_branches(description, leaf_values, key):
    """diagnosis branches: the '=' result in the other common visiting order, as one branch."""
    other = replay(description, leaf_values, "overwrite_at_fork", order="dfs")
    return {key: {"only the last use of a value visited (= where += was needed)": other}}


# ---- random descriptions, drawn at grade time ------------------------------------------------
ALL_OPS = tuple(eg.OPS)
EXPONENTS = (2.0, 3.0, -1.0, 0.5, -0.5, 1.5, -2.0)


def _ok(name, a, b, c):
    """Is op `name` safely inside its domain for operands a, b and constant c?"""
    if name == "div":
        return abs(b) > 0.3
    if name == "rdiv":
        return abs(a) > 0.3
    if name == "pow":
        return (a > 0.2 if c != int(c) or c < 0 else abs(a) < 4.0)
    if name == "exp":
        return a < 2.5
    if name == "relu":
        return abs(a) > 0.05
    return True


def _const(rng, name):
    if name == "pow":
        return float(rng.choice(EXPONENTS))
    if name == "divc":
        return float(rng.choice([-1, 1]) * rng.uniform(0.5, 3.0))
    return float(np.round(rng.uniform(-3.0, 3.0), 3))


MIN_GRADIENT = 1e-3  # a graph whose leaves' gradients are all smaller is drawn again


def random_graph(rng, n_leaves, n_ops, ops=ALL_OPS, recent=6, p_repeat=0.08, limit=20.0):
    """(description, leaf values) of a random graph using every op in `ops` (when n_ops allows),
    whose output depends on its leaves: some leaf's gradient is at least MIN_GRADIENT.

    A graph whose gradient cancels to (nearly) zero, such as (a*b - b*a) built from other
    nodes, leaves only rounding noise to compare at rtol 1e-10; it is drawn again."""
    while True:
        description, leaves = _random_graph(rng, n_leaves, n_ops, ops, recent, p_repeat, limit)
        if np.max(np.abs(replay(description, leaves))) >= MIN_GRADIENT:
            return description, leaves


def _random_graph(rng, n_leaves, n_ops, ops, recent, p_repeat, limit):
    """One draw of random_graph, which may cancel.

    Operands are drawn mostly from the last `recent` nodes (long paths), sometimes from any node
    (forks), sometimes the same node twice (a*a, a+a: repeated operands). Values stay within
    +-limit and every op inside its domain, so gradients are well defined and finite."""
    leaves = rng.uniform(-2.0, 2.0, size=n_leaves)
    leaves[np.abs(leaves) < 0.3] += 0.6
    values = list(leaves)
    description = {"n_leaves": int(n_leaves), "ops": []}
    schedule = list(ops) * (n_ops // len(ops) + 1)
    rng.shuffle(schedule)
    for k in range(n_ops):
        total = len(values)
        for attempt in range(50):
            name = schedule[k] if attempt < 10 else str(rng.choice(["add", "mulc", "tanh", "addc"]))
            kind = eg.OPS[name][0]
            pick = lambda: int(rng.integers(max(0, total - recent), total)) if rng.random() < 0.75 \
                else int(rng.integers(0, total))  # noqa: E731
            i = pick()
            if kind == "binary":
                # a - a and a / a are constants: their exact zero gradient is rounding noise in torch
                j = i if rng.random() < p_repeat and name not in ("sub", "div") else pick()
                if j == i and name in ("sub", "div"):
                    continue
                entry, b, c = [name, i, j], values[j], None
            elif kind == "unary":
                entry, b, c = [name, i], None, None
            else:
                c = _const(rng, name)
                entry, b = [name, i, c], None
            if not _ok(name, values[i], b, c):
                continue
            value = _apply_float(name, values[i], b, c)
            if math.isfinite(value) and abs(value) <= limit:
                break
        else:
            entry, value = ["tanh", total - 1], math.tanh(values[-1])
        description["ops"].append(entry)
        values.append(value)
    return description, np.asarray(leaves, dtype=np.float64)


def _apply_float(name, a, b, c):
    kind, apply = eg.OPS[name]
    if kind == "binary":
        return float(apply(a, b))
    if kind in ("const", "rconst"):
        return float(apply(a, c))
    return {"neg": -a, "exp": math.exp(a), "tanh": math.tanh(a), "relu": max(a, 0.0),
            "sigmoid": _sigmoid(a)}[name]


def chain_graph(rng, links):
    """(description, leaf values) of a chain x <- act(x * w_i + b_i), 3 nodes deep per link.

    Leaves: x0, then w_i, b_i per link; the depth is 3 * links + 1 nodes. Activations cycle
    through tanh, sigmoid and tanh so values stay bounded. Drawn in one NumPy call
    per kind of number and built as plain Python lists (the grader walks it op by op)."""
    x0 = rng.uniform(0.5, 1.0)
    w = rng.uniform(0.6, 1.4, size=links) * rng.choice([-1.0, 1.0], size=links)
    b = rng.uniform(-0.5, 0.5, size=links)
    leaves = np.concatenate([[x0], np.stack([w, b], axis=1).reshape(-1)])
    n_leaves = 1 + 2 * links
    ops, x = [], 0
    for i in range(links):
        node = n_leaves + 3 * i
        ops += [["mul", x, 1 + 2 * i], ["add", node, 2 + 2 * i], [("tanh", "sigmoid", "tanh")[i % 3], node + 1]]
        x = node + 2
    return {"n_leaves": n_leaves, "ops": ops}, np.asarray(leaves, dtype=np.float64)
