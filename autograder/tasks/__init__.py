"""Task specs, one module per assignment (``a<NN>_<name>.py``); ``get_assignment(id)`` finds them."""
import importlib
import os
import re

from .spec import Assignment, Case, Check, Task

_HERE = os.path.dirname(os.path.abspath(__file__))


def _spec_modules():
    """{assignment id: module name} for every a<NN>_<name>.py next to this file."""
    found = {}
    for filename in sorted(os.listdir(_HERE)):
        match = re.fullmatch(r"a(\d\d)_(\w+)\.py", filename)
        if match:
            found[f"{match.group(1)}_{match.group(2)}"] = filename[:-3]
    return found


_MODULES = _spec_modules()


def available_assignments():
    """Assignment ids that have task specs (and so a notebook to build), in course order."""
    return tuple(_MODULES)


def get_assignment(assignment_id):
    """The Assignment spec for an id such as "01_finite_differences"; KeyError if unknown."""
    if assignment_id not in _MODULES:
        raise KeyError(f"no task specs for assignment {assignment_id!r} "
                       f"(known: {', '.join(_MODULES)})")
    return importlib.import_module(f".{_MODULES[assignment_id]}", __name__).ASSIGNMENT


__all__ = ["Assignment", "Case", "Check", "Task", "available_assignments", "get_assignment"]
