"""Expression graphs from a JSON-able description, built with any Value-like class.

A *description* says which scalar operations to apply, in order, to some leaves:

    {"n_leaves": 3,
     "ops": [["add", 0, 1],        # node 3 = node0 + node1
             ["mulc", 3, -4.0],    # node 4 = node3 * -4.0   (a plain number on the right)
             ["rsub", 4, 2.0],     # node 5 = 2.0 - node4    (a plain number on the left)
             ["tanh", 5]]}         # node 6 = node5.tanh()   (the last node is the output)

Nodes are numbered leaves first (0 .. n_leaves-1), then one per op. An op names its operand
nodes by number, so forks (a node used by several ops) and repeated operands (``["mul", 2, 2]``
is a*a) are plain descriptions. ``build`` applies the ops with Python's operators and the methods
``exp``, ``tanh``, ``relu``, ``sigmoid``, so the same description builds the same graph with a
student's ``Value`` class, with PyTorch scalar tensors (the grader's reference,
``reference.py``) or with anything else that has those operators.
Assignments 04/05 reuse it with their own classes. NumPy only: no references, no case generators.
"""
import numpy as np

# op name -> (kind, how to apply it). Kinds: "binary" (two nodes), "const" (a node and a plain
# number on the right), "rconst" (a plain number on the left, exercising __radd__ & co.), "unary".
OPS = {
    "add": ("binary", lambda a, b: a + b),
    "sub": ("binary", lambda a, b: a - b),
    "mul": ("binary", lambda a, b: a * b),
    "div": ("binary", lambda a, b: a / b),
    "addc": ("const", lambda a, c: a + c),
    "subc": ("const", lambda a, c: a - c),
    "mulc": ("const", lambda a, c: a * c),
    "divc": ("const", lambda a, c: a / c),
    "pow": ("const", lambda a, c: a ** c),
    "radd": ("rconst", lambda a, c: c + a),
    "rsub": ("rconst", lambda a, c: c - a),
    "rmul": ("rconst", lambda a, c: c * a),
    "rdiv": ("rconst", lambda a, c: c / a),
    "neg": ("unary", lambda a: -a),
    "exp": ("unary", lambda a: a.exp()),
    "tanh": ("unary", lambda a: a.tanh()),
    "relu": ("unary", lambda a: a.relu()),
    "sigmoid": ("unary", lambda a: a.sigmoid()),
}


class BadDescription(ValueError):
    """The description itself is malformed (a grader bug, never the student's)."""


class OpFailed(TypeError):
    """The class could not apply an op (e.g. 2.0 + v without __radd__): which op, and why."""

    def __init__(self, op, error):
        super().__init__(f"{op}: {type(error).__name__}: {error}")
        self.op, self.error = op, error


def check_description(description):
    """Raise BadDescription unless every op is known and names only earlier nodes."""
    n = int(description["n_leaves"])
    if n < 1:
        raise BadDescription("a graph needs at least one leaf")
    for k, entry in enumerate(description["ops"]):
        name = entry[0]
        if name not in OPS:
            raise BadDescription(f"op {k}: unknown op {name!r}; known: {', '.join(OPS)}")
        kind = OPS[name][0]
        nodes = entry[1:3] if kind == "binary" else entry[1:2]
        if len(entry) != (2 if kind == "unary" else 3):
            raise BadDescription(f"op {k} ({name}): wrong number of arguments in {entry}")
        if any(not isinstance(i, int) or not 0 <= i < n + k for i in nodes):
            raise BadDescription(f"op {k} ({name}): operands must be earlier nodes, got {entry}")


def operands(description, k):
    """Node numbers op k reads (one or two; the same number twice for a*a)."""
    entry = description["ops"][k]
    return list(entry[1:3]) if OPS[entry[0]][0] == "binary" else [entry[1]]


def n_nodes(description):
    return int(description["n_leaves"]) + len(description["ops"])


def build(description, leaves):
    """All nodes of the graph, leaves first; the output is the last. leaves: n_leaves objects.

    leaves are used as given (e.g. ``[Value(x) for x in values]``); every other node is what the
    class's own operators return."""
    nodes = list(leaves)
    if len(nodes) != int(description["n_leaves"]):
        raise BadDescription(f"expected {description['n_leaves']} leaves, got {len(nodes)}")
    for entry in description["ops"]:
        kind, apply = OPS[entry[0]]
        try:
            if kind == "binary":
                nodes.append(apply(nodes[entry[1]], nodes[entry[2]]))
            elif kind == "unary":
                nodes.append(apply(nodes[entry[1]]))
            else:
                nodes.append(apply(nodes[entry[1]], float(entry[2])))
        except (TypeError, AttributeError) as exc:  # an operator or method the class lacks
            raise OpFailed(entry[0], exc) from exc
    return nodes


def build_with(value_class, description, leaf_values):
    """build() with leaves ``value_class(float(x))``; -> (leaves, nodes)."""
    leaves = [value_class(float(x)) for x in np.asarray(leaf_values, dtype=np.float64).reshape(-1)]
    return leaves, build(description, leaves)


def as_float(number, what):
    """float(number) for a node's data or grad, with a clear error for anything else."""
    try:
        return float(number)
    except (TypeError, ValueError):
        raise TypeError(f"{what} is a {type(number).__name__}, expected a float") from None


def datas(nodes):
    """(len(nodes),) float64 array of every node's .data."""
    return np.array([as_float(getattr(node, "data", None), "a node's .data") for node in nodes])


def grads(nodes):
    """(len(nodes),) float64 array of every node's .grad."""
    return np.array([as_float(getattr(node, "grad", None), "a node's .grad") for node in nodes])
