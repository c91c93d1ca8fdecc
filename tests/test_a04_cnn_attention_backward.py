"""Assignment 04 end to end: samples, baselines, exploits and the no-shortcut case in one batch.

One graded batch (``graded_once``) holds the bundled samples, a submission of zeros, one whose
every backward is central differences of its own forward, and a torch one. Then: the cases' shapes and values, the
notebook's own self-check on right and wrong functions, and the source notebook run top to
bottom.
"""
import re
import os
import textwrap
import time

import jupytext
import numpy as np
import pytest

from autograder.course import samples
from helpers_exploits import submit_exploits
from autograder_course import visible_check as check
from notebook_kernel import run_source_notebook
from autograder.assignments import get_assignment
from autograder.assignments.a04_cnn_attention_backward.sandbox import lecture_scores_softmax
from autograder.course.layout import NOTEBOOKS

from autograder_course import assert_expected_sample, course_template, graded_results, task_scores  # noqa: F401

ASSIGNMENT = "04_cnn_attention_backward"
SPEC = get_assignment(ASSIGNMENT)
TASKS = [t.grade_id for t in SPEC.tasks]
NOTEBOOK = os.path.join(NOTEBOOKS, f"{ASSIGNMENT}.py")

# Expected (scores per task in TASKS order, named mistakes) of the bundled samples.
SAMPLES = {
    # conv2d_backward and attention are worth 4 points (5 before layer norm's 2 were added)
    "ada_reference": ([3, 4, 2, 4, 2, 4, 3, 4, 2, 1], set()),
    "ben_untouched": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], set()),
    "chen": ([3, 2, 1, 1, 2, 1, 3, 1.3333, 1, 1],
             {"kernel_not_flipped", "half_at_kink", "every_entry", "scale_missing_in_backward",
              "variance_path_missing"}),
    "dana": ([0, 0.6667, 1, 1, 1, 0, 0, 1.3333, 2, 1],
             {"flipped_in_forward", "passes_at_zero", "every_maximum", "not_divided_by_window",
              "jacobian_diagonal_only", "softmax_jacobian_diagonal_only"}),
    "emil": ([3, 2, 2, 1, 1, 4, 3, 0.6667, 2, 1],
             {"padding_not_cropped", "argmax_wrong_axes", "overwrite_not_accumulate", "dq_dk_swapped",
              "dv_transposed"}),
    "fay": ([3, 0.6667, 2, 1, 1, 2, 3, 0.6667, 2, 1],
            {"stride_ignored_in_backward", "half_at_ties", "divided_by_k", "skip_path_missing",
             "causal_mask_missing_in_backward"}),
    "mallory": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], set()),
}

ZEROS = {
    "conv2d_forward": """
        def conv2d_forward(x, w, b, stride=1, padding=0):
            Ho = conv_output_size(x.shape[2], w.shape[2], stride, padding)
            Wo = conv_output_size(x.shape[3], w.shape[3], stride, padding)
            return np.zeros((x.shape[0], w.shape[0], Ho, Wo)), (x, w, b)
    """,
    "conv2d_backward": """
        def conv2d_backward(dout, cache):
            return tuple(np.zeros_like(a) for a in cache)
    """,
    "relu": """
        def relu_forward(x):
            return np.zeros_like(x), x

        def relu_backward(dout, cache):
            return np.zeros_like(cache)
    """,
    "max_pool2d": """
        def max_pool2d_forward(x, kernel_size, stride):
            Ho, Wo = conv_output_size(x.shape[2], kernel_size, stride), conv_output_size(x.shape[3], kernel_size, stride)
            return np.zeros(x.shape[:2] + (Ho, Wo)), x

        def max_pool2d_backward(dout, cache):
            return np.zeros_like(cache)
    """,
    "residual_block": """
        def residual_forward(x, w1, w2):
            return np.zeros_like(x), (x, w1, w2)

        def residual_backward(dz, cache):
            return tuple(np.zeros_like(a) for a in cache)
    """,
    "softmax_jacobian": """
        def softmax_jacobian(s):
            return np.zeros((len(s), len(s)))

        def lecture_attention_backward(x, y, ds):
            return np.zeros_like(x), np.zeros_like(y)
    """,
    "attention": """
        def attention_forward(Q, K, V, causal=False):
            return np.zeros(Q.shape[:2] + V.shape[2:]), (Q, K, V)

        def attention_backward(dout, cache):
            return tuple(np.zeros_like(a) for a in cache)
    """,
}
ZEROS["avg_pool2d"] = ZEROS["max_pool2d"].replace("max_pool2d", "avg_pool2d")
ZEROS["layernorm"] = """
    def layernorm_forward(x, gamma, beta, eps=1e-5):
        return np.zeros_like(x), (x, gamma)

    def layernorm_backward(dout, cache):
        return tuple(np.zeros_like(a) for a in (cache[0], cache[1], cache[1]))
"""

