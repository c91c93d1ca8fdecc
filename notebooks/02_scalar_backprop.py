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
# and too inexact to pass. A demonstration cell that needs an exercise you have not answered yet
# says so in one line and lets Run All carry on.

# %% nbgrader={"grade_id": "setup", "locked": true}
import math

import numpy as np

# %%
# Demonstration cells say which exercise they need while it is not answered yet, and Run All
# carries on. (Graded code never uses this.)
from coursecheck import skip_if_unanswered

EXERCISES = {"local_gradients": 1, "staged_example": 2, "scalar_net": 3, "Value": 4,
             "topological_order": 5, "backward": 5, "Neuron": 6, "Layer": 6, "MLP": 6,
             "train_step": 7}

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
# holds only with the sine in *degrees* (and even then only roughly: $89.93$ is not $90$). In
# radians, which is what every library uses, $\sin(89.93)$ is about $0.92$, so $f \approx 2.16$, and
# the slope is far from flat: $\mathrm{d}f/\mathrm{d}x \approx -80.39$. The cell runs the same
# backward pass as above in both units (in degrees, $\sin$ has the derivative
# $\cos \cdot \pi/180$) and checks the radian slope with a central difference.

# %%
x_lecture = -4.499
b_lecture = math.exp(-x_lecture)
for unit, to_angle, angle_slope in [("degrees", math.radians, math.pi / 180), ("radians", float, 1.0)]:
    c_unit = math.sin(to_angle(b_lecture))
    slope = (-2.0 / c_unit ** 2) * math.cos(to_angle(b_lecture)) * angle_slope * b_lecture * -1.0
    print(f"in {unit:>7}: f(-4.499) = {2 / c_unit:.6f}, df/dx(-4.499) = {slope:.4f}")
