"""The trusted side of the notebooks' self-checks (``coursecheck``).

At build time, ``visible_entry`` turns one task spec into what the student's kernel needs for
the test cell's visible checks: the visible cases' inputs, their references and known wrong
answers (evaluated here, with torch where the spec uses it), the checks' keys and tolerances,
and which other answers the task calls. ``write_check_data`` ships one assignment's entries next
to its notebook. A check with its own comparison (``Check.compare``) ships that function's
source, with the module-level helpers and constants it uses; they may use only ``np``,
``Verdict``, ``Mistake`` and ``rel_error``: never the rest of the task module.

``run_hidden`` runs a task's hidden cases with a fresh seed: only the instructor's source
notebook calls it (``check(..., hidden=True)``), and only this installation can.
"""
import inspect
import os
import secrets
import textwrap

import numpy as np

from coursecheck import data

from ..judging.compare import COMPARE_NAMESPACE
from ..judging.judge import judge_task
from ..running.runner import TaskRun
from ..sandbox import calls
from ..assignments import available_assignments, folder_name, get_assignment
from ..assignments import calls as assignment_calls


class ShippingError(Exception):
    """Part of a task spec cannot be shipped to the student's kernel as it is written."""


def find_task(grade_id):
    for assignment_id in available_assignments():
        for task in get_assignment(assignment_id).tasks:
            if task.grade_id == grade_id:
                return assignment_id, task
    raise KeyError(f"no task spec with grade_id {grade_id!r}")


def _names(code):
    """Every global or attribute name a code object (and the code nested in it) mentions."""
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names(const)
    return names


_CONSTANT_TYPES = (bool, int, float, str, type(None))


def _is_constant(value):
    """Plain data whose repr() rebuilds it in COMPARE_NAMESPACE (numbers, text, Mistakes and
    tuples, lists and dicts of them)."""
    if isinstance(value, (tuple, list)):
        return all(_is_constant(v) for v in value)
    if isinstance(value, dict):
        return all(_is_constant(k) and _is_constant(v) for k, v in value.items())
    return isinstance(value, _CONSTANT_TYPES) or type(value) is COMPARE_NAMESPACE["Mistake"]


def _shippable_parts(fn, parts, seen):
    """Add to `parts` (in definition order) the sources fn needs: the module-level helper
    functions and plain constants it uses, then fn itself; ShippingError for anything else."""
    where = f"{fn.__module__}.{fn.__qualname__}"
    if fn.__closure__ or "<locals>" in fn.__qualname__:
        raise ShippingError(f"{where}: a Check.compare shipped to students must be a module-level "
                            "function (no closure)")
    seen.add(fn.__name__)
    for name in sorted(_names(fn.__code__)):
        if name in seen or name not in fn.__globals__:  # builtins and attribute names
            continue
        value = fn.__globals__[name]
        if name in COMPARE_NAMESPACE:
            if value is not COMPARE_NAMESPACE[name]:
                raise ShippingError(f"{where}: {name!r} is not the {name} students get")
            continue
        if inspect.isfunction(value) and value.__module__ == fn.__module__:
            _shippable_parts(value, parts, seen)
        elif _is_constant(value):
            seen.add(name)
            parts.append(f"{name} = {value!r}\n")
        else:
            raise ShippingError(f"{where} uses {name!r} ({type(value).__name__}); a comparison "
                                f"shipped to students may use only {', '.join(COMPARE_NAMESPACE)}, "
                                "plain constants and other such functions of its module")
    parts.append(textwrap.dedent(inspect.getsource(fn)))


def shippable_compare(fn):
    """{"name", "source"} of a custom comparison: its source after the module-level helper
    functions and constants it uses, checked to need nothing beyond COMPARE_NAMESPACE."""
    parts = []
    _shippable_parts(fn, parts, set())
    spec = {"name": fn.__name__, "source": "\n".join(parts)}
    namespace = dict(COMPARE_NAMESPACE)
    # compiled here as the kernel will, so that default arguments must resolve too
    exec(compile(spec["source"], f"{fn.__module__}.{fn.__qualname__}", "exec"), namespace)  # noqa: S102
    return spec


