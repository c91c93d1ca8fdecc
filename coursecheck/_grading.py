"""The grader's code that the self-checks use: the judging package (comparisons, named
mistakes, scores) and the calls of the assignments' ``sandbox.py``, never a task spec.

In the course repository that is ``autograder`` itself; the student install ships the same
files inside this package as ``coursecheck._grader`` (``student/setup.py``: the ``judging`` and
``sandbox`` packages and each assignment's ``sandbox*.py``, at the same relative places).
"""
import importlib
import importlib.util

ROOT = (f"{__package__}._grader" if importlib.util.find_spec(f"{__package__}._grader") is not None
        else "autograder")

judge = importlib.import_module(f"{ROOT}.judging.judge")
_compare = importlib.import_module(f"{ROOT}.judging.compare")
calls = importlib.import_module(f"{ROOT}.sandbox.calls")
Verdict, compare_values, COMPARE_NAMESPACE = _compare.Verdict, _compare.compare_values, _compare.COMPARE_NAMESPACE


def assignment_calls(folder):
    """The CALLS of one assignment's sandbox.py (``folder`` as in ``a02_scalar_backprop``)."""
    return importlib.import_module(f"{ROOT}.assignments.{folder}.sandbox").CALLS


def compile_compare(spec):
    """The comparison function from its shipped {"name", "source"}."""
    namespace = dict(COMPARE_NAMESPACE)
    exec(compile(spec["source"], f"<check {spec['name']}>", "exec"), namespace)  # noqa: S102
    return namespace[spec["name"]]


__all__ = ["COMPARE_NAMESPACE", "Verdict", "assignment_calls", "calls", "compile_compare", "judge"]
