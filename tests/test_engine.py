"""Autograd semantics of the Tensor engine and of the scalar Value engine, as in PyTorch."""
import math
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
import minigrad.functional as F
from helpers_torch import assert_close, rand, to_torch
from minigrad import Value


def leaf(array, dtype=np.float64):
    return mg.Tensor(np.array(array, dtype=dtype), requires_grad=True)


# ---- accumulation ---------------------------------------------------------------------------------
def test_gradients_add_at_a_fork():
    rng = np.random.default_rng(0)
    x0 = rand(rng, 3, 4)
    u = rng.standard_normal((3, 4))
    x, xt = leaf(x0), to_torch(x0, requires_grad=True)
    for t, lib in ((x, mg), (xt, torch)):
        a = t.exp()
        (a * a + a * t - t.tanh()).backward(u if lib is mg else torch.from_numpy(u))
    assert_close(x.grad, xt.grad)


def test_a_tensor_used_twice_by_one_op():
    x = leaf([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, -4.0])


def test_leaf_gradients_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    for _ in range(3):
        (x * x).sum().backward()  # a new graph each time: no retain_graph needed
    np.testing.assert_allclose(x.grad, 3 * 2 * np.array([1.0, 2.0, 3.0]))


def test_same_graph_twice_with_retain_graph_accumulates():
    x, xt = leaf([0.5, -1.0]), torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    y, yt = (x * x.sigmoid()).sum(), (xt * xt.sigmoid()).sum()
    y.backward(retain_graph=True)
    yt.backward(retain_graph=True)
    first = x.grad.copy()
    y.backward()
    yt.backward()
    np.testing.assert_allclose(x.grad, 2 * first, rtol=1e-15)
    assert_close(x.grad, xt.grad)


def test_second_backward_without_retain_graph_raises_clear_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    # torch raises too:
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = (xt * xt).sum()
    yt.backward()
    with pytest.raises(RuntimeError):
        yt.backward()


def test_graph_without_saved_values_can_be_walked_twice_like_torch():
    # The lecture's example: c = a + b saves nothing, so a second backward is allowed.
    a, b = leaf(2.0), leaf(2.0)
    c = a + b
    c.backward()
    c.backward()
    assert a.grad == 2.0 and b.grad == 2.0


def test_zero_grad_by_setting_none_then_fresh_gradient():
    x = leaf([1.0, 2.0])
    (3.0 * x).sum().backward()
    x.grad = None
    (5.0 * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_grad_is_a_fresh_array_not_an_alias():
    x = leaf([1.0, 2.0])
    x.sum().backward()
    g = x.grad
    x.sum().backward()
    np.testing.assert_array_equal(g, [1.0, 1.0])  # the first array was not modified in place


# ---- graph recording --------------------------------------------------------------------------------
def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2.0).exp() + x
        assert not y.requires_grad and y.grad_fn is None
        with mg.enable_grad():
            z = x * 2.0
            assert z.requires_grad and z.grad_fn is not None
    assert mg.is_grad_enabled()
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_no_grad_restores_state_after_exception():
    with pytest.raises(ZeroDivisionError):
        with mg.no_grad():
            1 / 0
    assert mg.is_grad_enabled()


def test_requires_grad_propagates_and_constants_get_no_grad():
    x, c = leaf([1.0, 2.0]), mg.Tensor(np.array([3.0, 4.0]))
    y = x * c
    assert y.requires_grad and not y.is_leaf and x.is_leaf and c.is_leaf
    assert not (c * 2.0).requires_grad and (c * 2.0).grad_fn is None
    y.sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_grad_fn_and_inputs_form_the_graph():
    x, w = leaf([1.0]), leaf([2.0])
    y = (x * w).exp()
    assert y.grad_fn is not None and "Exp" in y.grad_fn.name()
    (prod,) = y.grad_fn.inputs
    assert "Mul" in prod.grad_fn.name() and prod.grad_fn.inputs == (x, w)


