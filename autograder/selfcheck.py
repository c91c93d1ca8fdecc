"""The notebook's test cells: ``check("test_x", my_function)`` runs a task spec in the student's kernel.

Visible tests use the spec's fixed cases; ``hidden=True`` (only in the instructor's source
notebook) draws the hidden cases with a fresh seed. This runs inside the student's own kernel, so
like any nbgrader test it can be fooled by patching NumPy; ``python -m autograder grade`` cannot.
It gives the same diagnosis as the hardened grader, so a failing test says what to fix.
"""
import secrets

import numpy as np

from .judge import judge_task
from .runner import TaskRun
from .sandbox import calls
from .tasks import available_assignments, get_assignment


def find_task(grade_id):
    for assignment_id in available_assignments():
        for task in get_assignment(assignment_id).tasks:
            if task.grade_id == grade_id:
                return task
    raise KeyError(f"no task spec with grade_id {grade_id!r}")


def format_result(result):
    """Plain-text explanation of a TaskResult, one line per failed check and named mistake."""
    lines = [f"{result.title}: {result.score:g} / {result.points:g} points"]
    for check in result.checks:
        mark = "ok  " if check.passed else "FAIL"
        lines.append(f"  [{mark}] {check.name}" + (f": {check.message}" if check.message else ""))
        for mistake in check.mistakes:
            lines.append(f"         likely mistake ({mistake['code']}): {mistake['message']}")
    return "\n".join(lines)


def check(grade_id, *functions, hidden=False):
    """Run the task's visible (or hidden) tests on `functions`; AssertionError explains a failure."""
    task = find_task(grade_id)
    seed = secrets.randbits(64) if hidden else 0
    cases = task.make_cases(np.random.default_rng(seed), hidden)
    run = TaskRun(cases=[], outputs=[])
    for case in cases:
        arrays = {name: np.array(value, copy=True) for name, value in case.arrays.items()}
        outputs, dtypes, error = calls.run_case(task.call, functions, arrays, case.params)
        if error and error.get("type") == "KeyboardInterrupt":
            raise KeyboardInterrupt
        run.cases.append({"error": error, "dtypes": dtypes})
        run.outputs.append(outputs)
    result = judge_task(task, cases, [hidden] * len(cases), run)
    kind = "hidden" if hidden else "visible"
    if result.status != "passed":
        raise AssertionError(f"{kind} tests failed\n" + format_result(result))
    print(f"{task.title}: all {len(cases)} {kind} tests pass.")
