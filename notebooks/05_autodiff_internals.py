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
#
# **PyTorch in this notebook.** Two parts use PyTorch: a demonstration cell in section 4 that
# compares your engine with it, all of section 7, and Exercise 9 (reading PyTorch's own graph),
# which needs it to be answered at all. The student install has no torch by default; add it with
#
# ```bash
# pip install "./student[torch]"      # from the course repository: the CPU wheel of torch 2.13.0
# # if pip does not find the CPU wheel on your machine:
# pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
# ```
#
# and restart the kernel. Without torch everything else works: the cells that need it print one
# line saying so and Run All carries on.

# %% nbgrader={"grade_id": "setup", "locked": true}
import numpy as np

# %%
# Demonstration cells say which exercise they need while it is not answered yet, and Run All
# carries on. (Graded code never uses this.)
from coursecheck import skip_if_unanswered

EXERCISES = {"topological_order": 1, "backward": 2, "unbroadcast": 3, "Plus": 3, "Times": 3,
             "Sigmoid": 3, "RowSum": 3, "Expand": 3, "MatMul": 3, "breadth_first_counterexample": 4,
             "dual_plus": 5, "dual_times": 5, "dual_sigmoid": 5, "dual_rowsum": 5, "dual_expand": 5,
             "jvp": 5, "jacobian_forward": 6, "jacobian_reverse": 6, "jacobian_op_counts": 7,
             "checkpointed_backward": 8, "read_torch_graph": 9}

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
# The cure is an order that respects *all* paths: a topological order. On the example, one
# valid order is $w, x, x^2, b, L$ (every node after its inputs); $w, x, L, x^2, b$ is not,
# because $L$ comes before its input $b$.
#
# ### Exercise 1 (3 points): topological order
#
# `topological_order(root)` returns a list of all nodes reachable from `root` through
# `.parents`, each exactly once, every node after all of its parents (so `root` comes last).
# Nodes are anything with a `.parents` tuple (the grader uses bare nodes as well as `Tensor`s);
# the same parent may appear twice in one tuple (`b = a + a`). Write it **without recursion**:
# Python stops recursing at about 1,000 levels and the hidden tests have chains of 10,000 nodes.
# Use an explicit stack. Any valid order is accepted.
#
# <details><summary>Hint 1</summary>
#
# A depth-first search from the root works: a node may be appended to the list only once all of
# its parents have been appended. Keep a set of the nodes already seen, so that a node reached
# along several paths (or twice in one `parents` tuple) is listed once.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The recursive version is "visit all parents, then append the node". Without recursion, push
# each node on the stack twice: first as "expand me" (mark it seen, push itself again as "parents
# done", then push its unseen parents), and when it comes off the stack as "parents done",
# append it. Everything pushed after it is finished before it comes back.
#
# </details>

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
# With the order in hand, backpropagation fills a table of gradients, one entry per node. The
# rule to start from is the sum of section 2: the gradient of a node is the sum, over its users,
# of what each user's backward sends it. What each op sends is its `backward(ctx, grad)`, one
# Jacobian-gradient product, given the gradient of that op's output.
#
# **A small case by hand.** $a = 3$, $b = a \cdot a$ (`Mul.apply(a, a)`), $c = b \cdot a$, so
# $c = a^3$ and $dc/da = 27$. Reverse topological order: $c, b, a$. The seed is $\partial c /
# \partial c = 1$. Mul's backward at $c$ returns $(1 \cdot a, 1 \cdot b) = (3, 9)$: 3 for $b$ and
# 9 for $a$. Mul's backward at $b$, with $b$'s gradient 3, returns $(3 \cdot a, 3 \cdot a) =
# (9, 9)$, both for $a$ (it is both parents). Total for $a$: $9 + 9 + 9 = 27$. Notice which
# gradients were complete when they were used, and that $a$ appears twice in one `parents` tuple.
#
# Compare with applying the chain rule recursively, path by path: for the stack of "diamonds"
# $b_1 = a + a,\ b_2 = b_1 + b_1,\ \dots,\ b_k = b_{k-1} + b_{k-1}$ there are $2^k$ paths from $b_k$
# down to $a$, and $2^{k-1}$ of them from $b_k$ down to the bottom op (the one that made $b_1$),
# one for each choice of branch at the $k - 1$ ops above it. A per-path recursion calls that
# bottom op's backward once per path that reaches it, $2^{k-1}$ times, and all $k$ ops'
# backwards $1 + 2 + \dots + 2^{k-1} = 2^k - 1$ times: right in value, exponential in time. A
# table that is filled once per node is the *store* side of the store-against-recompute
# trade-off: remembering the gradient of each node instead of recomputing it for every path.
#
# ### Exercise 2 (4 points): backward
#
# `backward(root, grad=None)` fills `.grad` of every node reachable from `root` (start every
# gradient at zero, so a second call replaces the results of the first), seeds `root.grad` with
# `grad` (ones shaped like `root.value` when `grad` is None), and calls every op's backward
# exactly once. Use your `topological_order`. Nodes with `op` None are leaves: nothing to call.
#
# <details><summary>Hint 1</summary>
#
# In the small case, $a$'s gradient was used only after every contribution to it had arrived.
# Which order of the nodes guarantees that for every node? You have it from Exercise 1, up to one
# step.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Walk `reversed(topological_order(root))`; at each node made by an op, call
# `node.op.backward(node.ctx, node.grad)` once and zip the returned tuple with `node.parents`,
# **adding** each gradient to that parent's `.grad` (`parent.grad = parent.grad + g`; with
# `b = a + a` the same parent gets both).
#
# </details>

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
# **The algorithm, to compare with yours:**
#
# 1. every node's gradient starts at zero; the root's is the seed $\partial l/\partial l$: ones
#    for a scalar loss, or a given upstream gradient;
# 2. for each node in reverse topological order that was produced by an op, call
#    `node.op.backward(node.ctx, node.grad)` once: one Jacobian-gradient product for that op;
# 3. **add** each returned gradient to the corresponding parent's gradient. A tensor used by
#    several ops (a fork) receives one contribution from each, and the chain rule sums them.
#
# Reverse topological order makes every node's gradient complete before it is passed on, and
# each op's backward runs exactly once, so the cost is linear in the size of the graph.
#
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
with skip_if_unanswered(EXERCISES):
    backward(L)
    print(f"dL/dw, topological order: {float(w.grad):.3f}")
    breadth_first_backward(L)
    print(f"dL/dw, breadth-first:     {float(w.grad):.3f}")
    print(f"by hand:                  {np.exp(np.sin(0.7) ** 2) * (1 + 2 * np.sin(0.7) ** 2) * np.cos(0.7):.3f}")

