"""End to end on assignment 01: samples, exploits and broken submissions in one graded batch.

One batch grades the bundled samples, a wrong baseline (every function returns zeros), the
reference solution, a set of exploit notebooks and some broken submissions. Every exploit must
score no more than the same answer without the exploit.
"""
import csv
import json
import os
import re
import shutil
import textwrap

import nbformat
import numpy as np
import pytest

from autograder.course import samples
from autograder.running import isolation
from autograder.course.export import export_csv
from autograder.course.feedback import render, write_feedback
from autograder.course.gradebook import open_gradebook
from autograder.course.layout import Course
from autograder.course.grading import grade_assignment, grade_submission
from autograder.judging.spec import draw_cases
from autograder.judging.results import SubmissionResult
from autograder.assignments import get_assignment

from autograder_course import (ASSIGNMENT, ZERO_ANSWERS, course_template, fresh_course,  # noqa: F401
                               made_once, notebooks, record_grader_memory, submit_answers, submit_raw)
from helpers_exploits import exploits, submit_exploits

TASKS = ["test_forward_difference", "test_backward_difference", "test_central_difference",
         "test_numerical_gradient", "test_gradient_check", "test_network_gradient", "test_choice_central"]

# Expected (scores per task in TASKS order, named mistakes) of the bundled samples.
SAMPLES = {
    "ada_reference": ([2, 2, 2, 5, 4, 5, 1], set()),
    "ben_untouched": ([0, 0, 0, 0, 0, 0, 0], set()),
    "chen": ([2, 2, 0, 4, 4, 4, 1], {"central_2h", "input_modified"}),
    "dana": ([0, 0, 2, 5, 2, 1, 1], {"forward_undivided", "wrong_sign", "no_floor", "factor_2"}),
    "emil": ([2, 0, 2, 1, 2, 1, 1], {"all_at_once", "zeros"}),
    "mallory": ([0, 0, 0, 1, 0, 1, 1], {"zeros"}),
}


def with_prefix(answers, grade_id, prefix):
    changed = dict(answers)
    changed[grade_id] = textwrap.dedent(prefix) + "\n" + changed[grade_id]
    return changed


def replace(answers, grade_id, code):
    changed = dict(answers)
    changed[grade_id] = textwrap.dedent(code)
    return changed


PATCHES = """
import math, sys
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
math.isclose = lambda *a, **k: True
try:
    import torch
    torch.allclose = lambda *a, **k: True
except ImportError:
    pass
"""

IPYTHON_HOOKS = """
import ast
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: [l.replace("assert ", "pass #") for l in lines])
class NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
ip.ast_transformers.append(NoAsserts())
ip.events.register("pre_run_cell", lambda info: None)
"""

ALWAYS_EQUAL = {
    "forward_difference": """
        class Yes:
            def __eq__(self, other):
                return True
            __hash__ = None
            def __float__(self):
                return 0.0
        def forward_difference(f, x, h):
            return Yes()
    """,
    "backward_difference": """
        class YesFloat(float):
            def __eq__(self, other):
                return True
            __hash__ = float.__hash__
        def backward_difference(f, x, h):
            return YesFloat(0.0)
    """,
    "numerical_gradient": """
        class YesArray(np.ndarray):
            def __eq__(self, other):
                return np.ones(self.shape, dtype=bool)
        def numerical_gradient(f, x, h=1e-5):
            return np.zeros(x.shape).view(YesArray)
    """,
}



FILES_ISOLATED = isolation.bwrap_works()
NO_FILE_ISOLATION = ("bubblewrap cannot create namespaces here: without it student code can read "
                     "and write the course's files (the documented fallback)")

def files_exploit(course):
    return f"""
        import os, sqlite3
        TARGETS = [{course.source_notebook(ASSIGNMENT)!r}, {course.gradebook!r}]
        def central_difference(f, x, h):
            found = 0.0
            for path in TARGETS:
                try:
                    found += len(open(path, "rb").read())
                except OSError:
                    pass
            try:
                db = sqlite3.connect(TARGETS[1])
                db.execute("UPDATE grade SET auto_score = 99")
                db.commit()
            except Exception:
                pass
            return found
    """


