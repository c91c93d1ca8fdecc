"""Property tests: for random shapes, broadcast pairs, dims and values, minigrad matches torch."""
import numpy as np
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
import minigrad.functional as F
from helpers_torch import check_against_torch

SETTINGS = settings(max_examples=30, deadline=None)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4)


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def arrays(shape, low=-3.0, high=3.0, unique=False):
    return hnp.arrays(np.float64, shape, elements=floats(low, high), unique=unique)


def away_from_zero(a, margin=0.5):
    return np.where(a >= 0, a + margin, a - margin)


# ---- elementwise --------------------------------------------------------------------------------
UNARY = {
    "exp": (lambda t: t.exp(), torch.exp, (-3, 3)),
    "log": (lambda t: t.log(), torch.log, (0.1, 5)),
    "sqrt": (lambda t: t.sqrt(), torch.sqrt, (0.1, 5)),
    "tanh": (lambda t: t.tanh(), torch.tanh, (-4, 4)),
    "sigmoid": (lambda t: t.sigmoid(), torch.sigmoid, (-10, 10)),
    "relu": (lambda t: t.relu(), torch.relu, (-3, 3)),
    "abs": (lambda t: t.abs(), torch.abs, (-3, 3)),
    "neg": (lambda t: -t, torch.neg, (-3, 3)),
    "square": (lambda t: t ** 2, lambda t: t ** 2, (-3, 3)),
    "rsqrt": (lambda t: t ** -0.5, lambda t: t ** -0.5, (0.1, 5)),
    "rdiv": (lambda t: 1.5 / t, lambda t: 1.5 / t, (0.5, 3)),
    "rpow": (lambda t: 1.7 ** t, lambda t: 1.7 ** t, (-3, 3)),
}


@SETTINGS
@given(name=st.sampled_from(sorted(UNARY)), data=st.data())
def test_unary_elementwise(name, data):
    f_mg, f_torch, (low, high) = UNARY[name]
    x = data.draw(arrays(data.draw(SHAPES), low, high))
    check_against_torch(f_mg, f_torch, x)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "mixed": lambda a, b: (a * b - a / b) * 0.5 + b,
}


@SETTINGS
@given(name=st.sampled_from(sorted(BINARY)),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
       data=st.data())
def test_binary_broadcasting(name, shapes, data):
    shape_a, shape_b = shapes.input_shapes
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b))
    if name == "pow":
        a = np.abs(a) + 0.5  # positive base: the exponent's gradient needs log(a)
    if name in ("div", "mixed"):
        b = away_from_zero(b)
    out, _ = check_against_torch(BINARY[name], BINARY[name], a, b)
    assert out.shape == shapes.result_shape


@SETTINGS
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=4, max_side=3),
       k=st.integers(1, 3), data=st.data())
def test_matmul_broadcast_batches(shapes, k, data):
    # Batch dims broadcast, the last two are (n, k) @ (k, m).
    batch_a, batch_b = (s[:-1] for s in shapes.input_shapes)
    n, m = shapes.input_shapes[0][-1], shapes.input_shapes[1][-1]
    a = data.draw(arrays(batch_a + (n, k)))
    b = data.draw(arrays(batch_b + (k, m)))
    check_against_torch(lambda x, y: x @ y, lambda x, y: x @ y, a, b)


# ---- reductions ---------------------------------------------------------------------------------
@st.composite
def shape_and_dims(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=4, min_side=1, max_side=4))
    axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape),
                         unique=True))
    # each axis may be written as a negative index
    dims = tuple(a - len(shape) if draw(st.booleans()) else a for a in axes)
    return shape, dims


@SETTINGS
@given(op=st.sampled_from(["sum", "mean"]), sd=shape_and_dims(), keepdim=st.booleans(),
       as_int=st.booleans(), data=st.data())
def test_sum_mean_over_dims(op, sd, keepdim, as_int, data):
    shape, dims = sd
    dim = dims[0] if as_int else dims
    x = data.draw(arrays(shape))
    f = lambda t: getattr(t, op)(dim=dim, keepdim=keepdim)  # noqa: E731
    check_against_torch(f, f, x)


@SETTINGS
@given(op=st.sampled_from(["sum", "mean", "max"]), shape=SHAPES, data=st.data())
def test_full_reductions(op, shape, data):
    x = data.draw(arrays(shape))  # ties allowed: torch's max() shares the gradient between them
    f = lambda t: getattr(t, op)()  # noqa: E731
    check_against_torch(f, f, x)


@SETTINGS
@given(sd=shape_and_dims(), keepdim=st.booleans(), data=st.data())
def test_max_along_dim(sd, keepdim, data):
    shape, dims = sd
    x = data.draw(arrays(shape, unique=True))  # tie-free: the winner is unambiguous
    check_against_torch(lambda t: t.max(dim=dims[0], keepdim=keepdim),
                        lambda t: t.max(dim=dims[0], keepdim=keepdim).values, x)


@SETTINGS
@given(sd=shape_and_dims(), keepdim=st.booleans(), data=st.data())
def test_logsumexp_softmax_along_dim(sd, keepdim, data):
    shape, dims = sd
    x = data.draw(arrays(shape, -20.0, 20.0))
    check_against_torch(lambda t: F.logsumexp(t, dims, keepdim=keepdim),
                        lambda t: torch.logsumexp(t, dims, keepdim=keepdim), x)
    d = dims[0]
    check_against_torch(lambda t: F.softmax(t, d), lambda t: TF.softmax(t, d), x)
    check_against_torch(lambda t: F.log_softmax(t, d), lambda t: TF.log_softmax(t, d), x)


# ---- shape ops and indexing ----------------------------------------------------------------------
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_permute_transpose_reshape(shape, data):
    x = data.draw(arrays(shape))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    d0, d1 = data.draw(st.integers(-len(shape), len(shape) - 1)), data.draw(
        st.integers(-len(shape), len(shape) - 1))
    check_against_torch(lambda t: t.permute(*perm).reshape(-1) * 1.5,
                        lambda t: t.permute(*perm).reshape(-1) * 1.5, x)
    check_against_torch(lambda t: t.transpose(d0, d1).exp(), lambda t: t.transpose(d0, d1).exp(), x)


@SETTINGS
@given(n=st.integers(1, 6), data=st.data())
def test_integer_array_indexing_accumulates(n, data):
    x = data.draw(arrays((n, 3)))
    idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=10)))
    check_against_torch(lambda t: t[idx], lambda t: t[torch.as_tensor(idx)], x)
    check_against_torch(lambda t: t[idx, 1:], lambda t: t[torch.as_tensor(idx), 1:], x)


@SETTINGS
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), count=st.integers(1, 3),
       data=st.data())
def test_cat_stack(shape, count, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays_ = [data.draw(arrays(shape)) for _ in range(count)]
    check_against_torch(lambda *t: mg.cat(list(t), dim=dim), lambda *t: torch.cat(t, dim=dim),
                        *arrays_)
    check_against_torch(lambda *t: mg.stack(list(t), dim=dim), lambda *t: torch.stack(t, dim=dim),
                        *arrays_)
