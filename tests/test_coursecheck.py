"""coursecheck, the test cells' check(...): shipped visible-case data, plain-word messages,
Run All carrying on past a failing check (but not under nbgrader), dependency notes."""
import json
import re
import os
import sys
from pathlib import Path

import jupytext
import numpy as np
import pytest

import coursecheck
from autograder.course.selfcheck import ShippingError, shippable_compare, visible_entry, write_check_data
from autograder.assignments import available_assignments, get_assignment
from coursecheck import CheckFailed, data
from coursecheck._grading import Verdict, compile_compare
from coursecheck.check import evaluate, load_entry

ROOT = Path(__file__).resolve().parents[1]
A01 = "01_finite_differences"


def solutions(assignment=A01):
    """The namespace after running the source notebook's setup and answer cells (solutions)."""
    namespace = {}
    for cell in jupytext.read(ROOT / "notebooks" / f"{assignment}.py").cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("locked")) \
                and not meta.get("grade"):
            exec(cell.source, namespace)  # noqa: S102
    return namespace


def run_cell(source, namespace, capsys):
    """Run a test cell's source the way the notebook does; -> (stdout, stderr)."""
    exec(source, namespace)  # noqa: S102
    captured = capsys.readouterr()
    return captured.out, captured.err


def flat(text):
    """text with its line wrapping undone (messages are wrapped at coursecheck.check.WIDTH)."""
    return " ".join(text.split())


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """A folder holding 01's shipped data, as the kernel's working directory."""
    write_check_data(A01, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    return tmp_path


def test_encoding_keeps_float64_bits_shapes_and_dtypes():
    rng = np.random.default_rng(3)
    value = {"x": rng.normal(size=(2, 3)) * 1e-300, "s": np.float64(0.1 + 0.2), "i": np.arange(4),
             "e": np.zeros((0, 2)), "nested": [("msg", {"k": np.array(np.nan)})]}
    back = data.decode(json.loads(json.dumps(data.encode(value))))
    assert back["x"].tobytes() == value["x"].tobytes() and back["x"].shape == (2, 3)
    assert back["s"] == 0.1 + 0.2 and back["i"].dtype == np.int64 and back["e"].shape == (0, 2)
    assert back["nested"][0][0] == "msg" and np.isnan(back["nested"][0][1]["k"])


def test_every_visible_check_passes_on_the_solutions(shipped, capsys):
    namespace = solutions()
    for task in get_assignment(A01).tasks:
        report = evaluate(load_entry(task.grade_id), [namespace[n] for n in task.functions])
        assert report.passed, report.explanation()
    namespace["check"] = coursecheck.check
    cell = 'check("test_network_gradient", mlp_numerical_gradients)'
    out, err = run_cell(cell, namespace, capsys)
    assert "all 2 checks pass" in flat(out) and err == ""


def test_the_shipped_data_holds_visible_cases_only_and_no_grader_code(shipped):
    text = (shipped / f"{A01}{data.SUFFIX}").read_text()
    for secret in ("torch", "make_cases", "_exact_gradient", "_checker_cases", "hidden"):
        assert secret not in text
    entry = load_entry("test_numerical_gradient")
    spec = get_assignment(A01).tasks[3]
    visible = spec.make_cases(np.random.default_rng(0), False)
    assert len(entry["cases"]) == len(visible) == 2
    for shipped_ref, case in zip(entry["references"], visible):
        np.testing.assert_array_equal(shipped_ref["grad"], spec.reference(case)["grad"])
    # The one custom comparison travels as its own source, nothing else of the task module.
    (compare,) = [c["compare"] for c in load_entry("test_gradient_check")["checks"] if c["compare"]]
    assert compare["source"].startswith("def _compare_check(")


def test_the_kernel_uses_the_shipped_file(shipped):
    path = shipped / f"{A01}{data.SUFFIX}"
    raw = json.loads(path.read_text())
    raw["tasks"]["test_forward_difference"]["references"][0]["value"]["data"] = [123.0]
    path.write_text(json.dumps(raw))
    report = evaluate(load_entry("test_forward_difference"), [solutions()["forward_difference"]])
    assert not report.passed and "123" in report.explanation()


def test_a_wrong_answer_is_explained_with_inputs_expected_got_and_the_mistake(shipped, capsys):
    namespace = {"check": coursecheck.check,
                 "forward_difference": lambda f, x, h: f(x + h) - f(x)}
    out, err = run_cell('check("test_forward_difference", forward_difference)', namespace, capsys)
    assert out == ""
    assert "f = sin3, x = 0.5, h = 0.001" in err
    assert "expected: 0.2077225626" in err and "got:      0.0002077" in err
    assert "you did not divide the difference by h" in err.lower()
    for grader_word in ("forward_undivided", "Failed", "visible test", "Traceback", "selfcheck"):
        assert grader_word not in err


def test_run_all_carries_on_but_nbgrader_sees_the_failure(shipped, capsys, monkeypatch):
    def unanswered(f, x, h):
        raise NotImplementedError()

    namespace = {"check": coursecheck.check, "central_difference": unanswered}
    cell = 'check("test_central_difference", central_difference)\nafter = True'
    out, err = run_cell(cell, namespace, capsys)
    assert namespace["after"] is True and "not answered yet" in err
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(CheckFailed) as failed:
        exec('check("test_central_difference", central_difference)', namespace)  # noqa: S102
    # IPython shows an exception with _render_traceback_ as these lines alone: no traceback.
    assert failed.value._render_traceback_() == str(failed.value).splitlines()
    assert "not answered yet" in str(failed.value)


def test_a_dependency_that_fails_its_own_check_is_named(shipped, capsys):
    namespace = solutions()
    namespace["check"] = coursecheck.check
    cell = 'check("test_gradient_check", relative_error, gradient_check)'
    out, _ = run_cell(cell, namespace, capsys)
    assert "pass" in out
    correct = namespace["numerical_gradient"]
    namespace["numerical_gradient"] = lambda f, x, h=1e-5: 2 * correct(f, x, h)
    out, err = run_cell(cell, namespace, capsys)
    assert ("uses your numerical_gradient, which fails its own check (test_numerical_gradient)"
            in flat(err))
    namespace["numerical_gradient"] = correct
    namespace["gradient_check"] = lambda f, grad_f, x, h=1e-5: 0.0
    out, err = run_cell(cell, namespace, capsys)
    assert "numerical_gradient, which passes its own check" in flat(err)


def test_hidden_checks_need_the_full_grader(shipped, monkeypatch, capsys):
    namespace = solutions()
    coursecheck.check("test_numerical_gradient", namespace["numerical_gradient"], hidden=True)
    assert "hidden tests pass" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "autograder.course.selfcheck", None)  # as in a student install
    with pytest.raises(CheckFailed, match="only the instructor's installation"):
        coursecheck.check("test_numerical_gradient", namespace["numerical_gradient"], hidden=True)