h = 1e-6
f_lecture = lambda v: 2 / math.sin(math.exp(-v))  # noqa: E731
print(f"central difference in radians: {(f_lecture(x_lecture + h) - f_lecture(x_lecture - h)) / (2 * h):.4f}")

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
# Add and multiply you have just seen at work. The other gates you will need, and where to start
# on each one's local gradient (you derive them in Exercise 1):
#
# | gate | output | start from |
# |---|---|---|
# | add | $x + y$ | done above: $1,\ 1$ |
# | multiply | $x y$ | done above: $y,\ x$ |
# | max | $\max(x, y)$ | the cases $x > y$ and $x < y$ separately: in each, the output *is* one of the inputs |
# | sigmoid | $s = \sigma(x) = 1/(1+e^{-x})$ | $(1+e^{-x})^{-1}$ and the chain rule; then write the result with $s$ alone |
# | tanh | $t = \tanh x = \sinh x/\cosh x$ | the quotient rule, $\sinh' = \cosh$, $\cosh' = \sinh$; then write it with $t$ alone |
# | exp | $e^{x}$ | the one function that is its own derivative |
# | power (constant $n$) | $x^n$ | the power rule; $n$ is a constant, not an input |
#
# Writing a local gradient with the gate's *output* (where that is possible) is what an engine
# wants: the forward pass has already computed the output, so the backward pass gets it for free.
#
# **Numbers to check your formulas against.** At $x = 0$: $\sigma(0) = 1/2$, and nudging the input
# from $0$ to $0.001$ moves $\sigma$ from $0.5$ to $0.50025$, a slope of about $1/4$; whatever your
# formula for $\sigma'$ is, written with $s$ it must give $1/4$ at $s = 1/2$. The same nudge moves
# $\tanh$ from $0$ to $0.001$: slope $1$ at $t = 0$. And $\max(2, -1) = 2$ does not change at all when
# $-1$ is nudged.
#
# **Ties.** At $x = y$, $\max$ has a kink and no derivative. Any split of the incoming gradient
# into $\alpha$ for $x$ and $1 - \alpha$ for $y$, with $0 \le \alpha \le 1$, is a valid
# *subgradient* there, and the grader accepts every one of them. Two are common: sending all of it
# to the first input ($x \ge y$ counts as "$x$ is larger"), a convention that is simple to code,
# and splitting it $1/2$, $1/2$, which is PyTorch's own rule for `torch.maximum` and `amax` (and
# what a difference quotient across the tie measures). Neither is a mistake; pick one.
#
# ### Exercise 1 (3 points): gates
#
# `local_gradients(op, x, y=None)` returns the gate's output followed by its local gradients:
# `(out, d_out/dx, d_out/dy)` for the two-input gates `"add"`, `"mul"`, `"max"`, and `(out, d_out/dx)`
# for `"sigmoid"`, `"tanh"`, `"exp"` and for `"pow"`, where `y` is the constant exponent $n$ (not an
# input, so it has no gradient). Plain floats in, plain floats out.
#
# <details><summary>Hint 1</summary>
#
# Do each derivative on paper first, with the "start from" column. For max, ask: if $x > y$ and
# you nudge $x$ a little, how much does the output move? And if you nudge $y$? Then the same for
# $x < y$. For sigmoid and tanh, your first result will contain $e^{-x}$ or $\cosh x$; keep going
# until only $s$ (or $t$) appears.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Sigmoid: $\frac{d}{dx}(1+e^{-x})^{-1} = \frac{e^{-x}}{(1+e^{-x})^2}$. Split it into the product
# $\frac{1}{1+e^{-x}} \cdot \frac{e^{-x}}{1+e^{-x}}$: the first factor is $s$; add and subtract $1$
# in the second one's numerator to write it with $s$. Tanh: the quotient rule gives
# $(\cosh^2 x - \sinh^2 x)/\cosh^2 x$; divide each term by $\cosh^2 x$. For `"sigmoid"`, large
# negative $x$ overflows `math.exp(-x)`: for $x < 0$ compute $s$ as $e^{x}/(1+e^{x})$ instead.
#
# </details>

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
# **Check your derivation.** The local gradients, each written with the output where it helps:
#
# | gate | output | local gradients |
# |---|---|---|
# | add | $x + y$ | $1,\ 1$: distributes the gradient unchanged |
# | multiply | $x y$ | $y,\ x$: swaps the inputs |
# | max | $\max(x, y)$ | $1, 0$ if $x > y$; $0, 1$ if $x < y$; at a tie any $\alpha, 1-\alpha$: routes the gradient |
# | sigmoid | $s = \sigma(x)$ | $s(1 - s)$ |
# | tanh | $t = \tanh x$ | $1 - t^2$ |
# | exp | $e = e^{x}$ | $e$ |
# | power (constant $n$) | $x^n$ | $n x^{n-1}$ |
#
# The sigmoid's in full: $\sigma'(x) = \frac{e^{-x}}{(1+e^{-x})^2} = \frac{1}{1+e^{-x}}\cdot
# \frac{(1+e^{-x}) - 1}{1+e^{-x}} = \sigma(x)\,(1-\sigma(x))$; at $x = 0$ that is $\tfrac12\cdot\tfrac12 =
# \tfrac14$, the slope measured above. (The lecture's pseudocode writes `sigmoid(k) * sigmoid(1 - k)`:
# a different, wrong number, because $1 - \sigma(k)$ is not $\sigma(1 - k)$. At $k = 0$ it gives
# $0.5 \cdot 0.73 \approx 0.37$ instead of $0.25$.) Tanh: $\frac{\cosh^2 - \sinh^2}{\cosh^2} = 1 - \tanh^2$,
# which is $1$ at $t = 0$. Max: where $x > y$ the output is $x$ itself, slope $1$, and nudging $y$
# changes nothing, slope $0$; mirrored for $x < y$.
#
# Your gates, chained by hand: first the circuit $(x + y) z$, then the lecture's sigmoid neuron
# $f = \sigma(w_0 x_0 + w_1 x_1 + w_2)$ with $w = [2, -3, -3]$ and $x = [-1, -2]$. Grouping the
# whole sigmoid into one gate is allowed because the chain rule does not care how we cut the
# computation into pieces, as long as we know each piece's local derivative; one sigmoid gate is
# simply cheaper than its four parts ($\cdot(-1)$, $\exp$, $+1$, $1/x$). Expected: $f = -12$ with
# gradients $(-4, -4, 3)$, and $f \approx 0.7311$, $\mathrm{d}w \approx (-0.197, -0.393, 0.197)$,
# $\mathrm{d}x \approx (0.393, -0.590)$.

# %%
with skip_if_unanswered(EXERCISES):
    q, dq_dx, dq_dy = local_gradients("add", -2.0, 5.0)
    f, df_dq, df_dz = local_gradients("mul", q, -4.0)
    print("circuit:", f, [df_dq * dq_dx, df_dq * dq_dy, df_dz])

    w, xs = [2.0, -3.0, -3.0], [-1.0, -2.0]
    dot = w[0] * xs[0] + w[1] * xs[1] + w[2]
    f, ddot = local_gradients("sigmoid", dot)
    print(f"neuron: f = {f:.4f}, dw = {[round(v * ddot, 3) for v in (xs[0], xs[1], 1.0)]}, "
          f"dx = {[round(v * ddot, 3) for v in w[:2]]}")

