"""The worked examples of the course's lecture notes, recomputed with minigrad.

Where the notes give numbers, the numbers are asserted (with the scalar `Value` engine and with
`Tensor`); where they give formulas (the conv backward, dW = dD·Xᵀ, the softmax Jacobian, ...),
minigrad's gradients are compared with the formula evaluated in NumPy on random inputs.
"""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad import Value
from minigrad.gradcheck import central_difference


def leaf(array):
    return mg.Tensor(np.array(array, dtype=np.float64), requires_grad=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# =====================================================================================================
# Circuit view (gates with local gradients)
# =====================================================================================================
def test_multiply_gate():
    x, y = Value(4.0), Value(-3.0)
    f = x * y
    f.backward()
    assert f.data == -12.0 and x.grad == -3.0 and y.grad == 4.0


def test_add_then_multiply_circuit_with_values_and_tensors():
    # f = (x + y) z at x = -2, y = 5, z = -4: q = 3, f = -12, and the gradients [-4, -4, 3]
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert (q.data, f.data) == (3.0, -12.0)
    assert (x.grad, y.grad, z.grad, q.grad) == (-4.0, -4.0, 3.0, -4.0)

    xt, yt, zt = leaf(-2.0), leaf(5.0), leaf(-4.0)
    ft = (xt + yt) * zt
    ft.backward()
    assert ft.item() == -12.0
    assert (xt.grad, yt.grad, zt.grad) == (-4.0, -4.0, 3.0)


def test_max_gate_routes_the_gradient_to_the_larger_input():
    x, y = leaf(4.0), leaf(2.0)
    mg.stack([x, y]).max().backward()
    assert (x.grad, y.grad) == (1.0, 0.0)


W_NEURON, X_NEURON = [2.0, -3.0, -3.0], [-1.0, -2.0]


def test_sigmoid_neuron_with_values():
    w = [Value(v) for v in W_NEURON]
    x = [Value(v) for v in X_NEURON]
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = dot.sigmoid()
    f.backward()
    assert dot.data == 1.0
    assert round(f.data, 2) == 0.73                       # the forward value quoted in the notes
    assert round(dot.grad, 1) == 0.2                      # its local gradient 0.73·(1 − 0.73)
    ddot = f.data * (1 - f.data)
    assert dot.grad == pytest.approx(ddot, rel=1e-15)
    assert [v.grad for v in x] == pytest.approx([W_NEURON[0] * ddot, W_NEURON[1] * ddot], rel=1e-15)
    assert [v.grad for v in w] == pytest.approx([X_NEURON[0] * ddot, X_NEURON[1] * ddot, ddot],
                                               rel=1e-15)
    assert [v.grad for v in x] == pytest.approx([0.39322, -0.58984], abs=1e-5)
    assert [v.grad for v in w] == pytest.approx([-0.19661, -0.39322, 0.19661], abs=1e-5)


def test_sigmoid_neuron_gate_by_gate_equals_the_single_sigmoid_gate():
    # The long circuit 1 / (1 + exp(-dot)) built from *, +, exp and 1/x gates gives the same
    # gradients as the one sigmoid gate.
    w = [Value(v) for v in W_NEURON]
    x = [Value(v) for v in X_NEURON]
    dot = w[0] * x[0] + w[1] * x[1] + w[2]
    f = 1.0 / (1.0 + (dot * -1.0).exp())
    f.backward()
    ddot = 1 / (1 + math.exp(-1.0)) * (1 - 1 / (1 + math.exp(-1.0)))
    assert f.data == pytest.approx(0.7310585786300049, rel=1e-15)
    assert [v.grad for v in w] == pytest.approx([-ddot, -2 * ddot, ddot], rel=1e-12)


def test_sigmoid_neuron_with_tensors():
    w, x = leaf(W_NEURON), leaf(X_NEURON)
    f = (w[:2] * x).sum() + w[2]
    f = f.sigmoid()
    f.backward()
    ddot = f.item() * (1 - f.item())
    np.testing.assert_allclose(x.grad, [2 * ddot, -3 * ddot], rtol=1e-15)
    np.testing.assert_allclose(w.grad, [-ddot, -2 * ddot, ddot], rtol=1e-15)


def staged_by_hand(x, y):
    """(x + σ(y)) / (σ(x) + (x + y)²): forward in stages, then backward stage by stage, with +=
    where a variable feeds more than one stage."""
    sigy = 1.0 / (1 + math.exp(-y))
    num = x + sigy
    sigx = 1.0 / (1 + math.exp(-x))
    xpy = x + y
    xpysqr = xpy ** 2
    den = sigx + xpysqr
    invden = 1.0 / den
    f = num * invden
    dnum, dinvden = invden, num
    dden = -1.0 / den ** 2 * dinvden
    dsigx = dxpysqr = dden
    dxpy = 2 * xpy * dxpysqr
    dx = dy = dxpy
    dx += (1 - sigx) * sigx * dsigx
    dx += dnum
    dsigy = dnum
    dy += (1 - sigy) * sigy * dsigy
    return f, dx, dy


def test_staged_expression_with_forks():
    f_ref, dx_ref, dy_ref = staged_by_hand(3.0, -4.0)
    x, y = Value(3.0), Value(-4.0)
    f = (x + y.sigmoid()) / (x.sigmoid() + (x + y) ** 2)
    f.backward()
    assert f.data == pytest.approx(f_ref, rel=1e-14)
    assert (x.grad, y.grad) == pytest.approx((dx_ref, dy_ref), rel=1e-12)

    xt, yt = leaf(3.0), leaf(-4.0)
    ft = (xt + yt.sigmoid()) / (xt.sigmoid() + (xt + yt) ** 2)
    ft.backward()
    assert ft.item() == pytest.approx(f_ref, rel=1e-14)
    assert (float(xt.grad), float(yt.grad)) == pytest.approx((dx_ref, dy_ref), rel=1e-12)
    # The += at the forks matters: with "=" only the last path, dx = dnum = 1/den, would remain.
    assert x.grad != pytest.approx(1.0 / (sigmoid(3.0) + 1.0), rel=1e-3)


def test_matrix_multiply_gradient_formulas():
    rng = np.random.default_rng(0)
    w0, x0 = rng.standard_normal((5, 10)), rng.standard_normal((10, 3))
    dD = rng.standard_normal((5, 3))
    W, X = leaf(w0), leaf(x0)
    (W @ X).backward(dD)
    np.testing.assert_allclose(W.grad, dD @ x0.T, rtol=1e-13)   # dW = dD·Xᵀ
    np.testing.assert_allclose(X.grad, w0.T @ dD, rtol=1e-13)   # dX = Wᵀ·dD
    assert W.grad.shape == w0.shape and X.grad.shape == x0.shape


# =====================================================================================================
# Scalar backprop: f(x) = 2 / sin(e^-x), and a sigmoid network worked by hand
# =====================================================================================================
def value_sin(v):
    """A new gate for the Value engine: its output and its local derivative, cos."""
    return Value(math.sin(v.data), (v,), (math.cos(v.data),), "sin")


class Sin(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.cos(x)


def two_over_sin_exp(x):
    a = -x
    b = a.exp()
    c = value_sin(b) if isinstance(x, Value) else Sin.apply(b)
    return 2.0 / c, (a, b, c)


def chain_of_local_derivatives(x):
    a = -x
    b = math.exp(a)
    c = math.sin(b)
    return -2.0 / c ** 2 * math.cos(b) * math.exp(a) * -1.0


@pytest.mark.parametrize("x0", [-4.499, -1.0, 0.5])
def test_two_over_sin_exp_gradient_is_the_product_of_local_derivatives(x0):
    x = Value(x0)
    d, _ = two_over_sin_exp(x)
    d.backward()
    assert d.data == pytest.approx(2 / math.sin(math.exp(-x0)), rel=1e-14)
    assert x.grad == pytest.approx(chain_of_local_derivatives(x0), rel=1e-12)
    assert x.grad == pytest.approx(central_difference(
        lambda z: 2 / math.sin(math.exp(-z)), x0, 1e-6), rel=1e-6)

    xt = leaf(x0)
    dt, _ = two_over_sin_exp(xt)
    dt.backward()
    assert float(xt.grad) == pytest.approx(x.grad, rel=1e-13)


def test_two_over_sin_exp_forward_pass_numbers():
    # The notes' forward pass at x = -4.499: a = 4.499 and b = e^a ≈ 90.
    _, (a, b, _) = two_over_sin_exp(Value(-4.499))
    assert a.data == pytest.approx(4.499) and round(b.data) == 90
    # They then take c = sin b = 1 and cos b = 0 (reading 90 as degrees), so f = 2 and the
    # gradient is 0. In radians that holds where b = π/2 + 28π exactly, i.e. at x ≈ -4.4946:
    x_star = -math.log(math.pi / 2 + 28 * math.pi)
    assert round(x_star, 3) == -4.495
    x = Value(x_star)
    d, (_, _, c) = two_over_sin_exp(x)
    d.backward()
    assert c.data == pytest.approx(1.0, abs=1e-12) and d.data == pytest.approx(2.0, abs=1e-12)
    assert abs(x.grad) < 1e-9
    xt = leaf(x_star)
    dt, _ = two_over_sin_exp(xt)
    dt.backward()
    assert dt.item() == pytest.approx(2.0, abs=1e-12) and abs(float(xt.grad)) < 1e-9


def sigmoid_network(x, W, b_k, v, c, t, activation="sigmoid"):
    """k = W x + b_k, h = σ(k), y = v·h + c, l = (y − t)², one example, as Values (loops)."""
    k = [sum((W[j][i] * x[i] for i in range(len(x))), b_k[j]) for j in range(len(W))]
    h = [kj.sigmoid() if activation == "sigmoid" else kj.tanh() for kj in k]
    y = sum((v[j] * h[j] for j in range(len(h))), c)
    return (y - t) ** 2, y, h, k


def build_network(h_target, y_target, activation="sigmoid"):
    """Weights chosen so the hidden activations are h_target and the output is y_target."""
    x = [-1.0, 2.0]
    W = [[0.3, -0.2], [0.5, 0.4], [-0.6, 0.1]]
    inverse = (lambda h: math.log(h / (1 - h))) if activation == "sigmoid" else math.atanh
    b_k = [inverse(h) - (W[j][0] * x[0] + W[j][1] * x[1]) for j, h in enumerate(h_target)]
    v = [1.5, -2.0, 0.7]
    c = y_target - sum(vj * hj for vj, hj in zip(v, h_target))
    return x, W, b_k, v, c


def test_sigmoid_network_worked_by_hand_with_values():
    # Output 10.1 where 12.1 was wanted: loss 4, and with h2 = 0.99, dl/dv2 = 2(10.1 − 12.1)·0.99
    x0, W0, b0, v0, c0 = build_network([0.3, 0.99, 0.6], 10.1)
    x = [Value(a) for a in x0]
    W = [[Value(a) for a in row] for row in W0]
    b_k, v, c = [Value(a) for a in b0], [Value(a) for a in v0], Value(c0)
    loss, y, h, k = sigmoid_network(x, W, b_k, v, c, 12.1)
    loss.backward()
    assert y.data == pytest.approx(10.1, abs=1e-12) and h[1].data == pytest.approx(0.99, abs=1e-12)
    assert loss.data == pytest.approx(4.0, abs=1e-10)
    assert v[1].grad == pytest.approx(-3.96, abs=1e-10)
    # dl/dw12 = 2(y − t) · v2 · h2(1 − h2) · x1
    assert W[1][0].grad == pytest.approx(2 * (10.1 - 12.1) * v0[1] * 0.99 * 0.01 * x0[0], abs=1e-10)
    # The backward pseudocode: y' = 2(y − t); v' = y'h; h' = y'v; c' = y'; k' = h'h(1 − h);
    # w'[i, j] = k'[j] x[i]; b'[j] = k'[j]
    y_ = 2 * (y.data - 12.1)
    hs = np.array([hj.data for hj in h])
    k_ = y_ * np.array(v0) * hs * (1 - hs)
    assert c.grad == pytest.approx(y_) and y_ == pytest.approx(-4.0)
    np.testing.assert_allclose([vj.grad for vj in v], y_ * hs, rtol=1e-12)
    np.testing.assert_allclose([[wji.grad for wji in row] for row in W], np.outer(k_, x0),
                               rtol=1e-10)
    np.testing.assert_allclose([bj.grad for bj in b_k], k_, rtol=1e-10)
    # σ'(k) = σ(k)(1 − σ(k)); a σ(k)·σ(1 − k) in its place would give other numbers
    ks = np.array([kj.data for kj in k])
    assert not np.allclose([bj.grad for bj in b_k], y_ * np.array(v0) * sigmoid(ks) * sigmoid(1 - ks))


def test_sigmoid_network_vectorised_with_tensors():
    # l = Σ (y − t)², y = V h + c, h = σ(k), k = W x + b, column vectors as in the notes
    rng = np.random.default_rng(1)
    x0, t0 = rng.standard_normal((4, 1)), rng.standard_normal((2, 1))
    w0, b0, v0, c0 = (rng.standard_normal(s) for s in ((3, 4), (3, 1), (2, 3), (2, 1)))
    W, b, V, c = leaf(w0), leaf(b0), leaf(v0), leaf(c0)
    k = W @ mg.Tensor(x0) + b
    h = k.sigmoid()
    y = V @ h + c
    ((y - mg.Tensor(t0)) ** 2).sum().backward()
    h0 = sigmoid(w0 @ x0 + b0)
    y_grad = 2 * (v0 @ h0 + c0 - t0)                       # y∇ = 2(y − t)
    h_grad = v0.T @ y_grad                                 # h∇ = Vᵀ y∇
    k_grad = h_grad * h0 * (1 - h0)                        # k∇ = h∇ ⊙ h(1 − h)
    np.testing.assert_allclose(V.grad, y_grad @ h0.T, rtol=1e-12)   # V∇ = y∇ hᵀ
    np.testing.assert_allclose(c.grad, y_grad, rtol=1e-12)
    np.testing.assert_allclose(W.grad, k_grad @ x0.T, rtol=1e-12)   # W∇ = k∇ xᵀ
    np.testing.assert_allclose(b.grad, k_grad, rtol=1e-12)


@pytest.mark.parametrize("activation,h2,sign", [("sigmoid", 0.5, -1), ("tanh", -0.5, +1)])
def test_intuition_second_layer_updates(activation, h2, sign):
    # Output 10 too high (2(y − t) = 20), hidden activations 0.1, h2, 0.9: the gradient of v_i
    # is 20·h_i, so v2 goes down when h2 = 0.5 and *up* when h2 = −0.5.
    x0, W0, b0, v0, c0 = build_network([0.1, h2, 0.9], 10.0, activation)
    W, b_k = leaf(W0), leaf(b0)
    v, c = leaf(v0), leaf(c0)
    k = W @ mg.Tensor(np.array(x0)) + b_k
    h = k.sigmoid() if activation == "sigmoid" else k.tanh()
    y = (v * h).sum() + c
    loss = (y - 0.0) ** 2
    loss.backward()
    np.testing.assert_allclose(v.grad, [2.0, 20 * h2, 18.0], rtol=1e-9)
    alpha = 0.01
    assert np.sign(-alpha * v.grad[1]) == sign


def test_sigmoid_op_backward_on_a_3_tensor():
    # X∇ = Y∇ ⊗ σ(X) ⊗ (1 − σ(X)), elementwise, for a tensor of any shape
    rng = np.random.default_rng(2)
    x0, dy = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3, 4))
    x = leaf(x0)
    x.sigmoid().backward(dy)
    np.testing.assert_allclose(x.grad, dy * sigmoid(x0) * (1 - sigmoid(x0)), rtol=1e-13)


