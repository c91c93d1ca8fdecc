# Sample student "emil": gradients that are right in spirit and wrong in detail.
# - affine_backward returns dout itself as db (one row per example, not summed);
# - relu_backward masks in place with the sign of the upstream gradient, not of the input;
# - sigmoid_backward differentiates at the input x instead of using the output s;
# - softmax_cross_entropy forgets the 1/N of the batch mean in dlogits;
# - sgd_momentum subtracts the gradient from the velocity and then subtracts the velocity.

# %% nbgrader={"grade_id": "affine"} planted="TODO"
def affine_forward(x, W, b):
    cache = {"x": x, "W": W}
    return np.matmul(x, W) + b, cache

def affine_backward(dout, cache):
    dx = np.matmul(dout, cache["W"].T)
    dW = np.matmul(cache["x"].T, dout)
    db = dout
    return dx, dW, db

# %% nbgrader={"grade_id": "activations"} planted="TODO"
def relu_forward(x):
    return np.where(x > 0, x, 0.0), x

def relu_backward(dout, cache):
    dout[dout < 0] = 0
    return dout

def sigmoid_forward(x):
    return 1 / (1 + np.exp(-x)), x

def sigmoid_backward(dout, cache):
    x = cache
    return dout * x * (1 - x)

def tanh_forward(x):
    return np.tanh(x), np.tanh(x)

def tanh_backward(dout, cache):
    return dout * (1 - np.square(cache))

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="TODO"
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    logsumexp = np.log(np.sum(np.exp(shifted), axis=1))
    loss = np.mean(logsumexp - shifted[np.arange(N), y])
    probs = np.exp(shifted - logsumexp[:, None])
    probs[np.arange(N), y] -= 1
    return loss, probs

# %% nbgrader={"grade_id": "mse_loss"} planted="TODO"
def mse_loss(pred, target):
    N = pred.shape[0]
    loss = np.sum(np.square(pred - target)) / N / 2
    return loss, (pred - target) / N

# %% nbgrader={"grade_id": "two_layer_net"} planted="TODO"
def two_layer_loss(params, X, y):
    hidden, cache1 = affine_forward(X, params["W1"], params["b1"])
    hidden, cache_relu = relu_forward(hidden)
    scores, cache2 = affine_forward(hidden, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
    dhidden, dW2, db2 = affine_backward(dscores, cache2)
    dhidden = relu_backward(dhidden, cache_relu)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}

# %% nbgrader={"grade_id": "shared_weights"} planted="TODO"
def shared_weight_loss(X, W):
    Z1 = X @ W
    Z2 = np.maximum(Z1, 0)
    Y = Z2 @ W
    dY = Y - X
    dZ1 = (dY @ W.T) * (Z1 > 0)
    return 0.5 * np.sum(dY ** 2), Z2.T @ dY + X.T @ dZ1

# %% nbgrader={"grade_id": "embedding"} planted="TODO"
def embedding_forward(W, idx):
    return W[idx], {"idx": idx, "V": W.shape[0]}

def embedding_backward(dout, cache):
    dW = np.zeros((cache["V"], dout.shape[1]))
    for n, v in enumerate(cache["idx"]):
        dW[v] += dout[n]
    return dW

# %% nbgrader={"grade_id": "sgd_momentum"} planted="TODO"
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    v = momentum * v - (dw + weight_decay * w)
    w = w - lr * v
    return w, v

# %% nbgrader={"grade_id": "train"} planted="TODO"
def train(X, y, seed=0, callback=None):
    params = init_two_layer(64, 64, 10, seed)
    velocities = {name: np.zeros_like(value) for name, value in params.items()}
    for epoch in range(30):
        for start in range(0, len(X), 50):
            loss, grads = two_layer_loss(params, X[start:start + 50], y[start:start + 50])
            for name in params:
                params[name], velocities[name] = sgd_momentum(params[name], grads[name],
                                                              velocities[name], 0.01, 0.9, 0.0)
    return params
