"""Assignment 05 (autodiff internals) end to end: samples, exploits and shortcuts in one graded batch,
the visible self-checks on right and wrong code, the hidden cases, and the source notebook run."""
import os
import re
import time

import jupytext
import numpy as np
import pytest

from autograder.course import samples
from autograder.assignments import calls as assignment_calls
from autograder.sandbox import calls
from autograder.assignments import get_assignment
from autograder.course.layout import NOTEBOOKS

from helpers_exploits import submit_exploits
from autograder_course import (assert_expected_sample, course_template, graded_results,  # noqa: F401
                               hand_in_samples, reference_namespace, visible_check)
from notebook_kernel import run_source_notebook

ASSIGNMENT = "05_autodiff_internals"
SPEC = get_assignment(ASSIGNMENT)
TASKS = [task.grade_id for task in SPEC.tasks]
NOTEBOOK = os.path.join(NOTEBOOKS, f"{ASSIGNMENT}.py")

# Expected (scores per task in TASKS order, named mistakes) of the bundled samples.
SAMPLES = {
    "ada_reference": ([3, 4, 4, 2, 3, 3, 2, 4, 3, 1], set()),
    "ben_untouched": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], set()),
    "chen": ([0, 0, 4, 2, 0.5, 1.5, 2, 3.5, 1.5, 1], {"repeated_nodes", "product_rule_one_term", "recomputes_everything", "single_backward"}),
    "dana": ([0, 1, 3.5, 0, 0, 0, 0, 2.5, 1.5, 1], {"order_reversed", "no_counterexample", "fork_overwritten", "plus_not_unbroadcast", "finite_difference_jvp",
                    "modes_swapped", "stores_everything", "names_depth_first"}),
    "emil": ([0, 0, 3, 0, 3, 0, 1, 4, 1.5, 1], {"expand_not_summed", "rowsum_not_broadcast", "jacobian_transposed",
                    "reverse_without_forward", "names_without_leaves"}),
    "mallory": ([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], None),
}

ZERO = {
    "topological_order": "def topological_order(root):\n    return [root]\n",
    "backward": "def backward(root, grad=None):\n    root.grad = np.zeros_like(root.value)\n",
    "jvp": "def jvp(f, x, v):\n    return np.zeros(1), np.zeros(1)\n",
    "jacobian": ("def jacobian_forward(f, x):\n    return np.zeros((1, x.size))\n\n\n"
                 "def jacobian_reverse(f, x):\n    return np.zeros((1, x.size))\n"),
    "op_counts": "def jacobian_op_counts(n, m, k):\n    return 0, 0\n",
    "checkpoint": "def checkpointed_backward(layers, x, grad_out, segments):\n    return np.zeros_like(x)\n",
    "counterexample": "def breadth_first_counterexample():\n    w = Tensor(1.0)\n    return Sigmoid.apply(w), w\n",
    "torch_graph": "def read_torch_graph(program, inputs):\n    return [], {k: np.zeros_like(v) for k, v in inputs.items()}\n",
}

PLAIN_CHECKPOINT = '''
def checkpointed_backward(layers, x, grad_out, segments):
    return plain_backward(layers, x, grad_out)
'''

BLINDED_CHECKPOINT = '''
import tracemalloc

def checkpointed_backward(layers, x, grad_out, segments):
    grad = plain_backward(layers, x, grad_out)
    tracemalloc.clear_traces()
    return grad
'''

# Replaces the grader's meter in the sandbox (its module is imported before student code).
METER_PATCH = '''
import sys
for name, module in list(sys.modules.items()):
    if name.endswith("sandbox_graphs"):
        module.Meter.record = lambda self: None

def checkpointed_backward(layers, x, grad_out, segments):
    return plain_backward(layers, x, grad_out)
'''