def test_row_sum_and_expand_backward():
    rng = np.random.default_rng(3)
    x0, dy = rng.standard_normal((3, 5)), rng.standard_normal(3)
    x = leaf(x0)
    x.sum(dim=1).backward(dy)
    np.testing.assert_allclose(x.grad, dy[:, None] * np.ones((1, 5)))  # x∇ = y∇ 1ᵀ
    s, dY = leaf(1.7), rng.standard_normal((4, 2))
    s.expand(4, 2).backward(dY)
    assert float(s.grad) == pytest.approx(dY.sum(), rel=1e-14)         # x∇ = Σ Y∇


# =====================================================================================================
# "All the BPs": two-layer nets, softmax + cross-entropy, conv / pool / ReLU, shared weights,
# residual blocks, attention
# =====================================================================================================
def test_scalar_two_layer_net_deltas():
    # Y^p = σ(X W1 + b1) W2 + b2, L = ½(Y^p − Y)²
    X, Y, w1, b1, w2, b2 = 0.7, -0.4, 1.3, -0.2, -0.8, 0.5
    vals = {name: Value(v) for name, v in dict(W1=w1, b1=b1, W2=w2, b2=b2).items()}
    z2 = X * vals["W1"] + vals["b1"]
    z3 = z2.sigmoid()
    yp = z3 * vals["W2"] + vals["b2"]
    (0.5 * (yp - Y) ** 2).backward()
    d_yp = yp.data - Y                        # δY^p = y^p − y
    d_z3 = w2 * d_yp                          # δZ3 = W2 δZ4, δZ4 = δY^p
    d_z2 = z3.data * (1 - z3.data) * d_z3     # δZ2 = σ'(Z2) δZ3 = δZ1
    assert vals["b2"].grad == pytest.approx(d_yp)
    assert vals["W2"].grad == pytest.approx(z3.data * d_yp)
    assert vals["b1"].grad == pytest.approx(d_z2)
    assert vals["W1"].grad == pytest.approx(X * d_z2)


