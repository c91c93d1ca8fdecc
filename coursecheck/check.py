"""``check("test_x", my_function)``: a test cell's visible checks, run in the student's kernel.

The inputs, references and known wrong answers come from the data file shipped next to the
notebook (``coursecheck.data``); the student's functions are called exactly as the grader calls
them and compared by the grader's own comparison code, so a failing check says what the grader
would say, on inputs the student can see. Nothing here can grade: the hidden tests that decide
the score exist only in the instructor's installation.

A failing check prints its explanation and lets "Run All" carry on to the next cell, so that
plots and widgets further down still run on a fresh notebook. Under nbgrader
(``NBGRADER_EXECUTION`` set) it raises ``CheckFailed`` instead, so that the cell fails there.
"""
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np

from . import data
from ._grading import Verdict, assignment_calls, calls, compile_compare, judge


class CheckFailed(AssertionError):
    """A test cell's check failed. IPython shows the explanation alone, with no traceback."""

    def _render_traceback_(self):
        return str(self).splitlines()


WIDTH = 92            # lines are wrapped here, so that no front end breaks a word in two
MAX_PARAM_TEXT = 160  # a setting longer than this (a whole graph) is summarised
TORCH_INSTALL = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"


@dataclass
class Failure:
    """The first failing case of one check (among the cases on which the call returned)."""
    check: str
    hint: str
    case: int          # index among the cell's cases
    failed: int        # how many of the cases this check applies to fail
    applicable: int
    verdict: Verdict
    key: str = None    # the output that is wrong


@dataclass
class Report:
    """What one test cell's visible checks found."""
    grade_id: str
    title: str
    entry: dict
    checks: int
    failures: list = field(default_factory=list)
    raised: list = field(default_factory=list)    # (case index, what the exception says)
    passing: int = 0                              # checks that hold on every case
    unanswered: bool = False
    stubbed: int = 0                              # cases that stopped at a NotImplementedError stub
    missing_module: str = None                    # every case raised ModuleNotFoundError for it
    outputs: list = field(default_factory=list)   # per case, what came back
    notes: list = field(default_factory=list)     # about the answers this task depends on

    @property
    def passed(self):
        return not self.failures and not self.raised

    def explanation(self):
        """Plain-text explanation for the student: inputs, expected, got, the mistake in words."""
        later = self.entry.get("graded_only", [])
        note = ("" if not later else
                f" Checked only when your notebook is graded: {'; '.join(later)}.")
        if self.passed and not self.checks:
            return wrap(f"{self.title}: your code runs on this cell's input and returns what the "
                        f"grader reads. Checked only when your notebook is graded: {'; '.join(later)}.")
        if self.passed:
            counted = "the one check passes" if self.checks == 1 else f"all {self.checks} checks pass"
            return wrap(f"{self.title}: {counted} on this cell's inputs.{note}")
        if self.unanswered and self.stubbed == len(self.entry["cases"]):
            return wrap(f"{self.title}: not answered yet (the answer cell still raises "
                        "NotImplementedError). Run All carries on past this cell.")
        if self.unanswered:
            return wrap(f"{self.title}: not answered yet in full: {self.stubbed} of the "
                        f"{len(self.entry['cases'])} inputs this cell checks need code that still "
                        "raises NotImplementedError; the others pass. Run All carries on past this cell.")
        if self.missing_module:
            return wrap(self._missing_module_text())
        lines = [f"{self.title}: not right yet."]
        shown = set()
        if self.raised:
            lines.append("")
            lines.extend(self._describe_raised(shown))
        for failure in self.failures:
            lines.append("")
            lines.extend(self._describe(failure, shown))
        if self.passing:
            lines.append("")
            lines.append("The other check of this cell passes." if self.passing == 1 else
                         f"The other {self.passing} checks of this cell pass.")
        for note in self.notes:
            lines.append("")
            lines.append(note)
        return "\n".join(wrap(line) for line in lines)

    def _missing_module_text(self):
        name = self.missing_module
        how = TORCH_INSTALL if name == "torch" else f"pip install {name}"
        return (f"{self.title}: your code imports {name}, which is not installed here. If this "
                f"exercise allows {name}, install it ({how}), restart the kernel and run the "
                "notebook again; if it does not, remove the import. Run All carries on past this "
                "cell.")

    def _inputs(self, case, shown):
        if case in shown:
            return [f"  inputs: input {case + 1}, shown above"]
        shown.add(case)
        entry_case = self.entry["cases"][case]
        return ["  inputs:"] + ["    " + line for line in
                                format_inputs(entry_case["arrays"], entry_case["params"])]

    def _where(self, failed, applicable, case):
        if applicable == 1:
            return "on the one input this cell checks"
        if failed == 1:
            return f"on input {case + 1} of the {applicable} this cell checks"
        return f"on {failed} of the {applicable} inputs this cell checks; the first, input {case + 1}"

    def _describe_raised(self, shown):
        case, message = self.raised[0]
        lines = [f"Your code raised an error {self._where(len(self.raised), len(self.entry['cases']), case)}:"]
        lines.extend(self._inputs(case, shown))
        lines.append("  your code raised: " + message)
        return lines

    def _describe(self, failure, shown):
        lines = [f"Check '{failure.check}' fails "
                 f"{self._where(failure.failed, failure.applicable, failure.case)}:"]
        lines.extend(self._inputs(failure.case, shown))
        verdict = failure.verdict
        reference = self.entry["references"][failure.case]
        got = self.outputs[failure.case].get(failure.key)
        label = judge._label(failure.key)
        lines.append(f"  expected: {format_value(reference[failure.key])}   ({label})")
        lines.append(f"  got:      {format_value(got) if got is not None else 'nothing'}")
        for mistake in verdict.mistakes:
            lines.append("  likely mistake: " + sentence(mistake.message))
        if verdict.message:
            lines.append("  " + sentence(verdict.message))
        if failure.hint:
            lines.append("  hint: " + failure.hint)
        return lines