# Finding E of issue 16: the measurement zeroed after plain backprop, and every activation kept in
# anonymous memory maps, which tracemalloc does not see.
METER_ZEROED = '''
def checkpointed_backward(layers, x, grad_out, segments):
    grad = plain_backward(layers, x, grad_out)
    layers[0].meter.peak = 0
    return grad
'''

MMAP_CHECKPOINT = '''
import mmap as _mmap

def _outside_tracemalloc(array):
    kept = np.frombuffer(_mmap.mmap(-1, max(1, array.nbytes)), dtype=array.dtype)[:array.size]
    kept = kept.reshape(array.shape)
    kept[...] = array
    return kept

def checkpointed_backward(layers, x, grad_out, segments):
    contexts = []
    for layer in layers:
        ctx = Context()
        x = _outside_tracemalloc(layer.forward(ctx, x))
        ctx.saved = tuple(_outside_tracemalloc(a) for a in ctx.saved)
        contexts.append(ctx)
    grad = grad_out
    for layer, ctx in zip(reversed(layers), reversed(contexts)):
        grad = layer.backward(ctx, grad)
    return grad
'''

# Finding F of issue 16: returned structures the trusted side once used without checking them.
CYCLIC_COUNTEREXAMPLE = '''
def breadth_first_counterexample():
    w = Tensor(0.7)
    x = Times.apply(w, w)
    root = Sigmoid.apply(Times.apply(x, x))
    x.parents = (w, root)          # set after construction: x is now among its own inputs
    return root, w
'''

# Raises the sandbox's cap on returned nodes, then returns a graph far above the trusted limit.
RAISED_CAP_COUNTEREXAMPLE = '''
import sys as _sys
for _name, _module in list(_sys.modules.items()):
    if _name.endswith("a05_autodiff_internals.sandbox"):
        _module.MAX_COUNTEREXAMPLE_NODES = 10 ** 9

def breadth_first_counterexample():
    w = Tensor(0.7)
    node = Sigmoid.apply(w)
    for _ in range(3000):
        node = Plus.apply(node, w)
    return Times.apply(node, Sigmoid.apply(Times.apply(node, node))), w
'''

# Finding E: Times and Sigmoid backward taken from the grader's own op rules in the sandbox.
GRADER_RULES = '''
import sys as _sys
_sg = next(m for n, m in list(_sys.modules.items()) if n.endswith("sandbox_graphs"))
Times.backward = staticmethod(lambda ctx, grad: _sg._local_backward("mul", list(ctx.saved), None, grad))
Sigmoid.backward = staticmethod(lambda ctx, grad: _sg._local_backward("sigmoid", [None], ctx.saved[0], grad))
'''
NO_RULES = '''
def _unanswered(ctx, grad):
    raise NotImplementedError
Times.backward = staticmethod(_unanswered)
Sigmoid.backward = staticmethod(_unanswered)
'''


def _submit(course, student, release, answers):
    samples.submit(course, ASSIGNMENT, student, samples.student_notebook(release, answers))


def hand_in(course, source, release):
    """The assignment's one graded batch (CLASS_HAND_IN): samples, attacks, the exploits."""
    hand_in_samples(ASSIGNMENT)(course, source, release)
    reference = samples.reference_answers(source)
    _submit(course, "zero", release, ZERO)
    _submit(course, "plain_checkpoint", release, {**reference, "checkpoint": PLAIN_CHECKPOINT})
    _submit(course, "x_tracemalloc", release, {**reference, "checkpoint": BLINDED_CHECKPOINT})
    _submit(course, "x_meter", release, {**reference, "checkpoint": METER_PATCH})
    _submit(course, "x_meter_zeroed", release, {**reference, "checkpoint": METER_ZEROED})
    _submit(course, "x_mmap", release, {**reference, "checkpoint": MMAP_CHECKPOINT})
    _submit(course, "x_grader_rules", release, {**reference, "sigmoid": reference["sigmoid"] + GRADER_RULES})
    _submit(course, "no_rules", release, {**reference, "sigmoid": reference["sigmoid"] + NO_RULES})
    _submit(course, "x_cycle", release, {**reference, "counterexample": CYCLIC_COUNTEREXAMPLE})
    _submit(course, "x_raised_cap", release, {**reference, "counterexample": RAISED_CAP_COUNTEREXAMPLE})
    submit_exploits(ASSIGNMENT, course, source, release)  # helpers_exploits.py