def test_matrix_two_layer_net_deltas():
    rng = np.random.default_rng(4)
    x0, y0 = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    w10, b10, w20, b20 = (rng.standard_normal(s) for s in ((4, 5), (5,), (5, 2), (2,)))
    W1, b1, W2, b2 = leaf(w10), leaf(b10), leaf(w20), leaf(b20)
    z3 = (mg.Tensor(x0) @ W1 + b1).sigmoid()
    yp = z3 @ W2 + b2
    (0.5 * ((yp - mg.Tensor(y0)) ** 2).sum()).backward()
    Z3 = sigmoid(x0 @ w10 + b10)
    d_yp = Z3 @ w20 + b20 - y0
    d_z2 = Z3 * (1 - Z3) * (d_yp @ w20.T)     # δZ3 = δZ4 W2ᵀ
    np.testing.assert_allclose(W2.grad, Z3.T @ d_yp, rtol=1e-12)      # δW2 = Z3ᵀ δZ4
    np.testing.assert_allclose(b2.grad, d_yp.sum(axis=0), rtol=1e-12)  # δb2 = Σ_k rows
    np.testing.assert_allclose(W1.grad, x0.T @ d_z2, rtol=1e-12)      # δW1 = Xᵀ δZ1
    np.testing.assert_allclose(b1.grad, d_z2.sum(axis=0), rtol=1e-12)


