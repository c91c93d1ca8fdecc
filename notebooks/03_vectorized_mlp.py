# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 03 — Backpropagation through a vectorised MLP, by hand
#
# In assignment 02 every number in the network had its own node, and the backward pass visited
# them one by one. Real networks move whole matrices: a layer multiplies a batch of inputs by a
# weight matrix in one call, and its backward pass must do the same. This notebook derives the
# backward pass of every layer of a two-layer network with matrices, checks each gradient by its
# shape, gets softmax with cross-entropy right (and stable), handles a weight that is used twice,
# and then trains a digit classifier with nothing but your own gradients.
#
# Every layer is a pair of functions, as in CS231n:
#
# ```python
# out, cache = layer_forward(inputs...)     # cache: what the backward pass will need
# grads = layer_backward(dout, cache)       # dout = dL/dout, of out's shape
# ```
#
# The cache makes explicit what a layer keeps from its forward pass (the activation storage of
# the lecture). We write `dX` for $\partial L / \partial X$, the gradient of the scalar loss $L$
# with respect to the tensor $X$; it always has the shape of $X$.
#
# **How this notebook is graded.** Each exercise gives you a function whose body reads
# `# YOUR CODE HERE` and `raise NotImplementedError()`: replace those two lines with your code, in
# that cell (the *answer cell*). The test cell below each one runs a few visible checks so that you
# can see whether you are on track and, if not, what is wrong. When grading, more and larger
# hidden tests are run on inputs drawn at grading time: random shapes (including 1 and square
# ones), random upstream gradients, and one case per gradient large enough that a
# finite-difference "gradient" cannot finish in time. Gradients are compared with PyTorch's
# autograd to about 10 significant digits, and also with a numerical derivative of *your own*
# forward pass, so that the feedback can tell a wrong backward from a wrong forward. The grader
# runs only the read-only setup cells and your answer cells, in order, so an answer cell must not
# rely on variables from the demonstration cells. Use NumPy only: `torch`, `minigrad`, `scipy`
# and other differentiation libraries are not available to graded code. A demonstration cell that
# needs an exercise you have not answered yet says so in one line and lets Run All carry on.

# %% nbgrader={"grade_id": "setup", "locked": true}
import numpy as np

# %%
# Demonstration cells say which exercise they need while it is not answered yet, and Run All
# carries on. (Graded code never uses this.)
from coursecheck import skip_if_unanswered

EXERCISES = {"affine_forward": 1, "affine_backward": 1, "relu_forward": 2, "relu_backward": 2,
             "sigmoid_forward": 2, "sigmoid_backward": 2, "tanh_forward": 2,
             "tanh_backward": 2, "softmax_cross_entropy": 3, "mse_loss": 4,
             "two_layer_loss": 5, "backward_atomic": 6, "mlp_loss": 7, "initial_loss_check": 8,
             "overfit_tiny_batch": 8, "stack_gradient_check": 8, "shared_weight_loss": 9,
             "embedding_forward": 10, "embedding_backward": 10, "sgd_momentum": 11, "train_step": 12,
             "train": 12}

# %% [markdown]
# ## 1. Tensor backpropagation: gradients with the shape of the tensor
#
# The loss $L$ is one number; the things we differentiate it by are tensors: a weight matrix
# $W$ of shape $D\times M$, a bias vector of length $M$, a batch of activations of shape
# $N\times M$. The gradient for $W$ is the array of all the partial derivatives, arranged like $W$:
#
# $$(dW)_{dm} = \frac{\partial L}{\partial W_{dm}} .$$
#
# The lecture's recipe derives any such gradient without matrix calculus:
#
# 1. write the derivative of $L$ with respect to **one scalar entry** of the tensor;
# 2. apply the **multivariate chain rule**: sum over every output that entry influences;
# 3. work out the scalar derivatives that remain;
# 4. **vectorise**: find the matrix expression that computes all entries at once.
#
# Why not multiply Jacobians, as the chain rule for vectors suggests? The Jacobian of a layer's
# output with respect to its weights has one row per output entry and one column per weight.
# Let us build it for a tiny affine layer $Y = XW$ and multiply the upstream gradient $dY$
# (flattened) by it. In section 2 you derive a small matrix product of $X$ and $dY$ that gives
# the same numbers without the Jacobian; the cell after Exercise 1 compares the two.

# %%
rng = np.random.default_rng(0)
N, D, M = 2, 3, 2
X_tiny, W_tiny = rng.normal(size=(N, D)), rng.normal(size=(D, M))
dY_tiny = rng.normal(size=(N, M))

# J[(n, m), (d, k)] = dY[n, m] / dW[d, k] = X[n, d] if m == k else 0
jacobian = np.zeros((N * M, D * M))
for n in range(N):
    for m in range(M):
        for d in range(D):
            jacobian[n * M + m, d * M + m] = X_tiny[n, d]

via_jacobian = (dY_tiny.reshape(-1) @ jacobian).reshape(D, M)   # the row vector dY times J
print("dY^T J, reshaped to W's shape:\n", via_jacobian)
print(f"{np.count_nonzero(jacobian)} of the Jacobian's {jacobian.size} entries are nonzero")

# %% [markdown]
# This product, the upstream gradient as a row vector times the Jacobian ($dY^\top J$, or
# $J^\top dY$ as a column), is a **vector-Jacobian product** (VJP), and it is all that
# backpropagation ever computes for a layer: reverse mode pushes the gradient of *one output* (the
# loss) back through every layer's VJP. (The other product, the Jacobian times a vector of input
# changes, $J v$, is a Jacobian-vector product, the step of *forward* mode; assignment 05 meets it.)
# A layer's VJP is a cheap formula, so we never need the Jacobian itself. That matters, because it
# is enormous. For one hidden layer of a small image classifier
# (a batch of 64 images of 784 pixels, 256 hidden units), the Jacobian of the layer's output
# with respect to $W$ alone has $(64\cdot 256)\times(784\cdot 256)$ entries:

# %%
N_big, D_big, M_big = 64, 784, 256
entries = (N_big * M_big) * (D_big * M_big)
print(f"full Jacobian dY/dW: {entries:.3e} entries = {entries * 8 / 1e9:.1f} GB in float64")
print(f"the gradient dW itself: {D_big * M_big} entries = {D_big * M_big * 8 / 1e6:.1f} MB")
print(f"fraction of the Jacobian that is nonzero: {1 / M_big:.4f}")

# %% [markdown]
# ## 2. The affine layer
#
# The lecture's two-layer network is $Y^p = \sigma(XW_1 + b_1)W_2 + b_2$. Its building block is
# the affine layer: for a batch $x$ of shape $N\times D$, weights $W$ of shape $D\times M$ and a
# bias $b$ of length $M$,
#
# $$\text{out} = xW + b, \qquad \text{out}_{nm} = \sum_{d} x_{nd} W_{dm} + b_m$$
#
# ($b$ is added to every row). The backward pass gets $\text{dout}$ ($N\times M$) and must return
# three gradients, each in the shape of what it belongs to: $dx$ ($N\times D$), $dW$ ($D\times M$)
# and $db$ ($M$). Start from step 1 and 2 of the recipe for one entry of $W$,
#
# $$\frac{\partial L}{\partial W_{dm}} = \sum_{n', m'} \text{dout}_{n'm'}\, \frac{\partial\, \text{out}_{n'm'}}{\partial W_{dm}},$$
#
# and find out which terms of that sum are not zero; then the same for one $x_{nd}$ and one $b_m$.
#
# **A scalar case first.** With $N = D = M = 1$ everything is a number: $\text{out} = xW + b$. With
# $x = 2$, $W = 3$, $b = 1$ and $\text{dout} = 0.5$ the multiply and add gates of assignment 02 give
# $dW = 1$, $dx = 1.5$, $db = 0.5$. Now two examples ($N = 2$, still $D = M = 1$),
# $x = (2, -1)^\top$ with $\text{dout} = (0.5, 1)^\top$: the one weight is used by both examples, so
# $dW = 2\cdot 0.5 + (-1)\cdot 1 = 0$, and likewise $db = 1.5$, while each example keeps its own
# $dx_n = 3\,\text{dout}_n$, that is $(1.5, 3)^\top$. Your matrix formulas must reduce to these.
#
# ### Exercise 1 (2 points): `affine_forward` and `affine_backward`
#
# `affine_forward(x, W, b)` returns `(out, cache)`; keep in `cache` exactly what the backward
# pass needs. `affine_backward(dout, cache)` returns `(dx, dW, db)`.
#
# <details><summary>Hint 1</summary>
#
# $W_{dm}$ appears only in the outputs of column $m$ (one per example $n$), always multiplied by
# $x_{nd}$. So the sum over $n', m'$ keeps only the terms with $m' = m$: a sum over the batch.
# Then let the shapes guide you: $dW$ is $D\times M$ and must be built from $x$ ($N\times D$) and
# $\text{dout}$ ($N\times M$); which product of these two (transposed as needed) has that shape and
# sums over $n$?
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# $\partial L/\partial W_{dm} = \sum_n x_{nd}\, \text{dout}_{nm}$, which is entry $(d, m)$ of
# $x^\top\text{dout}$ (not $\text{dout}^\top x$: that is $M\times D$, the transpose). In the same way
# $x_{nd}$ sits in every output of row $n$, multiplied by $W_{dm}$, so the sum runs over $m$. The bias
# is added to every row: a fork over the batch.
#
# </details>

# %% nbgrader={"grade_id": "affine", "solution": true}
def affine_forward(x, W, b):
    """out = x @ W + b for x (N, D), W (D, M), b (M,); returns (out (N, M), cache)."""
    ### BEGIN SOLUTION
    out = x @ W + b
    cache = (x, W)
    return out, cache
    ### END SOLUTION


def affine_backward(dout, cache):
    """dout (N, M) -> (dx (N, D), dW (D, M), db (M,))."""
    ### BEGIN SOLUTION
    x, W = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_affine", "grade": true}
from coursecheck import check