def _dependencies(task, assignment):
    """Tasks whose answer cells this one also exercises (gradient_check calls
    numerical_gradient)."""
    mine = set(task.answer_cells)
    return [{"grade_id": other.grade_id, "title": other.title, "functions": list(other.functions)}
            for other in assignment.tasks
            if other is not task and set(other.answer_cells) < mine]


def visible_entry(grade_id):
    """The JSON-able self-check data of one test cell; None for an unknown grade_id."""
    try:
        assignment_id, task = find_task(grade_id)
    except KeyError:
        return None
    cases = task.make_cases(np.random.default_rng(0), False)
    return {
        "grade_id": task.grade_id, "title": task.title, "points": task.points,
        "calls": folder_name(assignment_id), "call": task.call, "functions": list(task.functions),
        "checks": [{"name": c.name, "keys": list(c.keys), "weight": c.weight, "rtol": c.rtol,
                    "exact": c.exact, "hint": c.hint, "probe": c.probe, "forward": list(c.forward),
                    "compare": shippable_compare(c.compare) if c.compare else None}
                   for c in task.checks if c.self_check],
        "graded_only": [c.name for c in task.checks if not c.self_check],
        "cases": [{"arrays": dict(case.arrays), "params": dict(case.params)} for case in cases],
        "references": [task.reference(case) for case in cases],
        "variants": [task.variants(case) if task.variants else {} for case in cases],
        "contexts": [task.diagnosis_context(case) if task.diagnosis_context else {}
                     for case in cases],
        "depends_on": _dependencies(task, get_assignment(assignment_id)),
    }


def check_data_file(assignment_id):
    return f"{assignment_id}{data.SUFFIX}"


def write_check_data(assignment_id, folder):
    """Write folder/<assignment>.checks.json with every test cell's visible-check data."""
    tasks = {task.grade_id: visible_entry(task.grade_id)
             for task in get_assignment(assignment_id).tasks}
    path = os.path.join(folder, check_data_file(assignment_id))
    data.write(path, assignment_id, tasks)
    return path


def format_result(result):
    """Plain-text explanation of a TaskResult, one line per check and named mistake, for the
    instructor (the autograded notebook, the source notebook's hidden checks): mistake codes
    included. Students read coursecheck's explanations and the feedback page instead."""
    lines = [f"{result.title}: {result.score:g} / {result.points:g} points"]
    for check in result.checks:
        mark = "ok  " if check.passed else "FAIL"
        lines.append(f"  [{mark}] {check.name}" + (f": {check.message}" if check.message else ""))
        for mistake in check.mistakes:
            lines.append(f"         likely mistake ({mistake['code']}): {mistake['message']}")
    return "\n".join(lines)


def run_hidden(grade_id, functions):
    """Run the task's hidden cases (fresh seed) on functions: None if all pass, else the text."""
    assignment_id, task = find_task(grade_id)
    table = assignment_calls(assignment_id)
    cases = task.make_cases(np.random.default_rng(secrets.randbits(64)), True)
    run = TaskRun(cases=[], outputs=[])
    for case in cases:
        arrays = {name: np.array(value, copy=True) for name, value in case.arrays.items()}
        outputs, dtypes, error = calls.run_case(table, task.call, functions, arrays, case.params)
        if error and error.get("type") == "KeyboardInterrupt":
            raise KeyboardInterrupt
        run.cases.append({"error": error, "dtypes": dtypes})
        run.outputs.append(outputs)
    result = judge_task(task, cases, [True] * len(cases), run)
    if result.status == "passed":
        print(f"{task.title}: all {len(cases)} hidden tests pass.")
        return None
    return "hidden tests failed\n" + format_result(result)