def test_softmax_cross_entropy_gradient_is_yp_minus_y():
    rng = np.random.default_rng(5)
    logits0, labels = 2 * rng.standard_normal((4, 6)), np.array([0, 5, 2, 2])
    logits = leaf(logits0)
    F.cross_entropy(logits, labels, reduction="sum").backward()
    yp = np.exp(logits0) / np.exp(logits0).sum(axis=1, keepdims=True)
    y = np.eye(6)[labels]
    np.testing.assert_allclose(logits.grad, yp - y, rtol=1e-12, atol=1e-15)
    # the same through an explicit softmax and -Σ y log yp
    logits2 = leaf(logits0)
    (-(mg.Tensor(y) * F.softmax(logits2, dim=1).log()).sum()).backward()
    np.testing.assert_allclose(logits2.grad, yp - y, rtol=1e-10, atol=1e-13)


def test_softmax_jacobian_is_diag_p_minus_p_pT():
    rng = np.random.default_rng(6)
    z0 = rng.standard_normal(5)
    p = np.exp(z0) / np.exp(z0).sum()
    rows = []
    for k in range(5):  # row k of the Jacobian: backward with the k-th unit vector upstream
        z = leaf(z0)
        F.softmax(z, dim=0).backward(np.eye(5)[k])
        rows.append(z.grad)
    np.testing.assert_allclose(np.array(rows), np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


# ---- convolution as in the notes: single channel, valid, stride 1 ---------------------------------
def correlate_valid(image, kernel):
    """J(i, j) = Σ_l Σ_m I(i + l, j + m) K(l, m): written with loops, independent of minigrad."""
    h, w = kernel.shape
    out = np.zeros((image.shape[0] - h + 1, image.shape[1] - w + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + h, j:j + w] * kernel)
    return out


def pad(a, ph, pw):
    return np.pad(a, ((ph, ph), (pw, pw)))


def flip(k):
    return k[::-1, ::-1]


def conv_single(x, k, padding=0):
    return F.conv2d(x.reshape(1, 1, *x.shape), k.reshape(1, 1, *k.shape), padding=padding)


def test_flip_example_from_the_notes():
    np.testing.assert_array_equal(flip(np.array([[1, 3, 5], [2, 4, 6]])), [[6, 4, 2], [5, 3, 1]])


@pytest.mark.parametrize("image_shape,kernel_shape", [((6, 7), (2, 3)), ((5, 5), (3, 3)),
                                                      ((4, 6), (4, 1))], ids=str)
def test_conv_backward_formulas(image_shape, kernel_shape):
    rng = np.random.default_rng(7)
    i0, k0 = rng.standard_normal(image_shape), rng.standard_normal(kernel_shape)
    I, K = leaf(i0), leaf(k0)
    J = conv_single(I, K)
    np.testing.assert_allclose(J.data[0, 0], correlate_valid(i0, k0), rtol=1e-12)
    dJ = rng.standard_normal(J.shape[2:])
    J.backward(dJ.reshape(J.shape))
    h, w = kernel_shape
    np.testing.assert_allclose(K.grad, correlate_valid(i0, dJ), rtol=1e-12)       # δK = I * δJ
    np.testing.assert_allclose(I.grad, correlate_valid(pad(dJ, h - 1, w - 1), flip(k0)),
                               rtol=1e-12, atol=1e-14)                           # δI = pad(δJ) * flip(K)
    assert pad(dJ, h - 1, w - 1).shape == (image_shape[0] + h - 1, image_shape[1] + w - 1)


def test_max_pool_backward_example():
    # 2×2 windows, stride 2: each window's gradient goes to the position of its maximum only.
    x0 = np.array([[0.1, 0.2, 0.9, 0.3],
                   [0.0, 0.8, 0.5, 0.4],
                   [0.7, 0.1, 0.2, 0.3],
                   [0.3, 0.6, 0.1, 0.95]])
    dy1, dy2, dy3, dy4 = 1.0, 2.0, 3.0, 4.0
    x = leaf(x0.reshape(1, 1, 4, 4))
    F.max_pool2d(x, 2).backward(np.array([[[[dy1, dy3], [dy2, dy4]]]]))
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 0, dy3, 0],
                                                 [0, dy1, 0, 0],
                                                 [dy2, 0, 0, 0],
                                                 [0, 0, 0, dy4]])