# the batch test_autograder_exploits reads too (graded once per run, whoever asks first)
CLASS_HAND_IN = hand_in


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_template):
    return graded_results(tmp_path_factory, course_template, ASSIGNMENT, hand_in)


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_samples_get_expected_scores_and_named_mistakes(graded, student):
    assert_expected_sample(graded[student], *SAMPLES[student])


def test_points_and_tasks():
    assert len(SPEC.tasks) >= 7 and 25 <= sum(t.points for t in SPEC.tasks) <= 30


def test_exploits_gain_nothing(graded):
    checkpoint_attacks = ("x_tracemalloc", "x_meter", "x_meter_zeroed", "x_mmap")
    for student, baseline in [("mallory", "zero"), ("mallory", "ben_untouched")] + [
            (attack, "plain_checkpoint") for attack in checkpoint_attacks]:
        for task in TASKS:
            if student == "mallory" and task.startswith("test_choice_"):
                continue  # the question is answered honestly (her sample keeps the reference's letter)
            assert graded[student].task(task).score <= graded[baseline].task(task).score, (student, task)
    # the memory is the kernel's figure, read from outside: what each attack blinds is not used
    for student in checkpoint_attacks:
        assert "stores_everything" in graded[student].task("test_checkpoint").mistake_codes, student


def test_the_graders_own_op_rules_are_out_of_reach(graded):
    from autograder.assignments.a05_autodiff_internals import sandbox_graphs

    assert not [name for name in vars(sandbox_graphs) if "backward" in name.lower() and name != "TanhLayer"]
    for task in TASKS:
        assert graded["x_grader_rules"].task(task).score <= graded["no_rules"].task(task).score, task
    assert graded["no_rules"].task("test_ops").score < graded["ada_reference"].task("test_ops").score


def test_a_cyclic_graph_is_the_students_error_not_the_graders(graded):
    result = graded["x_cycle"]
    assert result.status == "graded", result.error
    task = result.task("test_counterexample")
    assert task.score == 0 and "cycle" in task.checks[0].message, task
    assert [t.score for t in result.tasks if t.grade_id != "test_counterexample"] == [
        t.score for t in graded["ada_reference"].tasks if t.grade_id != "test_counterexample"]


def test_a_cap_raised_in_the_sandbox_does_not_raise_the_trusted_limit(graded):
    task = graded["x_raised_cap"].task("test_counterexample")
    assert task.score == 0 and "at most 500" in task.checks[0].message, task


def test_storing_everything_and_recomputing_everything_are_partial(graded):
    plain = graded["plain_checkpoint"].task("test_checkpoint")
    assert 0 < plain.score < plain.points and "stores_everything" in plain.mistake_codes
    chen = graded["chen"].task("test_checkpoint")
    assert plain.score < chen.score < chen.points and "recomputes_everything" in chen.mistake_codes


def _cpu_seconds(task, functions, cases):
    """CPU seconds of the task's sandbox call on `cases`, in this process (as the sandbox runs it)."""
    start = time.process_time()
    for case in cases:
        _, _, error = calls.run_case(assignment_calls(ASSIGNMENT), task.call, functions, dict(case.arrays), case.params)
        assert error is None, error
    return time.process_time() - start


def test_finite_differences_cannot_finish_the_big_hidden_case(graded):
    ops = graded["mallory"].task("test_ops")  # her Sigmoid.backward is a central difference
    assert ops.score < ops.points and "time limit" in (ops.error + " ".join(c.message for c in ops.checks))
    assert graded["ada_reference"].task("test_ops").score == ops.points


