"""Assignment 02 end to end: samples, baselines, mallory and a finite-difference engine in one batch.

Plus: the expression-graph builder and its torch twin on their own, the lecture's numbers, the
hidden cases' variety, the visible self-check in the student's kernel, and one Run-All of the
source notebook.
"""
import os
import sys
import time

import numpy as np
import pytest

from autograder.course import samples
from autograder.assignments import calls as assignment_calls
from autograder.sandbox import calls
from autograder.assignments.a02_scalar_backprop import sandbox_graphs as eg
from helpers_exploits import submit_exploits
from autograder_course import reference_namespace, visible_check as check
from notebook_kernel import run_source_notebook
from autograder.assignments import get_assignment
from autograder.assignments.a02_scalar_backprop import reference as twin
from autograder.assignments.a02_scalar_backprop.tasks import BINARY_OPS, order_flags

from autograder_course import assert_expected_sample, course_template, graded_results  # noqa: F401

ASSIGNMENT = "02_scalar_backprop"
NOTEBOOK = os.path.join(os.path.dirname(__file__), "..", "notebooks", f"{ASSIGNMENT}.py")
TASKS = ["test_local_gradients", "test_staged_backprop", "test_scalar_net", "test_value_ops",
         "test_value_backward", "test_mlp_gradients", "test_train_step"]
POINTS = [3, 4, 4, 5, 5, 4, 3, 1]

# Expected (scores per task in TASKS order, named mistakes) of the bundled samples.
SAMPLES = {
    "ada_reference": (POINTS, set()),
    "ben_untouched": ([0, 0, 0, 0, 0, 0, 0, 0], set()),
    "chen": ([3, 1, 4, 2, 1.6667, 1, 0, 1], {"overwrite_at_fork", "tanh_from_input"}),
    "dana": ([1.5, 4, 1, 2, 1.6667, 1, 0, 1], {"sigmoid_one_minus_k", "pow_without_n", "div_sign", "leaves_reset"}),
    "emil": ([1.5, 1, 4, 0, 0, 0, 0, 1], {"max_routes_smaller", "one_branch", "interior_not_reset", "output_tanh"}),
    "fay": ([1.5, 4, 4, 2, 1.6667, 1, 0, 1], {"mul_not_swapped", "pow_n_x_n", "forward_order"}),
    "mallory": ([0, 0, 0, 0, 0, 0, 0, 1], set()),
}

# A Value engine whose backward() is a finite-difference estimate: every leaf is nudged and the
# whole graph recomputed, 2 forward passes per leaf. Right to ~1e-9 on small graphs, hopeless on
# the hidden chain, whose thousands of leaves all reach the output.
FD_BACKWARD = '''

def _recompute(node):
    a = node._prev[0].data
    if node._op == "+":
        return a + node._prev[1].data
    if node._op == "*":
        return a * node._prev[1].data
    if node._op.startswith("**"):
        return a ** float(node._op[2:])
    return {"exp": math.exp, "tanh": math.tanh, "relu": lambda v: max(v, 0.0),
            "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v))}[node._op](a)


def backward(self):
    order = topological_order(self)
    inner = [n for n in order if n._prev]

    def output():
        for n in inner:
            n.data = _recompute(n)
        return self.data

    h = 1e-6
    for leaf in [n for n in order if not n._prev]:
        saved = leaf.data
        leaf.data = saved + h / 2
        up = output()
        leaf.data = saved - h / 2
        down = output()
        leaf.data = saved
        leaf.grad += (up - down) / h
    output()

'''


def _hand_in(course, source, release):
    samples_hand_in = [(s, samples.sample_notebook(ASSIGNMENT, s, source, release))
                       for s in samples.sample_students(ASSIGNMENT)]
    for student, nb in samples_hand_in:
        samples.submit(course, ASSIGNMENT, student, nb)
    answers = samples.reference_answers(source)
    samples.submit(course, ASSIGNMENT, "fd_engine",
                   samples.student_notebook(release, {**answers, "value_backward": samples.merge_definitions(
                       answers["value_backward"], FD_BACKWARD)}))


