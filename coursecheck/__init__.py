"""The notebooks' self-checks: ``check("test_x", my_function)`` in a test cell.

Every assignment's test cells import ``check`` from here and nothing else; demonstration cells
use ``skip_if_unanswered`` to carry on past an exercise not answered yet. It needs NumPy and
minigrad only: the visible cases' inputs, references and known wrong answers are computed when
the course is built and shipped next to the release notebook (``coursecheck.data``), so a
student's installation holds no torch, no task specs and no hidden tests.
"""
from .check import CheckFailed, check
from .demo import skip_if_unanswered

__all__ = ["CheckFailed", "check", "skip_if_unanswered"]