# The body of a backward by central differences: loss() is the forward's output against dout,
# `arrays` the inputs it perturbs one entry at a time (in place, restored after).
CENTRAL_DIFFERENCES = """
        grads = []
        for array in arrays:
            grad = np.zeros(array.shape)
            for index in np.ndindex(array.shape):
                saved = array[index]
                array[index] = saved + h / 2
                plus = loss()
                array[index] = saved - h / 2
                minus = loss()
                array[index] = saved
                grad[index] = (plus - minus) / h
            grads.append(grad)
        return tuple(grads)
"""

# conv2d_backward by central differences of the student's own (correct) forward: right to about
# 1e-10, but 2 forward passes per input, and the large hidden case has ~41k inputs.
FINITE_DIFFERENCES = """
    def conv2d_backward(dout, cache, h=1e-5):
        x, w, b, stride, padding = cache[:5]
        loss = lambda: float(np.sum(dout * conv2d_forward(x, w, b, stride, padding)[0]))
        arrays = (x, w, b)
""" + CENTRAL_DIFFERENCES

# layernorm_backward by central differences of the student's own (correct) forward: two forward
# passes for each of BIG_LAYERNORM's inputs.
LAYERNORM_FINITE_DIFFERENCES = """
    def layernorm_forward(x, gamma, beta, eps=1e-5):
        d = x - x.mean(axis=1, keepdims=True)
        out = gamma * d / np.sqrt((d * d).mean(axis=1, keepdims=True) + eps) + beta
        return out, (x, gamma, beta, eps)

    def layernorm_backward(dout, cache, h=1e-5):
        x, gamma, beta, eps = cache
        loss = lambda: float(np.sum(dout * layernorm_forward(x, gamma, beta, eps)[0]))
        arrays = (x, gamma, beta)
""" + CENTRAL_DIFFERENCES

# The other derived gradients by central differences, each appended to the reference's answer cell
# (a later definition replaces the earlier one) so that only the backward changes; where the
# reference's cache lacks what the forward needs (avg pooling keeps x's shape, attention no
# `causal`), a forward keeping it wraps the reference's.
ONE_GRADIENT = CENTRAL_DIFFERENCES.replace("return tuple(grads)", "return grads[0]")
OTHER_FINITE_DIFFERENCES = {
    "relu": """
    def relu_backward(dout, cache, h=1e-5):
        x = cache
        loss = lambda: float(np.sum(dout * relu_forward(x)[0]))
        arrays = (x,)
""" + ONE_GRADIENT,
    "max_pool2d": """
    def max_pool2d_backward(dout, cache, h=1e-5):
        x, k, stride = cache
        loss = lambda: float(np.sum(dout * max_pool2d_forward(x, k, stride)[0]))
        arrays = (x,)
""" + ONE_GRADIENT,
    "avg_pool2d": """
    reference_avg_pool2d_forward = avg_pool2d_forward

    def avg_pool2d_forward(x, kernel_size, stride):
        return reference_avg_pool2d_forward(x, kernel_size, stride)[0], (x, kernel_size, stride)

    def avg_pool2d_backward(dout, cache, h=1e-5):
        x, k, stride = cache
        loss = lambda: float(np.sum(dout * avg_pool2d_forward(x, k, stride)[0]))
        arrays = (x,)
""" + ONE_GRADIENT,
    "softmax_jacobian": """
    def lecture_attention_backward(x, y, ds, h=1e-5):
        x, y = x.copy(), y.copy()

        def loss():
            z = np.outer(x, y)
            s = np.exp(z - z.max(axis=1, keepdims=True))
            return float(np.sum(ds * s / s.sum(axis=1, keepdims=True)))
        arrays = (x, y)
""" + CENTRAL_DIFFERENCES,
    "attention": """
    reference_attention_forward = attention_forward

    def attention_forward(Q, K, V, causal=False):
        return reference_attention_forward(Q, K, V, causal)[0], (Q, K, V, causal)

    def attention_backward(dout, cache, h=1e-5):
        Q, K, V, causal = cache
        loss = lambda: float(np.sum(dout * attention_forward(Q, K, V, causal)[0]))
        arrays = (Q, K, V)
""" + CENTRAL_DIFFERENCES,
}