def test_relu_backward_example():
    x = leaf([[-1.0, 2.0], [-3.0, 0.5]])
    x.relu().backward(np.array([[1.0, 3.0], [2.0, 4.0]]))
    np.testing.assert_array_equal(x.grad, [[0.0, 3.0], [0.0, 4.0]])


def test_conv_relu_maxpool_training_step():
    # x → conv K → J → ReLU → max-pool 2×2 → O = (O1, O2), loss ½‖IO − O‖² with IO = [7, 10];
    # backward by hand (pool, ReLU, δK = x * δJ), then one gradient-descent step on K.
    rng = np.random.default_rng(8)
    x0 = rng.uniform(0, 4, (3, 5))
    k0 = np.array([[0.9, -0.7], [0.2, 0.1]])
    ideal, lr = np.array([7.0, 10.0]), 0.01
    K = leaf(k0)
    J = conv_single(mg.Tensor(x0), K)
    O = F.max_pool2d(J.relu(), 2)
    assert O.shape == (1, 1, 1, 2)
    loss = 0.5 * ((mg.Tensor(ideal) - O.reshape(2)) ** 2).sum()
    loss.backward()
    # by hand
    j = correlate_valid(x0, k0)
    z = np.maximum(j, 0)
    o = np.array([z[:, :2].max(), z[:, 2:4].max()])
    d_o = o - ideal
    d_z = np.zeros_like(z)
    for n, cols in enumerate((slice(0, 2), slice(2, 4))):
        window = z[:, cols]
        r, c = np.unravel_index(np.argmax(window), window.shape)
        d_z[r, cols.start + c] = d_o[n]
    d_j = d_z * (j > 0)
    assert (j < 0).any() and (d_j != 0).sum() == 2  # the ReLU and the pooling both route
    d_k = correlate_valid(x0, d_j)
    assert loss.item() == pytest.approx(0.5 * np.sum(d_o ** 2), rel=1e-13)
    np.testing.assert_allclose(K.grad, d_k, rtol=1e-12)
    optimizer = mg.optim.SGD([K], lr=lr)
    optimizer.step()
    np.testing.assert_allclose(K.data, k0 - lr * d_k, rtol=1e-14)
    with mg.no_grad():
        new = F.max_pool2d(conv_single(mg.Tensor(x0), K).relu(), 2).reshape(2)
    assert 0.5 * np.sum((ideal - new.data) ** 2) < loss.item()