# %% [markdown]
# And the cost of recursing per path, measured on stacked diamonds of growing height $k$: how
# often the bottom op's backward is called, and all ops' backwards together, by your
# table-filling `backward` and by the naive recursion `per_path_backward` that follows every
# path. The per-path columns should read $2^{k-1}$ and $2^k - 1$.

# %%
class CountingPlus(Op):
    calls = 0
    bottom_calls = 0
    bottom = None           # the context of the op that made b_1

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        CountingPlus.calls += 1
        CountingPlus.bottom_calls += ctx is CountingPlus.bottom
        return grad, grad


def per_path_backward(node, grad):
    """The chain rule applied recursively along every path (right values, exponential time)."""
    node.grad = grad if node.grad is None else node.grad + grad
    if node.op is not None:
        for parent, parent_grad in zip(node.parents, node.op.backward(node.ctx, grad)):
            per_path_backward(parent, parent_grad)


with skip_if_unanswered(EXERCISES):
    print("            table: bottom op, all ops   per path: bottom op, all ops   2^(k-1)   d b_k/da")
    for k in [4, 8, 12, 16]:
        a = Tensor(1.0)
        top = CountingPlus.apply(a, a)
        CountingPlus.bottom = top.ctx
        for _ in range(k - 1):
            top = CountingPlus.apply(top, top)
        CountingPlus.calls = CountingPlus.bottom_calls = 0
        backward(top)
        table = CountingPlus.bottom_calls, CountingPlus.calls
        for node in topological_order(top):
            node.grad = None
        CountingPlus.calls = CountingPlus.bottom_calls = 0
        per_path_backward(top, np.ones(()))
        print(f"k = {k:2d}   {table[0]:16d} {table[1]:8d}   {CountingPlus.bottom_calls:19d} {CountingPlus.calls:8d}"
              f"   {2 ** (k - 1):7d}   {float(a.grad):8.0f}")