@pytest.mark.parametrize("kind", ["Tensor", "Value"])
def test_long_chain_backward_has_no_recursion_limit(kind):
    n = 100_000
    x = leaf(0.5) if kind == "Tensor" else Value(0.5)
    y = x
    for _ in range(n):
        y = y + 1e-5
    y.backward()
    assert x.grad == 1.0
    assert float(y.data) == pytest.approx(0.5 + n * 1e-5)
    del y  # freeing the long chain must not overflow the C stack either


def test_long_multiplicative_chain_gradient_value():
    x = leaf(1.0)
    y = x
    for _ in range(2_000):
        y = y * 1.001
    y.backward()
    assert x.grad == pytest.approx(1.001 ** 2_000, rel=1e-10)


def test_retain_grad_keeps_intermediate_gradient():
    rng = np.random.default_rng(1)
    x0, u = rand(rng, 3), rng.standard_normal(3)
    x, xt = leaf(x0), to_torch(x0, requires_grad=True)
    h, ht = x.tanh(), xt.tanh()
    h.retain_grad()
    ht.retain_grad()
    other = x * 2.0  # not retained
    (h * h + other).backward(u)
    (ht * ht + xt * 2.0).backward(torch.from_numpy(u))
    assert_close(h.grad, ht.grad)
    assert_close(x.grad, xt.grad)
    assert other.grad is None


def test_detach_cuts_the_graph():
    x = leaf([1.0, -2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    np.testing.assert_array_equal(d.data, x.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, -2.0])  # d counted as a constant


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        mg.Tensor(np.array([1, 2]), requires_grad=True)
    with pytest.raises(TypeError, match="float"):
        mg.Tensor([1, 2]).requires_grad_()


# ---- dtypes -------------------------------------------------------------------------------------
def test_default_dtypes_follow_torch():
    assert mg.Tensor([1.0, 2.0]).dtype == np.float32
    assert mg.tensor(1.5).dtype == np.float32
    assert mg.Tensor([1, 2]).dtype == np.int64
    assert mg.Tensor(np.zeros(2)).dtype == np.float64  # arrays keep their dtype
    assert mg.Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert mg.zeros(2, 3).dtype == np.float32 and mg.ones((2,)).dtype == np.float32
    assert mg.randn(2, 2, dtype=np.float64).dtype == np.float64


FLOAT32_EXPRESSIONS = {
    "arith": lambda t: (t * 2.0 + 1.0 - 0.5) / 3.0,
    "reflected": lambda t: 2.0 - 1.5 / (t + 3.0) + 2.0 ** t,
    "int operands": lambda t: t * 2 + 1,
    "pow": lambda t: (t.abs() + 1.0) ** 1.5 + t ** 2,
    "numpy scalars": lambda t: t / np.sqrt(2.0) + np.float64(1.0) * t,
    "unary": lambda t: t.exp().log() + t.tanh() + t.sigmoid() + t.relu() + (t.abs() + 1.0).sqrt(),
    "reductions": lambda t: t.sum(0) + t.mean(0) + t.max(0) + t.logsumexp(0),
    "softmax": lambda t: F.softmax(t, -1) + F.log_softmax(t, -1),
    "shape": lambda t: t.T.reshape(2, 6).transpose(0, 1)[1:4] + mg.cat([t, t]).flatten()[:2],
    "layer_norm": lambda t: F.layer_norm(t, 4),
    "mse": lambda t: F.mse_loss(t, mg.Tensor(np.zeros((3, 4), np.float32))),
    "cross_entropy": lambda t: F.cross_entropy(t, np.array([0, 3, 1])),
    "dropout": lambda t: F.dropout(t, 0.3, generator=np.random.default_rng(0)),
    "matmul": lambda t: t @ t.T,
}


@pytest.mark.parametrize("name", list(FLOAT32_EXPRESSIONS))
def test_float32_stays_float32(name):
    x = mg.Tensor(np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32),
                  requires_grad=True)
    y = FLOAT32_EXPRESSIONS[name](x)
    assert y.dtype == np.float32, f"{name}: output became {y.dtype}"
    y.backward(np.random.default_rng(3).standard_normal(y.shape).astype(np.float32))
    assert x.grad.dtype == np.float32