def _central_difference_seconds(forward, inputs, budget=0.3):
    """CPU seconds a central-difference gradient of sum(forward(inputs)) over every entry of
    `inputs` ({name: array}) needs: two vectorised forwards per entry, as a student writes it
    (copy, move one entry, forward, contract), timed on as many entries as fit in `budget`
    seconds and extrapolated to all of them."""
    entries = [(name, index) for name, value in inputs.items() for index in np.ndindex(value.shape)]
    done, start = 0, time.process_time()
    while done < len(entries) and time.process_time() - start < budget:
        name, index = entries[done]
        for sign in (1.0, -1.0):
            moved = dict(inputs)
            moved[name] = inputs[name].copy()
            moved[name][index] += sign * 1e-6
            forward(moved)
        done += 1
    return (time.process_time() - start) / done * len(entries)


def _finite_difference_margins():
    """[(case, finite-difference seconds, limit seconds)] for each hidden case that is there to
    defeat finite differences, the limit computed as course/limits.py does from the reference's
    CPU time on all the task's hidden cases, measured in the same run."""
    from autograder.assignments.a05_autodiff_internals import sandbox_graphs as graphs
    from autograder.assignments.a05_autodiff_internals import tasks as specs
    from autograder.course.limits import FACTOR, FLOOR_SECONDS

    namespace = reference_namespace(ASSIGNMENT)
    rng = np.random.default_rng(17)
    margins = []
    for grade_id in ("test_backward", "test_ops"):
        task = next(t for t in SPEC.tasks if t.grade_id == grade_id)
        functions = [namespace[name] for name in task.functions]
        cases = task.make_cases(rng, True)
        _cpu_seconds(task, functions, cases[:3])  # warm up (imports, first calls)
        limit = min(task.timeout, max(FLOOR_SECONDS, FACTOR * _cpu_seconds(task, functions, cases)))
        if grade_id == "test_backward":
            big = [c for c in cases if np.shape(c.arrays["dout"]) == specs.BIG_PROGRAM_SHAPE]
            a = big[0].arrays
            leaves = {f"leaf{i}": a[f"leaf{i}"] for i in (0, 1)}

            def forward(moved, a=a):  # the program in NumPy: cheaper than any graph of Tensors
                return graphs.run_program(np, a["codes"], a["args"], {0: moved["leaf0"], 1: moved["leaf1"]},
                                          a["dout"])[1]
            margins.append(("lecture program " + str(specs.BIG_PROGRAM_SHAPE),
                            _central_difference_seconds(forward, leaves), limit))
        else:
            for op in ("Sigmoid", "MatMul"):
                case = max((c for c in cases if c.params["op"] == op), key=lambda c: c.arrays["dout"].size)
                a, names = case.arrays, case.params["inputs"]

                def forward(moved, op=namespace[op], a=a, names=names):
                    return np.sum(a["dout"] * op.forward(namespace["Context"](), *(moved[n] for n in names)))
                margins.append((op + " " + str([a[n].shape for n in names]),
                                _central_difference_seconds(forward, {n: a[n] for n in names}), limit))
    return margins


def test_finite_differences_need_ten_times_the_limit_on_the_big_hidden_cases():
    """The property the big cases are sized for: central differences over one of them need at
    least FD_MARGIN times the task's time limit (measured side by side with the reference)."""
    from autograder.assignments.a05_autodiff_internals.tasks import FD_MARGIN

    for name, seconds, limit in _finite_difference_margins():
        print(f"{name}: central differences {seconds:.1f} s against a limit of {limit:.2f} s "
              f"({seconds / limit:.0f}x)")
        assert seconds >= FD_MARGIN * limit, (name, seconds, limit)


