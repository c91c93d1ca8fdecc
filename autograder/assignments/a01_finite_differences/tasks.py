"""Task specs of assignment 01, finite differences.

Conventions follow the lecture: forward (f(x+h) - f(x)) / h, backward (f(x) - f(x-h)) / h and
central (f(x + h/2) - f(x - h/2)) / h. References for the difference quotients are the formulas
evaluated here; references for gradients are exact, from torch autograd applied to the same
expression (``sandbox.py``). The hand-written gradients handed to the
student's gradient_check (right, or with a classic bug) are computed here too: only their values
at the case's x enter the sandbox, never a function or the name of the bug.
"""
import numpy as np

from ...judging.compare import Verdict, compare_values, rel_error
from . import sandbox as functions
from .sandbox import MLP_PARAMETERS
from ...judging.choice import choice_tasks
from ...judging.spec import NO_SHORTCUTS, Assignment, Case, Check, Task, scalar

NO_LIBRARIES = NO_SHORTCUTS  # the whole point of this notebook is computing it yourself


def smooth_mix_grad(x, a, M):
    """Hand-derived NumPy gradient of functions.smooth_mix, shape of x."""
    flat = x.reshape(-1)
    quadratic = (0.5 * (M + M.T) @ flat).reshape(x.shape)
    return a * np.cos(x) + quadratic + (1.0 - np.tanh(x.sum()) ** 2)


def log_sum_exp_grad(x, a):
    """Hand-derived NumPy gradient of functions.log_sum_exp, shape of x."""
    z = a * x
    weights = np.exp(z - z.max())
    return a * weights / weights.sum()


VECTOR_GRADIENTS = {"smooth_mix": smooth_mix_grad, "log_sum_exp": log_sum_exp_grad}

