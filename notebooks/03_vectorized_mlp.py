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
             "two_layer_loss": 5, "shared_weight_loss": 6, "embedding_forward": 7,
             "embedding_backward": 7, "sgd_momentum": 8, "train_step": 9, "train": 9}

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
# ### Exercise 1 (4 points): `affine_forward` and `affine_backward`
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
# ### Exercise 2 (3 points): three forward/backward pairs
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
# ### Exercise 3 (4 points): `softmax_cross_entropy`
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
# ### Exercise 5 (4 points): `two_layer_loss`
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
# ## 7. Shared weights
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
# ### Exercise 6 (3 points): `shared_weight_loss`
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
# ## 8. Indexing with repeated indices: an embedding layer
#
# An embedding layer looks rows up in a table: for a matrix $W$ of shape $V\times D$ and
# integer indices `idx` of length $N$, $\text{out}_n = W_{\text{idx}_n}$. Row $v$ of $W$ is copied
# into every output row $n$ with $\text{idx}_n = v$, and into no other; $dW$ has $W$'s shape
# $V\times D$. A case to check against: $V = 3$, $D = 1$, $\text{idx} = (0, 2, 2)$ and
# $\text{dout} = (1, 2, 3)^\top$ must give $dW = (1, 0, 5)^\top$.
#
# ### Exercise 7 (2 points): `embedding_forward` and `embedding_backward`
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
# ## 9. SGD with momentum and weight decay
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
# ### Exercise 8 (3 points): `sgd_momentum`
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
# ## 10. Training a digit classifier with your own gradients
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
# ### Exercise 9 (3 points): `train`
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
# part of the points), and it must finish within 60 seconds. The accuracy counts only when the
# step is right: a network trained some other way teaches nothing about backpropagation.
# Settings that work: $H = 128$, batches of 32, learning rate 0.05, momentum 0.9, weight decay
# $10^{-4}$, 25 epochs; that takes a second or two and reaches about 97%.

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
    hidden, batch, epochs = 128, 32, 25
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


curve = viz.LiveTrainingCurve(total=25, log_scale=True, title="your two-layer MLP on digits",
                              metrics=["train_loss", "val_loss", "train_acc", "val_acc"])  # held out: "val", as in 04
display(curve)
trained = None  # stays None while Exercise 9 is unanswered; the landscape cell below checks it
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
