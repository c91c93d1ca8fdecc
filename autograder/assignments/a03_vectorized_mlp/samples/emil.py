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

# %% nbgrader={"grade_id": "backprop_ninja"} planted="dgamma is not summed over the batch it was broadcast over"
def backward_atomic(cache, dloss=1.0):
    c = cache
    n, hidden = c["a"].shape
    d = {"log_probs": np.zeros_like(c["log_probs"])}
    d["log_probs"][np.arange(n), c["y"]] = -dloss / n
    d["probs"] = d["log_probs"] / c["probs"]
    d["exp_sum_inv"] = (d["probs"] * c["exps"]).sum(axis=1, keepdims=True)
    d["exp_sum"] = -d["exp_sum_inv"] / c["exp_sum"] ** 2
    d["exps"] = d["probs"] * c["exp_sum_inv"] + d["exp_sum"]     # two uses: probs and exp_sum
    d["shifted"] = d["exps"] * c["exps"]
    d["logit_max"] = -d["shifted"].sum(axis=1, keepdims=True)
    d["logits"] = d["shifted"] + (c["logits"] == c["logit_max"]) * d["logit_max"]
    d["h"] = d["logits"] @ c["W2"].T
    d["W2"] = c["h"].T @ d["logits"]
    d["b2"] = d["logits"].sum(axis=0)
    d["pre"] = d["h"] * (1.0 - c["h"] ** 2)
    d["gamma"] = d["pre"] * c["normed"]
    d["beta"] = d["pre"].sum(axis=0)
    d["normed"] = d["pre"] * c["gamma"]
    d["inv_std"] = (d["normed"] * c["centered"]).sum(axis=1, keepdims=True)
    d["var"] = -0.5 * c["inv_std"] ** 3 * d["inv_std"]
    d["sq"] = np.ones_like(c["sq"]) * d["var"] / hidden
    d["centered"] = d["normed"] * c["inv_std"] + 2.0 * c["centered"] * d["sq"]   # two uses
    d["mu"] = -d["centered"].sum(axis=1, keepdims=True)
    d["a"] = d["centered"] + d["mu"] / hidden                                  # two uses
    d["W1"] = c["X"].T @ d["a"]
    d["b1"] = d["a"].sum(axis=0)
    d["X"] = d["a"] @ c["W1"].T
    return d
