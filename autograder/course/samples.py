"""Sample submissions: realistic student notebooks made from the reference and the release.

``autograder/assignments/<a>/samples/<student>.py`` (jupytext percent format) holds only what a
student changed, starting from the reference solution:

* a cell whose ``nbgrader`` metadata names an answer cell, with ``planted="..."`` saying which
  mistake it plants, changes that answer cell: each function or class it defines replaces the
  reference's definition of the same name (a class replaces, or adds, only the methods it
  defines); other statements go at the end of the cell. ``remove=["helper", "Value.__radd__"]``
  names definitions the student left out. With ``replace=true`` the cell replaces the
  reference's cell whole (an answer left as the release's stub, say); ``edit=[["old", "new"]]``
  replaces text that occurs exactly once in the reference's cell (a one-line slip inside a long
  function, without copying the function);
* a cell without ``nbgrader`` metadata is a scratch cell the student added at the end;
* answer cells the sample does not name keep the reference's answer.

Two more students are generated: ``ada_reference`` (the source notebook's solutions) and
``ben_untouched`` (the release notebook).
"""
import ast
import copy
import os
import re

import jupytext
import nbformat

from ..assignments import samples_dir

REFERENCE, UNTOUCHED = "ada_reference", "ben_untouched"
_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*\n?", re.M)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class SampleError(Exception):
    """A sample file does not fit the format above (the message names the file and cell)."""


def reference_answers(source_nb):
    """{grade_id: source} of every answer cell of the source notebook, solution markers removed."""
    answers = {}
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution"):
            answers[meta["grade_id"]] = _MARKERS.sub("", cell["source"] if isinstance(cell["source"], str)
                                                     else "".join(cell["source"]))
    return answers