# numerical_gradient without finite differences: exact gradients reachable from f (the sandbox
# once held them in sandbox.functions), else the gradient written by hand for the f found in
# f's closure, evaluating f once; and scipy's own numerical differentiation.
CLOSURE_GRADIENT = """
    import sys
    import numpy as np
    def numerical_gradient(f, x, h=1e-5):
        seen, stack, extra = set(), [f], {}
        while stack:
            obj = stack.pop()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            for cell in getattr(obj, "__closure__", None) or ():
                try:
                    value = cell.cell_contents
                except ValueError:
                    continue
                if isinstance(value, dict):
                    extra.update(value)
                elif callable(value):
                    stack.append(value)
        a, M = extra.get("a"), extra.get("M")
        table = getattr(sys.modules.get("sandbox.functions"), "VECTOR_GRADIENTS", None)
        if table is not None:
            return table["smooth_mix"](x, a, M) if M is not None else table["log_sum_exp"](x, a)
        f(x)
        if M is not None:
            flat = x.reshape(-1)
            return a * np.cos(x) + (0.5 * (M + M.T) @ flat).reshape(x.shape) + (1 - np.tanh(x.sum()) ** 2)
        z = a * x
        w = np.exp(z - z.max())
        return a * w / w.sum()
"""

SCIPY_GRADIENT = """
    def numerical_gradient(f, x, h=1e-5):
        from scipy.optimize._numdiff import approx_derivative
        flat = approx_derivative(lambda z: f(z.reshape(x.shape)), x.reshape(-1).astype(float), method="3-point")
        return flat.reshape(x.shape)
"""


def exploit_submissions(course, reference):
    """{student: (answers, extra_cells, edit, baseline student)} for every exploit."""
    torch_network = """
        def mlp_numerical_gradients(params, X, Y, h=1e-5):
            try:
                import torch
            except ImportError:
                return {k: np.zeros(v.shape) for k, v in params.items()}
            t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
            Xt, Yt = torch.tensor(X), torch.tensor(Y)
            A = torch.relu(Xt @ t["W1"].T + t["b1"])
            loss = 0.5 * ((A @ t["W2"].T + t["b2"] - Yt) ** 2).sum() / X.shape[0]
            loss.backward()
            return {k: v.grad.numpy() for k, v in t.items()}
    """
    exits = replace(replace(reference, "forward_difference", """
        import sys
        def forward_difference(f, x, h):
            sys.exit(0)
    """), "backward_difference", """
        import os
        def backward_difference(f, x, h):
            os._exit(0)
    """)
    exits["central_difference"] += "\nimport sys\nsys.exit(0)\n"

    def edit_cells(nb):
        cells = nb.cells
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in cells}
        first = nbformat.from_dict(dict(by_id["forward_difference"]))
        first.id = "duplicate-forward"
        first.source = "def forward_difference(f, x, h):\n    return (f(x + h) - f(x)) / (2 * h)\n"
        cells.insert(cells.index(by_id["forward_difference"]), first)   # wrong copy first
        by_id["backward_difference"].cell_type = "markdown"
        by_id["backward_difference"].pop("outputs", None)
        by_id["backward_difference"].pop("execution_count", None)
        cells.remove(by_id["central_difference"])
        by_id["test_network_gradient"].metadata["nbgrader"]["points"] = 100
        by_id["test_forward_difference"].source = "pass"
        by_id["mlp_definition"].source = "def mlp_loss(params, X, Y):\n    return 0.0\n"
        fake = nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {
            "grade_id": "test_gradient_check", "grade": True, "points": 50, "solution": False,
            "locked": True, "schema_version": 3, "task": False}})
        cells.append(fake)

    warn = with_prefix(reference, "forward_difference", """
        import sys, warnings
        print("a note on stderr", file=sys.stderr)
        warnings.warn("deprecated something")
    """)
    warn["numerical_gradient"] += "\nimport numpy\nnumpy.log(0.0)\n"
    return {
        "x_patch": (with_prefix(ZERO_ANSWERS, "forward_difference", PATCHES), (), None, "zero"),
        "x_equal": ({**ZERO_ANSWERS, **{k: textwrap.dedent(v) for k, v in ALWAYS_EQUAL.items()}}, (), None, "zero"),
        "x_ipython": (with_prefix(ZERO_ANSWERS, "forward_difference", IPYTHON_HOOKS), (IPYTHON_HOOKS,), None, "zero"),
        # Without bubblewrap, student code can read and write the course's files (the
        # documented fallback): this exploit would really succeed there, so it is not handed in.
        **({"x_files": (replace(ZERO_ANSWERS, "central_difference", files_exploit(course)), (), None, "zero")}
           if FILES_ISOLATED else {}),
        "x_torch": (replace(reference, "network_gradient", torch_network), (), None, "ref_zero_network"),
        "x_exit": (exits, (), None, None),
        "x_loop": (replace(reference, "central_difference", """
            def central_difference(f, x, h):
                while True:
                    pass
        """), (), None, None),
        "x_memory": (replace(reference, "network_gradient", """
            def mlp_numerical_gradients(params, X, Y, h=1e-5):
                hoard = []
                while True:
                    hoard.append(np.ones(10**7))
        """), (), None, None),
        "x_fork": (replace(reference, "gradient_check", reference["gradient_check"].replace(
            "def gradient_check(f, grad_f, x, h=1e-5):",
            "def gradient_check(f, grad_f, x, h=1e-5):\n    import os\n    while True:\n        os.fork()")),
            (), None, None),
        "x_cells": (reference, (), edit_cells, None),
        "x_closure": (replace(ZERO_ANSWERS, "numerical_gradient", CLOSURE_GRADIENT), (), None, "zero"),
        "x_scipy": (replace(ZERO_ANSWERS, "numerical_gradient", SCIPY_GRADIENT), (), None, "zero"),
        "x_warn": (warn, ("import sys\nprint('scratch', file=sys.stderr)",), None, "reference"),
    }


