# Sample student "fay": treats the convolution as stride 1 in the backward pass, differentiates
# each max-pool window numerically (exact-looking, but half the gradient at ties and never as
# accurate as a derivation), divides average pooling by k instead of k*k, forgets the skip path
# in the residual block's dx, and recomputes attention's probabilities in the backward pass without the causal mask.

# %% nbgrader={"grade_id": "conv2d_backward"} planted="the backward treats the convolution as stride 1"
def conv2d_backward(dout, cache):
    x, w, _, stride, padding = cache
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

# %% nbgrader={"grade_id": "max_pool2d"} planted="max_pool2d_backward differentiates each window numerically: half the gradient at ties"
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

# %% nbgrader={"grade_id": "avg_pool2d"} planted="avg_pool2d_backward divides by k instead of k*k"
def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    Ho, Wo = dout.shape[2:]
    dx = np.zeros(shape)
    for p, q in np.ndindex(k, k):
        dx[:, :, p:p + s * (Ho - 1) + 1:s, q:q + s * (Wo - 1) + 1:s] += dout / k
    return dx

# %% nbgrader={"grade_id": "residual_block"} planted="residual_backward forgets the skip path in dx"
def residual_backward(dz, cache):
    c1, r, c2 = cache
    dz2, dw2, _ = conv2d_backward(dz, c2)
    dx, dw1, _ = conv2d_backward(relu_backward(dz2, r), c1)
    return dx, dw1, dw2

# %% nbgrader={"grade_id": "attention"} planted="attention_backward recomputes the probabilities without the causal mask"
def _probabilities(Q, K, causal):
    S = Q @ K.swapaxes(1, 2) / np.sqrt(Q.shape[-1])
    if causal:
        S = np.where(np.tril(np.ones(S.shape[1:], dtype=bool)), S, -np.inf)
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    return P / P.sum(axis=-1, keepdims=True)

def attention_backward(dout, cache):
    Q, K, V, _ = cache
    P = _probabilities(Q, K, False)
    dV = P.swapaxes(1, 2) @ dout
    dP = dout @ V.swapaxes(1, 2)
    dS = P * (dP - (P * dP).sum(axis=-1, keepdims=True))
    d = Q.shape[-1]
    return dS @ K / np.sqrt(d), dS.swapaxes(1, 2) @ Q / np.sqrt(d), dV
