# Sample student "emil": forgets to cut the padding off dx, swaps row and column inside the
# max-pool window, overwrites (=) instead of accumulating (+=) in average pooling, and returns
# attention's dQ and dK in the wrong order with dV transposed.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="TODO"
def conv2d_forward(x, w, b, stride=1, padding=0):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = sliding_windows(x_pad, w.shape[2], w.shape[3], stride)
    return np.einsum("ncijpq,fcpq->nfij", cols, w) + b[None, :, None, None], (x_pad, w, stride)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="TODO"
def conv2d_backward(dout, cache):
    x_pad, w, stride = cache
    F, C, kh, kw = w.shape
    Ho, Wo = dout.shape[2:]
    dw = np.einsum("nfij,ncijpq->fcpq", dout, sliding_windows(x_pad, kh, kw, stride))
    dx = np.zeros(x_pad.shape)
    for p in range(kh):
        for q in range(kw):
            dx[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                np.einsum("nfij,fc->ncij", dout, w[:, :, p, q])
    return dx, dw, dout.sum(axis=(0, 2, 3))

# %% nbgrader={"grade_id": "relu"} planted="TODO"
def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0
    return out, out > 0

def relu_backward(dout, cache):
    return dout * cache

# %% nbgrader={"grade_id": "max_pool2d"} planted="TODO"
def max_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).max(axis=(4, 5)), (x, kernel_size, stride)

def max_pool2d_backward(dout, cache):
    x, k, s = cache
    N, C, Ho, Wo = dout.shape
    flat = sliding_windows(x, k, k, s).reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)
    rows = np.arange(Ho)[None, None, :, None] * s + flat % k
    cols = np.arange(Wo)[None, None, None, :] * s + flat // k
    dx = np.zeros(x.shape)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx

# %% nbgrader={"grade_id": "avg_pool2d"} planted="TODO"
def avg_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).mean(axis=(4, 5)), (x.shape, kernel_size, stride)

def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] = dout[:, :, i, j][:, :, None, None] / (k * k)
    return dx

# %% nbgrader={"grade_id": "residual_block"} planted="TODO"
def residual_forward(x, w1, w2):
    C = x.shape[1]
    z1, c1 = conv2d_forward(x, w1, np.zeros(w1.shape[0]), 1, w1.shape[2] // 2)
    z2, r = relu_forward(z1)
    z3, c2 = conv2d_forward(z2, w2, np.zeros(C), 1, w2.shape[2] // 2)
    return x + z3, (c1, r, c2, w1.shape[2] // 2, w2.shape[2] // 2)

def residual_backward(dz, cache):
    c1, r, c2, p1, p2 = cache
    dz2_pad, dw2, _ = conv2d_backward(dz, c2)
    dz2 = dz2_pad[:, :, p2:dz2_pad.shape[2] - p2, p2:dz2_pad.shape[3] - p2]
    dx_pad, dw1, _ = conv2d_backward(relu_backward(dz2, r), c1)
    return dx_pad[:, :, p1:dx_pad.shape[2] - p1, p1:dx_pad.shape[3] - p1] + dz, dw1, dw2

# %% nbgrader={"grade_id": "softmax_jacobian"} planted="TODO"
def softmax_jacobian(s):
    s = s.reshape(-1, 1)
    return np.diagflat(s) - s @ s.T

def lecture_attention_backward(x, y, ds):
    z = x[:, None] * y[None, :]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    dz = np.array([softmax_jacobian(row) @ g for row, g in zip(s, ds)])
    return (dz * y).sum(axis=1), (dz * x[:, None]).sum(axis=0)

# %% nbgrader={"grade_id": "attention"} planted="TODO"
def attention_forward(Q, K, V, causal=False):
    scale = 1 / np.sqrt(Q.shape[-1])
    S = Q @ K.swapaxes(1, 2) * scale
    if causal:
        L = S.shape[1]
        S[:, np.triu_indices(L, 1)[0], np.triu_indices(L, 1)[1]] = -np.inf
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    P /= P.sum(axis=-1, keepdims=True)
    return P @ V, (Q, K, V, P, scale)

def attention_backward(dout, cache):
    Q, K, V, P, scale = cache
    dV = dout.swapaxes(1, 2) @ P
    dP = dout @ V.swapaxes(1, 2)
    dS = P * (dP - (P * dP).sum(axis=-1, keepdims=True))
    dQ = dS @ K * scale
    dK = dS.swapaxes(1, 2) @ Q * scale
    return dK, dQ, dV
