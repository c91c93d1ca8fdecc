# Sample student "emil": gradients that are right in spirit and wrong in detail.
# - affine_backward returns dout itself as db (one row per example, not summed);
# - relu_backward masks in place with the sign of the upstream gradient, not of the input;
# - sigmoid_backward differentiates at the input x instead of using the output s;
# - softmax_cross_entropy forgets the 1/N of the batch mean in dlogits;
# - sgd_momentum subtracts the gradient from the velocity and then subtracts the velocity.
# - backward_atomic leaves dgamma unsummed over the batch (one row per example).

# %% nbgrader={"grade_id": "affine"} planted="db is dout itself, one row per example, not summed over the batch"
def affine_backward(dout, cache):
    x, W = cache
    return np.matmul(dout, W.T), np.matmul(x.T, dout), dout

# %% nbgrader={"grade_id": "activations"} planted="relu_backward masks (in place) by the sign of dout, not of the input; sigmoid's derivative is taken at the input x instead of the output s"
def relu_backward(dout, cache):
    dout[dout < 0] = 0
    return dout

def sigmoid_forward(x):
    return 1 / (1 + np.exp(-x)), x

def sigmoid_backward(dout, cache):
    x = cache
    return dout * x * (1 - x)

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="dlogits lacks the 1/N of the batch mean"
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    logsumexp = np.log(np.sum(np.exp(shifted), axis=1))
    loss = np.mean(logsumexp - shifted[np.arange(N), y])
    probs = np.exp(shifted - logsumexp[:, None])
    probs[np.arange(N), y] -= 1
    return loss, probs

# %% nbgrader={"grade_id": "sgd_momentum"} planted="subtracts the gradient from the velocity and then subtracts the velocity (momentum sign)"
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    v = momentum * v - (dw + weight_decay * w)
    w = w - lr * v
    return w, v

# %% nbgrader={"grade_id": "backprop_ninja"} planted="dgamma is not summed over the batch it was broadcast over" edit=[["d[\"gamma\"] = (d[\"pre\"] * c[\"normed\"]).sum(axis=0)", "d[\"gamma\"] = d[\"pre\"] * c[\"normed\"]"]]