# %% [markdown]
# ## 4. The lecture's operations
#
# Each backward follows the lecture's recipe: write the derivative of one output entry with
# respect to one input entry, sum over all outputs with the multivariate chain rule, vectorise.
# We write $\mathbf{X}^\nabla$ for $\partial l / \partial \mathbf{X}$, shaped like $\mathbf{X}$.
#
# **The recipe, worked once**, on elementwise **Times**, $\mathbf{S} = \mathbf{A} \otimes \mathbf{B}$
# (the `Mul` of section 1). (1) One output entry against one input entry:
# $\partial \mathbf{S}_{kl} / \partial \mathbf{A}_{ij} = \mathbf{B}_{ij}$ if $(k, l) = (i, j)$, and 0
# otherwise. (2) The multivariate chain rule sums over all outputs:
# $\mathbf{A}^\nabla_{ij} = \sum_{kl} \mathbf{S}^\nabla_{kl}\, \partial \mathbf{S}_{kl} / \partial \mathbf{A}_{ij}
# = \mathbf{S}^\nabla_{ij} \mathbf{B}_{ij}$: only one term survives. (3) Vectorise:
# $\mathbf{A}^\nabla = \mathbf{S}^\nabla \otimes \mathbf{B}$, and by symmetry
# $\mathbf{B}^\nabla = \mathbf{S}^\nabla \otimes \mathbf{A}$. Forward must save both factors.
#
# Now the same three steps for the others; what changes from op to op is how many outputs one
# input entry reaches in step (2).
#
# * **Plus**, $\mathbf{S} = \mathbf{A} + \mathbf{B}$, also with **broadcasting**: $\mathbf{A}$ of
#   shape $(n, m)$ plus $\mathbf{b}$ of shape $(m,)$, $(1, m)$, $(n, 1)$ or a scalar. Each gradient
#   must come back with its input's shape. Write the helper `unbroadcast(grad, shape)` for that.
# * **Sigmoid**, $\mathbf{Y} = \sigma(\mathbf{X})$, any shape. Express $\sigma'$ through $\sigma$
#   itself, and think about what forward should save.
# * **RowSum**, $y_k = \sum_l \mathbf{X}_{kl}$ for $\mathbf{X}$ of shape $(n, m)$: $\mathbf{y}^\nabla$ has
#   shape $(n,)$, $\mathbf{X}^\nabla$ shape $(n, m)$.
# * **Expand**, $\mathbf{Y}$ = $x$ broadcast to a given `shape` (the lecture's case is a scalar
#   filling a matrix; we allow any shape NumPy can broadcast). `shape` is a constant (a keyword
#   argument): it gets no gradient.
# * **MatMul**, $\mathbf{C} = \mathbf{A}\mathbf{B}$ with $\mathbf{A}$: $(n, k)$, $\mathbf{B}$:
#   $(k, m)$ and $\mathbf{C}_{il} = \sum_j \mathbf{A}_{ij}\mathbf{B}_{jl}$. The answer must be a
#   matrix product whose shape is $(n, k)$ for $\mathbf{A}$ and $(k, m)$ for $\mathbf{B}$.
#
# ### Exercise 3 (4 points): forward and backward of six ops
#
# Fill in the four cells below. Each `backward` returns a **tuple** with one gradient per input,
# each shaped like that input, e.g. `(grad_x,)` for one input. Write the `unbroadcast` helper in
# the first cell; `Expand` may use it.
#
# <details><summary>Hint 1</summary>
#
# Count the outputs one input entry reaches. Plus without broadcasting: one, with derivative 1;
# with broadcasting, an entry of $\mathbf{b}$ is added to many outputs, and the chain rule sums
# theirs. Sigmoid: one. RowSum: $\mathbf{X}_{ij}$ reaches $y_i$ only. Expand: one entry of $x$
# reaches every output it was copied to. MatMul: $\mathbf{A}_{ij}$ reaches the whole row $i$ of
# $\mathbf{C}$. Save in the context what backward needs: shapes for Plus, RowSum and Expand, not
# whole arrays.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `unbroadcast`: sum away the leading axes `shape` lacks, then sum with `keepdims=True` over the
# axes where `shape` has size 1. Plus returns the upstream gradient unbroadcast to each input's
# shape; Expand's backward is the same summing. $\sigma' = \sigma (1 - \sigma)$. RowSum's
# $\mathbf{X}^\nabla_{ij} = y^\nabla_i$ for every $j$. MatMul: step (2) gives
# $\mathbf{A}^\nabla_{ij} = \sum_l \mathbf{C}^\nabla_{il}\mathbf{B}_{jl}$; read it as a product of
# $\mathbf{C}^\nabla$ with a transpose, and do the same for $\mathbf{B}$.
#
# </details>

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
# **The derivations, to compare with yours.**
#
# **Plus**: $\mathbf{A}^\nabla_{ij} = \sum_{kl} \mathbf{S}^\nabla_{kl}\, \partial \mathbf{S}_{kl}/\partial
# \mathbf{A}_{ij} = \mathbf{S}^\nabla_{ij}$, the same for $\mathbf{B}$: both gradients are the upstream
# gradient. With broadcasting one entry of $\mathbf{b}$ is added to many outputs, so its gradient is
# the *sum* of theirs: sum the upstream gradient over the broadcast axes until it has
# $\mathbf{b}$'s shape ("unbroadcast": sum away leading axes that $\mathbf{b}$ lacks, then sum with
# `keepdims` over the axes where $\mathbf{b}$ has size 1).
#
# **Sigmoid**: only $\mathbf{Y}_{ijk}$ depends on $\mathbf{X}_{ijk}$, so $\mathbf{X}^\nabla =
# \mathbf{Y}^\nabla \otimes \sigma(\mathbf{X}) \otimes (1 - \sigma(\mathbf{X}))$; forward has computed
# $\sigma(\mathbf{X})$ already, so it saves that.
#
# **RowSum**: $\mathbf{X}^\nabla_{ij} = \sum_k y^\nabla_k\, \partial y_k / \partial \mathbf{X}_{ij} =
# y^\nabla_i$, i.e. $\mathbf{X}^\nabla = \mathbf{y}^\nabla \mathbf{1}^\top$: every entry of row $i$ gets
# $y^\nabla_i$. Backward needs only $m$ from the forward pass.
#
# **Expand**: $x^\nabla = \sum_{ab} \mathbf{Y}^\nabla_{ab}$, summed over the broadcast axes back to
# $x$'s shape. RowSum and Expand are each other's backward.
#
# **MatMul**: $\mathbf{A}^\nabla_{ij} = \sum_l \mathbf{C}^\nabla_{il} \mathbf{B}_{jl}$, i.e.
# $\mathbf{A}^\nabla = \mathbf{C}^\nabla \mathbf{B}^\top$, and likewise $\mathbf{B}^\nabla =
# \mathbf{A}^\top \mathbf{C}^\nabla$ (shapes: $(n, m)(m, k) = (n, k)$ and $(k, n)(n, m) = (k, m)$).
#
# Your engine against PyTorch on one program: a layer $\sigma(\mathbf{X}\mathbf{W} + \mathbf{b})$
# with a bias broadcast over the batch, weighted by a random upstream matrix and summed with
# RowSum twice. (PyTorch appears here in a demonstration cell only; without torch the cell says
# what to install and the rest of the notebook still runs.)

