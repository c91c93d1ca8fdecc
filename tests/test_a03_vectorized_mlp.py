"""Assignment 03 (a vectorised MLP by hand) end to end: one graded batch of the sample students,
the hidden cases' shapes, the notebook's visible self-checks, and the source notebook's Run-All.
"""
import re
import time
from pathlib import Path

import jupytext
import numpy as np
import pytest

from autograder.assignments import calls as assignment_calls
from autograder.sandbox import calls
import helpers_a03_finite_differences as fd
from helpers_exploits import submit_exploits
from autograder_course import reference_namespace, visible_check as check
from notebook_kernel import run_source_notebook
from autograder.assignments import get_assignment
from autograder.course import samples

from autograder_course import assert_expected_sample, course_template, graded_results, hand_in_samples  # noqa: F401

ASSIGNMENT = "03_vectorized_mlp"
SPEC = get_assignment(ASSIGNMENT)
TASKS = [task.grade_id for task in SPEC.tasks]
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / f"{ASSIGNMENT}.py"

# Expected (scores per task in TASKS order, named mistakes) of the bundled samples.
SAMPLES = {
    "ada_reference": ([2, 2, 3, 2, 2, 3, 2, 2, 2, 2, 2, 3, 1, 1], set()),
    "ben_untouched": ([0] * 14, set()),
    # chen's train reaches 97%, but his train_step is not SGD's (his sgd_momentum keeps no velocity,
    # his bias gradient is averaged): the accuracy counts only for a loop that steps like SGD.
    # His averaged db also fails every layer of mlp_loss (only its loss passes: 1/5 of 2 points),
    # and the steps of his overfitting run (which trains with his mlp_loss), though it memorises.
    "chen": ([1.5, 2, 2.25, 2, 1.2, 3, 0.4, 1.5, 2, 2, 0, 0, 1, 1],
             {"bias_averaged", "not_finite", "velocity_not_kept", "batch_size"}),
    # dana's unsummed dlogit_max (N x C) breaks dlogits and everything below it: the six gradients
    # above logit_max pass (6 of 24 checks of backprop_ninja's 3 points). Her gradient check looks
    # at the weights only, and her transposed dW breaks the overfitting run: only the initial-loss
    # check of the sanity checks passes.
    "dana": ([1.5, 2, 0.75, 1, 0.4, 0.75, 0.4, 0.5, 0.6667, 1, 2, 0, 1, 1],
             {"transposed_dW", "softmax_diagonal", "batch_size", "only_second_use",
              "repeated_indices_overwritten", "broadcast_not_summed_logit_max", "missed_planted_bug"}),
    # emil's unsummed dgamma fails that one check of 24; his ReLU mask and db fail mlp_loss's layers
    # and with them the overfitting run of his (right) sanity checks
    "emil": ([1.5, 1.3333, 0.75, 2, 0.4, 2.875, 0.4, 1, 2, 2, 0, 0, 1, 1],
             {"bias_not_summed", "relu_mask_wrong_tensor", "sigmoid_derivative_at_input", "batch_size",
              "momentum_sign", "broadcast_not_summed_gamma"}),
    "mallory": ([0] * 12 + [1, 1], set()),
}


# Training without backpropagation: random ReLU features and a least-squares fit of the output
# layer reach ~98% on the held-out digits; train_step steps nowhere (it returns what it got).
RANDOM_FEATURES = """
def train_step(params, velocity, X, y, lr, momentum, weight_decay):
    return params, velocity


def train(X, y, seed=0, callback=None):
    params = init_two_layer(X.shape[1], 512, 10, seed)
    features = np.maximum(X @ params["W1"] + params["b1"], 0)
    design = np.hstack([features, np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, np.eye(10)[y], rcond=None)[0]
    params["W2"], params["b2"] = solution[:-1], solution[-1]
    return params
"""


