# Sample student "chen": careful work with three classic slips.
# - topological_order appends a node again each time another user reaches it (nodes repeated),
#   so backward, which walks that list, runs some backward rules twice;
# - the dual-number product keeps only one term of the product rule (v_a * b);
# - checkpointing recomputes every layer's input from x: right gradients, quadratic time;
# - read_torch_graph zeroes the gradients between the two backward calls.

# %% nbgrader={"grade_id": "topological_order"} planted="appends a node again each time another user reaches it (nodes repeated)"
def topological_order(root):
    order, expanded = [], set()
    todo = [("visit", root)]
    while todo:
        step, node = todo.pop()
        if step == "emit":  # emitted once per visit, not once per node
            order.append(node)
            continue
        todo.append(("emit", node))
        if node not in expanded:
            expanded.add(node)
            todo += [("visit", parent) for parent in node.parents]
    return order

# %% nbgrader={"grade_id": "jvp"} planted="the dual-number product keeps only one term of the product rule (v_a * b)"
def dual_times(a, b):
    return Dual(a.value * b.value, a.tangent * b.value)

# %% nbgrader={"grade_id": "checkpoint"} planted="recomputes every layer's input from x: right gradients, quadratic time"
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

# %% nbgrader={"grade_id": "torch_graph"} planted="zeroes the leaves' gradients between the two backward calls"
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