# Deliberately broken gradients for the gradient-checker exercise: each maps a correct gradient
# g (and the input x) to a classic mistake.
GRADIENT_BUGS = {
    "correct": lambda g, x: g,
    "doubled": lambda g, x: 2.0 * g,
    "wrong_sign": lambda g, x: -g,
    "transposed": lambda g, x: g.T.copy(),
    "one_entry_off": lambda g, x: g + np.eye(1, g.size, g.size // 2).reshape(g.shape) * 0.1,
}


def _claimed_case(case, bug):
    """A gradient_check case: the function's hand-written gradient at x with `bug` applied."""
    extra = {k: v for k, v in case.arrays.items() if k in ("a", "M")}
    x = case.arrays["x"]
    claimed = GRADIENT_BUGS[bug](VECTOR_GRADIENTS[case.params["f"]](x, **extra), x)
    return Case(dict(case.arrays, claimed=np.asarray(claimed, dtype=np.float64)),
                {"kind": "gradient_check", "f": case.params["f"]})

# Domains where each scalar test function is smooth and well away from singularities.
DOMAINS = {"sin3": (-1.5, 1.5), "cubic": (-2.0, 2.0), "lecture": (0.0, 2.0),
           "softplus": (-2.0, 2.0), "exp_half": (-2.0, 2.0)}


def _quotients(case):
    """Every difference quotient a student might compute for this case, by name."""
    f, x, h = functions.scalar_function(case.params["f"]), float(case.arrays["x"]), float(case.arrays["h"])
    return {
        "forward": (f(x + h) - f(x)) / h,
        "backward": (f(x) - f(x - h)) / h,
        "central": (f(x + h / 2) - f(x - h / 2)) / h,
        "central_2h": (f(x + h) - f(x - h)) / (2 * h),
        "central_full_h": (f(x + h) - f(x - h)) / h,
        "forward_undivided": f(x + h) - f(x),
    }


def _scalar_cases(rng, hidden):
    if not hidden:
        return [Case({"x": scalar(0.5), "h": scalar(1e-3)}, {"f": "sin3"}),
                Case({"x": scalar(1.0), "h": scalar(1e-2)}, {"f": "lecture"}),
                Case({"x": scalar(2.0), "h": scalar(0.1)}, {"f": "cubic"})]
    cases = []
    for name in list(DOMAINS) * 2:
        low, high = DOMAINS[name]
        x, h = rng.uniform(low, high), 10 ** rng.uniform(-3.0, -0.7)
        cases.append(Case({"x": scalar(x), "h": scalar(h)}, {"f": name}))
    return cases


MESSAGES = {
    "forward": "you computed the forward difference (f(x+h) - f(x)) / h instead",
    "backward": "you computed the backward difference (f(x) - f(x-h)) / h instead",
    "central": "you computed the central difference (f(x+h/2) - f(x-h/2)) / h instead",
    "central_2h": ("you used the points x+h and x-h divided by 2h: that is a central difference with "
                   "step 2h; ours uses x+h/2 and x-h/2 and divides by h"),
    "central_full_h": ("you used the points x+h and x-h but divided by h: the points are 2h apart, "
                       "so this is twice the slope; use x+h/2 and x-h/2"),
    "forward_undivided": "you did not divide the difference by h",
}


def _quotient_task(kind, grade_id, title):
    def reference(case):
        return {"value": scalar(_quotients(case)[kind])}

    def variants(case):
        values = _quotients(case)
        return {name: (MESSAGES[name], {"value": scalar(value)})
                for name, value in values.items() if name != kind}

    return Task(
        grade_id=grade_id, title=title, points=2, answer_cells=(f"{kind}_difference",),
        functions=(f"{kind}_difference",), call="difference_quotient",
        make_cases=_scalar_cases, reference=reference, variants=variants,
        checks=(Check("value of the difference quotient", ("value",), weight=1, rtol=1e-8),),
        forbidden=NO_LIBRARIES, timeout=5, short_name=kind)


def _vector_case(rng, shape, name):
    x = rng.normal(size=shape)
    arrays = {"x": x, "a": rng.normal(size=shape)}
    if name == "smooth_mix":
        n = int(np.prod(shape))
        arrays["M"] = rng.normal(size=(n, n)) / max(1, n)
    return Case(arrays, {"f": name})


def _exact_gradient(case):
    """Exact gradient of the case's named function at x, by torch autograd."""
    import torch

    fn = functions.VECTOR_FUNCTIONS[case.params["f"]]
    tensors = {k: torch.tensor(v, dtype=torch.float64) for k, v in case.arrays.items() if k in ("a", "M")}
    x = torch.tensor(case.arrays["x"], dtype=torch.float64, requires_grad=True)
    fn(torch, x, **tensors).backward()
    return x.grad.numpy().copy()


def _gradient_cases(rng, hidden):
    if not hidden:
        fixed = np.random.default_rng(2024)
        return [Case({"x": np.array([0.5, -1.0, 2.0]), "a": np.array([1.0, 2.0, -1.0]),
                      "M": np.eye(3) * 0.5}, {"f": "smooth_mix"}),
                _vector_case(fixed, (2, 3), "log_sum_exp")]
    shapes = [(), (7,), (3, 4), (2, 3, 2), (1, 6), (5, 1)]
    return [_vector_case(rng, shape, name) for shape in shapes for name in ("smooth_mix", "log_sum_exp")]


ALL_AT_ONCE = ("every entry equals the change of f when all coordinates move together: perturb one "
               "coordinate at a time (x + h/2 * e_i)")


def _gradient_values(reference, outputs, case):
    """The gradient matches, and f was evaluated at least once per entry of x (plus one): the
    exercise is a numerical gradient, not a formula for this particular f. (Shipped to the
    student's kernel as source: the known wrong answer is made from the reference here.)"""
    exact = reference["grad"]
    variants = {"all_at_once": (ALL_AT_ONCE, np.full_like(exact, exact.sum()))}
    verdict = compare_values(exact, outputs.get("grad"), what="the gradient", rtol=1e-6,
                             diagnosis={"variants": variants})
    calls, needed = outputs.get("f_calls"), case.arrays["x"].size + 1
    if verdict.passed and (calls is None or calls.shape != () or float(calls) < needed):
        shown = "?" if calls is None or calls.shape != () else f"{float(calls):g}"
        return Verdict(False, f"your numerical_gradient evaluated f {shown} times for an x with "
                              f"{case.arrays['x'].size} entries; a finite-difference gradient needs at "
                              f"least {needed} (two per entry for a central difference), so this "
                              f"gradient was not computed numerically")
    return verdict


NUMERICAL_GRADIENT = Task(
    grade_id="test_numerical_gradient",
    title="numerical_gradient(f, x) for arrays of any shape",
    points=5, answer_cells=("numerical_gradient",), functions=("numerical_gradient",),
    call="numerical_gradient", make_cases=_gradient_cases,
    reference=lambda case: {"grad": _exact_gradient(case), "x_after": case.arrays["x"].copy()},
    checks=(
        Check("gradient values", ("grad",), weight=4, rtol=1e-6, compare=_gradient_values,
              hint="use the central difference with a step around 1e-5; an error near 1e-5 is what a "
                   "forward difference gives, one near 1e-3 or above means a real bug."),
        Check("x is left unchanged", ("x_after",), weight=1, exact=True,
              hint="save x[i] before perturbing it and put that saved value back afterwards; adding "
                   "and subtracting h does not always give back exactly the same float."),
    ),
    forbidden=NO_LIBRARIES, timeout=10, short_name="num_grad")


def _checker_cases(rng, hidden):
    if not hidden:
        return [
            Case({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([1.0, 2.0, 3.3])}, {"kind": "relative_error"}),
            Case({"a": np.zeros((2, 2)), "b": np.zeros((2, 2))}, {"kind": "relative_error"}),
            Case({"a": np.array([[1e-9]]), "b": np.array([[-1e-9]])}, {"kind": "relative_error"}),
            _claimed_case(_vector_case(np.random.default_rng(7), (3, 3), "smooth_mix"), "correct"),
            _claimed_case(_vector_case(np.random.default_rng(8), (4,), "log_sum_exp"), "doubled"),
        ]
    cases = []
    for shape in [(5,), (3, 4), (2, 2, 3), ()]:
        a = rng.normal(size=shape) * 10 ** rng.uniform(-3, 3)
        cases.append(Case({"a": a, "b": a + rng.normal(size=shape) * 10 ** rng.uniform(-6, 0) * np.abs(a).max()},
                          {"kind": "relative_error"}))
    cases.append(Case({"a": rng.normal(size=(4,)) * 1e-10, "b": rng.normal(size=(4,)) * 1e-10},
                      {"kind": "relative_error"}))
    same = rng.normal(size=(3, 2))
    cases.append(Case({"a": same, "b": same.copy()}, {"kind": "relative_error"}))
    for bug in GRADIENT_BUGS:
        name = "log_sum_exp" if bug == "one_entry_off" else "smooth_mix"
        shape = (3, 3) if bug == "transposed" else tuple(rng.integers(2, 4, size=2))
        cases.append(_claimed_case(_vector_case(rng, shape, name), bug))
    return cases


def _checker_reference(case):
    if case.params["kind"] == "relative_error":
        return {"rel": scalar(rel_error(case.arrays["a"], case.arrays["b"]))}
    return {"check": scalar(rel_error(case.arrays["claimed"], _exact_gradient(case)))}


def _checker_variants(case):
    if case.params["kind"] != "relative_error":
        return {}
    a, b = case.arrays["a"], case.arrays["b"]
    scale = np.maximum(1e-8, np.abs(a) + np.abs(b))
    return {
        "elementwise": ("you took the largest of the entrywise relative errors; the course's relative "
                        "error divides the largest difference by the largest |a| + |b|",
                        {"rel": scalar(np.max(np.abs(a - b) / scale)) if a.size else scalar(0.0)}),
        "no_floor": ("you left out the floor 1e-8 in the denominator", {"rel": scalar(
            np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b)) if np.any(a) or np.any(b) else np.nan)}),
    }