# %%
try:
    import torch
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False
    print('torch is not installed: the PyTorch cells are skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')

rng = np.random.default_rng(0)
X_np, W_np, b_np, G_np = rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(2,)), rng.normal(size=(4, 2))
with skip_if_unanswered(EXERCISES):
    X_t, W_t, b_t = Tensor(X_np), Tensor(W_np), Tensor(b_np)
    H_t = Sigmoid.apply(Plus.apply(MatMul.apply(X_t, W_t), b_t))
    loss_t = RowSum.apply(Expand.apply(RowSum.apply(Times.apply(H_t, Tensor(G_np))), shape=(1, 4)))
    backward(loss_t)
    if HAVE_TORCH:
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
# its leaves, such that this walk gets $\partial\,\text{root} / \partial\,\text{leaf}$ wrong. The
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
with skip_if_unanswered(EXERCISES):
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
# tangent) of its inputs to (value, tangent) of its output by the chain rule in $t$: differentiate
# the op's formula with respect to $t$, treating every input as a function of $t$. Two rows of that
# table, worked:
#
# | op | value | tangent |
# |---|---|---|
# | plus | $a + b$ | $\frac{d}{dt}(a + b) = \dot a + \dot b$ |
# | constant | $c$ | $0$ (it does not depend on $t$) |
#
# A scalar check for the rest: $f(x) = x \cdot x$ at $x = 3$ with $v = 1$ must give value 9 and
# tangent $f'(3) = 6$; $\sigma(x)$ at $x = 0$ with $v = 2$ must give tangent $2 \cdot \tfrac14 = 0.5$.
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
# Write the five dual ops (plus, times, sigmoid, rowsum, expand; each takes and returns
# `Dual`s) and `jvp(f, x, v)`, which evaluates `f(DUAL_OPS, Dual(x, v))` **once** and returns the
# pair `(value, tangent)` of the result. (`DUAL_OPS` is defined in the read-only cell after this
# one, from your functions.)
#
# <details><summary>Hint 1</summary>
#
# Every value is computed exactly as without duals; only the tangent needs the chain rule. For
# times, *both* factors depend on $t$. Sigmoid's derivative is the one of Exercise 3. RowSum and
# Expand are linear: what does a linear map do to a small change of its input?
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# times: $\dot a \otimes b + a \otimes \dot b$ (the product rule, both terms). sigmoid:
# $\dot a \otimes s \otimes (1 - s)$ with $s = \sigma(a)$. rowsum and expand: apply the same
# operation to the tangent as to the value. `jvp` makes one `Dual(x, v)`, calls `f` once and
# unpacks the result.
#
# </details>

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
# **The whole table, to compare with yours:**
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
# counts as one (constants are free). Let one evaluation of $f$ use $k$ ops. Count what your two
# functions of Exercise 6 do, for $f: \mathbb{R}^n \to \mathbb{R}^m$. Write
# `jacobian_op_counts(n, m, k)` returning the pair (forward-mode count, reverse-mode count).
#
# A small case to count by hand first: $f(\mathbf{x}) = \sigma(x_1 + x_2)$, so $n = 2$, $m = 1$,
# $k = 2$ (one plus, one sigmoid). One JVP evaluates `dual_plus` and `dual_sigmoid` once each: 2
# op evaluations. How many JVPs does `jacobian_forward` make here, and how many forward and
# backward calls does `jacobian_reverse` make?
#
# <details><summary>Hint 1</summary>
#
# `jacobian_forward` makes one JVP per input direction, each a full evaluation of $f$ on duals.
# `jacobian_reverse` builds the graph once and then runs one backward pass per output.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Forward mode: $n$ evaluations of $k$ ops each. Reverse mode: $k$ forward calls to build the
# graph, then each of the $m$ backward passes calls the backward of every one of the $k$ ops
# once. In the small case that is 4 and 4.
#
# </details>

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
# **The counts:** forward mode $n k$ ($n$ JVPs of $k$ dual ops each); reverse mode $k + m k$ (one
# forward pass of $k$ ops, then $m$ backward passes through all $k$ ops). Which one wins depends
# only on $n$ against $m$.
#
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
with skip_if_unanswered(EXERCISES):
    for label, n, m in [("R^n -> R  (a loss)", 200, 1), ("R -> R^m", 1, 200)]:
        hidden = 16
        f = two_layer(rng.normal(size=(hidden, n)), rng.normal(size=hidden), rng.normal(size=(m, hidden)))
        x0 = rng.normal(size=n)
        counter = [0]
        saved_tables = dict(DUAL_OPS), dict(TENSOR_OPS)
        originals = {}
        try:        # the op tables and op classes are put back even when an exercise is missing
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
        finally:
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
# ### Question 1 (1 point): which mode for which Jacobian?
#
# For $f: \mathbb R^n \to \mathbb R^m$, one forward-mode pass gives one column of the Jacobian (a
# JVP) and one reverse-mode pass gives one row (a VJP). You need the gradient of a training loss
# with respect to a million parameters ($n = 10^6$, $m = 1$). Which is right?
#
# * **(a)** Forward mode: it stores no activations, so it is the cheaper one for large $n$.
# * **(b)** Reverse mode: one backward pass gives the one row, the whole gradient, where forward
#   mode needs $n$ passes.
# * **(c)** Either: a pass of either mode costs a small multiple of one evaluation of $f$.
# * **(d)** Reverse mode, because it is the cheaper mode for every shape of Jacobian.
#
# Make `choice_mode` return your letter, e.g. `return "a"`. The test cell only checks that you
# returned one of the letters; whether it is the right one is decided when your notebook is graded.

