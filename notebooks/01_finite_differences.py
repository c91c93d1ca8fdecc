# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 01 — Finite differences
#
# Training a network means walking downhill on its loss $L(\boldsymbol\theta)$, and for that we
# need the gradient
#
# $$\nabla L(\boldsymbol\theta) = \left[\frac{\partial L}{\partial \theta_1}, \dots, \frac{\partial L}{\partial \theta_n}\right]^\top .$$
#
# Before we learn how backpropagation computes it, this notebook builds the simplest possible
# estimate: nudge one parameter, watch how much the loss moves, divide. You will see how accurate
# that estimate can be, why it is far too slow to train with, and why every deep-learning library
# still uses it to test its backpropagation code.
#
# **How this notebook is graded.** Each exercise gives you a function whose body reads
# `# YOUR CODE HERE` and `raise NotImplementedError()`: replace those two lines with your code, in
# that cell (the *answer cell*). The test cell below each one runs a few visible
# checks so that you can see whether you are on track and, if not, what is wrong. When grading,
# more and larger hidden tests are run on inputs drawn at grading time. The grader runs only the
# read-only setup cells and your answer cells, in order, so an answer cell must not rely on
# variables from the demonstration cells. Use NumPy only: `torch` and `minigrad` are not
# available to graded code in this assignment.
#
# **Run All works on an unfinished notebook.** A test cell whose check fails (or whose exercise
# is not answered yet) prints what is wrong, on a red background, and Run All carries on with the
# next cell; a demonstration cell that needs an unanswered exercise says so and carries on too.
# So you can run the whole notebook at any time: the plots and widgets run, and each test cell
# tells you where you stand. A failing check shows the inputs it used, the value it expected, the
# value your code returned and, when it recognises it, the mistake. Passing the visible checks is
# a good sign, not a grade: the grade comes from the hidden tests.

# %% nbgrader={"grade_id": "setup", "locked": true}
import numpy as np

# %% [markdown]
# ## 1. The derivative as a limit
#
# The derivative of $f$ at $x$ is the slope of the secant through $(x, f(x))$ and
# $(x+h, f(x+h))$ as the second point slides onto the first:
#
# $$f'(x) = \lim_{h \to 0} \frac{f(x+h) - f(x)}{h}.$$
#
# A computer cannot take the limit, but it can pick a small $h$ and evaluate the fraction. That
# needs nothing but the ability to evaluate $f$: no formula for $f'$, no symbolic algebra.
#
# Take the function from the lecture notes, $f(x) = 2 / \sin(e^{-x})$. By the chain rule (with
# $u = e^{-x}$),
#
# $$f'(x) = \frac{-2\cos u}{\sin^2 u}\cdot\left(-e^{-x}\right) = \frac{2\,e^{-x}\cos(e^{-x})}{\sin^2(e^{-x})}.$$
#
# Let us watch the secant slope approach it at $x = 1$.

# %%
def f_lecture(x):
    return 2.0 / np.sin(np.exp(-x))


def df_lecture(x):
    u = np.exp(-x)
    return 2.0 * u * np.cos(u) / np.sin(u) ** 2


x0 = 1.0
print(f"exact f'(1) = {df_lecture(x0):.15f}")
for k in range(1, 15):
    h = 10.0 ** -k
    slope = (f_lecture(x0 + h) - f_lecture(x0)) / h
    print(f"h = 1e-{k:02d}   secant slope = {slope:.15f}   error = {abs(slope - df_lecture(x0)):.1e}")

