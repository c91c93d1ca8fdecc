"""Test material of assignment 05 that both sides build from: graphs, programs, layers, functions.

Runs in the student's process (NumPy only, no references): the sandbox builds the graphs the
student's code walks from plain integer tables, and the trusted grader evaluates the very same
tables with torch (every rule below takes ``xp``, the array module, first, as in
``functions.py``). Nothing here knows a right answer; the inputs are drawn at grade time.

- ``GraphNode`` and ``build_graph``: bare nodes with ``parents``, for ``topological_order``.
- programs: a node table (``codes``, ``args``) of elementwise ops, run by the grader's own ops
  (``GraderOp``, which count their backward calls) on the notebook's ``Tensor``/``Context``.
- vector functions ``f(ops, x)`` written with the lecture's ops, for forward and reverse mode.
- ``TanhLayer``: a layer with ``forward(ctx, x)`` / ``backward(ctx, grad)`` and the ``Meter`` that
  counts its forward calls and samples traced memory, for checkpointing.
- torch programs ``program(t, **leaves)``: ``t`` is the torch module the student passes in.
"""
import numpy as np

# --- bare graphs for topological_order ---------------------------------------------------------


class GraphNode:
    """A node that knows only its parents (its inputs) and its number in the table."""

    __slots__ = ("ident", "parents", "__weakref__")

    def __init__(self, ident, parents):
        self.ident = ident
        self.parents = tuple(parents)

    def __repr__(self):
        return f"GraphNode({self.ident})"


def build_graph(parent_table):
    """parent_table: (n, k) ints, row i the parents of node i (all < i), -1 for none.
    -> list of n GraphNodes; the root is the last one."""
    nodes = []
    for row in np.asarray(parent_table, dtype=np.int64).tolist():  # ints, not NumPy scalars
        nodes.append(GraphNode(len(nodes), [nodes[p] for p in row if p >= 0]))
    return nodes


# --- programs of elementwise ops, for backward ---------------------------------------------------

LEAF = 0
OP_NAMES = ("leaf", "add", "mul", "sin", "tanh", "sigmoid")
ARITY = {"add": 2, "mul": 2, "sin": 1, "tanh": 1, "sigmoid": 1}

FORWARD = {
    "add": lambda xp, a, b: a + b,
    "mul": lambda xp, a, b: a * b,
    "sin": lambda xp, a: xp.sin(a),
    "tanh": lambda xp, a: xp.tanh(a),
    "sigmoid": lambda xp, a: 1.0 / (1.0 + xp.exp(-a)),
}


class GraderOp:
    """One op of the grader, called the way the notebook's Op is: forward(ctx, *values),
    backward(ctx, grad) -> one gradient per input. Counts how often its backward runs.

    It holds no backward rule: ``local`` (arity, *shape) are the derivatives of its output with
    respect to each input at this node's values, computed by the trusted side, so that nothing
    here differentiates the ops the student writes (Times, Sigmoid) for them."""

    def __init__(self, name, node_index, local):
        self.name, self.node_index, self.backward_calls = name, node_index, 0
        self.local = local

    def forward(self, ctx, *values):
        out = FORWARD[self.name](np, *values)
        ctx.save_for_backward(*values, out)
        return out

    def backward(self, ctx, grad):
        self.backward_calls += 1
        grad = np.asarray(grad, dtype=np.float64)
        return tuple(grad * self.local[k] for k in range(ARITY[self.name]))


class WeightedSum:
    """The program's loss: sum(weights * x), a scalar (weights play the upstream gradient)."""

    name = "weighted_sum"

    def __init__(self, weights):
        self.weights, self.backward_calls = weights, 0

    def forward(self, ctx, x):
        return np.asarray(np.sum(self.weights * x), dtype=np.float64)

    def backward(self, ctx, grad):
        self.backward_calls += 1
        return (np.asarray(grad, dtype=np.float64) * self.weights,)


def run_program(xp, codes, args, leaves, weights):
    """Evaluate a program with array module xp: node i is leaves[i] when codes[i] == 0, else
    OP_NAMES[codes[i]] of the nodes args[i]. -> (values of every node, loss sum(weights * last))."""
    values, args = [], np.asarray(args, dtype=np.int64).tolist()
    for i, code in enumerate(np.asarray(codes, dtype=np.int64).tolist()):
        if code == LEAF:
            values.append(leaves[i])
        else:
            name = OP_NAMES[code]
            values.append(FORWARD[name](xp, *(values[a] for a in args[i][:ARITY[name]])))
    return values, (weights * values[-1]).sum()


def build_program(tensor_cls, context_cls, codes, args, leaves, weights, local):
    """The program as a graph of the notebook's Tensor objects, each op node produced by one of
    the grader's ops; local: (inputs of all op nodes, *shape) local derivatives from the trusted
    side, the slabs of each op node's inputs in node order.
    -> (root Tensor, {node index: leaf Tensor}, [every GraderOp and the loss])."""
    nodes, ops, leaf_nodes, slab = [], [], {}, 0
    args = np.asarray(args, dtype=np.int64).tolist()
    for i, code in enumerate(np.asarray(codes, dtype=np.int64).tolist()):
        if code == LEAF:
            node = tensor_cls(np.array(leaves[i], dtype=np.float64, copy=True))
            leaf_nodes[i] = node
        else:
            name = OP_NAMES[code]
            op = GraderOp(name, i, local[slab:slab + ARITY[name]])
            slab += ARITY[name]
            parents = [nodes[a] for a in args[i][:ARITY[name]]]
            ctx = context_cls()
            node = tensor_cls(op.forward(ctx, *(p.value for p in parents)), op=op, parents=parents, ctx=ctx)
            ops.append(op)
        nodes.append(node)
    loss_op = WeightedSum(np.array(weights, dtype=np.float64, copy=True))
    ctx = context_cls()
    root = tensor_cls(loss_op.forward(ctx, nodes[-1].value), op=loss_op, parents=[nodes[-1]], ctx=ctx)
    return root, leaf_nodes, ops + [loss_op]


