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


COMPLEX_MESSAGE = ("complex arithmetic may not be used in this assignment's graded code: the complex "
                   "step would compute the derivative for you. Derive the gradient and write it with "
                   "real NumPy arrays.")


def _has_complex_constant(code, _type=type, _complex=complex, _containers=(tuple, frozenset)):
    """Does a code object (or one nested in it: functions, classes, comprehensions) hold a complex
    literal? (Builtins are bound as defaults: student code may replace or delete them later.)"""
    stack = [code]
    while stack:
        for const in stack.pop().co_consts:
            kind = _type(const)
            if kind is _complex:
                return True
            if kind is _type(code):
                stack.append(const)
            elif kind in _containers:
                for item in const:
                    if _type(item) is _complex:
                        return True
    return False


def _refuse_complex(event, args, _check=_has_complex_constant, _type=type,
                    _code=type(_has_complex_constant.__code__), _error=ImportError,
                    _frozen=("__code__", "__defaults__", "__kwdefaults__")):
    # an audit hook cannot be removed: every code object executed (answer cells, eval, exec)
    # passes here first. Its own code and defaults (and any function's) cannot be swapped either.
    if event == "exec" and args and _type(args[0]) is _code and _check(args[0]):
        raise _error(COMPLEX_MESSAGE)
    if event == "object.__setattr__" and len(args) > 1 and args[1] in _frozen:
        raise _error("graded code may not replace a function's code or defaults")


PREIMPORTED = ("numpy.random", "numpy.linalg", "numpy.fft", "numpy.polynomial", "numpy.ma", "random",
               "fractions", "decimal", "statistics", "numbers", "json", "pickle", "copy")


def preimport():
    """Import PREIMPORTED: modules that read `complex` or hold complex literals when first
    imported (NumPy imports some lazily, e.g. numpy.random on first use), so that they are loaded
    while both are there (a warm sandbox does it once, before it forks)."""
    import importlib

    for name in PREIMPORTED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def block_complex():
    """Take complex arithmetic out of reach of the code that runs next, as far as Python allows:
    no complex literal in any code executed and no ``complex`` (cmath is refused by the import
    hook). NumPy's complex types stay (NumPy's own functions look them up by name at call time,
    so removing them breaks real code); they, and what else stays reachable (a float power, a
    dtype string, an FFT, pairs of floats), are flagged in the instructor's integrity report, and
    a complex value returned is refused (``calls.to_array``)."""
    import builtins

    preimport()
    sys.addaudithook(_refuse_complex)
    builtins.__dict__.pop("complex", None)


def install(forbidden):
    """Put the hook first on sys.meta_path and drop forbidden modules already imported; where
    cmath is forbidden, complex arithmetic is blocked too (``block_complex``)."""
    if not forbidden:
        return
    if "cmath" in forbidden:
        block_complex()
    sys.meta_path.insert(0, ForbiddenImport(forbidden))
    for loaded in list(sys.modules):
        if any(loaded == name or loaded.startswith(name + ".") for name in forbidden):
            del sys.modules[loaded]