# Sanity checks that check nothing: the initial loss always "passes", the gradient check always
# reports 0, and the overfitting run hands back the parameters it was given.
CONSTANT_CHECKS = """
def initial_loss_check(loss_fn, params, X, y, num_classes, tol=0.1):
    return float(loss_fn(params, X, y)[0]), float(np.log(num_classes)), True


def overfit_tiny_batch(loss_fn, params, X, y, steps, lr):
    return params, [float(loss_fn(params, X, y)[0])] * steps


def stack_gradient_check(loss_fn, params, X, y, h=1e-5):
    return 0.0
"""


def hand_in_samples_and_attacks(course, source, release):
    """The assignment's one graded batch (CLASS_HAND_IN): samples, attacks, the exploits."""
    hand_in_samples(ASSIGNMENT)(course, source, release)
    answers = dict(samples.reference_answers(source), train=RANDOM_FEATURES)
    samples.submit(course, ASSIGNMENT, "x_random_features", samples.student_notebook(release, answers))
    answers = dict(samples.reference_answers(source), sanity_checks=CONSTANT_CHECKS)
    samples.submit(course, ASSIGNMENT, "x_constant_checks", samples.student_notebook(release, answers))
    submit_exploits(ASSIGNMENT, course, source, release)  # helpers_exploits.py


# the batch test_autograder_exploits reads too (graded once per run, whoever asks first)
CLASS_HAND_IN = hand_in_samples_and_attacks


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_template):
    """{student: SubmissionResult} of the one graded batch of this assignment's samples, plus the
    attacks on the training task."""
    return graded_results(tmp_path_factory, course_template, ASSIGNMENT, hand_in_samples_and_attacks)


def test_training_without_backpropagation_earns_nothing_for_its_accuracy(graded):
    attack = graded["x_random_features"].task("test_train")
    assert attack.score == 0, attack
    step, learns, accurate = attack.checks
    assert not step.passed and not learns.passed and not accurate.passed
    assert "train_step" in learns.message and "SGD" in learns.message
    # everything else of the submission is the reference's, and graded as such
    for task in (t for t in TASKS if t != "test_train"):
        assert graded["x_random_features"].task(task).score == graded["ada_reference"].task(task).score


def test_sanity_checks_that_check_nothing_earn_nothing(graded):
    attack = graded["x_constant_checks"].task("test_sanity_checks")
    assert attack.score == 0, attack
    assert not any(check.passed for check in attack.checks)
    named = {m["code"] for check in attack.checks for m in check.mistakes}
    assert {"check_always_passes", "missed_planted_bug", "params_unchanged"} <= named, named
    for task in (t for t in TASKS if t != "test_sanity_checks"):
        assert graded["x_constant_checks"].task(task).score == graded["ada_reference"].task(task).score


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_samples_get_expected_scores_and_named_mistakes(graded, student):
    assert_expected_sample(graded[student], *SAMPLES[student])