# %% [markdown]
# The error first shrinks in proportion to $h$, reaches about $10^{-8}$ near $h = 10^{-8}$, and
# then *grows* again. Both effects are the subject of section 3. First, the three standard ways to
# place the two points.
#
# ## 2. Forward, backward and central differences
#
# With a step $h > 0$ we can look ahead, look behind, or straddle $x$ symmetrically. Following the
# lecture, the central difference puts its two points half a step on either side, so that they are
# $h$ apart just like the other two:
#
# | name | formula | error |
# |---|---|---|
# | forward | $\dfrac{f(x+h) - f(x)}{h}$ | $O(h)$ |
# | backward | $\dfrac{f(x) - f(x-h)}{h}$ | $O(h)$ |
# | central | $\dfrac{f(x+h/2) - f(x-h/2)}{h}$ | $O(h^2)$ |
#
# The error orders come from Taylor's theorem. Expanding around $x$,
#
# $$f(x+h) = f(x) + h f'(x) + \tfrac{h^2}{2} f''(x) + O(h^3),$$
#
# so the forward quotient equals $f'(x) + \tfrac{h}{2} f''(x) + O(h^2)$: its error is
# proportional to $h$ (the backward one likewise, with the opposite sign). For the central
# quotient, expand both points:
#
# $$f(x \pm h/2) = f(x) \pm \tfrac{h}{2} f'(x) + \tfrac{h^2}{8} f''(x) \pm \tfrac{h^3}{48} f'''(x) + O(h^4).$$
#
# In the difference the even terms cancel, leaving $h f'(x) + \tfrac{h^3}{24} f'''(x)$. Dividing by
# $h$: the central quotient is $f'(x) + \tfrac{h^2}{24} f'''(x) + \dots$, an error of order $h^2$.
# Halving $h$ halves the forward error but quarters the central one.
#
# ### Exercise 1 (6 points): the three difference quotients
#
# Each function takes a function `f` of one float, a point `x` and a step `h`, and returns the
# quotient as a float. Use exactly the formulas in the table (the central difference evaluates
# `f` at `x + h/2` and `x - h/2`).

# %% nbgrader={"grade_id": "forward_difference", "solution": true}
def forward_difference(f, x, h):
    """(f(x + h) - f(x)) / h for a function f of one float."""
    ### BEGIN SOLUTION
    return (f(x + h) - f(x)) / h
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_forward_difference", "grade": true}
from coursecheck import check

check("test_forward_difference", forward_difference)
### BEGIN HIDDEN TESTS
check("test_forward_difference", forward_difference, hidden=True)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "backward_difference", "solution": true}
def backward_difference(f, x, h):
    """(f(x) - f(x - h)) / h for a function f of one float."""
    ### BEGIN SOLUTION
    return (f(x) - f(x - h)) / h
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_backward_difference", "grade": true}
from coursecheck import check

check("test_backward_difference", backward_difference)
### BEGIN HIDDEN TESTS
check("test_backward_difference", backward_difference, hidden=True)
### END HIDDEN TESTS

# %% nbgrader={"grade_id": "central_difference", "solution": true}
def central_difference(f, x, h):
    """(f(x + h/2) - f(x - h/2)) / h for a function f of one float."""
    ### BEGIN SOLUTION
    return (f(x + h / 2) - f(x - h / 2)) / h
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_central_difference", "grade": true}
from coursecheck import check