LAYERNORM_TORCH = """
    def layernorm_forward(x, gamma, beta, eps=1e-5):
        import torch
        tensors = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
        out = torch.nn.functional.layer_norm(tensors[0], (x.shape[1],), tensors[1], tensors[2], eps)
        return out.detach().numpy(), (tensors, out)

    def layernorm_backward(dout, cache):
        import torch
        tensors, out = cache
        out.backward(torch.tensor(dout))
        return tuple(t.grad.numpy() for t in tensors)
"""

TORCH = """
    def conv2d_backward(dout, cache):
        import torch
        x, w, b, stride, padding = (torch.tensor(v, requires_grad=True) if isinstance(v, np.ndarray) else v
                                    for v in cache)
        torch.nn.functional.conv2d(x, w, b, stride=stride, padding=padding).backward(torch.tensor(dout))
        return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()
"""


def hand_in(course, source, release):
    """The assignment's one graded batch (CLASS_HAND_IN): samples, attacks, the exploits."""
    for student in samples.sample_students(ASSIGNMENT):
        samples.submit(course, ASSIGNMENT, student, samples.sample_notebook(ASSIGNMENT, student, source, release))
    reference = samples.reference_answers(source)
    extra = {"zeros": {k: textwrap.dedent(v) for k, v in ZEROS.items()},
             "x_finite_differences": {**reference, "conv2d_backward": textwrap.dedent(FINITE_DIFFERENCES),
                                      "layernorm": textwrap.dedent(LAYERNORM_FINITE_DIFFERENCES),
                                      **{cell: reference[cell] + textwrap.dedent(code)
                                         for cell, code in OTHER_FINITE_DIFFERENCES.items()}},
             "x_torch": {**reference, "conv2d_backward": textwrap.dedent(TORCH),
                         "layernorm": textwrap.dedent(LAYERNORM_TORCH)}}
    for student, answers in extra.items():
        samples.submit(course, ASSIGNMENT, student, samples.student_notebook(release, answers))
    submit_exploits(ASSIGNMENT, course, source, release)  # helpers_exploits.py


# the batch test_autograder_exploits reads too (graded once per run, whoever asks first)
CLASS_HAND_IN = hand_in


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_template):  # noqa: F811
    return graded_results(tmp_path_factory, course_template, ASSIGNMENT, hand_in)


def test_the_spec_has_enough_tasks_and_points():
    assert len(SPEC.tasks) >= 7 and 25 <= sum(t.points for t in SPEC.tasks) <= 30
    assert all(t.short_name for t in SPEC.tasks)


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_samples_get_expected_scores_and_named_mistakes(graded, student):
    assert_expected_sample(graded[student], *SAMPLES[student])


def test_zeros_score_nothing_and_mallory_gains_nothing_over_them(graded):
    # Zero forwards with zero gradients are "consistent with their own forward": the probe must
    # not turn that into points (see PROBE_GRANTS in the spec).
    assert task_scores(graded["zeros"]) == [0] * len(TASKS)
    # the question is answered honestly (her sample keeps the reference's letter): no exploit there
    assert all(m <= z for t, m, z in zip(TASKS, task_scores(graded["mallory"]), task_scores(graded["zeros"]))
               if not t.startswith("test_choice_"))