def sentence(text):
    """text with a capital first letter, unless it starts with a name from the code (dW,
    grad2_leaves, x.grad): "DW is dout^T x" would name a variable that does not exist."""
    text = text.strip()
    first = text.split(" ", 1)[0].rstrip(":,.")
    if not text or not first[:1].islower() or _looks_like_code(first):
        return text
    return text[:1].upper() + text[1:]


def _looks_like_code(word):
    """A variable or function name rather than an English word: has _, a digit, a dot, brackets
    or a capital after the first letter (dW, dout, x.grad, grad2_leaves, f(x))."""
    return bool(re.search(r"[_0-9.()\[\]]|^.[^A-Z]*[A-Z]", word)) or len(word) == 1 or word in (
        "dx", "dw", "db", "dout", "dy", "dz", "dq", "dk", "dv")


_ARRAY_LINE = re.compile(r"^\s*[\[(.]|[=:] +\[")  # laid out by NumPy: "x (2, 3) = [[...", "  [ 0.1, ..."


def wrap(line, width=WIDTH):
    """line broken at spaces into lines of at most `width` characters, continuation lines
    indented as the line itself (plus two); array lines (already laid out) are kept whole."""
    if len(line) <= width or _ARRAY_LINE.search(line):
        return line
    indent = len(line) - len(line.lstrip(" "))
    return textwrap.fill(line.strip(), width=width, initial_indent=" " * indent,
                         subsequent_indent=" " * (indent + 2), break_long_words=False,
                         break_on_hyphens=False)


def format_value(value, indent=12):
    """A number, or an array summarised by NumPy; of an array of 3 or more dimensions only the
    first 2-D slice, named (a 4-D batch of feature maps would fill the screen)."""
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{float(array):.10g}" if array.dtype.kind == "f" else str(array.item())
    note = ""
    if array.ndim > 2 and array.size:
        lead = (0,) * (array.ndim - 2)
        note = (f"\n(the slice [{', '.join(map(str, lead))}, :, :]; "
                f"{int(np.prod(array.shape[:-2]))} slices of {array.shape[-2]} x {array.shape[-1]} in all)")
        array = array[lead]
    text = np.array2string(array, precision=6, threshold=20, edgeitems=2, separator=", ",
                           max_line_width=88, floatmode="maxprec", suppress_small=True)
    return (text + note).replace("\n", "\n" + " " * indent)


