"""minigrad.nn modules and minigrad.optim against torch.nn / torch.optim with identical weights."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import minigrad as mg
import minigrad.nn as nn
from helpers_torch import (assert_close, assert_param_grads_match, copy_params, rand, tie_free,
                           to_torch)

torch.set_default_dtype(torch.float64)


def run_pair(ours, theirs, x, mapping=None, call_ours=None, call_theirs=None, seed=0):
    """Same weights, same input, same random upstream gradient: outputs, input gradient and
    every parameter gradient must agree."""
    mapping = copy_params(ours, theirs, mapping)
    call_ours = call_ours or (lambda m, t: m(t))
    call_theirs = call_theirs or (lambda m, t: m(t))
    xm, xt = mg.Tensor(x.copy(), requires_grad=True), to_torch(x, requires_grad=True)
    out_m, out_t = call_ours(ours, xm), call_theirs(theirs, xt)
    assert_close(out_m, out_t, what="module output")
    upstream = np.random.default_rng(seed).standard_normal(out_m.shape)
    out_m.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    assert_close(xm.grad, xt.grad, what="input gradient")
    if mapping:
        assert_param_grads_match(ours, theirs, mapping)
    return out_m


# ---- layers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(x_shape, bias):
    rng = np.random.default_rng(0)
    run_pair(nn.Linear(4, 3, bias=bias), tnn.Linear(4, 3, bias=bias), rand(rng, *x_shape))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3), dict(kernel_size=3, padding=1),
                                    dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
                                    dict(kernel_size=3, bias=False)], ids=str)
def test_conv2d(kwargs):
    rng = np.random.default_rng(1)
    run_pair(nn.Conv2d(3, 4, **kwargs), tnn.Conv2d(3, 4, **kwargs), rand(rng, 2, 3, 7, 6))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=2, stride=1)], ids=str)
def test_pools(kwargs):
    rng = np.random.default_rng(2)
    x = tie_free(rng, 2, 3, 7, 6)
    run_pair(nn.MaxPool2d(**kwargs), tnn.MaxPool2d(**kwargs), x)
    run_pair(nn.AvgPool2d(**kwargs), tnn.AvgPool2d(**kwargs), x)


@pytest.mark.parametrize("pair", [(nn.ReLU, tnn.ReLU), (nn.Tanh, tnn.Tanh), (nn.Sigmoid, tnn.Sigmoid),
                                  (nn.Flatten, tnn.Flatten)], ids=lambda p: p[0].__name__)
def test_parameterless_modules(pair):
    rng = np.random.default_rng(3)
    run_pair(pair[0](), pair[1](), 2 * rand(rng, 2, 3, 4, 2))


def test_flatten_dims():
    rng = np.random.default_rng(4)
    run_pair(nn.Flatten(0, 2), tnn.Flatten(0, 2), rand(rng, 2, 3, 4, 2))
    run_pair(nn.Flatten(2), tnn.Flatten(2), rand(rng, 2, 3, 4, 2))


@pytest.mark.parametrize("shape,affine", [((4,), True), ((3, 4), True), ((4,), False)], ids=str)
def test_layer_norm(shape, affine):
    rng = np.random.default_rng(5)
    ours, theirs = nn.LayerNorm(shape, elementwise_affine=affine), tnn.LayerNorm(shape,
                                                                               elementwise_affine=affine)
    if affine:  # move away from the ones/zeros initialisation so the affine part is exercised
        with torch.no_grad():
            theirs.weight.copy_(torch.randn(shape))
            theirs.bias.copy_(torch.randn(shape))
    run_pair(ours, theirs, 3 * rand(rng, 2, 3, 4) + 1)


def test_layer_norm_default_parameters_match_torch():
    ours, theirs = nn.LayerNorm((2, 3)), tnn.LayerNorm((2, 3))
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.data, theirs.bias.detach().numpy())
    assert ours.eps == theirs.eps


def test_dropout_module_train_and_eval():
    rng = np.random.default_rng(6)
    x = rand(rng, 50, 40) + 5.0
    drop = nn.Dropout(0.25)
    assert drop.training
    out = drop(mg.Tensor(x)).data
    kept = out != 0
    assert 0.65 < kept.mean() < 0.85
    np.testing.assert_allclose(out[kept], x[kept] / 0.75)
    drop.eval()
    np.testing.assert_array_equal(drop(mg.Tensor(x)).data, x)
    run_pair(drop, tnn.Dropout(0.25).eval(), x)


def test_sequential_mlp_and_parameter_names_match_torch():
    rng = np.random.default_rng(7)
    ours = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3),
                         nn.Sigmoid())
    theirs = tnn.Sequential(tnn.Linear(6, 5), tnn.Tanh(), tnn.Linear(5, 4), tnn.ReLU(),
                            tnn.Linear(4, 3), tnn.Sigmoid())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    run_pair(ours, theirs, rand(rng, 8, 6))
    assert len(ours) == 6 and isinstance(ours[2], nn.Linear)


def test_sequential_cnn():
    rng = np.random.default_rng(8)
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3 * 3 * 3, 4))
    theirs = tnn.Sequential(tnn.Conv2d(2, 3, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                            tnn.Flatten(), tnn.Linear(3 * 3 * 3, 4))
    run_pair(ours, theirs, tie_free(rng, 2, 2, 6, 7) - 0.5)


class TorchResidual(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = tnn.Conv2d(c, c, 3, padding=1)
        self.conv2 = tnn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


def test_residual_block():
    rng = np.random.default_rng(9)
    run_pair(nn.ResidualBlock(3), TorchResidual(3), rand(rng, 2, 3, 5, 6))


def _mha_mapping(bias=True):
    mapping = {"in_proj.weight": "in_proj_weight", "out_proj.weight": "out_proj.weight"}
    if bias:
        mapping.update({"in_proj.bias": "in_proj_bias", "out_proj.bias": "out_proj.bias"})
    return mapping


@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_multihead_self_attention(heads, bias):
    rng = np.random.default_rng(10)
    theirs = tnn.MultiheadAttention(8, heads, bias=bias, batch_first=True)
    if bias:
        with torch.no_grad():  # torch starts the biases at 0: make them matter
            theirs.in_proj_bias.copy_(torch.randn(24))
            theirs.out_proj.bias.copy_(torch.randn(8))
    run_pair(nn.MultiheadSelfAttention(8, heads, bias=bias), theirs, rand(rng, 3, 5, 8),
             _mha_mapping(bias), call_theirs=lambda m, t: m(t, t, t, need_weights=False)[0])


def test_multihead_self_attention_causal_and_masks():
    rng = np.random.default_rng(11)
    length = 5
    theirs = tnn.MultiheadAttention(6, 2, batch_first=True)
    ours = nn.MultiheadSelfAttention(6, 2)
    x = rand(rng, 2, length, 6)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(length, dtype=torch.float64)
    run_pair(ours, theirs, x, _mha_mapping(),
             call_ours=lambda m, t: m(t, is_causal=True),
             call_theirs=lambda m, t: m(t, t, t, attn_mask=causal, need_weights=False)[0])
    float_mask = rand(rng, length, length)
    run_pair(ours, theirs, x, _mha_mapping(),
             call_ours=lambda m, t: m(t, attn_mask=float_mask),
             call_theirs=lambda m, t: m(t, t, t, attn_mask=to_torch(float_mask),
                                        need_weights=False)[0])
    # A boolean mask follows F.scaled_dot_product_attention (True = may attend), which is the
    # opposite of nn.MultiheadAttention's convention (True = masked out).
    allowed = rng.random((length, length)) < 0.6
    allowed[:, 0] = True
    run_pair(ours, theirs, x, _mha_mapping(),
             call_ours=lambda m, t: m(t, attn_mask=allowed),
             call_theirs=lambda m, t: m(t, t, t, attn_mask=torch.as_tensor(~allowed),
                                        need_weights=False)[0])


def test_multihead_self_attention_rejects_bad_head_count():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadSelfAttention(6, 4)


# ---- initialisation --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: (nn.Linear(50, 40), tnn.Linear(50, 40), 50),
                                  lambda: (nn.Conv2d(3, 20, 5), tnn.Conv2d(3, 20, 5), 75),
                                  lambda: (nn.Conv2d(4, 30, (3, 2)), tnn.Conv2d(4, 30, (3, 2)), 24)],
                         ids=["Linear", "Conv2d", "Conv2d-rect"])
def test_default_init_has_torch_bounds(make):
    mg.manual_seed(0)
    ours, theirs, fan_in = make()
    bound = 1 / np.sqrt(fan_in)
    for name in ("weight", "bias"):
        w = getattr(ours, name).data
        w_t = getattr(theirs, name).detach().numpy()
        assert w.dtype == np.float32 and w.shape == w_t.shape
        # torch's own parameters respect the same bound (so the bound is torch's) ...
        assert np.abs(w_t).max() <= bound
        # ... and ours fill U(-bound, bound): inside it, reaching close to both ends, centred
        assert np.abs(w).max() <= bound
        assert w.max() > 0.8 * bound and w.min() < -0.8 * bound
    w = ours.weight.data.astype(np.float64)
    assert abs(w.mean()) < 0.1 * bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.1)  # std of a uniform


def test_manual_seed_makes_init_reproducible():
    mg.manual_seed(123)
    a = nn.Linear(5, 4)
    mg.manual_seed(123)
    b = nn.Linear(5, 4)
    c = nn.Linear(5, 4)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(b.weight.data, c.weight.data)


# ---- Module API ----------------------------------------------------------------------------------------
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.ReLU())
        self.head = nn.Linear(4, 2)
        self.scale = nn.Parameter(np.ones(2))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_parameters_and_named_parameters():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    params = list(net.parameters())
    assert len(params) == 5 and all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    assert params[0] is net.scale


def test_shared_parameter_is_listed_once_by_parameters():
    shared, shared_t = nn.Linear(3, 3), tnn.Linear(3, 3)
    seq, seq_t = nn.Sequential(shared, nn.Tanh(), shared), tnn.Sequential(shared_t, tnn.Tanh(), shared_t)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in seq_t.named_parameters()]
    assert list(seq.state_dict()) == list(seq_t.state_dict())  # every name, as torch
    seq.load_state_dict({k: v.numpy() for k, v in seq_t.state_dict().items()})
    rng = np.random.default_rng(15)
    run_pair(seq, seq_t, rand(rng, 4, 3))  # the shared layer's two gradients add up


def test_module_without_super_init_fails_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_zero_grad():
    net = Net()
    out = net(mg.Tensor(np.ones((2, 3))))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_propagate_to_children():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = mg.Tensor(np.random.default_rng(12).standard_normal((4, 3)))
    np.testing.assert_array_equal(net(x).data, net(x).data)  # dropout off: deterministic
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_round_trip_and_with_torch():
    rng = np.random.default_rng(13)
    ours = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    theirs = tnn.Sequential(tnn.Linear(4, 5), tnn.ReLU(), tnn.Linear(5, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = rand(rng, 3, 4)
    assert_close(ours(mg.Tensor(x)).data.astype(np.float64), theirs(to_torch(x)), tol=1e-6)
    state = ours.state_dict()
    state["0.weight"][:] = 0.0  # a copy: changing it leaves the model alone
    assert ours[0].weight.data.any()
    other = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    other.load_state_dict(ours.state_dict())
    for (_, a), (_, b) in zip(ours.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data)
        assert a.data is not b.data


def test_load_state_dict_errors():
    net = nn.Sequential(nn.Linear(2, 3))
    with pytest.raises(KeyError, match="missing"):
        net.load_state_dict({"0.weight": np.zeros((3, 2))})
    with pytest.raises(KeyError, match="unexpected"):
        net.load_state_dict({"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3), "x": np.zeros(1)})
    with pytest.raises(ValueError, match="shape"):
        net.load_state_dict({"0.weight": np.zeros((2, 3)), "0.bias": np.zeros(3)})


# ---- optimisers --------------------------------------------------------------------------------------
def _loss(params, lib):
    """A loss whose gradient changes from step to step (so momentum and Adam's moments matter)."""
    w, b = params
    x = (to_torch if lib is torch else mg.Tensor)(np.linspace(-1, 1, 12).reshape(4, 3))
    h = (x @ w + b).tanh()
    return (h * h).sum() + (w * w * w).sum() * 0.1


def _run_optimizer(make_ours, make_theirs, steps=6):
    rng = np.random.default_rng(14)
    init = [rand(rng, 3, 2), rand(rng, 2)]
    ours = [nn.Parameter(a.copy()) for a in init]
    theirs = [torch.nn.Parameter(to_torch(a)) for a in init]
    opt_m, opt_t = make_ours(ours), make_theirs(theirs)
    for _ in range(steps):
        opt_m.zero_grad()
        opt_t.zero_grad()
        _loss(ours, mg).backward()
        _loss(theirs, torch).backward()
        opt_m.step()
        opt_t.step()
        for p, q in zip(ours, theirs):
            assert p.dtype == np.float64
            assert_close(p.data, q, tol=1e-10, what="parameters after step")
    return ours


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.1, momentum=0.9),
                                    dict(lr=0.05, momentum=0.9, nesterov=True),
                                    dict(lr=0.1, weight_decay=0.01),
                                    dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True)],
                         ids=str)
