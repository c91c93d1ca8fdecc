# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 04 — Backward through convolution, pooling, a residual block and attention
#
# The networks that see and read are built from four ideas beyond the fully connected layer:
# **convolution** (one small kernel slid over an image), **pooling** (keeping the largest or
# the average value of each window), **skip connections** (adding a block's input to its
# output) and **attention** (a softmax over how well a query matches each key). Each has a
# backward pass with a reputation for being mysterious: the kernel that has to be flipped, the
# gradient that goes to a single entry of a window, the gradient that adds up at a skip, the
# softmax Jacobian hidden inside attention. In this notebook you derive each one by hand, write
# it with NumPy, check it against PyTorch on random shapes, and finally train a small
# convolutional network built from your own layers.
#
# Every layer follows the same pattern as in assignment 03:
#
# * `layer_forward(inputs...) -> (out, cache)` computes the output and keeps in `cache` whatever
#   the backward pass will need;
# * `layer_backward(dout, cache) -> gradients`, where `dout` is $\partial L/\partial\,\text{out}$,
#   the gradient of the loss with respect to the layer's output (same shape as `out`), and each
#   returned gradient has the shape of the input it belongs to.
#
# Images come as arrays of shape `(N, C, H, W)`: batch, channels, height, width.
#
# **How this notebook is graded.** Each exercise gives you a function whose body reads
# `# YOUR CODE HERE` and `raise NotImplementedError()`: replace those two lines with your code, in
# that cell (the *answer cell*). The test cell below each one runs a few visible checks so that
# you can see whether you are on track and, if not, what is wrong. When grading, more and larger
# hidden tests are run on inputs drawn at grading time: random shapes (including sizes of 1 and
# non-square kernels and images), random strides and paddings, random upstream gradients, and, in
# every backward exercise, one case far too large for a finite-difference gradient to finish in
# the time limit.
# Every gradient is compared with PyTorch's and also with a numerical derivative of *your own*
# forward function, so the feedback can tell "your forward is wrong" from "your backward
# disagrees with your forward". The grader runs only the read-only setup cells and your answer
# cells, in order, so an answer cell must not rely on variables from the demonstration cells.
# Use NumPy only: `torch`, `minigrad`, `scipy` and other differentiation libraries are not
# available to graded code in this assignment.

# %% nbgrader={"grade_id": "setup", "locked": true}
import numpy as np

# %%
# Demonstration cells say which exercise they need while it is not answered yet, and Run All
# carries on. (Graded code never uses this.)
from coursecheck import skip_if_unanswered

EXERCISES = {"conv2d_forward": 1, "conv2d_backward": 2, "relu_forward": 3, "relu_backward": 3,
             "max_pool2d_forward": 4, "max_pool2d_backward": 4, "avg_pool2d_forward": 5,
             "avg_pool2d_backward": 5, "residual_forward": 6, "residual_backward": 6,
             "softmax_jacobian": 7, "lecture_attention_backward": 7, "attention_forward": 8,
             "attention_backward": 8}

# %% [markdown]
# Two helpers that every layer below uses. `conv_output_size` is the output length of a window
# of size $k$ sliding with stride $s$ over an input of size $n$ padded with $p$ zeros on each
# side: the last window must start at or before $n + 2p - k$, so there are
# $\lfloor (n + 2p - k) / s \rfloor + 1$ of them. (When $n + 2p - k$ is not a multiple of $s$,
# the last few rows or columns are never read.)
#
# `sliding_windows` returns all windows of an already padded array at once, as a NumPy *view*
# of shape `(N, C, Ho, Wo, kh, kw)`: entry `[n, c, i, j, p, q]` is `x[n, c, i*s + p, j*s + q]`.
# No data is copied; the view only tells NumPy how many bytes to step for each index
# (`np.lib.stride_tricks.as_strided`). This is the "im2col" trick: once every window is an axis
# of an array, a convolution is one tensor contraction.

# %% nbgrader={"grade_id": "helpers", "locked": true}
def conv_output_size(size, kernel, stride=1, padding=0):
    """Number of windows along one axis: (size + 2*padding - kernel) // stride + 1."""
    if stride < 1 or padding < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got stride={stride}, padding={padding}")
    if kernel > size + 2 * padding:
        raise ValueError(f"a window of size {kernel} does not fit in an input of size {size} "
                         f"padded with {padding} zeros on each side: use a smaller kernel or more padding")
    return (size + 2 * padding - kernel) // stride + 1


def sliding_windows(x, kh, kw, stride=1):
    """Read-only view of every kh x kw window of x (N, C, H, W), stride apart (x already padded).

    -> (N, C, Ho, Wo, kh, kw) with [n, c, i, j, p, q] = x[n, c, i*stride + p, j*stride + q]."""
    N, C, H, W = x.shape
    Ho, Wo = conv_output_size(H, kh, stride), conv_output_size(W, kw, stride)
    sN, sC, sH, sW = x.strides
    return np.lib.stride_tricks.as_strided(x, shape=(N, C, Ho, Wo, kh, kw),
                                           strides=(sN, sC, sH * stride, sW * stride, sH, sW),
                                           writeable=False)

# %% [markdown]
# ## 1. Convolution as a sum over windows: one channel
#
# Start with the lecture's setting: one input channel $I$ of size $H \times W$, one kernel $K$ of
# size $h \times w$, no padding, stride 1. Output entry $(i, j)$ is the kernel laid on the window
# whose top-left corner is $(i, j)$ (indices from 0):
#
# $$J(i, j) = \sum_{l=0}^{h-1} \sum_{m=0}^{w-1} I(i + l,\, j + m)\, K(l, m), \qquad J \text{ of size } (H - h + 1) \times (W - w + 1).$$
#
# (Deep-learning libraries call this a convolution; mathematicians call it a *correlation*,
# written $J = I \star K$: a true convolution would flip the kernel first.)
#
# **Gradient of the kernel.** Every output touches every kernel entry:
# $\partial J(i, j) / \partial K(p, q) = I(i + p, j + q)$. The chain rule sums over all outputs,
#
# $$\delta K(p, q) = \sum_{i, j} \frac{\partial J(i,j)}{\partial K(p,q)}\, \delta J(i, j) = \sum_{i,j} I(i + p,\, j + q)\, \delta J(i, j), \qquad\text{that is}\qquad \boxed{\delta K = I \star \delta J}:$$
#
# the input correlated with the upstream gradient, which has exactly the size of the kernel.
#
# **Gradient of the input.** Input pixel $(a, b)$ sits in the windows of every output $(i, j)$
# with $0 \le a - i \le h-1$ and $0 \le b - j \le w-1$, where it is multiplied by
# $K(a - i, b - j)$. So
#
# $$\delta I(a, b) = \sum_{i, j} K(a - i,\, b - j)\, \delta J(i, j),$$
#
# summing over the outputs that exist. Substitute $l = a - i$: this is $\sum_{l, m} K(l, m)\,
# \delta J(a - l, b - m)$, where the index of $\delta J$ runs *backwards* as the kernel index runs
# forwards. Reversing the kernel's index turns it into a correlation again. With
# $\mathrm{flip}(K)(l, m) = K(h-1-l,\, w-1-m)$ and $\delta J$ padded with $h-1$ rows of zeros above
# and below and $w-1$ columns left and right (so that the windows that stick out of $\delta J$
# read zeros),
#
# $$\boxed{\delta I = \mathrm{pad}(\delta J) \star \mathrm{flip}(K)}, \qquad \mathrm{pad}(\delta J) \text{ of size } (H + h - 1) \times (W + w - 1).$$
#
# The lecture's example of the flip: the kernel is turned by 180°, rows and columns reversed.

# %%
K_lecture = np.array([[1, 3, 5], [2, 4, 6]])
print("K =\n", K_lecture, "\nflip(K) =\n", K_lecture[::-1, ::-1])
assert K_lecture[::-1, ::-1].tolist() == [[6, 4, 2], [5, 3, 1]]

# %% [markdown]
# The three formulas with loops, exactly as written, and a check of both gradients against
# central differences of $L = \sum_{i,j} \delta J(i,j)\, J(i,j)$ (whose gradient with respect to
# $J$ is $\delta J$, a random upstream gradient).

