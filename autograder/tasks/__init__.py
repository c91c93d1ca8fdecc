"""Task specs, one module per assignment; ``get_assignment(id)`` finds them."""
from .spec import Assignment, Case, Check, Task

_MODULES = {"01_finite_differences": "a01_finite_differences"}


def available_assignments():
    """Assignment ids that have task specs (and so a notebook to build)."""
    return tuple(_MODULES)


def get_assignment(assignment_id):
    """The Assignment spec for an id such as "01_finite_differences"; KeyError if unknown."""
    if assignment_id not in _MODULES:
        raise KeyError(f"no task specs for assignment {assignment_id!r} "
                       f"(known: {', '.join(_MODULES)})")
    import importlib

    return importlib.import_module(f".{_MODULES[assignment_id]}", __name__).ASSIGNMENT


__all__ = ["Assignment", "Case", "Check", "Task", "available_assignments", "get_assignment"]