def _compare_check(reference, outputs, case):
    """gradient_check must say "tiny" for a correct gradient and match the error of a buggy one."""
    expected, got = float(reference["check"]), outputs.get("check")
    if got is None or got.shape != ():
        return Verdict(False, "gradient_check should return one number, the relative error")
    got = float(got)
    if expected < 1e-7:
        if 0.0 <= got < 1e-6:
            return Verdict(True)
        return Verdict(False, f"the gradient given was correct, so the relative error should be below "
                       f"1e-6, but you returned {got:.3g}")
    if abs(got - expected) <= 1e-3 * expected:
        return Verdict(True)
    return Verdict(False, f"the gradient given was wrong; its relative error is {expected:.4g} but you "
                   f"returned {got:.4g}")


GRADIENT_CHECK = Task(
    grade_id="test_gradient_check",
    title="relative_error(a, b) and gradient_check(f, grad_f, x)",
    points=4, answer_cells=("numerical_gradient", "gradient_check"),
    functions=("relative_error", "gradient_check"), call="gradient_checker",
    make_cases=_checker_cases, reference=_checker_reference, variants=_checker_variants,
    checks=(
        Check("relative_error", ("rel",), weight=2, rtol=1e-9,
              hint="max|a - b| / max(1e-8, max(|a| + |b|)), with the maxima over all entries."),
        Check("gradient_check", ("check",), weight=2, compare=_compare_check,
              hint="compare grad_f(x) with numerical_gradient(f, x) using relative_error."),
    ),
    forbidden=NO_LIBRARIES, timeout=10, short_name="grad_check")


