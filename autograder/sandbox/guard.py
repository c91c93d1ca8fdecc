"""An import hook that refuses modules a task forbids, with a message a student understands.

This is the polite half of the enforcement: student code can remove a meta_path entry. The real
barrier is that the sandbox does not mount the forbidden packages at all (see
``autograder/isolation.py``); without bubblewrap this hook is all there is.
"""
import importlib.abc
import sys


class ForbiddenImport(importlib.abc.MetaPathFinder):
    """Raise ImportError for `forbidden` top-level names and their submodules."""

    def __init__(self, forbidden):
        self.forbidden = tuple(forbidden)

    def find_spec(self, fullname, path=None, target=None):
        for name in self.forbidden:
            if fullname == name or fullname.startswith(name + "."):
                raise ImportError(
                    f"{fullname} may not be used in this assignment's graded code: the grader runs "
                    f"your answers without it. Write the computation yourself with NumPy.",
                    name=fullname)
        return None


def install(forbidden):
    """Put the hook first on sys.meta_path and drop forbidden modules already imported."""
    if not forbidden:
        return
    sys.meta_path.insert(0, ForbiddenImport(forbidden))
    for loaded in list(sys.modules):
        if any(loaded == name or loaded.startswith(name + ".") for name in forbidden):
            del sys.modules[loaded]