def test_float32_layers_stay_float32():
    mg.manual_seed(0)
    x = mg.Tensor(np.random.default_rng(4).standard_normal((2, 1, 6, 6)).astype(np.float32))
    net = mg.nn.Sequential(mg.nn.Conv2d(1, 2, 3, padding=1), mg.nn.ReLU(), mg.nn.MaxPool2d(2),
                           mg.nn.AvgPool2d(1), mg.nn.Flatten(), mg.nn.Linear(18, 4), mg.nn.Tanh())
    out = net(x)
    assert out.dtype == np.float32
    F.cross_entropy(out, np.array([1, 2])).backward()
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    attn = mg.nn.MultiheadSelfAttention(4, 2)
    seq = mg.Tensor(np.random.default_rng(5).standard_normal((2, 3, 4)).astype(np.float32))
    assert attn(seq, is_causal=True).dtype == np.float32


def test_cast_between_dtypes_backpropagates_in_the_source_dtype():
    x = mg.Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    assert x.detach().double().float().dtype == np.float32 and x.to(np.float64).dtype == np.float64


# ---- numerical stability ------------------------------------------------------------------------
@pytest.fixture
def strict_floats():
    """Every floating-point warning is an error; underflow to 0 is harmless and allowed."""
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        yield


def test_log_softmax_and_cross_entropy_on_huge_logits(strict_floats):
    logits0 = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 1e4], [5e3, 5e3, 5e3]])
    targets = np.array([2, 0, 1])
    for f_mg, f_t in [(lambda t: F.log_softmax(t, dim=1),
                       lambda t: torch.log_softmax(t, dim=1)),
                      (lambda t: F.softmax(t, dim=1), lambda t: torch.softmax(t, dim=1)),
                      (lambda t: F.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1)),
                      (lambda t: F.cross_entropy(t, targets),
                       lambda t: torch.nn.functional.cross_entropy(t, torch.as_tensor(targets)))]:
        x, xt = leaf(logits0), to_torch(logits0, requires_grad=True)
        y, yt = f_mg(x), f_t(xt)
        assert np.all(np.isfinite(y.data))
        assert_close(y, yt)
        u = np.random.default_rng(6).standard_normal(y.shape)
        y.backward(u)
        yt.backward(torch.from_numpy(np.array(u)))
        assert np.all(np.isfinite(x.grad))
        assert_close(x.grad, xt.grad)


def test_sigmoid_at_extremes(strict_floats):
    for dtype in (np.float64, np.float32):
        x = leaf([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
        y = x.sigmoid()
        assert np.all(np.isfinite(y.data)) and y.dtype == dtype
        np.testing.assert_allclose(y.data[[0, 2, 4]], [0.0, 0.5, 1.0])
        y.backward(np.ones(5, dtype))
        assert np.all(np.isfinite(x.grad))
    for v in (-1000.0, 1000.0):
        s = Value(v).sigmoid()
        s.backward()
        assert math.isfinite(s.data) and s.data == (0.0 if v < 0 else 1.0)


def test_tanh_and_attention_at_extremes(strict_floats):
    x = leaf([-1000.0, 1000.0])
    x.tanh().sum().backward()
    assert np.all(np.isfinite(x.grad))
    q = leaf(np.full((1, 2, 3), 100.0))
    k = leaf(np.array([[[100.0, 100.0, 100.0], [-100.0, -100.0, -100.0]]]))
    out = F.scaled_dot_product_attention(q, k, k, is_causal=True)
    out.sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(q.grad))


# ---- clear errors -------------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError) as info:
        mg.Tensor(np.zeros((2, 3))) @ mg.Tensor(np.zeros((4, 5)))
    assert "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)


def test_broadcast_mismatch_names_both_shapes():
    for op in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b, lambda a, b: a / b):
        with pytest.raises(ValueError) as info:
            op(mg.Tensor(np.zeros((2, 3))), mg.Tensor(np.zeros((4,))))
        assert "(2, 3)" in str(info.value) and "(4,)" in str(info.value)


