# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 02 — The scalar chain rule and your own autograd engine
#
# Assignment 01 estimated gradients by nudging every parameter in turn: exact enough to check
# things, far too slow to train with. This notebook computes the *exact* gradient for the price of
# about one extra pass through the computation. We start with the chain rule along a single path,
# look at a computation as a circuit of gates that each know their own local derivative, learn the
# one rule that matters at forks (gradients add up), and finally write a small engine, a `Value`
# class, that does all of this automatically. You will then train a small neural network made of
# your own `Value`s.
#
# **How this notebook is graded.** Each exercise gives you a function (or a class) whose body reads
# `# YOUR CODE HERE` and `raise NotImplementedError()`: replace those lines with your code, in that
# cell (the *answer cell*). The test cell below each one runs a few visible checks so that you can
# see whether you are on track and, if not, what is wrong. When grading, more and larger hidden tests
# run on inputs drawn at grading time; your `Value` class is tested on expression graphs it has never
# seen, among them graphs of thousands of nodes, and compared with PyTorch's autograd and with a
# numerical derivative of your own forward pass. The grader runs only the read-only setup cells and
# your answer cells, in order, so an answer cell must not rely on variables from the demonstration
# cells. Use plain Python and NumPy: `torch`, `minigrad`, `scipy`, `sympy` and other
# differentiation libraries are not available to graded code, and finite differences are too slow
# and too inexact to pass.

# %% nbgrader={"grade_id": "setup", "locked": true}
import math

import numpy as np

# %% [markdown]
# ## 1. The chain rule on a single path
#
# Take the lecture's function $f(x) = 2 / \sin(e^{-x})$. It is a chain of four simple functions,
# each applied to the result of the previous one:
#
# $$a = -x, \qquad b = e^{a}, \qquad c = \sin b, \qquad f = 2 / c .$$
#
# Each link has a **local derivative** that only needs its own input:
# $\partial a/\partial x = -1$, $\partial b/\partial a = e^{a}$, $\partial c/\partial b = \cos b$,
# $\partial f/\partial c = -2/c^2$. The chain rule says that the **global derivative**
# $\mathrm{d}f/\mathrm{d}x$ is their product along the path:
#
# $$\frac{\mathrm{d}f}{\mathrm{d}x} = \frac{\partial f}{\partial c}\,\frac{\partial c}{\partial b}\,
#   \frac{\partial b}{\partial a}\,\frac{\partial a}{\partial x}
#   = -\frac{2}{c^2}\cdot\cos b\cdot e^{a}\cdot(-1).$$
#
# To evaluate it at a point we first run the chain forward, keeping every intermediate value
# (the **forward pass**), then multiply the local derivatives from the output back to the input
# (the **backward pass**). Nothing here needed the full symbolic derivative of $f$.

# %%
x = 1.0
a = -x
b = math.exp(a)
c = math.sin(b)
f = 2.0 / c
df_dc = -2.0 / c ** 2
df_db = df_dc * math.cos(b)
df_da = df_db * b            # d b / d a = e^a = b, a value we kept from the forward pass
df_dx = df_da * -1.0
print(f"f(1) = {f:.10f}, df/dx(1) = {df_dx:.10f}")
h = 1e-5
print(f"central difference check: {(2 / math.sin(math.exp(-(x + h / 2))) - 2 / math.sin(math.exp(-(x - h / 2)))) / h:.10f}")

# %% [markdown]
# An aside on the lecture's example point $x = -4.499$: there $b = e^{4.499} \approx 89.93$, and the
# notes conclude $f = 2$ and $\mathrm{d}f/\mathrm{d}x = 0$ because "$\sin 90 = 1$, $\cos 90 = 0$". That
# holds only with the sine in *degrees*. In radians, which is what every library uses,
# $\sin(89.93)$ is about $0.92$. The cell shows both.

# %%
b_lecture = math.exp(4.499)
print(f"b = {b_lecture:.4f}; in degrees: f = {2 / math.sin(math.radians(b_lecture)):.6f}; "
      f"in radians: f = {2 / math.sin(b_lecture):.6f}")