# %% [markdown]
# **The multiply gate and the scale of the data.** A multiply gate hands each input the *other*
# input's value (times the gradient arriving from above). So if one input is huge and the other
# small, the small one receives a huge gradient and the large one a small gradient. In a neuron,
# the weights are multiplied by the data: scale every input by 1000 during preprocessing and the
# gradient on every weight grows by 1000, while the gradient on the inputs does not change at
# all. A learning rate that worked before now takes steps 1000 times too long. The experiment
# below measures this with nudges (no formula used), on the score $w_0 x_0 + w_1 x_1$ with the
# lecture's $w = (2, -3)$ and $x = (-1, -2)$.

# %%
def score(w, x):
    return w[0] * x[0] + w[1] * x[1]


w_scale, nudge = [2.0, -3.0], 1e-6
for factor in (1.0, 1000.0):
    x_scaled = [-1.0 * factor, -2.0 * factor]
    base = score(w_scale, x_scaled)
    slope_w0 = (score([w_scale[0] + nudge, w_scale[1]], x_scaled) - base) / nudge
    slope_x0 = (score(w_scale, [x_scaled[0] + nudge, x_scaled[1]]) - base) / nudge
    print(f"inputs x {factor:>6g}: d score/d w0 = {slope_w0:9.2f}, d score/d x0 = {slope_x0:5.2f}, "
          f"one step of lr 0.01 moves w0 by {0.01 * slope_w0:+.2f}")

# %% [markdown]
# ### Question 1 (1 point): what a multiply gate does to the gradient
#
# A multiply gate computes $q = a \cdot b$ with $a = 1000$ and $b = 0.001$, and the gradient $g$
# arrives at $q$ from above. What does backprop send to $a$ and to $b$?
#
# * **(a)** $g$ to both, unchanged.
# * **(b)** $0.001\,g$ to $a$ and $1000\,g$ to $b$.
# * **(c)** $1000\,g$ to $a$ and $0.001\,g$ to $b$.
# * **(d)** $g/2$ to each, because the gate has two inputs.
#
# Make `choice_multiply_gate` return your letter, e.g. `return "a"`. The test cell only checks that
# you returned one of the letters; whether it is the right one is decided when your notebook is
# graded. (Think about what this means for an input whose scale is much larger than the other's.)

# %% nbgrader={"grade_id": "choice_multiply_gate", "solution": true}
def choice_multiply_gate():
    """Your answer to question 1: one of "a", "b", "c", "d"."""
    ### BEGIN SOLUTION
    return "b"
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_choice_multiply_gate", "grade": true}
from coursecheck import check

check("test_choice_multiply_gate", choice_multiply_gate)
### BEGIN HIDDEN TESTS
check("test_choice_multiply_gate", choice_multiply_gate, hidden=True)
### END HIDDEN TESTS

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
#
# <details><summary>Hint 1</summary>
#
# Start the backward pass with `df = 1.0` and go through the steps from (8) down to (1), one line
# per input of each step: "gradient of the input = local gradient times gradient of the step's
# output". Before writing a line for `x` or `y`, check whether an earlier line already gave it a
# value.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Step (6) is an add gate: `dsigx` and `dxpysqr` both get `dden`. Step (5): `dxpy = 2 * xpy *
# dxpysqr`. Step (4) is where the forks meet: `dx = dxpy` and `dy = dxpy`, and then steps (3), (2)
# and (1) *add* their contributions, e.g. `dx += sigx * (1 - sigx) * dsigx`.
#
# </details>

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

# %% [markdown]
# **Check your derivation.** Steps (8) to (1) reversed, with `df = 1`:
#
# ```
# dnum = invden * df                dinvden = num * df                       # (8) multiply: swap
# dden = (-1 / den**2) * dinvden                                             # (7) 1/v
# dsigx = dden                      dxpysqr = dden                           # (6) add: distribute
# dxpy = 2 * xpy * dxpysqr                                                   # (5) square
# dx = dxpy                         dy = dxpy                                # (4) add (first uses)
# dx += sigx * (1 - sigx) * dsigx                                            # (3) sigmoid, fork on x
# dx += dnum                        dsigy = dnum                             # (2) add, fork on x
# dy += sigy * (1 - sigy) * dsigy                                            # (1) sigmoid, fork on y
# ```
#
# Every line multiplies one local gradient from the gates table by the gradient of the step's
# output, and every forward variable it reads was kept from the forward pass.