# %% nbgrader={"grade_id": "choice_mode", "solution": true}
def choice_mode():
    """Your answer to question 1: one of "a", "b", "c", "d"."""
    ### BEGIN SOLUTION
    return "b"
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_choice_mode", "grade": true}
from coursecheck import check

check("test_choice_mode", choice_mode)
### BEGIN HIDDEN TESTS
check("test_choice_mode", choice_mode, hidden=True)
### END HIDDEN TESTS

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
# evaluations. **Gradient checkpointing** sits in between: keep a few activations (the
# *checkpoints*) and recompute the others from the nearest checkpoint when backward needs them.
# Your job in Exercise 8 is to work out which ones to keep, when to recompute, and in which
# order, so that memory stays near $2\sqrt{L}$ activations while every layer runs forward at
# most twice.
#
# A small case to reason with: $L = 4$ layers, 2 segments of 2. Plain backprop holds 4 layers'
# contexts at its peak. Which two activations would you keep from a first forward pass so that
# either half can be rebuilt on its own, and which half has to run backward first?
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
#
# **Drop your references explicitly.** Python frees an array only when nothing refers to it any
# more, and a local variable you have finished with still does. So `del` what you no longer need
# as soon as you are done with it: the output of the first forward pass once it has been run
# (you only need the segment inputs), the recomputed activation at the end of each segment, and
# each segment's list of contexts once its backward has run, *before* you start the next segment.
# Taking a segment input off your list (`pop()`) instead of reading it also lets it go. Otherwise
# those arrays are still alive when the next layer runs and count against your budget.
#
# <details><summary>Hint 1</summary>
#
# Two phases. First a forward pass that keeps only what is needed to restart any segment later
# (give each layer a throwaway `Context()`). Then the segments in the order the gradient flows,
# from the output back to the input: rebuild one segment's contexts, use them, let them go.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Phase 1: before each segment, append the current activation to a list of segment inputs, then
# run its layers with `layer.forward(Context(), x)`. Phase 2: for the segments from last to first,
# `pop()` the segment's input, run its layers forward again *with* a fresh `Context()` each (kept in
# a list), then call their `backward` in reverse order, starting from the gradient the later
# segment returned (`grad_out` for the last one). `del` the contexts before the next segment.
#
# </details>

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
# **The algorithm, to compare with yours.** Split the $L$ layers into segments of length $s$. In a
# first forward pass keep only the input of each segment (and throw the contexts away); then,
# from the last segment to the first, recompute that one segment's forward *with* contexts and run
# its backward, starting from the gradient the later segment produced, and drop the contexts
# before the next segment. At the peak we hold the $L/s$ segment inputs plus one segment's $s$
# activations: $L/s + s$, smallest at $s = \sqrt{L}$, i.e. about $2\sqrt{L}$ activations instead
# of $L$, for one extra forward pass. (In the small case: keep the inputs of layers 1 and 3,
# rebuild and backpropagate layers 3-4 first, then 1-2: at most 2 + 2 activations.)
#
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
    try:
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        grad = run(layers)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return grad, peak / unit, seconds