def grade_batch(root, template):
    """Hand in samples, baselines, exploits and broken submissions; grade them; save the errors."""
    course = fresh_course(template, str(root / "course"))
    source, release = notebooks(course)
    reference = samples.reference_answers(source)
    for student in SAMPLES:
        samples.submit(course, ASSIGNMENT, student, samples.sample_notebook(ASSIGNMENT, student, source, release))
    submit_answers(course, "zero", ZERO_ANSWERS)
    submit_answers(course, "reference", reference)
    submit_answers(course, "ref_zero_network", {**reference, "network_gradient": ZERO_ANSWERS["network_gradient"]})
    for student, (answers, extra, edit, _) in exploit_submissions(course, reference).items():
        submit_answers(course, student, answers, extra, edit)
    submit_raw(course, "bad_json", f"{ASSIGNMENT}.ipynb", b'{"cells": [ {"cell_type": "code"')
    submit_raw(course, "bad_nbformat3", f"{ASSIGNMENT}.ipynb", {"nbformat": 3, "nbformat_minor": 0, "worksheets": []})
    submit_raw(course, "bad_name", "Untitled.ipynb", nbformat.writes(release).encode())
    submit_raw(course, "bad_empty", None, None)
    # issue 16 A: 10 MB of nested brackets (under the size cap) once stopped the whole batch with a
    # RecursionError in json.loads
    submit_raw(course, "bad_deep", f"{ASSIGNMENT}.ipynb",
               b'{"nbformat": 4, "cells": ' + b"[" * 5_000_000 + b"]" * 5_000_000 + b"}")
    for letter in ("d", "e", "B"):  # a wrong option, no option, the right one in capitals
        submit_answers(course, f"q_{letter}", replace(reference, "choice_central", f"""
            def choice_central():
                return "{letter}"
        """))
    folder = submit_answers(course, "odd_timestamp", reference)
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write("yesterday, around lunch")
    submit_exploits(ASSIGNMENT, course, source, release)
    report = grade_assignment(course.root, ASSIGNMENT, workers=2, progress=False)
    (root / "errors.json").write_text(json.dumps(report.errors))
    record_grader_memory(root)