# the derived gradients: each task's hidden cases include one that finite differences cannot finish
# within the task's limit (its BIG_* case; the residual block calls conv2d_backward)
DERIVED = ("test_conv2d_backward", "test_relu", "test_max_pool2d", "test_avg_pool2d", "test_residual_block",
           "test_softmax_jacobian", "test_attention", "test_layernorm")


def test_finite_differences_run_out_of_time_on_every_derived_gradient_while_the_reference_passes(graded):
    result = graded["x_finite_differences"]
    for grade_id in DERIVED:
        task = result.task(grade_id)
        assert task.score == 0 and "time limit" in task.error, (grade_id, task.error)
    for task in result.tasks:  # the forward and the question are the reference's and keep their points
        if task.grade_id not in DERIVED:
            assert task.score == task.points, task.grade_id
    reference = graded["ada_reference"]
    assert all(reference.task(grade_id).score == reference.task(grade_id).points for grade_id in DERIVED)
    # the figures behind the comments in tasks.py, printed, not asserted (CPU time is noisy on a
    # shared machine): central differences need 2 forwards per input
    ns = solution_namespace()
    forwards = {
        "test_conv2d_backward": lambda a, p: ns["conv2d_forward"](a["x"], a["w"], a["b"], p["stride"], p["padding"]),
        "test_relu": lambda a, p: ns["relu_forward"](a["x"]),
        "test_max_pool2d": lambda a, p: ns["max_pool2d_forward"](a["x"], p["kernel_size"], p["stride"]),
        "test_avg_pool2d": lambda a, p: ns["avg_pool2d_forward"](a["x"], p["kernel_size"], p["stride"]),
        "test_residual_block": lambda a, p: ns["residual_forward"](a["x"], a["w1"], a["w2"]),
        "test_softmax_jacobian": lambda a, p: (lecture_scores_softmax(a["x"], a["y"]),),
        "test_attention": lambda a, p: ns["attention_forward"](a["Q"], a["K"], a["V"], p["causal"]),
        "test_layernorm": lambda a, p: ns["layernorm_forward"](a["x"], a["gamma"], a["beta"], p["eps"]),
    }
    for grade_id in DERIVED:
        case = big_case(grade_id, 0)
        a, p = case.arrays, case.params
        seconds = []
        for _ in range(3):
            started = time.process_time()
            float(np.sum(a["dout"] * forwards[grade_id](a, p)[0]))
            seconds.append(time.process_time() - started)
        n = sum(v.size for k, v in a.items() if k != "dout" and not k.startswith("probe_"))
        print(f"\n{grade_id}: {2 * n} forwards of {min(seconds) * 1e3:.2f} ms = {2 * n * min(seconds):.1f} s")


def big_case(grade_id, seed):
    """The hidden case of `grade_id` sized beyond finite differences (tasks.BIG_*), from one draw."""
    def inputs(case):
        return sum(a.size for k, a in case.arrays.items() if k not in ("dout",) and not k.startswith("probe_"))
    return max(hidden_cases(grade_id, seed), key=inputs)


def test_every_draw_holds_each_derived_gradients_case_beyond_finite_differences():
    # the sizes whose finite-difference cost is measured in tasks.py's comments (and graded above):
    # every draw has them, not only the one batch the test grades
    from autograder.assignments.a04_cnn_attention_backward import tasks

    for seed in range(3):
        shapes = {
            "test_conv2d_backward": big_case("test_conv2d_backward", seed).arrays["x"].shape
            == tasks.BIG_CONV[:2] + tasks.BIG_CONV[3:5],
            "test_relu": big_case("test_relu", seed).arrays["x"].shape == tasks.BIG_RELU,
            "test_residual_block": big_case("test_residual_block", seed).arrays["w1"].shape
            == (tasks.BIG_RESIDUAL[2], tasks.BIG_RESIDUAL[1]) + tasks.BIG_RESIDUAL[5:6] * 2,
            "test_softmax_jacobian": big_case("test_softmax_jacobian", seed).arrays["dout"].shape
            == tasks.BIG_SOFTMAX,
            "test_attention": big_case("test_attention", seed).arrays["Q"].shape == tasks.BIG_ATTENTION[:2]
            + tasks.BIG_ATTENTION[3:4] and big_case("test_attention", seed).params["causal"],
            "test_layernorm": big_case("test_layernorm", seed).arrays["x"].shape == tasks.BIG_LAYERNORM,
        }
        for kind in ("max", "avg"):
            case = big_case(f"test_{kind}_pool2d", seed)
            shapes[f"test_{kind}_pool2d"] = (case.arrays["x"].shape, case.params["kernel_size"],
                                              case.params["stride"]) == tasks.BIG_POOL[kind]
        assert shapes == {grade_id: True for grade_id in DERIVED}, seed


