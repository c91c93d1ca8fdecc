"""Helpers shared by the test files that compare minigrad with PyTorch (float64 throughout).

`check_against_torch` is the workhorse: it runs the same function in minigrad and torch on
copies of the same float64 arrays, pushes a random (never all-ones) upstream gradient back
through both, and asserts that outputs and every input gradient agree to a relative error.
"""
import numpy as np
import torch

import minigrad as mg
from minigrad.gradcheck import rel_error

TOL = 1e-7


def rand(rng, *shape, low=None, high=None):
    """float64 normal samples (or uniform in [low, high)); shape () gives a 0-d array."""
    if low is not None:
        return np.asarray(rng.uniform(low, high, size=shape), dtype=np.float64)
    return np.asarray(rng.standard_normal(shape), dtype=np.float64)


def tie_free(rng, *shape):
    """A random permutation of well-separated values: no two entries are equal (max-pool)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).astype(np.float64) / n + 0.1 * rng.random(n) / n).reshape(shape)


def to_torch(array, requires_grad=False):
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad)


def assert_close(ours, theirs, tol=TOL, what="values"):
    ours = ours.data if isinstance(ours, mg.Tensor) else ours
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch's {theirs.shape}"
    error = rel_error(ours, theirs)
    assert error < tol, f"{what}: relative error {error:.3g} >= {tol:g}\nours={ours}\ntorch={theirs}"


def check_against_torch(f_mg, f_torch, *arrays, tol=TOL, seed=0, grad_mask=None):
    """Assert f_mg(*tensors) and f_torch(*torch_tensors) agree in value and in every gradient.

    arrays: float64 ndarrays, each becomes an input requiring grad (unless grad_mask says not).
    Returns (minigrad output, torch output) for further checks.
    """
    rng = np.random.default_rng(seed)
    grad_mask = grad_mask or [True] * len(arrays)
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    ours = [mg.Tensor(a.copy(), requires_grad=g) for a, g in zip(arrays, grad_mask)]
    theirs = [to_torch(a, requires_grad=g) for a, g in zip(arrays, grad_mask)]
    out_ours, out_theirs = f_mg(*ours), f_torch(*theirs)
    assert isinstance(out_ours, mg.Tensor)
    assert out_ours.dtype == np.float64, f"output dtype {out_ours.dtype}, expected float64"
    assert_close(out_ours, out_theirs, tol, "forward")
    upstream = rng.standard_normal(out_ours.shape)  # random: all-ones hides transposes
    out_ours.backward(upstream)
    out_theirs.backward(torch.from_numpy(np.array(upstream)))
    for i, (o, t, g) in enumerate(zip(ours, theirs, grad_mask)):
        if not g:
            continue
        expected = t.grad if t.grad is not None else torch.zeros(t.shape, dtype=torch.float64)
        assert o.grad is not None, f"input {i}: minigrad gave no gradient"
        assert o.grad.dtype == np.float64, f"input {i}: grad dtype {o.grad.dtype}"
        assert_close(o.grad, expected, tol, f"gradient of input {i}")
    return out_ours, out_theirs


def copy_params(mg_module, torch_module, mapping=None):
    """Copy torch_module's parameters into mg_module (float64), by name (or `mapping`)."""
    own = dict(mg_module.named_parameters())
    theirs = dict(torch_module.named_parameters())
    mapping = mapping or {name: name for name in own}
    assert set(mapping) == set(own), f"unmapped parameters: {set(own) ^ set(mapping)}"
    for ours_name, their_name in mapping.items():
        value = theirs[their_name].detach().numpy().astype(np.float64)
        assert own[ours_name].shape == value.shape, (ours_name, own[ours_name].shape, value.shape)
        own[ours_name].data = value.copy()
    return mapping


def assert_param_grads_match(mg_module, torch_module, mapping, tol=TOL):
    own = dict(mg_module.named_parameters())
    theirs = dict(torch_module.named_parameters())
    for ours_name, their_name in mapping.items():
        assert own[ours_name].grad is not None, f"{ours_name}: no gradient"
        assert_close(own[ours_name].grad, theirs[their_name].grad, tol, f"grad of {ours_name}")