check("test_central_difference", central_difference)
### BEGIN HIDDEN TESTS
check("test_central_difference", central_difference, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Truncation error against round-off error
#
# Two different errors pull in opposite directions as $h$ shrinks.
#
# * **Truncation error** is what the Taylor expansion left out: about $\tfrac{h}{2}|f''|$ for the
#   one-sided quotients and $\tfrac{h^2}{24}|f'''|$ for the central one. It shrinks with $h$.
# * **Round-off error** comes from floating point. Each value of $f$ is stored with a relative
#   error of about $\varepsilon \approx 2.2\times 10^{-16}$ (float64). Subtracting two nearly equal
#   values keeps that absolute error, about $\varepsilon |f|$, and dividing by $h$ magnifies it to
#   about $\varepsilon |f| / h$. It grows as $h$ shrinks.
#
# The total is smallest where the two balance. For the forward difference,
# $h/2 \approx \varepsilon / h$ gives $h \approx \sqrt{\varepsilon} \approx 10^{-8}$ and a best error
# around $10^{-8}$; for the central difference, $h^2 \approx \varepsilon / h$ gives
# $h \approx \varepsilon^{1/3} \approx 10^{-5}$ and a best error around $10^{-10}$ to $10^{-11}$.
# On a log-log plot each error is a straight line: slope $+1$ or $+2$ on the right (truncation),
# slope $-1$ on the left (round-off). The plot below uses *your* three functions.

# %%
import matplotlib.pyplot as plt

from minigrad.viz import QUOTIENT_LEGEND, QUOTIENT_STYLES  # the same looks as the explorer below

steps = np.logspace(-15, -1, 141)
exact = df_lecture(x0)
fig, ax = plt.subplots(figsize=(6.5, 4))
for name, quotient in [("forward", forward_difference), ("backward", backward_difference),
                       ("central", central_difference)]:
    try:
        errors = [abs(quotient(f_lecture, x0, h) - exact) for h in steps]
    except NotImplementedError:
        print(f"{name}_difference is not answered yet: its curve is left out.")
        continue
    ax.loglog(steps, np.maximum(errors, 1e-17), label=name, **QUOTIENT_STYLES[name])
ax.loglog(steps, 2.2e-16 * abs(f_lecture(x0)) / steps, "k:", label=r"round-off $\varepsilon|f|/h$")
ax.set_xlabel("step h")
ax.set_ylabel("|error| at x = 1")
ax.set_ylim(1e-13, 1e2)
ax.legend(loc=QUOTIENT_LEGEND)
ax.set_title(r"$f(x) = 2/\sin(e^{-x})$")
plt.show()

# %% [markdown]
# Drag the slider to move $h$ along the same curves. The widget computes its own quotients, so it
# works before you have finished exercise 1; its central difference uses the points $x \pm h$ and
# divides by $2h$, which is our formula with a step of $2h$ (the same curve, shifted by a factor 2
# in $h$). Where does the central difference stop improving? What happens to all three below
# $h = 10^{-15}$?

# %%
from minigrad.viz import finite_difference_explorer

finite_difference_explorer(f_lecture, df_lecture, x0)

# %% [markdown]
# ### Question 1 (1 point): why is the central difference more accurate?
#
# At the same step $h$, the error of the central difference shrinks like $h^2$ and that of the
# forward difference like $h$. Which statement explains why?
#
# * **(a)** The central difference evaluates $f$ more often than the forward difference does.
# * **(b)** Its two points sit symmetrically around $x$, so the terms in $h^2 f''(x)$ of their two
#   Taylor expansions are equal and cancel when one is subtracted from the other.
# * **(c)** It divides by $h$ rather than by $2h$, which makes its round-off error smaller.
# * **(d)** It is exact for every polynomial, and a smooth function is close to a polynomial.
#
# Make `choice_central` return your letter, e.g. `return "a"`. The test cell only checks that you
# returned one of the letters; whether it is the right one is decided when your notebook is graded.

# %% nbgrader={"grade_id": "choice_central", "solution": true}
def choice_central():
    """Your answer to question 1: one of "a", "b", "c", "d"."""
    ### BEGIN SOLUTION
    return "b"
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_choice_central", "grade": true}
from coursecheck import check

check("test_choice_central", choice_central)
### BEGIN HIDDEN TESTS
check("test_choice_central", choice_central, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. The gradient: one coordinate at a time
#
# For a function of many variables, $f(\mathbf{x})$ with $\mathbf{x} \in \mathbb{R}^n$, each partial
# derivative is an ordinary derivative along one axis. With $\mathbf{e}_i$ the vector that is 1 in
# entry $i$ and 0 elsewhere,
#
# $$\nabla f(\mathbf{x})_i \approx \frac{f\!\left(\mathbf{x} + \tfrac{h}{2}\mathbf{e}_i\right) - f\!\left(\mathbf{x} - \tfrac{h}{2}\mathbf{e}_i\right)}{h}.$$
#
# In code, "$\mathbf{x} + \tfrac{h}{2}\mathbf{e}_i$" is simply: change entry $i$ of the array,
# evaluate, and change it back. Parameters of a network come as arrays of any shape (a weight
# matrix, a bias vector, a convolution kernel), so the function must work for every shape:
# `np.ndindex(x.shape)` walks through all index tuples of an array, whatever its number of axes.
#
# ### Exercise 2 (5 points): a numerical gradient for arrays of any shape
#
# `numerical_gradient(f, x, h)` takes a function `f` from an array to a float, and a float array
# `x` of any shape (including a 0-d array). Return an array shaped like `x` holding the central
# difference estimate of every partial derivative. When your function returns, `x` must hold
# exactly the values it had before, bit for bit: the caller may keep using it. (Save each entry
# before you change it and write the saved value back; adding and then subtracting $h/2$ does not
# always give back the same float.)

# %% nbgrader={"grade_id": "numerical_gradient", "solution": true}
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of f: array -> float at x (any shape); returns x.shape.

    x is perturbed in place one entry at a time and restored exactly."""
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h / 2
        f_plus = f(x)
        x[index] = saved - h / 2
        f_minus = f(x)
        x[index] = saved
        grad[index] = (f_plus - f_minus) / h
    return grad
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_numerical_gradient", "grade": true}
from coursecheck import check

check("test_numerical_gradient", numerical_gradient)
### BEGIN HIDDEN TESTS
check("test_numerical_gradient", numerical_gradient, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 5. The cost: why nobody trains with finite differences
#
# Each partial derivative costs two evaluations of $f$, so a gradient of $n$ parameters costs $2n$
# evaluations. For a network, one evaluation of the loss is a forward pass, whose cost itself grows
# with the number of parameters: the numerical gradient costs about $2n$ forward passes, or
# $O(n^2)$ work. Let us count and time it on a small one-hidden-layer network whose width we vary.

# %%
import time


def count_calls(f):
    """Wrap f so that wrapped.calls counts how often it was evaluated."""
    def wrapped(x):
        wrapped.calls += 1
        return f(x)
    wrapped.calls = 0
    return wrapped


rng = np.random.default_rng(0)
D, K, N = 20, 5, 32
X_cost, Y_cost = rng.normal(size=(N, D)), rng.normal(size=(N, K))
sizes, seconds, forward_seconds = [], [], []
for H in [2, 4, 8, 16, 32]:
    shapes = [(H, D), (H,), (K, H), (K,)]
    n = sum(int(np.prod(s)) for s in shapes)
    theta = rng.normal(size=n) * 0.3

    def loss_of_vector(theta, H=H, shapes=shapes):
        parts, start = [], 0
        for s in shapes:
            size = int(np.prod(s))
            parts.append(theta[start:start + size].reshape(s))
            start += size
        W1, b1, W2, b2 = parts
        Z = np.maximum(X_cost @ W1.T + b1, 0.0)
        return 0.5 * np.sum((Z @ W2.T + b2 - Y_cost) ** 2) / N

    counted = count_calls(loss_of_vector)
    start = time.perf_counter()
    try:
        numerical_gradient(counted, theta)
    except NotImplementedError:
        print("numerical_gradient is not answered yet: come back to this cell once it is.")
        break
    seconds.append(time.perf_counter() - start)
    start = time.perf_counter()
    loss_of_vector(theta)
    forward_seconds.append(time.perf_counter() - start)
    sizes.append(n)
    print(f"n = {n:4d} parameters: {counted.calls:5d} evaluations, {seconds[-1] * 1e3:7.1f} ms")

if sizes:
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.loglog(sizes, seconds, "o-", label="numerical gradient")
    ax.loglog(sizes, forward_seconds, "s-", label="one forward pass")
    ax.set_xticks(sizes, labels=[str(n) for n in sizes])  # one label per network, none in between
    ax.minorticks_off()
    ax.set_xlabel("number of parameters n")
    ax.set_ylabel("seconds")
    ax.legend()
    plt.show()

# %% [markdown]
# The number of evaluations is exactly $2n$. At these tiny sizes one forward pass costs about the
# same whatever $n$ is (Python's overhead dominates), so the time grows in step with the $2n$
# evaluations; in a large network each forward pass also grows with $n$, and the total with
# $n^2$. Now scale up: a modest image classifier has
# $n = 10^6$ parameters, and one forward pass over a batch takes, say, 10 ms. A single numerical
# gradient then takes $2 \times 10^6 \times 10\,\text{ms} \approx 5.5$ hours, and training needs
# thousands of gradient steps. Backpropagation, which the next assignments build, computes the
# *exact* gradient for the price of roughly two or three forward passes, whatever $n$ is.

# %% [markdown]
# ### Question 2 (1 point, graded by hand): checking is fine, training is not
#
# One numerical gradient of the network above costs $2n$ evaluations of its loss. In two or three
# sentences: why is that cost acceptable when we *check* a gradient (the next section), but not
# when we *train*? Say what training computes the gradient with instead, and roughly what one
# gradient costs with it. Write your answer in the cell below.

# %% [markdown] nbgrader={"grade_id": "why_not_train_by_differences", "solution": true, "grade": true, "points": 1}
# A check runs once, on a small network or on a few coordinates (or one random direction), so
# $2n$ forward passes are affordable there. Training needs a fresh gradient at every one of
# thousands of steps, and with $n = 10^6$ parameters each numerical gradient is two million
# forward passes (hours). Backpropagation gives the exact gradient for about the cost of two or
# three forward passes, whatever $n$ is, and it has no truncation or round-off error from a step $h$.

# %% [markdown]
# ## 6. Why finite differences are still everywhere: gradient checking
#
# Backpropagation code is easy to get subtly wrong (a missing transpose, a forgotten factor, a
# sum over the wrong axis), and a wrong gradient often still makes the loss go down a little, so
# the bug hides. A finite-difference gradient is slow but computed in a completely independent
# way, which makes it the standard reference: compute both on a small example and compare them.
# Speed does not matter here because a check runs only when the gradient code changes, on a tiny
# network, and not at every training step.
#
# To compare two gradients $a$ (say, from backprop) and $b$ (finite differences) we use a relative
# error, so that the verdict does not depend on the scale of the loss:
#
# $$\text{rel}(a, b) = \frac{\max_i |a_i - b_i|}{\max\left(10^{-8},\ \max_i (|a_i| + |b_i|)\right)}.$$
#
# The floor $10^{-8}$ keeps it finite when both gradients are zero. (This is the same definition
# as `minigrad.gradcheck.rel_error`.) What values to expect, with the central difference and a
# step near its optimum:
#
# * **float64**: a correct gradient gives about $10^{-10}$ or less. Around $10^{-7}$ or more,
#   look closely; above $10^{-4}$ there is almost certainly a bug (a real mistake usually gives
#   something between $10^{-2}$ and $1$).
# * **float32**: $\varepsilon \approx 1.2 \times 10^{-7}$, so the best step is near
#   $\varepsilon^{1/3} \approx 5 \times 10^{-3}$ and even a correct gradient rarely gets below
#   $10^{-5}$; $10^{-4}$ to $10^{-3}$ is common, which is also what many bugs look like. Gradient
#   checks are therefore done in float64.
# * **kinks**: at a point where $f$ is not differentiable, such as ReLU at 0, the two evaluation
#   points can land on different sides of the kink and the estimate is meaningless. Check at
#   points where no pre-activation is within $h$ of a kink.
#
# ### Exercise 3 (4 points): a gradient checker
#
# Write `relative_error(a, b)` exactly as defined above (it returns a float; `a` and `b` have the
# same shape, possibly 0-d), and `gradient_check(f, grad_f, x, h)`, which returns the relative
# error between the gradient claimed by `grad_f(x)` and your `numerical_gradient(f, x, h)`.

# %% nbgrader={"grade_id": "gradient_check", "solution": true}
def relative_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)) for arrays a, b of the same shape; a float."""
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b))))
    ### END SOLUTION


