# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 05 — Inside an autodiff engine
#
# So far you derived gradients by hand. A deep-learning library does it for you: it records a
# graph while your code runs, walks that graph backwards in the right order, calls one small
# backward rule per operation, and keeps in memory whatever those rules need. In this notebook
# you build such an engine yourself, from the graph to the order of the walk, the rules of the
# lecture's operations, forward mode against reverse mode, the memory it costs (and how to trade
# memory for time), and finally you read PyTorch's own graph with the same eyes.
#
# **How this notebook is graded.** Each exercise gives you a function or class whose body reads
# `# YOUR CODE HERE` and `raise NotImplementedError()`: replace those lines with your code, in
# that cell (the *answer cell*). The test cell below each exercise runs a few visible checks so
# that you can see whether you are on track and, if not, what is wrong. When grading, more and
# larger hidden tests are run on inputs drawn at grading time (graphs of 10,000 nodes among
# them). The grader runs only the read-only setup cells and your answer cells, in order, so an
# answer cell must not rely on variables from the demonstration cells. Use NumPy only:
# `torch`, `minigrad` and `scipy` are not available to graded code, except in the very last
# exercise, which is about PyTorch itself. Some checks count things while your code runs (how
# often a backward rule is called, how often a function is evaluated, how much memory is alive):
# they are measured by the grader's own objects, so write the straightforward algorithm.

# %% nbgrader={"grade_id": "setup", "locked": true}
import numpy as np

# %% [markdown]
# ## 1. The graph: tensor nodes and op nodes
#
# Following the lecture, a computation is stored as a graph with two kinds of nodes. A
# **tensor node** holds a value (a NumPy array), the gradient of the loss with respect to that
# value (filled in by backpropagation), and a reference to the operation that produced it (none
# for a *leaf*, an input we created ourselves). An **op node** is one application of an
# operation: which operation, on which inputs. We fold the op node into its output tensor: a
# `Tensor` remembers its `op`, its `parents` (the input tensors) and a `ctx`.
#
# An operation is a class with two functions. `forward(ctx, *inputs)` computes the output from
# the input *values*; `backward(ctx, grad)` receives the gradient of the loss with respect to the
# output and returns the gradients with respect to each input, one per input, as a tuple. Note
# that backward does not compute a local derivative on its own: it returns the *accumulated*
# gradient $\partial l / \partial \text{input}$, given $\partial l / \partial \text{output}$.
# Both receive the same **context**, a small object in which forward saves whatever backward
# will need (`ctx.save_for_backward(...)`, read back as `ctx.saved`). `Op.apply` ties it
# together: it calls forward on the values and returns the output as a new `Tensor` that
# remembers where it came from. Keyword arguments (such as a shape) are constants, not inputs:
# they get no gradient.
#
# The cell below is the whole engine's data structure; read it, you will build everything else.

# %% nbgrader={"grade_id": "engine", "locked": true}
class Context:
    """What an op's forward keeps for its backward."""

    def __init__(self):
        self.saved = ()

    def save_for_backward(self, *values):
        self.saved = values


class Tensor:
    """A tensor node: value (float64 array), grad (same shape, or None), and how it was made."""

    def __init__(self, value, op=None, parents=(), ctx=None):
        self.value = np.asarray(value, dtype=np.float64)
        self.grad = None
        self.op = op                  # the Op class that produced this tensor; None for a leaf
        self.parents = tuple(parents)  # the input Tensors of that op, in order
        self.ctx = ctx                # the Context its forward filled

    def __repr__(self):
        kind = self.op.__name__ if self.op is not None else "leaf"
        return f"Tensor({kind}, shape={self.value.shape})"


class Op:
    """An operation: forward(ctx, *values, **constants) -> array; backward(ctx, grad) -> tuple of
    gradients, one per input value (constants get none)."""

    @staticmethod
    def forward(ctx, *values, **constants):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **constants):
        """Run forward on the inputs' values now (eager execution) and record the op node."""
        ctx = Context()
        value = cls.forward(ctx, *(t.value for t in inputs), **constants)
        return Tensor(value, op=cls, parents=inputs, ctx=ctx)


class Dual:
    """A dual number for forward mode (section 5): a value and its tangent, arrays of one shape."""

    def __init__(self, value, tangent):
        self.value = np.asarray(value, dtype=np.float64)
        self.tangent = np.asarray(tangent, dtype=np.float64)

# %% [markdown]
# ### Eager against lazy execution
#
# `Op.apply` computes the value *immediately* and records the graph on the side: this is
# **eager** execution, as in PyTorch. The graph is rebuilt from scratch by every forward pass,
# so ordinary Python `if`s and loops can change it from one pass to the next, and an error points
# at the line that caused it. The alternative, **lazy** execution (TensorFlow 1, early Keras),
# first builds a graph of placeholders with no values at all, and only later feeds data through
# it: the whole graph is known in advance, which allows optimisation and serialisation, but a
# mistake only shows when data flows, far from the line that made it. A lazy graph in a few
# lines, to see the difference:

# %%
class LazyNode:
    """A node of a lazy graph: an op and its inputs, no value until run() is called."""

    def __init__(self, fn=None, *inputs, name=""):
        self.fn, self.inputs, self.name = fn, inputs, name

    def __mul__(self, other):
        return LazyNode(lambda a, b: a * b, self, other)

    def run(self, feed):
        if self.fn is None:
            return feed[self.name]
        return self.fn(*(node.run(feed) for node in self.inputs))


a_lazy, b_lazy = LazyNode(name="a"), LazyNode(name="b")
c_lazy = a_lazy * b_lazy          # nothing computed yet: only the shape of the computation
print("lazy:  c =", c_lazy.run({"a": 1.0, "b": 2.0}), "(computed only when data is fed)")


class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved
        return grad * b, grad * a


a_eager, b_eager = Tensor(1.0), Tensor(2.0)
c_eager = Mul.apply(a_eager, b_eager)   # computed now, and the graph recorded on the side
print("eager: c =", c_eager.value, "made by", c_eager.op.__name__, "from", c_eager.parents)

