"""Every Tensor op and every function of minigrad.functional against torch autograd.

Each test draws float64 inputs, runs the op in both libraries, pushes the same random upstream
gradient back and requires forward values and all input gradients to agree to 1e-7 (relative).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import minigrad as mg
import minigrad.functional as F
from helpers_torch import assert_close, check_against_torch, rand, tie_free, to_torch

BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((), (3, 4)),
    ((3, 4), ()),
    ((1, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((4,), (3, 4)),
    ((2, 3, 4), (3, 1)),
    ((2, 1, 4), (1, 3, 1)),
    ((5, 2, 3, 4), (4,)),
]


# ---- binary arithmetic ----------------------------------------------------------------------------
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_binary_ops_with_broadcasting(op, shapes):
    rng = np.random.default_rng(1)
    a, b = rand(rng, *shapes[0]), rand(rng, *shapes[1])
    if op == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)  # keep away from 0
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
          "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[op]
    check_against_torch(fn, fn, a, b)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS[:6], ids=str)
def test_named_methods_match_operators(shapes):
    rng = np.random.default_rng(2)
    a, b = rand(rng, *shapes[0]), np.abs(rand(rng, *shapes[1])) + 0.5
    check_against_torch(lambda x, y: x.add(y).mul(y).sub(x).div(y),
                        lambda x, y: x.add(y).mul(y).sub(x).div(y), a, b)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_pow_tensor_exponent(shapes):
    rng = np.random.default_rng(3)
    base = rand(rng, *shapes[0], low=0.5, high=2.0)
    exponent = rand(rng, *shapes[1], low=-2.0, high=2.0)
    check_against_torch(lambda x, y: x ** y, lambda x, y: x ** y, base, exponent)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, -2.5, 1.0, 0])
def test_pow_scalar_exponent(exponent):
    rng = np.random.default_rng(4)
    x = rand(rng, 3, 4, low=0.3, high=2.0)
    check_against_torch(lambda t: t ** exponent, lambda t: t ** exponent, x)
    check_against_torch(lambda t: t.pow(exponent), lambda t: t.pow(exponent), x)


def test_pow_integer_exponent_of_negative_base():
    rng = np.random.default_rng(5)
    x = rand(rng, 4, 3)
    check_against_torch(lambda t: t ** 3, lambda t: t ** 3, x)
    check_against_torch(lambda t: t ** 2, lambda t: t ** 2, x)


@pytest.mark.parametrize("scalar", [2.5, -0.75, 3])
def test_reflected_ops_with_python_numbers(scalar):
    rng = np.random.default_rng(6)
    x = rand(rng, 2, 5, low=0.5, high=1.5)
    for fn in (lambda t: scalar + t, lambda t: scalar - t, lambda t: scalar * t,
               lambda t: scalar / t, lambda t: abs(scalar) ** t, lambda t: t + scalar,
               lambda t: t - scalar, lambda t: t * scalar, lambda t: t / scalar):
        check_against_torch(fn, fn, x)


def test_reflected_ops_with_numpy_arrays():
    rng = np.random.default_rng(7)
    x, c = rand(rng, 3, 4), rand(rng, 4)
    for fn in (lambda t, w: w + t, lambda t, w: w - t, lambda t, w: w * t, lambda t, w: w @ t.T):
        ours = fn(mg.Tensor(x, requires_grad=True), c)
        assert isinstance(ours, mg.Tensor), "ndarray op Tensor must give a Tensor"
        assert_close(ours, fn(to_torch(x), to_torch(c)))


def test_neg():
    rng = np.random.default_rng(8)
    check_against_torch(lambda t: -t, lambda t: -t, rand(rng, 3, 2))
    check_against_torch(lambda t: -(t * 2.0), lambda t: -(t * 2.0), rand(rng))


def test_same_tensor_on_both_sides():
    rng = np.random.default_rng(9)
    x = rand(rng, 3, 3, low=0.5, high=2)
    for fn in (lambda t: t * t, lambda t: t + t, lambda t: t - t, lambda t: t / t, lambda t: t ** t,
               lambda t: t @ t):
        check_against_torch(fn, fn, x)


# ---- matmul ----------------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ((4,), (4,)),            # dot product -> 0-d
    ((4,), (4, 3)),          # vector @ matrix
    ((3, 4), (4,)),          # matrix @ vector
    ((3, 4), (4, 5)),
    ((4, 4), (4, 4)),        # square: a missing transpose would go unnoticed with all-ones
    ((2, 3, 4), (4, 5)),     # batched @ matrix
    ((3, 4), (2, 4, 5)),     # matrix @ batched
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),  # batch dims broadcast against each other
    ((4,), (2, 4, 3)),       # vector @ batched
    ((2, 3, 4), (4,)),       # batched @ vector
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    rng = np.random.default_rng(10)
    a, b = rand(rng, *shapes[0]), rand(rng, *shapes[1])
    check_against_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b)
    check_against_torch(lambda x, y: x.matmul(y), lambda x, y: x.matmul(y), a, b)


def test_matmul_with_one_constant_operand():
    rng = np.random.default_rng(11)
    a, b = rand(rng, 3, 4), rand(rng, 4, 2)
    check_against_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b, grad_mask=[True, False])
    check_against_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b, grad_mask=[False, True])


# ---- elementwise functions -------------------------------------------------------------------------
UNARY = {
    "exp": (lambda t: t.exp(), lambda t: t.exp(), None),
    "log": (lambda t: t.log(), lambda t: t.log(), (0.2, 3.0)),
    "sqrt": (lambda t: t.sqrt(), lambda t: t.sqrt(), (0.2, 3.0)),
    "tanh": (lambda t: t.tanh(), lambda t: t.tanh(), None),
    "sigmoid": (lambda t: t.sigmoid(), lambda t: t.sigmoid(), None),
    "relu": (lambda t: t.relu(), lambda t: t.relu(), None),
    "abs": (lambda t: t.abs(), lambda t: t.abs(), None),
    "abs()": (lambda t: abs(t), lambda t: abs(t), None),
    "F.relu": (F.relu, TF.relu, None),
    "F.sigmoid": (F.sigmoid, torch.sigmoid, None),
    "F.tanh": (F.tanh, torch.tanh, None),
}


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary(name, shape):
    rng = np.random.default_rng(12)
    f_mg, f_torch, domain = UNARY[name]
    x = rand(rng, *shape, low=domain[0], high=domain[1]) if domain else 3 * rand(rng, *shape)
    check_against_torch(f_mg, f_torch, x)


def test_relu_gradient_at_zero_is_zero_like_torch():
    x = np.array([-1.0, 0.0, 2.0])
    check_against_torch(lambda t: t.relu(), lambda t: t.relu(), x)


def test_abs_gradient_at_zero_is_zero_like_torch():
    x = np.array([-1.0, 0.0, 2.0])
    check_against_torch(lambda t: t.abs(), lambda t: t.abs(), x)


# ---- reductions ------------------------------------------------------------------------------------
REDUCE_CASES = [
    ((), None, False), ((5,), None, False), ((3, 4), None, False), ((3, 4), 0, False),
    ((3, 4), 1, True), ((3, 4), -1, False), ((2, 3, 4), -2, True), ((2, 3, 4), 0, True),
    ((2, 3, 4), (0, 2), False), ((2, 3, 4), (-1, 0), True), ((2, 3, 4), (0, 1, 2), False),
    ((5,), 0, False), ((5,), -1, True),
]


@pytest.mark.parametrize("shape,dim,keepdim", REDUCE_CASES, ids=str)
@pytest.mark.parametrize("op", ["sum", "mean"])
def test_sum_mean(op, shape, dim, keepdim):
    rng = np.random.default_rng(13)
    x = rand(rng, *shape)
    if dim is None:
        f = lambda t: getattr(t, op)()  # noqa: E731
    else:
        f = lambda t: getattr(t, op)(dim=dim, keepdim=keepdim)  # noqa: E731
    check_against_torch(f, f, x)


@pytest.mark.parametrize("shape,dim,keepdim", [
    ((3, 4), 0, False), ((3, 4), 1, True), ((3, 4), -1, False), ((2, 3, 4), -2, True),
    ((2, 3, 4), 2, False), ((5,), 0, False), ((5,), -1, True)], ids=str)
def test_max_along_dim(shape, dim, keepdim):
    rng = np.random.default_rng(14)
    x = tie_free(rng, *shape)
    check_against_torch(lambda t: t.max(dim=dim, keepdim=keepdim),
                        lambda t: t.max(dim=dim, keepdim=keepdim).values, x)
    ours = mg.Tensor(x).argmax(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(ours.data, torch.tensor(x).argmax(dim=dim, keepdim=keepdim))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)], ids=str)
def test_max_over_all(shape):
    rng = np.random.default_rng(15)
    check_against_torch(lambda t: t.max(), lambda t: t.max(), tie_free(rng, *shape))


def test_max_over_all_splits_gradient_between_ties_like_torch():
    x = np.array([[1.0, 3.0], [3.0, 0.5]])
    check_against_torch(lambda t: t.max(), lambda t: t.max(), x)


def test_max_along_dim_gives_gradient_to_one_tied_entry():
    x = np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]])
    t = mg.Tensor(x, requires_grad=True)
    t.max(dim=1).backward(np.array([1.5, -2.0]))
    # One winner per row receives the whole gradient (torch picks one index too).
    np.testing.assert_allclose(t.grad.sum(axis=1), [1.5, -2.0])
    assert ((t.grad != 0).sum(axis=1) == 1).all()


# ---- shape ops ---------------------------------------------------------------------------------------
SHAPE_OPS = {
    "reshape tuple": ((2, 3, 4), lambda t: t.reshape((4, 6)), lambda t: t.reshape((4, 6))),
    "reshape args": ((2, 3, 4), lambda t: t.reshape(6, 4), lambda t: t.reshape(6, 4)),
    "reshape -1": ((2, 3, 4), lambda t: t.reshape(-1, 2), lambda t: t.reshape(-1, 2)),
    "reshape to 0-d": ((1, 1), lambda t: t.reshape(()), lambda t: t.reshape(())),
    "view": ((2, 3, 4), lambda t: t.view(3, 8), lambda t: t.view(3, 8)),
    "transpose": ((2, 3, 4), lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
    "transpose neg": ((2, 3, 4), lambda t: t.transpose(-1, -2), lambda t: t.transpose(-1, -2)),
    "permute": ((2, 3, 4), lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "permute tuple": ((2, 3, 4), lambda t: t.permute((1, 2, 0)), lambda t: t.permute((1, 2, 0))),
    "permute neg": ((2, 3, 4), lambda t: t.permute(-1, 0, 1), lambda t: t.permute(-1, 0, 1)),
    ".T": ((3, 5), lambda t: t.T, lambda t: t.T),
    ".T 1-d": ((5,), lambda t: t.T, lambda t: t),
    "flatten": ((2, 3, 4), lambda t: t.flatten(), lambda t: t.flatten()),
    "flatten 1": ((2, 3, 4, 5), lambda t: t.flatten(1), lambda t: t.flatten(1)),
    "flatten 1..2": ((2, 3, 4, 5), lambda t: t.flatten(1, 2), lambda t: t.flatten(1, 2)),
    "flatten neg": ((2, 3, 4, 5), lambda t: t.flatten(-3, -2), lambda t: t.flatten(-3, -2)),
    "flatten 0-d": ((), lambda t: t.flatten(), lambda t: t.flatten()),
    "unsqueeze 0": ((3, 4), lambda t: t.unsqueeze(0), lambda t: t.unsqueeze(0)),
    "unsqueeze 1": ((3, 4), lambda t: t.unsqueeze(1), lambda t: t.unsqueeze(1)),
    "unsqueeze -1": ((3, 4), lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(-1)),
    "unsqueeze -2": ((3, 4), lambda t: t.unsqueeze(-2), lambda t: t.unsqueeze(-2)),
    "squeeze": ((1, 3, 1, 4), lambda t: t.squeeze(), lambda t: t.squeeze()),
    "squeeze dim": ((1, 3, 1, 4), lambda t: t.squeeze(2), lambda t: t.squeeze(2)),
    "squeeze neg": ((1, 3, 1, 4), lambda t: t.squeeze(-2), lambda t: t.squeeze(-2)),
    "squeeze noop": ((1, 3, 1, 4), lambda t: t.squeeze(1), lambda t: t.squeeze(1)),
    "expand": ((3, 1), lambda t: t.expand(3, 4), lambda t: t.expand(3, 4)),
    "expand new dims": ((3, 1), lambda t: t.expand(2, 3, 5), lambda t: t.expand(2, 3, 5)),
    "expand -1": ((1, 4), lambda t: t.expand(3, -1), lambda t: t.expand(3, -1)),
    "expand tuple": ((4,), lambda t: t.expand((2, 4)), lambda t: t.expand((2, 4))),
    "expand 0-d": ((), lambda t: t.expand(2, 3), lambda t: t.expand(2, 3)),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_ops(name):
    rng = np.random.default_rng(16)
    shape, f_mg, f_torch = SHAPE_OPS[name]
    check_against_torch(f_mg, f_torch, rand(rng, *shape))


def test_shape_ops_chain_then_elementwise():
    rng = np.random.default_rng(17)
    f = lambda t: (t.permute(1, 0, 2).reshape(3, 8).T * 2.0).unsqueeze(0).tanh()  # noqa: E731
    check_against_torch(f, f, rand(rng, 2, 3, 4))


def test_size_dim_numel_len():
    t = mg.Tensor(np.zeros((2, 3, 4)))
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.dim() == 3 and t.ndim == 3 and t.numel() == 24 and len(t) == 2


# ---- indexing -----------------------------------------------------------------------------------------
INDEXES = {
    "int": lambda: 1,
    "negative int": lambda: -1,
    "slice": lambda: slice(1, 3),
    "slice step": lambda: slice(None, None, 2),
    "negative slice": lambda: slice(-3, -1),
    "tuple int slice": lambda: (1, slice(0, 2)),
    "tuple slices": lambda: (slice(None), slice(1, None)),
    "ellipsis": lambda: (Ellipsis, 0),
    "None": lambda: (None, slice(1, 3)),
    "int array": lambda: np.array([0, 2, 2, 3]),
    "list repeated": lambda: [3, 3, 3, 0],
    "int array 2d": lambda: np.array([[0, 1], [3, 0]]),
    "two arrays": lambda: (np.array([0, 0, 2]), np.array([1, 1, 0])),
    "array + slice": lambda: (np.array([1, 1, 0]), slice(0, 2)),
    "bool mask": lambda: np.array([True, False, True, True]),
}


@pytest.mark.parametrize("name", list(INDEXES))
def test_getitem(name):
    rng = np.random.default_rng(18)
    index = INDEXES[name]()
    torch_index = (tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)
                   if isinstance(index, tuple)
                   else torch.as_tensor(index) if isinstance(index, (np.ndarray, list)) else index)
    check_against_torch(lambda t: t[index], lambda t: t[torch_index], rand(rng, 4, 3))


def test_getitem_with_tensor_index():
    rng = np.random.default_rng(19)
    idx = np.array([2, 0, 2])
    check_against_torch(lambda t: t[mg.Tensor(idx)], lambda t: t[torch.as_tensor(idx)],
                        rand(rng, 3, 2))


def test_getitem_repeated_indices_accumulate():
    x = mg.Tensor(np.arange(5.0), requires_grad=True)
    x[np.array([1, 1, 1, 4])].backward(np.array([1.0, 2.0, 3.0, 0.5]))
    np.testing.assert_array_equal(x.grad, [0.0, 6.0, 0.0, 0.0, 0.5])


# ---- cat / stack -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_cat(dim):
    rng = np.random.default_rng(20)
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for s, n in zip(shapes, (1, 3, 2)):
        s[dim] = n
    arrays = [rand(rng, *s) for s in shapes]
    check_against_torch(lambda *t: mg.cat(list(t), dim=dim),
                        lambda *t: torch.cat(list(t), dim=dim), *arrays)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    rng = np.random.default_rng(21)
    arrays = [rand(rng, 2, 3) for _ in range(4)]
    check_against_torch(lambda *t: mg.stack(t, dim=dim), lambda *t: torch.stack(t, dim=dim), *arrays)


def test_cat_and_stack_of_the_same_tensor_accumulate():
    rng = np.random.default_rng(22)
    check_against_torch(lambda t: mg.cat([t, t * 2.0, t], dim=1),
                        lambda t: torch.cat([t, t * 2.0, t], dim=1), rand(rng, 2, 3))
    check_against_torch(lambda t: mg.stack([t, t], dim=0), lambda t: torch.stack([t, t], dim=0),
                        rand(rng, 2, 3))


def test_cat_with_a_constant():
    rng = np.random.default_rng(23)
    c = rand(rng, 2, 2)
    check_against_torch(lambda t: mg.cat([t, mg.Tensor(c)], dim=1),
                        lambda t: torch.cat([t, to_torch(c)], dim=1), rand(rng, 2, 3))


# ---- softmax family --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((3, 5), -1), ((3, 5), 0), ((2, 3, 4), 1),
                                       ((2, 3, 4), -3)], ids=str)
def test_softmax_log_softmax(shape, dim):
    rng = np.random.default_rng(24)
    x = 3 * rand(rng, *shape)
    check_against_torch(lambda t: F.softmax(t, dim=dim), lambda t: TF.softmax(t, dim=dim), x)
    check_against_torch(lambda t: F.log_softmax(t, dim=dim), lambda t: TF.log_softmax(t, dim=dim), x)
    check_against_torch(lambda t: t.softmax(dim), lambda t: t.softmax(dim), x)
    check_against_torch(lambda t: t.log_softmax(dim), lambda t: t.log_softmax(dim), x)


def test_softmax_default_dim_is_last():
    rng = np.random.default_rng(25)
    x = rand(rng, 3, 4)
    check_against_torch(lambda t: F.softmax(t), lambda t: TF.softmax(t, dim=-1), x)
    check_against_torch(lambda t: F.log_softmax(t), lambda t: TF.log_softmax(t, dim=-1), x)


@pytest.mark.parametrize("shape,dim,keepdim", [((5,), 0, False), ((3, 5), 1, False),
                                               ((3, 5), 0, True), ((2, 3, 4), -1, True),
                                               ((2, 3, 4), (0, 2), False)], ids=str)
def test_logsumexp(shape, dim, keepdim):
    rng = np.random.default_rng(26)
    x = 3 * rand(rng, *shape)
    check_against_torch(lambda t: F.logsumexp(t, dim, keepdim=keepdim),
                        lambda t: torch.logsumexp(t, dim, keepdim=keepdim), x)
    check_against_torch(lambda t: t.logsumexp(dim, keepdim=keepdim),
                        lambda t: t.logsumexp(dim, keepdim=keepdim), x)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy(reduction):
    rng = np.random.default_rng(27)
    logits, targets = 2 * rand(rng, 6, 5), rng.integers(0, 5, size=6)
    check_against_torch(
        lambda t: F.cross_entropy(t, targets, reduction=reduction),
        lambda t: TF.cross_entropy(t, torch.as_tensor(targets), reduction=reduction), logits)
    check_against_torch(  # targets given as an integer Tensor
        lambda t: F.cross_entropy(t, mg.Tensor(targets), reduction=reduction),
        lambda t: TF.cross_entropy(t, torch.as_tensor(targets), reduction=reduction), logits)


def test_cross_entropy_default_is_mean_and_repeated_classes():
    rng = np.random.default_rng(28)
    logits, targets = rand(rng, 4, 3), np.array([2, 2, 2, 0])
    check_against_torch(lambda t: F.cross_entropy(t, targets),
                        lambda t: TF.cross_entropy(t, torch.as_tensor(targets)), logits)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)], ids=str)
def test_mse_loss(shape, reduction):
    rng = np.random.default_rng(29)
    a, b = rand(rng, *shape), rand(rng, *shape)
    check_against_torch(lambda x, y: F.mse_loss(x, y, reduction=reduction),
                        lambda x, y: TF.mse_loss(x, y, reduction=reduction), a, b)
    check_against_torch(lambda x: F.mse_loss(x, b, reduction=reduction),  # constant target
                        lambda x: TF.mse_loss(x, to_torch(b), reduction=reduction), a)


# ---- linear / conv / pool ------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(4,), (5, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(x_shape, bias):
    rng = np.random.default_rng(30)
    arrays = [rand(rng, *x_shape), rand(rng, 3, 4)] + ([rand(rng, 3)] if bias else [])
    check_against_torch(F.linear, TF.linear, *arrays)


def test_linear_with_frozen_weight():
    rng = np.random.default_rng(31)
    check_against_torch(F.linear, TF.linear, rand(rng, 5, 4), rand(rng, 3, 4), rand(rng, 3),
                        grad_mask=[True, False, True])


CONV_CASES = [
    # x shape, weight shape, stride, padding
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 0),
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1),
    ((1, 2, 8, 8), (3, 2, 3, 3), 2, 1),
    ((2, 1, 7, 9), (2, 1, 3, 2), (2, 3), (1, 0)),
    ((2, 2, 5, 5), (3, 2, 1, 1), 1, 0),
    ((1, 3, 5, 5), (2, 3, 5, 5), 1, 0),
    ((1, 2, 6, 7), (2, 2, 3, 3), 3, 2),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(case, bias):
    rng = np.random.default_rng(32)
    x_shape, w_shape, stride, padding = case
    arrays = [rand(rng, *x_shape), rand(rng, *w_shape)] + ([rand(rng, w_shape[0])] if bias else [])
    check_against_torch(
        lambda x, w, b=None: F.conv2d(x, w, b, stride=stride, padding=padding),
        lambda x, w, b=None: TF.conv2d(x, w, b, stride=stride, padding=padding), *arrays)


POOL_CASES = [
    # x shape, kernel, stride, padding
    ((2, 3, 6, 6), 2, None, 0),
    ((2, 3, 7, 7), 2, None, 0),   # odd size: the last row/column is dropped
    ((1, 2, 7, 6), 3, 2, 1),
    ((1, 2, 6, 6), 3, 1, 0),      # overlapping windows
    ((2, 1, 8, 7), (2, 3), (2, 1), (1, 1)),
    ((1, 1, 5, 5), 2, 1, 1),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_max_pool2d(case):
    rng = np.random.default_rng(33)
    x_shape, kernel, stride, padding = case
    check_against_torch(lambda x: F.max_pool2d(x, kernel, stride, padding),
                        lambda x: TF.max_pool2d(x, kernel, stride, padding),
                        tie_free(rng, *x_shape) - 0.5)


def test_max_pool2d_all_negative_with_padding():
    # Padding must never win: with every input negative a zero pad would.
    rng = np.random.default_rng(34)
    x = -1.0 - tie_free(rng, 1, 2, 5, 5)
    check_against_torch(lambda t: F.max_pool2d(t, 3, 2, 1), lambda t: TF.max_pool2d(t, 3, 2, 1), x)


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_avg_pool2d(case):
    rng = np.random.default_rng(35)
    x_shape, kernel, stride, padding = case
    check_against_torch(lambda x: F.avg_pool2d(x, kernel, stride, padding),
                        lambda x: TF.avg_pool2d(x, kernel, stride, padding), rand(rng, *x_shape))


# ---- layer norm / dropout -----------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape,normalized", [((4, 5), (5,)), ((2, 3, 4), (4,)),
                                                ((2, 3, 4), (3, 4)), ((6,), 6), ((2, 3, 4, 2), [4, 2])],
                         ids=str)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
def test_layer_norm(x_shape, normalized, affine):
    rng = np.random.default_rng(36)
    norm_shape = (normalized,) if isinstance(normalized, int) else tuple(normalized)
    arrays = [2 * rand(rng, *x_shape) + 1]
    if affine in ("both", "weight"):
        arrays.append(rand(rng, *norm_shape))
    if affine == "both":
        arrays.append(rand(rng, *norm_shape))
    check_against_torch(lambda x, *wb: F.layer_norm(x, normalized, *wb),
                        lambda x, *wb: TF.layer_norm(x, norm_shape, *wb), *arrays)


def test_layer_norm_eps():
    rng = np.random.default_rng(37)
    x = 1e-2 * rand(rng, 3, 4)
    check_against_torch(lambda t: F.layer_norm(t, 4, eps=1e-3),
                        lambda t: TF.layer_norm(t, (4,), eps=1e-3), x)


def test_dropout_identity_when_p_zero_or_eval():
    rng = np.random.default_rng(38)
    x = rand(rng, 4, 5)
    check_against_torch(lambda t: F.dropout(t, p=0.0) * 1.0, lambda t: TF.dropout(t, p=0.0) * 1.0, x)
    check_against_torch(lambda t: F.dropout(t, p=0.7, training=False) * 1.0,
                        lambda t: TF.dropout(t, p=0.7, training=False) * 1.0, x)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_training_mask_scaling_and_gradient(p):
    rng = np.random.default_rng(39)
    x = rand(rng, 200, 50) + 3.0  # nonzero everywhere, so zeros in the output are dropped units
    t = mg.Tensor(x, requires_grad=True)
    out = F.dropout(t, p=p, training=True, generator=np.random.default_rng(0))
    kept = out.data != 0
    # Kept units are scaled by 1/(1-p); the fraction kept is about 1-p.
    np.testing.assert_allclose(out.data[kept], x[kept] / (1 - p), rtol=1e-12)
    assert abs(kept.mean() - (1 - p)) < 0.03
    upstream = rng.standard_normal(x.shape)
    out.backward(upstream)
    # The gradient uses the same mask and the same scale as the forward pass.
    np.testing.assert_allclose(t.grad, np.where(kept, upstream / (1 - p), 0.0), rtol=1e-12)


def test_dropout_generator_reproducible_and_seeded_by_manual_seed():
    x = mg.Tensor(np.ones((10, 10)))
    a = F.dropout(x, 0.5, generator=np.random.default_rng(3)).data
    b = F.dropout(x, 0.5, generator=np.random.default_rng(3)).data
    np.testing.assert_array_equal(a, b)
    mg.manual_seed(5)
    c = F.dropout(x, 0.5).data
    mg.manual_seed(5)
    np.testing.assert_array_equal(c, F.dropout(x, 0.5).data)


def test_dropout_probability_one_drops_everything_like_torch():
    x = np.random.default_rng(40).standard_normal((3, 4))
    t = mg.Tensor(x, requires_grad=True)
    out = F.dropout(t, p=1.0)
    np.testing.assert_array_equal(out.data, TF.dropout(to_torch(x), p=1.0).numpy())
    out.backward(np.ones((3, 4)) * 2)
    np.testing.assert_array_equal(t.grad, np.zeros((3, 4)))


# ---- attention ------------------------------------------------------------------------------------------
def _sdpa_arrays(rng, batch=(2, 3), length=4, source=5, d=6, dv=3):
    return (rand(rng, *batch, length, d), rand(rng, *batch, source, d), rand(rng, *batch, source, dv))


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)], ids=str)
def test_sdpa_no_mask(batch):
    rng = np.random.default_rng(41)
    check_against_torch(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
                        *_sdpa_arrays(rng, batch))


def test_sdpa_custom_scale():
    rng = np.random.default_rng(42)
    check_against_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3),
                        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, scale=0.3),
                        *_sdpa_arrays(rng))


@pytest.mark.parametrize("source", [4, 6])
def test_sdpa_causal(source):
    rng = np.random.default_rng(43)
    check_against_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
                        *_sdpa_arrays(rng, source=source))


def test_sdpa_bool_mask():
    rng = np.random.default_rng(44)
    mask = rng.random((4, 5)) < 0.6
    mask[:, 0] = True  # every query may look somewhere
    check_against_torch(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.as_tensor(mask)),
        *_sdpa_arrays(rng))


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 3, 4, 5), (3, 1, 5)], ids=str)
def test_sdpa_float_mask(mask_shape):
    rng = np.random.default_rng(45)
    mask = rand(rng, *mask_shape)
    check_against_torch(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=to_torch(mask)),
        *_sdpa_arrays(rng))


def test_sdpa_broadcast_key_value_over_heads():
    rng = np.random.default_rng(46)
    q, k, v = rand(rng, 2, 3, 4, 6), rand(rng, 2, 1, 5, 6), rand(rng, 2, 1, 5, 3)
    check_against_torch(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, q, k, v)


def test_sdpa_fully_masked_mask_via_minus_inf_float():
    rng = np.random.default_rng(47)
    mask = np.zeros((4, 5))
    mask[:, 3:] = -np.inf
    check_against_torch(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=to_torch(mask)),
        *_sdpa_arrays(rng))


# ---- compositions ---------------------------------------------------------------------------------------
def test_composite_expression_with_forks():
    rng = np.random.default_rng(48)

    def f(x, w, b):
        h = (x @ w + b).tanh()
        return (h * h.sigmoid() + h.exp() / (1.0 + h ** 2)).sum(dim=1).log_softmax(0)

    check_against_torch(f, f, rand(rng, 5, 4), rand(rng, 4, 3), rand(rng, 3))


def test_pow_at_zero_base_like_torch():
    # torch defines d(x^0)/dx = 0 everywhere and d(0^y)/dy = 0 for y >= 0 (not 0·log 0 = nan).
    x = np.array([0.0, 0.0, 1.5, 2.0, 0.0])
    y = np.array([2.0, 0.0, 0.5, -1.0, 3.0])
    check_against_torch(lambda t: t ** 0, lambda t: t ** 0, x)
    check_against_torch(lambda t: t ** 0.0, lambda t: t ** 0.0, x)
    check_against_torch(lambda a, b: a ** b, lambda a, b: a ** b, x, y)


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 1, 4, 5)], ids=str)
def test_sdpa_gradient_reaches_a_learned_float_mask(mask_shape):
    # e.g. a learned relative-position bias: torch backpropagates into a float attn_mask
    rng = np.random.default_rng(49)
    check_against_torch(
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
        *_sdpa_arrays(rng), rand(rng, *mask_shape))
