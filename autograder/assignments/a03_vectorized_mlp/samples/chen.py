# Sample student "chen": careful work with three classic slips.
# - affine_backward averages the bias gradient over the batch (the loss already averages);
# - softmax_cross_entropy exponentiates the raw logits (no max subtraction): fine for small
#   logits, NaN for logits of 1e4;
# - sgd_momentum recomputes the velocity from the current gradient only: it never keeps it.

# %% nbgrader={"grade_id": "affine"} planted="db averages over the batch instead of summing"
def affine_backward(dout, cache):
    x, W = cache
    return dout @ W.T, x.T @ dout, np.mean(dout, axis=0)

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="exponentiates the raw logits without subtracting the max: NaN for large logits"
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    dlogits = p.copy()
    dlogits[np.arange(n), y] -= 1
    return loss, dlogits / n

# %% nbgrader={"grade_id": "sgd_momentum"} planted="recomputes the velocity from the current gradient only, never keeps it"
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    g = dw + weight_decay * w
    v = momentum * np.zeros_like(w) + g
    w = w - lr * v
    return w, v