# %% [markdown]
# ## 2. The order of the walk
#
# Backpropagation computes, for every node $u^{(j)}$, the gradient of the output $u^{(n)}$ by
# the multivariate chain rule:
#
# $$\frac{\partial u^{(n)}}{\partial u^{(j)}} = \sum_{i:\ j \in Pa(u^{(i)})} \frac{\partial u^{(n)}}{\partial u^{(i)}}\, \frac{\partial u^{(i)}}{\partial u^{(j)}} .$$
#
# The sum runs over every *user* $u^{(i)}$ of $u^{(j)}$. So before we may call the backward of
# the op that produced $u^{(j)}$, the gradient of $u^{(j)}$ must be complete: every one of its
# users must have passed its contribution down. That holds if we visit the nodes in **reverse
# topological order**: a topological order lists every node after all of its inputs (parents);
# reversed, it lists every node before all of its inputs, i.e. after all of its users.
#
# The lecture notes say that walking backward *breadth-first* from the loss guarantees this. It
# does not. Take $x = \sin w$ and $L = e^{x^2}\cdot x$. The loss node has two parents,
# $b = e^{x^2}$ and $x$ itself, so a breadth-first walk reaches $x$ at distance one, directly from
# $L$, *before* the contribution that travels the longer way $L \to b \to x^2 \to x$ has
# arrived. A breadth-first walk that visits each node once (as it must, or it would be
# exponential: section 3) then sends an incomplete gradient on to $w$:
#
# $$\frac{dL}{dw}\Big|_\text{true} = e^{x^2}(1 + 2x^2)\cos w \approx 2.120, \qquad \frac{dL}{dw}\Big|_\text{breadth-first} = e^{x^2}\cos w \approx 1.158 \quad\text{at } w = 0.7 .$$
#
# The cure is an order that respects *all* paths: a topological order, found with a depth-first
# search that appends a node only after all its parents have been appended, and a set of
# visited nodes so that a node reached along several paths is listed once.
#
# ### Exercise 1 (3 points): topological order
#
# `topological_order(root)` returns a list of all nodes reachable from `root` through
# `.parents`, each exactly once, every node after all of its parents (so `root` comes last).
# Nodes are anything with a `.parents` tuple (the grader uses bare nodes as well as `Tensor`s);
# the same parent may appear twice in one tuple (`b = a + a`). Write it **without recursion**:
# Python stops recursing at about 1,000 levels and the hidden tests have chains of 10,000 nodes.
# Use an explicit stack. Any valid order is accepted.

# %% nbgrader={"grade_id": "topological_order", "solution": true}
def topological_order(root):
    """All nodes reachable from root via .parents, each once, every node after its parents."""
    ### BEGIN SOLUTION
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))       # comes back after everything pushed above it
        for parent in node.parents:
            if parent not in visited:
                stack.append((parent, False))
    return order
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_topological_order", "grade": true}
from coursecheck import check

