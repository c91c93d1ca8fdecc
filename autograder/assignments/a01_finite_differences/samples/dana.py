# Sample student "dana": three typical slips.
# - forward_difference forgets to divide by h; backward_difference has the sign flipped;
# - relative_error leaves out the 1e-8 floor;
# - the network gradient divides by 2h although the points are h apart (half the gradient).

# %% nbgrader={"grade_id": "forward_difference"} planted="TODO"
def forward_difference(f, x, h):
    """(f(x + h) - f(x)) / h for a function f of one float."""
    return f(x + h) - f(x)

# %% nbgrader={"grade_id": "backward_difference"} planted="TODO"
def backward_difference(f, x, h):
    """(f(x) - f(x - h)) / h for a function f of one float."""
    return (f(x - h) - f(x)) / h

# %% nbgrader={"grade_id": "numerical_gradient"} planted="TODO"
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of f: array -> float at x (any shape); returns x.shape."""
    grad = np.zeros(x.shape)
    for idx in np.ndindex(*x.shape):
        old = x[idx]
        x[idx] = old + h / 2
        fp = f(x)
        x[idx] = old - h / 2
        fm = f(x)
        x[idx] = old
        grad[idx] = (fp - fm) / h
    return grad

# %% nbgrader={"grade_id": "gradient_check"} planted="TODO"
def relative_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)) for arrays a, b of the same shape; a float."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b)))

def gradient_check(f, grad_f, x, h=1e-5):
    """Relative error between grad_f(x) and the numerical gradient of f at x; a float."""
    return relative_error(grad_f(x), numerical_gradient(f, x, h))

# %% nbgrader={"grade_id": "network_gradient"} planted="TODO"
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    """{name: dL/d params[name]} by central differences, each shaped like params[name]."""
    grads = {}
    for name, value in params.items():
        grads[name] = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            value[idx] = old + h / 2
            lp = mlp_loss(params, X, Y)
            value[idx] = old - h / 2
            lm = mlp_loss(params, X, Y)
            value[idx] = old
            grads[name][idx] = (lp - lm) / (2 * h)
    return grads
