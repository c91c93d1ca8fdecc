"""Trusted references and named wrong answers of assignment 05 (torch in the trusted process only).

Exact gradients come from torch autograd on the same programs the sandbox builds
(``sandbox_graphs.py``); the named mistakes are computed here by simulating the wrong
algorithm (a gradient overwritten at a fork, a per-path recursion, a wrong product rule, a
graph listed in the wrong order) on the same inputs.
"""
import numpy as np

from . import sandbox_graphs as graphs


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


def tensor(value, requires_grad=False):
    torch = _torch()
    return torch.tensor(np.asarray(value, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


# --- graphs --------------------------------------------------------------------------------------

def consumers(parent_table):
    """{node: [consumers, with multiplicity]} of a parent table."""
    table = np.asarray(parent_table, dtype=np.int64).tolist()
    users = {i: [] for i in range(len(table))}
    for i, row in enumerate(table):
        for p in row:
            if p >= 0:
                users[int(p)].append(i)
    return users


def reachable(parent_table, root=None):
    """Set of nodes the root (default: the last) reaches through parents."""
    table = np.asarray(parent_table, dtype=np.int64).tolist()  # rows of ints: 10,000-node graphs
    root = len(table) - 1 if root is None else root
    seen, stack = {root}, [root]
    while stack:
        for p in table[stack.pop()]:
            if p >= 0 and p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def dfs_postorder(parent_table, reverse_parents=False):
    """The notebook's iterative depth-first topological order from the last node (inputs
    first): a node is marked when expanded, its parents pushed in order (or reversed)."""
    table = np.asarray(parent_table, dtype=np.int64).tolist()
    order, visited, stack = [], set(), [(len(table) - 1, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        parents = [p for p in table[node] if p >= 0]
        for p in (reversed(parents) if reverse_parents else parents):
            if p not in visited:
                stack.append((p, False))
    return order


def path_counts(parent_table):
    """Number of root-to-node paths (what a per-path recursion calls each node's backward)."""
    table = np.asarray(parent_table, dtype=np.int64).tolist()
    counts = [0.0] * len(table)
    counts[-1] = 1.0
    for i in range(len(table) - 1, -1, -1):
        for p in table[i]:
            if p >= 0:
                counts[p] += counts[i]
    return np.asarray(counts)


# --- programs (backward) -------------------------------------------------------------------------

def program_table(codes, args):
    """The parent table of a program with its weighted-sum loss as one more node at the end."""
    rows, args = [], np.asarray(args, dtype=np.int64).tolist()
    for i, code in enumerate(np.asarray(codes, dtype=np.int64).tolist()):
        name = graphs.OP_NAMES[code]
        rows.append([-1, -1] if code == graphs.LEAF else
                    args[i][:graphs.ARITY[name]] + [-1] * (2 - graphs.ARITY[name]))
    rows.append([len(codes) - 1, -1])
    return np.asarray(rows, dtype=np.int64)


def program_gradients(case):
    """Exact gradients of the program's loss for its two leaves, by torch autograd."""
    a = case.arrays
    leaves = {i: tensor(a[f"leaf{i}"], True) for i in (0, 1)}
    _, loss = graphs.run_program(_torch(), a["codes"], a["args"], leaves, tensor(a["dout"]))
    loss.backward()
    return {f"grad_leaf{i}": leaves[i].grad.numpy().copy() for i in (0, 1)}


def local_backward(name, inputs, out, grad):
    """Vector-Jacobian products of the grader's ops (NumPy), one per input. Trusted: the sandbox's
    ops get only their local derivatives as numbers (``local_derivatives``), never these rules."""
    if name == "add":
        return grad, grad
    if name == "mul":
        a, b = inputs
        return grad * b, grad * a
    if name == "sin":
        return (grad * np.cos(inputs[0]),)
    if name == "tanh":
        return (grad * (1.0 - out * out),)
    if name == "sigmoid":
        return (grad * out * (1.0 - out),)
    raise ValueError(name)


def local_derivatives(codes, args, leaves):
    """(inputs of all op nodes, *shape): d node / d input k at the program's values, one slab per
    input of each op node in node order (a leaf has none, a unary op one); the sandbox's GraderOps
    multiply the upstream gradient by these. Nothing travels for leaves or unused inputs."""
    values, _ = graphs.run_program(np, codes, args, leaves, np.asarray(1.0))
    shape = np.shape(values[-1])
    ones, local = np.ones(shape), []
    args = np.asarray(args, dtype=np.int64).tolist()
    for i, code in enumerate(np.asarray(codes, dtype=np.int64).tolist()):
        if code == graphs.LEAF:
            continue
        name = graphs.OP_NAMES[code]
        parents = args[i][:graphs.ARITY[name]]
        local.extend(local_backward(name, [values[p] for p in parents], values[i], ones))
    return np.stack(local) if local else np.zeros((0,) + shape)


def simulate_overwrite(case, order):
    """Backward in the reverse of `order`, a parent's gradient *assigned* (=) instead of added."""
    a = case.arrays
    codes, args = a["codes"], a["args"]
    leaves = {i: a[f"leaf{i}"] for i in range(len(codes)) if codes[i] == graphs.LEAF}
    values, _ = graphs.run_program(np, codes, args, leaves, a["dout"])
    table = program_table(codes, args)
    grads = {len(codes): np.asarray(1.0)}
    for node in reversed(order):
        if node not in grads:
            continue
        if node == len(codes):
            pairs = [(len(codes) - 1, grads[node] * a["dout"])]
        elif codes[node] == graphs.LEAF:
            continue
        else:
            name = graphs.OP_NAMES[codes[node]]
            parents = [int(p) for p in table[node] if p >= 0]
            local = local_backward(name, [values[p] for p in parents], values[node], grads[node])
            pairs = zip(parents, local)
        for p, g in pairs:
            grads[p] = g
    return {f"grad_leaf{i}": grads.get(i, np.zeros_like(a[f"leaf{i}"])) for i in (0, 1)}


# --- vector functions (forward and reverse mode) -------------------------------------------------

def torch_ops():
    torch = _torch()
    return {"plus": lambda a, b: a + b, "times": lambda a, b: a * b, "sigmoid": torch.sigmoid,
            "rowsum": lambda a: a.sum(dim=1), "expand": lambda a, shape: a.expand(*shape),
            "matmul": lambda a, b: a @ b, "constant": lambda c: tensor(c)}


class _Dual:
    def __init__(self, value, tangent):
        self.value, self.tangent = value, tangent


def numpy_dual_ops(product_rule="right"):
    """Dual-number ops in NumPy; product_rule="left_only" is the classic wrong tangent v_a * b."""
    def times(a, b):
        tangent = a.tangent * b.value + (a.value * b.tangent if product_rule == "right" else 0.0)
        return _Dual(a.value * b.value, tangent)

    def sigmoid(a):
        s = 1.0 / (1.0 + np.exp(-a.value))
        return _Dual(s, a.tangent * s * (1.0 - s))

    return {"plus": lambda a, b: _Dual(a.value + b.value, a.tangent + b.tangent), "times": times,
            "sigmoid": sigmoid,
            "rowsum": lambda a: _Dual(a.value.sum(axis=1), a.tangent.sum(axis=1)),
            "expand": lambda a, shape: _Dual(np.broadcast_to(a.value, shape).copy(),
                                             np.broadcast_to(a.tangent, shape).copy()),
            "constant": lambda c: _Dual(np.asarray(c, dtype=np.float64), np.zeros(np.shape(c)))}


def function_of(case):
    return graphs.vector_function(case.params["f"], case.arrays)


def exact_jvp(case):
    torch = _torch()
    f, ops = function_of(case), torch_ops()
    value, tangent = torch.autograd.functional.jvp(lambda x: f(ops, x), tensor(case.arrays["x"]),
                                                   tensor(case.arrays["v"]))
    return value.numpy().copy(), tangent.numpy().copy()


def exact_jacobian(case):
    torch = _torch()
    f, ops = function_of(case), torch_ops()
    return torch.autograd.functional.jacobian(lambda x: f(ops, x), tensor(case.arrays["x"])).numpy().copy()


def wrong_product_tangent(case):
    out = function_of(case)(numpy_dual_ops("left_only"), _Dual(case.arrays["x"], case.arrays["v"]))
    return out.tangent


# --- ops -----------------------------------------------------------------------------------------

def op_reference(op, arrays, inputs):
    """Forward output and input gradients of one lecture op, by torch."""
    torch = _torch()
    tensors = [tensor(arrays[name], True) for name in inputs]
    if op == "Plus":
        out = tensors[0] + tensors[1]
    elif op == "Times":
        out = tensors[0] * tensors[1]
    elif op == "Sigmoid":
        out = torch.sigmoid(tensors[0])
    elif op == "RowSum":
        out = tensors[0].sum(dim=1)
    elif op == "Expand":
        out = tensors[0].expand(*(int(s) for s in arrays["shape"]))
    elif op == "MatMul":
        out = tensors[0] @ tensors[1]
    else:
        raise KeyError(op)
    (out * tensor(arrays["dout"])).sum().backward()
    key = op.lower()
    ref = {f"out_{key}": out.detach().numpy().copy()}
    ref.update({f"grad_{name}": t.grad.numpy().copy() for name, t in zip(inputs, tensors)})
    return ref


# --- checkpointing -------------------------------------------------------------------------------

def chain_gradients(arrays):
    torch = _torch()
    x = tensor(arrays["x"], True)
    weights = [tensor(W, True) for W in arrays["W"]]
    biases = [tensor(b, True) for b in arrays["b"]]
    out = graphs.chain_forward(torch, x, weights, biases)
    (out * tensor(arrays["dout"])).sum().backward()
    return {"grad_x": x.grad.numpy().copy(),
            "grad_W": np.stack([W.grad.numpy() for W in weights]),
            "grad_b": np.stack([b.grad.numpy() for b in biases])}


# --- PyTorch's graph ------------------------------------------------------------------------------

def _torch_nodes(root):
    """Every node reachable from root.grad_fn, once each."""
    seen, stack, nodes = set(), [root.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(fn for fn, _ in node.next_functions)
    return nodes


def _preorder(root):
    """The lecture's print_graph order: depth-first, a node before its next_functions (repeats kept)."""
    names, stack = [], [root.grad_fn]
    while stack:
        node = stack.pop()
        if node is None:
            continue
        names.append(graphs.short_name(node.name()))
        stack.extend(reversed([fn for fn, _ in node.next_functions]))
    return names


def torch_graph_reference(case):
    """-> (names in the order the first backward runs them, grads after two backward calls,
    grads after one, the names in print_graph's depth-first order)."""
    torch = _torch()
    program = graphs.TORCH_PROGRAMS[case.params["program"]]
    leaves = {name: tensor(case.arrays[name], True) for name in case.params["leaves"]}
    loss = program(torch, **leaves)
    order = []
    handles = [node.register_prehook(lambda grads, node=node: order.append(graphs.short_name(node.name())))
               for node in _torch_nodes(loss)]
    loss.backward(retain_graph=True)
    for handle in handles:
        handle.remove()
    once = {name: t.grad.numpy().copy() for name, t in leaves.items()}
    loss.backward()
    twice = {name: t.grad.numpy().copy() for name, t in leaves.items()}
    return order, twice, once, _preorder(loss)


# --- the notes' breadth-first walk -----------------------------------------------------------------

def breadth_first_and_true_gradients(codes, args, leaf_values, leaf):
    """d root / d leaf of a program (root = its last node) by the lecture notes' breadth-first walk
    with a visited set, and exactly by torch autograd. -> (breadth_first, true)."""
    from collections import deque

    codes = np.asarray(codes, dtype=np.int64)
    args = np.asarray(args, dtype=np.int64)
    leaves = {i: np.asarray(leaf_values[i], dtype=np.float64) for i in range(len(codes)) if codes[i] == graphs.LEAF}
    values, _ = graphs.run_program(np, codes, args, leaves, np.asarray(1.0))
    grads = [np.zeros(()) for _ in codes]
    grads[-1] = np.ones(())
    queue, visited = deque([len(codes) - 1]), set()
    while queue:
        i = queue.popleft()
        if i in visited or codes[i] == graphs.LEAF:
            continue
        visited.add(i)
        name = graphs.OP_NAMES[codes[i]]
        parents = [int(p) for p in args[i][:graphs.ARITY[name]]]
        for p, g in zip(parents, local_backward(name, [values[p] for p in parents], values[i], grads[i])):
            grads[p] = grads[p] + g
            queue.append(p)
    torch_leaves = {i: tensor(v, True) for i, v in leaves.items()}
    _, root = graphs.run_program(_torch(), codes, args, torch_leaves, tensor(1.0))
    root.backward()
    return float(grads[leaf]), float(torch_leaves[leaf].grad)