check("test_topological_order", topological_order)
### BEGIN HIDDEN TESTS
check("test_topological_order", topological_order, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Backward over the graph
#
# With the order in hand, the backward algorithm fills a table of gradients, one entry per node:
#
# 1. every node's gradient starts at zero; the root's is the seed $\partial l/\partial l$: ones
#    for a scalar loss, or a given upstream gradient;
# 2. for each node in reverse topological order that was produced by an op, call
#    `node.op.backward(node.ctx, node.grad)` once: one Jacobian-gradient product for that op;
# 3. **add** each returned gradient to the corresponding parent's gradient. A tensor used by
#    several ops (a fork) receives one contribution from each, and the chain rule sums them.
#
# Each op's backward runs exactly once, so the cost is linear in the size of the graph. Compare
# with applying the chain rule recursively, path by path: for the stack of "diamonds"
# $b_1 = a + a,\ b_2 = b_1 + b_1,\ \dots$ the number of paths from $b_k$ down to $a$ is $2^k$, and a
# per-path recursion calls the bottom op's backward $2^k$ times: right in value, exponential in
# time. The table is the *store* side of the store-against-recompute trade-off: remembering the
# gradient of each node once instead of recomputing it for every path.
#
# ### Exercise 2 (4 points): backward
#
# `backward(root, grad=None)` fills `.grad` of every node reachable from `root` (start every
# gradient at zero, so a second call replaces the results of the first), seeds `root.grad` with
# `grad` (ones shaped like `root.value` when `grad` is None), and runs the algorithm above. Use
# your `topological_order`. Nodes with `op` None are leaves: nothing to call.

# %% nbgrader={"grade_id": "backward", "solution": true}
def backward(root, grad=None):
    """Fill node.grad for every node reachable from root; the root's gradient is `grad` (ones)."""
    ### BEGIN SOLUTION
    order = topological_order(root)
    for node in order:
        node.grad = np.zeros_like(node.value)
    root.grad = np.ones_like(root.value) if grad is None else np.array(grad, dtype=np.float64)
    for node in reversed(order):
        if node.op is None:
            continue
        for parent, parent_grad in zip(node.parents, node.op.backward(node.ctx, node.grad)):
            parent.grad = parent.grad + parent_grad
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_backward", "grade": true}
from coursecheck import check

check("test_backward", backward, Tensor, Context)
### BEGIN HIDDEN TESTS
check("test_backward", backward, Tensor, Context, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The note's trap on your engine: $x = \sin w$, $L = e^{x^2} \cdot x$ at $w = 0.7$ (with two
# small ops of our own, Sin and Exp), first with your `backward`, then with the breadth-first
# walk of the notes (a queue, each node visited once).

# %%
class Sin(Op):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return (grad * np.cos(x),)


class Exp(Op):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved
        return (grad * out,)


def breadth_first_backward(root):
    """The lecture notes' walk: breadth-first from the root, each node visited once."""
    from collections import deque

    for node in topological_order(root):
        node.grad = np.zeros_like(node.value)
    root.grad = np.ones_like(root.value)
    queue, visited = deque([root]), set()
    while queue:
        node = queue.popleft()
        if node in visited or node.op is None:
            continue
        visited.add(node)
        for parent, parent_grad in zip(node.parents, node.op.backward(node.ctx, node.grad)):
            parent.grad = parent.grad + parent_grad
            queue.append(parent)


w = Tensor(0.7)
x = Sin.apply(w)
L = Mul.apply(Exp.apply(Mul.apply(x, x)), x)
backward(L)
print(f"dL/dw, topological order: {float(w.grad):.3f}")
breadth_first_backward(L)
print(f"dL/dw, breadth-first:     {float(w.grad):.3f}")
print(f"by hand:                  {np.exp(np.sin(0.7) ** 2) * (1 + 2 * np.sin(0.7) ** 2) * np.cos(0.7):.3f}")

# %% [markdown]
# And the cost of recursing per path, measured: count how often the bottom op's backward is
# called on stacked diamonds of growing height, by the table-filling algorithm and by the naive
# recursion `grad_of(node)` that follows every path.

# %%
class CountingPlus(Op):
    calls = 0

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        CountingPlus.calls += 1
        return grad, grad


def per_path_backward(node, grad):
    """The chain rule applied recursively along every path (right values, exponential time)."""
    node.grad = grad if node.grad is None else node.grad + grad
    if node.op is not None:
        for parent, parent_grad in zip(node.parents, node.op.backward(node.ctx, grad)):
            per_path_backward(parent, parent_grad)


print(" k   table calls   per-path calls   dz/da")
for k in [4, 8, 12, 16]:
    a = Tensor(1.0)
    top = a
    for _ in range(k):
        top = CountingPlus.apply(top, top)
    CountingPlus.calls = 0
    backward(top)
    table_calls = CountingPlus.calls
    for node in topological_order(top):
        node.grad = None
    CountingPlus.calls = 0
    per_path_backward(top, np.ones(()))
    print(f"{k:2d}   {table_calls:11d}   {CountingPlus.calls:14d}   {float(a.grad):.0f}")

# %% [markdown]
# ## 4. The lecture's operations
#
# Each backward follows the lecture's recipe: write the derivative of one output entry with
# respect to one input entry, sum over all outputs with the multivariate chain rule, vectorise.
# We write $\mathbf{X}^\nabla$ for $\partial l / \partial \mathbf{X}$, shaped like $\mathbf{X}$.
#
# **Plus**, $\mathbf{S} = \mathbf{A} + \mathbf{B}$: $\ \mathbf{A}^\nabla_{ij} = \sum_{kl}
# \mathbf{S}^\nabla_{kl}\, \partial \mathbf{S}_{kl}/\partial \mathbf{A}_{ij} = \mathbf{S}^\nabla_{ij}$, and the
# same for $\mathbf{B}$: both gradients are the upstream gradient. With **broadcasting**
# ($\mathbf{A}$ of shape $(n, m)$ plus $\mathbf{b}$ of shape $(m,)$, $(1, m)$, $(n, 1)$ or a
# scalar), one entry of $\mathbf{b}$ is added to many outputs, so its gradient is the *sum* of
# theirs: sum the upstream gradient over the broadcast axes until it has $\mathbf{b}$'s shape
# ("unbroadcast": sum away leading axes that $\mathbf{b}$ lacks, then sum with `keepdims` over
# the axes where $\mathbf{b}$ has size 1).
#
# **Times** (elementwise), $\mathbf{S} = \mathbf{A} \otimes \mathbf{B}$: $\ \mathbf{A}^\nabla =
# \mathbf{S}^\nabla \otimes \mathbf{B}$ and $\mathbf{B}^\nabla = \mathbf{S}^\nabla \otimes \mathbf{A}$ (same shapes).
#
# **Sigmoid**, $\mathbf{Y} = \sigma(\mathbf{X})$ of any shape: only $\mathbf{Y}_{ijk}$ depends on
# $\mathbf{X}_{ijk}$, so $\mathbf{X}^\nabla = \mathbf{Y}^\nabla \otimes \sigma(\mathbf{X}) \otimes
# (1 - \sigma(\mathbf{X}))$. Forward has computed $\sigma(\mathbf{X})$ already: save it.
#
# **RowSum**, $y_k = \sum_l \mathbf{X}_{kl}$ for $\mathbf{X}$ of shape $(n, m)$: $\ \mathbf{X}^\nabla_{ij}
# = \sum_k y^\nabla_k\, \partial y_k / \partial \mathbf{X}_{ij} = y^\nabla_i$, i.e.
# $\mathbf{X}^\nabla = \mathbf{y}^\nabla \mathbf{1}^\top$: every entry of row $i$ gets $y^\nabla_i$.
# Backward needs only $m$ from the forward pass.
#
# **Expand**, $\mathbf{Y}$ = $x$ broadcast to a given `shape` (the lecture's case is a scalar
# filling a matrix; we allow any shape NumPy can broadcast): $\ x^\nabla = \sum_{ab}
# \mathbf{Y}^\nabla_{ab}$, summed over the broadcast axes back to $x$'s shape. RowSum and Expand are
# each other's backward. `shape` is a constant (a keyword argument): it gets no gradient.
#
# **MatMul**, $\mathbf{C} = \mathbf{A}\mathbf{B}$ with $\mathbf{A}$: $(n, k)$ and $\mathbf{B}$:
# $(k, m)$: $\ \mathbf{C}_{il} = \sum_j \mathbf{A}_{ij}\mathbf{B}_{jl}$ gives $\mathbf{A}^\nabla_{ij}
# = \sum_l \mathbf{C}^\nabla_{il} \mathbf{B}_{jl}$, i.e. $\mathbf{A}^\nabla = \mathbf{C}^\nabla
# \mathbf{B}^\top$, and likewise $\mathbf{B}^\nabla = \mathbf{A}^\top \mathbf{C}^\nabla$. (Check
# the shapes: $(n, m)(m, k) = (n, k)$.)
#
# ### Exercise 3 (6 points): forward and backward of six ops
#
# Fill in the four cells below. Each `backward` returns a **tuple** with one gradient per input,
# each shaped like that input, e.g. `(grad_x,)` for one input. Write the `unbroadcast` helper in
# the first cell; `Expand` may use it.

# %% nbgrader={"grade_id": "plus_times", "solution": true}
def unbroadcast(grad, shape):
    """Sum grad over the axes along which an array of `shape` was broadcast; -> shape."""
    ### BEGIN SOLUTION
    grad = np.asarray(grad, dtype=np.float64)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)
    ### END SOLUTION


class Plus(Op):
    """a + b with NumPy broadcasting; gradients shaped like a and like b."""

    @staticmethod
    def forward(ctx, a, b):
        ### BEGIN SOLUTION
        ctx.save_for_backward(np.shape(a), np.shape(b))
        return a + b
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        a_shape, b_shape = ctx.saved
        return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)
        ### END SOLUTION


