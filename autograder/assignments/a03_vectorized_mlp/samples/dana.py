# Sample student "dana": six typical slips, one per exercise.
# - affine_backward computes dW as dout^T x (the transpose);
# - softmax_cross_entropy keeps only the diagonal of the softmax Jacobian;
# - mse_loss's gradient lacks the 1/N of the batch mean;
# - shared_weight_loss backpropagates into the second use of W only;
# - embedding_backward writes dW[idx] += dout, which loses repeated indices.
# - backward_atomic leaves the max-subtraction's gradient unsummed over the classes (N x C).

# %% nbgrader={"grade_id": "affine"} planted="dW is computed as dout^T x, the transpose"
def affine_backward(dout, cache):
    x, W = cache
    return dout.dot(W.T), dout.T.dot(x), dout.sum(axis=0)

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="keeps only the diagonal of the softmax Jacobian"
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

# %% nbgrader={"grade_id": "mse_loss"} planted="the gradient lacks the 1/N of the batch mean"
def mse_loss(pred, target):
    diff = pred - target
    return 0.5 * np.sum(diff ** 2) / pred.shape[0], diff

# %% nbgrader={"grade_id": "shared_weights"} planted="backpropagates into the second use of W only"
def shared_weight_loss(X, W):
    Z2 = np.maximum(X @ W, 0)
    Y = Z2 @ W
    return 0.5 * np.sum((Y - X) ** 2), Z2.T @ (Y - X)

# %% nbgrader={"grade_id": "embedding"} planted="dW[idx] += dout loses the rows of repeated indices"
def embedding_backward(dout, cache):
    idx, shape = cache
    dW = np.zeros(shape)
    dW[idx] += dout
    return dW

# %%
# scratch: does the loss go down?
print(two_layer_loss(init_two_layer(4, 3, 2, 0), np.ones((2, 4)), np.array([0, 1]))[0])

# %% nbgrader={"grade_id": "backprop_ninja"} planted="the gradient of logit_max is -dshifted, not summed over the classes it was broadcast over"
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
    d["logit_max"] = -d["shifted"]
    d["logits"] = d["shifted"] + (c["logits"] == c["logit_max"]) * d["logit_max"]
    d["h"] = d["logits"] @ c["W2"].T
    d["W2"] = c["h"].T @ d["logits"]
    d["b2"] = d["logits"].sum(axis=0)
    d["pre"] = d["h"] * (1.0 - c["h"] ** 2)
    d["gamma"] = (d["pre"] * c["normed"]).sum(axis=0)
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