def _network_case(rng, n, d, hidden_units, k):
    while True:
        arrays = {"W1": rng.normal(size=(hidden_units, d)), "b1": rng.normal(size=hidden_units) * 0.5,
                  "W2": rng.normal(size=(k, hidden_units)), "b2": rng.normal(size=k) * 0.5,
                  "X": rng.normal(size=(n, d)), "Y": rng.normal(size=(n, k))}
        # keep every pre-activation away from ReLU's kink, where finite differences are unreliable
        if np.min(np.abs(arrays["X"] @ arrays["W1"].T + arrays["b1"])) > 0.05:
            return Case(arrays)


def _network_cases(rng, hidden):
    if not hidden:
        # the lecture's example: input x = -1, target y = 0.5, hidden biases -0.5
        lecture = {"W1": np.array([[-1.0], [1.0]]), "b1": np.array([-0.5, -0.5]),
                   "W2": np.array([[0.8, -0.6]]), "b2": np.array([0.0])}
        return [Case(dict(lecture, X=np.array([[-1.0]]), Y=np.array([[0.5]]))),
                Case(dict(lecture, X=np.array([[-1.0], [1.0]]), Y=np.array([[0.5], [0.5]])))]
    sizes = [(3, 2, 4, 1), (5, 3, 6, 2), (4, 4, 3, 3), (2, 2, 5, 2)]
    return [_network_case(rng, *size) for size in sizes]


def _network_reference(case):
    import torch

    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in MLP_PARAMETERS)
               for k, v in case.arrays.items()}
    functions.mlp_loss(torch, **tensors).backward()
    ref = {f"grad_{k}": tensors[k].grad.numpy().copy() for k in MLP_PARAMETERS}
    ref.update({f"after_{k}": case.arrays[k].copy() for k in MLP_PARAMETERS})
    return ref


NETWORK_GRADIENT = Task(
    grade_id="test_network_gradient",
    title="mlp_numerical_gradients(params, X, Y): a network's loss gradient by finite differences",
    points=5, answer_cells=("network_gradient",), functions=("mlp_numerical_gradients",),
    call="network_gradient", make_cases=_network_cases, reference=_network_reference,
    diagnosis_context=lambda case: {"batch_size": case.arrays["X"].shape[0]},
    checks=(
        Check("gradient of every parameter", tuple(f"grad_{k}" for k in MLP_PARAMETERS), weight=4, rtol=1e-6,
              hint="perturb one entry of one parameter array at a time, evaluate mlp_loss on the "
                   "perturbed parameters, and use the central difference."),
        Check("parameters are left unchanged", tuple(f"after_{k}" for k in MLP_PARAMETERS), weight=1,
              exact=True, hint="restore every entry you perturb to its saved value."),
    ),
    forbidden=NO_LIBRARIES, timeout=15, short_name="network")


QUESTIONS = choice_tasks(__file__, forbidden=NO_LIBRARIES)  # questions.toml


ASSIGNMENT = Assignment(
    assignment_id="01_finite_differences", teaches=("numerical_derivatives",),
    tasks=(
        _quotient_task("forward", "test_forward_difference", "forward_difference(f, x, h)"),
        _quotient_task("backward", "test_backward_difference", "backward_difference(f, x, h)"),
        _quotient_task("central", "test_central_difference", "central_difference(f, x, h)"),
        NUMERICAL_GRADIENT,
        GRADIENT_CHECK,
        NETWORK_GRADIENT,
        *QUESTIONS,
    ),
)
