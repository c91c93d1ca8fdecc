"""Finite-difference gradient checking: the standard way to test backprop code.

Central differences have error O(h²) against O(h) for one-sided ones; in float64, h ≈ 1e-6
balances that truncation error against round-off (≈ machine epsilon / h).
"""
import numpy as np

from .autograd import no_grad
from .tensor import Tensor


def forward_difference(f, x, h=1e-6):
    return (f(x + h) - f(x)) / h


def backward_difference(f, x, h=1e-6):
    return (f(x) - f(x - h)) / h


def central_difference(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(f, x, h=1e-6):
    """d f / d x by central differences, one coordinate at a time.

    f: a function of the array x returning a number; x: ndarray of any shape (changed in place
    during the call and restored before returning). Returns an array shaped like x.
    Costs 2·x.size evaluations of f.
    """
    x = np.asarray(x)
    grad = np.zeros(x.shape, dtype=np.float64)
    flat, grad_flat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient needs a contiguous array it can perturb in place.")
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + h
        f_plus = float(f(x))
        flat[i] = original - h
        f_minus = float(f(x))
        flat[i] = original
        grad_flat[i] = (f_plus - f_minus) / (2 * h)
    return grad.astype(x.dtype, copy=False) if x.dtype.kind == "f" else grad


def numerical_jacobian_vector_product(f, x, upstream, h=1e-6):
    """Σ upstream · d f(x) / d x for an array-valued f: the gradient backprop computes for the
    scalar upstream·f(x). Shapes: x any; upstream like f(x)."""
    return numerical_gradient(lambda z: np.sum(upstream * f(z)), x, h)


def rel_error(a, b):
    """max |a - b| / max(1e-8, max(|a| + |b|)): scale-free, 0 for equal arrays."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes {a.shape} and {b.shape} differ.")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1e-8, float(np.max(np.abs(a) + np.abs(b)))))


class GradcheckError(AssertionError):
    """Raised by gradcheck when backprop and finite differences disagree."""


def gradcheck(f, inputs, mode="full", samples=20, eps=1e-6, tol=1e-6, seed=0, raise_exception=True):
    """Compare backprop through `f` with central differences.

    f: function of minigrad Tensors returning a Tensor (any shape); inputs: list of float64
    Tensors, those with requires_grad=True are checked. A random upstream gradient u (not all
    ones, which hides bugs such as a missing transpose of a square matrix) turns the output
    into the scalar Σ u·f.

    mode="full":   every coordinate of every input (2 evaluations each);
    mode="sample": `samples` random coordinates per input;
    mode="direction": one random direction v per input: compare <grad, v> with
                      (L(x + εv) - L(x - εv)) / 2ε: two evaluations, whatever the size.
    Returns True, or raises GradcheckError naming the input and the worst error.
    """
    rng = np.random.default_rng(seed)
    inputs = list(inputs)
    for t in inputs:
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck needs float64 inputs (got {t.dtype}): float32 round-off "
                            "is about 1e-7, as large as the errors being looked for.")
    output = f(*inputs)
    upstream = rng.standard_normal(output.shape)
    for t in inputs:
        t.grad = None
    output.backward(upstream)
    analytic = [t.grad if t.grad is not None else np.zeros(t.shape) for t in inputs]

    def loss():
        with no_grad():
            return float(np.sum(upstream * f(*inputs).data))

    failures = []
    for index, (t, grad) in enumerate(zip(inputs, analytic)):
        if not t.requires_grad:
            continue
        if mode == "direction":
            v = rng.standard_normal(t.shape)
            original = t.data  # never written to: the perturbed inputs are new arrays
            t.data = original + eps * v
            plus = loss()
            t.data = original - eps * v
            minus = loss()
            t.data = original
            numeric, backprop = np.array((plus - minus) / (2 * eps)), np.array(np.sum(grad * v))
        else:
            # Perturb a C-contiguous copy: for a transposed or sliced array reshape(-1) would be
            # a copy, the perturbations would never reach f and every numeric entry would be 0.
            user_data = t.data
            t.data = np.array(user_data, order="C")
            flat = t.data.reshape(-1)
            if mode == "full":
                coords = np.arange(flat.size)
            elif mode == "sample":
                coords = rng.choice(flat.size, size=min(samples, flat.size), replace=False)
            else:
                raise ValueError(f"gradcheck: mode must be 'full', 'sample' or 'direction', got {mode!r}.")
            numeric = np.empty(len(coords))
            for j, c in enumerate(coords):
                original = flat[c]
                flat[c] = original + eps
                plus = loss()
                flat[c] = original - eps
                minus = loss()
                flat[c] = original
                numeric[j] = (plus - minus) / (2 * eps)
            t.data = user_data
            backprop = grad.reshape(-1)[coords]
        error = rel_error(numeric, backprop)
        if error > tol:
            worst = int(np.argmax(np.abs(np.atleast_1d(numeric - backprop))))
            failures.append(
                f"input {index} (shape {t.shape}): relative error {error:.3g} > {tol:g} in mode "
                f"{mode!r}; worst entry backprop={np.atleast_1d(backprop)[worst]:.6g}, "
                f"numerical={np.atleast_1d(numeric)[worst]:.6g}")
    if failures:
        if raise_exception:
            raise GradcheckError("gradcheck failed:\n  " + "\n  ".join(failures))
        return False
    return True


def compare_with_torch(f_minigrad, f_torch, arrays, torch, seed=0):
    """Run the same computation in minigrad and torch on float64 copies of `arrays`.

    f_minigrad(*tensors) and f_torch(*torch_tensors) must compute the same function; `torch`
    is the torch module (minigrad never imports it itself: it needs NumPy alone). Every
    array becomes an input that requires grad; a random upstream gradient is pushed back.
    Returns {"forward": rel error of outputs, "grads": [rel error per input]}.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    ours = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    out_ours, out_theirs = f_minigrad(*ours), f_torch(*theirs)
    upstream = rng.standard_normal(out_ours.shape)
    out_ours.backward(upstream)
    out_theirs.backward(torch.from_numpy(upstream))
    zeros = [np.zeros(a.shape) for a in arrays]
    return {
        "forward": rel_error(out_ours.data, out_theirs.detach().numpy()),
        "grads": [rel_error(o.grad if o.grad is not None else z,
                            t.grad.numpy() if t.grad is not None else z)
                  for o, t, z in zip(ours, theirs, zeros)],
    }