# %%
with skip_if_unanswered(EXERCISES):
    f, dfdx, dfdy = staged_example(3.0, -4.0)
    print(f"f(3, -4) = {f:.4f}, df/dx = {dfdx:.4f}, df/dy = {dfdy:.4f}")

# %% [markdown]
# ### Question 2 (1 point, graded by hand): why gradients add at a fork
#
# In the staged example, $x$ and $y$ reach the output along more than one path, and the backward
# pass *adds* (`+=`) each path's contribution into `dx` and `dy`. In two or three sentences: why add,
# rather than keep the last contribution or average them? Check your reasoning on $f(x) = x \cdot x$,
# a multiply gate whose two inputs are the same $x$.

# %% [markdown] nbgrader={"grade_id": "why_add_at_fork", "solution": true, "grade": true, "points": 1}
# A variable used in several places changes the output through every one of them, and the
# multivariate chain rule says the total derivative is the sum of the derivatives along all paths.
# Each use is a separate branch whose gate sends back its own contribution, so they must be added.
# For $f = x \cdot x$ the multiply gate sends $x$ to each of its two inputs; adding gives $2x$, the
# right derivative, while keeping one gives $x$ and averaging gives $x$ as well (half of it).

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
# Each of the six steps is one gate from the table, and the net has no fork: the backward pass is
# a single chain, from $\delta Y_p = \partial L/\partial Y_p$ down to $\delta Z_1$, with the four
# parameters branching off on the way. A check by hand: with $X = 2$, $Y = 1$, $W_1 = 0.5$,
# $b_1 = -1$, $W_2 = 3$, $b_2 = 0.5$ the forward pass gives $Z_1 = 1$, $Z_2 = 0$, $Z_3 = 1/2$,
# $Z_4 = 1.5$, $Y_p = 2$ and $L = 1/2$, and the gradients must come out as
# $(\delta W_1, \delta b_1, \delta W_2, \delta b_2) = (1.5, 0.75, 0.5, 1)$.
#
# ### Exercise 3 (4 points): the scalar net by deltas
#
# `scalar_net(X, Y, W1, b1, W2, b2)` returns `(L, dW1, db1, dW2, db2)` as floats.
#
# <details><summary>Hint 1</summary>
#
# Write the six forward steps, then go through them in reverse. The loss is a square gate,
# $\tfrac12 u^2$ with $u = Y_p - Y$, so $\delta Y_p$ is simple; each add gate passes its gradient on
# unchanged to both inputs; each multiply gate swaps. In the check case $\delta Y_p = 1$ and the
# gradient arriving at $Z_3$ is $3$.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The key step is the sigmoid gate between $Z_2$ and $Z_3$: its local gradient, written with its
# output, is $Z_3(1 - Z_3)$, a value you kept from the forward pass. In the check case that is
# $1/4$, so $\delta Z_2 = 0.75$. From there both multiply gates give a parameter's gradient as
# "the other input times the delta at the gate's output".
#
# </details>

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
# **Check your derivation.** Backward through the six steps:
#
# $$\delta Y_p = Y_p - Y,\quad \delta Z_4 = \delta b_2 = \delta Y_p,\quad
#   \delta Z_3 = W_2\,\delta Z_4,\quad \delta W_2 = Z_3\,\delta Z_4,$$
# $$\delta Z_2 = Z_3(1 - Z_3)\,\delta Z_3,\quad \delta Z_1 = \delta b_1 = \delta Z_2,\quad
#   \delta W_1 = X\,\delta Z_1 .$$
#
# In the check case: $\delta Y_p = 1$, $\delta b_2 = 1$, $\delta W_2 = 0.5$, $\delta Z_3 = 3$,
# $\delta Z_2 = \tfrac14\cdot 3 = 0.75 = \delta b_1$, $\delta W_1 = 2\cdot 0.75 = 1.5$. These are the
# general delta rule of this section, with one neuron per layer: $\delta Z_2 = g'(Z_2)\,W_2\,\delta Y_p$,
# and a weight's gradient is the delta at its output times the value it multiplies.
#
# One gradient step with these gradients should lower the loss (learning rate 0.5):

# %%
with skip_if_unanswered(EXERCISES):
    L, *grads = scalar_net(2.0, 1.0, 0.5, -1.0, 3.0, 0.5)
    stepped = [p - 0.5 * g for p, g in zip((0.5, -1.0, 3.0, 0.5), grads)]
    print(f"L = {L}, gradients = {grads}, loss after one step = {scalar_net(2.0, 1.0, *stepped)[0]:.4f}")