check("test_affine", affine_forward, affine_backward)
### BEGIN HIDDEN TESTS
check("test_affine", affine_forward, affine_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your derivation.** The entry $W_{dm}$ appears in $\text{out}_{n'm'}$ only when $m' = m$,
# with the factor $x_{n'd}$, so
#
# $$\frac{\partial L}{\partial W_{dm}} = \sum_{n', m'} \text{dout}_{n'm'} \frac{\partial\, \text{out}_{n'm'}}{\partial W_{dm}}
#   = \sum_{n} x_{nd}\, \text{dout}_{nm} = (x^\top \text{dout})_{dm} .$$
#
# In the same way $x_{nd}$ appears in every $\text{out}_{nm}$ of row $n$ with the factor $W_{dm}$,
# and $b_m$ in every $\text{out}_{nm}$ of column $m$ with the factor 1:
#
# $$dW = x^\top\, \text{dout}\ (D\times M), \qquad dx = \text{dout}\, W^\top\ (N\times D),
#   \qquad db = \sum_n \text{dout}_{n,:}\ (M).$$
#
# The shapes alone pick these products: $x^\top\text{dout}$ is the only product of $x$ and dout
# with $W$'s shape. The bias is *broadcast* over the batch in the forward pass, so its gradient
# *sums* over the batch in the backward pass: a fork, where gradients add up. With $N = D = M = 1$
# these are the multiply gate's swap and the add gate's copy. And your $dW$ is the vector-Jacobian
# product of section 1, without the Jacobian:

# %%
with skip_if_unanswered(EXERCISES):
    _, cache_tiny = affine_forward(X_tiny, W_tiny, np.zeros(M))
    dW_yours = affine_backward(dY_tiny, cache_tiny)[1]
    print("your dW:\n", dW_yours)
    print("equal to dY^T J from section 1:", np.allclose(dW_yours, via_jacobian))

# %% [markdown]
# The lecture's dimension analysis, with our row convention: 3 inputs of 10 features into 5
# outputs. Every gradient comes back in the shape of the thing it belongs to.

# %%
x_demo, W_demo, b_demo = rng.normal(size=(3, 10)), rng.normal(size=(10, 5)), rng.normal(size=5)
dout_demo = rng.normal(size=(3, 5))
with skip_if_unanswered(EXERCISES):
    out_demo, cache_demo = affine_forward(x_demo, W_demo, b_demo)
    dx_demo, dW_demo, db_demo = affine_backward(dout_demo, cache_demo)
    for name, value, grad in [("x", x_demo, dx_demo), ("W", W_demo, dW_demo), ("b", b_demo, db_demo)]:
        print(f"{name}: {value.shape}  d{name}: {grad.shape}")

# %% [markdown]
# ## 3. Elementwise activations: ReLU, sigmoid, tanh
#
# An elementwise function $y = g(x)$ makes output entry $y_i$ depend on input entry $x_i$ only. In
# the multivariate chain rule every term but one vanishes, so
#
# $$dx = \text{dout} \odot g'(x) \quad(\odot: \text{entrywise product}),$$
#
# a Jacobian that is diagonal, applied without ever being built. The three derivatives:
#
# * **ReLU**, $g(x) = \max(x, 0)$: $g'(x) = 1$ where $x > 0$ and $0$ where $x < 0$. At exactly
#   $x = 0$ there is a kink; like PyTorch we take the slope there to be 0. The backward pass
#   *routes* the gradient: it passes through where the input was positive and is blocked
#   elsewhere (the mask comes from the layer's own input, never from the upstream gradient).
# * **sigmoid**, $\sigma(x) = 1/(1+e^{-x})$: $\sigma'(x) = \sigma(x)(1-\sigma(x))$. Writing it with
#   the *output* $s$ is why the cache keeps $s$: $dx = \text{dout}\odot s(1-s)$.
# * **tanh**: $\tanh'(x) = 1 - \tanh^2(x)$, again in terms of the output $t$: $dx = \text{dout}\odot(1-t^2)$.
#
# ### Exercise 2 (2 points): three forward/backward pairs
#
# Each forward takes an array of any shape and returns `(out, cache)`; each backward returns
# `dx` of the same shape.

# %% nbgrader={"grade_id": "activations", "solution": true}
def relu_forward(x):
    """max(x, 0) entrywise, any shape; returns (out, cache)."""
    ### BEGIN SOLUTION
    return np.maximum(x, 0.0), x
    ### END SOLUTION


def relu_backward(dout, cache):
    """dx = dout where x > 0, else 0 (shape of x)."""
    ### BEGIN SOLUTION
    x = cache
    return dout * (x > 0)
    ### END SOLUTION


def sigmoid_forward(x):
    """1 / (1 + exp(-x)) entrywise, any shape; returns (out, cache)."""
    ### BEGIN SOLUTION
    s = 1.0 / (1.0 + np.exp(-x))
    return s, s
    ### END SOLUTION


def sigmoid_backward(dout, cache):
    """dx = dout * s * (1 - s) (shape of x)."""
    ### BEGIN SOLUTION
    s = cache
    return dout * s * (1.0 - s)
    ### END SOLUTION


def tanh_forward(x):
    """tanh(x) entrywise, any shape; returns (out, cache)."""
    ### BEGIN SOLUTION
    t = np.tanh(x)
    return t, t
    ### END SOLUTION


def tanh_backward(dout, cache):
    """dx = dout * (1 - t**2) (shape of x)."""
    ### BEGIN SOLUTION
    t = cache
    return dout * (1.0 - t ** 2)
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_activations", "grade": true}
from coursecheck import check

check("test_activations", relu_forward, relu_backward, sigmoid_forward, sigmoid_backward,
      tanh_forward, tanh_backward)
### BEGIN HIDDEN TESTS
check("test_activations", relu_forward, relu_backward, sigmoid_forward, sigmoid_backward,
      tanh_forward, tanh_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# The lecture's sigmoid neuron: weights $w = [2, -3]$, bias $-3$, input $x = [-1, -2]$. The dot
# product is $2\cdot(-1) + (-3)(-2) - 3 = 1$, the neuron outputs $\sigma(1) \approx 0.73$, and
# the gradient on the dot product is $(1 - 0.73)\cdot 0.73 \approx 0.20$. Through an affine
# layer the gradients on the weights are then $x \cdot 0.20$ and on the inputs $w \cdot 0.20$:
# the lecture's $[-0.2, -0.39]$ and $[0.39, -0.59]$.

# %%
neuron_x, neuron_w, neuron_b = np.array([[-1.0, -2.0]]), np.array([[2.0], [-3.0]]), np.array([-3.0])
with skip_if_unanswered(EXERCISES):
    dot, affine_cache = affine_forward(neuron_x, neuron_w, neuron_b)
    f, sigmoid_cache = sigmoid_forward(dot)
    ddot = sigmoid_backward(np.ones_like(f), sigmoid_cache)
    dx_neuron, dw_neuron, db_neuron = affine_backward(ddot, affine_cache)
    print(f"dot = {dot.item():.3f}, f = {f.item():.4f}, df/ddot = {ddot.item():.4f}")
    print("dw =", dw_neuron.ravel().round(3), " db =", db_neuron.round(3), " dx =", dx_neuron.ravel().round(3))

# %% [markdown]
# ## 4. Softmax with cross-entropy
#
# A classifier's last layer outputs one score (logit) $z_k$ per class. Softmax turns them into
# probabilities, and cross-entropy compares those with the one-hot target $y$ of the true class:
#
# $$p_k = \frac{e^{z_k}}{\sum_j e^{z_j}}, \qquad L = -\sum_k y_k \log p_k = -\log p_{\text{label}} .$$
#
# **What to derive.** $\partial L/\partial z_i$ for every class $i$. The local rules to start from:
# $\partial L/\partial p_k = -y_k/p_k$, and every $p_k$ depends on *every* $z_i$, through the sum in
# its denominator, so the chain rule sums over all $k$:
# $\partial L/\partial z_i = \sum_k (\partial L/\partial p_k)(\partial p_k/\partial z_i)$.
#
# **A scalar case.** Two classes, logits $z = (0, 0)$, true class 0: $p = (\tfrac12, \tfrac12)$ and
# $L = \log 2 \approx 0.6931$. Raise $z_0$ to $0.001$: $p_0$ becomes about $0.50025$ and $L$ drops by
# about $0.0005$, a slope of $-\tfrac12$. Raise $z_1$ instead: $L$ grows by about $0.0005$, a slope
# of $+\tfrac12$. So at this point $\partial L/\partial z = (-\tfrac12, \tfrac12)$: the wrong class's
# logit gets a gradient too, although $L$ only mentions $p_0$.
#
# For a batch of $N$ examples the loss is the **mean** of the $N$ examples' losses.
#
# **Stability.** $e^{z}$ overflows float64 for $z > 709$. Softmax does not change when a
# constant is subtracted from every logit of a row (numerator and denominator both gain the factor
# $e^{-c}$), so subtract the row's maximum $c$ first: the largest exponent is then $e^0 = 1$.
# For the loss, do not take the log of a probability that may have underflowed to 0; use
#
# $$\log p_k = (z_k - c) - \log \sum_j e^{z_j - c} .$$
#
# ### Exercise 3 (3 points): `softmax_cross_entropy`
#
# `softmax_cross_entropy(logits, y)` takes logits of shape $N\times C$ and integer labels `y` of
# shape $N$ (values $0..C-1$) and returns `(loss, dlogits)`: the mean loss as a float and its
# gradient with respect to the logits. It must give finite, correct results for logits of
# $\pm 10^4$.
#
# <details><summary>Hint 1</summary>
#
# Two routes. Either compute the softmax Jacobian $\partial p_k/\partial z_i$ with the quotient
# rule, separately for $k = i$ and $k \ne i$, write both with $p$'s only, and put it into the sum
# above (do not drop the $k \ne i$ terms: they are why the wrong class's logit moved in the scalar
# case). Or skip the probabilities: $L = -\log p_{\text{label}}$ is
# $-z_{\text{label}} + \log\sum_j e^{z_j}$; differentiate that by $z_i$ directly. Then remember that
# the batch loss is a mean.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The derivative of $\log\sum_j e^{z_j}$ by $z_i$ is $e^{z_i}/\sum_j e^{z_j}$, which is $p_i$;
# the derivative of $-z_{\text{label}}$ is $-1$ for $i = $ label and $0$ otherwise, that is $-y_i$.
# Check against the scalar case. In code: the probabilities come out of the stable log-softmax for
# free, and the "$-y$" part is one fancy-indexing line, `d[np.arange(N), y] -= 1`. Each example's
# loss enters the mean with the weight $1/N$.
#
# </details>

# %% nbgrader={"grade_id": "softmax_cross_entropy", "solution": true}
def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of softmax(logits) (N, C) for labels y (N,); returns (loss, dlogits (N, C))."""
    ### BEGIN SOLUTION
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_sum
    loss = -log_p[np.arange(n), y].mean()
    dlogits = np.exp(log_p)
    dlogits[np.arange(n), y] -= 1.0
    return float(loss), dlogits / n
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_softmax_cross_entropy", "grade": true}
from coursecheck import check

check("test_softmax_cross_entropy", softmax_cross_entropy)
### BEGIN HIDDEN TESTS
check("test_softmax_cross_entropy", softmax_cross_entropy, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your derivation.** The softmax Jacobian: every $p_k$ depends on every $z_i$ through the
# sum in the denominator, and the quotient rule gives
#
# $$\frac{\partial p_k}{\partial z_i} = \begin{cases} p_i(1 - p_i) & i = k, \\ -p_k\, p_i & i \ne k. \end{cases}$$
#
# With $\partial L/\partial p_k = -y_k/p_k$, the chain rule sums over all $k$ (not only $k = i$):
#
# $$\frac{\partial L}{\partial z_i} = -\frac{y_i}{p_i}\,p_i(1-p_i) + \sum_{k\ne i}\left(-\frac{y_k}{p_k}\right)(-p_k p_i)
#   = -y_i + y_i p_i + p_i \sum_{k \ne i} y_k = p_i - y_i ,$$
#
# using $\sum_k y_k = 1$. All the divisions cancel: the gradient is simply $p - y$, in the scalar
# case $(\tfrac12 - 1, \tfrac12 - 0) = (-\tfrac12, \tfrac12)$. Keeping only the diagonal of the
# Jacobian, $p_i(1-p_i)$, would give $-y_i(1-p_i)$: right for the true class, but zero for every
# other class, which then never gets pushed down. For the batch mean every row gets a factor
# $1/N$: $\;d\text{logits} = (P - Y)/N$.
#
# What the max-subtraction buys: the textbook formula against yours, at ordinary and at huge
# logits. (NumPy warns about the overflow; the warnings are silenced here.)

# %%
def naive_softmax_loss(logits, y):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(y)), y]).mean()


with skip_if_unanswered(EXERCISES):
    for scale in [1.0, 1e4]:
        logits_demo = np.array([[2.0, 1.0, 0.1], [-1.0, 3.0, 0.5]]) * scale
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            naive = naive_softmax_loss(logits_demo, np.array([0, 0]))
        stable = softmax_cross_entropy(logits_demo, np.array([0, 0]))[0]
        print(f"logits x {scale:g}: naive loss {naive:.6g}, stable loss {stable:.6g}")

# %% [markdown]
# ### Question 1 (1 point): why is the gradient just $p - y$?
#
# For one example with logits $\mathbf z$, probabilities $\mathbf p = \mathrm{softmax}(\mathbf z)$
# and the one-hot target $\mathbf y$, the loss $L = -\log p_{y}$ has the gradient
# $\partial L / \partial \mathbf z = \mathbf p - \mathbf y$. Why does so simple a formula come out?
#
# * **(a)** Because the softmax Jacobian is diagonal: each $p_j$ depends on $z_j$ alone.
# * **(b)** Because the loss depends only on the target's logit $z_y$, so only that entry of the
#   gradient is affected.
# * **(c)** Because $-\log \mathrm{softmax}(\mathbf z)_y = -z_y + \log \sum_j e^{z_j}$: the log undoes
#   the exp, the first term gives $-\mathbf y$ and the derivative of log-sum-exp is $\mathrm{softmax}(\mathbf z) = \mathbf p$.
# * **(d)** Because the largest logit is subtracted first, which simplifies the Jacobian.
#
# Make `choice_softmax_ce` return your letter, e.g. `return "a"`. The test cell only checks that you
# returned one of the letters; whether it is the right one is decided when your notebook is graded.

# %% nbgrader={"grade_id": "choice_softmax_ce", "solution": true}
def choice_softmax_ce():
    """Your answer to question 1: one of "a", "b", "c", "d"."""
    ### BEGIN SOLUTION
    return "c"
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_choice_softmax_ce", "grade": true}
from coursecheck import check

check("test_choice_softmax_ce", choice_softmax_ce)
### BEGIN HIDDEN TESTS
check("test_choice_softmax_ce", choice_softmax_ce, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Question 2 (1 point, graded by hand): a diagonal softmax Jacobian
#
# A classmate backpropagates through softmax on its own (without the loss) by multiplying the
# upstream gradient $\mathbf g = \partial L / \partial \mathbf p$ entrywise by $\mathbf p \odot (1 - \mathbf p)$,
# the diagonal of softmax's Jacobian. In two or three sentences: why is that wrong? Try it on
# $\mathbf g = (1, 1, \dots, 1)$, the gradient of $L = \sum_i p_i$: what must
# $\partial L / \partial \mathbf z$ be, and what does the classmate get?

# %% [markdown] nbgrader={"grade_id": "why_not_diagonal", "solution": true, "grade": true, "points": 1}
# Every $p_i$ depends on every logit through the shared normaliser, so the Jacobian has
# off-diagonal entries $\partial p_i / \partial z_j = -p_i p_j$ as well as $p_i(1 - p_i)$ on the
# diagonal; the right product is $\mathbf p \odot (\mathbf g - \mathbf g \cdot \mathbf p)$. With
# $\mathbf g$ all ones, $L = \sum_i p_i = 1$ whatever $\mathbf z$ is, so its gradient must be zero,
# and the full Jacobian gives $\mathbf p \odot (1 - 1) = 0$; the diagonal version gives
# $p_i(1 - p_i) \ne 0$.

# %% [markdown]
# ## 5. Mean squared error
#
# For regression the lecture's loss is the squared (Euclidean) error with a factor $\tfrac12$,
# which we average over the batch as before:
#
# $$L = \frac{1}{2N}\sum_{n,k}(\hat y_{nk} - y_{nk})^2 .$$
#
# (PyTorch's `MSELoss` averages over all $N\cdot K$ entries and has no $\tfrac12$: a different
# constant, so read a library's definition before comparing numbers.) A case to check against:
# $N = 2$, $K = 1$, predictions $\hat y = (1, 3)^\top$ for targets $(0, 0)^\top$ give
# $L = (1 + 9)/4 = 2.5$; nudging the second prediction from $3$ to $3.001$ raises $L$ by about
# $0.0015$, a slope of $1.5$.
#
# ### Exercise 4 (2 points): `mse_loss`
#
# `mse_loss(pred, target)` returns `(loss, dpred)`: the loss as a float and its gradient with
# respect to `pred`, of `pred`'s shape.
#
# <details><summary>Hint 1</summary>
#
# One entry $\hat y_{nk}$ appears in exactly one term of the double sum. Differentiate that term,
# and keep the constant in front of the sum.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# $\frac{\partial}{\partial \hat y_{nk}}\,\frac{1}{2N}(\hat y_{nk} - y_{nk})^2 = \frac{1}{N}(\hat y_{nk} - y_{nk})$:
# the $\tfrac12$ cancels the 2 of the square. In the check case: $3/2 = 1.5$.
#
# </details>

# %% nbgrader={"grade_id": "mse_loss", "solution": true}
def mse_loss(pred, target):
    """sum((pred - target)**2) / (2 N) for pred, target (N, K); returns (loss, dpred (N, K))."""
    ### BEGIN SOLUTION
    n = pred.shape[0]
    diff = pred - target
    return float(0.5 * np.sum(diff ** 2) / n), diff / n
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_mse_loss", "grade": true}
from coursecheck import check

check("test_mse_loss", mse_loss)
### BEGIN HIDDEN TESTS
check("test_mse_loss", mse_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your derivation.** $d\hat y = (\hat y - y)/N$: the $\tfrac12$ cancels the 2 of the
# square, and the $1/N$ makes the gradient's size independent of the batch size. Assignment 01's
# lecture example: one prediction $\hat y = 0.8$ for a target of $0.5$. The loss is
# $\tfrac12 (0.3)^2 = 0.045$ and the gradient $0.3$.

# %%
with skip_if_unanswered(EXERCISES):
    print(mse_loss(np.array([[0.8]]), np.array([[0.5]])))

# %% [markdown]
# ## 6. The two-layer network
#
# Now compose the layers. With a ReLU hidden layer and softmax cross-entropy at the end:
#
# $$a = XW_1 + b_1,\quad h = \text{ReLU}(a),\quad s = hW_2 + b_2,\quad L = \text{CE}(\text{softmax}(s), y) .$$
#
# Shapes: $X$ is $N\times D$, $W_1$ is $D\times H$, $W_2$ is $H\times C$; $a$ and $h$ are
# $N\times H$, $s$ is $N\times C$. Every gradient you return has its parameter's shape, and every
# gradient passed between layers has the shape of the activation it belongs to. With $N = 2$,
# $D = 3$, $H = 4$, $C = 5$, for instance, $ds$ is $2\times 5$, $dh$ and $da$ are $2\times 4$, $dW_2$
# is $4\times 5$ and $dW_1$ is $3\times 4$.
#
# ### Exercise 5 (2 points): `two_layer_loss`
#
# `two_layer_loss(params, X, y)` takes `params = {"W1", "b1", "W2", "b2"}`, inputs `X` and integer
# labels `y`, and returns `(loss, grads)` with `grads` a dict of the same four keys. Build it from
# your functions of exercises 1-3.
#
# <details><summary>Hint 1</summary>
#
# Keep every cache the forward pass returns. The backward pass visits the same four steps in
# reverse order; each step's backward function gets the gradient that the step *after* it
# returned, and its own cache. Which step's backward gives you the first gradient?
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The loss function already returns $ds$. Feed it to the second affine layer's backward, which
# gives $dh$ along with $dW_2$, $db_2$; the ReLU's backward turns $dh$ into $da$; the first affine
# layer's backward turns $da$ into $dW_1$, $db_1$ (and a $dX$ nobody needs).
#
# </details>

# %% nbgrader={"grade_id": "two_layer_net", "solution": true}
def two_layer_loss(params, X, y):
    """Mean softmax cross-entropy of relu(X W1 + b1) W2 + b2; returns (loss, {name: gradient})."""
    ### BEGIN SOLUTION
    a, cache1 = affine_forward(X, params["W1"], params["b1"])
    h, relu_cache = relu_forward(a)
    scores, cache2 = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dh, dW2, db2 = affine_backward(dscores, cache2)
    da = relu_backward(dh, relu_cache)
    _, dW1, db1 = affine_backward(da, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_two_layer_net", "grade": true}
from coursecheck import check

check("test_two_layer_net", two_layer_loss)
### BEGIN HIDDEN TESTS
check("test_two_layer_net", two_layer_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your derivation.** The backward pass in one line:
#
# $$ds = (P - Y)/N \;\to\; (dh, dW_2, db_2) = \text{affine\_backward}(ds) \;\to\; da = dh \odot [a > 0] \;\to\; (dX, dW_1, db_1) = \text{affine\_backward}(da).$$
#
# ### A self-check against an autograd library (not graded)
#
# As in Karpathy's "become a backprop ninja" exercise: run the same network through minigrad's
# autograd, keep every intermediate gradient (`retain_grad()`), and compare it with yours, one
# tensor at a time. *bit-exact* means the same bits, *close* means within `np.allclose`:
# differences around $10^{-17}$ are rounding (the two libraries sum in different orders), so
# close is what to look for. The first row that DIFFERS tells you in which layer to look.

# %%
import minigrad as mg
import minigrad.functional as F

rng_check = np.random.default_rng(1)
Xc, yc = rng_check.normal(size=(8, 5)), rng_check.integers(0, 4, size=8)
pc = {"W1": rng_check.normal(size=(5, 6)) / 2, "b1": rng_check.normal(size=6) / 2,
      "W2": rng_check.normal(size=(6, 4)) / 2, "b2": rng_check.normal(size=4) / 2}

with skip_if_unanswered(EXERCISES):
    # yours, step by step
    a_c, cache1_c = affine_forward(Xc, pc["W1"], pc["b1"])
    h_c, relu_cache_c = relu_forward(a_c)
    s_c, cache2_c = affine_forward(h_c, pc["W2"], pc["b2"])
    _, ds_c = softmax_cross_entropy(s_c, yc)
    dh_c, dW2_c, db2_c = affine_backward(ds_c, cache2_c)
    da_c = relu_backward(dh_c, relu_cache_c)
    dX_c, dW1_c, db1_c = affine_backward(da_c, cache1_c)
    mine = {"scores": ds_c, "W2": dW2_c, "b2": db2_c, "h": dh_c, "a": da_c, "W1": dW1_c, "b1": db1_c, "X": dX_c}

    # minigrad's autograd on the same computation
    t = {name: mg.Tensor(value, requires_grad=True, dtype=mg.float64) for name, value in pc.items()}
    tX = mg.Tensor(Xc, requires_grad=True, dtype=mg.float64)
    ta = (tX @ t["W1"] + t["b1"]).retain_grad()
    th = ta.relu().retain_grad()
    ts = (th @ t["W2"] + t["b2"]).retain_grad()
    F.cross_entropy(ts, yc).backward()
    autograd = {"scores": ts.grad, "W2": t["W2"].grad, "b2": t["b2"].grad, "h": th.grad, "a": ta.grad,
                "W1": t["W1"].grad, "b1": t["b1"].grad, "X": tX.grad}

    print(f"{'gradient':>9} {'shape':>8} {'match':>10} {'max |diff|':>11}")
    for name, value in mine.items():
        other = autograd[name]
        same_shape = np.shape(value) == np.shape(other)
        diff = np.max(np.abs(value - other)) if same_shape else float("nan")
        match = ("wrong shape" if not same_shape else "bit-exact" if np.array_equal(value, other)
                 else "close" if np.allclose(value, other) else "DIFFERS")
        print(f"{'d' + name:>9} {str(np.shape(value)):>8} {match:>10} {diff:11.2e}")

# %% [markdown]
# ## 7. Becoming a backprop ninja: every intermediate by hand
#
# The self-check above compared *your* layers with an autograd library. Now turn it around, as
# in Karpathy's "become a backprop ninja" exercise: the forward pass below is written as a chain
# of **atomic steps**, each one a single NumPy operation, and you write the backward pass through
# every one of them. Two things are new. The hidden layer is **normalised** (each example's $H$
# pre-activations are shifted to mean 0 and scaled to variance 1, then scaled by $\gamma$ and
# shifted by $\beta$, as layer normalisation does), and the loss is taken apart into its pieces:
# max-subtraction, exponential, row sum, reciprocal, product, logarithm, mean.
#
# Shapes: $X$ is $N\times D$, $W_1$ is $D\times H$, $\gamma$, $\beta$ and $b_1$ have length $H$,
# $W_2$ is $H\times C$ and $b_2$ has length $C$. A name with shape $N\times 1$ (`mu`, `var`,
# `inv_std`, `logit_max`, `exp_sum`, `exp_sum_inv`) holds one number per example, and NumPy
# **broadcasts** it over the row when it meets an $N\times H$ or $N\times C$ array. The lecture's
# `Expand` and `RowSum` ops are the two halves of this: a broadcast in the forward pass is a sum
# in the backward pass, and a sum in the forward pass is a broadcast in the backward pass.

# %% nbgrader={"grade_id": "ninja_forward", "locked": true}
NINJA_EPS = 1e-5


def forward_atomic(X, y, params):
    """The network of section 7, one NumPy operation per line. X (N, D), integer y (N,), params
    {"W1" (D, H), "b1" (H,), "gamma" (H,), "beta" (H,), "W2" (H, C), "b2" (C,)}.
    -> (loss, cache): cache holds X, y, the parameters and every intermediate below, by name."""
    n = X.shape[0]
    a = X @ params["W1"] + params["b1"]               # (N, H) affine
    mu = a.mean(axis=1, keepdims=True)                # (N, 1) each example's mean
    centered = a - mu                                 # (N, H) mu broadcast over the row
    sq = centered ** 2                                # (N, H)
    var = sq.mean(axis=1, keepdims=True)              # (N, 1)
    inv_std = (var + NINJA_EPS) ** -0.5               # (N, 1)
    normed = centered * inv_std                       # (N, H) inv_std broadcast over the row
    pre = params["gamma"] * normed + params["beta"]   # (N, H) gamma, beta broadcast over the batch
    h = np.tanh(pre)                                  # (N, H)
    logits = h @ params["W2"] + params["b2"]          # (N, C)
    logit_max = logits.max(axis=1, keepdims=True)     # (N, 1) for stability only
    shifted = logits - logit_max                      # (N, C)
    exps = np.exp(shifted)                            # (N, C)
    exp_sum = exps.sum(axis=1, keepdims=True)         # (N, 1)
    exp_sum_inv = 1.0 / exp_sum                       # (N, 1) the reciprocal
    probs = exps * exp_sum_inv                        # (N, C) softmax
    log_probs = np.log(probs)                         # (N, C)
    loss = -log_probs[np.arange(n), y].mean()         # mean over the batch of -log p[label]
    cache = dict(params, X=X, y=y, a=a, mu=mu, centered=centered, sq=sq, var=var, inv_std=inv_std,
                 normed=normed, pre=pre, h=h, logits=logits, logit_max=logit_max, shifted=shifted,
                 exps=exps, exp_sum=exp_sum, exp_sum_inv=exp_sum_inv, probs=probs, log_probs=log_probs)
    return float(loss), cache


NINJA_GRADIENTS = ("log_probs", "probs", "exp_sum_inv", "exp_sum", "exps", "shifted", "logit_max",
                   "logits", "h", "W2", "b2", "pre", "gamma", "beta", "normed", "inv_std", "var",
                   "sq", "centered", "mu", "a", "W1", "b1", "X")

# %% [markdown]
# ### Exercise 6 (3 points): `backward_atomic`
#
# `backward_atomic(cache, dloss)` gets the cache that `forward_atomic` returns and the upstream
# gradient `dloss` $= \partial \mathcal{L}/\partial L$ of whatever uses the loss (1 when the loss
# *is* the objective; the grader also passes other numbers) and returns a dict with the gradient
# of every name in `NINJA_GRADIENTS`, each with the shape of its tensor. Walk the forward from the
# bottom up, one line at a time. You may return a partial dict while you work: each gradient is
# checked on its own (and earns its share of the points on its own).
#
# Three rules cover every line:
#
# * **a broadcast becomes a sum.** `centered = a - mu` uses each `mu[n]` once for every column of
#   row $n$, so `dmu[n]` is the sum of that row's contributions (keep the shape $N\times 1$ with
#   `keepdims=True`); `pre = gamma * normed + beta` uses `gamma` once for every example, so
#   `dgamma` sums over the batch.
# * **a sum (or mean) becomes a broadcast.** `exp_sum = exps.sum(axis=1, keepdims=True)` sends
#   `dexp_sum[n]` to every entry of row $n$ (a mean also divides by the number of entries).
# * **a tensor used twice adds up.** `exps` feeds both `exp_sum` and `probs`; `centered` feeds both
#   `sq` and `normed`; `a` feeds `mu` and `centered`. Add the contributions.
#
# **A scalar case.** One example, two classes, logits $(0, 0)$, label 0, `dloss` $= 1$: then
# `logit_max` $= 0$, `exps` $= (1, 1)$, `exp_sum` $= 2$, `exp_sum_inv` $= 0.5$,
# `probs` $= (0.5, 0.5)$ and `log_probs` $= (-0.693, -0.693)$. The loss only reads `log_probs[0, 0]`:
# `dlog_probs` $= (-1, 0)$, so `dprobs` $= (-2, 0)$ ($d\log p = dp / p$), and through the product
# `dexp_sum_inv` $= -2\cdot 1 + 0 \cdot 1 = -2$. Carry on from there; you should reach
# `dlogits` $= (-0.5, 0.5)$, the scalar case of section 4.
#
# <details><summary>Hint 1</summary>
#
# Start with `dlog_probs = np.zeros_like(log_probs)` and put $-\text{dloss}/N$ at each example's
# label. For `probs = exps * exp_sum_inv` there are two gradients: `dexps` gets
# `dprobs * exp_sum_inv` (broadcast, no sum needed: it has exps' shape), and `dexp_sum_inv` gets
# `dprobs * exps` summed over the columns (it was broadcast). The reciprocal's local derivative is
# $-1/s^2$.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `logits` reaches the loss twice: through `shifted` directly, and through `logit_max`, which only
# the row's largest logit made (`logits == logit_max` is its mask). `dlogit_max` is
# `-dshifted` summed over the row: look at its values once you have it. For the normalisation,
# `inv_std = (var + eps) ** -0.5` has the local derivative $-\tfrac12 (\text{var}+\epsilon)^{-3/2}$,
# which is `-0.5 * inv_std ** 3`; the mean that made `var` hands each of the $H$ entries of `sq`
# the share `dvar / H`.
#
# </details>

# %% nbgrader={"grade_id": "backprop_ninja", "solution": true}
def backward_atomic(cache, dloss=1.0):
    """{name: gradient of dloss * loss with respect to cache[name]} for every name in
    NINJA_GRADIENTS, each of its tensor's shape."""
    ### BEGIN SOLUTION
    c = cache
    n, hidden = c["a"].shape
    d = {"log_probs": np.zeros_like(c["log_probs"])}
    d["log_probs"][np.arange(n), c["y"]] = -dloss / n
    d["probs"] = d["log_probs"] / c["probs"]
    d["exp_sum_inv"] = (d["probs"] * c["exps"]).sum(axis=1, keepdims=True)
    d["exp_sum"] = -d["exp_sum_inv"] / c["exp_sum"] ** 2
    d["exps"] = d["probs"] * c["exp_sum_inv"] + d["exp_sum"]     # two uses: probs and exp_sum
    d["shifted"] = d["exps"] * c["exps"]
    d["logit_max"] = -d["shifted"].sum(axis=1, keepdims=True)
    d["logits"] = d["shifted"] + (c["logits"] == c["logit_max"]) * d["logit_max"]
    d["h"] = d["logits"] @ c["W2"].T
    d["W2"] = c["h"].T @ d["logits"]
    d["b2"] = d["logits"].sum(axis=0)
    d["pre"] = d["h"] * (1.0 - c["h"] ** 2)
    d["gamma"] = (d["pre"] * c["normed"]).sum(axis=0)
    d["beta"] = d["pre"].sum(axis=0)
    d["normed"] = d["pre"] * c["gamma"]
    d["inv_std"] = (d["normed"] * c["centered"]).sum(axis=1, keepdims=True)
    d["var"] = -0.5 * c["inv_std"] ** 3 * d["inv_std"]
    d["sq"] = np.ones_like(c["sq"]) * d["var"] / hidden
    d["centered"] = d["normed"] * c["inv_std"] + 2.0 * c["centered"] * d["sq"]   # two uses
    d["mu"] = -d["centered"].sum(axis=1, keepdims=True)
    d["a"] = d["centered"] + d["mu"] / hidden                                  # two uses
    d["W1"] = c["X"].T @ d["a"]
    d["b1"] = d["a"].sum(axis=0)
    d["X"] = d["a"] @ c["W1"].T
    return d
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_backprop_ninja", "grade": true}
from coursecheck import check

check("test_backprop_ninja", backward_atomic)
### BEGIN HIDDEN TESTS
check("test_backprop_ninja", backward_atomic, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The check table.** The cell below (provided: run it, no need to read it) runs the same atomic
# forward through minigrad's autograd, keeps every intermediate's gradient with `retain_grad()`,
# and prints yours next to it, from the loss backwards. *exact* means the same bits, *close* means
# within `np.allclose`; the first row that DIFFERS is where to look. A name you have not returned
# yet shows as *missing*.

# %%
import minigrad as mg


def minigrad_atomic_gradients(X, y, params, dloss=1.0):
    """forward_atomic's steps in minigrad, every intermediate retained: {name: gradient}."""
    leaves = {name: mg.Tensor(value, requires_grad=True, dtype=mg.float64)
              for name, value in dict(params, X=X).items()}
    kept = {}

    def keep(name, tensor):
        kept[name] = tensor.retain_grad()
        return tensor

    a = keep("a", leaves["X"] @ leaves["W1"] + leaves["b1"])
    mu = keep("mu", a.mean(dim=1, keepdim=True))
    centered = keep("centered", a - mu)
    sq = keep("sq", centered ** 2)
    var = keep("var", sq.mean(dim=1, keepdim=True))
    inv_std = keep("inv_std", (var + NINJA_EPS) ** -0.5)
    normed = keep("normed", centered * inv_std)
    h = keep("h", keep("pre", leaves["gamma"] * normed + leaves["beta"]).tanh())
    logits = keep("logits", h @ leaves["W2"] + leaves["b2"])
    logit_max = keep("logit_max", logits.max(dim=1, keepdim=True))
    exps = keep("exps", keep("shifted", logits - logit_max).exp())
    exp_sum = keep("exp_sum", exps.sum(dim=1, keepdim=True))
    probs = keep("probs", exps * keep("exp_sum_inv", 1.0 / exp_sum))
    log_probs = keep("log_probs", probs.log())
    loss = -log_probs[np.arange(X.shape[0]), y].mean()
    (loss * dloss).backward()
    return {name: tensor.grad for name, tensor in {**kept, **leaves}.items()}


def gradient_table(yours, reference, names):
    """One row per name: shape, exact / close / DIFFERS / missing / wrong shape, max |difference|."""
    print(f"{'gradient':>14} {'shape':>9} {'match':>11} {'max |diff|':>11}")
    for name in names:
        mine, theirs = yours.get(name), reference[name]
        if mine is None:
            match, diff = "missing", float("nan")
        elif np.shape(mine) != np.shape(theirs):
            match, diff = "wrong shape", float("nan")
        else:
            diff = float(np.max(np.abs(mine - theirs)))
            match = ("exact" if np.array_equal(mine, theirs) else "close" if np.allclose(mine, theirs)
                     else "DIFFERS")
        print(f"{'d' + name:>14} {str(np.shape(theirs)):>9} {match:>11} {diff:11.2e}")


rng_ninja = np.random.default_rng(5)
X_ninja, y_ninja = rng_ninja.normal(size=(6, 4)), rng_ninja.integers(0, 3, size=6)
params_ninja = {"W1": rng_ninja.normal(size=(4, 5)) / 2, "b1": rng_ninja.normal(size=5) / 2,
                "gamma": 1 + rng_ninja.normal(size=5) / 4, "beta": rng_ninja.normal(size=5) / 4,
                "W2": rng_ninja.normal(size=(5, 3)) / 2, "b2": rng_ninja.normal(size=3) / 2}
loss_ninja, cache_ninja = forward_atomic(X_ninja, y_ninja, params_ninja)
print(f"loss = {loss_ninja:.6f}   (log 3 = {np.log(3):.6f})")
ninja_reference = minigrad_atomic_gradients(X_ninja, y_ninja, params_ninja)
with skip_if_unanswered(EXERCISES):
    ninja_yours = backward_atomic(cache_ninja, 1.0)
    gradient_table(ninja_yours, ninja_reference, NINJA_GRADIENTS)

# %% [markdown]
# **Check your derivation.** Look at the row of `dlogit_max`: its entries are about $10^{-17}$,
# rounding errors around zero. That is no accident: `shifted = logits - logit_max` subtracts the
# same number from every logit of a row, which leaves the softmax unchanged (section 4), so the
# loss does not depend on `logit_max` at all and its gradient is zero. In the sum
# `dlogit_max = -dshifted.sum(axis=1)`, the row of `dshifted` is $(p - y)/N$ times `dloss`, and
# both $p$ and $y$ sum to 1. (Forgetting that sum, leaving `-dshifted` with shape $N\times C$,
# is the broadcast mistake in its purest form: the values would not even be small.) The max is
# there for the floating-point range only, and the backward pass confirms that it changes nothing.
#
# The main lines, in the order you wrote them:
#
# $$d\,\text{probs} = d\,\text{log\_probs} / \text{probs}, \quad
#   d\,\text{exp\_sum\_inv} = \textstyle\sum_{c}(d\,\text{probs}\odot\text{exps}), \quad
#   d\,\text{exp\_sum} = -d\,\text{exp\_sum\_inv}/\text{exp\_sum}^2,$$
#
# $$d\,\text{exps} = d\,\text{probs}\odot\text{exp\_sum\_inv} + d\,\text{exp\_sum}, \quad
#   d\,\text{shifted} = d\,\text{exps}\odot\text{exps}, \quad
#   d\,\text{logits} = d\,\text{shifted} + [\text{logits} = \max]\odot d\,\text{logit\_max},$$
#
# with every $\sum_c$ keeping its row ($N\times 1$) and every $N\times 1$ term broadcast back over
# its row. In the normalisation, $d\,\text{centered}$ collects
# $d\,\text{normed}\odot\text{inv\_std}$ from `normed` and $2\,\text{centered}\odot d\,\text{sq}$ from
# `sq`, and $da = d\,\text{centered} + d\mu/H$ from its two uses.
#
# **Collapse it.** The eight lines from `dlog_probs` down to `dlogits` are the atomic version of
# one line you already wrote in Exercise 3: the softmax cross-entropy's
# $d\,\text{logits} = (P - Y)/N$. With `dloss` $= 1$ both must agree:

# %%
with skip_if_unanswered(EXERCISES):
    _, dlogits_collapsed = softmax_cross_entropy(cache_ninja["logits"], y_ninja)
    print("dlogits from the atomic chain equals softmax_cross_entropy's (P - Y) / N:",
          np.allclose(ninja_yours["logits"], dlogits_collapsed, rtol=1e-12, atol=1e-15))

# %% [markdown]
# ## 8. Any depth: a stack of layers, and three sanity checks
#
# Nothing in `two_layer_loss` is special to two layers. A network of $L$ affine layers with a
# ReLU after every one but the last is a loop over your layer pairs:
#
# $$h_0 = X,\qquad z_l = h_{l-1} W_l + b_l,\qquad h_l = \text{ReLU}(z_l)\ (l < L),\qquad
#   L_{\text{loss}} = \text{CE}(\text{softmax}(z_L), y).$$
#
# The parameters are a dict `{"W1", "b1", ..., "WL", "bL"}` ($W_l$ of shape
# $n_{l-1}\times n_l$), so $L = 2$ is exactly the network of Exercise 5, and $L = 1$ is softmax
# regression (no ReLU at all).
#
# ### Exercise 7 (2 points): `mlp_loss`
#
# `mlp_loss(params, X, y)` returns `(loss, grads)` with one gradient per parameter. Count the
# layers from the keys (`len(params) // 2`), keep each layer's caches in a list on the way up and
# use them in reverse on the way down.
#
# <details><summary>Hint</summary>
#
# Two loops. Up: for $l = 1..L$, `affine_forward`, then (except for $l = L$) `relu_forward`;
# append both caches. Then `softmax_cross_entropy` on the last output. Down: for $l = L..1$,
# (except for $l = L$) `relu_backward` with the ReLU cache of layer $l$, then `affine_backward`
# with its affine cache; the `dx` it returns is the upstream gradient of layer $l - 1$.
#
# </details>

# %% nbgrader={"grade_id": "mlp", "solution": true}
def mlp_loss(params, X, y):
    """Mean softmax cross-entropy of an MLP with layers W1, b1 ... WL, bL (ReLU between them);
    returns (loss, {name: gradient})."""
    ### BEGIN SOLUTION
    depth = len(params) // 2
    h, caches = X, []
    for layer in range(1, depth + 1):
        h, affine_cache = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        relu_cache = None
        if layer < depth:
            h, relu_cache = relu_forward(h)
        caches.append((affine_cache, relu_cache))
    loss, dh = softmax_cross_entropy(h, y)
    grads = {}
    for layer in range(depth, 0, -1):
        affine_cache, relu_cache = caches[layer - 1]
        if relu_cache is not None:
            dh = relu_backward(dh, relu_cache)
        dh, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(dh, affine_cache)
    return loss, grads
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_mlp", "grade": true}
from coursecheck import check

check("test_mlp", mlp_loss)
### BEGIN HIDDEN TESTS
check("test_mlp", mlp_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ### Three sanity checks before any long training run
#
# CS231n's advice for a new network: before spending minutes on training, spend seconds on three
# checks that catch most bugs. Each one is a small function you can reuse on any network: it
# takes a loss function `loss_fn(params, X, y) -> (loss, grads)` shaped like `mlp_loss` (so it
# works on `mlp_loss` itself and on any other network), parameters and data.
#
# 1. **The loss at initialisation.** Start a classifier with a *small* last layer (as `init_mlp`
#    below does): every class then gets nearly the same score, the softmax gives each of the $C$
#    classes a probability of about $1/C$, and the mean cross-entropy must start near
#    $-\log(1/C) = \log C$ ($\log 10 \approx 2.303$ for the ten digits). A loss far from that
#    means a wrong loss or a wrong initialisation, before a single step was taken.
# 2. **Overfit a tiny batch.** A network with thousands of parameters must be able to memorise
#    a handful of examples: plain gradient descent on them alone should drive their loss close to
#    0. If it cannot, the gradients (or the update) are wrong, and no amount of data will help.
# 3. **A gradient check of the whole stack.** Assignment 01's central differences, now on the
#    whole network at once: for a few entries of *every* parameter, move the entry by $\pm h$,
#    evaluate the loss, and compare the slope with the gradient `loss_fn` returned. A bug in one
#    layer shows up in that layer's parameters only, so checking one parameter is not enough.
#
# ### Exercise 8 (2 points): `initial_loss_check`, `overfit_tiny_batch`, `stack_gradient_check`
#
# - `initial_loss_check(loss_fn, params, X, y, num_classes, tol=0.1)` returns
#   `(loss, expected, passed)`: the loss `loss_fn` gives at `params`, the loss a uniform guess
#   over the classes has, and whether the two are within `tol`.
# - `overfit_tiny_batch(loss_fn, params, X, y, steps, lr)` runs `steps` steps of plain gradient
#   descent (every parameter moves by `-lr` times its gradient) on the batch `(X, y)` and returns
#   `(params, losses)`: the parameters after the last step and the list of the losses *before*
#   each step (`losses[0]` is the loss at the parameters you were given, `len(losses) == steps`).
#   Leave the dict you were given unchanged.
# - `stack_gradient_check(loss_fn, params, X, y, h=1e-5)` returns one number: the largest, over
#   the parameters, of the relative error between the gradient `loss_fn` returned and central
#   differences of its loss at a few entries of that parameter (a handful per parameter is
#   enough). Use assignment 01's relative error, $\max|a - n| \,/\, \max(10^{-8}, \max(|a| + |n|))$
#   over the entries you checked, with $a$ the analytic and $n$ the numerical slopes.
#
# The grader calls your checks with loss functions of its own (stacks with tanh between the
# layers, some initialised badly, some with a bug planted in one parameter's gradient) and
# expects them to tell right from wrong; those loss functions return gradients only at the
# `params` you are given (`None` anywhere else), which is all a check needs. The overfitting run
# trains with your `mlp_loss`. You may use your own functions of assignment 01 here, written in
# this cell, but no library that differentiates.
#
# <details><summary>Hint 1: the initial loss</summary>
#
# Two numbers to compare: `loss_fn(params, X, y)[0]` and the cross-entropy of a prediction
# that gives every class the same probability. Which logarithm does the cross-entropy use?
#
# </details>
#
# <details><summary>Hint 2: overfitting</summary>
#
# A loop of `steps` iterations: evaluate `loss, grads = loss_fn(params, X, y)`, record the loss,
# then build the next dict of parameters from `params[name]` and `grads[name]`. Building a new
# dict (rather than `-=` on the arrays you were given) leaves the caller's parameters alone.
#
# </details>
#
# <details><summary>Hint 3: the gradient check</summary>
#
# Take the analytic gradients once, at `params`. Then, for each parameter and each of a few
# random indices into it (`np.unravel_index` turns a flat index into one), evaluate the loss with
# that one entry moved to `value + h` and to `value - h` (on a copy, and put the entry back
# before the next one), and take the slope $(L_+ - L_-) / 2h$. Collect the analytic and numerical
# slopes of one parameter in two arrays, compute their relative error, and keep the largest over
# all the parameters.
#
# </details>

# %% nbgrader={"grade_id": "sanity_checks", "solution": true}
def initial_loss_check(loss_fn, params, X, y, num_classes, tol=0.1):
    """(loss at params, the loss of a uniform guess over num_classes, whether they are within tol)."""
    ### BEGIN SOLUTION
    loss, _ = loss_fn(params, X, y)
    expected = np.log(num_classes)
    return float(loss), float(expected), bool(abs(loss - expected) < tol)
    ### END SOLUTION


def overfit_tiny_batch(loss_fn, params, X, y, steps, lr):
    """`steps` steps of plain gradient descent on (X, y) alone; returns (final params, losses)
    with losses[k] the loss before step k + 1."""
    ### BEGIN SOLUTION
    params = {name: value.copy() for name, value in params.items()}
    losses = []
    for _ in range(steps):
        loss, grads = loss_fn(params, X, y)
        losses.append(float(loss))
        params = {name: value - lr * grads[name] for name, value in params.items()}
    return params, losses
    ### END SOLUTION


def stack_gradient_check(loss_fn, params, X, y, h=1e-5, entries=5, seed=0):
    """Largest relative error, over the parameters, between loss_fn's gradient and central
    differences of its loss at `entries` random entries of each parameter."""
    ### BEGIN SOLUTION
    _, grads = loss_fn(params, X, y)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for name, value in params.items():
        moved = dict(params, **{name: value.copy()})
        analytic, numeric = [], []
        for flat in rng.choice(value.size, size=min(entries, value.size), replace=False):
            index = np.unravel_index(flat, value.shape)
            moved[name][index] = value[index] + h
            plus, _ = loss_fn(moved, X, y)
            moved[name][index] = value[index] - h
            minus, _ = loss_fn(moved, X, y)
            moved[name][index] = value[index]
            numeric.append((plus - minus) / (2 * h))
            analytic.append(grads[name][index])
        analytic, numeric = np.array(analytic), np.array(numeric)
        error = np.max(np.abs(analytic - numeric)) / max(1e-8, np.max(np.abs(analytic) + np.abs(numeric)))
        worst = max(worst, float(error))
    return worst
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_sanity_checks", "grade": true}
from coursecheck import check

check("test_sanity_checks", initial_loss_check, overfit_tiny_batch, stack_gradient_check, mlp_loss)
### BEGIN HIDDEN TESTS
check("test_sanity_checks", initial_loss_check, overfit_tiny_batch, stack_gradient_check, mlp_loss,
      hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your reasoning.** The expected loss is $\log C$ with the natural logarithm (the
# cross-entropy's). The overfitting run is the training loop of section 13 without the data:
# `losses` should fall from about $\log C$ towards 0. A relative error around $10^{-9}$ means the
# gradients are right (central differences with $h = 10^{-5}$ in float64 are that accurate); a
# wrong factor in one parameter's gradient gives an error of order 1 ($|1 - f| / (1 + |f|)$ for a
# factor $f$), whichever of its entries you happen to check, which is why a handful suffices.
#
# Now the three checks on a four-layer `mlp_loss` and the digits. The parameters come from
# `init_mlp` (read-only): He initialisation for the hidden layers (section 9 says why) and a small
# last layer.

# %% nbgrader={"grade_id": "init_mlp", "locked": true}
def init_mlp(sizes, seed, last_scale=0.01):
    """{"W1", "b1", ...}: He-initialised hidden layers (std sqrt(2 / fan_in)), zero biases, and a
    last layer scaled by last_scale so that every class starts with nearly the same score."""
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        scale = last_scale if layer == len(sizes) - 1 else np.sqrt(2.0 / fan_in)
        params[f"W{layer}"] = rng.normal(size=(fan_in, fan_out)) * scale
        params[f"b{layer}"] = np.zeros(fan_out)
    return params

# %%
from sklearn.datasets import load_digits

digits_sanity = load_digits()
X_sanity, y_sanity = digits_sanity.data / 16.0, digits_sanity.target
sizes_sanity = (64, 100, 100, 100, 10)    # four affine layers
with skip_if_unanswered(EXERCISES):
    for scale in (0.01, 1.0):  # a small last layer, then one initialised like the hidden layers
        loss_at_init, log_c, passed = initial_loss_check(
            mlp_loss, init_mlp(sizes_sanity, seed=0, last_scale=scale), X_sanity[:500], y_sanity[:500], 10)
        print(f"1. last layer of std {scale}: loss at initialisation {loss_at_init:.4f}, log C = {log_c:.4f}: "
              + ("as expected" if passed else "FAR FROM log C"))

# %%
with skip_if_unanswered(EXERCISES):
    X_tiny_batch, y_tiny_batch = X_sanity[:20], y_sanity[:20]
    params_tiny, losses_tiny = overfit_tiny_batch(mlp_loss, init_mlp(sizes_sanity, seed=1),
                                                  X_tiny_batch, y_tiny_batch, steps=200, lr=0.5)
    h_tiny = X_tiny_batch
    for layer in range(1, 5):
        h_tiny = h_tiny @ params_tiny[f"W{layer}"] + params_tiny[f"b{layer}"]
        h_tiny = np.maximum(h_tiny, 0) if layer < 4 else h_tiny
    accuracy_tiny = float(np.mean(h_tiny.argmax(axis=1) == y_tiny_batch))
    print(f"2. 200 steps on 20 examples: loss {losses_tiny[0]:.3f} -> {losses_tiny[-1]:.2e}, accuracy on "
          f"them {accuracy_tiny:.0%}: "
          + ("memorised" if accuracy_tiny == 1.0 else "NOT MEMORISED: check the gradients and the update"))

# %%
with skip_if_unanswered(EXERCISES):
    rng_gc = np.random.default_rng(2)
    params_gc = {name: value + 0.1 * rng_gc.normal(size=value.shape)
                 for name, value in init_mlp((5, 6, 4, 3), seed=2, last_scale=0.5).items()}
    X_gc, y_gc = rng_gc.normal(size=(4, 5)), rng_gc.integers(0, 3, size=4)
    print(f"3. gradient check of mlp_loss: worst relative error "
          f"{stack_gradient_check(mlp_loss, params_gc, X_gc, y_gc):.1e}")

    def mlp_loss_with_a_bug(params, X, y):
        """mlp_loss with the classic slip of averaging one bias gradient over the batch."""
        loss, grads = mlp_loss(params, X, y)
        return loss, dict(grads, b2=grads["b2"] / len(X))

    print(f"   the same with db2 averaged over the batch: worst relative error "
          f"{stack_gradient_check(mlp_loss_with_a_bug, params_gc, X_gc, y_gc):.1e}")

# %% [markdown]
# ## 9. Vanishing and exploding gradients: a lab
#
# Why did `init_mlp` scale the weights by $\sqrt{2/n_{l-1}}$? In a deep stack the backward pass
# multiplies the gradient by one factor per layer: $W_l^\top$ and the activation's local
# derivative. If those factors are a little below 1 in size, the gradient that reaches the first
# layers shrinks geometrically with depth (it *vanishes*: the first layers barely learn); a little
# above 1, it grows geometrically (it *explodes*). Two things set the size of the factors:
#
# * **the activation.** The sigmoid's derivative $s(1-s)$ is at most $\tfrac14$, and near 0 when
#   the sigmoid saturates; tanh's $1 - t^2$ is at most 1; ReLU's is exactly 1 where it is active.
# * **the initialisation.** A weight matrix with entries of standard deviation $\sigma$ scales a
#   vector of width $n$ by about $\sigma\sqrt{n}$. **Xavier** (Glorot) initialisation takes
#   $\sigma = \sqrt{1/n}$, which keeps that factor near 1 for tanh around 0; **He** takes
#   $\sigma = \sqrt{2/n}$, which makes up for the half of its inputs a ReLU sets to 0.
#
# A **residual** connection, $h_l = h_{l-1} + f(h_{l-1})$, adds an identity path: its backward pass
# is $dh_{l-1} = dh_l + (\ldots)$, so the gradient reaches every layer at least unchanged
# (section 7's rule: a tensor used twice adds up).
#
# The widget below runs a batch of 128 random inputs through a stack of width 64 (every layer
# $h_l = f(h_{l-1} W_l)$), sends a random upstream gradient into the top, and plots
# $\lVert dW_l\rVert$ for every layer. Try: sigmoid at depth 20 with each initialisation; tanh with
# Xavier; ReLU with a small initialisation and with He; then tick *residual*.

# %%
WIDTH, BATCH = 64, 128
INIT_STD = {"small N(0, 0.01)": lambda n: 0.01, "Xavier": lambda n: np.sqrt(1.0 / n),
            "He": lambda n: np.sqrt(2.0 / n)}
ACTIVATIONS = {  # (f, f' written with the output s = f(z) and the input z)
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda s, z: s * (1 - s)),
    "tanh": (np.tanh, lambda s, z: 1 - s ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda s, z: (z > 0).astype(float)),
}


def gradient_norms(depth, activation, init, residual=False, seed=0):
    """||dL/dW_l|| for l = 1..depth of a stack h_l = f(h_{l-1} W_l) (+ h_{l-1} if residual) of
    width WIDTH on BATCH random inputs, for a random upstream gradient at the top."""
    rng = np.random.default_rng(seed)
    f, df = ACTIVATIONS[activation]
    weights = [rng.normal(size=(WIDTH, WIDTH)) * INIT_STD[init](WIDTH) for _ in range(depth)]
    h, inputs, local = rng.normal(size=(BATCH, WIDTH)), [], []
    for W in weights:
        z = h @ W
        s = f(z)
        inputs.append(h)
        local.append(df(s, z))
        h = h + s if residual else s
    dh = rng.normal(size=h.shape) / BATCH
    norms = np.zeros(depth)
    for layer in range(depth - 1, -1, -1):
        dz = dh * local[layer]
        norms[layer] = np.linalg.norm(inputs[layer].T @ dz)
        dh = dz @ weights[layer].T + (dh if residual else 0.0)
    return norms


for name in ("sigmoid", "tanh", "relu"):
    for init in INIT_STD:
        n = gradient_norms(20, name, init)
        print(f"{name:>7}, {init:>16}: |dW_1| = {n[0]:8.1e}, |dW_20| = {n[-1]:8.1e}, ratio {n[0] / n[-1]:8.1e}")

# %%
try:
    from minigrad.viz import gradient_flow_explorer
except ImportError:  # no ipywidgets: the same numbers as a static picture
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(8.2, 3.0), sharey=True)
    for ax, name in zip(axes, ACTIVATIONS):
        for init in INIT_STD:
            ax.semilogy(np.arange(1, 21), gradient_norms(20, name, init), label=init)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("layer")
    axes[0].set_ylabel("|dL/dW|")
    axes[0].legend(fontsize=7)
    plt.show()
    print("(install ipywidgets for the interactive version)")
else:
    from IPython.display import display

    display(gradient_flow_explorer(gradient_norms, activations=tuple(ACTIVATIONS), inits=tuple(INIT_STD),
                                   depth=20, depth_range=(2, 50)))

# %% [markdown]
# ### Question 3 (1 point): what the lab shows
#
# Set the depth to 20, leave *residual* unticked, and try the activations and initialisations
# above before you read on. Which plain stack gives every layer's weights a gradient of about the
# same, useful size (neither vanishing nor exploding), and why?
#
# * **(a)** Sigmoid with He initialisation: the larger weights make up for the sigmoid's small slope.
# * **(b)** ReLU with He initialisation: ReLU's slope is exactly 1 on the half of its inputs that
#   are active, and He's variance $2/n$ makes up for the half it sets to 0, so each layer's
#   backward factor stays near 1.
# * **(c)** ReLU with the small initialisation $N(0, 0.01)$: the ratio $\lVert dW_1\rVert / \lVert dW_{20}\rVert$
#   is the same as with He, so the gradients flow just as well.
# * **(d)** Any activation and initialisation once *residual* is ticked: the identity path passes the
#   gradient to every layer unchanged, so nothing can vanish or explode.
#
# Make `choice_gradient_flow` return your letter, e.g. `return "a"`. As for question 1, the test
# cell only checks that you returned one of the letters.

# %% nbgrader={"grade_id": "choice_gradient_flow", "solution": true}
def choice_gradient_flow():
    """Your answer to question 3: one of "a", "b", "c", "d"."""
    ### BEGIN SOLUTION
    return "b"
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_choice_gradient_flow", "grade": true}
from coursecheck import check

check("test_choice_gradient_flow", choice_gradient_flow)
### BEGIN HIDDEN TESTS
check("test_choice_gradient_flow", choice_gradient_flow, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# What the lab shows: with sigmoid the gradient shrinks at every layer (its slope is at most
# $\tfrac14$), so at depth 20 the first layer's gradient is 9 to 12 orders of magnitude below the
# last one's, and no initialisation saves it. With tanh and Xavier, or ReLU and He, the norms of
# all layers stay within a small factor of each other and of a useful size. With a small
# initialisation every activation shrinks layer by layer, and so does every gradient: the
# norms are $10^{-20}$ or smaller (ReLU with Xavier, half of He's variance, loses a factor
# $\sqrt 2$ per layer instead; for ReLU the *ratio* between layers does not even change with the
# scale, since a ReLU network is positively homogeneous; the sizes tell the story). The residual
# connection keeps the early layers' gradients alive even where the plain stack loses them, and
# shows the other failure: a residual ReLU stack with He initialisation *explodes* (norms near
# $10^4$ at depth 20), because every block adds its full-size branch to the identity. This
# is why deep networks use ReLU-like activations, He or Xavier initialisation,
# normalisation layers (section 7's) and residual connections (assignment 04).

# %% [markdown]
# ## 10. Shared weights
#
# The lecture's second example uses one matrix twice: $Y = \text{ReLU}(XW)\,W$ with the L2 loss
# between $Y$ and $X$, $L = \tfrac12\lVert Y - X\rVert^2$ (summed, no $1/N$), $X$ of shape
# $N\times D$ and $W$ of shape $D\times D$. Name the intermediate values $Z_1 = XW$,
# $Z_2 = \text{ReLU}(Z_1)$, $Y = Z_2 W$, all $N\times D$; $dW$ is $D\times D$. The rule to start
# from is the one of every fork: a tensor used twice collects a gradient from each use, and the
# multivariate chain rule adds them up.
#
# **A scalar case.** $N = D = 1$, $x = 1$, $w = 2$: $Z_1 = 2$, $Z_2 = 2$, $Y = 4$ and
# $L = \tfrac12(4 - 1)^2 = 4.5$. While $xw > 0$, $Y = x w^2$, so $\mathrm{d}L/\mathrm{d}w =
# (Y - x)\cdot 2xw = 3 \cdot 4 = 12$. A derivation that sees only one of the two uses of $w$ gets
# $6$ here.
#
# ### Exercise 9 (2 points): `shared_weight_loss`
#
# Return `(loss, dW)`. You may use your layer functions or write the few lines directly.
#
# <details><summary>Hint 1</summary>
#
# Pretend the two uses are different matrices: $Z_1 = X W_a$ and $Y = Z_2 W_b$. Backpropagate as in
# the two-layer net to get $dW_a$ and $dW_b$ with the affine rules you derived; then set
# $W_a = W_b = W$. Start from $dY$, the gradient of $\tfrac12\lVert Y - X\rVert^2$ by $Y$ (summed, no
# $1/N$).
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# $dW = dW_b + dW_a$. $dW_b$ needs only $Z_2$ and $dY$; $dW_a$ needs the gradient to travel from
# $Y$ back through its other input $Z_2$ and through the ReLU to $Z_1$, and then the affine rule
# with input $X$. In the scalar case each use contributes $6$.
#
# </details>

# %% nbgrader={"grade_id": "shared_weights", "solution": true}
def shared_weight_loss(X, W):
    """L = 0.5 * ||relu(X W) W - X||^2 for X (N, D), W (D, D); returns (loss, dW (D, D))."""
    ### BEGIN SOLUTION
    Z1 = X @ W
    Z2 = np.maximum(Z1, 0.0)
    Y = Z2 @ W
    dY = Y - X
    loss = 0.5 * np.sum(dY ** 2)
    dZ1 = (dY @ W.T) * (Z1 > 0)
    return float(loss), Z2.T @ dY + X.T @ dZ1
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_shared_weights", "grade": true}
from coursecheck import check

check("test_shared_weights", shared_weight_loss)
### BEGIN HIDDEN TESTS
check("test_shared_weights", shared_weight_loss, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your derivation.**
#
# $$dY = Y - X,\quad dZ_2 = dY\,W^\top,\quad dZ_1 = dZ_2 \odot [Z_1 > 0],$$
#
# and $W$ receives a gradient from **each** of its two uses, which add up (the multivariate chain
# rule sums over every path from $W$ to $L$):
#
# $$dW = \underbrace{Z_2^\top\, dY}_{\text{second use}} + \underbrace{X^\top dZ_1}_{\text{first use}} .$$
#
# In the scalar case: $Z_2\,dY = 2\cdot 3 = 6$ and $x\,dZ_1 = 1\cdot(3\cdot 2) = 6$, together $12$.
# How much each use contributes, on a random example: neither part alone is the gradient.

# %%
Xs, Ws = rng.normal(size=(5, 4)), rng.normal(size=(4, 4)) / 2
with skip_if_unanswered(EXERCISES):
    _, dW_shared = shared_weight_loss(Xs, Ws)
    Z2s = np.maximum(Xs @ Ws, 0)
    second_use = Z2s.T @ (Z2s @ Ws - Xs)
    print(f"|dW| = {np.linalg.norm(dW_shared):.4f}, |second use| = {np.linalg.norm(second_use):.4f}, "
          f"|first use| = {np.linalg.norm(dW_shared - second_use):.4f}")

# %% [markdown]
# ## 11. Indexing with repeated indices: an embedding layer
#
# An embedding layer looks rows up in a table: for a matrix $W$ of shape $V\times D$ and
# integer indices `idx` of length $N$, $\text{out}_n = W_{\text{idx}_n}$. Row $v$ of $W$ is copied
# into every output row $n$ with $\text{idx}_n = v$, and into no other; $dW$ has $W$'s shape
# $V\times D$. A case to check against: $V = 3$, $D = 1$, $\text{idx} = (0, 2, 2)$ and
# $\text{dout} = (1, 2, 3)^\top$ must give $dW = (1, 0, 5)^\top$.
#
# ### Exercise 10 (2 points): `embedding_forward` and `embedding_backward`
#
# <details><summary>Hint 1</summary>
#
# A row picked by several $n$ is a fork: it collects the sum of their gradients. A row nobody
# picked gets zero. A plain Python loop over $n$ that adds $\text{dout}_n$ into row
# $\text{idx}_n$ of a zero array is correct; then look for the NumPy call that does the same.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The tempting `dW[idx] += dout` is wrong when an index repeats: NumPy reads `dW[idx]` once, adds,
# and writes back, so a row picked twice keeps only one of its gradients (you would get $3$
# instead of $5$ above). `np.add.at(dW, idx, dout)` adds every contribution.
#
# </details>

# %% nbgrader={"grade_id": "embedding", "solution": true}
def embedding_forward(W, idx):
    """out[n] = W[idx[n]] for W (V, D), integer idx (N,); returns (out (N, D), cache)."""
    ### BEGIN SOLUTION
    return W[idx], (idx, W.shape)
    ### END SOLUTION


def embedding_backward(dout, cache):
    """dout (N, D) -> dW (V, D); rows of repeated indices add up."""
    ### BEGIN SOLUTION
    idx, shape = cache
    dW = np.zeros(shape)
    np.add.at(dW, idx, dout)
    return dW
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_embedding", "grade": true}
from coursecheck import check

check("test_embedding", embedding_forward, embedding_backward)
### BEGIN HIDDEN TESTS
check("test_embedding", embedding_forward, embedding_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **Check your derivation.** $dW_v = \sum_{n:\ \text{idx}_n = v} \text{dout}_n$, which
# `np.add.at(dW, idx, dout)` computes on a zero array; the buffered `dW[idx] += dout` keeps one
# contribution per row:

# %%
idx_demo = np.array([0, 2, 2, 2])
dout_demo = np.ones((4, 1))
buffered = np.zeros((3, 1))
buffered[idx_demo] += dout_demo
print("dW[idx] += dout  :", buffered.ravel())
with skip_if_unanswered(EXERCISES):
    print("embedding_backward:", embedding_backward(dout_demo, embedding_forward(np.zeros((3, 1)), idx_demo)[1]).ravel())

# %% [markdown]
# ## 12. SGD with momentum and weight decay
#
# Plain gradient descent steps $w \leftarrow w - \eta\, g$. Momentum keeps a velocity $v$, a running
# sum of past gradients that decays by the factor $\mu$ each step, and steps along it; weight
# decay adds $\lambda w$ to the gradient (the gradient of $\tfrac{\lambda}{2}\lVert w\rVert^2$),
# pulling the weights toward 0. PyTorch's `torch.optim.SGD` does, at every step,
#
# $$g = dw + \lambda w, \qquad v \leftarrow \mu v + g, \qquad w \leftarrow w - \eta v ,$$
#
# with $v = 0$ before the first step. **This is the SGD-momentum convention of this course, and it
# is PyTorch's:** `v = mu * v + g`, then `p -= lr * v`. (CS231n writes $v \leftarrow \mu v - \eta g$,
# $w \leftarrow w + v$: the same parameters as long as the learning rate is fixed, but a velocity
# $-\eta$ times PyTorch's, so velocities are not comparable between the two.) The velocity must
# survive from one step to the next: that is the whole point.
#
# ### Exercise 11 (2 points): `sgd_momentum`
#
# `sgd_momentum(w, dw, v, lr, momentum, weight_decay)` performs one step and returns the new
# `(w, v)`. It is graded over several steps against `torch.optim.SGD`: parameters and velocities.

# %% nbgrader={"grade_id": "sgd_momentum", "solution": true}
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    """One step of torch.optim.SGD with momentum and weight decay; w, dw, v of one shape -> (w, v)."""
    ### BEGIN SOLUTION
    g = dw + weight_decay * w
    v = momentum * v + g
    return w - lr * v, v
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_sgd_momentum", "grade": true}
from coursecheck import check

check("test_sgd_momentum", sgd_momentum)
### BEGIN HIDDEN TESTS
check("test_sgd_momentum", sgd_momentum, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Momentum in a ravine: the quadratic $\tfrac12(w_1^2 + 25 w_2^2)$ is steep in one direction and
# shallow in the other. Plain SGD (momentum 0) must use a small step to stay stable in the steep
# direction and then crawls along the shallow one; with momentum the velocity builds up along the
# valley floor.

# %%
import matplotlib.pyplot as plt

curvature = np.array([1.0, 25.0])
with skip_if_unanswered(EXERCISES):
    paths = {}
    for mu in (0.0, 0.7):
        w_path, v_path = np.array([-2.0, 1.0]), np.zeros(2)
        path = [w_path]
        for _ in range(30):
            w_path, v_path = sgd_momentum(w_path, curvature * w_path, v_path, 0.035, mu)
            path.append(w_path)
        paths[mu] = np.array(path)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    grid_1, grid_2 = np.meshgrid(np.linspace(-2.2, 0.4, 80), np.linspace(-1.1, 1.1, 80))
    ax.contour(grid_1, grid_2, 0.5 * (grid_1 ** 2 + 25 * grid_2 ** 2), levels=15, colors="0.7", linewidths=0.6)
    for (mu, path), style in zip(paths.items(), ("o-", "s-")):
        ax.plot(path[:, 0], path[:, 1], style, ms=3,
                label=f"momentum {mu}: |w| after 30 steps = {np.linalg.norm(path[-1]):.3f}")
    ax.legend(fontsize=8)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    plt.show()

# %% [markdown]
# ## 13. Training a digit classifier with your own gradients
#
# Everything is in place: scikit-learn's 8×8 digits (1797 images of 64 pixels, scaled to
# $[0, 1]$), your `two_layer_loss` for the gradients and your `sgd_momentum` for the updates.
# The read-only cell below initialises the parameters (He initialisation: $W_1$ with standard
# deviation $\sqrt{2/D}$, so the ReLU layer's outputs neither vanish nor explode; zero biases).

# %% nbgrader={"grade_id": "init", "locked": true}
def init_two_layer(D, H, C, seed):
    """{"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}: He-initialised weights, zero biases."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(D, H)) * np.sqrt(2.0 / D), "b1": np.zeros(H),
            "W2": rng.normal(size=(H, C)) * np.sqrt(2.0 / H), "b2": np.zeros(C)}

# %% [markdown]
# ### Exercise 12 (3 points): `train`
#
# First one step: `train_step(params, velocity, X, y, lr, momentum, weight_decay)` takes the
# gradients of `two_layer_loss` on the minibatch `X`, `y` and updates every parameter with
# `sgd_momentum`, each with its own velocity (`velocity` is a dict with the same keys and shapes
# as `params`); it returns the new `(params, velocity)`.
#
# Then `train(X, y, seed, callback=None)` trains a two-layer network on images `X` ($N\times 64$)
# with labels `y` and returns its parameters (a dict like `init_two_layer`'s). Start from
# `init_two_layer(64, H, 10, seed)` and zero velocities; each epoch, shuffle the examples (with a
# generator seeded by `seed`), walk through them in minibatches, and take one `train_step` per
# minibatch. If `callback` is given, call `callback(epoch, params)` once before training (epoch 0)
# and after every epoch; the demonstration below uses it to draw the training curve.
#
# It is graded on one `train_step` from given parameters, velocities, minibatch and settings (it
# must match `torch.optim.SGD` on the same network's gradient), then on the parameters `train`
# returns: their accuracy on 359 test images that `train` never sees must reach 93% (and 80% for
# part of the points), within 20 times the CPU time that the settings below take. The accuracy
# counts only when the step is right: a network trained some other way teaches nothing about
# backpropagation. Settings that work: $H = 128$, batches of 32, learning rate 0.05, momentum
# 0.9, weight decay $10^{-4}$, 10 epochs; that takes a fraction of a second and reaches about
# 97% (more epochs gain little here).

# %% nbgrader={"grade_id": "train", "solution": true}
def train_step(params, velocity, X, y, lr, momentum, weight_decay):
    """One minibatch step: two_layer_loss's gradients on X (B, D), y (B,), then sgd_momentum on
    every parameter with its own velocity (dicts keyed like params) -> (params, velocity)."""
    ### BEGIN SOLUTION
    _, grads = two_layer_loss(params, X, y)
    new_params, new_velocity = {}, {}
    for name in params:
        new_params[name], new_velocity[name] = sgd_momentum(params[name], grads[name], velocity[name],
                                                            lr, momentum, weight_decay)
    return new_params, new_velocity
    ### END SOLUTION


def train(X, y, seed=0, callback=None):
    """Train a two-layer MLP on X (N, 64), integer labels y (N,); returns its parameter dict."""
    ### BEGIN SOLUTION
    hidden, batch, epochs = 128, 32, 10
    lr, momentum, weight_decay = 0.05, 0.9, 1e-4
    params = init_two_layer(X.shape[1], hidden, 10, seed)
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    rng = np.random.default_rng(seed)
    if callback:
        callback(0, params)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start:start + batch]
            params, velocity = train_step(params, velocity, X[rows], y[rows], lr, momentum, weight_decay)
        if callback:
            callback(epoch, params)
    return params
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_train", "grade": true}
from coursecheck import check

check("test_train", train_step, train)
### BEGIN HIDDEN TESTS
check("test_train", train_step, train, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Now watch it learn. The same split as the visible test: 80% of the images for training, 20%
# held out. The curve redraws while the loop runs (only as often as keeps its cost small).

# %%
import time

from IPython.display import display
from sklearn.datasets import load_digits

from minigrad import viz

digits = load_digits()
X_all, y_all = digits.data / 16.0, digits.target
order = np.random.default_rng(0).permutation(len(X_all))
n_test = int(round(0.2 * len(X_all)))
X_test, y_test = X_all[order[:n_test]], y_all[order[:n_test]]
X_train, y_train = X_all[order[n_test:]], y_all[order[n_test:]]


def scores_of(params, X):
    h, _ = relu_forward(affine_forward(X, params["W1"], params["b1"])[0])
    return affine_forward(h, params["W2"], params["b2"])[0]


def accuracy_of(params, X, y):
    return float(np.mean(scores_of(params, X).argmax(axis=1) == y))


snapshots = []


def record(epoch, params):
    snapshots.append({name: value.copy() for name, value in params.items()})
    curve.update(epoch, train_loss=softmax_cross_entropy(scores_of(params, X_train), y_train)[0],
                 val_loss=softmax_cross_entropy(scores_of(params, X_test), y_test)[0],
                 train_acc=accuracy_of(params, X_train, y_train), val_acc=accuracy_of(params, X_test, y_test))


# total: the epochs of the settings suggested above (more epochs extend the axis)
curve = viz.LiveTrainingCurve(total=10, log_scale=True, title="your two-layer MLP on digits",
                              metrics=["train_loss", "val_loss", "train_acc", "val_acc"])  # held out: "val", as in 04
display(curve)
trained = None  # stays None while Exercise 12 is unanswered; the landscape cell below checks it
with skip_if_unanswered(EXERCISES):
    started = time.perf_counter()
    with curve:
        trained = train(X_train, y_train, seed=0, callback=record)
    seconds = time.perf_counter() - started
    print(f"validation (held-out) accuracy {accuracy_of(trained, X_test, y_test):.4f} after {seconds:.1f} s "
          f"(the curve took {curve.overhead_seconds:.2f} s of it)")

# %% [markdown]
# ### The loss landscape around the trained weights
#
# Two views from `minigrad.viz`, both on the training set. First, the loss along random
# directions through the trained weights, *filter-normalised* (Li et al., 2018): each output
# unit's slice of a random direction is rescaled to the norm of that unit's weights, so that
# "distance 1" means the same for every layer; biases stay fixed. Second, the straight line from
# the initial to the trained weights (Goodfellow et al., 2015). The widgets expect a model with
# `named_parameters()`; the small adapter below presents our parameter dict that way, with weights
# stored as (outputs, inputs) like PyTorch's so that a filter is one output unit.

# %%
class ArrayParameter:
    """A parameter as minigrad.viz expects one: .data (an array) and .shape."""

    def __init__(self, data):
        self.data = data

    shape = property(lambda self: self.data.shape)


class ParameterDict:
    """Our {"W1", "b1", "W2", "b2"} as a model with named_parameters(), weights as (out, in)."""

    def __init__(self, params):
        self.parameters = {name: ArrayParameter(value.T.copy() if value.ndim == 2 else value.copy())
                           for name, value in params.items()}

    def named_parameters(self):
        return iter(self.parameters.items())

    def as_params(self):
        return {name: p.data.T if p.data.ndim == 2 else p.data for name, p in self.parameters.items()}


def training_loss(model):
    return softmax_cross_entropy(scores_of(model.as_params(), X_train), y_train)[0]


with skip_if_unanswered(EXERCISES):
    if trained is None:
        raise NotImplementedError("train")
    model = ParameterDict(trained)
    start_arrays = viz.parameter_arrays(ParameterDict(snapshots[0]))
    # 8.2 inches at 100 dpi fit JupyterLab's output area in a 1280-px window unscaled (the browser
    # test measures 848 px), so the labels stay legible
    fig, axes = plt.subplots(1, 3, figsize=(8.2, 3.3))
    print("computing the losses (about 10 s): 1-D slice (41 points) ...", end="", flush=True)
    viz.plot_landscape_1d(viz.landscape_1d(model, training_loss, distance=1.0, resolution=41), ax=axes[0],
                          log_scale=True)
    print(" 2-D slice (25 x 25) ...", end="", flush=True)
    viz.plot_landscape_2d(viz.landscape_2d(model, training_loss, distance=1.0, resolution=25), ax=axes[1])
    print(" straight line from the start ...", end="", flush=True)
    viz.plot_landscape_1d(viz.linear_interpolation(model, training_loss, start_arrays), ax=axes[2],
                          log_scale=True)  # the line ends at the trained weights, marked as on the other panels
    print(" done.")
    fig.tight_layout()
    plt.show()

# %% [markdown]
# The trained weights sit in a wide, smooth basin, and on the straight line from the initial
# weights the loss falls without a bump, although SGD did not walk along that line.
#
# ## Summary
#
# * A gradient has the shape of its tensor. Derive it entry by entry with the multivariate chain
#   rule, then vectorise; let the shapes pick the one product that fits.
# * Affine layer: $dW = x^\top\text{dout}$, $dx = \text{dout}\,W^\top$, $db = \sum_n \text{dout}_n$.
#   Elementwise layers multiply by the local derivative; ReLU masks with its own input.
# * Softmax with cross-entropy: all of the Jacobian, not only its diagonal, collapses to
#   $(P - Y)/N$; subtract the row maximum to stay finite.
# * A tensor used twice (a shared weight, a broadcast bias, a repeated index) collects the sum of
#   the gradients of all its uses.
# * Backpropagation never builds a Jacobian: each layer applies its transpose to the upstream
#   gradient, and a few matrix products per layer train a real classifier in seconds.