plain_grad, plain_peak, plain_time = measure(lambda layers: plain_backward(layers, x_demo, g_demo))
print(f"plain backprop: peak {plain_peak:5.1f} activations, {plain_time * 1e3:6.1f} ms")
segment_counts, peaks, times = [2, 4, 8, 16, 32], [], []
with skip_if_unanswered(EXERCISES):
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
# ### Question 2 (1 point, graded by hand): what checkpointing trades
#
# In two or three sentences: what does gradient checkpointing give up, and what does it gain? For
# $L$ layers cut into about $\sqrt L$ segments, how many activations does your
# `checkpointed_backward` hold at most, and how many extra layer forwards does it run compared
# with plain backprop?

# %% [markdown] nbgrader={"grade_id": "checkpoint_trade", "solution": true, "grade": true, "points": 1}
# It trades computation for memory. Only the inputs of the segments are kept during the forward
# pass (about $\sqrt L$ of them); during the backward pass each segment's activations are
# recomputed from its stored input, one segment (about $\sqrt L$ layers) at a time. So at most
# about $2\sqrt L$ activations are held instead of $L$, at the price of one extra forward pass:
# each layer's forward runs once more (about $L$ extra layer forwards, roughly a third more time).

# %% [markdown]
# ## 7. PyTorch's own graph
#
# PyTorch is an eager engine like yours. A tensor created with `requires_grad=True` is a leaf
# that wants a gradient; every op on it records a node, reachable from the result's `grad_fn`;
# each node's `next_functions` point to the nodes of its inputs, and a leaf's node is an
# `AccumulateGrad`, which adds the incoming gradient to the leaf's `.grad`. Tensors that need no
# gradient are left out of the graph. (This section needs torch: see the top of the notebook.)