class Times(Op):
    """a * b elementwise, a and b of the same shape."""

    @staticmethod
    def forward(ctx, a, b):
        ### BEGIN SOLUTION
        ctx.save_for_backward(a, b)
        return a * b
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        a, b = ctx.saved
        return grad * b, grad * a
        ### END SOLUTION

# %% nbgrader={"grade_id": "sigmoid", "solution": true}
class Sigmoid(Op):
    """1 / (1 + exp(-x)) elementwise, x of any shape."""

    @staticmethod
    def forward(ctx, x):
        ### BEGIN SOLUTION
        s = 1.0 / (1.0 + np.exp(-x))
        ctx.save_for_backward(s)
        return s
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        (s,) = ctx.saved
        return (grad * s * (1.0 - s),)
        ### END SOLUTION

# %% nbgrader={"grade_id": "rowsum_expand", "solution": true}
class RowSum(Op):
    """x: (n, m) -> (n,), the sum of each row."""

    @staticmethod
    def forward(ctx, x):
        ### BEGIN SOLUTION
        ctx.save_for_backward(x.shape[1])
        return x.sum(axis=1)
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        (m,) = ctx.saved
        return (np.repeat(np.asarray(grad)[:, None], m, axis=1),)
        ### END SOLUTION


class Expand(Op):
    """x broadcast to the constant `shape` (e.g. a scalar filling a matrix); -> shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ### BEGIN SOLUTION
        ctx.save_for_backward(np.shape(x))
        return np.broadcast_to(x, shape).copy()
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        (x_shape,) = ctx.saved
        return (unbroadcast(grad, x_shape),)
        ### END SOLUTION

# %% nbgrader={"grade_id": "matmul", "solution": true}
class MatMul(Op):
    """a: (n, k) @ b: (k, m) -> (n, m)."""

    @staticmethod
    def forward(ctx, a, b):
        ### BEGIN SOLUTION
        ctx.save_for_backward(a, b)
        return a @ b
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        ### BEGIN SOLUTION
        a, b = ctx.saved
        return grad @ b.T, a.T @ grad
        ### END SOLUTION

# %% nbgrader={"grade_id": "test_ops", "grade": true}
from coursecheck import check

check("test_ops", Plus, Times, Sigmoid, RowSum, Expand, MatMul, Context)
### BEGIN HIDDEN TESTS
check("test_ops", Plus, Times, Sigmoid, RowSum, Expand, MatMul, Context, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your engine against PyTorch on one program: a layer $\sigma(\mathbf{X}\mathbf{W} + \mathbf{b})$
# with a bias broadcast over the batch, weighted by a random upstream matrix and summed with
# RowSum twice. (PyTorch appears here in a demonstration cell only.)

# %%
import torch

rng = np.random.default_rng(0)
X_np, W_np, b_np, G_np = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(2,)), rng.normal(size=(4, 2))
X_t, W_t, b_t = Tensor(X_np), Tensor(W_np), Tensor(b_np)
H_t = Sigmoid.apply(Plus.apply(MatMul.apply(X_t, W_t), b_t))
loss_t = RowSum.apply(Expand.apply(RowSum.apply(Times.apply(H_t, Tensor(G_np))), shape=(1, 4)))
backward(loss_t)

tX, tW, tb = (torch.tensor(v, requires_grad=True) for v in (X_np, W_np, b_np))
(torch.sigmoid(tX @ tW + tb) * torch.tensor(G_np)).sum().backward()
for name, mine, theirs in [("X", X_t, tX), ("W", W_t, tW), ("b", b_t, tb)]:
    print(f"grad {name}: max difference to torch {np.max(np.abs(mine.grad - theirs.grad.numpy())):.1e}")

# %% [markdown]
# ### Exercise 4 (2 points): a counterexample for the notes
#
# Section 2 showed that the notes' breadth-first walk gives a wrong gradient. Make the grader
# see it on a graph of your own. The walk, precisely (it is `breadth_first_backward` of
# section 3): every gradient starts at zero and the root's at one; a queue starts with the root;
# take the first node off the queue; if it was visited before or is a leaf, skip it; otherwise
# mark it visited, call its op's backward with its current gradient, add the results to its
# parents' gradients and put the parents at the end of the queue, in order.
#
# `breadth_first_counterexample()` returns a pair `(root, leaf)`: a scalar `root` built with
# `Plus.apply`, `Times.apply` and `Sigmoid.apply` from scalar leaves (`Tensor(0.7)`), and one of
# its leaves, such that this walk gets $\partial\,	ext{root} / \partial\,	ext{leaf}$ wrong. The
# grader rebuilds your graph and runs both the walk and an exact reference on it.

# %% nbgrader={"grade_id": "counterexample", "solution": true}
def breadth_first_counterexample():
    """(root, leaf): a small graph on which the breadth-first walk gets d root / d leaf wrong."""
    ### BEGIN SOLUTION
    w = Tensor(0.7)
    x = Sigmoid.apply(w)
    b = Sigmoid.apply(Times.apply(x, x))   # the long way from the root to x
    return Times.apply(b, x), w             # ... and the short one
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_counterexample", "grade": true}
from coursecheck import check

check("test_counterexample", breadth_first_counterexample, Plus, Times, Sigmoid, Tensor)
### BEGIN HIDDEN TESTS
check("test_counterexample", breadth_first_counterexample, Plus, Times, Sigmoid, Tensor, hidden=True)
### END HIDDEN TESTS

# %%
root, leaf = breadth_first_counterexample()
backward(root)
exact = float(leaf.grad)
breadth_first_backward(root)
print(f"your graph: topological order {exact:.4f}, breadth-first {float(leaf.grad):.4f}")

# %% [markdown]
# ## 5. Forward mode against reverse mode
#
# For $f: \mathbb{R}^n \to \mathbb{R}^m$ with Jacobian $\mathbf{J}$ ($m \times n$, row $i$ the
# gradient of output $i$), backpropagation computes a **vector-Jacobian product**
# $\mathbf{u}^\top \mathbf{J}$ for one upstream vector $\mathbf{u} \in \mathbb{R}^m$ per backward pass:
# one *row* of $\mathbf{J}$ per pass when $\mathbf{u} = \mathbf{e}_i$. Forward mode instead pushes
# a direction $\mathbf{v} \in \mathbb{R}^n$ through the computation alongside the values and gets a
# **Jacobian-vector product** $\mathbf{J}\mathbf{v}$: one *column* per pass when $\mathbf{v} = \mathbf{e}_j$.
#
# Forward mode with **dual numbers**: carry, for every intermediate $a$, its value and its
# *tangent* $\dot a = \frac{d}{dt} a(\mathbf{x} + t\mathbf{v})\big|_{t=0}$. Each op maps (value,
# tangent) of its inputs to (value, tangent) of its output by the chain rule:
#
# | op | value | tangent |
# |---|---|---|
# | plus | $a + b$ | $\dot a + \dot b$ |
# | times | $a \otimes b$ | $\dot a \otimes b + a \otimes \dot b$ (both terms of the product rule) |
# | sigmoid | $s = \sigma(a)$ | $\dot a \otimes s \otimes (1 - s)$ |
# | rowsum | $\sum_l a_{kl}$ | $\sum_l \dot a_{kl}$ |
# | expand | $a$ broadcast | $\dot a$ broadcast |
# | constant | $c$ | $0$ |
#
# Start from $\text{Dual}(\mathbf{x}, \mathbf{v})$ and evaluate $f$ once: the output's tangent is
# exactly $\mathbf{J}\mathbf{v}$, no step size, no truncation, one evaluation (a directional finite
# difference $(f(\mathbf{x} + h\mathbf{v}) - f(\mathbf{x} - h\mathbf{v}))/2h$ needs two and is
# accurate to about $10^{-10}$ at best; dual numbers reach $10^{-15}$).
#
# To run one function in both modes, our test functions are written against a dictionary of
# ops: `f(ops, x)` calls `ops["plus"]`, `ops["times"]`, `ops["sigmoid"]`, `ops["rowsum"]`,
# `ops["expand"](a, shape=...)` and `ops["constant"](array)`. Given `DUAL_OPS` it computes with
# dual numbers, given `TENSOR_OPS` it builds a graph of your tensors. A matrix-vector product
# $\mathbf{W}\mathbf{x}$ is, in these ops, `rowsum(times(expand(x, shape=W.shape), constant(W)))`.
#
# ### Exercise 5 (3 points): a JVP with dual numbers
#
# Write the five dual ops of the table (each takes and returns `Dual`s) and `jvp(f, x, v)`,
# which evaluates `f(DUAL_OPS, Dual(x, v))` **once** and returns the pair `(value, tangent)` of
# the result. (`DUAL_OPS` is defined in the read-only cell after this one, from your functions.)

# %% nbgrader={"grade_id": "jvp", "solution": true}
def dual_plus(a, b):
    ### BEGIN SOLUTION
    return Dual(a.value + b.value, a.tangent + b.tangent)
    ### END SOLUTION


def dual_times(a, b):
    ### BEGIN SOLUTION
    return Dual(a.value * b.value, a.tangent * b.value + a.value * b.tangent)
    ### END SOLUTION


def dual_sigmoid(a):
    ### BEGIN SOLUTION
    s = 1.0 / (1.0 + np.exp(-a.value))
    return Dual(s, a.tangent * s * (1.0 - s))
    ### END SOLUTION


def dual_rowsum(a):
    ### BEGIN SOLUTION
    return Dual(a.value.sum(axis=1), a.tangent.sum(axis=1))
    ### END SOLUTION


def dual_expand(a, shape):
    ### BEGIN SOLUTION
    return Dual(np.broadcast_to(a.value, shape).copy(), np.broadcast_to(a.tangent, shape).copy())
    ### END SOLUTION


def jvp(f, x, v):
    """(f(x), J v) for f(ops, x): R^n -> R^m, by one evaluation of f on dual numbers."""
    ### BEGIN SOLUTION
    out = f(DUAL_OPS, Dual(x, v))
    return out.value, out.tangent
    ### END SOLUTION

# %% nbgrader={"grade_id": "ops_tables", "locked": true}
DUAL_OPS = {"plus": dual_plus, "times": dual_times, "sigmoid": dual_sigmoid, "rowsum": dual_rowsum,
            "expand": dual_expand, "constant": lambda c: Dual(c, np.zeros(np.shape(c)))}
TENSOR_OPS = {"plus": Plus.apply, "times": Times.apply, "sigmoid": Sigmoid.apply,
              "rowsum": RowSum.apply, "expand": Expand.apply, "matmul": MatMul.apply,
              "constant": Tensor}

# %% nbgrader={"grade_id": "test_jvp", "grade": true}
from coursecheck import check

check("test_jvp", jvp, Dual)
### BEGIN HIDDEN TESTS
check("test_jvp", jvp, Dual, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 6 (3 points): the whole Jacobian, both ways
#
# * `jacobian_forward(f, x)`: $n$ JVPs with the basis vectors $\mathbf{e}_1, \dots, \mathbf{e}_n$;
#   the $j$-th tangent is **column** $j$ of $\mathbf{J}$.
# * `jacobian_reverse(f, x)`: evaluate `f(TENSOR_OPS, Tensor(x))` **once** to build the graph,
#   then for each output $i$ call your `backward(y, e_i)`: the input's gradient is **row** $i$
#   (your `backward` starts every gradient at zero, so the graph can be reused).
#
# Both return $\mathbf{J}$ of shape $(m, n)$. Stacking columns as rows (or rows as columns) gives
# $\mathbf{J}^\top$: keep track of which one each mode produces.

# %% nbgrader={"grade_id": "jacobian", "solution": true}
def jacobian_forward(f, x):
    """J (m, n) of f(ops, x) at x (n,), one JVP per input direction."""
    ### BEGIN SOLUTION
    columns = [jvp(f, x, np.eye(x.size)[j])[1] for j in range(x.size)]
    return np.stack(columns, axis=1)
    ### END SOLUTION


def jacobian_reverse(f, x):
    """J (m, n) of f(ops, x) at x (n,), one backward pass per output."""
    ### BEGIN SOLUTION
    x_node = Tensor(x)
    y = f(TENSOR_OPS, x_node)
    rows = []
    for i in range(y.value.size):
        backward(y, np.eye(y.value.size)[i])
        rows.append(x_node.grad.copy())
    return np.stack(rows, axis=0)
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_jacobian", "grade": true}
from coursecheck import check

check("test_jacobian", jacobian_forward, jacobian_reverse, Dual, Tensor)
### BEGIN HIDDEN TESTS
check("test_jacobian", jacobian_forward, jacobian_reverse, Dual, Tensor, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7 (2 points): counting the cost
#
# Count *op evaluations*: one call of a dual op, of an op's forward, or of an op's backward
# counts as one (constants are free). Let one evaluation of $f$ use $k$ ops. Then
# `jacobian_forward` costs $n$ evaluations of $f$ on duals; `jacobian_reverse` costs one
# forward pass of $k$ ops plus $m$ backward passes, each calling the backward of all $k$ ops.
# Write `jacobian_op_counts(n, m, k)` returning the pair (forward-mode count, reverse-mode count).

# %% nbgrader={"grade_id": "op_counts", "solution": true}
def jacobian_op_counts(n, m, k):
    """(op evaluations of jacobian_forward, of jacobian_reverse) for f: R^n -> R^m with k ops."""
    ### BEGIN SOLUTION
    return n * k, k + m * k
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_op_counts", "grade": true}
from coursecheck import check

check("test_op_counts", jacobian_op_counts)
### BEGIN HIDDEN TESTS
check("test_op_counts", jacobian_op_counts, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Measured: the same two-layer function $f(\mathbf{x}) = \mathbf{W}_2\,\sigma(\mathbf{W}_1\mathbf{x} + \mathbf{b}_1)$
# once as $\mathbb{R}^n \to \mathbb{R}$ (a loss: many inputs, one output) and once as
# $\mathbb{R} \to \mathbb{R}^m$ (one input, many outputs). We count the ops by wrapping every entry
# of the op tables, and time both modes. Deep learning lives in the first row: one backward pass
# gives the whole gradient, whatever $n$ is.

# %%
import time


def two_layer(W1, b1, W2):
    def f(ops, x):
        def matvec(W, v):
            return ops["rowsum"](ops["times"](ops["expand"](v, shape=W.shape), ops["constant"](W)))
        return matvec(W2, ops["sigmoid"](ops["plus"](matvec(W1, x), ops["constant"](b1))))
    return f


def counted(table, counter):
    def wrap(name, fn):
        def run(*args, **kwargs):
            counter[0] += 1
            return fn(*args, **kwargs)
        return run
    return {name: (fn if name == "constant" else wrap(name, fn)) for name, fn in table.items()}


def counted_op_class_backwards(counter):
    """Count calls of every op class's backward while the reverse-mode Jacobian runs."""
    originals = {cls: cls.backward for cls in (Plus, Times, Sigmoid, RowSum, Expand)}
    for cls, original in originals.items():
        def run(ctx, grad, original=original):
            counter[0] += 1
            return original(ctx, grad)
        cls.backward = staticmethod(run)
    return originals