# A wrong order (the root first: the reverse of a topological order) handed to the grader, a
# right one used by backward(), and the sandbox's order check patched to judge the reversed list
# (what it judged while the flags were computed in the student's process).
ORDER_PATCH = """

_right_order, _right_backward = topological_order, Value.backward


def topological_order(root):
    return _right_order(root)[::-1]


def _backward_with_the_right_order(self):  # the reference's backward, run with the right sort
    global topological_order
    reversed_order, topological_order = topological_order, _right_order
    try:
        _right_backward(self)
    finally:
        topological_order = reversed_order


Value.backward = _backward_with_the_right_order

import sys as _sys
for _name, _module in list(_sys.modules.items()):
    if _name.endswith("sandbox_graphs") and hasattr(_module, "order_positions"):
        _module.order_positions = (lambda judge: lambda description, nodes, order:
                                   judge(description, nodes, order[::-1]))(_module.order_positions)
"""


def _hand_in_with_attacks(course, source, release):
    """The assignment's one graded batch (CLASS_HAND_IN): samples, attacks, the exploits."""
    _hand_in(course, source, release)
    answers = samples.reference_answers(source)
    samples.submit(course, ASSIGNMENT, "x_order_patch", samples.student_notebook(
        release, {**answers, "value_backward": answers["value_backward"] + ORDER_PATCH}))
    submit_exploits(ASSIGNMENT, course, source, release)  # helpers_exploits.py


# the batch test_autograder_exploits reads too (graded once per run, whoever asks first)
CLASS_HAND_IN = _hand_in_with_attacks


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_template):  # noqa: F811
    return graded_results(tmp_path_factory, course_template, ASSIGNMENT, _hand_in_with_attacks)


def test_a_patched_order_check_in_the_sandbox_earns_nothing(graded):
    task = graded["x_order_patch"].task("test_value_backward")
    order, *_ = [c for c in task.checks if "topological order" in c.name]
    assert not order.passed, order
    # the order's share only (weight 1 of 6, on the task's 5 points); the gradients are right
    assert task.score == pytest.approx(task.points * 5 / 6, abs=1e-3)


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_samples_get_expected_scores_and_named_mistakes(graded, student):
    assert_expected_sample(graded[student], *SAMPLES[student])


def _text(result, grade_id):
    task = result.task(grade_id)
    return task.error + " ".join(c.message for c in task.checks)


def test_feedback_explains_a_missing_radd_and_a_recursive_sort(graded):
    assert "define __radd__" in _text(graded["emil"], "test_value_ops")
    assert "RecursionError" in _text(graded["emil"], "test_value_backward")
    assert "explicit stack" in _text(graded["emil"], "test_value_backward")


def test_mallory_gains_nothing_over_the_untouched_notebook(graded):
    # the question is answered honestly (her sample keeps the reference's letter): no exploit there
    for task in (t for t in TASKS if not t.startswith("test_choice_")):
        assert graded["mallory"].task(task).score <= graded["ben_untouched"].task(task).score


def test_a_finite_difference_backward_runs_out_of_time_where_the_engine_passes(graded):
    result = graded["fd_engine"].task("test_value_backward")
    assert result.score == 0
    text = result.error + " ".join(c.message for c in result.checks)
    assert "time limit" in text, text
    assert graded["ada_reference"].task("test_value_backward").score == 5
    # the same hidden cases, run in this process with the reference engine: seconds vs the limit
    task = _task("test_value_backward")
    ns = reference_namespace(ASSIGNMENT)
    cases = task.make_cases(np.random.default_rng(1), True)
    start = time.perf_counter()
    for case in cases:
        _, _, error = calls.run_case(assignment_calls(ASSIGNMENT), task.call, (ns["Value"], ns["topological_order"]), case.arrays, case.params)
        assert error is None
    print(f"reference engine on the hidden cases: {time.perf_counter() - start:.2f} s "
          f"(time limit {task.timeout:g} s)")


