"""Rebuilding a submission from the trusted source notebook plus the student's answer cells.

Only the *sources* of answer cells are taken from the student, matched by ``grade_id``.
Everything else (provided code, read-only cells, tests, metadata, points) comes from the course's
source notebook. A deleted answer cell is graded as unanswered, a duplicate is ignored, a cell
re-typed to markdown counts as deleted, and edits to read-only cells or metadata are ignored; each
case is noted for the feedback. Reading the file is defensive: anything malformed becomes one
clear ``SubmissionError`` for that submission.
"""
import copy
import json
import os
from dataclasses import dataclass, field

from .untrusted import MAX_JSON_DEPTH, UntrustedDataError, json_depth, read_regular_file

MAX_NOTEBOOK_BYTES = 20 << 20
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


class SubmissionError(Exception):
    """The submission cannot be graded at all (not JSON, wrong nbformat, no notebook...)."""


@dataclass
class Rebuilt:
    notebook: dict                                   # nbformat-4 dict: source + student answers
    cells_to_run: list = field(default_factory=list)  # [{"grade_id", "source"}]: setup and answers
    notes: list = field(default_factory=list)        # what was ignored or missing, for feedback
    unanswered: set = field(default_factory=set)     # answer cells left as released


def _text(source):
    if isinstance(source, list):
        if not all(isinstance(line, str) for line in source):
            raise ValueError("cell source is not text")
        return "".join(source)
    if isinstance(source, str):
        return source
    raise ValueError("cell source is not text")


def read_notebook_file(path):
    """Parse a student's .ipynb defensively -> dict; SubmissionError with a one-line reason."""
    # a link could point at the instructor's source notebook, solutions and all; a FIFO or a
    # device would hang or flood the grader: only a regular file of bounded size is read
    if os.path.islink(path):
        raise SubmissionError("the notebook is a symbolic link, not a file")
    try:
        raw = read_regular_file(path, MAX_NOTEBOOK_BYTES)
    except UntrustedDataError as exc:
        if "larger than" in str(exc):
            raise SubmissionError(f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB") from None
        raise SubmissionError(f"cannot read the notebook: {exc}") from None
    if not raw.strip():
        raise SubmissionError("the notebook file is empty")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise SubmissionError(f"the notebook is not valid: its JSON nests deeper than {MAX_JSON_DEPTH} "
                              "levels (a notebook has about ten); was it written by Jupyter?")
    try:
        nb = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SubmissionError("the notebook is not UTF-8 text (is it really an .ipynb file?)") from None
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"the notebook is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                              f"{exc.msg}); was it edited in a text editor or truncated?") from None
    if not isinstance(nb, dict) or "cells" not in nb and "worksheets" not in nb:
        raise SubmissionError("the file is JSON but not a Jupyter notebook")
    if nb.get("nbformat") != 4:
        raise SubmissionError(f"the notebook has nbformat {nb.get('nbformat')!r}; the course uses "
                              f"nbformat 4 (save it with Jupyter 4 or later)")
    if not isinstance(nb.get("cells"), list):
        raise SubmissionError("the notebook has no list of cells")
    return nb


def _grade_id(cell):
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else None


def _is(cell, flag):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get(flag))


def rebuild(source_nb, student_nb, release_nb=None):
    """-> Rebuilt: source_nb with answer-cell sources from student_nb (both nbformat-4 dicts).

    release_nb supplies the released stub for answer cells the student deleted."""
    source_cells = source_nb["cells"]
    answers = {_grade_id(c): c for c in source_cells if c.get("cell_type") == "code" and _is(c, "solution")}
    # written answers (markdown solution cells, graded by hand): never run, kept for formgrader
    written = {_grade_id(c) for c in source_cells if c.get("cell_type") == "markdown" and _is(c, "solution")}
    locked = {_grade_id(c): c for c in source_cells
              if (_is(c, "locked") or _is(c, "grade")) and _grade_id(c) not in written}
    stubs = {}
    for cell in (release_nb or {}).get("cells", []):
        if _grade_id(cell) in answers or _grade_id(cell) in written:
            stubs[_grade_id(cell)] = _text(cell.get("source", ""))
    taken, texts, notes = {}, {}, []
    for cell in student_nb["cells"]:
        grade_id = _grade_id(cell)
        if grade_id is None:
            continue
        if grade_id in written:
            try:
                texts.setdefault(grade_id, _text(cell.get("source", "")))
            except ValueError:
                notes.append(f"Written answer '{grade_id}' could not be read.")
        elif grade_id in answers:
            if cell.get("cell_type") != "code":
                notes.append(f"Answer cell '{grade_id}' was changed to a {cell.get('cell_type')} cell; "
                             f"it was graded as unanswered.")
                continue
            if grade_id in taken:
                notes.append(f"Answer cell '{grade_id}' appears more than once; only the first copy "
                             f"was graded.")
                continue
            try:
                taken[grade_id] = _text(cell.get("source", ""))
            except ValueError:
                notes.append(f"Answer cell '{grade_id}' could not be read; it was graded as unanswered.")
        elif grade_id in locked:
            try:
                edited = _text(cell.get("source", "")).strip() != _text(locked[grade_id]["source"]).strip()
            except ValueError:
                edited = True
            meta = cell.get("metadata", {}).get("nbgrader", {})
            original = locked[grade_id]["metadata"]["nbgrader"]
            if edited and not _is(locked[grade_id], "grade"):
                notes.append(f"Your changes to the read-only cell '{grade_id}' were ignored: the "
                             f"grader uses the original.")
            elif isinstance(meta, dict) and meta.get("points", original.get("points")) != original.get("points"):
                notes.append(f"The points of '{grade_id}' were changed in the notebook; the grader "
                             f"uses the course's points.")
    nb = copy.deepcopy(source_nb)
    rebuilt = Rebuilt(nb, notes=notes)
    for cell in nb["cells"]:
        grade_id = _grade_id(cell)
        if grade_id in written:   # the instructor's model answer never stays in a student's notebook
            cell["source"] = texts.get(grade_id, stubs.get(grade_id, ""))
        if grade_id in answers:
            if grade_id in taken:
                cell["source"] = taken[grade_id]
            else:
                cell["source"] = stubs.get(grade_id, STUB)
                notes.append(f"Answer cell '{grade_id}' is missing from your notebook; it was graded "
                             f"as unanswered.")
            if cell["source"].strip() == stubs.get(grade_id, STUB).strip():
                rebuilt.unanswered.add(grade_id)
        if cell.get("cell_type") == "code" and grade_id is not None and (
                grade_id in answers or (_is(cell, "locked") and not _is(cell, "grade"))):
            rebuilt.cells_to_run.append({"grade_id": grade_id, "source": _text(cell["source"])})
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return rebuilt
