# Sample student "dana": three typical slips.
# - forward_difference forgets to divide by h; backward_difference has the sign flipped;
# - relative_error leaves out the 1e-8 floor;
# - the network gradient divides by 2h although the points are h apart (half the gradient).

# %% nbgrader={"grade_id": "forward_difference"} planted="forgets to divide by h"
def forward_difference(f, x, h):
    """(f(x + h) - f(x)) / h for a function f of one float."""
    return f(x + h) - f(x)

# %% nbgrader={"grade_id": "backward_difference"} planted="sign flipped: (f(x - h) - f(x)) / h"
def backward_difference(f, x, h):
    """(f(x) - f(x - h)) / h for a function f of one float."""
    return (f(x - h) - f(x)) / h

# %% nbgrader={"grade_id": "gradient_check"} planted="relative_error leaves out the 1e-8 floor of the denominator"
def relative_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)) for arrays a, b of the same shape; a float."""
    return float(np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b)))

# %% nbgrader={"grade_id": "network_gradient"} planted="divides by 2h although the two points are h apart (half the gradient)"
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    """{name: dL/d params[name]} by central differences, each shaped like params[name]."""
    grads = {}
    for name, value in params.items():
        grads[name] = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            old = value[idx]
            losses = []
            for step in (h / 2, -h / 2):
                value[idx] = old + step
                losses.append(mlp_loss(params, X, Y))
            value[idx] = old
            grads[name][idx] = (losses[0] - losses[1]) / (2 * h)
    return grads