def format_param(value):
    """A setting as the call sees it; a long one (a graph of thousands of nodes) summarised by
    its size and first items."""
    text = str(value)
    if len(text) <= MAX_PARAM_TEXT:
        return text
    if isinstance(value, dict):
        parts = [f"{key}: {format_param(item) if len(str(item)) < 40 else _size(item)}"
                 for key, item in value.items()]
        return "{" + ", ".join(parts) + "}" if sum(map(len, parts)) < MAX_PARAM_TEXT else \
            f"a dict with keys {', '.join(map(str, value))}"
    return _size(value)


def _size(value):
    if isinstance(value, (list, tuple)):
        first = ", ".join(str(item) for item in value[:3])
        return f"{len(value)} items: [{first}{', ...' if len(value) > 3 else ''}]"[:MAX_PARAM_TEXT]
    return str(value)[:MAX_PARAM_TEXT - 1] + "…"


def format_inputs(arrays, params):
    """Lines "f = sin3, x = 0.5, h = 0.001", then one line per array: the case as the student's
    call sees it (without the random direction the grader's numerical check of a backward uses);
    large inputs summarised (arrays by NumPy's summary, long settings by their size)."""
    scalars = [f"{name} = {format_param(value)}" for name, value in params.items()]
    scalars += [f"{name} = {format_value(value)}" for name, value in arrays.items()
                if np.ndim(value) == 0 and not name.startswith("probe_")]
    lines = [", ".join(scalars)] if scalars else []
    for name, value in arrays.items():
        if np.ndim(value) and not name.startswith("probe_"):
            shape = str(tuple(np.shape(value)))
            lines.append(f"{name} {shape} = {format_value(value, indent=4 + len(name) + len(shape) + 4)}")
    return lines


def _checks(entry):
    return [SimpleNamespace(name=c["name"], keys=tuple(c["keys"]), weight=c["weight"],
                            rtol=c["rtol"], exact=c["exact"], hint=c["hint"], probe=c["probe"],
                            forward=tuple(c["forward"]),
                            compare=compile_compare(c["compare"]) if c["compare"] else None)
            for c in entry["checks"]]


def _verdict(check, case, reference, outputs, dtypes, variants, context):
    return judge._check_case(None, check, case, reference, outputs, dtypes or {}, variants, context)


def _failing_key(check, case, reference, outputs, dtypes, variants, context):
    if check.compare is None:
        for key in check.keys:
            one = SimpleNamespace(**dict(vars(check), keys=(key,)))
            if not _verdict(one, case, reference, outputs, dtypes, variants, context).passed:
                return key
    return check.keys[0]


def evaluate(entry, functions):
    """Report of the entry's visible checks on the student's functions."""
    cases = [SimpleNamespace(arrays=c["arrays"], params=c["params"]) for c in entry["cases"]]
    runs = []
    for case in cases:
        arrays = {name: np.array(value, copy=True) for name, value in case.arrays.items()}
        outputs, dtypes, error = calls.run_case(assignment_calls(entry["calls"]), entry["call"], functions,
                                               arrays, dict(case.params))
        if error and error.get("type") == "KeyboardInterrupt":
            raise KeyboardInterrupt
        runs.append((outputs, dtypes, error))
    checks = _checks(entry)
    report = Report(entry["grade_id"], entry["title"], entry, len(checks),
                    outputs=[outputs for outputs, _, _ in runs])
    errors = [error for _, _, error in runs]
    stubs = [e is not None and e.get("type") == "NotImplementedError" and not e.get("message")
             for e in errors]
    report.stubbed = sum(stubs)
    # every error is a stub's (a Value whose relu is unanswered fails only the relu inputs)
    report.unanswered = report.stubbed > 0 and all(stub or e is None for stub, e in zip(stubs, errors))
    report.missing_module = _missing_module(errors)
    report.raised = [(i, judge.describe_exception(error, False)) for i, error in enumerate(errors)
                     if error]
    for check in checks:
        applicable = [i for i, ref in enumerate(entry["references"])
                      if all(k in ref for k in check.keys)]
        failed = []
        for i in applicable:
            outputs, dtypes, error = runs[i]
            if error:
                continue  # said once, in report.raised
            verdict = _verdict(check, cases[i], entry["references"][i], outputs, dtypes,
                               entry["variants"][i], entry["contexts"][i])
            if not verdict.passed:
                failed.append((i, verdict))
        if failed:
            i, verdict = failed[0]
            key = _failing_key(check, cases[i], entry["references"][i], runs[i][0], runs[i][1],
                               entry["variants"][i], entry["contexts"][i])
            report.failures.append(Failure(check.name, check.hint, i, len(failed), len(applicable),
                                           verdict, key))
        elif not any(errors[i] for i in applicable):
            report.passing += 1
    if report.unanswered and report.failures:
        report.unanswered = False  # answered in part, and wrong where answered: say what is wrong
    return report