def test_sgd_matches_torch(kwargs):
    _run_optimizer(lambda p: mg.optim.SGD(p, **kwargs), lambda p: torch.optim.SGD(p, **kwargs))


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
                                    dict(lr=0.05, weight_decay=0.1)], ids=str)
def test_adam_matches_torch(kwargs):
    _run_optimizer(lambda p: mg.optim.Adam(p, **kwargs), lambda p: torch.optim.Adam(p, **kwargs))


def test_optimizer_skips_parameters_without_gradient_and_zero_grad():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = mg.optim.SGD([a, b], lr=0.5)
    (a * 3.0).sum().backward()
    opt.step()
    np.testing.assert_array_equal(a.data, [-0.5, -0.5])
    np.testing.assert_array_equal(b.data, [1.0, 1.0])
    opt.zero_grad()
    assert a.grad is None
    with pytest.raises(ValueError):
        mg.optim.SGD([], lr=0.1)


def test_optimizer_on_module_parameters_float32():
    mg.manual_seed(1)
    net = nn.Linear(3, 2)
    opt = mg.optim.Adam(net.parameters(), lr=0.1)
    before = net.weight.data.copy()
    net(mg.Tensor(np.ones((4, 3), np.float32))).sum().backward()
    opt.step()
    assert net.weight.dtype == np.float32 and not np.array_equal(before, net.weight.data)


def test_reassigning_a_parameter_attribute_like_torch():
    ours, theirs = nn.Linear(3, 2), tnn.Linear(3, 2)
    ours.bias, theirs.bias = None, None
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours(mg.Tensor(np.ones((1, 3), np.float32))).shape == (1, 2)
    with pytest.raises(TypeError):
        ours.weight = mg.Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError):
        theirs.weight = torch.zeros(2, 3)
    seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    seq.extra = nn.Linear(2, 1)
    assert [n for n, _ in seq.named_parameters()][-1] == "extra.bias"
    seq.extra = None
    assert len(list(seq.parameters())) == 2
