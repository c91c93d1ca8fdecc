# Sample student "emil": a crash and two gradient bugs.
# - backward_difference uses a variable that does not exist (NameError);
# - numerical_gradient moves every coordinate at once instead of one at a time;
# - the network gradient perturbs a copy but evaluates the loss on the unperturbed parameters.

# %% nbgrader={"grade_id": "backward_difference"} planted="uses an undefined variable step (NameError)"
def backward_difference(f, x, h):
    """(f(x) - f(x - h)) / h for a function f of one float."""
    return (f(x) - f(x - step)) / h

# %% nbgrader={"grade_id": "numerical_gradient"} planted="moves every coordinate at once instead of one at a time"
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of f: array -> float at x (any shape); returns x.shape."""
    grad = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        grad[idx] = (f(x + h / 2) - f(x - h / 2)) / h
    return grad

# %% nbgrader={"grade_id": "network_gradient"} planted="perturbs copies but evaluates the loss on the unperturbed parameters (all zeros)"
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    """{name: dL/d params[name]} by central differences, each shaped like params[name]."""
    grads = {}
    for name, value in params.items():
        g = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[idx] += h / 2
            down[idx] -= h / 2
            g[idx] = (mlp_loss(params, X, Y) - mlp_loss(params, X, Y)) / h
        grads[name] = g
    return grads