_NO_MODULE = re.compile(r"No module named '([\w.]+)'")


def _missing_module(errors):
    """The module every case failed to import (ModuleNotFoundError), or None."""
    names = {(_NO_MODULE.search(str(e.get("message", ""))) or [None, None])[1]
             if e and e.get("type") == "ModuleNotFoundError" else None for e in errors}
    name = names.pop() if len(names) == 1 else None
    return name.split(".")[0] if name else None


def load_entry(grade_id):
    """The visible-check data of a test cell: from the data file next to the notebook, or, in
    the course repository (the instructor's installation), straight from the task specs."""
    entry = data.find_entry(grade_id)
    if entry is None:
        try:
            from autograder.course.selfcheck import visible_entry
        except ImportError:
            visible_entry = None
        entry = visible_entry(grade_id) if visible_entry else None
        if entry is not None:
            entry = data.decode(data.encode(entry))  # exactly what a shipped file would hold
    if entry is None:
        raise CheckFailed(
            f"coursecheck found no self-check data for {grade_id!r}. Open the notebook from the "
            f"folder it came in: the file <assignment>{data.SUFFIX} must be next to it (or set "
            f"{data.ENV_VAR} to that file).")
    return entry


def _dependency_notes(entry, namespace):
    """Say so when this task calls another answer of the student's and that answer is wrong."""
    notes = []
    for dependency in entry.get("depends_on", []):
        names = dependency["functions"]
        listed = " and ".join(names)
        functions = [namespace.get(name) for name in names]
        if any(fn is None for fn in functions):
            notes.append(f"Note: {entry['title']} uses your {listed}, which is not defined yet: "
                         "run its cell first.")
            continue
        report = evaluate(load_entry(dependency["grade_id"]), functions)
        if report.passed:
            notes.append(f"Note: this uses your {listed}, which passes its own check "
                         f"({dependency['grade_id']}), so the problem is in the code tested here.")
        elif report.unanswered:
            notes.append(f"Note: this uses your {listed}, which is not answered yet: answer it "
                         f"first ({dependency['grade_id']}).")
        else:
            notes.append(f"Note: this uses your {listed}, which fails its own check "
                         f"({dependency['grade_id']}): fix that first, the failure above may come "
                         "from it alone.")
    return notes


def _strict():
    """nbgrader is executing the notebook (autograde, validate): a failing check must fail
    the cell."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _fail(text):
    if _strict():
        raise CheckFailed(text)
    print(text, file=sys.stderr, flush=True)


def check(grade_id, *functions, hidden=False):
    """Run the test cell's visible checks on `functions` and say what is wrong, in plain words.

    hidden=True runs the hidden tests instead: only the instructor's source notebook has such
    calls, and only the instructor's installation (the full grader) can run them."""
    namespace = sys._getframe(1).f_globals
    if hidden:
        try:
            from autograder.course.selfcheck import run_hidden
        except ImportError:
            raise CheckFailed("check(..., hidden=True) runs hidden tests, which only the "
                              "instructor's installation (the full grader) has.") from None
        text = run_hidden(grade_id, functions)
        if text:
            raise CheckFailed(text)
        return None
    entry = load_entry(grade_id)
    report = evaluate(entry, functions)
    if report.passed:
        print(report.explanation())
        return None
    if not report.unanswered:
        report.notes = _dependency_notes(entry, namespace)
    _fail(report.explanation())
    return None
