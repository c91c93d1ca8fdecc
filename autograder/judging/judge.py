"""Deciding a task's score from the arrays that came back, in the trusted process.

For every case the reference is computed here from the inputs drawn here; the student's process
only ever supplied float64 arrays. A check earns its weight when it holds on every case it
applies to (or, with the course setting ``partial_credit = "per_case"``, the fraction of its cases
on which it holds); the task's score is its points times the weight earned.
"""
import builtins
import re

import numpy as np

from .batch_cases import expected_outputs
from .compare import Verdict, compare_exact, compare_values
from .results import CheckOutcome, TaskResult
from .returned import InvalidReturn
from .text import printable

_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,59}")

_NUMBER = re.compile(r"0[xXoObB][0-9a-fA-F_]+|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
MAX_STUDENT_TEXT = 320  # characters of an exception message shown in feedback


def redact_numbers(text):
    """Hide every number (integers too) in student text from a hidden case: it could be a hidden input."""
    return _NUMBER.sub("…", text)


def student_text(text, hidden, limit=MAX_STUDENT_TEXT):
    """Student-controlled text as feedback may show it: escaped, short, numbers hidden if `hidden`."""
    text = str(text)
    if hidden:
        text = redact_numbers(text)
    return printable(text, limit)


# Exception names a hidden case may show: Python's own (a class the student made up could spell a
# hidden input in its name), plus the sandbox's BadReturn and NumPy's memory error.
TRUSTED_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                               if isinstance(value, type) and issubclass(value, BaseException))
MEMORY_ERRORS = ("MemoryError", "_ArrayMemoryError")


def hidden_exception_text(error, cell_problems=None):
    """Trusted sentence for an exception on a hidden input: no message, line, code or file name.

    All of those come from the student's process, which sees the hidden input, and each has
    carried it (digits spelled as words, a file name chosen at compile time, a line number)."""
    kind = str(error.get("type", ""))
    missing = error.get("missing_function")
    if missing:
        # the name is trusted only as a key of cell_problems (made from the task's own names)
        problem = (cell_problems or {}).get(missing) if isinstance(missing, str) else None
        return (f"{missing} is not defined when the tests run: {problem}" if problem
                else "a function this task calls is not defined when the tests run. Did its cell run "
                     "without errors?")
    if kind == "BadReturn":
        return ("your function returned something that is not the expected numbers (the visible "
                "checks of this test cell say what)")
    if kind == "NotImplementedError":
        return "not answered yet: the code still raises NotImplementedError"
    if kind == "SystemExit":
        return "your code called sys.exit() (or exit()); return a value instead"
    if kind in MEMORY_ERRORS:
        return "MemoryError: your code tried to use more memory than the grader allows"
    return (f"your code raised {trusted_type_name(error)} (its message and line are not shown for "
            f"a hidden input, since they could carry the input; try inputs like it in your notebook)")


def trusted_type_name(error):
    """The exception's type name if it is one of Python's own, else words that carry nothing."""
    kind = str(error.get("type", ""))
    return kind if kind in TRUSTED_EXCEPTIONS or kind in MEMORY_ERRORS else "an exception of its own class"


def cell_error_text(error, forbidden=()):
    """Trusted words for an answer cell that raised: cells run in the process that holds the
    hidden inputs, so, as on a hidden case, nothing the process wrote is shown. forbidden: the
    modules the task forbids, named (from the task spec) when the cell failed on an import."""
    kind = str(error.get("type", ""))
    if kind == "NotImplementedError":
        return "raised NotImplementedError (not answered yet)"
    if kind in ("ImportError", "ModuleNotFoundError") and forbidden:
        first, *others = [m for m in forbidden if m != "cmath"] or ["cmath"]
        named = f"{first} may not be used" + (f", nor {', '.join(others)}" if others else "")
        complex_too = "; nor complex arithmetic" if "cmath" in forbidden else ""
        return f"raised {kind}: graded code runs without the modules this task forbids ({named}{complex_too})"
    return (f"raised {trusted_type_name(error)} (run the cell in your notebook to see its message "
            f"and line)")


