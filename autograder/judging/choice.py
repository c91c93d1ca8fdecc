"""Multiple-choice questions graded automatically, as tasks like any other.

The answer cell is a function returning a letter (``def choice_central(): return "b"``); the
sandbox call ``multiple_choice`` turns it into a number (1 for the first letter) and the trusted
side compares it with the right choice here. The right letter and why each other option is
wrong live in the assignment's ``questions.toml`` (never shipped): the visible case's reference is
empty and the only check is graded-only, so the notebook's self-check says whether the answer
is one of the letters and nothing about which one is right.
"""
import os
import re
import tomllib

import numpy as np

from .compare import Verdict
from .diagnosis import Mistake
from .spec import Case, Check, Task, scalar

_DIGIT = re.compile(r"\d")


def _check_text(right, wrong):
    """Refuse, at import, a question the feedback cannot show whole: on a graded (hidden) case
    every digit of a named mistake is redacted, so the explanations are written in words."""
    letters = [right, *wrong]
    if len(set(letters)) != len(letters) or not all(re.fullmatch(r"[a-z]", x) for x in letters):
        raise ValueError(f"options must be distinct single letters, got {letters}")
    for letter, (code, message) in wrong.items():
        if _DIGIT.search(message) or not re.fullmatch(r"[a-z_]+", code):
            raise ValueError(f"option {letter!r}: the mistake code must be lower_case words and the "
                             f"message free of digits (hidden feedback redacts them): {message!r}")


def choice_task(grade_id, title, answer_cell, right, wrong, forbidden, short_name):
    """A one-point Task grading the letter returned by the function named like `answer_cell`.

    right: the right letter; wrong: {letter: (mistake code, why this option is wrong)}, trusted
    text shown to a student who chose it."""
    _check_text(right, wrong)
    letters = "".join(sorted([right, *wrong]))

    def make_cases(rng, hidden):
        return [Case({}, {"letters": letters, "graded": bool(hidden)})]

    def reference(case):
        # the visible case's reference ships to the student's kernel: it must not hold the answer
        return {"choice": scalar(letters.index(right) + 1)} if case.params.get("graded") else {}

    def compare(expected, outputs, case):
        got = outputs.get("choice")
        if got is None:
            return Verdict(False, "no choice came back", kind="missing")
        got = np.asarray(got)
        if got.shape != () or not np.isfinite(got) or float(got) not in range(1, len(letters) + 1):
            return Verdict(False, f"the choice must be one of {', '.join(letters)}", kind="invalid")
        chosen = letters[int(got) - 1]
        if int(got) == int(expected["choice"]):
            return Verdict(True)
        code, message = wrong[chosen]
        return Verdict(False, f"({chosen}) is not the right choice.", kind="choice",
                       mistakes=[Mistake(code, f"({chosen}): {message}")])

    return Task(
        grade_id=grade_id, title=title, points=1, answer_cells=(answer_cell,), functions=(answer_cell,),
        call="multiple_choice", make_cases=make_cases, reference=reference,
        checks=(Check("the right choice", ("choice",), compare=compare, self_check=False),),
        forbidden=forbidden, timeout=5, short_name=short_name)


def choice_tasks(tasks_file, forbidden):
    """The Tasks of the questions in ``questions.toml`` beside `tasks_file`, in file order: one
    table per answer cell (title, short_name, right, and wrong.<letter>.mistake / .why)."""
    path = os.path.join(os.path.dirname(tasks_file), "questions.toml")
    with open(path, "rb") as fh:
        questions = tomllib.load(fh)
    return tuple(choice_task(f"test_{cell}", q["title"], cell, right=q["right"],
                             wrong={letter: (w["mistake"], w["why"]) for letter, w in q["wrong"].items()},
                             forbidden=forbidden, short_name=q["short_name"])
                 for cell, q in questions.items())