def _span(node):
    """(first, last) 0-based line numbers of a statement, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first - 1, node.end_lineno - 1


def _text(lines, node):
    first, last = _span(node)
    return "".join(lines[first:last + 1])


def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _by_name(body):
    return {node.name: node for node in body if isinstance(node, _DEFINITIONS)}


def _same_header(one, other):
    """Two class definitions with the same bases, keywords and decorators."""
    def header(node):
        return [ast.dump(part) for part in node.bases + node.keywords + node.decorator_list]
    return header(one) == header(other)


def merge_definitions(reference, changes, remove=()):
    """The reference cell's code with the definitions in `changes` put in place of its own.

    A top-level function or class in `changes` replaces the one of the same name; for a class
    defined on both sides with the same bases, only the methods `changes` defines are replaced
    (or added at the class's end). Anything else in `changes` is appended to the cell. `remove` names definitions
    the student left out ("helper", "Value.__radd__")."""
    reference = _without(reference, remove)
    ref_lines = reference.splitlines(keepends=True)
    if ref_lines and not ref_lines[-1].endswith("\n"):
        ref_lines[-1] += "\n"
    new_lines = changes.splitlines(keepends=True)
    edits = []   # (first line, last line, replacement text); last = first - 1 inserts
    appended = []
    ref_defs = _by_name(ast.parse(reference).body)
    for node in ast.parse(changes).body:
        target = ref_defs.get(getattr(node, "name", None))
        if target is None or type(target) is not type(node):
            appended.append(_text(new_lines, node))
        elif isinstance(node, ast.ClassDef) and _same_header(node, target):
            members = _by_name(target.body)
            for member in node.body:
                if _is_docstring(member):
                    continue  # the reference's docstring stays
                old = members.get(getattr(member, "name", None))
                if old is not None:
                    edits.append((*_span(old), _text(new_lines, member)))
                else:
                    end = target.end_lineno
                    edits.append((end, end - 1, "\n" + _text(new_lines, member)))
        else:
            edits.append((*_span(target), _text(new_lines, node)))
    for first, last, text in sorted(edits, key=lambda edit: edit[0], reverse=True):
        ref_lines[first:last + 1] = [text if text.endswith("\n") else text + "\n"]
    merged = "".join(ref_lines)
    for text in appended:
        merged = merged.rstrip("\n") + "\n\n\n" + text
    return merged


def _without(source, names):
    """source with the named top-level definitions or class members ("Class.method") cut out."""
    lines = source.splitlines(keepends=True)
    spans = []
    top = _by_name(ast.parse(source).body)
    for name in names:
        owner, _, member = name.partition(".")
        node = top.get(owner)
        if node is not None and member:
            node = _by_name(node.body).get(member) if isinstance(node, ast.ClassDef) else None
        if node is None:
            raise SampleError(f"cannot remove {name!r}: the reference cell does not define it")
        spans.append(_span(node))
    for first, last in sorted(spans, reverse=True):
        del lines[first:last + 1]
    return "".join(lines)


def student_notebook(release_nb, answers=None, extra_cells=()):
    """A copy of the release notebook with answer cells replaced and scratch cells appended."""
    nb = copy.deepcopy(release_nb)
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if answers and grade_id in answers:
            cell["source"] = answers[grade_id]
    for source in extra_cells:
        nb["cells"].append(nbformat.v4.new_code_cell(source))
    return nbformat.from_dict(nb)


def sample_students(assignment):
    """Student ids of the bundled samples for an assignment, generated ones first."""
    folder = samples_dir(assignment)
    files = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py")) if os.path.isdir(folder) else []
    return [REFERENCE, UNTOUCHED] + files


def sample_changes(assignment, student):
    """[(grade_id or None, source, metadata)] of one sample file, checked against the format."""
    path = os.path.join(samples_dir(assignment), f"{student}.py")
    changes = []
    for number, cell in enumerate(jupytext.read(path).cells, 1):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id and not str(cell.metadata.get("planted", "")).strip():
            raise SampleError(f"{path}, cell {number} ({grade_id}): say which mistake the change "
                              "plants, as planted=\"...\" in the cell's header")
        changes.append((grade_id, cell.source, cell.metadata))
    return changes


def sample_answers(assignment, student, source_nb):
    """({grade_id: source} of every answer cell, [scratch cell sources]) of a sample student."""
    answers = reference_answers(source_nb)
    if student == REFERENCE:
        return answers, []
    extra = []
    for grade_id, source, metadata in sample_changes(assignment, student):
        if grade_id is None:
            extra.append(source)
        elif grade_id not in answers:
            raise SampleError(f"sample {assignment}/{student}: no answer cell {grade_id!r} in the notebook")
        elif metadata.get("replace"):
            answers[grade_id] = source
        else:
            answers[grade_id] = _edited(merge_definitions(answers[grade_id], source, metadata.get("remove", ())),
                                        metadata.get("edit", ()), f"sample {assignment}/{student}, {grade_id}")
    return answers, extra


def _edited(source, edits, where):
    """source with each [old, new] of `edits` applied; old must occur exactly once."""
    for edit in edits:
        if not (isinstance(edit, list) and len(edit) == 2 and all(isinstance(e, str) for e in edit)):
            raise SampleError(f"{where}: each edit is a pair [\"old\", \"new\"], not {edit!r}")
        old, new = edit
        if source.count(old) != 1:
            raise SampleError(f"{where}: the edit's old text occurs {source.count(old)} times in the "
                              f"reference's cell (it must occur exactly once): {old!r}")
        source = source.replace(old, new)
    return source


def sample_notebook(assignment, student, source_nb, release_nb):
    """The notebook the sample student `student` hands in."""
    if student == UNTOUCHED:
        return student_notebook(release_nb)
    return student_notebook(release_nb, *sample_answers(assignment, student, source_nb))


def submit(course, assignment, student, nb):
    """Write nb as submitted/<student>/<assignment>/<assignment>.ipynb (what nbgrader collect does)."""
    folder = course.submitted_dir(student, assignment)
    os.makedirs(folder, exist_ok=True)
    nbformat.write(nb, os.path.join(folder, f"{assignment}.ipynb"))
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write("2025-01-15 12:00:00.000000 UTC")
    return folder