# %% [markdown]
# ### Which way does each weight move?
#
# The signs of the gradients carry the intuition. Take the lecture's picture: a network whose
# output $y = \sum_i v_i h_i$ came out at $10$ where the target was $t = 0$, with the loss
# $(y - t)^2$. If $y$ were a parameter, gradient descent would lower it, since
# $\partial L/\partial y = 2(y - t) = 20 > 0$ (had the output been $0$ and the target $10$, the loss
# would be the same but the gradient $-20$, and $y$ would go up). We cannot set $y$, so the
# gradient travels to what made it: $\partial L/\partial v_i = 20\, h_i$. The current value of
# $v_i$ plays no part; what counts is how much its source $h_i$ contributed. With sigmoid
# activations $h = (0.1, 0.5, 0.9)$ every $v_i$ goes down, $v_3$ the most. With a tanh unit whose
# output is negative, $h_2 = -0.5$, the product $v_2 h_2$ pulls $y$ *down* the more $v_2$ grows, so
# $v_2$ goes up, whatever its own sign. One layer further, say $v_2 = -1$ and the input $x_1 = -1$
# feeds $h_2 = \tanh(k_2)$ through the weight $w_{12}$: lowering $y$ needs a larger $h_2$ (because
# $v_2 < 0$), a larger $h_2$ needs a smaller $w_{12}$ (because $x_1 < 0$), and the chain rule gets
# there by itself: the two negative factors cancel.

# %%
y_out, target = 10.0, 0.0
dy_out = 2 * (y_out - target)                    # L = (y - t)^2
for h_hidden in ([0.1, 0.5, 0.9], [0.1, -0.5, 0.9]):
    dv = [dy_out * h_i for h_i in h_hidden]
    print(f"h = {h_hidden}: dL/dv = {dv} -> v moves {['down' if g > 0 else 'up' for g in dv]}")
v_2, x_1, h_2 = -1.0, -1.0, -0.5
dk_2 = dy_out * v_2 * (1 - h_2 ** 2)             # through v_2, then tanh's local gradient 1 - h^2
dw_12 = dk_2 * x_1
print(f"dL/dh2 = {dy_out * v_2:+.1f} (h2 should go up), dL/dw12 = {dw_12:+.1f} "
      f"-> w12 moves {'down' if dw_12 > 0 else 'up'}")

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
# A small case to work by hand: `a, b = Value(2.0), Value(3.0)`, `s = a + b`, `f = s * a`. Here `f`
# depends on `s` and `a`, and `s` on `a` and `b`, so `[a, b, s, f]` and `[b, a, s, f]` are
# topological orders, while `[a, s, b, f]` is not (`s` before its input `b`), and neither is a
# list with `a` twice. Reversed, `[f, s, b, a]` lets `f` push $\partial f/\partial s = a = 2$ and
# $\partial f/\partial a = s = 5$ first; `s` then adds $2$ to `a` and gives $2$ to `b`: `a.grad` $= 7$,
# `b.grad` $= 2$.
#
# Two traps. First, the obvious recursive depth-first search fails on deep graphs: Python allows
# about 1,000 nested calls, and a network unrolled over a long sequence is easily 10,000 nodes
# deep. Your search must run in a loop that manages its own stack (a Python list), not in a
# function that calls itself. Second, do not run `_backward` "once per path" by calling it
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
# ### Exercise 5 (5 points): topological order and backward
#
# `topological_order(root)` returns a list of every `Value` that `root` depends on (including
# `root`, which comes last), each exactly once and after all of its inputs, without recursion.
# `backward(self)` uses it as described above; the cell attaches it to your class.
#
# <details><summary>Hint 1</summary>
#
# Write the recursive version on paper first: `visit(node)` returns at once if `node` was seen;
# otherwise it marks `node` as seen, calls `visit` on every input, and only then appends `node`.
# Each call has two moments that matter: arriving at a node, and coming back to it after all its
# inputs are done. A loop can remember both if every item on its stack says which of the two
# moments it stands for. Mark nodes by `id(node)` in a set (your `Value` need not be hashable).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Push `(root, False)`. In the loop, pop an item. If it is `(node, True)`, every input of `node` is
# already in the list: append `node`. If it is `(node, False)` and `node` is not yet marked: mark
# it, push `(node, True)`, and then push `(p, False)` for every input `p`; they are popped, and so
# finished, before `(node, True)` comes back up. An already marked node is skipped.
#
# </details>

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
# **Check your derivation.** The explicit-stack search: push `(root, False)`; pop; a `(node, True)`
# is appended to the order; a `(node, False)` whose node is not marked yet gets marked and pushes
# `(node, True)` and then `(input, False)` for each of its inputs. Because the stack is last in,
# first out, everything pushed after `(node, True)`, that is every input and, in turn, its inputs,
# is finished and appended before `node` is. The marks make every node appear once, however many
# paths lead to it, so the work grows with the number of nodes and edges, not of paths. `backward`
# then resets the `grad` of every non-leaf to 0, sets the root's to 1 and calls `_backward` on the
# order reversed: by the time a node's turn comes, every user of it has pushed its share.
#
# Your engine on the lecture's examples, and a drawing of the graph it built for the staged
# example: boxes are `Value`s (data and grad), ellipses the operations. `draw_graph` only reads
# `data`, `grad`, `_prev` and `_op`, so it draws your class as well as minigrad's.

