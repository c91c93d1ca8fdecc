# Sample student "chen": loops where they are easy, and four classic slips: the kernel not
# flipped for dx (which the residual block, built on it, inherits), a ReLU derivative of 1/2 at 0
# (what a finite difference would give), max-pool gradient sent to the whole window, and no
# 1/sqrt(d) in attention's backward.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="TODO"
def conv2d_forward(x, w, b, stride=1, padding=0):
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    F, C, kh, kw = w.shape
    Ho = conv_output_size(x.shape[2], kh, stride, padding)
    Wo = conv_output_size(x.shape[3], kw, stride, padding)
    out = np.zeros((x.shape[0], F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = x_pad[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, stride, padding)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="TODO"
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

# %% nbgrader={"grade_id": "relu"} planted="TODO"
def relu_forward(x):
    return np.maximum(x, 0), x

def relu_backward(dout, cache):
    return dout * (np.sign(cache) + 1) / 2

# %% nbgrader={"grade_id": "max_pool2d"} planted="TODO"
def max_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).max(axis=(4, 5)), (x, kernel_size, stride)

def max_pool2d_backward(dout, cache):
    x, k, s = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i, j][:, :, None, None]
    return dx

# %% nbgrader={"grade_id": "avg_pool2d"} planted="TODO"
def avg_pool2d_forward(x, kernel_size, stride):
    return sliding_windows(x, kernel_size, kernel_size, stride).mean(axis=(4, 5)), (x, kernel_size, stride)

def avg_pool2d_backward(dout, cache):
    x, k, s = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + k, j * s:j * s + k] += dout[:, :, i, j][:, :, None, None] / k ** 2
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
    return np.diag(s) - s[:, None] * s[None, :]

def lecture_attention_backward(x, y, ds):
    dx, dy = np.zeros(len(x)), np.zeros(len(y))
    for i in range(len(x)):
        z = x[i] * y
        s = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        dz = softmax_jacobian(s) @ ds[i]
        dx[i] = dz @ y
        dy += x[i] * dz
    return dx, dy

# %% nbgrader={"grade_id": "attention"} planted="TODO"
def attention_forward(Q, K, V, causal=False):
    S = Q @ K.transpose(0, 2, 1) / np.sqrt(Q.shape[2])
    if causal:
        S = S + np.triu(np.full(S.shape[1:], -np.inf), k=1)
    P = np.exp(S - S.max(axis=2, keepdims=True))
    P = P / P.sum(axis=2, keepdims=True)
    return P @ V, (Q, K, V, P)

def attention_backward(dout, cache):
    Q, K, V, P = cache
    dP = dout @ V.transpose(0, 2, 1)
    dS = P * (dP - (P * dP).sum(axis=2, keepdims=True))
    return dS @ K, dS.transpose(0, 2, 1) @ Q, P.transpose(0, 2, 1) @ dout