rng = np.random.default_rng(1)
rows = []
for label, n, m in [("R^n -> R  (a loss)", 200, 1), ("R -> R^m", 1, 200)]:
    hidden = 16
    f = two_layer(rng.normal(size=(hidden, n)), rng.normal(size=hidden), rng.normal(size=(m, hidden)))
    x0 = rng.normal(size=n)
    counter = [0]
    saved_tables = dict(DUAL_OPS), dict(TENSOR_OPS)
    DUAL_OPS.update(counted(saved_tables[0], counter))
    start = time.perf_counter()
    J_f = jacobian_forward(f, x0)
    t_forward, c_forward = time.perf_counter() - start, counter[0]
    counter[0] = 0
    TENSOR_OPS.update(counted(saved_tables[1], counter))
    originals = counted_op_class_backwards(counter)
    start = time.perf_counter()
    J_r = jacobian_reverse(f, x0)
    t_reverse, c_reverse = time.perf_counter() - start, counter[0]
    for cls, original in originals.items():
        cls.backward = staticmethod(original)
    DUAL_OPS.update(saved_tables[0])
    TENSOR_OPS.update(saved_tables[1])
    assert np.allclose(J_f, J_r)
    rows.append((label, n, m, c_forward, jacobian_op_counts(n, m, 8), c_reverse, t_forward, t_reverse))