def test_shared_weights():
    # Y = ReLU(X W) W, loss ½‖Y − X‖²: W is used twice, so its gradient is the sum of two terms:
    # δW = Z2ᵀ δY + Xᵀ δZ1 with δY = Y − X, δZ2 = δY Wᵀ, δZ1 = ReLU'(Z1) ⊙ δZ2
    rng = np.random.default_rng(9)
    x0, w0 = rng.standard_normal((5, 4)), rng.standard_normal((4, 4))
    W = leaf(w0)
    X = mg.Tensor(x0)
    Y = (X @ W).relu() @ W
    (0.5 * ((Y - X) ** 2).sum()).backward()
    z1 = x0 @ w0
    z2 = np.maximum(z1, 0)
    d_y = z2 @ w0 - x0
    d_z2 = d_y @ w0.T
    d_z1 = (z1 > 0) * d_z2
    np.testing.assert_allclose(W.grad, z2.T @ d_y + x0.T @ d_z1, rtol=1e-12)


def test_residual_block_backward():
    # z = conv(relu(conv(x, w1)), w2) + x with "same" 3×3 convolutions (padding 1).
    rng = np.random.default_rng(10)
    block = mg.nn.ResidualBlock(1)
    w10, w20 = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    b10, b20 = rng.standard_normal(1), rng.standard_normal(1)
    block.conv1.weight.data, block.conv1.bias.data = w10.reshape(1, 1, 3, 3), b10
    block.conv2.weight.data, block.conv2.bias.data = w20.reshape(1, 1, 3, 3), b20
    x0, dz = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    x = leaf(x0.reshape(1, 1, 5, 6))
    block(x).backward(dz.reshape(1, 1, 5, 6))

    def corr_same(image, kernel):  # correlation with 1 pixel of zero padding keeps the size
        return correlate_valid(pad(image, 1, 1), kernel)

    z1 = corr_same(x0, w10) + b10
    z2 = np.maximum(z1, 0)
    d_x2 = d_z3 = dz                                      # the skip path hands δz straight to x
    d_z2 = corr_same(d_z3, flip(w20))                     # = Conv(Pad(δz3), flip(w2)), cropped
    d_z1 = (z1 > 0) * d_z2
    d_x1 = corr_same(d_z1, flip(w10))
    np.testing.assert_allclose(x.grad[0, 0], d_x1 + d_x2, rtol=1e-12)     # δx = δx1 + δx2
    np.testing.assert_allclose(block.conv2.weight.grad[0, 0], correlate_valid(pad(z2, 1, 1), d_z3),
                               rtol=1e-12)                                # δw2 = Conv(z2, δz3)
    np.testing.assert_allclose(block.conv1.weight.grad[0, 0], correlate_valid(pad(x0, 1, 1), d_z1),
                               rtol=1e-12)                                # δw1 = Conv(x1, δz1)
    np.testing.assert_allclose(block.conv2.bias.grad, [dz.sum()], rtol=1e-12)