def test_backward_on_non_scalar_needs_gradient():
    y = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()
    with pytest.raises(RuntimeError, match="shape"):
        y.backward(np.ones(3))


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="requires_grad|require grad"):
        mg.Tensor(np.ones(2)).sum().backward()


def test_conv2d_input_of_wrong_rank():
    w = mg.Tensor(np.zeros((2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        F.conv2d(mg.Tensor(np.zeros((1, 5, 5))), w)
    with pytest.raises(ValueError, match="weight"):
        F.conv2d(mg.Tensor(np.zeros((1, 3, 5, 5))), w)


def test_other_clear_errors():
    with pytest.raises(ValueError, match="reshape"):
        mg.Tensor(np.zeros(6)).reshape(4, 2)
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(mg.Tensor(np.zeros((2, 3))), np.array([0, 3]))
    with pytest.raises(RuntimeError, match="detach"):
        leaf([1.0]).numpy()
    with pytest.raises(ValueError, match="one-element"):
        mg.Tensor(np.zeros(2)).item()


# ---- custom Function ------------------------------------------------------------------------------
class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


def test_custom_function_plugs_into_the_graph():
    x = leaf([1.0, -2.0])
    (Cube.apply(x) * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad, 6 * np.array([1.0, 4.0]))


# ---- the scalar Value engine ----------------------------------------------------------------------
VALUE_CASES = {
    "add": (lambda a, b: a + b, (1.5, -2.0)),
    "sub": (lambda a, b: a - b, (1.5, -2.0)),
    "mul": (lambda a, b: a * b, (1.5, -2.0)),
    "div": (lambda a, b: a / b, (1.5, -2.0)),
    "pow number": (lambda a, b: a ** 3 + b ** -2 + a ** 0.5, (1.5, -2.0)),
    "pow value": (lambda a, b: a ** b, (1.5, -2.0)),
    "pow value 2": (lambda a, b: b ** a, (0.7, 2.5)),
    "radd": (lambda a, b: 2.0 + a + 3 + b, (1.5, -2.0)),
    "rsub": (lambda a, b: 2.0 - a - (1 - b), (1.5, -2.0)),
    "rmul": (lambda a, b: 2.5 * a * (-1) * b, (1.5, -2.0)),
    "rdiv": (lambda a, b: 2.0 / a + 1 / b, (1.5, -2.0)),
    "rpow": (lambda a, b: 2.0 ** a + 3 ** b, (1.5, -2.0)),
    "neg": (lambda a, b: -a * b, (1.5, -2.0)),
    "exp": (lambda a, b: a.exp() * b.exp(), (1.5, -2.0)),
    "log": (lambda a, b: a.log() + (b * b).log(), (1.5, -2.0)),
    "tanh": (lambda a, b: a.tanh() * b.tanh(), (0.3, -1.2)),
    "sigmoid": (lambda a, b: a.sigmoid() + b.sigmoid() * a, (0.3, -1.2)),
    "relu": (lambda a, b: a.relu() + b.relu() * 3.0, (0.3, -1.2)),
    "fork": (lambda a, b: (a * b + a) * (a - b) + a / (a * a + 1.0), (0.8, -0.6)),
}


@pytest.mark.parametrize("name", list(VALUE_CASES))
def test_value_ops_against_torch(name):
    f, (a0, b0) = VALUE_CASES[name]
    a, b = Value(a0), Value(b0)
    out = f(a, b)
    out.backward()
    at = torch.tensor(a0, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b0, dtype=torch.float64, requires_grad=True)
    ot = f(_TorchScalar(at), _TorchScalar(bt)).t
    ot.backward()
    assert out.data == pytest.approx(ot.item(), rel=1e-12, abs=1e-14)
    assert a.grad == pytest.approx(at.grad.item(), rel=1e-10, abs=1e-12)
    bt_grad = 0.0 if bt.grad is None else bt.grad.item()
    assert b.grad == pytest.approx(bt_grad, rel=1e-10, abs=1e-12)


class _TorchScalar:
    """Wraps a 0-d torch tensor with Value's method names (exp, log, tanh, sigmoid, relu)."""

    def __init__(self, t):
        self.t = t

    @staticmethod
    def _u(x):
        return x.t if isinstance(x, _TorchScalar) else x

    def __add__(self, o): return _TorchScalar(self.t + self._u(o))
    def __radd__(self, o): return _TorchScalar(self._u(o) + self.t)
    def __sub__(self, o): return _TorchScalar(self.t - self._u(o))
    def __rsub__(self, o): return _TorchScalar(self._u(o) - self.t)
    def __mul__(self, o): return _TorchScalar(self.t * self._u(o))
    def __rmul__(self, o): return _TorchScalar(self._u(o) * self.t)
    def __truediv__(self, o): return _TorchScalar(self.t / self._u(o))
    def __rtruediv__(self, o): return _TorchScalar(self._u(o) / self.t)
    def __pow__(self, o): return _TorchScalar(self.t ** self._u(o))
    def __rpow__(self, o): return _TorchScalar(torch.tensor(float(o), dtype=torch.float64) ** self.t)
    def __neg__(self): return _TorchScalar(-self.t)
    def exp(self): return _TorchScalar(self.t.exp())
    def log(self): return _TorchScalar(self.t.log())
    def tanh(self): return _TorchScalar(self.t.tanh())
    def sigmoid(self): return _TorchScalar(self.t.sigmoid())
    def relu(self): return _TorchScalar(self.t.relu())


def test_value_gradients_accumulate_at_forks_and_across_calls():
    x = Value(3.0)
    y = x * x + x  # x feeds three edges
    y.backward()
    assert x.grad == 7.0
    y.backward()  # leaves accumulate across calls, as in torch
    assert x.grad == 14.0
    x.grad = 0.0
    z = (x + x) * (x + x)
    z.backward()
    assert x.grad == 8 * 3.0


def test_value_intermediate_gradient_is_per_call():
    x = Value(2.0)
    h = x * 3.0
    y = h * h
    y.backward()
    y.backward()
    assert h.grad == 2 * 6.0  # this call's d y / d h, not the sum of two calls
    assert x.grad == 2 * 36.0


def test_value_rejects_nesting_and_bad_log():
    with pytest.raises(TypeError):
        Value(Value(1.0))
    with pytest.raises(ValueError):
        Value(-1.0).log()


def test_truth_value_of_tensors_like_torch():
    x = mg.Tensor(np.array([0.5]))
    assert bool(x > 0.0) and not bool(x > 1.0) and not mg.Tensor(0.0)
    taken = "yes" if mg.Tensor(np.array(2.0)) < 1.0 else "no"
    assert taken == "no"
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.Tensor(np.array([1.0, 2.0])) > 0.0)
    with pytest.raises(RuntimeError):  # torch too
        bool(torch.tensor([1.0, 2.0]) > 0.0)


def test_a_backward_returning_the_wrong_shape_is_an_error_like_torch():
    class SumInsteadOfGrad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad.sum()  # a scalar for a (2, 3) input: torch refuses it too

    x = leaf(np.ones((2, 3)))
    with pytest.raises(RuntimeError) as info:
        SumInsteadOfGrad.apply(x).backward(np.arange(6.0).reshape(2, 3))
    assert "SumInsteadOfGrad" in str(info.value) and "(2, 3)" in str(info.value)

    class Unreduced(mg.Function):  # extra broadcast dims are summed, as torch does
        @staticmethod
        def forward(ctx, x):
            return np.broadcast_to(x, (4, *x.shape)) * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = leaf(np.ones((2, 3)))
    Unreduced.apply(x).backward(np.ones((4, 2, 3)))
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))


