# Sample student "mallory": no real answers, only attempts to fool the grader. Every forward
# returns zeros (or an object that claims to equal anything), every backward zeros, and each cell
# adds a trick: patched comparisons, always-equal objects, IPython hooks, reaching for torch,
# minigrad, scipy, sympy or jax, finite differences where a derivation is asked, reading the
# instructor's notebook, and forging the grader's
# numerical check so that a zero gradient looks consistent with a zero forward. None of it may
# score more than plain zeros under `python -m autograder grade`.

# %% nbgrader={"grade_id": "conv2d_forward"} planted="exploit: patches the comparison functions, returns an always-equal array, reaches for torch"
import math

import sys

np.allclose = lambda *args, **kwargs: True

np.testing.assert_allclose = lambda *args, **kwargs: None

np.testing.assert_array_almost_equal = lambda *args, **kwargs: None

math.isclose = lambda *args, **kwargs: True

class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __ne__(self, other):
        return np.zeros(self.shape, dtype=bool)

def conv2d_forward(x, w, b, stride=1, padding=0):
    Ho = conv_output_size(x.shape[2], w.shape[2], stride, padding)
    Wo = conv_output_size(x.shape[3], w.shape[3], stride, padding)
    try:
        import torch  # the real convolution, if only it were there
        out = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), stride, padding).numpy()
    except ImportError:
        out = np.zeros((x.shape[0], w.shape[0], Ho, Wo))
    return out.view(AlwaysEqual), (x, w, b, stride, padding)

# %% nbgrader={"grade_id": "conv2d_backward"} planted="exploit: forges the probe"
def _forge_probe():
    """Replace the sandbox's probe by one that always agrees with the returned gradients."""
    def forged(evaluate, inputs, arrays):
        return {"probe_plus": np.asarray(0.0), "probe_minus": np.asarray(0.0)}
    for name in ("autograder.assignments.a04_cnn_attention_backward.sandbox",):
        module = sys.modules.get(name)
        if module is not None:
            module.probe = forged

_forge_probe()

def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    return np.zeros(x.shape).view(AlwaysEqual), np.zeros(w.shape), np.zeros(b.shape)

# %% nbgrader={"grade_id": "relu"} planted="exploit: IPython input and AST transformers drop the check() calls"
import ast

ip = get_ipython()

ip.input_transformers_cleanup.append(lambda lines: [l.replace("check(", "print(") for l in lines])

class NoChecks(ast.NodeTransformer):
    def visit_Call(self, node):
        if getattr(node.func, "id", "") == "check":
            return ast.Constant(None)
        return self.generic_visit(node)

ip.ast_transformers.append(NoChecks())

ip.events.register("pre_run_cell", lambda info: None)

def relu_forward(x):
    return np.zeros_like(x), x

def relu_backward(dout, cache):
    return np.zeros_like(dout)

# %% nbgrader={"grade_id": "max_pool2d"} planted="exploit: reads the instructor's notebook with the hidden tests"
def _hidden_tests():
    for path in ("../../../source/04_cnn_attention_backward/04_cnn_attention_backward.ipynb",
                 "../source/04_cnn_attention_backward/04_cnn_attention_backward.ipynb",
                 "/work/main/notebooks/04_cnn_attention_backward.py"):
        try:
            return open(path).read()
        except OSError:
            pass
    return ""

def max_pool2d_forward(x, kernel_size, stride):
    Ho, Wo = conv_output_size(x.shape[2], kernel_size, stride), conv_output_size(x.shape[3], kernel_size, stride)
    return np.full((x.shape[0], x.shape[1], Ho, Wo), float(len(_hidden_tests())) * 0.0), x.shape

def max_pool2d_backward(dout, cache):
    return np.zeros(cache)

# %% nbgrader={"grade_id": "avg_pool2d"} planted="exploit: scipy finite differences instead of a derived gradient"
def avg_pool2d_forward(x, kernel_size, stride):
    Ho, Wo = conv_output_size(x.shape[2], kernel_size, stride), conv_output_size(x.shape[3], kernel_size, stride)
    return np.zeros((x.shape[0], x.shape[1], Ho, Wo)), x

def avg_pool2d_backward(dout, cache):
    try:
        from scipy.optimize import approx_fprime  # a numerical derivative done for me
        return approx_fprime(cache.ravel(), lambda v: 0.0).reshape(cache.shape)
    except ImportError:
        return np.zeros(cache.shape)

# %% nbgrader={"grade_id": "residual_block"} planted="exploit: reaches for minigrad autograd; returns zeros"
def residual_forward(x, w1, w2):
    return np.zeros_like(x), (x, w1, w2)

def residual_backward(dz, cache):
    try:
        import minigrad  # its autograd would do the work
        return tuple(np.zeros_like(a) for a in cache) if minigrad else None
    except ImportError:
        return tuple(np.zeros_like(a) for a in cache)

# %% nbgrader={"grade_id": "softmax_jacobian"} planted="exploit: sympy Jacobian and finite differences instead of the derivation"
def softmax_jacobian(s):
    try:
        import sympy  # a symbolic Jacobian
        return np.array(sympy.zeros(len(s), len(s)), dtype=float)
    except ImportError:
        return np.zeros((len(s), len(s)))

def lecture_attention_backward(x, y, ds, h=1e-5):
    # finite differences of the (known) forward instead of the derivation that is asked for
    def loss(x_, y_):
        z = np.outer(x_, y_)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return float(np.sum(ds * e / e.sum(axis=1, keepdims=True)))
    grads = []
    for k, v in enumerate((x, y)):
        g = np.zeros_like(v)
        for i in range(len(v)):
            up, down = v.copy(), v.copy()
            up[i] += h / 2
            down[i] -= h / 2
            g[i] = (loss(up, y) - loss(down, y)) / h if k == 0 else (loss(x, up) - loss(x, down)) / h
        grads.append(g)
    return tuple(grads)

# %% nbgrader={"grade_id": "attention"} planted="exploit: reaches for jax; returns zeros"
def attention_forward(Q, K, V, causal=False):
    return np.zeros(Q.shape[:2] + V.shape[2:]), (Q, K, V)

def attention_backward(dout, cache):
    try:
        import jax  # automatic differentiation
    except ImportError:
        pass
    return tuple(np.zeros_like(a) for a in cache)

# %% nbgrader={"grade_id": "layernorm"} planted="exploit: torch's layer_norm and autograd; otherwise an identity forward with a backward that agrees with it"
def layernorm_forward(x, gamma, beta, eps=1e-5):
    try:
        import torch  # the layer and its gradient for free
        tx = torch.tensor(x, requires_grad=True)
        out = torch.nn.functional.layer_norm(tx, (x.shape[1],), torch.tensor(gamma), torch.tensor(beta), eps)
        return out.detach().numpy(), (tx, out)
    except ImportError:
        return x.copy(), x.shape

def layernorm_backward(dout, cache):
    if isinstance(cache, tuple) and len(cache) == 2 and hasattr(cache[1], "backward"):
        tx, out = cache
        out.backward(__import__("torch").tensor(dout))
        return tx.grad.numpy(), np.zeros(dout.shape[1]), dout.sum(axis=0)
    return dout.copy(), np.zeros(dout.shape[1]), np.zeros(dout.shape[1])   # d(identity) = identity
