"""``python -m autograder integrity ASSIGNMENT``: what looked like differentiation by other means.

Some shortcuts cannot be closed in the sandbox: complex arithmetic rebuilt from pairs of floats,
a complex number from a float power or an FFT, a numerical derivative on a case small enough,
a closed-form fit where training is asked for, reaching into the grader's objects. Like a
plagiarism report, this lists them for a human to judge: per submission, answer cell and line,
the code and why it was flagged. Flags, not penalties: nothing here changes a score.

It reads the answer cells the grader would run (``running/rebuild.py``), never runs them, and
looks only at cells of tasks that ask for a derived gradient (``cmath`` among their forbidden
modules), so assignment 01's finite differences are not flagged.
"""
import csv
import io
import re
import tokenize
from dataclasses import dataclass

import nbformat

from .layout import Course, UsageError
from ..assignments import get_assignment
from ..judging.text import printable
from .grading import find_notebook
from ..running.rebuild import SubmissionError, read_notebook_file, rebuild

INTEGRITY_CSV = "integrity_{assignment}.csv"

# (why, pattern): matched line by line against the code of the answer cells
PATTERNS = (
    ("complex arithmetic (the complex step differentiates exactly)",
     re.compile(r"\d[jJ]\b|\bcomplex|\bcmath\b|\.imag\b|\bimag\(|\bemath\b|scimath|['\"](?:[DFG]|c8|c16|c32)['\"]"
                r"|\*\*\s*0?\.5\b.*-|\bfft\b|\beig(?:vals)?\b|\broots\(")),
    ("a numerical derivative (differences of the function at nearby points)",
     # (an `eps=1e-5` default in a signature is a normalisation's epsilon, as in layer norm)
     re.compile(r"\(\s*\w+\([^()]*[+-]\s*(?:h|eps|epsilon|delta|dx|step)\b|\b(?:h|epsilon|delta|step)\s*=\s*1e-"
                r"|(?<!, )(?<!,)(?<!\()\beps\s*=\s*1e-")),
    ("a closed-form fit instead of training",
     re.compile(r"\blstsq\b|\bpinv\b|linalg\.solve\b|\binv\(")),
    ("reaching into the grader's process or objects",
     re.compile(r"\bsys\.modules\b|\bmeta_path\b|\b_getframe\b|\bget_referrers\b|\bget_objects\b|__closure__"
                r"|\bsandbox_graphs\b|\bautograder\b|\bctypes\b|\bmmap\b|\btracemalloc\b|\bf\.f\b|\bmeter\b"
                r"|__code__|__globals__|\binspect\b|\bgc\b")),
)
NUMERICAL = PATTERNS[1][0]


def _without_long_strings(source):
    """source with docstrings and other long string literals blanked (line numbers kept); short
    strings stay, since a dtype code such as 'D' is one."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    lines = source.splitlines()
    for tok in reversed(tokens):
        if tok.type == tokenize.STRING and len(tok.string) > 6:
            (r0, c0), (r1, c1) = tok.start, tok.end
            if r0 == r1:
                line = lines[r0 - 1]
                lines[r0 - 1] = line[:c0] + '""' + line[c1:]
            else:
                lines[r0 - 1] = lines[r0 - 1][:c0] + '""'
                for r in range(r0, r1 - 1):
                    lines[r] = ""
                lines[r1 - 1] = lines[r1 - 1][c1:]
    return "\n".join(lines)


@dataclass
class Flag:
    student: str
    cell: str
    line: int
    code: str
    why: str


def derived_gradient_cells(assignment):
    """{grade_id: modules forbidden in every task using it} for the answer cells of tasks that
    ask for a derived gradient."""
    cells = {}
    for task in assignment.tasks:
        if "cmath" in task.forbidden:
            for cell in task.answer_cells:
                cells[cell] = cells.get(cell, set(task.forbidden)) & set(task.forbidden)
    return cells


def scan_cell(student, grade_id, source, forbidden=(), exempt=()):
    """[Flag] for every line of one answer cell that matches a pattern (one flag per line and why);
    forbidden: modules whose use is flagged; exempt: reasons (PATTERNS' first items) not flagged
    here (assignment 01 teaches numerical derivatives)."""
    patterns = [(why, p) for why, p in PATTERNS if why not in exempt]
    names = sorted(m for m in forbidden if m != "cmath")
    if names:
        patterns.append(("a module that differentiates for you",
                         re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")))
    flags = []
    originals = source.splitlines()
    for number, line in enumerate(_without_long_strings(source).splitlines(), start=1):
        code = line.split("#", 1)[0]
        for why, pattern in patterns:
            if pattern.search(code):
                flags.append(Flag(student, grade_id, number, printable(originals[number - 1].strip(), 160), why))
    return flags


def scan_submission(course, assignment, student, source_nb, release_nb):
    """[Flag] of one student's submission; a submission that cannot be read has none."""
    folder = course.submitted_dir(student, assignment.assignment_id)
    try:
        rebuilt = rebuild(source_nb, read_notebook_file(find_notebook(folder, assignment.assignment_id)), release_nb)
    except SubmissionError:
        return []
    wanted = derived_gradient_cells(assignment)
    exempt = (NUMERICAL,) if "numerical_derivatives" in assignment.teaches else ()
    flags = []
    for cell in rebuilt.cells_to_run:
        if cell["grade_id"] in wanted and cell["grade_id"] not in rebuilt.unanswered:
            flags.extend(scan_cell(student, cell["grade_id"], cell["source"], wanted[cell["grade_id"]], exempt))
    return flags


def integrity_flags(course_dir, assignment_id):
    """{student: [Flag]} for every submission of the assignment."""
    course = Course(course_dir).require_built()
    try:
        assignment = get_assignment(assignment_id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    source_nb = nbformat.read(course.source_notebook(assignment_id), as_version=4)
    release_nb = nbformat.read(course.release_notebook(assignment_id), as_version=4)
    return {student: scan_submission(course, assignment, student, source_nb, release_nb)
            for student in course.students_with_submissions(assignment_id)}


def write_report(course_dir, assignment_id, out=print):
    """Print the flags and write DIR/integrity_<assignment>.csv; returns its path."""
    flags = integrity_flags(course_dir, assignment_id)
    path = Course(course_dir).path(INTEGRITY_CSV.format(assignment=assignment_id))
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "cell", "line", "why", "code"])
        for student, found in sorted(flags.items()):
            for flag in found:
                writer.writerow([_csv_cell(flag.student), flag.cell, flag.line, flag.why, _csv_cell(flag.code)])
    flagged = {s: f for s, f in flags.items() if f}
    for student, found in sorted(flagged.items()):
        out(f"{printable(student, 80)}: {len(found)} flag(s)")
        for flag in found:
            out(f"  cell '{flag.cell}', line {flag.line}: {flag.why}\n      {flag.code}")
    out(f"{len(flagged)} of {len(flags)} submission(s) flagged for a human to look at (flags, not "
        f"penalties); written to {path}")
    return path


def _csv_cell(text):
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def flag_counts(course_dir, assignment_id):
    """{student: number of flags}, for the per-task CSV's integrity column."""
    try:
        return {student: len(found) for student, found in integrity_flags(course_dir, assignment_id).items()}
    except (OSError, UsageError):
        return {}


__all__ = ["Flag", "integrity_flags", "write_report", "flag_counts", "scan_cell"]