def gradient_check(f, grad_f, x, h=1e-5):
    """Relative error between grad_f(x) and the numerical gradient of f at x; a float."""
    ### BEGIN SOLUTION
    claimed = grad_f(x)
    return relative_error(claimed, numerical_gradient(f, x, h))
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_gradient_check", "grade": true}
from coursecheck import check

check("test_gradient_check", relative_error, gradient_check)
### BEGIN HIDDEN TESTS
check("test_gradient_check", relative_error, gradient_check, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Your checker at work. First a correct hand-derived gradient, then two classic bugs, all in
# float64; then the same correct gradient in float32; then a ReLU evaluated right at its kink.

# %%
def soft_quadratic(x):
    return float(np.sum(np.log(1.0 + x ** 2)) + 0.5 * np.sum(x) ** 2)


def soft_quadratic_grad(x):
    return 2.0 * x / (1.0 + x ** 2) + np.sum(x)


try:
    x_check = np.random.default_rng(1).normal(size=(3, 3))
    print("correct  :", gradient_check(soft_quadratic, soft_quadratic_grad, x_check))
    doubled = lambda x: 2 * soft_quadratic_grad(x)
    print("doubled  :", gradient_check(soft_quadratic, doubled, x_check))
    print("transpose:", gradient_check(soft_quadratic, lambda x: soft_quadratic_grad(x).T, x_check))

    x32 = x_check.astype(np.float32)
    grad32 = soft_quadratic_grad(x32)
    soft_quadratic32 = lambda v: (np.float32(np.sum(np.log(np.float32(1) + v ** 2)))
                                  + np.float32(0.5) * np.sum(v) ** 2)
    numeric32 = numerical_gradient(soft_quadratic32, x32, h=5e-3)
    print("float32, correct gradient:", relative_error(grad32, numeric32))

    relu_sum = lambda v: float(np.sum(np.maximum(v, 0.0)))
    relu_grad = lambda v: (v > 0).astype(np.float64)
    at_kink = np.array([0.0, 1.0, -2.0])
    print("ReLU at its kink:", gradient_check(relu_sum, relu_grad, at_kink),
          " numerical:", numerical_gradient(relu_sum, at_kink.copy()))
except NotImplementedError:
    print("gradient_check, relative_error or numerical_gradient is not answered yet: this cell "
          "runs once they are.")

# %% [markdown]
# ## 7. A network's loss gradient by finite differences
#
# Now the real use case: the gradient of a network's loss with respect to all of its parameters.
# The read-only cell below defines the loss of a network with one hidden ReLU layer, in the
# lecture's notation: pre-activations $a_j = \sum_i w_{ji} x_i + b_j$, hidden outputs
# $z_j = g(a_j)$ with $g$ the ReLU, a linear output layer, and the loss
# $L = \tfrac12 (\hat y - y)^2$ averaged over the batch.

# %% nbgrader={"grade_id": "mlp_definition", "locked": true}
def mlp_loss(params, X, Y):
    """Mean over the batch of 0.5 * ||y_hat - y||^2 for a one-hidden-layer ReLU network.

    params: {"W1": (H, D), "b1": (H,), "W2": (K, H), "b2": (K,)}; X: (N, D); Y: (N, K).
    Returns a float."""
    A = X @ params["W1"].T + params["b1"]
    Z = np.maximum(A, 0.0)
    Y_hat = Z @ params["W2"].T + params["b2"]
    return float(0.5 * np.sum((Y_hat - Y) ** 2) / X.shape[0])

# %% [markdown]
# ### Exercise 4 (5 points): estimate the gradient of `mlp_loss`
#
# `mlp_numerical_gradients(params, X, Y, h)` returns a dict with the same keys as `params`, each
# value an array shaped like that parameter holding $\partial L / \partial \theta$ estimated by
# central differences: perturb one entry of one parameter array, evaluate `mlp_loss` on the whole
# `params` dict, restore the entry. When it returns, every parameter must hold exactly its
# original values. Make this cell self-contained (you may copy ideas from your
# `numerical_gradient`).

# %% nbgrader={"grade_id": "network_gradient", "solution": true}
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    """{name: dL/d params[name]} by central differences, each shaped like params[name]."""
    ### BEGIN SOLUTION
    grads = {}
    for name, array in params.items():
        grad = np.zeros(array.shape, dtype=np.float64)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + h / 2
            loss_plus = mlp_loss(params, X, Y)
            array[index] = saved - h / 2
            loss_minus = mlp_loss(params, X, Y)
            array[index] = saved
            grad[index] = (loss_plus - loss_minus) / h
        grads[name] = grad
    return grads
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_network_gradient", "grade": true}
from coursecheck import check

check("test_network_gradient", mlp_numerical_gradients)
### BEGIN HIDDEN TESTS
check("test_network_gradient", mlp_numerical_gradients, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The lecture's small example: one input $x = -1$ with target $y = 0.5$, two hidden ReLU units
# whose biases are $-0.5$, one linear output. One gradient-descent step with learning rate 0.1
# should lower the loss. Notice which gradient entries are exactly zero, and why (which hidden
# unit is switched off for this input?).

# %%
lecture_params = {"W1": np.array([[-1.0], [1.0]]), "b1": np.array([-0.5, -0.5]),
                  "W2": np.array([[0.8, -0.6]]), "b2": np.array([0.0])}
X_lecture, Y_lecture = np.array([[-1.0]]), np.array([[0.5]])

try:
    grads = mlp_numerical_gradients(lecture_params, X_lecture, Y_lecture)
except NotImplementedError:
    print("mlp_numerical_gradients is not answered yet: this cell runs once it is.")
else:
    for name, grad in grads.items():
        print(name, np.round(grad, 6).tolist())
    before = mlp_loss(lecture_params, X_lecture, Y_lecture)
    stepped = {name: value - 0.1 * grads[name] for name, value in lecture_params.items()}
    after = mlp_loss(stepped, X_lecture, Y_lecture)
    print(f"loss before the step: {before:.6f}, after: {after:.6f}")

# %% [markdown]
# ## Summary
#
# * The derivative is a limit of difference quotients; a small step $h$ turns it into arithmetic.
# * Forward and backward differences have error $O(h)$, the central difference $O(h^2)$; below an
#   optimal $h$ (about $10^{-8}$ and $10^{-5}$ in float64) round-off error takes over.
# * A gradient is estimated one coordinate at a time, for $2n$ evaluations: $O(n)$ forward passes,
#   hopeless for training a network of millions of parameters.
# * It stays indispensable as an independent check of backpropagation: relative errors around
#   $10^{-10}$ in float64 mean correct, $10^{-2}$ to $1$ mean a bug, float32 is too imprecise to
#   judge, and kinks must be avoided.
#
# Next assignment: computing the exact gradient with the chain rule, one node at a time.