def test_torch_is_out_of_reach_of_graded_code(graded):
    for grade_id in ("test_conv2d_backward", "test_layernorm"):
        task = graded["x_torch"].task(grade_id)
        assert task.score == 0
        assert "torch may not be used" in " ".join([task.error] + [c.message for c in task.checks]), grade_id


def test_mallorys_layer_norm_pair_agrees_with_itself_and_earns_nothing(graded):
    # identity forward, identity backward: consistent with its own forward, wrong against torch
    layernorm = graded["mallory"].task("test_layernorm")
    assert layernorm.score == 0 and not any(c.passed for c in layernorm.checks)


# ---- the cases -----------------------------------------------------------------------------------
def hidden_cases(grade_id, seed):
    task = next(t for t in SPEC.tasks if t.grade_id == grade_id)
    return task.make_cases(np.random.default_rng(seed), True)


@pytest.mark.parametrize("grade_id", [t.grade_id for t in SPEC.tasks if not t.grade_id.startswith("test_choice_")])
def test_hidden_cases_are_random_with_size_one_non_square_and_random_upstream_gradients(grade_id):
    first, second = hidden_cases(grade_id, 1), hidden_cases(grade_id, 2)
    arrays = [a for c in first for a in c.arrays.values() if a.ndim >= 1]
    assert any(1 in a.shape for a in arrays)                                   # size-1 dimensions
    assert any(a.ndim >= 2 and a.shape[-1] != a.shape[-2] for a in arrays)    # non-square
    differs = [not all(np.array_equal(x, y) for x, y in zip(c.arrays.values(), d.arrays.values()))
               for c, d in zip(first, second)]
    assert any(differs)
    for case in first:
        assert all(a.dtype == np.float64 for a in case.arrays.values())
        dout = case.arrays.get("dout")
        if dout is not None and dout.size > 1:
            assert np.std(dout) > 0.1 and not np.allclose(dout, 1.0)         # random, never all ones


def test_conv_cases_cover_kernels_strides_paddings_and_remainders():
    shapes = set()
    for seed in range(5):
        for case in hidden_cases("test_conv2d_backward", seed):
            x, w, s, p = case.arrays["x"], case.arrays["w"], case.params["stride"], case.params["padding"]
            assert 1 <= w.shape[2] <= 5 and 1 <= w.shape[3] <= 5 and 1 <= s <= 3 and 0 <= p <= 2
            shapes.add((w.shape[2] != w.shape[3], (x.shape[2] + 2 * p - w.shape[2]) % s != 0, s, p))
    assert {True, False} <= {k for k, *_ in shapes}
    assert any(rem for _, rem, _, _ in shapes) and {1, 2, 3} <= {s for *_, s, _ in shapes}
    assert {0, 1, 2} <= {p for *_, p in shapes}


def test_probed_max_pool_inputs_are_tie_free_and_windows_overlap_somewhere():
    overlapping, with_ties = False, False
    for case in hidden_cases("test_max_pool2d", 3):
        x, k, s = case.arrays["x"], case.params["kernel_size"], case.params["stride"]
        overlapping |= s < k
        if "probe_eps" not in case.arrays:
            with_ties = True
            continue
        values = np.sort(x.ravel())
        assert np.min(np.diff(values)) > 10 * float(case.arrays["probe_eps"])
    assert overlapping and with_ties


