"""The complex step out of reach where a gradient is derived, and flagged where it cannot be
(issue 16, finding C): the sandbox's guard, the refusal of complex returns, 05's call counter,
and the integrity report."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autograder.course.integrity import NUMERICAL, derived_gradient_cells, scan_cell
from autograder.assignments import get_assignment
from autograder.judging.spec import NO_SHORTCUTS
from autograder.sandbox.calls import BadReturn, to_array

ROOT = __file__.rsplit("/tests/", 1)[0]

ATTEMPTS = {
    "literal": "x = 1e-20j",
    "nested literal": "def step(f, x):\n    return f(x + 1e-20j).imag\nstep(abs, 1.0)",
    "eval": "eval('1' + 'j')",
    "builtin": "complex(0.0, 1e-20)",
    "cmath": "import cmath",
    "swap the hook's code": ("import sys\nguard = sys.modules['autograder.sandbox.guard']\n"
                             "guard._refuse_complex.__code__ = (lambda e, a: None).__code__"),
}


def _run_guarded(code):
    """Run `code` after the guard as the harness installs it for a derived-gradient task."""
    program = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {ROOT!r})
        import numpy as np
        from autograder.sandbox import guard
        guard.install({NO_SHORTCUTS!r})
        try:
            exec(compile({code!r}, "<cell t>", "exec"), {{"np": np}})
            print("ALLOWED")
        except BaseException as exc:
            print("REFUSED", type(exc).__name__, exc)
    """)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60).stdout


def test_complex_arithmetic_is_refused_where_a_gradient_is_derived():
    for name, code in ATTEMPTS.items():
        assert _run_guarded(code).startswith("REFUSED"), name
    assert "complex step" in _run_guarded("x = 1j")
    assert _run_guarded("y = np.tanh(np.arange(3.0)) @ np.ones(3)").startswith("ALLOWED")


def test_every_derived_gradient_task_blocks_it():
    assert "cmath" in NO_SHORTCUTS


def test_a_complex_return_is_refused_saying_why():
    with pytest.raises(BadReturn, match="complex arithmetic"):
        to_array(np.ones(3) + 0j, "the gradient")


def test_the_raw_function_is_not_reachable_from_the_counter():
    from autograder.assignments.a05_autodiff_internals.sandbox import _CountedFunction

    counted = _CountedFunction(lambda ops, x: x, float)
    assert counted(None, 2.0) == 2.0 and counted.calls == 1
    reachable = [getattr(counted, name, None) for name in dir(counted)]
    assert not any(callable(v) and getattr(v, "__name__", "") == "<lambda>" for v in reachable)
    assert not hasattr(counted, "f") and not hasattr(counted, "__dict__")


def test_the_integrity_report_flags_what_cannot_be_closed_and_not_the_references():
    rebuilt = ("def tanh_backward(dout, cache):\n"
               "    h = 1e-20\n"
               "    re, im = forward_pair(cache, 0.0, h)   # complex numbers by hand\n"
               "    z = (-1.0) ** 0.5 - 0\n"
               "    return dout * np.fft.fft(cache).real\n")
    flags = scan_cell("s", "tanh", rebuilt, {"torch"})
    assert {f.line for f in flags} >= {2, 4, 5}
    assert all(f.cell == "tanh" and f.student == "s" for f in flags)
    assert scan_cell("s", "c", "import torch", {"torch"})[0].why.startswith("a module")
    for reachable in ("z = np.complex128(x)", "np.emath.sqrt(-1.0)", "a.astype('D')", "w.imag"):
        assert scan_cell("s", "c", reachable)[0].why.startswith("complex"), reachable
    assert scan_cell("s", "c", "import torch", set(NO_SHORTCUTS) - {"torch"}) == []
    assert scan_cell("s", "c", "h = 1e-5", (), exempt=(NUMERICAL,)) == []


@pytest.mark.parametrize("assignment_id", ["01_finite_differences", "02_scalar_backprop", "03_vectorized_mlp",
                                           "04_cnn_attention_backward", "05_autodiff_internals"])
def test_no_reference_answer_is_flagged(assignment_id):
    import jupytext

    from autograder.course import samples

    assignment = get_assignment(assignment_id)
    answers = samples.reference_answers(jupytext.read(f"{ROOT}/notebooks/{assignment_id}.py"))
    cells = derived_gradient_cells(assignment)
    exempt = (NUMERICAL,) if "numerical_derivatives" in assignment.teaches else ()
    assert cells
    flags = [f for g, s in answers.items() if g in cells for f in scan_cell("ref", g, s, cells[g], exempt)]
    assert flags == []