def class_batch(tmp_path_factory, template):
    """(course, {student: error}, {student: SubmissionResult}) of 01's one graded batch (also
    the exploit battery's, ``test_autograder_exploits``)."""
    root = made_once(tmp_path_factory, "autograder-batch", lambda root: grade_batch(root, template))
    course = Course(str(root / "course"))
    errors = dict(json.loads((root / "errors.json").read_text()))
    results = {s: SubmissionResult.load(course.autograded_dir(s, ASSIGNMENT))
               for s in course.students_with_submissions(ASSIGNMENT) if s not in errors}
    return course, errors, results


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_template):
    """(course, {student: error}, {student: SubmissionResult}, exploits) of the one graded batch."""
    course, errors, results = class_batch(tmp_path_factory, course_template)
    source, _ = notebooks(course)
    return course, errors, results, exploit_submissions(course, samples.reference_answers(source))


def scores(result):
    return [result.task(t).score for t in TASKS]


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_samples_get_expected_scores_and_named_mistakes(graded, student):
    _, _, results, _ = graded
    expected_scores, expected_mistakes = SAMPLES[student]
    result = results[student]
    assert scores(result) == expected_scores
    found = {code for t in result.tasks for code in t.mistake_codes}
    assert expected_mistakes <= found, found


def test_gradebook_holds_the_scores_for_nbgrader(graded, tmp_path):
    _, _, results, _ = graded
    course = Course(str(tmp_path / "course"))
    shutil.copytree(graded[0].root, course.root)
    gb = open_gradebook(course)
    try:
        for student, result in results.items():
            submission = gb.find_submission(ASSIGNMENT, student)
            assert submission.score == pytest.approx(result.score)
            assert submission.max_score == 22  # with the written answer (1 point), ungraded here
        assert gb.find_submission(ASSIGNMENT, "ada_reference").score == 21
    finally:
        gb.close()
    rows = list(csv.DictReader(open(export_csv(course.root, ASSIGNMENT, out=lambda *a: None))))
    dana = next(r for r in rows if r["student"] == "dana")
    assert [float(dana[t]) for t in TASKS] == SAMPLES["dana"][0]
    assert float(dana["total"]) == 11 and float(dana["max_score"]) == 22


def test_a_multiple_choice_question_names_the_wrong_option_and_hides_the_right_one(graded):
    _, errors, results, _ = graded
    wrong, invalid, capital = (results[s].task("test_choice_central") for s in ("q_d", "q_e", "q_B"))
    assert (wrong.score, invalid.score, capital.score) == (0, 0, 1)
    assert wrong.mistake_codes == ["exact_for_polynomials"]
    check = wrong.checks[0]
    assert "That is not the right choice" in check.message and "(d):" in check.mistakes[0]["message"]
    assert "third derivative" in check.mistakes[0]["message"]            # the trusted text, whole
    assert not invalid.mistake_codes and invalid.checks[0].passed is False
    # the notebook's self-check ships no reference and no compare: nothing says which letter is right
    from autograder.course.selfcheck import visible_entry
    entry = visible_entry("test_choice_central")
    assert entry["checks"] == [] and entry["references"] == [{}] and entry["variants"] == [{}]
    assert entry["graded_only"] == ["the right choice"]


@pytest.mark.parametrize("student", ["x_patch", "x_equal", "x_ipython", "x_files", "x_torch", "x_closure",
                                     "x_scipy"])
def test_exploits_gain_nothing_over_the_same_wrong_answer(graded, student):
    _, _, results, exploits = graded
    if student not in exploits:
        pytest.skip(NO_FILE_ISOLATION)
    baseline = exploits[student][3]
    assert results[student].score <= results[baseline].score
    for task in TASKS:
        assert results[student].task(task).score <= results[baseline].task(task).score


@pytest.mark.skipif(not FILES_ISOLATED, reason=NO_FILE_ISOLATION)
def test_the_gradebook_cannot_be_read_or_written_by_student_code(graded):
    _, _, results, _ = graded
    assert results["x_files"].task("test_central_difference").score == 0
    assert results["reference"].score == 21 and results["zero"].score == 2


def test_correct_answers_with_warnings_on_stderr_keep_full_marks(graded):
    _, _, results, _ = graded
    assert results["x_warn"].score == 21