def test_layernorm_cases_cover_eps_two_features_one_row_and_rows_with_their_own_mean_and_spread():
    eps, shapes = set(), set()
    for seed in range(5):
        for case in hidden_cases("test_layernorm", seed):
            (N, D), e = case.arrays["x"].shape, case.params["eps"]
            assert D >= 2 and (D > 2 or e >= 0.01)     # no D = 1, no D = 2 with a tiny eps (docstring)
            assert case.arrays["gamma"].shape == case.arrays["beta"].shape == (D,)
            eps.add(e)
            shapes.add((N, D))
    assert {1e-5, 0.1, 1.0} <= eps and any(N == 1 for N, _ in shapes)
    # every row has its own mean and spread, so both the mean's and the variance's paths matter
    x = big_case("test_layernorm", 0).arrays["x"]
    assert np.std(x.mean(axis=1)) > 0.5 and np.std(x.std(axis=1)) > 0.1


def test_residual_cases_have_a_5x5_kernel_in_each_convolution_in_every_draw():
    # "same" padding is k // 2: only a 5x5 kernel tells it from k // 3 (3 // 2 == 3 // 3)
    for seed in range(6):
        cases = hidden_cases("test_residual_block", seed)
        assert any(c.arrays["w1"].shape[2] == 5 for c in cases) and any(c.arrays["w2"].shape[2] == 5 for c in cases)


