# Sample student "emil": forgets to cut the padding off dx, swaps row and column inside the
# max-pool window, overwrites (=) instead of accumulating (+=) in average pooling, and returns
# attention's dQ and dK in the wrong order with dV transposed.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="caches the padded input, so the backward cannot crop the padding off dx"
def conv2d_forward(x, w, b, stride=1, padding=0):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = sliding_windows(x_pad, w.shape[2], w.shape[3], stride)
    return np.einsum("ncijpq,fcpq->nfij", cols, w) + b[None, :, None, None], (x_pad, w, stride)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="returns dx with the padding not cropped off"
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

# %% nbgrader={"grade_id": "max_pool2d"} planted="max_pool2d_backward swaps row and column inside the window (flat % k as the row)"
def max_pool2d_backward(dout, cache):
    x, k, s = cache
    N, C, Ho, Wo = dout.shape
    flat = sliding_windows(x, k, k, s).reshape(N, C, Ho, Wo, k * k).argmax(axis=-1)
    rows = np.arange(Ho)[None, None, :, None] * s + flat % k
    cols = np.arange(Wo)[None, None, None, :] * s + flat // k
    dx = np.zeros(x.shape)
    np.add.at(dx, (np.arange(N)[:, None, None, None], np.arange(C)[None, :, None, None], rows, cols), dout)
    return dx

# %% nbgrader={"grade_id": "avg_pool2d"} planted="avg_pool2d_backward overwrites (=) instead of accumulating (+=) where windows overlap"
def avg_pool2d_backward(dout, cache):
    shape, k, s = cache
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] = dout[:, :, i, j][:, :, None, None] / (k * k)
    return dx

# %% nbgrader={"grade_id": "residual_block"} planted="crops the padding its conv2d_backward leaves on dx (makes up for its own conv bug)"
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

# %% nbgrader={"grade_id": "attention"} planted="attention_backward returns dK and dQ in the wrong order and dV transposed"
def attention_backward(dout, cache):
    Q, K, V, P = cache
    scale = 1 / np.sqrt(Q.shape[-1])
    dV = dout.swapaxes(1, 2) @ P
    dP = dout @ V.swapaxes(1, 2)
    dS = P * (dP - (P * dP).sum(axis=-1, keepdims=True))
    dQ = dS @ K * scale
    dK = dS.swapaxes(1, 2) @ Q * scale
    return dK, dQ, dV