def test_without_data_the_student_is_told_where_it_should_be(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, "autograder.course.selfcheck", None)
    with pytest.raises(CheckFailed, match=r"<assignment>\.checks\.json must be next to it"):
        load_entry("test_forward_difference")


@pytest.mark.parametrize("assignment", available_assignments())
def test_every_assignment_ships_its_visible_checks(assignment, tmp_path):
    """The build-time precomputation works for any assignment written in the spec's shape."""
    path = write_check_data(assignment, str(tmp_path))
    for task in get_assignment(assignment).tasks:
        entry = data.find_entry(task.grade_id, str(tmp_path))
        assert entry["grade_id"] == task.grade_id and entry["cases"]
        assert len(entry["references"]) == len(entry["variants"]) == len(entry["cases"])
        assert "import torch" not in Path(path).read_text()


_TOLERANCE = 1e-6


def _close(a, b):
    return abs(a - b) < _TOLERANCE


def _uses_a_helper_and_a_constant(reference, outputs, case):
    return Verdict(_close(float(outputs["x"]), float(reference["x"])))


def _uses_a_module(reference, outputs, case):
    return Verdict(os.path.exists(str(outputs["x"])))


def test_a_comparison_ships_with_its_helpers_and_constants_and_runs_as_in_the_grader():
    spec = shippable_compare(_uses_a_helper_and_a_constant)
    shipped = compile_compare(spec)
    assert "_TOLERANCE = 1e-06" in spec["source"] and "def _close" in spec["source"]
    for x in (1.0, 1.1):
        arrays = ({"x": np.asarray(1.0)}, {"x": np.asarray(x)}, None)
        assert shipped(*arrays).passed == _uses_a_helper_and_a_constant(*arrays).passed