def test_manual_seed_makes_randn_reproducible_like_torch():
    mg.manual_seed(3)
    a = mg.randn(2, 3)
    mg.manual_seed(3)
    np.testing.assert_array_equal(a.data, mg.randn(2, 3).data)
    g = np.random.default_rng(0)
    np.testing.assert_array_equal(mg.randn(4, generator=g).data,
                                  np.random.default_rng(0).standard_normal(4).astype(np.float32))


OUT_OF_RANGE_DIMS = {
    "transpose": lambda t: t.transpose(0, 2),
    "transpose neg": lambda t: t.transpose(-3, 1),
    "permute": lambda t: t.permute(0, 2),
    "permute 3 dims": lambda t: t.permute(2, 1, 0),
    "squeeze": lambda t: t.squeeze(2),
    "unsqueeze": lambda t: t.unsqueeze(4),
    "unsqueeze neg": lambda t: t.unsqueeze(-4),
    "flatten": lambda t: t.flatten(3),
    "sum": lambda t: t.sum(dim=2),
    "max": lambda t: t.max(dim=-3),
    "softmax": lambda t: t.softmax(2),
}


@pytest.mark.parametrize("name", list(OUT_OF_RANGE_DIMS))
def test_out_of_range_dims_raise_like_torch(name):
    op = OUT_OF_RANGE_DIMS[name]
    with pytest.raises((IndexError, RuntimeError)):
        op(torch.zeros(2, 3))
    # a dim that wraps around silently (2 % 2 == 0) would turn transpose(0, 2) into a no-op
    with pytest.raises((IndexError, ValueError)):
        op(mg.Tensor(np.zeros((2, 3))))


