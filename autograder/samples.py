"""Sample submissions: realistic student notebooks made from the release notebook.

``autograder/samples/<assignment>/<student>.py`` holds, in jupytext percent format, only what a
student changed: cells whose ``nbgrader`` metadata names an answer cell replace that cell's code;
cells without it are scratch cells the student added at the end. Two more students are generated:
``ada_reference`` (the source notebook's solutions) and ``ben_untouched`` (the release notebook).
"""
import copy
import os
import re

import jupytext
import nbformat

SAMPLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "samples")
REFERENCE, UNTOUCHED = "ada_reference", "ben_untouched"
_MARKERS = re.compile(r"^[ \t]*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)[ \t]*\n?", re.M)


def reference_answers(source_nb):
    """{grade_id: source} of every answer cell of the source notebook, solution markers removed."""
    answers = {}
    for cell in source_nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("solution"):
            answers[meta["grade_id"]] = _MARKERS.sub("", cell["source"] if isinstance(cell["source"], str)
                                                     else "".join(cell["source"]))
    return answers


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
    folder = os.path.join(SAMPLES_DIR, assignment)
    files = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py")) if os.path.isdir(folder) else []
    return [REFERENCE, UNTOUCHED] + files


def sample_notebook(assignment, student, source_nb, release_nb):
    """The notebook the sample student `student` hands in."""
    if student == REFERENCE:
        return student_notebook(release_nb, reference_answers(source_nb))
    if student == UNTOUCHED:
        return student_notebook(release_nb)
    text = jupytext.read(os.path.join(SAMPLES_DIR, assignment, f"{student}.py"))
    answers, extra = {}, []
    for cell in text.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            answers[grade_id] = cell.source
        elif cell.cell_type == "code":
            extra.append(cell.source)
    return student_notebook(release_nb, answers, extra)


def submit(course, assignment, student, nb):
    """Write nb as submitted/<student>/<assignment>/<assignment>.ipynb (what nbgrader collect does)."""
    folder = course.submitted_dir(student, assignment)
    os.makedirs(folder, exist_ok=True)
    nbformat.write(nb, os.path.join(folder, f"{assignment}.ipynb"))
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write("2025-01-15 12:00:00.000000 UTC")
    return folder