def describe_exception(error, hidden, cell_problems=None):
    """Student-facing sentence for an exception dict from the sandbox (or the student's kernel).

    Everything in `error` came from student code: on a hidden case only trusted words are shown
    (``hidden_exception_text``); otherwise the type name is kept only if it is a plain identifier
    and the message is short."""
    if hidden:
        return hidden_exception_text(error, cell_problems)
    kind = str(error.get("type", "Error"))
    kind = kind if _TYPE_NAME.fullmatch(kind) else "Exception"
    message = student_text(error.get("message", ""), hidden)
    if kind == "BadReturn":
        return message
    missing = error.get("missing_function")
    if missing:
        text = f"{student_text(missing, False, 60)} is not defined when the tests run"
        problem = (cell_problems or {}).get(missing)
        return f"{text}: {problem}" if problem else f"{text}. Did its cell run without errors?"
    if kind == "NotImplementedError" and not message:
        text = "not answered yet: the cell still raises NotImplementedError"
    elif kind == "SystemExit":
        text = "your code called sys.exit() (or exit()); return a value instead"
    elif kind in ("MemoryError", "_ArrayMemoryError"):
        text = f"MemoryError: your code tried to use more memory than the grader allows ({message})"
    else:
        text = f"{kind}: {message}" if message else kind
    line = error.get("line")
    if isinstance(line, int):
        cell = error.get("cell")
        where = f"cell '{student_text(cell, False, 60)}', line {line}" if cell else f"line {line}"
        code = f": {student_text(error['code'], False, 120)}" if error.get("code") else ""
        text += f" ({where}{code})"
    return text


def _case_label(index, hidden_flags):
    """Where a case comes from, in the student's terms: the notebook shows one check(...) call
    per test cell, whose cases are its visible inputs (printed when that check fails)."""
    if hidden_flags[index]:
        n_hidden = sum(hidden_flags)
        return f"On hidden input {sum(hidden_flags[:index + 1])} of {n_hidden}"
    n_visible = len(hidden_flags) - sum(hidden_flags)
    return (f"On input {index + 1 - sum(hidden_flags[:index])} of {n_visible} of your notebook's "
            "check(...) in this test cell (running that cell shows the inputs)")


def _label(key):
    """How an output key is named in messages: "grad_W1" -> "the gradient for W1"."""
    if key.startswith("grad_"):
        return f"the gradient for {key[5:]}"
    if key.startswith("after_"):
        return key[6:]
    return {"grad": "the gradient", "x_after": "x", "value": "the value", "rel": "the relative error",
            "check": "the relative error"}.get(key, key)


PROBE_RTOL = 1e-6  # central differences along one direction with step 1e-5 reach ~1e-9


def probe_agreement(case, outputs):
    """Does the student's gradient agree with their own forward along the case's direction u?

    -> None when the case has no probe or the outputs lack what it needs; else (agrees, slope,
    claimed): slope is the central difference of their forward along u, claimed is the sum over
    the probed inputs of u . (their gradient)."""
    arrays = case.arrays
    if "probe_eps" not in arrays or "probe_plus" not in outputs or "probe_minus" not in outputs:
        return None
    plus, minus = float(outputs["probe_plus"]), float(outputs["probe_minus"])
    slope = (plus - minus) / (2.0 * float(arrays["probe_eps"]))
    claimed = 0.0
    for key, u in arrays.items():
        if not key.startswith("probe_u_"):
            continue
        got = outputs.get("grad_" + key[len("probe_u_"):])
        if got is None or got.shape != np.shape(u) or not np.all(np.isfinite(got)):
            return None
        claimed += float(np.sum(u * got))
    if not (np.isfinite(slope) and np.isfinite(claimed)):
        return None
    slack = PROBE_RTOL * (abs(slope) + abs(claimed)) + 1e-8 * max(1.0, abs(plus), abs(minus))
    return abs(slope - claimed) <= slack, slope, claimed