def _task(grade_id):
    return next(t for t in get_assignment(ASSIGNMENT).tasks if t.grade_id == grade_id)


# ---- the graph builder and its twin ---------------------------------------------------------
def test_the_twin_builds_the_lectures_graphs_with_the_lectures_numbers():
    graphs = __import__("autograder.assignments.a02_scalar_backprop.tasks", fromlist=["LECTURE_GRAPHS"]).LECTURE_GRAPHS
    values, grads = twin.torch_reference(*graphs["circuit"])
    assert values[-1] == -12 and grads.tolist() == [-4, -4, 3]
    values, grads = twin.torch_reference(*graphs["neuron"])
    assert round(values[-1], 4) == 0.7311
    assert np.allclose(grads, [-0.19661193, -0.39322387, 0.19661193, 0.39322387, -0.58983580])
    values, grads = twin.torch_reference(*graphs["staged"])
    assert np.round(grads, 4).tolist() == [2.0596, 1.5922]
    assert twin.torch_reference(*graphs["doubling"])[1].tolist() == [4.0]
    assert twin.replay(*graphs["doubling"], "recursive_per_path").tolist() == [8.0]


def test_replay_without_a_mistake_matches_torch_on_random_graphs():
    rng = np.random.default_rng(0)
    for n_leaves, n_ops in ((1, 5), (3, 40), (6, 200)):
        description, leaves = twin.random_graph(rng, n_leaves, n_ops)
        values, grads = twin.torch_reference(description, leaves)
        assert np.allclose(twin.forward_values(description, leaves), values, rtol=1e-12, atol=0)
        assert np.allclose(twin.replay(description, leaves), grads, rtol=1e-10, atol=1e-12)
        assert np.allclose(twin.replay(description, leaves, order="dfs"), grads, rtol=1e-10, atol=1e-12)


def test_the_builder_works_with_any_value_like_class_and_checks_orders_by_property():
    ns = reference_namespace(ASSIGNMENT)
    description, leaves = twin.random_graph(np.random.default_rng(1), 3, 30)
    built_leaves, nodes = eg.build_with(ns["Value"], description, leaves)
    assert np.allclose(eg.datas(nodes), twin.torch_reference(description, leaves)[0], rtol=1e-12)
    reachable = set(ns["topological_order"](nodes[-1]))
    creation = [n for n in nodes if n in reachable]
    dfs = ns["topological_order"](nodes[-1])
    want = np.array([1.0 if n in reachable else 0.0 for n in nodes])

    def flags(order):  # the trusted side's verdict on the node numbers the sandbox sends back
        number = {id(node): i for i, node in enumerate(nodes)}  # -1: a constant the class wrapped
        return order_flags(description, [number.get(id(n), -1) for n in order]).tolist()

    assert flags(creation) == want.tolist()
    assert flags(dfs) == want.tolist()
    assert sum(flags(creation[::-1])) < want.sum()
    assert flags(creation + creation[:1])[nodes.index(creation[0])] == 0
    assert set(BINARY_OPS) == {name for name, (kind, _) in eg.OPS.items() if kind == "binary"}
    with pytest.raises(eg.BadDescription, match="earlier nodes"):
        eg.check_description({"n_leaves": 1, "ops": [["add", 0, 1]]})


# ---- hidden cases ------------------------------------------------------------------------------
def _depth(description):
    n = description["n_leaves"]
    depth = [1] * n
    for k in range(len(description["ops"])):
        depth.append(1 + max(depth[i] for i in eg.operands(description, k)))
    return depth[-1]