# --- vector functions f(ops, x): R^n -> R^m, written with the lecture's ops -----------------------
# ops is a dict: "plus" (broadcasting), "times", "sigmoid", "rowsum", "expand", "matmul" and
# "constant" (turns an array into a node of the engine that ops accept).

def _matvec(ops, W, x):
    """W @ x from the lecture's ops: every row of W times x, summed along the row."""
    return ops["rowsum"](ops["times"](ops["expand"](x, shape=W.shape), ops["constant"](W)))


def mlp_function(W1, b1, W2):
    """f(x) = W2 sigmoid(W1 x + b1); W1: (h, n), b1: (h,), W2: (m, h); x: (n,) -> (m,)."""
    def f(ops, x):
        hidden = ops["sigmoid"](ops["plus"](_matvec(ops, W1, x), ops["constant"](b1)))
        return _matvec(ops, W2, hidden)
    f.ops_per_pass = 8
    return f


def product_function(W, V, c):
    """f(x) = sigmoid(W x) * (V x + c); W, V: (m, n), c: (m,); x: (n,) -> (m,)."""
    def f(ops, x):
        left = ops["sigmoid"](_matvec(ops, W, x))
        # the constant first (the mlp adds it second): a plus that gets either input's tangent wrong
        # is seen in one of the two
        right = ops["plus"](ops["constant"](c), _matvec(ops, V, x))
        return ops["times"](left, right)
    f.ops_per_pass = 9
    return f


def vector_function(name, arrays):
    """The named test function with its constants from a case's arrays."""
    if name == "mlp":
        return mlp_function(arrays["W1"], arrays["b1"], arrays["W2"])
    if name == "product":
        return product_function(arrays["W"], arrays["V"], arrays["c"])
    raise KeyError(name)


# --- layers for checkpointing --------------------------------------------------------------------


class Meter:
    """What the grader's layers record while the student's code runs: forward calls and the
    traced memory (tracemalloc's current size) sampled at every forward and backward call."""

    def __init__(self, sample):
        self.sample = sample      # () -> bytes currently traced, or None when tracing was stopped
        self.forward_calls = 0
        self.backward_calls = 0
        self.peak = 0
        self.tampered = False

    def record(self):
        current = self.sample()
        if current is None:
            self.tampered = True
        else:
            self.peak = max(self.peak, current)


class TanhLayer:
    """y = tanh(x @ W + b); x: (N, D), W: (D, D), b: (D,). backward returns grad_x and adds
    this call's gradients to grad_W and grad_b (as parameters of a module do)."""

    def __init__(self, W, b, meter):
        self.W, self.b, self.meter = W, b, meter
        self.grad_W, self.grad_b = np.zeros_like(W), np.zeros_like(b)

    def forward(self, ctx, x):
        self.meter.forward_calls += 1
        self.meter.record()
        x = np.asarray(x, dtype=np.float64)
        y = np.tanh(x @ self.W + self.b)
        ctx.save_for_backward(x, y)
        return y

    def backward(self, ctx, grad):
        self.meter.backward_calls += 1
        self.meter.record()
        x, y = ctx.saved
        dz = np.asarray(grad, dtype=np.float64) * (1.0 - y * y)
        self.grad_W += x.T @ dz
        self.grad_b += dz.sum(axis=0)
        return dz @ self.W.T


def chain_forward(xp, x, weights, biases):
    """The layers' output, written for any array module (the trusted side runs it in torch)."""
    for W, b in zip(weights, biases):
        x = xp.tanh(x @ W + b)
    return x


# --- torch programs: program(t, **leaves) -> scalar loss, t the torch module ---------------------

def program_sum(t, a, b):
    """The lecture's c = a + b."""
    return (a + b).sum()


def program_mixed(t, x, w):
    """sigmoid(x * w) and exp(x) added, summed, times the sum of w * w."""
    y = (x * w).sigmoid()
    return (y + x.exp()).sum() * (w * w).sum()


def program_mlp(t, X, W1, b1, W2):
    """A one-hidden-layer tanh network's squared output, averaged."""
    hidden = t.tanh(X @ W1 + b1)
    return ((hidden @ W2) ** 2).mean()


TORCH_PROGRAMS = {"sum": program_sum, "mixed": program_mixed, "mlp": program_mlp}


def encode_names(names):
    """A list of strings -> float64 array of their bytes, separated by newlines (how names travel)."""
    text = "\n".join(str(n) for n in names)
    return np.frombuffer(text.encode("utf-8", errors="replace")[:20000], dtype=np.uint8).astype(np.float64)


def decode_names(array):
    """Inverse of encode_names."""
    data = bytes(int(v) for v in np.asarray(array).ravel() if 0 <= v < 256)
    text = data.decode("utf-8", errors="replace")
    return text.split("\n") if text else []


def short_name(name):
    """A node's name without torch's namespace ("torch::autograd::AccumulateGrad" -> "AccumulateGrad")."""
    return str(name).rsplit("::", 1)[-1]