def test_a_recursive_backward_fails_on_the_hidden_chain():
    """The hidden chain is deeper than Python's recursion limit: a recursive walk cannot finish it."""
    emil = samples.sample_answers(ASSIGNMENT, "emil", jupytext.read(NOTEBOOK))[0]
    namespace = reference_namespace(ASSIGNMENT, {"backward": emil["backward"]})
    task = next(t for t in SPEC.tasks if t.grade_id == "test_backward")
    functions = [namespace[name] for name in task.functions]
    chain = max(task.make_cases(np.random.default_rng(4), True), key=lambda c: len(c.arrays["codes"]))
    _, _, error = calls.run_case(assignment_calls(ASSIGNMENT), task.call, functions, dict(chain.arrays), chain.params)
    assert error is not None and error["type"] == "RecursionError", error
    reference = reference_namespace(ASSIGNMENT)
    assert _cpu_seconds(task, [reference[name] for name in task.functions], [chain]) >= 0


def test_hidden_cases_have_random_shapes_and_upstream_gradients():
    for task in SPEC.tasks:
        if task.grade_id == "test_counterexample" or task.grade_id.startswith("test_choice_"):
            continue  # its input is the student's own graph; a question has no inputs
        one = task.make_cases(np.random.default_rng(1), True)
        two = task.make_cases(np.random.default_rng(2), True)
        for case in one:
            for name, value in case.arrays.items():
                assert np.asarray(value).dtype in (np.float64, np.int64), (task.grade_id, name)
            if "dout" in case.arrays:
                assert not np.all(case.arrays["dout"] == 1.0)
        first = [np.asarray(v) for c in one for v in c.arrays.values()]
        second = [np.asarray(v) for c in two for v in c.arrays.values()]
        assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, second)), task.grade_id
    ops = [c for c in next(t for t in SPEC.tasks if t.grade_id == "test_ops").make_cases(np.random.default_rng(3), True)]
    shapes = [np.shape(c.arrays[name]) for c in ops for name in c.params["inputs"]]
    assert any(1 in s for s in shapes) and any(len(s) == 2 and s[0] != s[1] for s in shapes) and () in shapes


def test_visible_self_checks_pass_on_the_reference_and_name_mistakes_on_wrong_code(capsys):
    namespace = reference_namespace(ASSIGNMENT)
    for task in SPEC.tasks:
        visible_check(task.grade_id, *(namespace[name] for name in task.functions))
    assert "all" in capsys.readouterr().out

    emil = samples.sample_answers(ASSIGNMENT, "emil", jupytext.read(NOTEBOOK))[0]
    per_path_backward = reference_namespace(ASSIGNMENT, {"backward": emil["backward"]})["backward"]
    with pytest.raises(AssertionError, match="per_path_recursion"):
        visible_check("test_backward", per_path_backward, namespace["Tensor"], namespace["Context"])

    class ExpandNotSummed(namespace["Expand"]):
        @staticmethod
        def backward(ctx, grad):
            return (grad,)

    ops = [namespace[name] for name in ("Plus", "Times", "Sigmoid", "RowSum")] + [ExpandNotSummed]
    with pytest.raises(AssertionError, match="expand_not_summed"):
        visible_check("test_ops", *ops, namespace["MatMul"], namespace["Context"])

    def reversed_order(root):
        return namespace["topological_order"](root)[::-1]

    with pytest.raises(AssertionError, match="order_reversed"):
        visible_check("test_topological_order", reversed_order)


def test_the_lecture_breadth_first_counterexample_holds():
    w = 0.7
    x = np.sin(w)
    true = np.exp(x * x) * (1 + 2 * x * x) * np.cos(w)
    breadth_first = np.exp(x * x) * np.cos(w)
    assert round(true, 3) == 2.120 and round(breadth_first, 3) == 1.158


def test_source_notebook_runs_top_to_bottom(tmp_path):
    outputs = run_source_notebook(NOTEBOOK, tmp_path)
    assert re.search(r"breadth-first:\s+1\.158", outputs) and re.search(r"topological order: 2\.120", outputs)
    assert "plain backprop: peak" in outputs