def test_max_over_a_tuple_of_dims_is_refused_like_torch():
    with pytest.raises(TypeError):
        torch.zeros(2, 3).max(dim=(0, 1))
    with pytest.raises(TypeError):  # instead of silently reducing dim 0 only
        mg.Tensor(np.zeros((2, 3))).max(dim=(0, 1))


def test_numpy_conversion_like_torch():
    t = mg.Tensor(np.arange(3.0))
    converted = np.asarray(t)
    assert converted.dtype == np.float64  # the values, not an object array of 0-d Tensors
    np.testing.assert_array_equal(converted, [0.0, 1.0, 2.0])
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(leaf([1.0]))
    with pytest.raises(RuntimeError):  # torch refuses too
        np.asarray(torch.ones(1, requires_grad=True))
    assert isinstance(np.ones(3) + leaf(np.ones(3)), mg.Tensor)  # ndarray op Tensor stays a Tensor


def test_in_place_parameter_update_under_no_grad_like_torch():
    # The hand-written SGD step: `p -= lr * p.grad` must change the parameter the model holds.
    model = mg.nn.Linear(2, 1)
    weight = model.weight
    before = weight.data.copy()
    model(mg.Tensor(np.ones((3, 2), np.float32))).sum().backward()
    with mg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert model.weight is weight and weight.dtype == np.float32 and weight.requires_grad
    np.testing.assert_allclose(weight.data, before - 0.1 * 3.0, rtol=1e-6)
    # as in torch, the same statement outside no_grad() is refused for a leaf requiring grad
    with pytest.raises(RuntimeError, match="no_grad"):
        weight -= 1.0
    wt = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        wt -= 1.0


def test_in_place_ops_on_plain_tensors_and_non_leaves():
    t = mg.Tensor(np.array([1.0, 2.0]))
    alias = t
    t += 1.0
    t *= np.array([2.0, 3.0])
    t /= 2.0
    t -= mg.Tensor(np.array([1.0, 1.0]))
    assert alias is t
    np.testing.assert_allclose(t.data, [1.0, 3.5])
    with pytest.raises(RuntimeError, match="shape"):
        t += np.ones((2, 2))
    x = leaf([1.0, 2.0])
    y = x * 2.0
    y += x  # a non-leaf: recorded in the graph, as torch does
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])
