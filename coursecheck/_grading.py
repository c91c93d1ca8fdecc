"""Where the generic comparison code comes from: the student install ships it inside coursecheck
(``coursecheck/_grader``, copied from ``autograder/`` when the package is built, see
``student/setup.py``); in the course repository it is ``autograder``'s own. Either way it is the
same judge, comparison and sandbox-call code the grader uses, never a task spec."""
import importlib.util

if importlib.util.find_spec(f"{__package__}._grader") is not None:
    from ._grader import judge
    from ._grader.compare import Verdict, compare_values
    from ._grader.diagnosis import Mistake
    from ._grader.sandbox import calls
else:
    from autograder import judge
    from autograder.compare import Verdict, compare_values
    from autograder.diagnosis import Mistake
    from autograder.sandbox import calls

from minigrad.gradcheck import rel_error

# What a shipped custom comparison (a task's Check.compare) may use: the build checks that its
# source needs nothing else.
COMPARE_NAMESPACE = {"np": __import__("numpy"), "Verdict": Verdict, "Mistake": Mistake,
                     "rel_error": rel_error, "compare_values": compare_values}


def compile_compare(spec):
    """The comparison function from its shipped {"name", "source"}."""
    namespace = dict(COMPARE_NAMESPACE)
    exec(compile(spec["source"], f"<check {spec['name']}>", "exec"), namespace)  # noqa: S102
    return namespace[spec["name"]]


__all__ = ["COMPARE_NAMESPACE", "Verdict", "calls", "compile_compare", "judge"]
