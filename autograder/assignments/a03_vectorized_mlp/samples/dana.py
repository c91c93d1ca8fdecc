# Sample student "dana": seven typical slips, one per exercise.
# - affine_backward computes dW as dout^T x (the transpose);
# - softmax_cross_entropy keeps only the diagonal of the softmax Jacobian;
# - mse_loss's gradient lacks the 1/N of the batch mean;
# - shared_weight_loss backpropagates into the second use of W only;
# - embedding_backward writes dW[idx] += dout, which loses repeated indices.
# - backward_atomic leaves the max-subtraction's gradient unsummed over the classes (N x C).
# - stack_gradient_check checks the weights only: a bug in a bias gradient goes unnoticed.

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

# %% nbgrader={"grade_id": "backprop_ninja"} planted="the gradient of logit_max is -dshifted, not summed over the classes it was broadcast over" edit=[["d[\"logit_max\"] = -d[\"shifted\"].sum(axis=1, keepdims=True)", "d[\"logit_max\"] = -d[\"shifted\"]"]]

# %% nbgrader={"grade_id": "sanity_checks"} planted="the gradient check looks at the weights W only, never at a bias" edit=[["for name, value in params.items():", "for name, value in [(n, v) for n, v in params.items() if n.startswith(\"W\")]:"]]
