# Sample student "chen": careful work with two classic slips.
# - central_difference uses x +/- h and divides by 2h (the textbook convention, not the lecture's);
# - numerical_gradient and the network gradient restore entries by adding and subtracting h,
#   which does not always give back the same float.

# %% nbgrader={"grade_id": "central_difference"} planted="evaluates at x +/- h and divides by 2h instead of x +/- h/2 over h"
def central_difference(f, x, h):
    """(f(x + h/2) - f(x - h/2)) / h for a function f of one float."""
    return (f(x + h) - f(x - h)) / (2 * h)

# %% nbgrader={"grade_id": "numerical_gradient"} planted="restores each entry by adding and subtracting h, not by writing back the saved value"
def numerical_gradient(f, x, h=1e-5):
    """Central-difference gradient of f: array -> float at x (any shape); returns x.shape.

    x is perturbed in place one entry at a time and restored exactly."""
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        x[i] += h / 2
        up = f(x)
        x[i] -= h
        down = f(x)
        x[i] += h / 2
        grad[i] = (up - down) / h
    return grad

# %% nbgrader={"grade_id": "network_gradient"} planted="restores each parameter entry by adding and subtracting h, not by writing back the saved value"
def mlp_numerical_gradients(params, X, Y, h=1e-5):
    """{name: dL/d params[name]} by central differences, each shaped like params[name]."""
    grads = {}
    for name in params:
        p = params[name]
        g = np.zeros(p.shape)
        for i in np.ndindex(p.shape):
            p[i] += h / 2
            plus = mlp_loss(params, X, Y)
            p[i] -= h
            minus = mlp_loss(params, X, Y)
            p[i] += h / 2
            g[i] = (plus - minus) / h
        grads[name] = g
    return grads

# %%
# my own check
print(central_difference(np.sin, 0.0, 1e-3))