print(f"{'function':20} {'n':>4} {'m':>4} | {'forward ops':>11} {'(formula)':>9} {'ms':>6} | "
      f"{'reverse ops':>11} {'(formula)':>9} {'ms':>6}")
for label, n, m, cf, formula, cr, tf, tr in rows:
    print(f"{label:20} {n:4d} {m:4d} | {cf:11d} {formula[0]:9d} {tf * 1e3:6.1f} | "
          f"{cr:11d} {formula[1]:9d} {tr * 1e3:6.1f}")

# %% [markdown]
# ## 6. Memory: store against recompute
#
# Look at what a backward rule reads: Sigmoid's needs $\sigma(\mathbf{x})$, MatMul's needs both
# factors, a layer's needs its input for $\partial l/\partial \mathbf{W}$. Every context holds
# arrays, and all of them stay alive from the forward pass until backward has used them: the
# memory of plain backpropagation grows with the depth $L$ of the network times the size of the
# activations, and for large batches and convolutional layers it is the bulk of the memory.
#
# The other end of the trade-off is to keep nothing and **recompute**: to run layer $i$'s backward,
# recompute its input from the network's input. That needs almost no memory but $O(L^2)$ forward
# evaluations. **Gradient checkpointing** sits in between: split the $L$ layers into segments of
# length $s$; in a first forward pass keep only the input of each segment (and throw the contexts
# away); then, from the last segment to the first, recompute that one segment's forward *with*
# contexts and run its backward, starting from the gradient the later segment produced. At the
# peak we hold the $L/s$ segment inputs plus one segment's $s$ activations: $L/s + s$, smallest at
# $s = \sqrt{L}$, i.e. about $2\sqrt{L}$ activations instead of $L$, for one extra forward pass.
#
# A layer here is an object with `forward(ctx, x)` and `backward(ctx, grad)` (the same interface
# as an op; its backward also adds the gradients of its own parameters to `layer.grad_W` and
# `layer.grad_b`, so it must run exactly once per layer). Plain backpropagation through a list of
# layers, for reference:

# %% nbgrader={"grade_id": "layers", "locked": true}
def plain_backward(layers, x, grad_out):
    """Backprop through a chain of layers keeping every context: -> gradient for x."""
    contexts = []
    for layer in layers:
        ctx = Context()
        x = layer.forward(ctx, x)
        contexts.append(ctx)
    grad = grad_out
    for layer, ctx in zip(reversed(layers), reversed(contexts)):
        grad = layer.backward(ctx, grad)
    return grad


class TanhLayer:
    """y = tanh(x @ W + b); x: (N, D). backward returns the gradient for x and adds grad_W, grad_b."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.grad_W, self.grad_b = np.zeros_like(W), np.zeros_like(b)

    def forward(self, ctx, x):
        y = np.tanh(x @ self.W + self.b)
        ctx.save_for_backward(x, y)
        return y

    def backward(self, ctx, grad):
        x, y = ctx.saved
        dz = grad * (1.0 - y * y)
        self.grad_W += x.T @ dz
        self.grad_b += dz.sum(axis=0)
        return dz @ self.W.T

# %% [markdown]
# ### Exercise 8 (4 points): gradient checkpointing
#
# `checkpointed_backward(layers, x, grad_out, segments)` returns the gradient for `x` of
# $\sum (\text{grad\_out} \otimes \text{output})$, exactly as `plain_backward` does, but keeps at
# most about `segments` + $\lceil L / \text{segments} \rceil$ activations alive at any time. Use
# segments of $\lceil L / \text{segments} \rceil$ layers (the last one may be shorter). Call every
# layer's `forward` at most twice in total and its `backward` exactly once. The grader measures
# the memory alive at every call of a layer with Python's `tracemalloc`: keep no more than you need.

# %% nbgrader={"grade_id": "checkpoint", "solution": true}
def checkpointed_backward(layers, x, grad_out, segments):
    """Gradient for x through `layers`, storing only segment inputs and one segment at a time."""
    ### BEGIN SOLUTION
    size = -(-len(layers) // segments)
    starts = list(range(0, len(layers), size))
    segment_inputs = []
    for start in starts:                      # first pass: no contexts kept
        segment_inputs.append(x)
        for layer in layers[start:start + size]:
            x = layer.forward(Context(), x)
    del x
    grad = grad_out
    for start in reversed(starts):            # one segment at a time, last first
        h = segment_inputs.pop()
        contexts = []
        for layer in layers[start:start + size]:
            ctx = Context()
            h = layer.forward(ctx, h)
            contexts.append(ctx)
        del h
        for layer, ctx in zip(reversed(layers[start:start + size]), reversed(contexts)):
            grad = layer.backward(ctx, grad)
        del contexts
    return grad
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_checkpoint", "grade": true}
from coursecheck import check

check("test_checkpoint", checkpointed_backward)
### BEGIN HIDDEN TESTS
check("test_checkpoint", checkpointed_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Measured: the peak of traced memory (in units of one activation, $N \times D$ floats) and the
# time of plain backprop against checkpointing with several segment counts, on a chain of
# $L = 64$ layers. The curve has its minimum near $\sqrt{64} = 8$ segments, at about $2\sqrt{L}$
# activations; the time grows by roughly one extra forward pass.

# %%
import tracemalloc

import matplotlib.pyplot as plt

L_demo, N_demo, D_demo = 64, 64, 128
rng = np.random.default_rng(2)
params = [(rng.normal(size=(D_demo, D_demo)) / np.sqrt(D_demo), rng.normal(size=D_demo) * 0.1) for _ in range(L_demo)]
x_demo, g_demo = rng.normal(size=(N_demo, D_demo)), rng.normal(size=(N_demo, D_demo))
unit = x_demo.nbytes


def measure(run):
    layers = [TanhLayer(W.copy(), b.copy()) for W, b in params]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    grad = run(layers)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return grad, peak / unit, seconds


plain_grad, plain_peak, plain_time = measure(lambda layers: plain_backward(layers, x_demo, g_demo))
print(f"plain backprop: peak {plain_peak:5.1f} activations, {plain_time * 1e3:6.1f} ms")
segment_counts, peaks, times = [2, 4, 8, 16, 32], [], []
for k in segment_counts:
    grad, peak, seconds = measure(lambda layers: checkpointed_backward(layers, x_demo, g_demo, k))
    assert np.allclose(grad, plain_grad)
    peaks.append(peak)
    times.append(seconds)
    print(f"{k:2d} segments:    peak {peak:5.1f} activations, {seconds * 1e3:6.1f} ms "
          f"(L/k + k = {L_demo / k + k:.0f})")

fig, (ax_mem, ax_time) = plt.subplots(1, 2, figsize=(9, 3.2))
ax_mem.plot(segment_counts, peaks, "o-", label="checkpointing")
ax_mem.axhline(plain_peak, color="k", ls=":", label="plain backprop")
ax_mem.plot(segment_counts, [L_demo / k + k for k in segment_counts], "--", label="L/k + k")
ax_mem.set_xscale("log", base=2)
ax_mem.set_xlabel("segments k")
ax_mem.set_ylabel("peak memory (activations)")
ax_mem.legend()
ax_time.plot(segment_counts, np.array(times) * 1e3, "o-", label="checkpointing")
ax_time.axhline(plain_time * 1e3, color="k", ls=":", label="plain backprop")
ax_time.set_xscale("log", base=2)
ax_time.set_xlabel("segments k")
ax_time.set_ylabel("ms")
ax_time.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 7. PyTorch's own graph
#
# PyTorch is an eager engine like yours. A tensor created with `requires_grad=True` is a leaf
# that wants a gradient; every op on it records a node, reachable from the result's `grad_fn`;
# each node's `next_functions` point to the nodes of its inputs, and a leaf's node is an
# `AccumulateGrad`, which adds the incoming gradient to the leaf's `.grad`. Tensors that need no
# gradient are left out of the graph.

# %%
d = torch.tensor(1.0, requires_grad=True)
e = torch.tensor(1.0, requires_grad=True)
f_t = (d + e) * e
print("requires_grad:", f_t.requires_grad, "| grad_fn:", type(f_t.grad_fn).__name__)


def print_graph(node, indent=0):
    """The lecture's listing: a node, then the nodes of its inputs, indented."""
    if node is None:
        return
    print(" " * indent + type(node).__name__)
    for next_node, _ in node.next_functions:
        print_graph(next_node, indent + 2)


