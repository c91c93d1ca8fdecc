"""Running notebook cell source as plain Python, without IPython.

The grader never starts a Jupyter kernel: answer cells are exec'd in one namespace. IPython-only
syntax (line magics, shell escapes) is neutralised, and ``get_ipython()`` returns an inert object
so that code registering input transformers, AST transformers or ``pre_run_cell`` hooks runs
without error and without effect: there are no later IPython cells for them to act on.
"""
import re

_ASSIGNED_ESCAPE = re.compile(r"^(\s*)[\w.]+\s*=\s*[!%]")


def to_python(source):
    """IPython cell source -> Python source with the same line numbers."""
    lines = source.splitlines()
    out = []
    if lines and lines[0].lstrip().startswith("%%"):
        # %%time, %%capture...: the body is Python; for %%bash and friends it fails to compile,
        # which is reported like any other error in that cell
        out.append("")
        lines = lines[1:]
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")) or _ASSIGNED_ESCAPE.match(line):
            out.append(indent + "pass")
        elif stripped.endswith("?") and not stripped.startswith("#") and re.fullmatch(r"[\w.]+\?\??", stripped):
            out.append(indent + "pass")
        else:
            out.append(line)
    return "\n".join(out)


class Inert:
    """Accepts any attribute access, call, item or iteration and does nothing."""

    def __getattr__(self, name):
        return Inert()

    def __call__(self, *args, **kwargs):
        return Inert()

    def __getitem__(self, key):
        return Inert()

    def __setitem__(self, key, value):
        pass

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False


def get_ipython():
    """Stand-in for IPython's get_ipython() inside the grader."""
    return Inert()
