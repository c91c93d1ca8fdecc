# Sample student "dana": flips the kernel in the forward pass (a true convolution) and writes a
# backward that is right for it; uses x >= 0 for ReLU; sends max-pool gradients to every tied
# maximum; forgets to divide average pooling by the window size; and uses only the diagonal of
# softmax's Jacobian, also inside attention.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="TODO"
def conv2d_forward(x, w, b, stride=1, padding=0):
    flipped = w[:, :, ::-1, ::-1]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = sliding_windows(x_pad, w.shape[2], w.shape[3], stride)
    out = np.einsum("ncijpq,fcpq->nfij", cols, flipped) + b[None, :, None, None]
    return out, (x, w, b, stride, padding)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="TODO"
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    w = w[:, :, ::-1, ::-1]              # the kernel the forward pass really used
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfij,ncijpq->fcpq", dout, sliding_windows(x_pad, kh, kw, stride))
    dx_pad = np.zeros(x_pad.shape)
    Ho, Wo = dout.shape[2:]
    for p in range(kh):
        for q in range(kw):
            dx_pad[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \
                np.einsum("nfij,fc->ncij", dout, w[:, :, p, q])
    return dx_pad[:, :, padding:padding + H, padding:padding + W], dw[:, :, ::-1, ::-1], db

# %% nbgrader={"grade_id": "relu"} planted="TODO"
def relu_forward(x):
    return np.maximum(x, 0), x

def relu_backward(dout, cache):
    return dout * (cache >= 0)

# %% nbgrader={"grade_id": "max_pool2d"} planted="TODO"
def max_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).max(axis=(4, 5)), (x, kernel_size, stride)

def max_pool2d_backward(dout, cache):
    x, k, s = cache
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * s:i * s + k, j * s:j * s + k]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += mask * dout[:, :, i, j][:, :, None, None]
    return dx

# %% nbgrader={"grade_id": "avg_pool2d"} planted="TODO"
def avg_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).mean(axis=(4, 5)), (x.shape, kernel_size, stride)

def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i, j][:, :, None, None]
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
    return dx + dz, dw1, dw2

# %% nbgrader={"grade_id": "softmax_jacobian"} planted="TODO"
def softmax_jacobian(s):
    return np.diag(s * (1 - s))

def lecture_attention_backward(x, y, ds):
    z = np.outer(x, y)
    s = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    dz = np.array([softmax_jacobian(s[i]) @ ds[i] for i in range(len(x))])
    return dz @ y, x @ dz

# %% nbgrader={"grade_id": "attention"} planted="TODO"
def attention_forward(Q, K, V, causal=False):
    d = Q.shape[-1]
    S = np.einsum("bqd,bkd->bqk", Q, K) / np.sqrt(d)
    if causal:
        S = np.where(np.tril(np.ones(S.shape[1:])) == 1, S, -np.inf)
    P = np.exp(S - S.max(-1, keepdims=True))
    P /= P.sum(-1, keepdims=True)
    return np.einsum("bqk,bkv->bqv", P, V), (Q, K, V, P)

def attention_backward(dout, cache):
    Q, K, V, P = cache
    d = Q.shape[-1]
    dV = np.einsum("bqk,bqv->bkv", P, dout)
    dP = np.einsum("bqv,bkv->bqk", dout, V)
    dS = P * (1 - P) * dP
    return np.einsum("bqk,bkd->bqd", dS, K) / np.sqrt(d), np.einsum("bqk,bqd->bkd", dS, Q) / np.sqrt(d), dV
