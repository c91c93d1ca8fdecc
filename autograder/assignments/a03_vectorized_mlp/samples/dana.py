# Sample student "dana": five typical slips, one per exercise.
# - affine_backward computes dW as dout^T x (the transpose);
# - softmax_cross_entropy keeps only the diagonal of the softmax Jacobian;
# - mse_loss's gradient lacks the 1/N of the batch mean;
# - shared_weight_loss backpropagates into the second use of W only;
# - embedding_backward writes dW[idx] += dout, which loses repeated indices.

# %% nbgrader={"grade_id": "affine"} planted="TODO"
def affine_forward(x, W, b):
    return x.dot(W) + b, (x, W)

def affine_backward(dout, cache):
    x, W = cache
    return dout.dot(W.T), dout.T.dot(x), dout.sum(axis=0)

# %% nbgrader={"grade_id": "activations"} planted="TODO"
def relu_forward(x):
    out = x * (x > 0)
    return out, out

def relu_backward(dout, cache):
    return dout * (cache > 0)

def sigmoid_backward(dout, cache):
    return dout * cache * (1.0 - cache)

def tanh_backward(dout, cache):
    return dout * (1.0 - cache ** 2)

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="TODO"
def softmax_cross_entropy(logits, y):
    n = len(y)
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    loss = -log_p[np.arange(n), y].sum() / n
    onehot = np.zeros_like(p)
    onehot[np.arange(n), y] = 1
    dp = -onehot / np.maximum(p, 1e-300) / n
    dlogits = dp * p * (1 - p)          # d p_i / d z_i
    return loss, dlogits

# %% nbgrader={"grade_id": "mse_loss"} planted="TODO"
def mse_loss(pred, target):
    diff = pred - target
    return 0.5 * np.sum(diff ** 2) / pred.shape[0], diff

# %% nbgrader={"grade_id": "two_layer_net"} planted="TODO"
def two_layer_loss(params, X, y):
    a, c1 = affine_forward(X, params["W1"], params["b1"])
    h, c_relu = relu_forward(a)
    scores, c2 = affine_forward(h, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dh, dW2, db2 = affine_backward(dscores, c2)
    _, dW1, db1 = affine_backward(relu_backward(dh, c_relu), c1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

# %% nbgrader={"grade_id": "shared_weights"} planted="TODO"
def shared_weight_loss(X, W):
    Z2 = np.maximum(X @ W, 0)
    Y = Z2 @ W
    return 0.5 * np.sum((Y - X) ** 2), Z2.T @ (Y - X)

# %% nbgrader={"grade_id": "embedding"} planted="TODO"
def embedding_forward(W, idx):
    return W[idx], (idx, W)

def embedding_backward(dout, cache):
    idx, W = cache
    dW = np.zeros_like(W)
    dW[idx] += dout
    return dW

# %% nbgrader={"grade_id": "sgd_momentum"} planted="TODO"
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    v = momentum * v + dw + weight_decay * w
    return w - lr * v, v

# %% nbgrader={"grade_id": "train"} planted="TODO"
def train(X, y, seed=0, callback=None):
    params = init_two_layer(64, 100, 10, seed)
    v = {k: 0 * p for k, p in params.items()}
    rng = np.random.default_rng(seed)
    for epoch in range(20):
        idx = rng.permutation(len(X))
        for b in range(0, len(X), 64):
            rows = idx[b:b + 64]
            _, g = two_layer_loss(params, X[rows], y[rows])
            for k in params:
                params[k], v[k] = sgd_momentum(params[k], g[k], v[k], 0.1, 0.9, 0.0)
    return params

# %%
# scratch: does the loss go down?
print(two_layer_loss(init_two_layer(4, 3, 2, 0), np.ones((2, 4)), np.array([0, 1]))[0])