def _compare_keys(check, reference, outputs, dtypes, variants, context):
    """First failing Verdict over the check's keys against the reference, else a pass."""
    for key in check.keys:
        got = outputs.get(key)
        what = _label(key)
        if check.exact:
            verdict = compare_exact(reference[key], got, what=what)
        else:
            kw = {"batch_size": context.get("batch_size"),
                  "branches": context.get("branches", {}).get(key),
                  "variants": {code: (msg, arrays[key]) for code, (msg, arrays) in variants.items()
                               if key in arrays}}
            verdict = compare_values(reference[key], got, what=what, rtol=check.rtol,
                                     got_dtype=dtypes.get(key), diagnosis=kw)
        if not verdict.passed:
            return verdict
    return Verdict(True)


def _forward_right(check, reference, outputs):
    return all(compare_values(reference[key], outputs.get(key), what=key, rtol=check.rtol).passed
               for key in check.forward if key in reference)


_HIDDEN_KIND = {
    "shape": "wrong shape",
    "nonfinite": "it contains NaN or infinity",
    "missing": "nothing came back",
    "modified": "your call modified its input",
    "invalid": "what came back is not the structure this task asks for",
    "choice": "that is not the right choice",  # a multiple-choice question (choice.py)
}


def hidden_verdict_text(check, verdict):
    """A failed check on a hidden input in trusted words: what kind of failure, never a number,
    shape or string the student's code produced (those could carry the hidden input)."""
    if verdict.exception:
        return verdict.message  # already hidden_exception_text
    if verdict.kind == "value":
        text = (f"the values differ from the reference by more than the allowed relative error "
                f"{check.rtol:.0e}")
    else:
        text = _HIDDEN_KIND.get(verdict.kind, "the result does not match the reference")
    return f"{verdict.note}{text}." if verdict.note else f"{text[0].upper()}{text[1:]}."


def hidden_mistakes(mistakes):
    """Named mistakes of a hidden case: their explanations are trusted text, but some quote a
    shape, batch size or factor measured on the hidden input, so every number goes."""
    return [{"code": m["code"], "message": redact_numbers(m["message"])} for m in mistakes]


def _check_case(task, check, case, reference, outputs, dtypes, variants, context):
    """Verdict of one check on one case whose call returned normally."""
    if check.compare is not None:
        try:
            return check.compare(reference, outputs, case)
        except InvalidReturn as exc:  # the returned structure failed the trusted side's validation
            return Verdict(False, f"what came back cannot be used: {exc}", kind="invalid")
    verdict = _compare_keys(check, reference, outputs, dtypes, variants, context)
    if verdict.passed or not check.probe:
        return verdict
    probed = probe_agreement(case, outputs)
    if probed is None:
        return verdict
    agrees = probed[0]
    forward_right = _forward_right(check, reference, outputs)
    if check.forward and not forward_right and agrees:
        # No points for agreeing with a wrong forward: a made-up pair (zeros with zeros, an
        # identity forward with an identity backward) agrees too, and so do probe values made up
        # in the student's process. The feedback still says where the problem is.
        verdict.note = ("your forward pass is wrong (see its check), and this gradient agrees "
                        "with a numerical derivative of your own forward: fix the forward, and "
                        "the backward you derived for it may need the same fix: ")
        verdict.message = verdict.note + verdict.message
        return verdict
    if forward_right and not agrees:
        verdict.note = ("your forward pass is right and your backward pass disagrees with it "
                        "(a numerical derivative of your forward along a random direction differs "
                        "from your gradient): ")
    elif check.forward and not agrees:
        verdict.note = ("your forward pass is already wrong, and your gradient does not agree "
                        "with it either; fix the forward first: ")
    verdict.message = verdict.note + verdict.message
    return verdict


CREDIT_MODES = ("all_or_nothing", "per_case")