def test_residual_pre_activations_stay_away_from_the_kink():
    from autograder.assignments.a04_cnn_attention_backward import reference as ref

    for case in hidden_cases("test_residual_block", 4):
        x, w1 = case.arrays["x"], case.arrays["w1"]
        assert np.min(np.abs(ref.conv_out(x, w1, np.zeros(w1.shape[0]), 1, w1.shape[2] // 2))) > 1e-3


# ---- the notebook's own check, in the student's kernel -------------------------------------------
def solution_namespace(replace=None):
    """The locked cells and the source notebook's answers (with `replace` {grade_id: code}) run."""
    nb = jupytext.read(NOTEBOOK)
    ns = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or (meta.get("locked") and not meta.get("grade"))):
            exec((replace or {}).get(meta["grade_id"], cell.source), ns)
    return ns


def sample_answers(student):
    return samples.sample_answers(ASSIGNMENT, student, jupytext.read(NOTEBOOK))[0]


def test_the_visible_self_check_passes_on_the_reference(capsys):
    ns = solution_namespace()
    for task in SPEC.tasks:
        check(task.grade_id, *(ns[name] for name in task.functions))
    out = " ".join(capsys.readouterr().out.split())  # coursecheck wraps its lines
    questions = [t for t in SPEC.tasks if t.grade_id.startswith("test_choice_")]
    assert len(re.findall(r"(checks pass|check passes) on this cell's inputs", out)) == len(SPEC.tasks) - len(questions)
    # a question's self-check says only that the answer is one of the letters
    assert out.count("Checked only when your notebook is graded: the right choice") == len(questions)


PADDING_MISPLACED = """
def conv2d_backward(dout, cache):
    x, w, b, stride, padding = cache
    H, W = x.shape[2:]
    kh, kw = w.shape[2:]
    Ho, Wo = dout.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dw = np.tensordot(dout, sliding_windows(x_pad, kh, kw, stride), axes=([0, 2, 3], [0, 2, 3]))
    dx_pad = np.zeros(x_pad.shape)
    for p in range(kh):
        for q in range(kw):
            dx_pad[:, :, p:p + stride * (Ho - 1) + 1:stride, q:q + stride * (Wo - 1) + 1:stride] += \\
                np.tensordot(dout, w[:, :, p, q], axes=([1], [0])).transpose(0, 3, 1, 2)
    return dx_pad[:, :, :H, :W], dw, dout.sum(axis=(0, 2, 3))
"""


# layer norm's named mistakes, each a whole answer cell (forward and backward)
LAYERNORM_FORWARD = """
def layernorm_forward(x, gamma, beta, eps=1e-5):
    d = x - x.mean(axis=1, keepdims=True)
    r = 1.0 / np.sqrt((d * d).sum(axis=1, keepdims=True) / DIVISOR + eps)
    return gamma * d * r + beta, (d * r, r, gamma)
"""
LAYERNORM_BACKWARD = """
def layernorm_backward(dout, cache):
    xhat, r, gamma = cache
    D = xhat.shape[1]
    dxhat = dout * gamma
    dx = r * (dxhat - MEAN_PATH * dxhat.mean(axis=1, keepdims=True)
              - VARIANCE_PATH * xhat * (dxhat * xhat).sum(axis=1, keepdims=True) / BACKWARD_DIVISOR)
    return dx, SUM((dout * xhat)), SUM(dout)
"""


def layernorm_answer(divisor="D", mean_path=1, variance_path=1, backward_divisor="D", total="a.sum(axis=0)"):
    forward = LAYERNORM_FORWARD.replace("DIVISOR", "(x.shape[1] - 1)" if divisor == "D - 1" else "x.shape[1]")
    backward = (LAYERNORM_BACKWARD.replace("MEAN_PATH", str(mean_path)).replace("VARIANCE_PATH", str(variance_path))
                .replace("BACKWARD_DIVISOR", f"({backward_divisor})"))
    return {"layernorm": forward + backward.replace("SUM(", "(lambda a: " + total + ")(")}


def test_the_layernorm_answer_builder_gives_the_reference_when_nothing_is_wrong(capsys):
    ns = solution_namespace(layernorm_answer())
    check("test_layernorm", ns["layernorm_forward"], ns["layernorm_backward"])
    assert re.search(r"(checks pass|check passes) on this cell's inputs", " ".join(capsys.readouterr().out.split()))


@pytest.mark.parametrize("grade_id, replace, code", [
    ("test_conv2d_backward", {"conv2d_backward": PADDING_MISPLACED}, "padding_misplaced"),
    ("test_layernorm", layernorm_answer(mean_path=0), "mean_path_missing"),
    ("test_layernorm", layernorm_answer(variance_path=0), "variance_path_missing"),
    ("test_layernorm", layernorm_answer(total="a"), "dgamma_dbeta_not_summed"),
    ("test_layernorm", layernorm_answer(divisor="D - 1", backward_divisor="D - 1"), "unbiased_variance"),
    ("test_layernorm", layernorm_answer(backward_divisor="D - 1"), "unbiased_in_backward"),
    ("test_max_pool2d", {"max_pool2d": sample_answers("chen")["max_pool2d"]}, "every_entry"),
    ("test_avg_pool2d", {"avg_pool2d": sample_answers("dana")["avg_pool2d"]}, "not_divided_by_window"),
    ("test_attention", {"attention": sample_answers("emil")["attention"]}, "dq_dk_swapped"),
], ids=["padding_misplaced", "ln_mean_path", "ln_variance_path", "ln_not_summed", "ln_unbiased",
        "ln_unbiased_in_backward", "every_entry", "not_divided", "dq_dk_swapped"])
def test_the_visible_self_check_fails_on_a_wrong_answer_and_names_the_mistake(grade_id, replace, code):
    ns = solution_namespace(replace)
    task = next(t for t in SPEC.tasks if t.grade_id == grade_id)
    with pytest.raises(AssertionError) as failure:
        check(grade_id, *(ns[name] for name in task.functions))
    assert code in str(failure.value)
    # the lecture's attention cases hand the student no forward to probe; a gradient of the wrong
    # shape (one row per example) has no direction to probe along
    if code not in ("dq_dk_swapped", "dgamma_dbeta_not_summed"):
        assert "your forward pass is" in str(failure.value).lower()  # right, or already wrong


# ---- the source notebook, top to bottom -----------------------------------------------------------
def test_the_source_notebook_runs_top_to_bottom(tmp_path):
    printed = run_source_notebook(NOTEBOOK, tmp_path, timeout=240)
    accuracy = re.search(r"validation accuracy of your CNN[^:]*: (\d\.\d+)", printed)
    assert accuracy, "the CNN section printed no accuracy"
    print(accuracy.group(0))
    assert float(accuracy.group(1)) > 0.9
