"""The notebooks' self-checks: ``check("test_x", my_function)`` in a test cell.

Every assignment's test cells import ``check`` from here and nowhere else, so that how the
visible checks run in the student's kernel can change without touching the notebooks. For now it
is the grader's own self-check (``autograder.selfcheck``).
"""
from autograder.selfcheck import check

__all__ = ["check"]