# %%
def print_graph(node, indent=0):
    """The lecture's listing: a node, then the nodes of its inputs, indented."""
    if node is None:
        return
    print(" " * indent + type(node).__name__)
    for next_node, _ in node.next_functions:
        print_graph(next_node, indent + 2)


if not HAVE_TORCH:
    print('torch is not installed: this cell is skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')
else:
    d = torch.tensor(1.0, requires_grad=True)
    e = torch.tensor(1.0, requires_grad=True)
    f_t = (d + e) * e
    print("requires_grad:", f_t.requires_grad, "| grad_fn:", type(f_t.grad_fn).__name__)
    print_graph(f_t.grad_fn)
    plain = torch.tensor(1.0) + torch.tensor(1.0)
    print("no requires_grad anywhere -> grad_fn is", plain.grad_fn)

# %% [markdown]
# **Gradients accumulate.** Every `backward()` *adds* to `.grad`, because a leaf cannot tell a
# second backward call from a second path through the graph; an optimiser's `zero_grad()` resets
# them between steps. The lecture's example, $c = a + b$, run backward twice.
#
# **Freed graphs.** A backward pass frees the tensors the graph's nodes *saved* for it (a
# context's `saved`, in our engine's words). A second backward through a graph that saved
# tensors therefore fails unless the first one was called with `retain_graph=True`. The sum
# $c = a + b$ saved nothing (its local derivatives are 1, whatever $a$ and $b$ are), so it runs
# backward twice without `retain_graph`. $\prod_i \sigma(s_i)$ saved both the sigmoid's output and
# the product's inputs, so its second backward fails, and succeeds with `retain_graph=True`.

# %%
if not HAVE_TORCH:
    print('torch is not installed: this cell is skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')
else:
    a_t = torch.tensor(2.0, requires_grad=True)
    b_t = torch.tensor(2.0, requires_grad=True)
    c_t = a_t + b_t
    c_t.backward()
    print("after one backward:", a_t.grad.item())
    c_t.backward()                  # no retain_graph needed: Add saved no tensors
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
        print("sigmoid * prod, second backward without retain_graph:", str(error).split(".")[0])
    s_t.grad = None
    loss_s = torch.sigmoid(s_t).prod()
    loss_s.backward(retain_graph=True)
    loss_s.backward()
    print("with retain_graph=True the first time, two backwards work: s.grad =", s_t.grad.numpy())

# %% [markdown]
# **The graph is rebuilt on every forward pass** (dynamic graphs): an `if` in the forward
# changes the graph from one call to the next.

# %%
def forward_maybe_sigmoid(x, use_sigmoid):
    h = x * 2.0
    return (torch.sigmoid(h) if use_sigmoid else h).sum()


if not HAVE_TORCH:
    print('torch is not installed: this cell is skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')
else:
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
if not HAVE_TORCH:
    print('torch is not installed: this cell is skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')
else:
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
if not HAVE_TORCH:
    print('torch is not installed: this cell is skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')
else:
    with skip_if_unanswered(EXERCISES):
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
#   gradients that accumulate, a graph rebuilt every forward pass whose saved tensors are freed
#   by backward unless retained, and gradients that can be differentiated again.