def hand_graded_points():
    """The points of the notebook's written answers (markdown solution cells, graded in formgrader)."""
    return sum(cell.metadata["nbgrader"]["points"] for cell in jupytext.read(NOTEBOOK).cells
               if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade"))


def test_the_reference_gets_full_marks_and_the_points_are_in_range(graded):
    # the autograded points: the written answer's point is graded by hand in formgrader
    assert graded["ada_reference"].score == graded["ada_reference"].max_score == 29
    assert len(SPEC.tasks) >= 7 and 20 <= sum(t.points for t in SPEC.tasks) + hand_graded_points() <= 30


def test_readme_states_the_grader_s_tasks_questions_and_points():
    questions = [t for t in SPEC.tasks if t.call == "multiple_choice"]
    written = [c for c in jupytext.read(NOTEBOOK).cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    total = sum(t.points for t in SPEC.tasks) + hand_graded_points()
    line = next(l for l in (NOTEBOOK.parents[1] / "README.md").read_text().splitlines()
                if l.startswith(f"| `{ASSIGNMENT}` |"))
    stated = f"| {len(SPEC.tasks) - len(questions)} tasks and {len(questions) + len(written)} questions, {total} points |"
    assert stated in line, (stated, line)


def test_mallory_gains_nothing_over_the_untouched_notebook(graded):
    # the question is answered honestly (her sample keeps the reference's letter): no exploit there
    for task in (t for t in TASKS if not t.startswith("test_choice_")):
        assert graded["mallory"].task(task).score <= graded["ben_untouched"].task(task).score, task


def test_mistakes_are_named_in_words_a_student_can_act_on(graded):
    messages = {m["code"]: m["message"] for s in ("chen", "dana", "emil") for t in graded[s].tasks
                for c in t.checks for m in c.mistakes}
    assert "x^T dout" in messages["transposed_dW"]
    assert "off-diagonal" in messages["softmax_diagonal"]
    assert "np.add.at" in messages["repeated_indices_overwritten"]
    assert "both uses" in messages["only_second_use"]
    stability = next(c for c in graded["chen"].task("test_softmax_cross_entropy").checks
                     if "1e4" in c.name)
    assert not stability.passed and "subtract each row's maximum" in stability.message


def test_finite_differences_run_out_of_time_on_the_big_hidden_case(graded):
    mallory = graded["mallory"].task("test_affine")
    assert mallory.score == 0 and "time limit" in mallory.error
    assert graded["ada_reference"].task("test_affine").score == 2
    # How long the intended solution needs on the large case (printed, not asserted).
    task = SPEC.tasks[TASKS.index("test_affine")]
    big = max(task.make_cases(np.random.default_rng(1), True), key=lambda c: c.arrays["W"].size)
    fns = reference_namespace(ASSIGNMENT)
    started = time.perf_counter()
    outputs, _, error = calls.run_case(assignment_calls(ASSIGNMENT), task.call, (fns["affine_forward"], fns["affine_backward"]),
                                       big.arrays, big.params)
    seconds = time.perf_counter() - started
    assert error is None and outputs["grad_W"].shape == big.arrays["W"].shape
    print(f"\nreference on W of {big.arrays['W'].shape}: {seconds:.3f} s (the limit: max(1 s, 20 x the reference))")


GRADIENT_TASKS = {  # task -> (array with the batch axis first, gradient input, its upstream gradient)
    "test_affine": ("x", "W", "dout"),
    "test_two_layer_net": ("X", "W1", None),
    "test_shared_weights": ("X", "W", None),
    "test_embedding": ("dout", "W", "dout"),
    "test_softmax_cross_entropy": ("logits", "logits", None),
    "test_mse_loss": ("pred", "pred", None),
}


@pytest.mark.parametrize("grade_id", sorted(GRADIENT_TASKS))
def test_hidden_cases_have_random_shapes_and_upstream_gradients(grade_id):
    task = SPEC.tasks[TASKS.index(grade_id)]
    batch_key, param_key, dout_key = GRADIENT_TASKS[grade_id]
    first = task.make_cases(np.random.default_rng(1), True)
    second = task.make_cases(np.random.default_rng(2), True)
    shapes = [case.arrays[param_key].shape for case in first]
    assert any(case.arrays[batch_key].shape[0] == 1 for case in first)
    assert any(1 in shape for shape in shapes)
    assert any(len(set(case.arrays[key].shape)) > 1 for case in first for key in (batch_key, param_key))
    if param_key in ("W", "W1") and grade_id != "test_embedding":
        assert any(s[0] == s[1] for s in shapes)                       # square
        assert any(case.arrays[batch_key].shape[0] == s[0] for case, s in zip(first, shapes))  # N = D
    assert not np.array_equal(first[0].arrays[param_key], second[0].arrays[param_key])
    for case in first:
        assert case.arrays[param_key].dtype == np.float64
        if dout_key:
            dout = case.arrays[dout_key]
            assert not np.all(dout == 1.0) and (dout.size == 1 or np.ptp(dout) > 0)
        probed = [k for k in case.arrays if k.startswith("probe_u_")]
        # every case is probed but the overflow cases and the one that defeats finite differences
        assert probed or case.params.get("large") or case is max(first, key=lambda c: fd.entries(grade_id, c))
    assert sum(1 for case in first if not any(k.startswith("probe_u_") for k in case.arrays)
               and not case.params.get("large")) <= 1


FINITE_DIFFERENCE_TASKS = sorted(fd.FORWARDS)


@pytest.mark.parametrize("grade_id", FINITE_DIFFERENCE_TASKS)
def test_finite_differences_need_far_more_forwards_than_the_limit_allows(grade_id):
    """The big hidden case is beyond finite differences within the limit, max(1 s, 20 x the
    reference): central differences run 2 forwards per entry, the reference a handful, so their
    ratio covers the 20 x by 10 times over; against the 1 s floor the seconds are measured by
    tests/helpers_a03_finite_differences.py (printed here, not asserted: no timed tests)."""
    case = fd.biggest_case(grade_id)
    forwards = 2 * fd.entries(grade_id, case)
    assert forwards >= 10 * 20 * 10   # >= 10 x (20 x the reference's ~10 forward-equivalents)
    entries, seconds, total = fd.central_difference_seconds(grade_id)
    print(f"\n{grade_id}: central differences {2 * entries} forwards of {1e3 * seconds:.3f} ms = "
          f"{total:.1f} s against a limit of 1 s")


def test_probed_relu_inputs_stay_away_from_the_kink():
    network = SPEC.tasks[TASKS.index("test_two_layer_net")]
    for case in network.make_cases(np.random.default_rng(4), True):
        a = case.arrays["X"] @ case.arrays["W1"] + case.arrays["b1"]
        assert np.min(np.abs(a)) > 1e-5


def test_the_visible_self_check_passes_the_reference_and_names_a_transposed_dW():
    fns = reference_namespace(ASSIGNMENT)
    check("test_affine", fns["affine_forward"], fns["affine_backward"])
    check("test_two_layer_net", fns["two_layer_loss"])

    def transposed_backward(dout, cache):
        dx, dW, db = fns["affine_backward"](dout, cache)
        return dx, dW.T, db

    with pytest.raises(AssertionError) as failure:
        check("test_affine", fns["affine_forward"], transposed_backward)
    assert "transposed_dW" in str(failure.value) and "Check 'dW" in str(failure.value)


def test_the_self_check_says_when_the_backward_disagrees_with_a_right_forward():
    fns = reference_namespace(ASSIGNMENT)

    def unmasked(dout, cache):
        return dout.copy()

    with pytest.raises(AssertionError) as failure:
        check("test_activations", fns["relu_forward"], unmasked, fns["sigmoid_forward"],
              fns["sigmoid_backward"], fns["tanh_forward"], fns["tanh_backward"])
    text = str(failure.value)
    assert "relu_no_mask" in text and "your forward pass is right" in text.lower()


def test_the_source_notebook_runs_top_to_bottom(tmp_path):
    printed = run_source_notebook(NOTEBOOK, tmp_path)
    assert "all 8 hidden tests pass" in printed  # the affine task's hidden check ran
    accuracy = float(re.search(r"validation \(held-out\) accuracy (\d\.\d+) after", printed).group(1))
    print(f"test accuracy of the notebook's training run: {accuracy:.4f}")
    assert accuracy >= 0.95


def test_backprop_ninja_hidden_cases_cover_size_one_two_classes_and_random_upstream():
    task = SPEC.tasks[TASKS.index("test_backprop_ninja")]
    first = task.make_cases(np.random.default_rng(1), True)
    second = task.make_cases(np.random.default_rng(2), True)
    assert any(case.arrays["X"].shape[0] == 1 for case in first)
    assert any(case.arrays["W2"].shape[1] == 2 for case in first)
    assert all(float(case.arrays["dloss"]) != 1.0 for case in first)
    assert not np.array_equal(first[0].arrays["W1"], second[0].arrays["W1"])
    assert all(case.arrays[name].dtype == np.float64 for case in first for name in ("X", "W1", "a", "probs"))
    assert "test_backprop_ninja" in fd.FORWARDS  # its big case: test_finite_differences_need_far_more_...


def test_an_unsummed_broadcast_is_named_and_the_max_path_says_why_it_is_zero(graded):
    messages = {m["code"]: m["message"] for s in ("dana", "emil") for t in graded[s].tasks
                for c in t.checks for m in c.mistakes}
    assert "the gradient of gamma was not summed over the broadcast axis" in messages["broadcast_not_summed_gamma"]
    max_path = messages["broadcast_not_summed_logit_max"]
    assert "the gradient of logit_max was not summed over the broadcast axis" in max_path
    assert "zero" in max_path and "softmax unchanged" in max_path
    emil = {c.name: c.passed for c in graded["emil"].task("test_backprop_ninja").checks}
    assert not emil["dgamma"] and sum(emil.values()) == len(emil) - 1


def test_the_stack_is_graded_on_depths_one_to_four():
    task = SPEC.tasks[TASKS.index("test_mlp")]
    depths = {case.params["depth"] for case in task.make_cases(np.random.default_rng(3), True)}
    assert depths == {1, 2, 3, 4}


def test_gradient_flow_explorer_plots_what_the_function_computes():
    from minigrad.viz import gradient_flow_explorer

    calls_made = []

    def norms(depth, activation, init, residual):
        calls_made.append((depth, activation, init, residual))
        return np.geomspace(1e-6, 1.0, depth) * (2.0 if residual else 1.0)

    widget = gradient_flow_explorer(norms, activations=("sigmoid", "relu"), inits=("Xavier", "He"), depth=5)
    assert calls_made == [(5, "sigmoid", "Xavier", False)]
    np.testing.assert_allclose(widget.ax.lines[0].get_ydata(), norms(5, "sigmoid", "Xavier", False))
    widget.controls["depth"].value = 8
    widget.controls["residual"].value = True
    assert calls_made[-1] == (8, "sigmoid", "Xavier", True) and len(widget.ax.lines[0].get_ydata()) == 8
    assert "1e-06" in widget.readout.value or "1e-6" in widget.readout.value.replace("e-06", "e-6")


GRADIENT_FLOW_OPTIONS = {  # each wrong option of the lab's question -> its named mistake
    "a": "sigmoid_rescued_by_init", "c": "small_init_ratio_only", "d": "residual_always_stable"}


def test_the_lab_question_names_each_wrong_option_and_its_visible_case_hides_the_answer():
    task = SPEC.tasks[TASKS.index("test_choice_gradient_flow")]
    (check_,) = task.checks
    (visible,) = task.make_cases(np.random.default_rng(0), False)
    assert task.reference(visible) == {} and not check_.self_check  # nothing ships to the kernel
    (hidden,) = task.make_cases(np.random.default_rng(0), True)
    expected = task.reference(hidden)
    for number, letter in enumerate("abcd", start=1):
        verdict = check_.compare(expected, {"choice": np.asarray(float(number))}, hidden)
        assert verdict.passed == (letter == "b"), letter
        if letter != "b":
            (mistake,) = verdict.mistakes
            assert mistake.code == GRADIENT_FLOW_OPTIONS[letter]
            assert mistake.message.startswith(f"({letter}): ") and len(mistake.message) > 80
    assert not check_.compare(expected, {"choice": np.asarray(5.0)}, hidden).passed


def test_the_lab_s_own_numbers_back_the_question_s_answer():
    """The question's right option (ReLU with He) and the three it calls wrong, measured with the
    notebook's gradient_norms at depth 20 (the lab cell, run as it is)."""
    source = jupytext.read(NOTEBOOK).cells
    lab = next(c.source for c in source if c.cell_type == "code" and "def gradient_norms" in c.source)
    namespace = {"np": np}
    exec(compile(lab.split("\nfor name in")[0], "lab", "exec"), namespace)
    norms = namespace["gradient_norms"]
    he = norms(20, "relu", "He")
    assert 0.1 < he.min() and he.max() < 10 and he.max() / he.min() < 10         # (b): alive, similar
    for init in ("small N(0, 0.01)", "Xavier", "He"):                               # (a): sigmoid vanishes
        sigmoid = norms(20, "sigmoid", init)
        assert sigmoid[0] / sigmoid[-1] < 1e-6, init
    small = norms(20, "relu", "small N(0, 0.01)")                                   # (c): same ratio, tiny
    assert np.isclose(small[0] / small[-1], he[0] / he[-1], rtol=0.5) and small.max() < 1e-10
    assert norms(20, "relu", "He", residual=True).max() > 1e3                       # (d): explodes


# ---- the three sanity checks, judged in this process on one draw of the hidden cases -------------
def _sanity_outcomes(initial=None, overfit=None, gradcheck=None, seed=5):
    """{check name: passed} of test_sanity_checks with the reference's functions, some replaced."""
    from autograder.judging.judge import judge_task
    from autograder.running.runner import TaskRun

    fns = reference_namespace(ASSIGNMENT)
    functions = (initial or fns["initial_loss_check"], overfit or fns["overfit_tiny_batch"],
                 gradcheck or fns["stack_gradient_check"], fns["mlp_loss"])
    task = SPEC.tasks[TASKS.index("test_sanity_checks")]
    visible = task.make_cases(np.random.default_rng(0), False)
    cases = visible + task.make_cases(np.random.default_rng(seed), True)
    run = TaskRun(cases=[], outputs=[])
    for case in cases:
        arrays = {name: np.array(value, copy=True) for name, value in case.arrays.items()}
        outputs, dtypes, error = calls.run_case(assignment_calls(ASSIGNMENT), task.call, functions,
                                                arrays, case.params)
        run.cases.append({"error": error, "dtypes": dtypes})
        run.outputs.append(outputs)
    hidden = [False] * len(visible) + [True] * (len(cases) - len(visible))
    result = judge_task(task, cases, hidden, run)
    return {check.name.split(":")[0].split(" ")[0] + ("/memorises" if "memorises" in check.name else ""):
            check.passed for check in result.checks}


def test_the_reference_sanity_checks_pass_on_hidden_cases():
    for seed in range(4):
        assert all(_sanity_outcomes(seed=seed).values())


def _uniform_guess(loss_fn, params, X, y, num_classes, passed):
    return float(loss_fn(params, X, y)[0]), float(np.log(num_classes)), passed


def _weights_only():
    """The reference's gradient check on the weights alone (dana's slip)."""
    source = samples.reference_answers(jupytext.read(NOTEBOOK))["sanity_checks"]
    loop = "for name, value in params.items():"
    assert source.count(loop) == 1
    changed = source.replace(loop, 'for name, value in [(n, v) for n, v in params.items() if n[0] == "W"]:')
    return reference_namespace(ASSIGNMENT, replace={"sanity_checks": changed})["stack_gradient_check"]


def test_sanity_checks_that_do_not_check_fail_their_part():
    fns = reference_namespace(ASSIGNMENT)
    mlp_loss = fns["mlp_loss"]

    def against_mlp_loss(loss_fn, params, X, y):
        """No numerical differentiation: compares with mlp_loss's gradients (a ReLU stack)."""
        theirs, mine = loss_fn(params, X, y)[1], mlp_loss(params, X, y)[1]
        return max(float(np.max(np.abs(theirs[k] - mine[k]))) for k in params)

    wrong = {
        "always passes": dict(initial=lambda *a, tol=0.1: _uniform_guess(*a, True)),
        "never passes": dict(initial=lambda *a, tol=0.1: _uniform_guess(*a, False)),
        "log C instead of the loss": dict(initial=lambda lf, p, X, y, c, tol=0.1: (np.log(c), np.log(c), True)),
        "log10": dict(initial=lambda lf, p, X, y, c, tol=0.1: (lf(p, X, y)[0], np.log10(c),
                                                              abs(lf(p, X, y)[0] - np.log(c)) < tol)),
        "error 0": dict(gradcheck=lambda *a, **k: 0.0),
        "error 1": dict(gradcheck=lambda *a, **k: 1.0),
        "weights only": dict(gradcheck=_weights_only()),
        "against mlp_loss": dict(gradcheck=against_mlp_loss),
        "unchanged": dict(overfit=lambda lf, p, X, y, steps, lr: (p, [lf(p, X, y)[0]] * steps)),
        "gradient ascent": dict(overfit=lambda lf, p, X, y, steps, lr: fns["overfit_tiny_batch"](lf, p, X, y, steps, -lr)),
    }
    failing = {"always passes": {"initial_loss_check"}, "never passes": {"initial_loss_check"},
               "log C instead of the loss": {"initial_loss_check"}, "log10": {"initial_loss_check"},
               "error 0": {"stack_gradient_check"}, "error 1": {"stack_gradient_check"},
               "weights only": {"stack_gradient_check"}, "against mlp_loss": {"stack_gradient_check"},
               "unchanged": {"overfit_tiny_batch", "overfit_tiny_batch/memorises"},
               "gradient ascent": {"overfit_tiny_batch", "overfit_tiny_batch/memorises"}}
    for name, functions in wrong.items():
        outcomes = _sanity_outcomes(**functions)
        assert {check for check, passed in outcomes.items() if not passed} == failing[name], (name, outcomes)


def test_the_sanity_checks_hidden_cases_decide_each_verdict_by_a_wide_margin():
    from autograder.assignments.a03_vectorized_mlp import reference as ref
    from autograder.assignments.a03_vectorized_mlp import tasks as spec

    task = SPEC.tasks[TASKS.index("test_sanity_checks")]
    first = task.make_cases(np.random.default_rng(1), True)
    second = task.make_cases(np.random.default_rng(2), True)
    assert not np.array_equal(first[0].arrays["W1"], second[0].arrays["W1"])
    gaps, planted = [], []
    for case in first + second:
        a, depth = case.arrays, case.params["depth"]
        assert all(a[name].dtype == np.float64 for name in ("X", "W1", "b1"))
        if case.params["part"] == "init":
            gaps.append(abs(float(ref.tanh_mlp_loss(a, depth)["loss"]) - np.log(case.params["classes"])))
        if case.params["part"] == "gradcheck":
            exact = ref.tanh_mlp_loss(a, depth)
            wrong = [n for n in spec._layer_names(depth) if not np.allclose(exact[f"grad_{n}"], a[f"table_grad_{n}"],
                                                                             rtol=1e-12, atol=0)]
            assert len(wrong) <= 1
            planted.extend(name[0] for name in wrong)
    # right starts within a fiftieth of log C, wrong ones at least half a nat away: any tolerance
    # between those decides alike
    assert min(g for g in gaps if g > spec.INIT_TOLERANCE) > spec.WRONG_INIT_GAP
    assert max(g for g in gaps if g < spec.INIT_TOLERANCE) < spec.RIGHT_INIT_GAP
    assert {"W", "b"} <= set(planted)  # bugs in weights and in biases
    depths = {case.params["depth"] for case in first + second if case.params["part"] == "gradcheck"}
    assert len(depths) >= 3


def test_the_grader_s_loss_functions_give_gradients_only_at_the_case_s_params():
    from autograder.assignments.a03_vectorized_mlp import sandbox

    task = SPEC.tasks[TASKS.index("test_sanity_checks")]
    case = next(c for c in task.make_cases(np.random.default_rng(3), True) if c.params["part"] == "gradcheck")
    names = [k for k in case.arrays if k[0] in "Wb" and k[1:].isdigit()]
    loss_fn = sandbox._grader_loss_fn(case.arrays, names)
    params = {name: case.arrays[name].copy() for name in names}
    loss, grads = loss_fn(params, case.arrays["X"], case.arrays["y"])
    assert set(grads) == set(names)
    params["W1"][(0,) * params["W1"].ndim] += 1e-3
    moved, none = loss_fn(params, case.arrays["X"], case.arrays["y"])
    assert none is None and moved != loss


def test_the_sanity_self_check_passes_the_reference_and_names_a_missed_bug():
    fns = reference_namespace(ASSIGNMENT)
    functions = [fns[name] for name in ("initial_loss_check", "overfit_tiny_batch", "stack_gradient_check",
                                        "mlp_loss")]
    check("test_sanity_checks", *functions)
    functions[2] = lambda *args, **kwargs: 0.0
    with pytest.raises(AssertionError) as failure:
        check("test_sanity_checks", *functions)
    assert "missed_planted_bug" in str(failure.value)