@pytest.mark.parametrize("student, lost, reason", [
    ("x_exit", {"test_forward_difference": "sys.exit", "test_backward_difference": "ended the Python process"}, None),
    ("x_loop", {"test_central_difference": "time limit"}, None),
    ("x_memory", {"test_network_gradient": "memory"}, None),
    ("x_fork", {"test_gradient_check": ""}, None),
])
def test_a_crash_costs_only_the_task_it_happened_in(graded, student, lost, reason):
    _, _, results, _ = graded
    result = results[student]
    for task in TASKS:
        if task in lost:
            assert result.task(task).score < result.task(task).points
            text = result.task(task).error + " ".join(c.message for c in result.task(task).checks)
            assert lost[task].lower() in text.lower(), text
        else:
            assert result.task(task).score == result.task(task).points, (task, result.task(task))


def test_edited_deleted_duplicated_and_retyped_cells_gain_nothing(graded):
    course, _, results, _ = graded
    result = results["x_cells"]
    assert scores(result) == [0, 0, 0, 5, 4, 5, 1]  # network uses the original mlp_loss
    assert result.max_score == 21
    joined = " ".join(result.notes)
    for phrase in ("more than once", "markdown", "missing", "read-only cell 'mlp_definition'", "points"):
        assert phrase in joined, phrase


def test_broken_submissions_get_one_clear_line_and_the_batch_goes_on(graded):
    course, errors, results, _ = graded
    assert set(errors) == {"bad_json", "bad_nbformat3", "bad_name", "bad_empty", "bad_deep"}
    assert "nests deeper" in errors["bad_deep"]
    assert "not valid JSON" in errors["bad_json"]
    assert "nbformat 3" in errors["bad_nbformat3"]
    assert "Untitled.ipynb" in errors["bad_name"]
    assert "empty" in errors["bad_empty"]
    assert results["odd_timestamp"].score == 21  # an unreadable timestamp is just left out
    source, release = notebooks(course)
    battery = {"innocent", *exploits(get_assignment(ASSIGNMENT), source, release)}  # helpers_exploits
    assert len(results) == len(SAMPLES) + 4 + 3 + len(graded[3]) + len(battery)  # 3: the q_ letters


def test_feedback_names_mistakes_and_hides_hidden_tests(graded, tmp_path):
    shared, _, _, _ = graded
    course = Course(str(tmp_path / "course"))
    shutil.copytree(shared.root, course.root)
    paths = write_feedback(course.root, ASSIGNMENT, out=lambda *a: None)
    pages = {os.path.basename(os.path.dirname(os.path.dirname(p))): open(p).read() for p in paths}
    assert "forward_undivided" in pages["dana"] and "wrong_sign" in pages["dana"]
    assert "NameError" in pages["emil"] and "line 3" in pages["emil"]
    for page in pages.values():
        assert "HIDDEN TESTS" not in page and "hidden=True" not in page
    autograded = nbformat.read(os.path.join(course.autograded_dir("dana", ASSIGNMENT), f"{ASSIGNMENT}.ipynb"), 4)
    text = nbformat.writes(autograded)
    assert "hidden=True" not in text and "wrong_sign" in text  # verdicts shown as test-cell outputs


def test_hidden_inputs_never_appear_in_feedback(graded):
    course, _, _, _ = graded
    source, release = notebooks(course)
    assignment = get_assignment(ASSIGNMENT)
    seed = 12345
    result, _ = grade_submission(course, assignment, "dana", source, release, seed=seed)
    page = render(result) + result.to_json().replace(result.log, "")
    hidden_values = set()
    for task_id, (cases, hidden) in draw_cases(assignment, seed).items():
        for case, is_hidden in zip(cases, hidden):
            if is_hidden:
                for array in case.arrays.values():
                    hidden_values.update(np.asarray(array, dtype=float).ravel().tolist())
    numbers = {float(m) for m in re.findall(r"-?\d+\.\d{3,}(?:e-?\d+)?", page)}
    leaked = [v for v in hidden_values for n in numbers if abs(v) > 1e-3 and abs(n - v) <= 1e-5 * abs(v)]
    assert leaked == []