# %% [markdown]
# ## 2. Circuits: gates with local gradients
#
# Bigger expressions have several inputs. Take $f(x, y, z) = (x + y)\,z$ and name the intermediate
# value $q = x + y$, so $f = q z$. Each operation is a **gate** that computes its output and knows
# the derivative of its output with respect to each of its inputs:
#
# * the add gate $q = x + y$: $\partial q/\partial x = 1$, $\partial q/\partial y = 1$;
# * the multiply gate $f = q z$: $\partial f/\partial q = z$, $\partial f/\partial z = q$.
#
# With the lecture's inputs $x = -2$, $y = 5$, $z = -4$ the forward pass gives $q = 3$ and $f = -12$.
# Backward, write $\mathrm{d}v$ for $\partial f/\partial v$: $\mathrm{d}f = 1$, $\mathrm{d}z = q = 3$,
# $\mathrm{d}q = z = -4$, and the chain rule through the add gate gives
# $\mathrm{d}x = 1\cdot\mathrm{d}q = -4$ and $\mathrm{d}y = -4$. Every gate multiplies the gradient
# arriving at its output by its local gradients and passes the products to its inputs, without
# knowing anything about the rest of the circuit.
#
# The gates you will use, with their local gradients (written with the *output* wherever that is
# simpler, because the forward pass has already computed it):
#
# | gate | output | local gradients |
# |---|---|---|
# | add | $x + y$ | $1,\ 1$ (distributes the gradient) |
# | multiply | $x y$ | $y,\ x$ (swaps the inputs) |
# | max | $\max(x, y)$ | $1, 0$ if $x \ge y$, else $0, 1$ (routes the gradient) |
# | sigmoid | $s = \sigma(x) = 1/(1+e^{-x})$ | $s(1 - s)$ |
# | tanh | $t = \tanh x$ | $1 - t^2$ |
# | exp | $e = e^{x}$ | $e$ |
# | power (constant $n$) | $x^n$ | $n x^{n-1}$ |
#
# Derivation of the sigmoid's: $\sigma'(x) = e^{-x}/(1+e^{-x})^2 =
# \frac{1}{1+e^{-x}}\cdot\frac{e^{-x}}{1+e^{-x}} = \sigma(x)\,(1-\sigma(x))$. (Careful: the lecture's
# pseudocode writes this as `sigmoid(k) * sigmoid(1 - k)`, which is a different, wrong number;
# $1 - \sigma(k)$ is not $\sigma(1 - k)$.) For tanh, $\tanh' = 1 - \tanh^2$. At a tie of max
# ($x = y$) the function has a kink; like PyTorch's gates we route the whole gradient to one input,
# here the first. (A difference quotient across the tie would give $1/2$ to each.)
#
# ### Exercise 1 (3 points): gates
#
# `local_gradients(op, x, y=None)` returns the gate's output followed by its local gradients:
# `(out, d_out/dx, d_out/dy)` for the two-input gates `"add"`, `"mul"`, `"max"`, and `(out, d_out/dx)`
# for `"sigmoid"`, `"tanh"`, `"exp"` and for `"pow"`, where `y` is the constant exponent $n$ (not an
# input, so it has no gradient). Plain floats in, plain floats out.

# %% nbgrader={"grade_id": "local_gradients", "solution": true}
def local_gradients(op, x, y=None):
    """(out, dout/dx[, dout/dy]) of one gate at floats x (and y); for "pow", y is the exponent n."""
    ### BEGIN SOLUTION
    if op == "add":
        return x + y, 1.0, 1.0
    if op == "mul":
        return x * y, y, x
    if op == "max":
        return (x, 1.0, 0.0) if x >= y else (y, 0.0, 1.0)
    if op == "sigmoid":
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return s, s * (1.0 - s)
    if op == "tanh":
        t = math.tanh(x)
        return t, 1.0 - t * t
    if op == "exp":
        e = math.exp(x)
        return e, e
    if op == "pow":
        return x ** y, y * x ** (y - 1)
    raise ValueError(f"unknown gate {op!r}")
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_local_gradients", "grade": true}
from coursecheck import check