print_graph(f_t.grad_fn)
plain = torch.tensor(1.0) + torch.tensor(1.0)
print("no requires_grad anywhere -> grad_fn is", plain.grad_fn)

# %% [markdown]
# **Gradients accumulate.** Every `backward()` *adds* to `.grad`, because a leaf cannot tell a
# second backward call from a second path through the graph; an optimiser's `zero_grad()` resets
# them between steps. After a backward the graph's saved tensors are freed, so a second backward
# through the same graph needs `retain_graph=True` the first time. The lecture's example:

# %%
a_t = torch.tensor(2.0, requires_grad=True)
b_t = torch.tensor(2.0, requires_grad=True)
c_t = a_t + b_t
c_t.backward(retain_graph=True)
print("after one backward:", a_t.grad.item())
c_t.backward(retain_graph=True)
print("after two:         ", a_t.grad.item())
a_t.grad.zero_()
c_t.backward()
print("zeroed, then one:  ", a_t.grad.item())

s_t = torch.tensor([0.5, -1.0], requires_grad=True)
loss_s = torch.sigmoid(s_t).prod()
loss_s.backward()
try:
    loss_s.backward()
except RuntimeError as error:
    print("second backward without retain_graph:", str(error).split(".")[0])

# %% [markdown]
# **The graph is rebuilt on every forward pass** (dynamic graphs): an `if` in the forward
# changes the graph from one call to the next.

# %%
def forward_maybe_sigmoid(x, use_sigmoid):
    h = x * 2.0
    return (torch.sigmoid(h) if use_sigmoid else h).sum()


x_t = torch.ones(3, requires_grad=True)
for flag in (True, False):
    print(f"use_sigmoid={flag}: ", end="")
    print_graph(forward_maybe_sigmoid(x_t, flag).grad_fn)

# %% [markdown]
# **`torch.autograd.grad`** returns gradients instead of adding them to `.grad`, and with
# `create_graph=True` the gradient is itself recorded as a graph, so that it can be
# differentiated again: a **double backward**. For $y = x^3$: $dy/dx = 3x^2$ and
# $d^2y/dx^2 = 6x$, at $x = 2$: 12 and 12.

# %%
x2 = torch.tensor(2.0, requires_grad=True)
y2 = x2 ** 3
(dy,) = torch.autograd.grad(y2, x2, create_graph=True)
(d2y,) = torch.autograd.grad(dy, x2)
print("dy/dx =", dy.item(), " d2y/dx2 =", d2y.item(), " x.grad stays", x2.grad)

# %% [markdown]
# ### Exercise 9 (3 points): reading PyTorch's graph
#
# `read_torch_graph(program, inputs)` gets a function `program(torch, **leaves)` that returns a
# scalar loss, and a dict `inputs` of NumPy arrays (one per leaf). Make a float64 leaf tensor
# with `requires_grad=True` for each input, run the program, and collect every node reachable
# from `loss.grad_fn` through `next_functions` (each once). Then find out in which order
# backward **actually runs** them: register a hook on every node (`node.register_prehook(hook)`
# calls `hook(grad_outputs)` just before the node runs) and call `loss.backward(retain_graph=True)`.
# Then call `loss.backward()` a second time. Return the pair (list of `node.name()` in the order
# the first backward ran them, `{leaf name: its .grad as a NumPy array}` after both calls).
# This is the one exercise where torch is allowed: `import torch` **inside** the function.

# %% nbgrader={"grade_id": "torch_graph", "solution": true}
def read_torch_graph(program, inputs):
    """-> ([grad_fn names in the order the first backward runs them], {leaf: grad after two calls})."""
    ### BEGIN SOLUTION
    import torch

    leaves = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
              for name, value in inputs.items()}
    loss = program(torch, **leaves)
    nodes, seen, stack = [], set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        nodes.append(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    names = []
    handles = [node.register_prehook(lambda grad_outputs, node=node: names.append(node.name()))
               for node in nodes]
    loss.backward(retain_graph=True)
    for handle in handles:
        handle.remove()
    loss.backward()
    return names, {name: leaf.grad.numpy().copy() for name, leaf in leaves.items()}
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_torch_graph", "grade": true}
from coursecheck import check

check("test_torch_graph", read_torch_graph)
### BEGIN HIDDEN TESTS
check("test_torch_graph", read_torch_graph, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your reader on the lecture's $c = a + b$ and on a small network; compare the order with the
# depth-first listing of `print_graph`: backward runs a node only when all its users are done.

# %%
names, grads = read_torch_graph(lambda t, a, b: (a + b).sum(), {"a": np.array(2.0), "b": np.array(2.0)})
print(names, grads)
names, grads = read_torch_graph(lambda t, X, W: t.tanh(X @ W).pow(2).mean() + (W * W).sum(),
                                {"X": np.ones((2, 3)), "W": np.full((3, 2), 0.1)})
print(names)

# %% [markdown]
# ## Summary
#
# * An eager engine records a graph of tensor nodes and op nodes while the forward pass runs;
#   each op has a forward and a backward that share a context.
# * Backward visits the nodes in reverse topological order, calls each op's backward once and adds
#   the gradients at forks. A breadth-first walk is *not* enough (1.158 instead of 2.120 in the
#   notes' own kind of example), and a per-path recursion is exponential.
# * Forward mode (dual numbers) gives $\mathbf{J}\mathbf{v}$ per pass, reverse mode
#   $\mathbf{u}^\top\mathbf{J}$: $n$ passes against $m$, which is why a scalar loss is
#   differentiated in reverse.
# * Backprop keeps the activations its backward rules need; checkpointing keeps about $2\sqrt{L}$
#   of them for one extra forward pass.
# * PyTorch's graph is the same thing: `grad_fn`, `next_functions`, `AccumulateGrad` at leaves,
#   gradients that accumulate, a graph rebuilt every forward pass and freed by backward unless
#   retained, and gradients that can be differentiated again.