def test_a_comparison_that_needs_a_module_is_refused_at_build_time():
    with pytest.raises(ShippingError, match="'os'"):
        shippable_compare(_uses_a_module)
    assert visible_entry("test_no_such_cell") is None


# --- issue 17: messages a student can read -----------------------------------------------------

@pytest.fixture
def shipped_all(tmp_path, monkeypatch):
    """Every assignment's shipped data in the kernel's working directory."""
    for assignment in available_assignments():
        write_check_data(assignment, str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    return tmp_path


def test_an_error_in_the_backward_is_said_once_and_the_forward_is_not_blamed(shipped_all):
    namespace = solutions("03_vectorized_mlp")
    exec("def affine_backward(dout, cache):\n    x, W = cache\n"  # noqa: S102
         "    return dout @ W, x.T @ dout, dout.sum(axis=0)\n", namespace)
    report = evaluate(load_entry("test_affine"), [namespace["affine_forward"], namespace["affine_backward"]])
    text = report.explanation()
    assert "forward" not in " ".join(f.check for f in report.failures)
    assert text.count("your code raised") == 1 and text.count("  inputs:\n") <= 2
    assert "dx is dout W instead of dout W^T" in flat(text)      # named, on the square case
    assert max(map(len, text.splitlines())) <= 92


def test_large_inputs_are_summarised_and_the_useful_line_stays(shipped_all):
    namespace = solutions("02_scalar_backprop")
    exec("def topological_order(root):\n    order, seen = [], set()\n"  # noqa: S102
         "    def visit(node):\n        if id(node) in seen:\n            return\n"
         "        seen.add(id(node))\n        for p in node._prev:\n            visit(p)\n"
         "        order.append(node)\n    visit(root)\n    return order\n", namespace)
    report = evaluate(load_entry("test_value_backward"), [namespace["Value"], namespace["topological_order"]])
    text = report.explanation()
    assert len(text) < 2500, len(text)
    assert "RecursionError on a graph of 3501 nodes" in flat(text) and "explicit stack" in text
    assert "2100 items" in text  # the graph's ops, summarised by their number


def test_one_check_is_counted_in_words_and_names_keep_their_case():
    from coursecheck.check import Report, format_param, sentence, wrap
    report = Report("g", "f(x)", {"cases": []}, 1)
    assert report.explanation() == "f(x): the one check passes on this cell's inputs."
    assert sentence("dW is dout^T x") == "dW is dout^T x"
    assert sentence("grad2_leaves: off by a factor") == "grad2_leaves: off by a factor"
    assert sentence("you computed the backward difference") == "You computed the backward difference"
    long = "  likely mistake: " + "word " * 40
    assert all(len(line) <= 92 and not line.endswith("wor") for line in wrap(long).splitlines())
    assert len(format_param(list(range(5000)))) < 170


def test_an_import_that_is_missing_says_what_to_install(shipped_all, capsys):
    namespace = solutions("03_vectorized_mlp")
    exec("def affine_forward(x, W, b):\n    import not_a_package_here\n", namespace)  # noqa: S102
    report = evaluate(load_entry("test_affine"), [namespace["affine_forward"], namespace["affine_backward"]])
    text = flat(report.explanation())
    assert "imports not_a_package_here, which is not installed here" in text
    assert "pip install not_a_package_here" in text and "Run All carries on" in text
    assert report.missing_module == "not_a_package_here" and not report.passed


def test_a_cell_whose_checks_wait_for_grading_still_tells_a_stub_from_an_answer(shipped_all):
    namespace = solutions("05_autodiff_internals")
    functions = [namespace[n] for n in ("breadth_first_counterexample", "Plus", "Times", "Sigmoid", "Tensor")]
    answered = flat(evaluate(load_entry("test_counterexample"), functions).explanation())
    assert "your code runs on this cell's input" in answered
    assert answered.count("Checked only when your notebook is graded") == 1
    assert answered.count("graded") == 1

    def stub():
        raise NotImplementedError()
    unanswered = evaluate(load_entry("test_counterexample"), [stub] + functions[1:])
    assert unanswered.unanswered and "not answered yet" in unanswered.explanation()

    def broken():
        return None
    text = flat(evaluate(load_entry("test_counterexample"), [broken] + functions[1:]).explanation())
    assert "not right yet" in text and text != answered


@pytest.mark.parametrize("assignment, grade_id, cell, functions", [
    ("02_scalar_backprop", "test_value_ops",
     "def _relu_ge(self):\n    out = Value(self.data if self.data > 0 else 0.0, (self,), 'relu')\n"
     "    def _backward():\n        self.grad += (1.0 if self.data >= 0 else 0.0) * out.grad\n"
     "    out._backward = _backward\n    return out\nValue.relu = _relu_ge\n", ("Value",)),
    ("03_vectorized_mlp", "test_activations",
     "def relu_backward(dout, cache):\n    return dout * (cache >= 0)\n",
     ("relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward",
      "tanh_backward")),
])
def test_a_relu_derivative_of_1_at_0_fails_the_visible_checks(shipped_all, assignment, grade_id,
                                                               cell, functions):
    namespace = solutions(assignment)
    assert evaluate(load_entry(grade_id), [namespace[n] for n in functions]).passed
    exec(cell, namespace)  # noqa: S102
    report = evaluate(load_entry(grade_id), [namespace[n] for n in functions])
    assert not report.passed and not report.raised, report.explanation()


def test_max_pool_assigning_at_overlaps_is_named_and_feature_maps_are_shown_by_one_slice(shipped_all):
    namespace = solutions("04_cnn_attention_backward")
    exec("def max_pool2d_backward(dout, cache):\n"  # noqa: S102
         "    x, k, s = cache\n    dx = np.zeros_like(x, dtype=np.float64)\n"
         "    N, C, Ho, Wo = dout.shape\n"
         "    for n in range(N):\n        for c in range(C):\n            for i in range(Ho):\n"
         "                for j in range(Wo):\n"
         "                    win = x[n, c, i*s:i*s+k, j*s:j*s+k]\n"
         "                    p, q = np.unravel_index(np.argmax(win), win.shape)\n"
         "                    dx[n, c, i*s+p, j*s+q] = dout[n, c, i, j]\n"
         "    return dx\n", namespace)
    report = evaluate(load_entry("test_max_pool2d"),
                      [namespace["max_pool2d_forward"], namespace["max_pool2d_backward"]])
    text = report.explanation()
    assert "you assigned (=) its gradient, so only the last window's survives" in flat(text)
    assert len(text) < 3000 and "slices of" in text
    assert max(map(len, text.splitlines())) <= 92


def test_a_class_answered_in_part_says_not_answered_yet_in_full(shipped_all):
    namespace = solutions("02_scalar_backprop")
    exec("def _stub(self):\n    raise NotImplementedError()\nValue.relu = _stub\n", namespace)  # noqa: S102
    report = evaluate(load_entry("test_value_ops"), [namespace["Value"]])
    text = flat(report.explanation())
    assert report.unanswered and not report.passed
    assert re.search(r"not answered yet in full: \d+ of the \d+ inputs", text)
    assert "raised" not in text and len(text) < 400
