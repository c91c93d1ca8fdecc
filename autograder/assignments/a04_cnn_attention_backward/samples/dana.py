# Sample student "dana": flips the kernel in the forward pass (a true convolution) and writes a
# backward that is right for it; uses x >= 0 for ReLU; sends max-pool gradients to every tied
# maximum; forgets to divide average pooling by the window size; and uses only the diagonal of
# softmax's Jacobian, also inside attention.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="flips the kernel in the forward pass (a true convolution, not the correlation asked)"
def conv2d_forward(x, w, b, stride=1, padding=0):
    flipped = w[:, :, ::-1, ::-1]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = sliding_windows(x_pad, w.shape[2], w.shape[3], stride)
    out = np.einsum("ncijpq,fcpq->nfij", cols, flipped) + b[None, :, None, None]
    return out, (x, w, b, stride, padding)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="the backward of the flipped-kernel convolution, consistent with its own forward"
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

# %% nbgrader={"grade_id": "relu"} planted="relu_backward passes the gradient at x == 0 (x >= 0)"
def relu_backward(dout, cache):
    return dout * (cache >= 0)

# %% nbgrader={"grade_id": "max_pool2d"} planted="max_pool2d_backward sends the gradient to every tied maximum"
def max_pool2d_backward(dout, cache):
    x, k, s = cache
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * s:i * s + k, j * s:j * s + k]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += mask * dout[:, :, i, j][:, :, None, None]
    return dx

# %% nbgrader={"grade_id": "avg_pool2d"} planted="avg_pool2d_backward does not divide by the window size"
def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    dx = np.zeros(shape)
    for i, j in np.ndindex(*dout.shape[2:]):
        dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i, j, None, None]
    return dx

# %% nbgrader={"grade_id": "softmax_jacobian"} planted="softmax_jacobian keeps only the diagonal s * (1 - s)"
def softmax_jacobian(s):
    return np.diag(s * (1 - s))

# %% nbgrader={"grade_id": "attention"} planted="attention_backward uses only the diagonal of the softmax Jacobian: dS = P * (1 - P) * dP"
def attention_backward(dout, cache):
    Q, K, V, P = cache
    d = Q.shape[-1]
    dV = np.einsum("bqk,bqv->bkv", P, dout)
    dP = np.einsum("bqv,bkv->bqk", dout, V)
    dS = P * (1 - P) * dP
    return np.einsum("bqk,bkd->bqd", dS, K) / np.sqrt(d), np.einsum("bqk,bqd->bkd", dS, Q) / np.sqrt(d), dV