def test_attention_softmax_jacobian_example():
    # z_i = x_i · y (3 rows of 4 scores), s_i = softmax(z_i); given δs_i:
    # δz_i = J^i δs_i with J^i = diag(s_i) − s_i s_iᵀ, δx_i = Σ_j y_j (δz_i)_j,
    # δy_j = Σ_i x_i (δz_i)_j
    rng = np.random.default_rng(11)
    x0, y0, ds = rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal((3, 4))
    x, y = leaf(x0), leaf(y0)
    s = F.softmax(x.reshape(3, 1) @ y.reshape(1, 4), dim=1)
    s.backward(ds)
    z = np.outer(x0, y0)
    s0 = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    dz = np.stack([(np.diag(s0[i]) - np.outer(s0[i], s0[i])) @ ds[i] for i in range(3)])
    np.testing.assert_allclose(s.data, s0, rtol=1e-13)
    np.testing.assert_allclose(x.grad, dz @ y0, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(y.grad, x0 @ dz, rtol=1e-11, atol=1e-14)


# =====================================================================================================
# Backprop deltas, the group exercise, and autograd in practice
# =====================================================================================================
def test_chain_rule_for_one_hidden_weight():
    # L = ½(ŷ − y)², ŷ = w1y h1 + w2y h2, h1 = max(0, a1), a1 = w11 x1 + w12 x2:
    # ∂L/∂w11 = (ŷ − y) · w1y · g'(a1) · x1
    x1, x2, y = 0.8, -0.3, 1.0
    w11, w12, w21, w22, w1y, w2y = (Value(v) for v in (0.9, 0.4, -0.5, 0.7, 1.2, -0.6))
    h1 = (w11 * x1 + w12 * x2).relu()
    h2 = (w21 * x1 + w22 * x2).relu()
    y_hat = w1y * h1 + w2y * h2
    (0.5 * (y_hat - y) ** 2).backward()
    a1 = 0.9 * x1 + 0.4 * x2
    assert w11.grad == pytest.approx((y_hat.data - y) * 1.2 * float(a1 > 0) * x1, rel=1e-14)
    assert w21.grad == 0.0  # a2 < 0: the ReLU passes no gradient


def test_group_exercise_one_training_step():
    # One input, a linear layer of two units (bias 0), two ReLU units with bias −0.5 (left
    # alone), one linear output (bias 0); one step on x = −1, y = 0.5, lr 0.1, L = (ŷ − y)²/2.
    x_val, y_val, lr = -1.0, 0.5, 0.1
    W1, W2, W3 = np.array([[-0.8], [0.6]]), np.array([[0.9, -0.3], [0.5, 0.7]]), np.array([[1.1, -0.4]])
    layers = [mg.nn.Linear(1, 2, dtype=np.float64), mg.nn.Linear(2, 2, dtype=np.float64),
              mg.nn.Linear(2, 1, dtype=np.float64)]
    for layer, w, b in zip(layers, (W1, W2, W3), (0.0, -0.5, 0.0)):
        layer.weight.data = w.copy()
        layer.bias.data = np.full(w.shape[0], b)
        layer.bias.requires_grad = False  # "leave these alone"
    net = mg.nn.Sequential(layers[0], layers[1], mg.nn.ReLU(), layers[2])
    optimizer = mg.optim.SGD([l.weight for l in layers], lr=lr)
    loss = 0.5 * ((net(mg.Tensor(np.array([[x_val]]))) - y_val) ** 2).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    # by hand, with the deltas δ_j = g'(a_j) Σ_k w_kj δ_k and ∂L/∂w_ji = δ_j z_i
    z0 = np.array([x_val])
    a1 = W1 @ z0
    z1 = a1                                   # no nonlinearity
    a2 = W2 @ z1 - 0.5
    z2 = np.maximum(a2, 0)
    y_hat = W3 @ z2
    d3 = y_hat - y_val                        # output delta ŷ − y
    d2 = (a2 > 0) * (W3.T @ d3)
    d1 = 1.0 * (W2.T @ d2)
    for layer, w, delta, z in zip(layers, (W1, W2, W3), (d1, d2, d3), (z0, z1, z2)):
        np.testing.assert_allclose(layer.weight.data, w - lr * np.outer(delta, z), rtol=1e-14)
        assert layer.bias.grad is None
    np.testing.assert_array_equal(layers[1].bias.data, [-0.5, -0.5])


def test_gradients_accumulate_as_in_the_pytorch_example():
    a, b = leaf(2.0), leaf(2.0)
    c = a + b
    c.backward()
    assert float(a.grad) == 1.0
    c.backward()
    assert float(a.grad) == 2.0
    a.grad = np.zeros_like(a.grad)
    c.backward()
    assert float(a.grad) == 1.0
    # requires_grad decides what is in the graph
    d, e = mg.Tensor(1.0), mg.Tensor(1.0)
    assert not (d + e).requires_grad and (d + e).grad_fn is None
    f = leaf(1.0) + leaf(1.0)
    assert f.requires_grad and f.grad_fn is not None


def test_graph_is_built_dynamically():
    def graph_names(t):
        names, stack = [], [t]
        while stack:
            node = stack.pop()
            if node.grad_fn is not None:
                names.append(node.grad_fn.name())
                stack.extend(i for i in node.grad_fn.inputs if isinstance(i, mg.Tensor))
        return names

    x = leaf(np.array([0.5, -1.0]))
    with_relu = graph_names((x * 2.0).relu().sum())
    without = graph_names((x * 2.0).sum())
    assert any("ReLU" in n for n in with_relu) and not any("ReLU" in n for n in without)
    assert with_relu[0].startswith("Sum") and any(n.startswith("Mul") for n in with_relu)


def test_central_difference_with_half_steps_as_in_the_notes():
    # f'(x) ≈ (f(x + h/2) − f(x − h/2)) / h is minigrad's central difference with step h/2.
    f, x, h = np.tanh, 0.4, 1e-3
    notes_version = (f(x + h / 2) - f(x - h / 2)) / h
    assert central_difference(f, x, h / 2) == pytest.approx(notes_version, rel=1e-12)
    assert notes_version == pytest.approx(1 - np.tanh(x) ** 2, rel=1e-6)
