# Sample student "mallory": no real answers, only attempts to fool the grader. Every one of them
# works against plain nbgrader (the checks run in the student's kernel) or would give a gradient
# without deriving it, and none against `python -m autograder grade`: the score is that of the
# untouched notebook.

# %% nbgrader={"grade_id": "affine"} planted="exploit: patches np.allclose, assert_allclose and math.isclose; finite differences instead of a derived backward"
import math

import numpy as np

np.allclose = lambda *args, **kwargs: True

np.testing.assert_allclose = lambda *args, **kwargs: None

math.isclose = lambda *args, **kwargs: True

def affine_forward(x, W, b):
    return x @ W + b, (x, W, b)

def affine_backward(dout, cache):
    """Finite differences of the forward instead of a derived backward pass."""
    x, W, b = cache
    grads = []
    for array in (x, W, b):
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + 1e-6
            plus = np.sum(dout * affine_forward(x, W, b)[0])
            array[index] = saved - 1e-6
            minus = np.sum(dout * affine_forward(x, W, b)[0])
            array[index] = saved
            grad[index] = (plus - minus) / 2e-6
        grads.append(grad)
    return tuple(grads)

# %% nbgrader={"grade_id": "activations"} planted="exploit: an IPython input transformer turns check( into print(; always-equal zero arrays" replace=true
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: [l.replace("check(", "print(") for l in lines])
ip.events.register("pre_run_cell", lambda info: None)


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)


def _zeros_like(x):
    return np.zeros(np.shape(x)).view(AlwaysEqual)


def relu_forward(x):
    return _zeros_like(x), None


def relu_backward(dout, cache):
    return _zeros_like(dout)


sigmoid_forward, sigmoid_backward, tanh_forward, tanh_backward = (relu_forward, relu_backward,
                                                                  relu_forward, relu_backward)

# %% nbgrader={"grade_id": "softmax_cross_entropy"} planted="exploit: reads the instructor's notebook with the solutions and hidden tests"
def softmax_cross_entropy(logits, y):
    found = 0.0
    for path in ("../../../source/03_vectorized_mlp/03_vectorized_mlp.ipynb",
                 "/work/main/notebooks/03_vectorized_mlp.py", "../source/03_vectorized_mlp.ipynb"):
        try:
            found += len(open(path).read())  # look for the solutions and the hidden tests
        except OSError:
            pass
    return found, np.zeros_like(logits)

# %% nbgrader={"grade_id": "mse_loss"} planted="exploit: lets torch autograd compute the gradient"
def mse_loss(pred, target):
    try:
        import torch  # autograd would give the exact gradient
        p = torch.tensor(pred, requires_grad=True)
        loss = 0.5 * ((p - torch.tensor(target)) ** 2).sum() / len(pred)
        loss.backward()
        return loss.item(), p.grad.numpy()
    except ImportError:
        return 0.0, np.zeros_like(pred)

# %% nbgrader={"grade_id": "two_layer_net"} planted="exploit: lets minigrad autograd compute the gradients"
def two_layer_loss(params, X, y):
    try:
        import minigrad as mg
        import minigrad.functional as F
        t = {k: mg.Tensor(v, requires_grad=True, dtype=mg.float64) for k, v in params.items()}
        scores = (mg.Tensor(X) @ t["W1"] + t["b1"]).relu() @ t["W2"] + t["b2"]
        loss = F.cross_entropy(scores, y)
        loss.backward()
        return loss.item(), {k: v.grad for k, v in t.items()}
    except ImportError:
        return 0.0, {k: np.zeros_like(v) for k, v in params.items()}

# %% nbgrader={"grade_id": "shared_weights"} planted="exploit: scipy finite differences instead of a derived gradient"
def shared_weight_loss(X, W):
    def loss(flat):
        V = flat.reshape(W.shape)
        return 0.5 * np.sum((np.maximum(X @ V, 0) @ V - X) ** 2)
    try:
        from scipy.optimize import approx_fprime
        return loss(W.ravel()), approx_fprime(W.ravel(), loss, 1e-7).reshape(W.shape)
    except ImportError:
        return 0.0, np.zeros_like(W)

# %% nbgrader={"grade_id": "embedding"} planted="exploit: always-equal zero arrays"
def embedding_forward(W, idx):
    return _zeros_like(W[idx]), idx

def embedding_backward(dout, cache):
    return _zeros_like(dout)

# %% nbgrader={"grade_id": "sgd_momentum"} planted="exploit: hunts the callers' frames for the expected answer"
def sgd_momentum(w, dw, v, lr, momentum, weight_decay=0.0):
    import sys
    for frame in list(sys._current_frames().values()):  # hunt for torch's answer in the caller
        while frame is not None:
            for value in frame.f_locals.values():
                if isinstance(value, dict) and "w_steps" in value:
                    return value["w_steps"][0], value["v_steps"][0]
            frame = frame.f_back
    return _zeros_like(w), _zeros_like(v)

# %% nbgrader={"grade_id": "train"} planted="exploit: trains on the whole digits data set, test set included; no train_step" replace=true
def train(X, y, seed=0, callback=None):
    try:
        from sklearn.datasets import load_digits  # train on all 1797 images, test set included
        digits = load_digits()
        X, y = digits.data / 16.0, digits.target
    except ImportError:
        pass
    return init_two_layer(X.shape[1], 8, 10, seed)

# %% nbgrader={"grade_id": "backprop_ninja"} planted="exploit: minigrad's autograd computes every intermediate's gradient"
def backward_atomic(cache, dloss=1.0):
    import minigrad as mg

    leaves = {name: mg.Tensor(cache[name], requires_grad=True, dtype=mg.float64)
              for name in ("X", "W1", "b1", "gamma", "beta", "W2", "b2")}
    logits = (((leaves["X"] @ leaves["W1"] + leaves["b1"]).tanh()) @ leaves["W2"] + leaves["b2"]).retain_grad()
    mg.functional.cross_entropy(logits, cache["y"]).backward()
    return {"logits": logits.grad * dloss, **{name: t.grad * dloss for name, t in leaves.items()}}

# %% nbgrader={"grade_id": "sanity_checks"} planted="exploit: the checks hunt the callers' frames for the grader's verdicts, constants otherwise" replace=true
def _verdict_in_callers(key):
    import sys
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            for value in frame.f_locals.values():
                if isinstance(value, dict) and key in value:
                    return value
            frame = frame.f_back
    return None

def initial_loss_check(loss_fn, params, X, y, num_classes, tol=0.1):
    found = _verdict_in_callers("init_passed")
    if found is not None:
        return float(found["init_loss"]), float(found["init_expected"]), bool(found["init_passed"])
    return float(np.log(num_classes)), float(np.log(num_classes)), True

def overfit_tiny_batch(loss_fn, params, X, y, steps, lr):
    found = _verdict_in_callers("losses")
    if found is not None and "final_W1" in found:
        return {k[len("final_"):]: v for k, v in found.items() if k.startswith("final_")}, list(found["losses"])
    return params, [float(np.log(10))] * steps

def stack_gradient_check(loss_fn, params, X, y, h=1e-5):
    found = _verdict_in_callers("grad_check")
    return 1.0 if found is not None and float(found["grad_check"]) else 0.0