def judge_task(task, cases, hidden_flags, run, cell_problems=None, credit="all_or_nothing", expected=None):
    """-> TaskResult for `task` given its cases, which are hidden, and the sandbox's TaskRun.

    expected: (references, variants, contexts) per case when the batch computed them once
    (``batch_cases.py``); otherwise they are computed here.
    cell_problems: {function name: why its answer cell failed}, to explain missing functions.
    credit: "all_or_nothing" (a check earns its weight when it holds on every case) or
    "per_case" (it earns the fraction of its cases on which it holds), a course setting."""
    if credit not in CREDIT_MODES:
        raise ValueError(f"credit must be one of {', '.join(CREDIT_MODES)}, not {credit!r}")
    result = TaskResult(task.grade_id, task.title, float(task.points), 0.0)
    if run.failure:
        result.error = f"No result: {run.failure}."
        result.checks = [CheckOutcome(c.name, c.weight, False, result.error) for c in task.checks]
        return result
    references, variants, contexts = expected or expected_outputs(task, cases)
    if task.measure_memory and getattr(run, "memory_bytes", None) is not None:
        # graded: the figure the trusted side measured (the runner refuses to grade without it)
        # replaces anything of that name the student's process sent
        measured = np.asarray(float(run.memory_bytes))
        run.outputs = [dict(outputs, memory_bytes=measured) for outputs in run.outputs]
    earned = 0.0
    for check in task.checks:
        applicable = [i for i, ref in enumerate(references) if all(k in ref for k in check.keys)]
        failures, notes = [], []
        for i in applicable:
            status = run.cases[i] if i < len(run.cases) else {"error": {"type": "?", "message": "no result"}}
            error = status.get("error")
            if error:
                failures.append((i, Verdict(False, describe_exception(error, hidden_flags[i], cell_problems),
                                            exception=True)))
                continue
            verdict = _check_case(task, check, cases[i], references[i], run.outputs[i],
                                  status.get("dtypes") or {}, variants[i], contexts[i])
            if not verdict.passed:
                failures.append((i, verdict))
            elif verdict.message:
                notes.append((i, verdict.message))
        passed = bool(applicable) and not failures
        outcome = CheckOutcome(check.name, check.weight, passed)
        notes = [(i, note) for i, note in notes if not hidden_flags[i]]  # student-made text on a pass
        if passed and notes:
            outcome.message = f"{_case_label(notes[0][0], hidden_flags)}: {notes[0][1]}"
        if failures:
            first, verdict = failures[0]
            others = len(failures) - 1
            text = hidden_verdict_text(check, verdict) if hidden_flags[first] else verdict.message
            outcome.message = f"{_case_label(first, hidden_flags)}: {text}"
            if others:
                outcome.message += (f" (The check fails on {others} more of its {len(applicable)} "
                                    "inputs.)")
            if check.hint and not verdict.exception:
                outcome.message += f" Hint: {check.hint}"
            seen = set()
            for i, v in failures:
                for mistake in v.mistakes:
                    if mistake.code not in seen:
                        seen.add(mistake.code)
                        named = {"code": mistake.code, "message": mistake.message}
                        outcome.mistakes.extend(hidden_mistakes([named]) if hidden_flags[i] else [named])
            if credit == "per_case":
                earned += check.weight * (len(applicable) - len(failures)) / len(applicable)
        elif passed:
            earned += check.weight
        else:  # no case has this check's keys: a spec's mistake, which must not give points away
            outcome.message = "no test case applies to this check (a problem of the grader: tell your instructor)"
        result.checks.append(outcome)
    result.score = round(task.points * earned / task.total_weight, 4)
    if all(not c.passed for c in result.checks) and run.cases:
        errors = [c.get("error") for c in run.cases if c.get("error")]
        if errors and len(errors) == len(run.cases):
            result.error = describe_exception(errors[0], all(hidden_flags), cell_problems)
    return result
