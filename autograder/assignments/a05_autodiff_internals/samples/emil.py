# Sample student "emil": recursion everywhere, and broadcasting backwards.
# - topological_order and backward recurse (the 10,000-node chains of the hidden tests exceed
#   Python's recursion limit) and backward follows every path (exponential on diamonds);
# - Expand's backward does not sum over the broadcast axis, RowSum's does not broadcast;
# - the forward-mode Jacobian stacks the JVPs as rows (J transposed);
# - the reverse-mode count forgets the forward pass; the torch graph leaves out AccumulateGrad.

# %% nbgrader={"grade_id": "topological_order"} planted="TODO"
def topological_order(root):
    """All nodes reachable from root via .parents, each once, every node after its parents."""
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for parent in node.parents:
            visit(parent)
        order.append(node)

    visit(root)
    return order

# %% nbgrader={"grade_id": "backward"} planted="TODO"
def backward(root, grad=None):
    """Fill node.grad for every node reachable from root; the root's gradient is `grad` (ones)."""
    for node in topological_order(root):
        node.grad = np.zeros_like(node.value)

    def push(node, g):
        node.grad = node.grad + g
        if node.op is not None:
            for parent, pg in zip(node.parents, node.op.backward(node.ctx, g)):
                push(parent, pg)

    push(root, np.ones_like(root.value) if grad is None else np.asarray(grad, dtype=float))

# %% nbgrader={"grade_id": "plus_times"} planted="TODO"
def unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for i, s in enumerate(shape):
        if s == 1 and grad.shape[i] > 1:
            grad = grad.sum(axis=i, keepdims=True)
    return grad

class Plus(Op):
    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.saved
        return unbroadcast(grad, sa), unbroadcast(grad, sb)

# %% nbgrader={"grade_id": "sigmoid"} planted="TODO"
class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)
        return s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved
        return (grad * s * (1 - s),)

# %% nbgrader={"grade_id": "rowsum_expand"} planted="TODO"
class RowSum(Op):
    @staticmethod
    def forward(ctx, x):
        return x.sum(axis=1)

    @staticmethod
    def backward(ctx, grad):
        return (grad,)

class Expand(Op):
    @staticmethod
    def forward(ctx, x, shape):
        return np.broadcast_to(x, shape).copy()

    @staticmethod
    def backward(ctx, grad):
        return (grad,)

# %% nbgrader={"grade_id": "jvp"} planted="TODO"
def dual_sigmoid(a):
    s = 1 / (1 + np.exp(-a.value))
    return Dual(s, s * (1 - s) * a.tangent)

def dual_rowsum(a):
    return Dual(np.sum(a.value, axis=1), np.sum(a.tangent, axis=1))

def dual_expand(a, shape):
    return Dual(np.broadcast_to(a.value, shape), np.broadcast_to(a.tangent, shape))

# %% nbgrader={"grade_id": "jacobian"} planted="TODO"
def jacobian_forward(f, x):
    return np.array([jvp(f, x, e)[1] for e in np.eye(len(x))])

def jacobian_reverse(f, x):
    xt = Tensor(x)
    y = f(TENSOR_OPS, xt)
    rows = []
    for e in np.eye(len(y.value)):
        backward(y, e)
        rows.append(xt.grad)
    return np.array(rows)

# %% nbgrader={"grade_id": "op_counts"} planted="TODO"
def jacobian_op_counts(n, m, k):
    return n * k, m * k

# %% nbgrader={"grade_id": "checkpoint"} planted="TODO"
def checkpointed_backward(layers, x, grad_out, segments):
    L = len(layers)
    size = int(np.ceil(L / segments))
    checkpoints = {}
    for i, layer in enumerate(layers):
        if i % size == 0:
            checkpoints[i] = x
        x = layer.forward(Context(), x)
    grad = grad_out
    for start in sorted(checkpoints, reverse=True):
        h = checkpoints.pop(start)
        ctxs = []
        for layer in layers[start:start + size]:
            c = Context()
            h = layer.forward(c, h)
            ctxs.append(c)
        for layer, c in reversed(list(zip(layers[start:start + size], ctxs))):
            grad = layer.backward(c, grad)
    return grad

# %% nbgrader={"grade_id": "torch_graph"} planted="TODO"
def read_torch_graph(program, inputs):
    import torch

    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    loss = program(torch, **leaves)
    order, seen, stack = [], set(), [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        if fn.name() != "torch::autograd::AccumulateGrad":
            fn.register_prehook(lambda g, fn=fn: order.append(fn.name()))
        stack.extend(n for n, _ in fn.next_functions)
    loss.backward(retain_graph=True)
    names = list(order)
    loss.backward()
    return names, {k: v.grad.numpy() for k, v in leaves.items()}

# %% nbgrader={"grade_id": "counterexample"} planted="TODO"
class Sin(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return (grad * np.cos(x),)

def breadth_first_counterexample():
    # the notes' example, with a Sin op of his own (only Plus, Times and Sigmoid are allowed)
    w = Tensor(0.7)
    x = Sin.apply(w)
    return Times.apply(Sigmoid.apply(Times.apply(x, x)), x), w
