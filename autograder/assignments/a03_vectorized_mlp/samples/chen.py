# Sample student "chen": careful work with three classic slips.
# - affine_backward averages the bias gradient over the batch (the loss already averages);
# - softmax_cross_entropy exponentiates the raw logits (no max subtraction): fine for small
#   logits, NaN for logits of 1e4;
# - sgd_momentum recomputes the velocity from the current gradient only: it never keeps it.

# %% nbgrader={"grade_id": "affine"} planted="TODO"
def affine_forward(x, W, b):
    out = x @ W + b
    return out, (x, W, b)

def affine_backward(dout, cache):
    x, W, b = cache
    dx = dout @ W.T
    dW = x.T @ dout
    db = np.mean(dout, axis=0)
    return dx, dW, db

# %% nbgrader={"grade_id": "activations"} planted="TODO"
def relu_forward(x):
    return np.maximum(0, x), x

def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx

def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out

def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)

def tanh_forward(x):
    out = np.tanh(x)
    return out, out

def tanh_backward(dout, cache):
    return dout * (1 - cache * cache)

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="TODO"
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    dlogits = p.copy()
    dlogits[np.arange(n), y] -= 1
    return loss, dlogits / n

# %% nbgrader={"grade_id": "mse_loss"} planted="TODO"
def mse_loss(pred, target):
    n = len(pred)
    return np.sum((pred - target) ** 2) / (2 * n), (pred - target) / n

# %% nbgrader={"grade_id": "two_layer_net"} planted="TODO"
def two_layer_loss(params, X, y):
    a, c1 = affine_forward(X, params["W1"], params["b1"])
    h, cr = relu_forward(a)
    s, c2 = affine_forward(h, params["W2"], params["b2"])
    loss, ds = softmax_cross_entropy(s, y)
    dh, dW2, db2 = affine_backward(ds, c2)
    da = relu_backward(dh, cr)
    dX, dW1, db1 = affine_backward(da, c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

# %% nbgrader={"grade_id": "shared_weights"} planted="TODO"
def shared_weight_loss(X, W):
    Z1 = X @ W
    Z2, cache = relu_forward(Z1)
    Y = Z2 @ W
    loss = 0.5 * np.sum((Y - X) ** 2)
    dY = Y - X
    dW = Z2.T @ dY
    dZ1 = relu_backward(dY @ W.T, cache)
    dW += X.T @ dZ1
    return loss, dW

# %% nbgrader={"grade_id": "embedding"} planted="TODO"
def embedding_forward(W, idx):
    return W[idx], (W.shape, idx)

def embedding_backward(dout, cache):
    shape, idx = cache
    dW = np.zeros(shape)
    np.add.at(dW, idx, dout)
    return dW

# %% nbgrader={"grade_id": "sgd_momentum"} planted="TODO"
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    g = dw + weight_decay * w
    v = momentum * np.zeros_like(w) + g
    w = w - lr * v
    return w, v

# %% nbgrader={"grade_id": "train"} planted="TODO"
def train(X, y, seed=0, callback=None):
    params = init_two_layer(X.shape[1], 128, 10, seed)
    vel = {k: np.zeros_like(p) for k, p in params.items()}
    rng = np.random.default_rng(seed)
    for epoch in range(25):
        perm = rng.permutation(len(X))
        for i in range(0, len(X), 32):
            batch = perm[i:i + 32]
            loss, grads = two_layer_loss(params, X[batch], y[batch])
            for k in params:
                params[k], vel[k] = sgd_momentum(params[k], grads[k], vel[k], 0.05, 0.9, 1e-4)
        if callback:
            callback(epoch + 1, params)
    return params
