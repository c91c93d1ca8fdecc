# Sample student "emil": recursion everywhere, and broadcasting backwards.
# - topological_order and backward recurse (the 10,000-node chains of the hidden tests exceed
#   Python's recursion limit) and backward follows every path (exponential on diamonds);
# - Expand's backward does not sum over the broadcast axis, RowSum's does not broadcast;
# - the forward-mode Jacobian stacks the JVPs as rows (J transposed);
# - the reverse-mode count forgets the forward pass; the torch graph leaves out AccumulateGrad.

# %% nbgrader={"grade_id": "topological_order"} planted="recursive depth-first search: RecursionError on 10,000-node chains"
def topological_order(root):
    order, seen = [], set()

    def visit(node):
        seen.add(node)
        for parent in (p for p in node.parents if p not in seen):
            visit(parent)
        order.append(node)

    visit(root)
    return order

# %% nbgrader={"grade_id": "backward"} planted="recurses along every path (exponential on diamonds, RecursionError on deep chains)"
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

# %% nbgrader={"grade_id": "rowsum_expand"} planted="RowSum's backward does not broadcast and Expand's does not sum over the broadcast axes"
class RowSum(Op):
    @staticmethod
    def backward(ctx, grad):
        return (grad,)

class Expand(Op):
    @staticmethod
    def backward(ctx, grad):
        return (grad,)

# %% nbgrader={"grade_id": "jacobian"} planted="the forward-mode Jacobian stacks the JVPs as rows (J transposed)"
def jacobian_forward(f, x):
    return np.array([jvp(f, x, e)[1] for e in np.eye(len(x))])

# %% nbgrader={"grade_id": "op_counts"} planted="the reverse-mode count forgets the forward pass"
def jacobian_op_counts(n, m, k):
    return n * k, m * k

# %% nbgrader={"grade_id": "torch_graph"} planted="leaves out the AccumulateGrad nodes"
def read_torch_graph(program, inputs):
    import torch

    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in inputs.items()}
    loss = program(torch, **leaves)
    order, hooked = [], set()

    def hook_below(fn):  # every node once; the leaves' AccumulateGrad nodes get no hook
        if fn is not None and fn not in hooked:
            hooked.add(fn)
            if "AccumulateGrad" not in fn.name():
                fn.register_prehook(lambda g, fn=fn: order.append(fn.name()))
            for below, _ in fn.next_functions:
                hook_below(below)

    hook_below(loss.grad_fn)
    loss.backward(retain_graph=True)
    names = list(order)
    loss.backward()
    return names, {k: v.grad.numpy() for k, v in leaves.items()}

# %% nbgrader={"grade_id": "counterexample"} planted="builds the counterexample with a Sin op of its own (only Plus, Times and Sigmoid are allowed)"
class Sin(Op):
    forward = staticmethod(lambda ctx, x: (ctx.save_for_backward(x), np.sin(x))[1])
    backward = staticmethod(lambda ctx, grad: (grad * np.cos(ctx.saved[0]),))

def breadth_first_counterexample():
    # the notes' example, with a Sin op of his own (only Plus, Times and Sigmoid are allowed)
    w = Tensor(0.7)
    x = Sin.apply(w)
    return Times.apply(Sigmoid.apply(Times.apply(x, x)), x), w
