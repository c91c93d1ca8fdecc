# Sample student "dana": the order and the forks go wrong.
# - topological_order returns the root first (the reverse of what is asked);
# - backward walks that list and *assigns* gradients: a fork keeps only its last contribution;
# - Plus forgets to sum a broadcast input's gradient back to its shape;
# - jvp is a directional finite difference; op counts swap the two modes;
# - checkpointing keeps every context (it is plain backprop in disguise);
# - the torch graph is listed depth-first from the loss, like the lecture's print_graph.

# %% nbgrader={"grade_id": "topological_order"} planted="returns the root first, the reverse of the order asked"
def topological_order(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.insert(0, node)  # root first
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node.parents if parent not in visited)
    return order

# %% nbgrader={"grade_id": "backward"} planted="walks the list as it comes and assigns (=) the gradients: a fork keeps only its last contribution"
def backward(root, grad=None):
    """Fill node.grad for every node reachable from root; the root's gradient is `grad` (ones)."""
    nodes = topological_order(root)  # root first
    for node in nodes:
        node.grad = np.zeros_like(node.value)
    root.grad = np.ones_like(root.value) if grad is None else np.array(grad, dtype=float)
    for node in nodes:
        if node.op is None:
            continue
        for parent, g in zip(node.parents, node.op.backward(node.ctx, node.grad)):
            parent.grad = g

# %% nbgrader={"grade_id": "plus_times"} planted="Plus does not sum a broadcast input's gradient back to its shape (unbroadcast is the identity)"
def unbroadcast(grad, shape):
    return grad

class Plus(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad

# %% nbgrader={"grade_id": "rowsum_expand"} planted="Expand.backward sums the broadcast axes itself, since its unbroadcast does nothing"
class Expand(Op):
    @staticmethod
    def backward(ctx, grad):
        (shape,) = ctx.saved
        while grad.ndim > len(shape):
            grad = grad.sum(axis=0)
        for i, s in enumerate(shape):
            if s == 1:
                grad = grad.sum(axis=i, keepdims=True)
        return (grad,)

# %% nbgrader={"grade_id": "jvp"} planted="jvp is a directional finite difference, not dual numbers" remove=["dual_expand", "dual_rowsum"]
def dual_sigmoid(a):
    raise NotImplementedError("finite differences are easier")

dual_rowsum = dual_expand = dual_sigmoid

NUMPY_OPS = {"plus": lambda a, b: a + b, "times": lambda a, b: a * b,
             "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "rowsum": lambda a: a.sum(axis=1),
             "expand": lambda a, shape: np.broadcast_to(a, shape), "constant": lambda c: c}

def jvp(f, x, v):
    h = 1e-6
    value = f(NUMPY_OPS, x)
    return value, (f(NUMPY_OPS, x + h * v) - f(NUMPY_OPS, x - h * v)) / (2 * h)

# %% nbgrader={"grade_id": "op_counts"} planted="swaps the costs of the two modes"
def jacobian_op_counts(n, m, k):
    return m * k, k + n * k

# %% nbgrader={"grade_id": "checkpoint"} planted="keeps every context: plain backprop in disguise"
def checkpointed_backward(layers, x, grad_out, segments):
    size = -(-len(layers) // segments)
    saved = []
    for start in range(0, len(layers), size):
        for layer in layers[start:start + size]:
            ctx = Context()
            x = layer.forward(ctx, x)
            saved.append((layer, ctx))
    grad = grad_out
    for layer, ctx in reversed(saved):
        grad = layer.backward(ctx, grad)
    return grad

# %% nbgrader={"grade_id": "torch_graph"} planted="lists the torch graph depth-first from the loss instead of in the order backward runs it"
def read_torch_graph(program, inputs):
    import torch

    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    loss = program(torch, **leaves)
    names = []

    def walk(fn):
        if fn is None:
            return
        names.append(type(fn).__name__)
        for next_fn, _ in fn.next_functions:
            walk(next_fn)

    walk(loss.grad_fn)
    loss.backward(retain_graph=True)
    loss.backward()
    return names, {k: v.grad.numpy() for k, v in leaves.items()}

# %% nbgrader={"grade_id": "counterexample"} planted="a chain, on which the breadth-first walk is right: no counterexample"
def breadth_first_counterexample():
    # a chain: every node has one user, so no gradient can arrive late
    w = Tensor(0.7)
    return Sigmoid.apply(Times.apply(Sigmoid.apply(w), Tensor(2.0))), w
