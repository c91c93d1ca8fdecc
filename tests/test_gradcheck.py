"""minigrad.gradcheck: finite differences, rel_error, and gradcheck catching planted bugs."""
import numpy as np
import pytest
import torch

import minigrad as mg
from minigrad.gradcheck import (GradcheckError, backward_difference, central_difference,
                                compare_with_torch, forward_difference, gradcheck,
                                numerical_gradient, numerical_jacobian_vector_product, rel_error)


def f_scalar(z):
    return float(np.sum(np.sin(z) * z + z ** 3))


def df_scalar(z):
    return np.cos(z) * z + np.sin(z) + 3 * z ** 2


# ---- numerical_gradient ---------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)], ids=str)
def test_numerical_gradient_any_shape_and_restores_x(shape):
    x = np.asarray(np.random.default_rng(0).standard_normal(shape))
    before = x.copy()
    seen = []
    grad = numerical_gradient(lambda z: seen.append(z is x) or f_scalar(z), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, df_scalar(before), rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(x, before)  # every coordinate was put back exactly
    assert all(seen) and len(seen) == 2 * x.size  # two evaluations per coordinate, in place


def test_numerical_gradient_rejects_non_contiguous_arrays_clearly():
    x = np.random.default_rng(1).standard_normal((3, 4)).T
    with pytest.raises(ValueError, match="contiguous"):
        numerical_gradient(f_scalar, x)


def test_numerical_jacobian_vector_product():
    rng = np.random.default_rng(2)
    x, u = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    got = numerical_jacobian_vector_product(np.tanh, x, u)
    np.testing.assert_allclose(got, u * (1 - np.tanh(x) ** 2), rtol=1e-7, atol=1e-9)


# ---- rel_error -----------------------------------------------------------------------------------------
def test_rel_error_definition():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    # max |a - b| / max(|a| + |b|)
    assert rel_error([1.0, 2.0], [1.0, 3.0]) == pytest.approx(1.0 / 5.0)
    assert rel_error([3.0, -1.0], [2.0, -1.5]) == pytest.approx(1.0 / 5.0)
    assert rel_error(np.array(2.0), np.array(-2.0)) == pytest.approx(1.0)  # the largest possible
    # scale-free ...
    a, b = np.array([0.3, -2.0, 5.0]), np.array([0.31, -2.0, 4.9])
    assert rel_error(1e6 * a, 1e6 * b) == pytest.approx(rel_error(a, b))
    assert rel_error(1e-6 * a, 1e-6 * b) == pytest.approx(rel_error(a, b))
    # ... except for a floor of 1e-8 on the denominator, so tiny noise around 0 is not an error
    assert rel_error(0.0, 1e-10) == pytest.approx(1e-2)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    with pytest.raises(ValueError, match="shape"):
        rel_error(np.zeros(3), np.zeros(4))


# ---- error orders of the three differences ---------------------------------------------------------------
@pytest.mark.parametrize("rule,order", [(forward_difference, 1), (backward_difference, 1),
                                        (central_difference, 2)], ids=["forward", "backward",
                                                                       "central"])
def test_difference_error_orders(rule, order):
    f, x, exact = np.exp, 0.3, np.exp(0.3)
    errors = [abs(rule(f, x, h) - exact) for h in (4e-2, 2e-2, 1e-2, 5e-3)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    # Halving h halves a first-order error and quarters a second-order one.
    np.testing.assert_allclose(ratios, 2.0 ** order, rtol=0.05)


def test_central_difference_beats_one_sided_at_default_step():
    f, x, exact = np.sin, 1.1, np.cos(1.1)
    central = abs(central_difference(f, x) - exact)
    assert central < 1e-9
    assert central < abs(forward_difference(f, x) - exact) / 10
    assert central < abs(backward_difference(f, x) - exact) / 10


# ---- gradcheck on correct ops -----------------------------------------------------------------------------
MODES = ["full", "sample", "direction"]


def _inputs(rng, *shapes):
    return [mg.Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


CORRECT = {
    "mlp": (lambda x, w, b: (x @ w + b).tanh(), [(5, 4), (4, 3), (3,)]),
    "softmax-ce": (lambda x, w: mg.functional.cross_entropy(x @ w, np.array([0, 2, 1, 1, 0])),
                   [(5, 4), (4, 3)]),
    "conv": (lambda x, w: mg.functional.max_pool2d(mg.functional.conv2d(x, w, padding=1).relu(), 2),
             [(1, 2, 4, 4), (3, 2, 3, 3)]),
    "layer_norm": (lambda x, w: mg.functional.layer_norm(x, 4, w), [(3, 4), (4,)]),
    "scalar out": (lambda x: (x * x).sum().sqrt(), [(3, 2)]),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CORRECT))
def test_gradcheck_passes_on_correct_ops(name, mode):
    f, shapes = CORRECT[name]
    inputs = _inputs(np.random.default_rng(3), *shapes)
    before = [t.data.copy() for t in inputs]
    assert gradcheck(f, inputs, mode=mode, samples=8) is True
    for t, b in zip(inputs, before):
        np.testing.assert_array_equal(t.data, b)


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_on_non_contiguous_inputs(mode):
    rng = np.random.default_rng(4)
    x = mg.Tensor(rng.standard_normal((4, 3)).T, requires_grad=True)  # a transposed view
    w = mg.Tensor(rng.standard_normal((8, 3))[::2], requires_grad=True)  # a strided slice
    data = x.data
    assert gradcheck(lambda a, b: (a @ b).tanh(), [x, w], mode=mode)
    assert x.data is data


def test_gradcheck_skips_inputs_without_grad_and_checks_dtype():
    rng = np.random.default_rng(5)
    x = mg.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    c = mg.Tensor(rng.standard_normal((3, 2)))
    assert gradcheck(lambda a, b: a * b, [x, c])
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda a: a * 2.0, [mg.Tensor(np.ones(2, np.float32), requires_grad=True)])
    with pytest.raises(ValueError, match="mode"):
        gradcheck(lambda a: a * 2.0, [x], mode="everything")


# ---- gradcheck catches planted bugs -------------------------------------------------------------------
class MatMulTransposeBug(mg.Function):
    """Y = A B, but backward forgets to transpose B: dA = dY B instead of dY Bᵀ."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b, a.T @ grad


class TanhFactorTwoBug(mg.Function):
    """tanh with a spurious factor of 2 in its local derivative."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return 2 * grad * (1 - out * out)


class AffineBiasSumBug(mg.Function):
    """Y = X W + b, but the bias gradient is the first example's instead of the batch sum."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        return grad @ w.T, x.T @ grad, grad[0]


PLANTED = {
    # the matrix B is square, so the buggy gradient has the right shape and only values differ
    "transposed matrix": (lambda a, b: MatMulTransposeBug.apply(a, b), [(7, 5), (5, 5)], 0),
    "factor of two": (lambda x: TanhFactorTwoBug.apply(x * 1.0), [(6, 5)], 0),
    "missing bias sum": (lambda x, w, b: AffineBiasSumBug.apply(x, w, b), [(6, 4), (4, 3), (3,)], 2),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bug", list(PLANTED))
def test_gradcheck_catches_planted_bug(bug, mode):
    f, shapes, bad_input = PLANTED[bug]
    inputs = _inputs(np.random.default_rng(6), *shapes)
    with pytest.raises(GradcheckError, match=f"input {bad_input} "):
        gradcheck(f, inputs, mode=mode, samples=10)
    assert gradcheck(f, inputs, mode=mode, samples=10, raise_exception=False) is False


@pytest.mark.parametrize("bug", list(PLANTED))
def test_planted_bugs_are_real_against_torch(bug):
    # The same functions are wrong according to torch, so gradcheck is not merely picky.
    f, shapes, bad_input = PLANTED[bug]
    torch_f = {"transposed matrix": lambda a, b: a @ b, "factor of two": torch.tanh,
               "missing bias sum": lambda x, w, b: x @ w + b}[bug]
    arrays = [np.random.default_rng(7).standard_normal(s) for s in shapes]
    result = compare_with_torch(f, torch_f, arrays, torch)
    assert result["forward"] < 1e-12
    assert result["grads"][bad_input] > 1e-2
    assert all(e < 1e-12 for i, e in enumerate(result["grads"]) if i != bad_input)

