# Sample student "chen": careful work with three classic slips.
# - topological_order appends a node again each time another user reaches it (nodes repeated),
#   so backward, which walks that list, runs some backward rules twice;
# - the dual-number product keeps only one term of the product rule (v_a * b);
# - checkpointing recomputes every layer's input from x: right gradients, quadratic time;
# - read_torch_graph zeroes the gradients between the two backward calls.

# %% nbgrader={"grade_id": "topological_order"} planted="TODO"
def topological_order(root):
    """All nodes reachable from root via .parents, each once, every node after its parents."""
    order, expanded = [], set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
            continue
        stack.append((node, True))
        if node not in expanded:
            expanded.add(node)
            for parent in node.parents:
                stack.append((parent, False))
    return order

# %% nbgrader={"grade_id": "backward"} planted="TODO"
def backward(root, grad=None):
    """Fill node.grad for every node reachable from root; the root's gradient is `grad` (ones)."""
    order = topological_order(root)
    for node in order:
        node.grad = np.zeros_like(node.value)
    root.grad = np.ones_like(root.value) if grad is None else np.array(grad, dtype=float)
    for node in order[::-1]:
        if node.op is not None:
            grads = node.op.backward(node.ctx, node.grad)
            for parent, g in zip(node.parents, grads):
                parent.grad = parent.grad + g

# %% nbgrader={"grade_id": "plus_times"} planted="TODO"
def unbroadcast(grad, shape):
    """Sum grad over the axes along which an array of `shape` was broadcast; -> shape."""
    grad = np.asarray(grad, dtype=float)
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra > 0 else grad
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)

class Plus(Op):
    @staticmethod
    def backward(ctx, grad):
        sa, sb = ctx.saved
        return unbroadcast(grad, sa), unbroadcast(grad, sb)

# %% nbgrader={"grade_id": "sigmoid"} planted="TODO"
class Sigmoid(Op):
    @staticmethod
    def forward(ctx, x):
        sig = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(sig)
        return sig

    @staticmethod
    def backward(ctx, grad):
        (sig,) = ctx.saved
        return (grad * sig * (1 - sig),)

# %% nbgrader={"grade_id": "rowsum_expand"} planted="TODO"
class RowSum(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.shape)
        return x.sum(axis=1)

    @staticmethod
    def backward(ctx, grad):
        (shape,) = ctx.saved
        return (np.broadcast_to(grad[:, None], shape).copy(),)

class Expand(Op):
    @staticmethod
    def backward(ctx, grad):
        (shape,) = ctx.saved
        return (unbroadcast(grad, shape),)

# %% nbgrader={"grade_id": "jvp"} planted="TODO"
def dual_times(a, b):
    return Dual(a.value * b.value, a.tangent * b.value)

def dual_sigmoid(a):
    s = 1 / (1 + np.exp(-a.value))
    return Dual(s, a.tangent * s * (1 - s))

def dual_expand(a, shape):
    return Dual(np.broadcast_to(a.value, shape), np.broadcast_to(a.tangent, shape))

def jvp(f, x, v):
    y = f(DUAL_OPS, Dual(x, v))
    return y.value, y.tangent

# %% nbgrader={"grade_id": "jacobian"} planted="TODO"
def jacobian_forward(f, x):
    n = len(x)
    return np.column_stack([jvp(f, x, np.eye(n)[j])[1] for j in range(n)])

def jacobian_reverse(f, x):
    xt = Tensor(x)
    y = f(TENSOR_OPS, xt)
    J = np.zeros((y.value.size, x.size))
    for i in range(y.value.size):
        seed = np.zeros(y.value.size)
        seed[i] = 1.0
        backward(y, seed)
        J[i] = xt.grad
    return J

# %% nbgrader={"grade_id": "checkpoint"} planted="TODO"
def checkpointed_backward(layers, x, grad_out, segments):
    # keep nothing: recompute the input of every layer from x when its backward is due
    grad = grad_out
    for i in reversed(range(len(layers))):
        h = x
        for layer in layers[:i]:
            h = layer.forward(Context(), h)
        ctx = Context()
        layers[i].forward(ctx, h)
        grad = layers[i].backward(ctx, grad)
    return grad

# %% nbgrader={"grade_id": "torch_graph"} planted="TODO"
def read_torch_graph(program, inputs):
    import torch

    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    loss = program(torch, **leaves)
    nodes, todo = [], [loss.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn not in nodes:
            nodes.append(fn)
            todo += [g for g, _ in fn.next_functions]
    names = []
    for fn in nodes:
        fn.register_prehook(lambda g, fn=fn: names.append(fn.name()))
    loss.backward(retain_graph=True)
    recorded = list(names)
    for leaf in leaves.values():
        leaf.grad.zero_()
    loss.backward()
    return recorded, {k: v.grad.numpy() for k, v in leaves.items()}

# %% nbgrader={"grade_id": "counterexample"} planted="TODO"
def breadth_first_counterexample():
    w = Tensor(0.7)
    x = Sigmoid.apply(w)
    loss = Times.apply(Sigmoid.apply(Times.apply(x, x)), x)
    return loss, w