# %%
def correlate2d_loops(image, kernel):
    """J(i, j) = sum_lm image(i + l, j + m) kernel(l, m), no padding, stride 1; loops only."""
    h, w = kernel.shape
    out = np.zeros((image.shape[0] - h + 1, image.shape[1] - w + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for l in range(h):
                for m in range(w):
                    out[i, j] += image[i + l, j + m] * kernel[l, m]
    return out


def numerical_gradient(f, x, h=1e-5):
    """Central differences of f: array -> float, one entry at a time (assignment 01)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + h / 2
        plus = f(x)
        x[index] = saved - h / 2
        minus = f(x)
        x[index] = saved
        grad[index] = (plus - minus) / h
    return grad


rng = np.random.default_rng(0)
I1, K1 = rng.normal(size=(5, 6)), K_lecture.astype(float)
dJ1 = rng.normal(size=correlate2d_loops(I1, K1).shape)
h1, w1 = K1.shape
dK1 = correlate2d_loops(I1, dJ1)                                             # δK = I ⋆ δJ
dI1 = correlate2d_loops(np.pad(dJ1, ((h1 - 1, h1 - 1), (w1 - 1, w1 - 1))), K1[::-1, ::-1])  # δI
loss_of = lambda image, kernel: float(np.sum(dJ1 * correlate2d_loops(image, kernel)))
print("δK: max difference to finite differences",
      np.abs(dK1 - numerical_gradient(lambda k: loss_of(I1, k), K1.copy())).max())
print("δI: max difference to finite differences",
      np.abs(dI1 - numerical_gradient(lambda i: loss_of(i, K1), I1.copy())).max())
wrong = correlate2d_loops(np.pad(dJ1, ((h1 - 1, h1 - 1), (w1 - 1, w1 - 1))), K1)
print("δI without the flip is off by", np.abs(wrong - dI1).max())

# %% [markdown]
# ## 2. Channels, filters, stride and padding
#
# A real convolution layer takes a batch of $N$ images with $C$ channels each and applies $F$
# filters, each of shape $C \times k_h \times k_w$ with one bias $b_f$. With zero padding $p$
# (`x_pad` is `x` with $p$ zeros added on each side of both spatial axes) and stride $s$,
#
# $$\text{out}[n, f, i, j] = b_f + \sum_{c=0}^{C-1} \sum_{p'=0}^{k_h-1} \sum_{q'=0}^{k_w-1} x_{\text{pad}}[n, c,\, i s + p',\, j s + q']\; w[f, c, p', q'],$$
#
# for $0 \le i < H_o = \lfloor (H + 2p - k_h)/s \rfloor + 1$ and likewise $j < W_o$. Stride $s$
# only moves where window $(i, j)$ starts: at row $i s$ and column $j s$ of the padded input.
#
# ### Exercise 1 (3 points): `conv2d_forward`
#
# Implement the formula for `x` of shape `(N, C, H, W)`, `w` of shape `(F, C, kh, kw)`, `b` of
# shape `(F,)` and integers `stride`, `padding` (the same for both axes). Return `(out, cache)`
# with `out` of shape `(N, F, Ho, Wo)`; put in `cache` what your backward pass will need.
# Vectorise it: `np.pad` for the padding, `sliding_windows` for the windows, then one
# `np.tensordot` or `np.einsum` over the channel and kernel axes. If the channels of `x` and `w`
# disagree, raise a `ValueError` that says so.

# %% nbgrader={"grade_id": "conv2d_forward", "solution": true}
def conv2d_forward(x, w, b, stride=1, padding=0):
    """Convolution layer (a correlation, as in every deep-learning library).

    x: (N, C, H, W), w: (F, C, kh, kw), b: (F,) -> out: (N, F, Ho, Wo), cache."""
    ### BEGIN SOLUTION
    if x.ndim != 4 or w.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"x must be (N, C, H, W) and w (F, C, kh, kw) with the same C; "
                         f"got x {x.shape} and w {w.shape}")
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_windows(x_pad, w.shape[2], w.shape[3], stride)       # (N, C, Ho, Wo, kh, kw)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))             # (N, Ho, Wo, F)
    out = out.transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out, (x, w, b, stride, padding)
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_conv2d_forward", "grade": true}
from coursecheck import check

check("test_conv2d_forward", conv2d_forward)
### BEGIN HIDDEN TESTS
check("test_conv2d_forward", conv2d_forward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# Loops against the vectorised version: the same numbers, and how much faster one contraction
# is than a Python loop over every batch entry, filter and output position.

# %%
import time


def conv2d_forward_loops(x, w, b, stride=1, padding=0):
    """The formula with Python loops over n, f, i, j (one window product each)."""
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    F, _, kh, kw = w.shape
    Ho = conv_output_size(x.shape[2], kh, stride, padding)
    Wo = conv_output_size(x.shape[3], kw, stride, padding)
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for n in range(x.shape[0]):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    window = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def best_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


x_t, w_t, b_t = rng.normal(size=(4, 3, 16, 16)), rng.normal(size=(8, 3, 3, 3)), rng.normal(size=8)
with skip_if_unanswered(EXERCISES):
    print("same result:", np.allclose(conv2d_forward_loops(x_t, w_t, b_t, 2, 1), conv2d_forward(x_t, w_t, b_t, 2, 1)[0]))
    vectorised = best_time(lambda: conv2d_forward(x_t, w_t, b_t, 1, 1))
    loops = best_time(lambda: conv2d_forward_loops(x_t, w_t, b_t, 1, 1), repeat=1)
    print(f"loops {loops * 1e3:.1f} ms, vectorised {vectorised * 1e3:.2f} ms: {loops / vectorised:.0f} times faster")

# %% [markdown]
# ## 3. The backward pass of a convolution layer
#
# Section 1 worked the case of one channel, one filter and stride 1 to the end. The full layer
# is the same derivation with more indices, and you now do it yourself. Start from the one local
# fact every convolution gradient comes from: in output $(n, f, i, j)$ the weight
# $w[f, c, p', q']$ multiplies exactly one number, $x_{\text{pad}}[n, c,\, i s + p',\, j s + q']$,
# and $b_f$ is added once:
#
# $$\frac{\partial\, \text{out}[n, f, i, j]}{\partial\, w[f, c, p', q']} = x_{\text{pad}}[n, c,\, i s + p',\, j s + q'], \qquad \frac{\partial\, \text{out}[n, f, i, j]}{\partial\, x_{\text{pad}}[n, c,\, i s + p',\, j s + q']} = w[f, c, p', q'], \qquad \frac{\partial\, \text{out}[n, f, i, j]}{\partial\, b_f} = 1 .$$
#
# The chain rule then adds up, over every output that used a number, `dout` times that local
# derivative.
#
# **Shapes.** `dout` is `(N, F, Ho, Wo)`; `db` is `(F,)`, `dw` is `(F, C, kh, kw)` and `dx` is
# `(N, C, H, W)`, the shape of `x`, not of the padded input. For each gradient ask which indices
# of `dout` it does not carry: those are the ones the chain rule sums over.
#
# **A small case to try your reasoning on.** One image, one channel, one filter with a
# $1 \times 1$ kernel $w = 2$, stride 2, no padding, and a $3 \times 3$ input. The output is
# $2 \times 2$ and reads only the four corners: $\text{out}[i, j] = 2\, x[2i, 2j] + b$. With
# $\text{dout} = \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}$ the chain rule gives $\delta b = 10$,
# $\delta w = x[0, 0] + 2\,x[0, 2] + 3\,x[2, 0] + 4\,x[2, 2]$, and a $\delta x$ that is
# $2\,\text{dout}$ at the corners and 0 at the five entries no window read. Your general code
# must reproduce exactly this.
#
# ### Exercise 2 (5 points): `conv2d_backward`
#
# Given `dout` of shape `(N, F, Ho, Wo)` and the cache of `conv2d_forward`, return
# `(dx, dw, db)` with the shapes of `x`, `w` and `b`. A loop over the kernel offsets with a
# vectorised update is the simplest fast version (a loop over output positions is fine too);
# what the time limit of the large hidden case rules out is a numerical gradient.
#
# <details><summary>Hint 1</summary>
#
# Do `db` first: $b_f$ is in every output of filter $f$, for every image and every position.
# For `dw`, compare with section 1's $\delta K = I \star \delta J$: the same windows of the padded
# input that your forward pass read, now weighted by `dout` instead of by `w`. For `dx`, start
# from zeros shaped like the *padded* input, let every output send its share back to the entries
# its window read, and cut the padding off at the end.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `sliding_windows(x_pad, kh, kw, stride)` has shape `(N, C, Ho, Wo, kh, kw)`; contracting it with
# `dout` over the axes $n, i, j$ that both carry (`np.tensordot` with two lists of axes) leaves
# `(F, C, kh, kw)`. For `dx`, fix one kernel offset $(p', q')$: the entries read at that offset
# are the strided slice `dx_pad[:, :, p':p' + s*(Ho-1) + 1:s, q':q' + s*(Wo-1) + 1:s]`, of shape
# `(N, C, Ho, Wo)`, and each receives $\sum_f \text{dout}[n, f, i, j]\, w[f, c, p', q']$. Add it
# (`+=`) for all $k_h k_w$ offsets: where windows overlap the contributions accumulate.
#
# </details>

# %% nbgrader={"grade_id": "conv2d_backward", "solution": true}
def conv2d_backward(dout, cache):
    """Gradients of conv2d_forward. dout: (N, F, Ho, Wo) -> dx (N, C, H, W), dw (F, C, kh, kw), db (F,)."""
    ### BEGIN SOLUTION
    x, w, b, stride, padding = cache
    H, W = x.shape[2:]
    kh, kw = w.shape[2:]
    Ho, Wo = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    db = dout.sum(axis=(0, 2, 3))
    dw = np.tensordot(dout, sliding_windows(x_pad, kh, kw, stride), axes=([0, 2, 3], [0, 2, 3]))
    dx_pad = np.zeros(x_pad.shape)
    for p in range(kh):
        for q in range(kw):
            # output (i, j) read x_pad[i*stride + p, j*stride + q] with weight w[:, :, p, q]
            dx_pad[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                np.tensordot(dout, w[:, :, p, q], axes=([1], [0])).transpose(0, 3, 1, 2)
    dx = dx_pad[:, :, padding:padding + H, padding:padding + W]
    return dx, dw, db
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_conv2d_backward", "grade": true}
from coursecheck import check

check("test_conv2d_backward", conv2d_forward, conv2d_backward)
### BEGIN HIDDEN TESTS
check("test_conv2d_backward", conv2d_forward, conv2d_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The derivation, to compare with yours** (read it once your test cell passes).
#
# * **Bias.** $b_f$ is added to every output of filter $f$, for every image:
#   $\;\delta b_f = \sum_{n, i, j} \text{dout}[n, f, i, j]$.
# * **Weights.** Summing the local derivative over all outputs that use $w[f, c, p', q']$:
#   $$\delta w[f, c, p', q'] = \sum_{n, i, j} \text{dout}[n, f, i, j]\; x_{\text{pad}}[n, c,\, i s + p',\, j s + q'],$$
#   the padded input correlated with `dout` (the lecture's $\delta K = I \star \delta J$, with the
#   window positions $i s$ of the forward pass): one contraction of `sliding_windows` with `dout`
#   over the axes $n, i, j$.
# * **Input.** Output $(n, f, i, j)$ read $x_{\text{pad}}[n, c, i s + p', j s + q']$ with weight
#   $w[f, c, p', q']$, so it sends $\text{dout}[n, f, i, j]\, w[f, c, p', q']$ back to exactly that
#   position, and each position adds up what all outputs send it:
#   $$\delta x_{\text{pad}}[n, c,\, i s + p',\, j s + q'] \mathrel{+}= \sum_f \text{dout}[n, f, i, j]\; w[f, c, p', q'] \quad\text{for all } i, j, p', q'.$$
#   For stride 1 this is the lecture's $\delta I = \mathrm{pad}(\delta J) \star \mathrm{flip}(K)$,
#   summed over filters. For stride $s$ the outputs sit $s$ input positions apart: put $s - 1$
#   zeros between neighbouring entries of `dout` ("dilate" it) and the stride-1 formula holds
#   again. A loop over the $k_h k_w$ offsets $(p', q')$, each updating a strided slice for all
#   $n, c, i, j$ at once, is the fast way to write it.
# * **Padding.** The padded zeros are not parameters: compute $\delta x_{\text{pad}}$, then cut
#   `padding` rows and columns off every side so that `dx` has the shape of `x`. Rows and columns
#   no window reached (when $H + 2p - k_h$ is not a multiple of $s$) keep gradient 0.
#
# Your backward on the single-channel example of section 1 must reproduce the lecture's two
# formulas, and on a strided, padded layer it must agree with finite differences. Then the
# reason the grader can tell a derived gradient from a numerical one: the cost of finite
# differences grows with the number of inputs, your backward's does not.

# %%
x_s, w_s, b_s = rng.normal(size=(2, 2, 7, 6)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=3)
x_big, w_big, b_big = rng.normal(size=(6, 4, 45, 38)), rng.normal(size=(8, 4, 3, 4)), rng.normal(size=8)
with skip_if_unanswered(EXERCISES):
    _, cache1 = conv2d_forward(I1[None, None], K1[None, None], np.zeros(1))
    dx1, dw1, _ = conv2d_backward(dJ1[None, None], cache1)
    print("δK = I ⋆ δJ:", np.allclose(dw1[0, 0], dK1), "  δI = pad(δJ) ⋆ flip(K):", np.allclose(dx1[0, 0], dI1))

    out_s, cache_s = conv2d_forward(x_s, w_s, b_s, stride=2, padding=1)
    dout_s = rng.normal(size=out_s.shape)
    dx_s, dw_s, db_s = conv2d_backward(dout_s, cache_s)
    strided_loss = lambda x_, w_: float(np.sum(dout_s * conv2d_forward(x_, w_, b_s, 2, 1)[0]))
    print("stride 2, padding 1: dx error", np.abs(dx_s - numerical_gradient(lambda v: strided_loss(v, w_s), x_s.copy())).max(),
          " dw error", np.abs(dw_s - numerical_gradient(lambda v: strided_loss(x_s, v), w_s.copy())).max())

    out_big, cache_big = conv2d_forward(x_big, w_big, b_big, 2, 1)
    forward_seconds = best_time(lambda: conv2d_forward(x_big, w_big, b_big, 2, 1))
    backward_seconds = best_time(lambda: conv2d_backward(out_big, cache_big))
    n_inputs = x_big.size + w_big.size + b_big.size
    print(f"{n_inputs} inputs: backward {backward_seconds * 1e3:.1f} ms; finite differences would need "
          f"{2 * n_inputs} forward passes, about {2 * n_inputs * forward_seconds:.0f} s")

# %% [markdown]
# ### Question 1 (1 point): why is the kernel flipped?
#
# In one dimension with stride 1, the forward pass computes $y_i = \sum_k K_k\, x_{i+k}$ (a
# cross-correlation, as PyTorch computes it). The input gradient is the padded upstream gradient
# correlated with the *flipped* kernel. Why flipped?
#
# * **(a)** Read backwards, input $x_j$ feeds the outputs $y_{j-k}$ through $K_k$: as the output
#   index goes up the kernel index goes down, so $\partial L/\partial x_j = \sum_k K_k\, \partial L/\partial y_{j-k}$
#   runs through the kernel in reverse.
# * **(b)** The forward pass flipped the kernel, and the backward pass undoes that flip.
# * **(c)** The flip is the transpose of the kernel, as in the matrix rule $dX = W^\top dY$.
# * **(d)** It is a convention: the unflipped kernel gives the same gradient.
#
# Make `choice_kernel_flip` return your letter, e.g. `return "b"`. The test cell only checks that
# you returned one of the letters; whether it is the right one is decided when your notebook is
# graded.

# %% nbgrader={"grade_id": "choice_kernel_flip", "solution": true}
def choice_kernel_flip():
    """Your answer to question 1: one of "a", "b", "c", "d"."""
    ### BEGIN SOLUTION
    return "a"
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_choice_kernel_flip", "grade": true}
from coursecheck import check

check("test_choice_kernel_flip", choice_kernel_flip)
### BEGIN HIDDEN TESTS
check("test_choice_kernel_flip", choice_kernel_flip, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. ReLU on feature maps
#
# $y = \max(x, 0)$ entry by entry: each output entry depends on one input entry only, so the
# whole backward pass is the scalar derivative of $\max(x, 0)$, applied entry by entry and
# multiplied by `dout`. Work that derivative out on each side of 0 (a slope to the left, a
# slope to the right).
#
# **The kink.** At $x = 0$ ReLU has no derivative: the slope is 0 on the left and 1 on the
# right, and every value in $[0, 1]$ is a valid *subgradient* there. Usually any of them would
# do, but this exercise **states a convention**: use **0** at $x = 0$, as PyTorch's `relu` does, so
# that one answer can be checked exactly where inputs are exactly 0 (after a max-pool or a
# clipped input they are; the visible test has such zeros). A central finite difference across
# the kink returns $\tfrac12$, the average of the two slopes: also a valid subgradient, but not
# the stated convention, and exactly half of `dout` at the zeros usually means a numerical
# gradient slipped into the backward pass.
#
# ### Exercise 3 (2 points): `relu_forward`, `relu_backward`
#
# For an array of any shape. Return `(out, cache)` from the forward pass and `dx` from the
# backward pass.
#
# <details><summary>Hint 1</summary>
#
# The derivative is an array of 0s and 1s with the shape of `x`, decided by the sign of each
# entry. So the forward pass must keep `x` (or that mask) in its cache.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Compare the cached `x` with 0 and multiply `dout` by the boolean result; a strict `>` gives the
# 0 of the convention at $x = 0$.
#
# </details>

# %% nbgrader={"grade_id": "relu", "solution": true}
def relu_forward(x):
    """max(x, 0) entry by entry. x: any shape -> out: x.shape, cache."""
    ### BEGIN SOLUTION
    return np.maximum(x, 0.0), x
    ### END SOLUTION


def relu_backward(dout, cache):
    """dout: shape of x -> dx = dout where x > 0, else 0."""
    ### BEGIN SOLUTION
    return dout * (cache > 0)
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_relu", "grade": true}
from coursecheck import check

check("test_relu", relu_forward, relu_backward)
### BEGIN HIDDEN TESTS
check("test_relu", relu_forward, relu_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The rule:** $\;\delta x = \delta y \odot \mathbb{1}[x > 0]$, the upstream gradient where the
# input was positive and 0 elsewhere (including $x = 0$, by the convention).
#
# The lecture's example: with $\delta y = \begin{bmatrix} \delta y_1 & \delta y_3 \\ \delta y_2 & \delta y_4 \end{bmatrix}$
# and an input whose left column is negative, $\delta x = \begin{bmatrix} 0 & \delta y_3 \\ 0 & \delta y_4 \end{bmatrix}$
# (here $\delta y_k = k$).

# %%
with skip_if_unanswered(EXERCISES):
    _, relu_cache = relu_forward(np.array([[-1.0, 2.0], [-3.0, 0.5]]))
    print(relu_backward(np.array([[1.0, 3.0], [2.0, 4.0]]), relu_cache))

# %% [markdown]
# ## 5. Pooling
#
# **Max pooling** with a $k \times k$ window and stride $s$ keeps the largest entry of each
# window: $y = \max_m x_m$ over the window's entries. Start from the smallest case,
# $y = \max(a, b)$ at $a = 3$, $b = 1$. Nudge $a$ by a small $\varepsilon$ and $y$ moves by
# exactly $\varepsilon$; nudge $b$ and $y$ does not move at all. So at that point
# $\partial y / \partial a = 1$ and $\partial y / \partial b = 0$. A window of $k^2$ entries is the
# same situation with more entries that do not win.
#
# Two details decide whether the code is right.
#
# * **Ties.** When the maximum occurs more than once ($a = b = 3$), $\max$ has no derivative.
#   Any split of $\delta y$ over the tied entries with non-negative shares that add up to
#   $\delta y$ is a valid subgradient, and PyTorch itself uses two of them:
#   `torch.nn.functional.max_pool2d` sends everything to one maximum, while `torch.maximum` and
#   `torch.amax` split it evenly (half each for two). **This exercise states its convention**:
#   each window sends its whole gradient to its *first* maximum in row-major order (what
#   `np.argmax` returns for the flattened window), which is PyTorch's rule for max pooling. It is
#   stated because ties are common here (after a ReLU whole windows are 0), the grader compares
#   with PyTorch's max pooling, and a single stated rule is what the lecture's "one index is
#   chosen" means; an even split would be just as valid mathematically.
# * **Overlapping windows.** When $s < k$ one entry can lie in several windows, and be the
#   maximum of several of them. What must happen to the gradients it receives from each? (Think
#   of a node with several users in a graph.)
#
# ### Exercise 4 (4 points): max pooling
#
# `max_pool2d_forward(x, kernel_size, stride)` for `x` of shape `(N, C, H, W)` and square
# windows returns `(out, cache)` with `out` of shape `(N, C, Ho, Wo)` (no padding);
# `max_pool2d_backward(dout, cache)` returns `dx` of the shape of `x`.
#
# <details><summary>Hint 1</summary>
#
# For each window $(n, c, i, j)$ find *where* its first maximum is: a row $p$ and a column $q$
# inside the window, so at $(i s + p,\, j s + q)$ in `x`. That entry gets `dout[n, c, i, j]`,
# everything else in the window nothing. Loops over $n, c, i, j$ are a fine first version; then
# vectorise. Keep `x` in the cache: the backward pass needs to find the maxima again.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# `sliding_windows(x, k, k, s).reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)` is the flat index of
# each window's first maximum; `np.divmod(flat, k)` turns it into $(p, q)$. Add the window starts
# $i s$ and $j s$, and scatter `dout` there with `np.add.at(dx, (n_index, c_index, rows, cols), dout)`.
# Not `dx[n_index, c_index, rows, cols] += dout`: with overlapping windows the same entry can
# appear twice in the index, and a fancy-index `+=` keeps only one of the two additions.
#
# </details>

# %% nbgrader={"grade_id": "max_pool2d", "solution": true}
def max_pool2d_forward(x, kernel_size, stride):
    """x: (N, C, H, W) -> out: (N, C, Ho, Wo), the maximum of each window; cache."""
    ### BEGIN SOLUTION
    out = sliding_windows(x, kernel_size, kernel_size, stride).max(axis=(4, 5))
    return out, (x, kernel_size, stride)
    ### END SOLUTION


def max_pool2d_backward(dout, cache):
    """dout: (N, C, Ho, Wo) -> dx: (N, C, H, W), each window's gradient at its first maximum."""
    ### BEGIN SOLUTION
    x, k, stride = cache
    N, C, Ho, Wo = dout.shape
    flat = sliding_windows(x, k, k, stride).reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)
    p, q = np.divmod(flat, k)                      # row and column inside the window
    rows = np.arange(Ho)[None, None, :, None] * stride + p
    cols = np.arange(Wo)[None, None, None, :] * stride + q
    dx = np.zeros_like(x, dtype=np.float64)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_max_pool2d", "grade": true}
from coursecheck import check

check("test_max_pool2d", max_pool2d_forward, max_pool2d_backward)
### BEGIN HIDDEN TESTS
check("test_max_pool2d", max_pool2d_forward, max_pool2d_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The rule, to check yours:** within a window, only the maximum influences $y$ and $y$ moves
# one for one with it, so
#
# $$\delta x_m = \begin{cases} \delta y & \text{if } m \text{ is the window's (first) maximum},\\ 0 & \text{otherwise,}\end{cases}$$
#
# and an entry that lies in several windows adds up what each sends it (`+=` or `np.add.at`,
# never `=`), exactly as at a fork in a graph.
#
# The lecture's $2 \times 2$, stride-2 example. With
# $\delta y = \begin{bmatrix} \delta y_1 & \delta y_3 \\ \delta y_2 & \delta y_4 \end{bmatrix}$ the
# lecture's picture puts the four maxima so that
# $\delta x = \begin{bmatrix} 0 & 0 & \delta y_3 & 0 \\ 0 & \delta y_1 & 0 & 0 \\ \delta y_2 & 0 & 0 & 0 \\ 0 & 0 & 0 & \delta y_4 \end{bmatrix}$;
# here is an input with its maxima there, and $\delta y_k = k$. Below it, overlapping windows
# (kernel 3, stride 1): the entry that is the maximum of several windows collects all their
# gradients.

# %%
x_pool = np.array([[[[1.0, 2.0, 8.0, 3.0], [0.0, 5.0, 6.0, 1.0],
                     [7.0, 3.0, 2.0, 4.0], [1.0, 4.0, 0.0, 9.0]]]])
with skip_if_unanswered(EXERCISES):
    y_pool, pool_cache = max_pool2d_forward(x_pool, 2, 2)
    print("y =\n", y_pool[0, 0], "\ndx =\n", max_pool2d_backward(np.array([[[[1.0, 3.0], [2.0, 4.0]]]]), pool_cache)[0, 0])
    _, overlap_cache = max_pool2d_forward(x_pool, 3, 1)
    print("kernel 3, stride 1, dout all ones: dx =\n", max_pool2d_backward(np.ones((1, 1, 2, 2)), overlap_cache)[0, 0])

# %% [markdown]
# **Average pooling** outputs the mean of the $k^2$ entries of each window instead of the
# largest: for a $2 \times 2$ window, $y = (a + b + c + d)/4$, and now every entry influences $y$.
#
# ### Exercise 5 (2 points): average pooling
#
# Same interface: `avg_pool2d_forward(x, kernel_size, stride) -> (out, cache)` and
# `avg_pool2d_backward(dout, cache) -> dx`.
#
# <details><summary>Hint 1</summary>
#
# Differentiate $y = (a + b + c + d)/4$ with respect to $a$, then generalise to $k^2$ entries. As in
# max pooling, an entry in several overlapping windows collects a share from each. The backward
# pass needs only the shape of `x`, `k` and the stride, not the values.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Loop over the $k^2$ offsets $(p, q)$ inside the window: the entries at offset $(p, q)$ of all
# windows form the strided slice `dx[:, :, p:p + s*(Ho-1) + 1:s, q:q + s*(Wo-1) + 1:s]`, which has
# the shape of `dout`. Add each window's share to it with `+=`.
#
# </details>

# %% nbgrader={"grade_id": "avg_pool2d", "solution": true}
def avg_pool2d_forward(x, kernel_size, stride):
    """x: (N, C, H, W) -> out: (N, C, Ho, Wo), the mean of each window; cache."""
    ### BEGIN SOLUTION
    out = sliding_windows(x, kernel_size, kernel_size, stride).mean(axis=(4, 5))
    return out, (x.shape, kernel_size, stride)
    ### END SOLUTION


def avg_pool2d_backward(dout, cache):
    """dout: (N, C, Ho, Wo) -> dx: (N, C, H, W); each window spreads dout / k**2 over its entries."""
    ### BEGIN SOLUTION
    shape, k, stride = cache
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(shape)
    for p in range(k):
        for q in range(k):
            dx[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += dout / (k * k)
    return dx
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_avg_pool2d", "grade": true}
from coursecheck import check

check("test_avg_pool2d", avg_pool2d_forward, avg_pool2d_backward)
### BEGIN HIDDEN TESTS
check("test_avg_pool2d", avg_pool2d_forward, avg_pool2d_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The rule:** every entry of a window gets $\delta y / k^2$ from that window, and the shares of
# overlapping windows add up. Unlike max pooling there is no kink and no tie to decide.
#
# %% [markdown]
# ## 6. One training step: conv → ReLU → max-pool
#
# The lecture puts the pieces together in a three-layer network without padding, stride 1 for
# the convolution and $2 \times 2$ max pooling with stride 2. Its names: the input $x$
# ($3 \times 5$ here), the kernel $W$ ($2 \times 2$), the convolution's output $J$ ($2 \times 4$),
# the ReLU's output $K$, and the pooled output $O$ ($1 \times 2$). The loss is half the squared
# distance to the ideal output $IO = [7, 10]$:
#
# $$L = \tfrac12 \lVert IO - O \rVert^2, \qquad \delta O = O - IO.$$
#
# Backpropagation runs the layers in reverse: $\delta O \to \delta K$ (max-pool backward),
# $\delta K \to \delta J$ (ReLU backward), $\delta J \to \delta W$ (conv backward; $\delta x$ is
# not needed because nothing precedes the convolution), and a gradient-descent step
# $W \leftarrow W - \eta\, \delta W$. The lecture asks to verify the numbers with PyTorch's
# autograd: the cell below does (this demonstration cell may use torch; your graded code may not).

# %%
x_ex = np.array([[[[1.0, 2.0, 0.0, 3.0, 1.0], [0.0, 1.0, 2.0, 1.0, 2.0], [2.0, 1.0, 1.0, 0.0, 3.0]]]])
W_ex = np.array([[[[2.0, -1.0], [1.0, 0.5]]]])
ideal, lr = np.array([7.0, 10.0]), 0.01

try:
    import torch
except ImportError:
    torch = None
    print('torch is not installed: the comparisons with PyTorch are skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')

with skip_if_unanswered(EXERCISES):
    J, conv_cache = conv2d_forward(x_ex, W_ex, np.zeros(1))
    K_ex, relu_cache_ex = relu_forward(J)
    O, pool_cache_ex = max_pool2d_forward(K_ex, 2, 2)
    loss = 0.5 * np.sum((ideal - O.reshape(2)) ** 2)
    dO = (O.reshape(2) - ideal).reshape(O.shape)
    dK = max_pool2d_backward(dO, pool_cache_ex)
    dJ = relu_backward(dK, relu_cache_ex)
    _, dW, _ = conv2d_backward(dJ, conv_cache)
    print("J =\n", J[0, 0], "\nK =\n", K_ex[0, 0], "\nO =", O.reshape(2), " loss =", loss)
    print("δO =", dO.reshape(2), "\nδK =\n", dK[0, 0], "\nδJ =\n", dJ[0, 0], "\nδW =\n", dW[0, 0])

    W_new = W_ex - lr * dW
    O_new = max_pool2d_forward(relu_forward(conv2d_forward(x_ex, W_new, np.zeros(1))[0])[0], 2, 2)[0]
    print("after one step: O =", O_new.reshape(2), " loss =", 0.5 * np.sum((ideal - O_new.reshape(2)) ** 2))

    if torch is not None:
        W_t = torch.tensor(W_ex, requires_grad=True)
        O_t = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(torch.tensor(x_ex), W_t)), 2, 2)
        loss_t = 0.5 * ((torch.tensor(ideal) - O_t.reshape(2)) ** 2).sum()
        loss_t.backward()
        print("torch: O =", O_t.detach().numpy().reshape(2), " δW =\n", W_t.grad.numpy()[0, 0])
        print("your δW equals torch's:", np.allclose(dW, W_t.grad.numpy(), rtol=1e-12, atol=0))

# %% [markdown]
# Only two entries of $\delta J$ are non-zero, one per pooling window: everything else either
# lost the max-pool competition or was switched off by the ReLU. $\delta W$ is the input
# correlated with that sparse $\delta J$, and one small step already moves $O$ toward $[7, 10]$.
#
# ## 7. The residual block
#
# A residual block adds its input to the output of two convolutions with a ReLU between them:
#
# $$z = \mathrm{conv}(\mathrm{relu}(\mathrm{conv}(x, w_1)), w_2) + x .$$
#
# Both convolutions here are "same" convolutions (stride 1, odd square kernels, padding
# $k // 2$, no bias), so $z$ has the shape of $x$; $w_1$ maps $C$ channels to $C_m$ and $w_2$
# maps them back to $C$. Name the steps as the lecture does: $x_1 = x_2 = x$ (the input used
# twice), $z_1 = \mathrm{conv}(x_1, w_1)$, $z_2 = \mathrm{relu}(z_1)$,
# $z_3 = \mathrm{conv}(z_2, w_2)$, $z = z_3 + x_2$. Every step has a backward pass you already
# wrote; what is new is the graph: the last step is a sum, and $x$ is used in two places.
# The two local rules to start from: a sum $u + v$ has derivative 1 with respect to each term,
# and a variable used by several operations receives a gradient from each of them.
#
# **Shapes.** `dz` and `dx` have the shape of `x`, `(N, C, H, W)`; $z_1$, $z_2$ and their
# gradients are `(N, Cm, H, W)` ("same" convolutions keep $H \times W$); `dw1` is
# `(Cm, C, k1, k1)` and `dw2` is `(C, Cm, k2, k2)`.
#
# **A scalar case to check your reasoning on.** Replace each convolution by a product with a
# number: $z = w_2\, \mathrm{relu}(w_1 x) + x$. At $x = 1$, $w_1 = 2$, $w_2 = 3$ this is
# $z = 3 \cdot 2 + 1 = 7$, and nudging $x$ by $0.001$ moves $z$ by $0.007$: $dz/dx = 7$. Your
# backward pass must explain that 7, and it is not $w_2 w_1 = 6$.
#
# ### Exercise 6 (4 points): `residual_forward`, `residual_backward`
#
# Build them from your `conv2d_forward`, `conv2d_backward`, `relu_forward` and `relu_backward`
# (pass zero biases to the convolutions). `x`: `(N, C, H, W)`, `w1`: `(Cm, C, k1, k1)`, `w2`:
# `(C, Cm, k2, k2)`, `k1` and `k2` odd. Return `(z, cache)` and `(dx, dw1, dw2)`.
#
# <details><summary>Hint 1</summary>
#
# Run the four steps in reverse order, each with its own backward function and the cache its
# forward call returned (keep all three caches in the block's cache). Start at the sum: what do
# $z_3$ and $x_2$ each receive from $\delta z$?
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# The sum passes $\delta z$ unchanged to both of its terms. So the path through the convolutions
# starts with $\delta z$ and ends with a gradient for $x_1$, while the skip path hands $\delta z$
# to $x_2$ directly. Since $x_1$ and $x_2$ are the same $x$, its gradient is the sum of the two.
# In the scalar case: $w_2 \cdot 1 \cdot w_1 + 1 = 7$. (`conv2d_backward` also returns a bias
# gradient: ignore it.)
#
# </details>

# %% nbgrader={"grade_id": "residual_block", "solution": true}
def residual_forward(x, w1, w2):
    """z = conv(relu(conv(x, w1)), w2) + x with 'same' convolutions (stride 1, padding k // 2, no bias).

    x: (N, C, H, W), w1: (Cm, C, k1, k1), w2: (C, Cm, k2, k2) -> z: (N, C, H, W), cache."""
    ### BEGIN SOLUTION
    z1, conv1 = conv2d_forward(x, w1, np.zeros(w1.shape[0]), 1, w1.shape[2] // 2)
    z2, relu = relu_forward(z1)
    z3, conv2 = conv2d_forward(z2, w2, np.zeros(w2.shape[0]), 1, w2.shape[2] // 2)
    return z3 + x, (conv1, relu, conv2)
    ### END SOLUTION


def residual_backward(dz, cache):
    """dz: (N, C, H, W) -> dx (N, C, H, W), dw1 (Cm, C, k1, k1), dw2 (C, Cm, k2, k2)."""
    ### BEGIN SOLUTION
    conv1, relu, conv2 = cache
    dz2, dw2, _ = conv2d_backward(dz, conv2)      # the conv path ...
    dz1 = relu_backward(dz2, relu)
    dx1, dw1, _ = conv2d_backward(dz1, conv1)
    return dx1 + dz, dw1, dw2                     # ... plus the skip path
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_residual_block", "grade": true}
from coursecheck import check

check("test_residual_block", residual_forward, residual_backward)
### BEGIN HIDDEN TESTS
check("test_residual_block", residual_forward, residual_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The derivation, step by step backwards:**
#
# * the sum hands $\delta z$ unchanged to both terms: $\delta z_3 = \delta z$ and $\delta x_2 = \delta z$;
# * through the second convolution: $\delta z_2$ and $\delta w_2$ from `conv2d_backward`;
# * through the ReLU: $\delta z_1 = \delta z_2 \odot \mathbb{1}[z_1 > 0]$;
# * through the first convolution: $\delta x_1$ and $\delta w_1$;
# * $x$ was used twice, so its gradients add up: $\boxed{\delta x = \delta x_1 + \delta x_2}$.
#
# The skip path is why deep residual networks train: even when the convolutions' gradients are
# small, $\delta z$ reaches $x$ undiminished.
#
# What the skip path does for depth: stack 20 blocks with small weights and compare the size of
# the gradient that reaches the input with that of 20 plain blocks (the same blocks without
# the $+\,x$). For the plain stack we reuse your residual block and subtract the skip's share.

# %%
def stack_gradient_norm(blocks, x, skip=True):
    caches, h = [], x
    for w1_, w2_ in blocks:
        out, cache = residual_forward(h, w1_, w2_)
        caches.append(cache)
        h = out if skip else out - h
    grad = rng.normal(size=h.shape)
    for cache in reversed(caches):
        dx_, _, _ = residual_backward(grad, cache)
        grad = dx_ if skip else dx_ - grad
    return np.linalg.norm(grad)


blocks = [(0.1 * rng.normal(size=(4, 4, 3, 3)), 0.1 * rng.normal(size=(4, 4, 3, 3))) for _ in range(20)]
x_deep = rng.normal(size=(2, 4, 8, 8))
with skip_if_unanswered(EXERCISES):
    print(f"gradient norm at the input: with skips {stack_gradient_norm(blocks, x_deep):.3g}, "
          f"without {stack_gradient_norm(blocks, x_deep, skip=False):.3g}")

# %% [markdown]
# ### Question 2 (1 point, graded by hand): what the skip connection does to the gradient
#
# A residual block computes $\mathbf y = \mathbf x + F(\mathbf x)$. Write the gradient reaching
# $\mathbf x$ in terms of $\partial L/\partial \mathbf y$ and the backward pass of $F$, and explain
# in two or three sentences what the skip path does for a stack of many such blocks, compared with
# a plain stack $\mathbf y = F(\mathbf x)$.

# %% [markdown] nbgrader={"grade_id": "skip_gradient", "solution": true, "grade": true, "points": 1}
# $\mathbf x$ forks into the skip path and into $F$, so the two gradients add:
# $\partial L/\partial \mathbf x = \partial L/\partial \mathbf y + J_F^\top\, \partial L/\partial \mathbf y$.
# The skip path hands the upstream gradient to $\mathbf x$ unchanged, so in a deep stack every
# block's input receives the loss gradient directly plus corrections, whereas in a plain stack the
# gradient is a product of many Jacobians, which can shrink towards zero (or blow up) with depth.
# Early layers therefore keep learning, and a block whose $F$ is near zero is simply the identity.

# %% [markdown]
# ## 8. Softmax's Jacobian and the lecture's attention example
#
# $s = \mathrm{softmax}(z)$, $s_k = e^{z_k} / \sum_l e^{z_l}$. Every $s_k$ depends on every $z_l$
# through the sum in the denominator, so its Jacobian $J_{kl} = \partial s_k / \partial z_l$ is a
# full $n \times n$ matrix. Start from the quotient rule (or write $s_k = e^{z_k} \cdot
# (\sum_l e^{z_l})^{-1}$ and use the product rule), and treat $l = k$ and $l \ne k$ separately:
# for $l = k$ both the numerator and the denominator depend on $z_k$, for $l \ne k$ only the
# denominator does. Write the result with the $s$'s alone, no exponentials left.
#
# **A small case to check against.** $n = 2$, $z = (0, 0)$, so $s = (\tfrac12, \tfrac12)$. Moving
# $z_1$ up by $\varepsilon$ gives $s_1 \approx \tfrac12 + \tfrac14\varepsilon$ and
# $s_2 \approx \tfrac12 - \tfrac14\varepsilon$: the first column of $J$ is $(\tfrac14, -\tfrac14)$.
# Whatever you derive must give that here, and two more facts you can test: every row of $J$
# sums to 0 (the $s_k$ always add up to 1, so moving all $z_l$ together changes nothing), and
# $J$ is symmetric.
#
# The lecture's attention example has three queries $x_1, x_2, x_3$ and four keys
# $y_1, \dots, y_4$, all scalars. Query $i$ scores key $j$ by $(z_i)_j = x_i y_j$, and
# $s_i = \mathrm{softmax}(z_i)$; you are given $\delta s_i$ for every $i$. Two steps: from
# $\delta s_i$ to $\delta z_i$ through the softmax (the chain rule with the Jacobian you derive),
# then from the scores to $x$ and $y$ with the local derivatives
# $\partial (z_i)_j / \partial x_i = y_j$ and $\partial (z_i)_j / \partial y_j = x_i$.
#
# ### Exercise 7 (3 points): `softmax_jacobian`, `lecture_attention_backward`
#
# `softmax_jacobian(s)` takes a probability vector `s` of shape `(n,)` and returns the `(n, n)`
# Jacobian. `lecture_attention_backward(x, y, ds)` takes `x` of shape `(n,)`, `y` of shape
# `(m,)` and `ds` of shape `(n, m)` (row $i$ is $\delta s_i$), computes $s_i$, and returns
# `(dx, dy)` of shapes `(n,)` and `(m,)`, using your Jacobian row by row.
#
# <details><summary>Hint 1</summary>
#
# For $l \ne k$: only $(\sum_m e^{z_m})^{-1}$ depends on $z_l$, and its derivative is
# $-e^{z_l} / (\sum_m e^{z_m})^2$. Split that into a product of two softmax entries. For $l = k$
# there is one more term, from the numerator. For the attention part: the scores form an
# $n \times m$ array $z$; $x_i$ appears in every entry of row $i$, $y_j$ in every entry of
# column $j$, and each use contributes.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# Both cases fit one formula, $\partial s_k / \partial z_l = s_k\,([k = l] - s_l)$: in matrix form
# a diagonal matrix minus an outer product. The chain rule through the softmax is
# $\delta z_i = (J^i)^\top \delta s_i$ (row $i$ of `ds` is $\delta s_i$); then $\delta x_i$ sums row
# $i$ of $\delta z$ weighted by the $y_j$, and $\delta y_j$ sums column $j$ weighted by the $x_i$:
# two matrix-vector products. Subtract each row's maximum before `np.exp` when you compute $s$.
#
# </details>

# %% nbgrader={"grade_id": "softmax_jacobian", "solution": true}
def softmax_jacobian(s):
    """J[k, l] = d s_k / d z_l for s = softmax(z). s: (n,) -> (n, n)."""
    ### BEGIN SOLUTION
    return np.diag(s) - np.outer(s, s)
    ### END SOLUTION


def lecture_attention_backward(x, y, ds):
    """s_i = softmax(x_i * y) for each query i. x: (n,), y: (m,), ds: (n, m) -> dx (n,), dy (m,)."""
    ### BEGIN SOLUTION
    z = np.outer(x, y)
    s = np.exp(z - z.max(axis=1, keepdims=True))
    s /= s.sum(axis=1, keepdims=True)
    dz = np.stack([softmax_jacobian(s[i]) @ ds[i] for i in range(len(x))])
    return dz @ y, x @ dz
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_softmax_jacobian", "grade": true}
from coursecheck import check

check("test_softmax_jacobian", softmax_jacobian, lecture_attention_backward)
### BEGIN HIDDEN TESTS
check("test_softmax_jacobian", softmax_jacobian, lecture_attention_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The derivation.** The quotient rule gives
#
# $$\frac{\partial s_k}{\partial z_k} = s_k (1 - s_k), \qquad \frac{\partial s_k}{\partial z_l} = -s_k s_l \quad (k \ne l), \qquad\text{so}\qquad J = \mathrm{diag}(s) - s s^\top ,$$
#
# symmetric, with rows that sum to 0 (at $s = (\tfrac12, \tfrac12)$: $\tfrac14$ on the diagonal,
# $-\tfrac14$ off it). Given $\delta s$, the chain rule gives $\delta z = J^\top \delta s = J\, \delta s$.
# For the lecture's attention example, with $J^i = \mathrm{diag}(s_i) - s_i s_i^\top$,
#
# $$\delta z_i = J^i\, \delta s_i, \qquad \delta x_i = \sum_{j} y_j\, (\delta z_i)_j, \qquad \delta y_j = \sum_i x_i\, (\delta z_i)_j :$$
#
# $x_i$ appears in the four scores of row $i$, $y_j$ in the three scores of column $j$, and the
# sums collect those uses.
#
# The Jacobian of $s = [0.2, 0.3, 0.5]$, its row sums, and the lecture's example with a random
# $\delta s$, checked against finite differences of the forward pass.

# %%
with skip_if_unanswered(EXERCISES):
    J_s = softmax_jacobian(np.array([0.2, 0.3, 0.5]))
    print("J =\n", J_s, "\nrow sums:", J_s.sum(axis=1))

x_att, y_att = np.array([1.0, -0.5, 2.0]), np.array([0.3, -1.2, 0.8, 0.1])
ds_att = rng.normal(size=(3, 4))


def scores_softmax(x_, y_):
    z_ = np.outer(x_, y_)
    e = np.exp(z_ - z_.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


with skip_if_unanswered(EXERCISES):
    dx_att, dy_att = lecture_attention_backward(x_att, y_att, ds_att)
    print("δx =", dx_att, "\nδy =", dy_att)
    print("finite differences agree:",
          np.allclose(dx_att, numerical_gradient(lambda v: float(np.sum(ds_att * scores_softmax(v, y_att))), x_att.copy())),
          np.allclose(dy_att, numerical_gradient(lambda v: float(np.sum(ds_att * scores_softmax(x_att, v))), y_att.copy())))

# %% [markdown]
# ## 9. Scaled dot-product attention
#
# In a transformer, queries, keys and values are vectors: for each batch element,
# $Q \in \mathbb{R}^{L_q \times d}$, $K \in \mathbb{R}^{L_k \times d}$, $V \in \mathbb{R}^{L_k \times d_v}$, and
#
# $$S = \frac{Q K^\top}{\sqrt d}, \qquad P = \mathrm{softmax}_{\text{rows}}(S), \qquad O = P V .$$
#
# Row $i$ of $S$ holds the scores of query $i$ against all keys (the lecture's $z_i$), row $i$
# of $P$ its attention weights ($s_i$), and $O_i$ the weighted average of the values. With a
# **causal mask** query $i$ may only look at keys $j \le i$ (a language model must not see the
# future): set $S_{ij} = -\infty$ for $j > i$ before the softmax, which makes $P_{ij} = 0$.
#
# The backward pass, given $\delta O$ of shape $L_q \times d_v$, is three steps you have met
# separately, run in reverse: two matrix products and a row-wise softmax. The local rules to start
# from:
#
# * for a matrix product $C = AB$ (the lecture's $D = WX$), $\delta A$ and $\delta B$ are the
#   products of $\delta C$ with the *other* factor, transposed, in the order that makes the
#   shapes fit (assignment 03);
# * for a row softmax, your Exercise 7: $\delta S_i = (J^i)^\top \delta P_i$ with $P_i$'s Jacobian $J^i$.
#
# **Shapes** (per batch element): $S$ and $P$ are $L_q \times L_k$, so $\delta S$ and $\delta P$ are
# too; $\delta Q$ is $L_q \times d$, $\delta K$ is $L_k \times d$, $\delta V$ is $L_k \times d_v$.
#
# **A small case.** With a single key ($L_k = 1$) every row of $P$ is the number 1 whatever $Q$ and
# $K$ are, so $O = V$ repeated: then $\delta V = \sum_i \delta O_i$, and $\delta Q = 0$, $\delta K = 0$.
# Your general formulas must reduce to that.
#
# Forming $J^i$ for each of the $L_q$ rows costs $O(L_k^2)$ per row. The exercise asks for better:
# multiply $J^i \delta P_i$ out by hand so that each row costs $O(L_k)$.
#
# ### Exercise 8 (5 points): `attention_forward`, `attention_backward`
#
# For batches: `Q` of shape `(B, Lq, d)`, `K` of shape `(B, Lk, d)`, `V` of shape
# `(B, Lk, dv)`; `causal=True` only with `Lq == Lk`. Return `(out, cache)` with `out` of shape
# `(B, Lq, dv)`, and `(dQ, dK, dV)`. Use `@` (it works batch by batch on 3-d arrays) and
# `swapaxes(1, 2)` for the transposes. Subtract each row's maximum before `np.exp`.
#
# <details><summary>Hint 1</summary>
#
# Go backwards: $O = PV$ gives $\delta V$ and $\delta P$; the softmax turns $\delta P$ into
# $\delta S$ row by row; $S = QK^\top/\sqrt d$ gives $\delta Q$ and $\delta K$, each with the factor
# $1/\sqrt d$. Keep $P$ (after the mask) in the cache. The mask needs no backward code of its own:
# ask what your softmax backward gives where $P_{ij} = 0$.
#
# </details>
#
# <details><summary>Hint 2</summary>
#
# $(\mathrm{diag}(p) - p p^\top)\, g = p \odot g - p\, (p^\top g)$: an elementwise product minus
# $p$ times one number per row. With `np.sum(P * dP, axis=-1, keepdims=True)` that is one line for
# all rows and batch elements. For the products: $\delta V = P^\top \delta O$ and
# $\delta P = \delta O\, V^\top$; check the shapes of the last step the same way.
#
# </details>

# %% nbgrader={"grade_id": "attention", "solution": true}
def attention_forward(Q, K, V, causal=False):
    """softmax(Q K^T / sqrt(d)) V per batch element; causal: query i sees keys j <= i only.

    Q: (B, Lq, d), K: (B, Lk, d), V: (B, Lk, dv) -> out: (B, Lq, dv), cache."""
    ### BEGIN SOLUTION
    scores = Q @ K.swapaxes(1, 2) / np.sqrt(Q.shape[-1])
    if causal:
        scores = np.where(np.tril(np.ones(scores.shape[1:], dtype=bool)), scores, -np.inf)
    P = np.exp(scores - scores.max(axis=-1, keepdims=True))
    P /= P.sum(axis=-1, keepdims=True)
    return P @ V, (Q, K, V, P)
    ### END SOLUTION


def attention_backward(dout, cache):
    """dout: (B, Lq, dv) -> dQ (B, Lq, d), dK (B, Lk, d), dV (B, Lk, dv)."""
    ### BEGIN SOLUTION
    Q, K, V, P = cache
    dV = P.swapaxes(1, 2) @ dout
    dP = dout @ V.swapaxes(1, 2)
    dS = P * (dP - np.sum(P * dP, axis=-1, keepdims=True))   # softmax backward, row by row
    scale = 1.0 / np.sqrt(Q.shape[-1])
    return dS @ K * scale, dS.swapaxes(1, 2) @ Q * scale, dV
    ### END SOLUTION

# %% nbgrader={"grade_id": "test_attention", "grade": true}
from coursecheck import check

check("test_attention", attention_forward, attention_backward)
### BEGIN HIDDEN TESTS
check("test_attention", attention_forward, attention_backward, hidden=True)
### END HIDDEN TESTS

# %% [markdown]
# **The derivation**, given $\delta O$ (shape $L_q \times d_v$):
#
# * $O = P V$ is a matrix product: $\delta V = P^\top \delta O$ and $\delta P = \delta O\, V^\top$.
# * Softmax, row by row, *without forming any Jacobian*: $\delta S_i = J^i \delta P_i$ with
#   $J^i = \mathrm{diag}(P_i) - P_i P_i^\top$ is
#   $$\delta S_{ik} = P_{ik}\Big(\delta P_{ik} - \sum_l P_{il}\, \delta P_{il}\Big),$$
#   $O(L_k)$ work per row instead of $O(L_k^2)$ for the matrix. Where the mask put $P = 0$ this
#   is automatically 0: reuse the forward's masked $P$ and the mask takes care of itself.
# * $S = Q K^\top / \sqrt d$ is a matrix product scaled by $1/\sqrt d$:
#   $\delta Q = \delta S\, K / \sqrt d$ and $\delta K = \delta S^\top Q / \sqrt d$.
#
# With one key, $P = 1$ and $\delta P_{i1} - P_{i1}\delta P_{i1} = 0$: $\delta S = 0$, so
# $\delta Q = \delta K = 0$, as the small case said.
#
# Your attention against PyTorch's `scaled_dot_product_attention` (in this demonstration cell),
# with and without the causal mask, and the causal mask's effect on the gradient: the output of
# query 2 sends gradient to keys 0, 1 and 2 only, never to the later keys it was not allowed to see.

# %%
Q_a, K_a, V_a = rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 3))
dout_a = rng.normal(size=(2, 5, 3))
with skip_if_unanswered(EXERCISES):
    if torch is None:
        print('torch is not installed: the comparison with PyTorch is skipped (pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu, then restart the kernel)')
    else:
        for causal in (False, True):
            tensors = [torch.tensor(a, requires_grad=True) for a in (Q_a, K_a, V_a)]
            out_t = torch.nn.functional.scaled_dot_product_attention(*tensors, is_causal=causal)
            out_t.backward(torch.tensor(dout_a))
            out_a, cache_a = attention_forward(Q_a, K_a, V_a, causal)
            grads = attention_backward(dout_a, cache_a)
            errors = [np.abs(g - t.grad.numpy()).max() for g, t in zip(grads, tensors)]
            print(f"causal={causal}: output error {np.abs(out_a - out_t.detach().numpy()).max():.1e}, "
                  f"dQ, dK, dV errors {', '.join(f'{e:.1e}' for e in errors)}")

    from_query_2 = np.zeros_like(dout_a)
    from_query_2[:, 2] = dout_a[:, 2]       # a gradient on the output of query 2 only
    _, cache_a = attention_forward(Q_a, K_a, V_a, causal=True)
    _, dK_2, dV_2 = attention_backward(from_query_2, cache_a)
    print("causal, gradient from query 2 only: |dK| per key", np.abs(dK_2[0]).sum(axis=1).round(3),
          " |dV| per key", np.abs(dV_2[0]).sum(axis=1).round(3))

# %% [markdown]
# ## 10. A small CNN from your layers, trained on digits
#
# Time to use everything: the digits bundled with scikit-learn (1797 images of $8 \times 8$ pixels),
# a network made of your layers,
#
# conv $3\times3$ (1 → 16 channels, padding 1) → ReLU → max-pool $2 \times 2$ → linear (256 → 10) → softmax cross-entropy,
#
# trained with minibatch SGD with momentum, in PyTorch's convention as in assignment 03
# (`torch.optim.SGD`: $v \leftarrow \mu v + g$, then $p \leftarrow p - \eta\, v$). The linear
# layer and the loss (assignment 03) are written out here; the convolution, ReLU and pooling,
# forward and backward, are yours. The curve below redraws while the loop runs.

# %%
import importlib.util
import os

from minigrad.viz import LiveTrainingCurve

# scikit-learn's bundled file, read directly (importing scikit-learn takes longer than training)
digits_file = os.path.join(os.path.dirname(importlib.util.find_spec("sklearn").origin), "datasets", "data", "digits.csv.gz")
digits = np.loadtxt(digits_file, delimiter=",")
images = (digits[:, :64] / 16.0).reshape(-1, 1, 8, 8)   # (1797, 1, 8, 8), values in [0, 1]
labels = digits[:, 64].astype(int)
order = np.random.default_rng(0).permutation(len(labels))
train, val = order[:1437], order[1437:]

net_rng = np.random.default_rng(1)
params = {"w": net_rng.normal(size=(16, 1, 3, 3)) * np.sqrt(2 / 9), "b": np.zeros(16),
          "W": net_rng.normal(size=(10, 256)) * np.sqrt(1 / 256), "c": np.zeros(10)}
velocity = {name: np.zeros_like(value) for name, value in params.items()}


def cnn_forward(x, params):
    a, conv_c = conv2d_forward(x, params["w"], params["b"], 1, 1)
    r, relu_c = relu_forward(a)
    m, pool_c = max_pool2d_forward(r, 2, 2)
    flat = m.reshape(len(x), -1)
    logits = flat @ params["W"].T + params["c"]
    return logits, (conv_c, relu_c, pool_c, flat, m.shape)


def cnn_backward(dlogits, cache, params):
    conv_c, relu_c, pool_c, flat, pooled_shape = cache
    grads = {"W": dlogits.T @ flat, "c": dlogits.sum(axis=0)}
    dm = (dlogits @ params["W"]).reshape(pooled_shape)
    dx, grads["w"], grads["b"] = conv2d_backward(relu_backward(max_pool2d_backward(dm, pool_c), relu_c), conv_c)
    return grads, dx


def cross_entropy(logits, y):
    """Mean cross-entropy and its gradient (softmax - one-hot) / N."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dlogits = np.exp(log_p)
    dlogits[np.arange(len(y)), y] -= 1
    return -log_p[np.arange(len(y)), y].mean(), dlogits / len(y)


def evaluate(index):
    logits, _ = cnn_forward(images[index], params)
    return cross_entropy(logits, labels[index])[0], float((logits.argmax(axis=1) == labels[index]).mean())


EPOCHS, BATCH, LR, MOMENTUM = 8, 32, 0.05, 0.9
with skip_if_unanswered(EXERCISES):
    # one forward and backward pass on two images first: without your layers, stop before the plot
    logits, cache = cnn_forward(images[train[:2]], params)
    cnn_backward(cross_entropy(logits, labels[train[:2]])[1], cache, params)
    curve = LiveTrainingCurve(total=EPOCHS, title="your CNN on digits",
                              metrics=["train_loss", "val_loss", "train_acc", "val_acc"])
    display(curve)
    started = time.perf_counter()
    with curve:
        for epoch in range(1, EPOCHS + 1):
            for batch in np.array_split(net_rng.permutation(train), len(train) // BATCH):
                logits, cache = cnn_forward(images[batch], params)
                _, dlogits = cross_entropy(logits, labels[batch])
                grads, _ = cnn_backward(dlogits, cache, params)
                for name in params:   # SGD with momentum, PyTorch's convention
                    velocity[name] = MOMENTUM * velocity[name] + grads[name]
                    params[name] -= LR * velocity[name]
            (train_loss, train_acc), (val_loss, val_acc) = evaluate(train), evaluate(val)
            curve.update(epoch, train_loss=train_loss, val_loss=val_loss, train_acc=train_acc, val_acc=val_acc)
    print(f"validation accuracy of your CNN: {val_acc:.3f} (training {time.perf_counter() - started:.1f} s)")

# %% [markdown]
# What the network learned and what it looks at. Top: the 16 learned $3 \times 3$ filters
# (many are edge and stroke detectors). Bottom: a few validation digits and the **saliency** of
# each, $|\partial\, \text{logit}_{\text{true class}} / \partial\, \text{pixel}|$, computed by
# sending a one-hot upstream gradient through *your* backward passes down to the input.

# %%
import matplotlib.pyplot as plt

with skip_if_unanswered(EXERCISES):
    show = val[:4]
    logits, cache = cnn_forward(images[show], params)
    onehot = np.zeros_like(logits)
    onehot[np.arange(len(show)), labels[show]] = 1.0
    _, saliency = cnn_backward(onehot, cache, params)

    fig, axes = plt.subplots(3, 8, figsize=(9, 3.6))
    for ax, kernel in zip(axes[0], params["w"][:8, 0]):
        ax.imshow(kernel, cmap="RdBu_r", vmin=-np.abs(params["w"]).max(), vmax=np.abs(params["w"]).max())
    for k, index in enumerate(show):
        axes[1, 2 * k].imshow(images[index, 0], cmap="gray_r")
        axes[1, 2 * k].set_title(f"label {labels[index]}", fontsize=8)
        axes[1, 2 * k + 1].imshow(np.abs(saliency[k, 0]), cmap="hot")
        axes[1, 2 * k + 1].set_title("saliency", fontsize=8)
    for ax, kernel in zip(axes[2], params["w"][8:, 0]):
        ax.imshow(kernel, cmap="RdBu_r", vmin=-np.abs(params["w"]).max(), vmax=np.abs(params["w"]).max())
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("learned filters (rows 1 and 3), digits and their saliency (row 2)", fontsize=9)
    plt.show()

# %% [markdown]
# ## Summary
#
# * A convolution layer is a correlation of the input with the kernel. Its backward pass is two
#   more correlations: $\delta K = I \star \delta J$ and $\delta I = \mathrm{pad}(\delta J) \star
#   \mathrm{flip}(K)$; stride spreads `dout` out (dilation), padding is cut off at the end.
# * Max pooling routes each window's gradient to one entry, its first maximum (the convention
#   Exercise 4 states, PyTorch's for max pooling); average pooling spreads it as $1/k^2$; where
#   windows overlap, gradients add up.
# * ReLU passes the gradient where its input was positive. At a kink or a tie there is no
#   derivative, only subgradients: 0 at ReLU's kink and the first maximum at a pooling tie are
#   the conventions this notebook states (PyTorch's). One half is a valid subgradient too (it is
#   `torch.maximum`'s and `torch.amax`'s rule at a tie, and what a central finite difference gives),
#   just not the convention these exercises ask for.
# * At a skip connection the input is used twice, so its gradient is the sum of the two paths.
# * Softmax's Jacobian is $\mathrm{diag}(s) - s s^\top$, but the backward pass never needs it as a
#   matrix: $\delta z = s \odot (\delta s - s^\top \delta s)$. Attention's backward is that plus
#   two matrix products, with the $1/\sqrt d$ of the forward pass and the mask reused from it.