def test_hidden_graphs_mix_every_op_forks_repeats_and_sizes():
    rng = np.random.default_rng(7)
    for grade_id in ("test_value_ops", "test_value_backward"):
        cases = _task(grade_id).make_cases(rng, True)
        used = {entry[0] for c in cases for entry in c.params["graph"]["ops"]}
        assert used == set(eg.OPS)
        leaves = [c.params["graph"]["n_leaves"] for c in cases]
        assert min(leaves) == 1 or grade_id == "test_value_ops"
        repeated = sum(entry[1] == entry[2] for c in cases for entry in c.params["graph"]["ops"]
                       if eg.OPS[entry[0]][0] == "binary")
        assert repeated >= 3
        uses = [np.bincount([i for k in range(len(c.params["graph"]["ops"]))
                             for i in eg.operands(c.params["graph"], k)]).max() for c in cases]
        assert max(uses) >= 3  # forks
        for c in cases:
            assert np.all(np.isfinite(twin.torch_reference(c.params["graph"], c.arrays["leaves"])[1]))
    cases = _task("test_value_backward").make_cases(rng, True)
    assert sum(c.params["twice"] for c in cases) >= 3


def _leaves_reaching_the_output(description):
    return sum(1 for i in twin._dfs_order(description) if i < description["n_leaves"])


def test_the_hidden_chain_is_beyond_recursion_and_every_big_graph_costs_finite_differences():
    """The hidden cases' two deliberate sizes, stated as the properties they exist for.

    Recursion: the deepest hidden graph is deeper than Python's recursion limit by far, and more
    than twice as deep as the visible chain, so a limit raised just to pass that one still fails.
    Finite differences: a backward by differences makes 2 forward passes of the whole graph per
    leaf that reaches the output; a graph with thousands of leaves exists only to cost that, so
    every one of its leaves must reach the output (the margin against the time limit, measured
    side by side with the reference, is in the comment above the case). The runs themselves:
    test_a_finite_difference_backward_runs_out_of_time_where_the_engine_passes."""
    task = _task("test_value_backward")
    visible_depth = max(_depth(c.params["graph"]) for c in task.make_cases(np.random.default_rng(0), False))
    assert visible_depth > sys.getrecursionlimit()
    for seed in range(3):
        cases = task.make_cases(np.random.default_rng(seed), True)
        deepest = max(_depth(c.params["graph"]) for c in cases)
        assert deepest > max(2 * visible_depth, 4 * sys.getrecursionlimit())
        big = [c.params["graph"] for c in cases if c.params["graph"]["n_leaves"] >= 1000]
        assert big
        for description in big:
            assert _leaves_reaching_the_output(description) == description["n_leaves"]
            # every reachable op is recomputed in each forward pass: thousands of passes of thousands of ops
            assert 2 * description["n_leaves"] >= 8000 and len(description["ops"]) >= 6000


def _order_flags_by_definition(description, order):
    """Node i is 1.0 when it appears exactly once, after every one of its operands (each present)."""
    n = eg.n_nodes(description)
    flags = []
    for i in range(n):
        spots = [p for p, node in enumerate(order) if node == i]
        ops = eg.operands(description, i - description["n_leaves"]) if i >= description["n_leaves"] else []
        ok = len(spots) == 1 and all(p_spots and max(p_spots) < spots[0] for p_spots in
                                     ([q for q, node in enumerate(order) if node == op] for op in ops))
        flags.append(1.0 if ok else 0.0)
    return flags


def test_the_vectorised_order_check_matches_its_definition_on_random_orders():
    rng = np.random.default_rng(4)
    for _ in range(150):
        description, _ = twin.random_graph(rng, int(rng.integers(1, 5)), int(rng.integers(1, 25)), p_repeat=0.3)
        n = eg.n_nodes(description)
        order = list(twin._dfs_order(description)) if rng.random() < 0.5 else list(range(n))
        for _ in range(int(rng.integers(0, 4))):  # drop, repeat, swap, insert a non-node, reverse
            move = int(rng.integers(0, 5))
            if move == 0 and order:
                order.pop(int(rng.integers(0, len(order))))
            elif move == 1 and order:
                order.insert(int(rng.integers(0, len(order) + 1)), order[int(rng.integers(0, len(order)))])
            elif move == 2 and len(order) > 1:
                i, j = (int(k) for k in rng.integers(0, len(order), 2))
                order[i], order[j] = order[j], order[i]
            elif move == 3:
                order.insert(int(rng.integers(0, len(order) + 1)), -1)
            else:
                order = order[::-1]
        got = order_flags(description, np.array(order, dtype=np.float64)).tolist()
        assert got == _order_flags_by_definition(description, order), (description, order)