check("test_local_gradients", local_gradients)
### BEGIN HIDDEN TESTS
check("test_local_gradients", local_gradients, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your gates, chained by hand: first the circuit $(x + y) z$, then the lecture's sigmoid neuron
# $f = \sigma(w_0 x_0 + w_1 x_1 + w_2)$ with $w = [2, -3, -3]$ and $x = [-1, -2]$. Grouping the
# whole sigmoid into one gate is allowed because the chain rule does not care how we cut the
# computation into pieces, as long as we know each piece's local derivative; one sigmoid gate is
# simply cheaper than its four parts ($\cdot(-1)$, $\exp$, $+1$, $1/x$). Expected: $f = -12$ with
# gradients $(-4, -4, 3)$, and $f \approx 0.7311$, $\mathrm{d}w \approx (-0.197, -0.393, 0.197)$,
# $\mathrm{d}x \approx (0.393, -0.590)$.

# %%
q, dq_dx, dq_dy = local_gradients("add", -2.0, 5.0)
f, df_dq, df_dz = local_gradients("mul", q, -4.0)
print("circuit:", f, [df_dq * dq_dx, df_dq * dq_dy, df_dz])

w, xs = [2.0, -3.0, -3.0], [-1.0, -2.0]
dot = w[0] * xs[0] + w[1] * xs[1] + w[2]
f, ddot = local_gradients("sigmoid", dot)
print(f"neuron: f = {f:.4f}, dw = {[round(v * ddot, 3) for v in (xs[0], xs[1], 1.0)]}, "
      f"dx = {[round(v * ddot, 3) for v in w[:2]]}")

# %% [markdown]
# ## 3. Staged backprop: cache the forward, add up at forks
#
# The lecture's second example is deliberately messy:
#
# $$f(x, y) = \frac{x + \sigma(y)}{\sigma(x) + (x + y)^2}.$$
#
# Differentiating it symbolically is a chore. Staged, it is easy: compute the forward pass as a
# sequence of small named steps, each a gate from the table (plus $1/v$, whose derivative is
# $-1/v^2$),
#
# ```
# sigy = sigmoid(y)          (1)      xpy    = x + y            (4)      invden = 1 / den     (7)
# num  = x + sigy            (2)      xpysqr = xpy ** 2         (5)      f = num * invden     (8)
# sigx = sigmoid(x)          (3)      den    = sigx + xpysqr    (6)
# ```
#
# then go through the steps in reverse, turning each into one line of the backward pass that
# multiplies the incoming gradient by the local gradient, e.g. step (8) gives
# `dnum = invden * df` and `dinvden = num * df`; step (7) gives `dden = (-1 / den**2) * dinvden`.
# The forward variables (`invden`, `num`, `den`, `sigx`, ...) are needed again, so keep them.
#
# One more rule, and it is the important one. $x$ is used three times (steps 2, 3 and 4) and $y$
# twice (steps 1 and 4). By the multivariable chain rule, when a value **forks** into several
# uses, its gradient is the **sum** of the gradients arriving from each use. In code: the first
# contribution may be assigned, every further one must be added with `+=`. Writing `dx = ...`
# three times keeps only the last term.
#
# The patterns to remember: an add gate distributes its gradient unchanged to all its inputs, a
# multiply gate swaps its inputs (and scales), a max gate routes the whole gradient to the larger
# input.
#
# ### Exercise 2 (4 points): the staged example
#
# `staged_example(x, y)` returns `(f, df/dx, df/dy)` as floats: the forward pass in the steps above,
# then a hand-written backward pass. At $(3, -4)$ you should get $f \approx 1.5456$,
# $\partial f/\partial x \approx 2.0596$ and $\partial f/\partial y \approx 1.5922$.

# %% nbgrader={"grade_id": "staged_example", "solution": true}
def staged_example(x, y):
    """(f, df/dx, df/dy) for f = (x + sigmoid(y)) / (sigmoid(x) + (x + y)**2) at floats x, y."""
    ### BEGIN SOLUTION
    sigy = 1.0 / (1.0 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1.0 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum = invden
    dinvden = num
    dden = (-1.0 / den ** 2) * dinvden
    dsigx = dden
    dxpysqr = dden
    dxpy = 2.0 * xpy * dxpysqr
    dx = dxpy
    dy = dxpy
    dx += sigx * (1.0 - sigx) * dsigx
    dx += dnum
    dsigy = dnum
    dy += sigy * (1.0 - sigy) * dsigy
    return f, dx, dy
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_staged_backprop", "grade": true}
from coursecheck import check

check("test_staged_backprop", staged_example)
### BEGIN HIDDEN TESTS
check("test_staged_backprop", staged_example, hidden=True)
### END HIDDEN TESTS

# %%
f, dfdx, dfdy = staged_example(3.0, -4.0)
print(f"f(3, -4) = {f:.4f}, df/dx = {dfdx:.4f}, df/dy = {dfdy:.4f}")

# %% [markdown]
# ## 4. Deltas: backprop through a network, one neuron at a time
#
# In a network, write $a_j = \sum_i w_{ji} z_i + b_j$ for neuron $j$'s pre-activation and
# $z_j = g(a_j)$ for its output. The lecture calls the gradient of the loss with respect to a
# pre-activation its **delta**, $\delta_j = \partial L/\partial a_j$. A hidden neuron $j$ feeds every
# neuron $k$ of the next layer, so its output forks, and its gradient is the sum over those uses:
#
# $$\delta_j = \sum_k \frac{\partial L}{\partial a_k}\frac{\partial a_k}{\partial z_j}\frac{\partial z_j}{\partial a_j}
#  = g'(a_j) \sum_k w_{kj}\,\delta_k ,$$
#
# and the weight gradients follow from the deltas: $\partial L/\partial w_{ji} = \delta_j z_i$,
# $\partial L/\partial b_j = \delta_j$. For a squared loss $L = \tfrac12(\hat y - y)^2$ with a linear
# output, the output delta is $\hat y - y$.
#
# The smallest case, from the lecture, is the **scalar two-layer net** where everything is a number:
#
# $$Z_1 = X W_1,\quad Z_2 = Z_1 + b_1,\quad Z_3 = \sigma(Z_2),\quad Z_4 = Z_3 W_2,\quad
#   Y_p = Z_4 + b_2,\quad L = \tfrac12 (Y_p - Y)^2 .$$
#
# Backward: $\delta Y_p = Y_p - Y$; $\delta Z_4 = \delta Y_p$; $\delta Z_3 = W_2\,\delta Z_4$;
# $\delta Z_2 = \sigma'(Z_2)\,\delta Z_3 = Z_3(1 - Z_3)\,\delta Z_3$; $\delta Z_1 = \delta Z_2$. Then
# $\delta W_1 = X\,\delta Z_1$, $\delta b_1 = \delta Z_2$, $\delta W_2 = Z_3\,\delta Z_4$ and
# $\delta b_2 = \delta Y_p$. A check by hand: with $X = 2$, $Y = 1$, $W_1 = 0.5$, $b_1 = -1$,
# $W_2 = 3$, $b_2 = 0.5$ we get $Z_2 = 0$, $Z_3 = 1/2$, $Y_p = 2$, $L = 1/2$, $\delta Y_p = 1$, and the
# gradients $(\delta W_1, \delta b_1, \delta W_2, \delta b_2) = (1.5, 0.75, 0.5, 1)$.
#
# ### Exercise 3 (4 points): the scalar net by deltas
#
# `scalar_net(X, Y, W1, b1, W2, b2)` returns `(L, dW1, db1, dW2, db2)` as floats.

# %% nbgrader={"grade_id": "scalar_net", "solution": true}
def scalar_net(X, Y, W1, b1, W2, b2):
    """(L, dL/dW1, dL/db1, dL/dW2, dL/db2) of L = 0.5 (sigmoid(X W1 + b1) W2 + b2 - Y)**2; floats."""
    ### BEGIN SOLUTION
    Z2 = X * W1 + b1
    Z3 = 1.0 / (1.0 + math.exp(-Z2))
    Yp = Z3 * W2 + b2
    L = 0.5 * (Yp - Y) ** 2
    dYp = Yp - Y
    dZ3 = W2 * dYp
    dZ2 = Z3 * (1.0 - Z3) * dZ3
    return L, X * dZ2, dZ2, Z3 * dYp, dYp
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_scalar_net", "grade": true}
from coursecheck import check

check("test_scalar_net", scalar_net)
### BEGIN HIDDEN TESTS
check("test_scalar_net", scalar_net, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# One gradient step with these gradients should lower the loss (learning rate 0.5):

# %%
L, *grads = scalar_net(2.0, 1.0, 0.5, -1.0, 3.0, 0.5)
stepped = [p - 0.5 * g for p, g in zip((0.5, -1.0, 3.0, 0.5), grads)]
print(f"L = {L}, gradients = {grads}, loss after one step = {scalar_net(2.0, 1.0, *stepped)[0]:.4f}")

# %% [markdown]
# ## 5. An engine that does it for you: the `Value` class
#
# Everything so far followed one recipe: during the forward pass, every operation records its
# inputs and its local derivatives; during the backward pass, we visit the operations from the
# output back and, at each one, add "local derivative times the gradient at my output" into the
# gradient of each input. A program can do that bookkeeping. A `Value` wraps one float and
# remembers how it was made:
#
# * `data`: the number; `grad`: $\partial\,\text{output}/\partial\,\text{this value}$, 0 until a
#   backward pass fills it;
# * `_prev`: the `Value`s it was computed from (empty for a leaf, a value you created);
# * `_op`: a short name of the operation, for drawings;
# * `_backward`: a function with no arguments that, when called, adds this value's gradient
#   times each local derivative into the `grad` of each input (for a leaf, it does nothing).
#
# Each operator creates the output `Value` and, next to it, defines its `_backward`. For addition:
#
# ```python
# def __add__(self, other):
#     other = other if isinstance(other, Value) else Value(other)   # allow v + 2.0
#     out = Value(self.data + other.data, (self, other), "+")
#     def _backward():
#         self.grad += 1.0 * out.grad      # += : self may be used elsewhere too (a fork)
#         other.grad += 1.0 * out.grad
#     out._backward = _backward
#     return out
# ```
#
# The closure remembers `self`, `other` and `out`, so calling `out._backward()` later, once
# `out.grad` is known, pushes the gradient one step back. The `+=` matters even inside one
# operation: in `a * a` both inputs are the same object and must receive both contributions.
#
# Python calls `a.__add__(b)` for `a + b`. When the left operand is a plain number, as in `2.0 + a`,
# Python first tries `float.__add__`, which does not know `Value`, and then calls the *reflected*
# method `a.__radd__(2.0)`. So `__radd__`, `__rsub__`, `__rmul__` and `__rtruediv__` are needed for
# expressions like `1 - s` or `2 / x` (note the operand order for `-` and `/`: `a.__rsub__(c)` is
# `c - a`).
#
# ### Exercise 4 (5 points): the operators and their backward rules
#
# Complete the class: `+ - * /`, `**` with a plain number as exponent, the reflected versions
# with numbers on the left, unary `-`, and the methods `exp()`, `tanh()`, `relu()` (with
# derivative 0 at 0) and `sigmoid()`. Every operation returns a **new** `Value` whose `_prev` holds
# its input `Value`s and whose `_backward` applies the chain rule with `+=`. You may build some
# operations from others (e.g. `a - b` as `a + (-b)`, `a / b` as `a * b**-1`); the chain rule then
# takes care of their gradients. Keep `__init__` as given: the grader relies on `data`, `grad`,
# `_prev` and `_backward`. This test runs its own reverse pass over your `_backward` functions, so
# it grades the operators on their own, before you write `backward()`.

# %% nbgrader={"grade_id": "value_ops", "solution": true}
class Value:
    """One float in a computational graph: data, grad, the inputs it came from and its backward rule."""

    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        ### BEGIN SOLUTION
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __pow__(self, n):
        """self ** n for a plain number n."""
        ### BEGIN SOLUTION
        if isinstance(n, Value):
            raise TypeError("only a plain number exponent is supported")
        out = Value(self.data ** n, (self,), f"**{n}")

        def _backward():
            self.grad += n * self.data ** (n - 1) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def exp(self):
        ### BEGIN SOLUTION
        e = math.exp(self.data)
        out = Value(e, (self,), "exp")

        def _backward():
            self.grad += e * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def tanh(self):
        ### BEGIN SOLUTION
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1.0 - t * t) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def relu(self):
        ### BEGIN SOLUTION
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def sigmoid(self):
        ### BEGIN SOLUTION
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad
        out._backward = _backward
        return out
        ### END SOLUTION

    def __neg__(self):
        ### BEGIN SOLUTION
        return self * -1.0
        ### END SOLUTION

    def __sub__(self, other):
        ### BEGIN SOLUTION
        return self + (-other)
        ### END SOLUTION

    def __truediv__(self, other):
        ### BEGIN SOLUTION
        other = other if isinstance(other, Value) else Value(other)
        return self * other ** -1
        ### END SOLUTION

    def __radd__(self, other):
        ### BEGIN SOLUTION
        return self + other
        ### END SOLUTION

    def __rsub__(self, other):
        ### BEGIN SOLUTION
        return (-self) + other
        ### END SOLUTION

    def __rmul__(self, other):
        ### BEGIN SOLUTION
        return self * other
        ### END SOLUTION

    def __rtruediv__(self, other):
        ### BEGIN SOLUTION
        return self ** -1 * other
        ### END SOLUTION

# %% nbgrader={"grade_id": "test_value_ops", "grade": true}
from coursecheck import check

check("test_value_ops", Value)
### BEGIN HIDDEN TESTS
check("test_value_ops", Value, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 6. `backward()`: visit every node once, in reverse topological order
#
# A node's `_backward` may only run once its own `grad` is complete, that is, after every node
# that uses it has pushed its contribution. An order in which every node comes after all of its
# inputs is a **topological order**; running the `_backward`s in the *reverse* of such an order
# (output first) guarantees exactly that. Any topological order works; a convenient one comes from
# a depth-first search from the output that appends a node after all of its inputs.
#
# Two traps. First, the obvious recursive depth-first search fails on deep graphs: Python allows
# about 1,000 nested calls, and a network unrolled over a long sequence is easily 10,000 nodes
# deep. Use a loop with an explicit stack instead, e.g. push `(node, False)`; when popped unvisited,
# mark it, push `(node, True)` and then its inputs; when `(node, True)` is popped, all its inputs
# are in the list, so append it. Second, do not run `_backward` "once per path" by calling it
# recursively from each user of a node: with `b = a + a; c = b + b` that visits `b` twice and
# counts $a$'s gradient twice over (8 instead of 4), and the number of paths grows exponentially.
#
# What happens if `backward()` is called twice? PyTorch adds the new gradients of the leaves to the
# old ones (it *accumulates*: this is why training loops call `zero_grad()`), while intermediate
# results get a fresh gradient. We do the same: at the start of `backward()`, set the `grad` of
# every node that has inputs to 0 and leave the leaves alone; then set the output's `grad` to 1 and
# run the `_backward`s. Then two calls give the leaves exactly twice the gradient of one call, as
# in PyTorch.
#
# ### Exercise 5 (6 points): topological order and backward
#
# `topological_order(root)` returns a list of every `Value` that `root` depends on (including
# `root`, which comes last), each exactly once and after all of its inputs, without recursion.
# `backward(self)` uses it as described above; the cell attaches it to your class.

# %% nbgrader={"grade_id": "value_backward", "solution": true}
def topological_order(root):
    """Every Value root depends on, each once and after all of its inputs; root last. No recursion."""
    ### BEGIN SOLUTION
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev if id(p) not in visited)
    return order
    ### END SOLUTION


def backward(self):
    """Fill .grad of every Value self depends on with d self / d value (leaves accumulate)."""
    ### BEGIN SOLUTION
    order = topological_order(self)
    for node in order:
        if node._prev:
            node.grad = 0.0
    self.grad = 1.0
    for node in reversed(order):
        node._backward()
    ### END SOLUTION


Value.backward = backward

# %% nbgrader={"grade_id": "test_value_backward", "grade": true}
from coursecheck import check

check("test_value_backward", Value, topological_order)
### BEGIN HIDDEN TESTS
check("test_value_backward", Value, topological_order, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your engine on the lecture's examples, and a drawing of the graph it built for the staged
# example: boxes are `Value`s (data and grad), ellipses the operations. `draw_graph` only reads
# `data`, `grad`, `_prev` and `_op`, so it draws your class as well as minigrad's.

# %%
from minigrad.viz import draw_graph

x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
f = (x + y) * z
f.backward()
print("circuit:", f.data, [x.grad, y.grad, z.grad])

x, y = Value(3.0), Value(-4.0)
f = (x + y.sigmoid()) / (x.sigmoid() + (x + y) ** 2)
f.backward()
print(f"staged: f = {f.data:.4f}, df/dx = {x.grad:.4f}, df/dy = {y.grad:.4f}")

a = Value(3.0)
b = a + a
c = b + b
c.backward()
print("b = a + a; c = b + b: dc/da =", a.grad)
draw_graph(f)

# %% [markdown]
# ## 7. A neural network of `Value`s
#
# A neuron with inputs $x_1 \dots x_n$ computes $\tanh(\sum_i w_i x_i + b)$ (or, in the output layer,
# just $\sum_i w_i x_i + b$). A layer is a list of neurons that read the same inputs; an MLP is a
# list of layers, each reading the previous layer's outputs. Every weight and bias is a `Value`, so
# the loss is one big expression graph and `loss.backward()` fills every parameter's `grad`.
#
# ### Exercise 6 (4 points): Neuron, Layer, MLP
#
# `MLP(nin, nouts)` has `len(nouts)` layers: layer `i` has `nouts[i]` neurons, each with one weight
# per output of the layer before it (`nin` for the first). Hidden layers apply `tanh`, the last layer
# is linear. `model(x)` takes a list of `nin` numbers (or `Value`s) and returns the list of the last
# layer's outputs, or the single `Value` itself when the last layer has one neuron.
# `model.parameters()` returns every `Value` to train, in this order: layer by layer, neuron by
# neuron, each neuron's weights and then its bias. Initialise the weights randomly (e.g.
# `random.uniform(-1, 1)`); the tests overwrite them with their own values.

# %% nbgrader={"grade_id": "mlp", "solution": true}
import random


class Neuron:
    def __init__(self, nin, nonlin=True):
        ### BEGIN SOLUTION
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.tanh() if self.nonlin else act
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return self.w + [self.b]
        ### END SOLUTION


class Layer:
    def __init__(self, nin, nout, nonlin=True):
        ### BEGIN SOLUTION
        self.neurons = [Neuron(nin, nonlin) for _ in range(nout)]
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION
        return [neuron(x) for neuron in self.neurons]
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return [p for neuron in self.neurons for p in neuron.parameters()]
        ### END SOLUTION


class MLP:
    def __init__(self, nin, nouts):
        ### BEGIN SOLUTION
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i < len(nouts) - 1) for i in range(len(nouts))]
        ### END SOLUTION

    def __call__(self, x):
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x
        ### END SOLUTION

    def parameters(self):
        ### BEGIN SOLUTION
        return [p for layer in self.layers for p in layer.parameters()]
        ### END SOLUTION

# %% [markdown]
# The loss we train with, given (read-only): the mean of $\tfrac12(\text{model}(x_i) - y_i)^2$ over
# the examples, built from your `Value` operations.

# %% nbgrader={"grade_id": "squared_loss_definition", "locked": true}
def squared_loss(model, X, y):
    """Mean over the examples of 0.5 * (model(x_i) - y_i)**2; X: list of input lists, y: list of floats."""
    total = None
    for x_i, y_i in zip(X, y):
        term = (model(x_i) - y_i) ** 2 * 0.5
        total = term if total is None else total + term
    return total * (1.0 / len(y))

# %% nbgrader={"grade_id": "test_mlp_gradients", "grade": true}
from coursecheck import check

check("test_mlp_gradients", MLP, squared_loss)
### BEGIN HIDDEN TESTS
check("test_mlp_gradients", MLP, squared_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 7 (3 points): one step of gradient descent
#
# `train_step(model, X, y, lr)` does one step: set every parameter's `grad` to 0 (leaves
# accumulate, so without this the old gradient would be added in), compute
# `loss = squared_loss(model, X, y)`, call `loss.backward()`, move every parameter downhill,
# `p.data -= lr * p.grad`, and return the loss's value (a float, before the step).

# %% nbgrader={"grade_id": "train_step", "solution": true}
def train_step(model, X, y, lr):
    """Zero grads, loss, backward, p.data -= lr * p.grad for every parameter; returns the loss (float)."""
    ### BEGIN SOLUTION
    for p in model.parameters():
        p.grad = 0.0
    loss = squared_loss(model, X, y)
    loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return loss.data
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_train_step", "grade": true}
from coursecheck import check

check("test_train_step", MLP, squared_loss, train_step)
### BEGIN HIDDEN TESTS
check("test_train_step", MLP, squared_loss, train_step, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 8. Training on two moons
#
# Now your engine trains a classifier: two interleaved half-moons from scikit-learn, labels $\pm 1$,
# a network `MLP(2, [8, 1])` of your `Value`s (one hidden layer of 8 tanh neurons), squared loss, plain gradient descent on the whole
# (small) data set. The curve updates while it trains; then we colour the plane by the sign of the
# network's output to see the decision boundary it learned. Every step builds and walks a graph of
# a few thousand `Value`s in pure Python, so we keep the data set and the network small (a
# bigger one, e.g. `MLP(2, [16, 16, 1])` on 100 points, draws a cleaner boundary but takes minutes). One trick makes it several times faster: every `_backward` closure refers to
# its own output, a reference cycle, and Python's cyclic garbage collector keeps rescanning all
# the `Value`s alive while a graph is built; we pause it during training (`gc.disable()`) and
# turn it back on afterwards, when it frees the old graphs in one go.

# %%
import gc
import time

import matplotlib.pyplot as plt
from IPython.display import display
from sklearn.datasets import make_moons

from minigrad.viz import LiveTrainingCurve

random.seed(1)
X_moons, labels = make_moons(n_samples=30, noise=0.1, random_state=0)
y_moons = (2.0 * labels - 1.0).tolist()
X_list = X_moons.tolist()
model = MLP(2, [8, 1])
STEPS = 50
curve = LiveTrainingCurve(total=STEPS, title="your MLP on make_moons", xlabel="step",
                          metrics=["train_loss", "train_acc"])
display(curve.widget)
gc.disable()  # see above
start = time.perf_counter()
for step in range(1, STEPS + 1):
    loss_value = train_step(model, X_list, y_moons, lr=0.5)
    if step % 10 == 0:
        accuracy = np.mean([(model(x).data > 0) == (t > 0) for x, t in zip(X_list, y_moons)])
        curve.update(step, train_loss=loss_value, train_acc=accuracy)
    else:
        curve.update(step, train_loss=loss_value)
curve.close()
gc.enable()
print(f"{STEPS} steps in {time.perf_counter() - start:.1f} s, final loss {loss_value:.4f}, "
      f"accuracy {accuracy:.0%}")

# %%
grid = np.linspace(-1.6, 2.6, 28), np.linspace(-1.1, 1.6, 20)
xx, yy = np.meshgrid(*grid)
scores = np.array([model([float(u), float(v)]).data for u, v in zip(xx.ravel(), yy.ravel())]).reshape(xx.shape)
fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.contourf(xx, yy, scores > 0, alpha=0.3, cmap="coolwarm")
ax.scatter(X_moons[:, 0], X_moons[:, 1], c=labels, cmap="coolwarm", edgecolors="k", s=25)
ax.set_title("decision boundary of your MLP")
plt.show()

# %% [markdown]
# ## Summary
#
# * The chain rule multiplies local derivatives along a path; the forward pass caches the values
#   they need, the backward pass multiplies from the output back.
# * Gates know only their own local gradients: add distributes, multiply swaps, max routes.
# * Where a value forks into several uses, its gradient is the sum over the uses: `+=`, never `=`.
# * A `Value` engine records, for every operation, its inputs and a closure applying its local
#   rule; `backward()` runs those closures once each, in reverse topological order (found with an
#   explicit stack, not recursion). Leaf gradients accumulate across passes, as in PyTorch.
# * The same engine trains a network: zero the grads, compute the loss, backward, step.
#
# Next assignment: the same ideas for whole tensors at once, with shapes in every gradient.