# %%
from IPython.display import display

from minigrad.viz import draw_graph

with skip_if_unanswered(EXERCISES):
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
    display(draw_graph(f))

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
# Now your engine trains a classifier: 60 points of two interleaved half-moons from scikit-learn,
# labels $\pm 1$, each coordinate standardised (mean 0, standard deviation 1, so that no input
# dominates the first steps), a network `MLP(2, [8, 1])` of your `Value`s (one hidden layer of 8
# tanh neurons), squared loss, plain gradient descent on the whole (small) data set. The curve
# updates while it trains: a straight boundary gets about 85% of the points within a few steps,
# and the rest, where the moons interlock, take the network a hundred more steps to bend around. Then we colour the plane by the sign of the
# network's output to see the decision boundary it learned (in the same cell, so that it is
# skipped together with the training while Exercises 6 and 7 are unanswered). Every step builds and walks a graph of
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
X_moons, labels = make_moons(n_samples=60, noise=0.1, random_state=0)
mean, std = X_moons.mean(axis=0), X_moons.std(axis=0)
y_moons = (2.0 * labels - 1.0).tolist()
X_list = ((X_moons - mean) / std).tolist()  # the network sees standardised inputs
STEPS = 150
ACCURACY_EVERY = 5  # the accuracy costs a forward pass over the data; the loss comes with the step


def accuracy_of(model):
    return np.mean([(model(x).data > 0) == (t > 0) for x, t in zip(X_list, y_moons)])


with skip_if_unanswered(EXERCISES):
    model = MLP(2, [8, 1])
    curve = LiveTrainingCurve(total=STEPS, title="your MLP on make_moons", xlabel="step",
                              metrics=["train_loss", "train_acc"])
    display(curve.widget)
    gc.disable()  # see above
    try:
        start = time.perf_counter()
        curve.update(0, train_acc=accuracy_of(model))  # where the untrained network starts
        for step in range(1, STEPS + 1):
            loss_value = train_step(model, X_list, y_moons, lr=0.5)
            if step % ACCURACY_EVERY == 0:
                accuracy = accuracy_of(model)
                curve.update(step, train_loss=loss_value, train_acc=accuracy)
            else:
                curve.update(step, train_loss=loss_value)
        curve.close()
    finally:
        gc.enable()
    print(f"{STEPS} steps in {time.perf_counter() - start:.1f} s, final loss {loss_value:.4f}, "
          f"accuracy {accuracy:.0%}")

    # the score on a grid fine enough for a smooth boundary (contour interpolates between points),
    # drawn in the original coordinates
    grid = np.linspace(-1.6, 2.6, 56), np.linspace(-1.1, 1.6, 36)
    xx, yy = np.meshgrid(*grid)
    points = (np.column_stack([xx.ravel(), yy.ravel()]) - mean) / std
    scores = np.array([model(point).data for point in points.tolist()]).reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    # one colour per side, the classes' colours (a colormap cannot place the infinite levels)
    sides = [plt.get_cmap("coolwarm")(0.0), plt.get_cmap("coolwarm")(1.0)]
    ax.contourf(xx, yy, scores, levels=[-np.inf, 0.0, np.inf], colors=sides, alpha=0.25)
    ax.contour(xx, yy, scores, levels=[0.0], colors="k", linewidths=1)
    ax.scatter(X_moons[:, 0], X_moons[:, 1], c=labels, cmap="coolwarm", edgecolors="k", s=25)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("decision boundary of your MLP (black line: score 0)")
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