def test_hidden_mlps_have_size_1_and_non_square_layers_and_plain_numbers_hit_ties():
    sizes = [(c.params["nin"], tuple(c.params["nouts"])) for c in _task("test_mlp_gradients").make_cases(
        np.random.default_rng(3), True)]
    assert (1, (1,)) in sizes and any(nin != nouts[0] for nin, nouts in sizes)
    gates = _task("test_local_gradients").make_cases(np.random.default_rng(3), True)
    assert {c.params["op"] for c in gates} == set(("add", "mul", "max", "sigmoid", "tanh", "exp", "pow"))
    assert any(c.params["op"] == "max" and c.arrays["inputs"][0] == c.arrays["inputs"][1] for c in gates)
    for grade_id in TASKS:
        task = _task(grade_id)
        assert set(task.forbidden) >= {"torch", "minigrad", "scipy", "sympy", "jax", "autograd"}
        assert all(check.rtol <= 1e-10 for check in task.checks if check.name not in
                   ("a valid topological order (any one: each node after its inputs)",))


# ---- the visible self-check in the student's kernel -----------------------------------------------
def test_the_visible_self_checks_pass_on_the_reference():
    ns = reference_namespace(ASSIGNMENT)
    for grade_id, names in [("test_local_gradients", ["local_gradients"]), ("test_staged_backprop", ["staged_example"]),
                            ("test_scalar_net", ["scalar_net"]), ("test_value_ops", ["Value"]),
                            ("test_value_backward", ["Value", "topological_order"]),
                            ("test_mlp_gradients", ["MLP", "squared_loss"]),
                            ("test_train_step", ["MLP", "squared_loss", "train_step"])]:
        check(grade_id, *[ns[n] for n in names])


RECURSIVE_PER_PATH = '''

def backward(self, top=True):
    if top:
        self.grad = 1.0
    self._backward()
    for parent in self._prev:
        backward(parent, top=False)

'''

RECURSIVE_SORT = '''
def topological_order(root):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for p in node._prev:
                visit(p)
            order.append(node)
    visit(root)
    return order

'''


def test_the_visible_self_check_names_a_recursive_per_path_backward():
    ns = reference_namespace(ASSIGNMENT, changes={"value_backward": RECURSIVE_PER_PATH})
    with pytest.raises(AssertionError) as failure:
        check("test_value_backward", ns["Value"], ns["topological_order"])
    assert "recursive_per_path" in str(failure.value)


def test_the_visible_self_check_explains_a_recursion_error_on_a_deep_chain():
    ns = reference_namespace(ASSIGNMENT, changes={"value_backward": RECURSIVE_SORT})
    with pytest.raises(AssertionError) as failure:
        check("test_value_backward", ns["Value"], ns["topological_order"])
    assert "RecursionError" in str(failure.value) and "explicit stack" in str(failure.value)


def test_the_visible_self_check_names_a_missing_radd():
    ns = reference_namespace(ASSIGNMENT)
    del ns["Value"].__radd__
    with pytest.raises(AssertionError) as failure:
        check("test_value_ops", ns["Value"])
    assert "define __radd__" in str(failure.value)


# ---- the notebook -------------------------------------------------------------------------------
def test_the_source_notebook_runs_top_to_bottom(tmp_path):
    outputs = run_source_notebook(NOTEBOOK, tmp_path)
    assert "circuit: -12.0 [-4.0, -4.0, 3.0]" in outputs
    assert "df/dx = 2.0596, df/dy = 1.5922" in outputs
    assert "dc/da = 4.0" in outputs
