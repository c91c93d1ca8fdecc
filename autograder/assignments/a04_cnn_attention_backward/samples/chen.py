# Sample student "chen": loops where they are easy, and five classic slips: the kernel not
# flipped for dx (which the residual block, built on it, inherits), a ReLU derivative of 1/2 at 0
# (what a finite difference would give), max-pool gradient sent to the whole window, no
# 1/sqrt(d) in attention's backward, and layer norm's standard deviation treated as a constant.

# %% nbgrader={"grade_id": "conv2d_backward"} planted="dx correlates dout with the kernel without flipping it"
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    Ho, Wo = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    db = dout.sum(axis=(0, 2, 3))
    dw = np.tensordot(dout, sliding_windows(x_pad, kh, kw, stride), axes=([0, 2, 3], [0, 2, 3]))
    dilated = np.zeros((N, F, (Ho - 1) * stride + 1, (Wo - 1) * stride + 1))
    dilated[:, :, ::stride, ::stride] = dout
    full = np.pad(dilated, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    reached = np.tensordot(sliding_windows(full, kh, kw), w, axes=([1, 4, 5], [0, 2, 3]))
    dx_pad = np.zeros_like(x_pad)
    dx_pad[:, :, :reached.shape[1], :reached.shape[2]] = reached.transpose(0, 3, 1, 2)
    return dx_pad[:, :, padding:padding + H, padding:padding + W], dw, db

# %% nbgrader={"grade_id": "relu"} planted="relu_backward gives 1/2 at x == 0, as a finite difference would"
def relu_backward(dout, cache):
    return dout * (np.sign(cache) + 1) / 2

# %% nbgrader={"grade_id": "max_pool2d"} planted="max_pool2d_backward sends the gradient to every entry of the window, not only to its maximum"
def max_pool2d_backward(dout, cache):
    x, k, s = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i, j][:, :, None, None]
    return dx

# %% nbgrader={"grade_id": "attention"} planted="attention_backward leaves out the 1/sqrt(d) scale in dQ and dK"
def attention_backward(dout, cache):
    Q, K, V, P = cache
    dP = dout @ V.transpose(0, 2, 1)
    dS = P * (dP - (P * dP).sum(axis=2, keepdims=True))
    return dS @ K, dS.transpose(0, 2, 1) @ Q, P.transpose(0, 2, 1) @ dout

# %% nbgrader={"grade_id": "layernorm"} planted="layernorm_backward treats the standard deviation as a constant: the variance's path is missing"
def layernorm_backward(dout, cache):
    xhat, r, gamma = cache
    dxhat = dout * gamma
    dd = dxhat * r                                   # through xhat = d * r, r held fixed
    dx = dd - dd.mean(axis=1, keepdims=True)         # and through the mean
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
