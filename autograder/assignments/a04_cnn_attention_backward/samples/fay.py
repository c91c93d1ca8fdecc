# Sample student "fay": treats the convolution as stride 1 in the backward pass, differentiates
# each max-pool window numerically (exact-looking, but half the gradient at ties and never as
# accurate as a derivation), divides average pooling by k instead of k*k, forgets the skip path
# in the residual block's dx, and recomputes attention's probabilities in the backward pass without the causal mask.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="TODO"
def conv2d_forward(x, w, b, stride=1, padding=0):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = sliding_windows(x_pad, w.shape[2], w.shape[3], stride)
    out = np.tensordot(cols, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b.reshape(1, -1, 1, 1), (x, w, stride, padding)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="TODO"
def conv2d_backward(dout, cache):
    x, w, stride, padding = cache
    F, C, kh, kw = w.shape
    Ho, Wo = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad, dw = np.zeros(x_pad.shape), np.zeros(w.shape)
    for p in range(kh):
        for q in range(kw):
            dx_pad[:, :, p:p + Ho, q:q + Wo] += np.einsum("nfij,fc->ncij", dout, w[:, :, p, q])
            dw[:, :, p, q] = np.einsum("nfij,ncij->fc", dout, x_pad[:, :, p:p + Ho, q:q + Wo])
    H, W = x.shape[2:]
    return dx_pad[:, :, padding:padding + H, padding:padding + W], dw, dout.sum(axis=(0, 2, 3))

# %% nbgrader={"grade_id": "relu"} planted="TODO"
def relu_forward(x):
    return x * (x > 0), x

def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)

# %% nbgrader={"grade_id": "max_pool2d"} planted="TODO"
def max_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).max(axis=(4, 5)), (x, kernel_size, stride)

def max_pool2d_backward(dout, cache, h=1e-6):
    # d max / d entry, numerically, one window entry at a time (k*k steps, all windows at once)
    x, k, s = cache
    N, C, Ho, Wo = dout.shape
    windows = sliding_windows(x, k, k, s).reshape(N, C, Ho, Wo, k * k)
    dx = np.zeros(x.shape)
    for m in range(k * k):
        bump = np.zeros(k * k)
        bump[m] = h / 2
        slope = ((windows + bump).max(axis=-1) - (windows - bump).max(axis=-1)) / h
        p, q = divmod(m, k)
        dx[:, :, p:p + s * (Ho - 1) + 1:s, q:q + s * (Wo - 1) + 1:s] += slope * dout
    return dx

# %% nbgrader={"grade_id": "avg_pool2d"} planted="TODO"
def avg_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).mean(axis=(4, 5)), (x.shape, kernel_size, stride)

def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(shape)
    for p in range(k):
        for q in range(k):
            dx[:, :, p:p + s * (Ho - 1) + 1:s, q:q + s * (Wo - 1) + 1:s] += dout / k
    return dx

# %% nbgrader={"grade_id": "residual_block"} planted="TODO"
def residual_forward(x, w1, w2):
    z1, c1 = conv2d_forward(x, w1, np.zeros(w1.shape[0]), 1, w1.shape[2] // 2)
    z2, r = relu_forward(z1)
    z3, c2 = conv2d_forward(z2, w2, np.zeros(w2.shape[0]), 1, w2.shape[2] // 2)
    return z3 + x, (c1, r, c2)

def residual_backward(dz, cache):
    c1, r, c2 = cache
    dz2, dw2, _ = conv2d_backward(dz, c2)
    dx, dw1, _ = conv2d_backward(relu_backward(dz2, r), c1)
    return dx, dw1, dw2

# %% nbgrader={"grade_id": "softmax_jacobian"} planted="TODO"
def lecture_attention_backward(x, y, ds):
    z = np.outer(x, y)
    s = np.exp(z - z.max(axis=1, keepdims=True))
    s = s / s.sum(axis=1, keepdims=True)
    dz = np.einsum("ikl,il->ik", np.array([softmax_jacobian(row) for row in s]), ds)
    return dz @ y, dz.T @ x

# %% nbgrader={"grade_id": "attention"} planted="TODO"
def _probabilities(Q, K, causal):
    S = Q @ K.swapaxes(1, 2) / np.sqrt(Q.shape[-1])
    if causal:
        S = np.where(np.tril(np.ones(S.shape[1:], dtype=bool)), S, -np.inf)
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    return P / P.sum(axis=-1, keepdims=True)

def attention_forward(Q, K, V, causal=False):
    return _probabilities(Q, K, causal) @ V, (Q, K, V)

def attention_backward(dout, cache):
    Q, K, V = cache
    P = _probabilities(Q, K, False)
    dV = P.swapaxes(1, 2) @ dout
    dP = dout @ V.swapaxes(1, 2)
    dS = P * (dP - (P * dP).sum(axis=-1, keepdims=True))
    d = Q.shape[-1]
    return dS @ K / np.sqrt(d), dS.swapaxes(1, 2) @ Q / np.sqrt(d), dV
