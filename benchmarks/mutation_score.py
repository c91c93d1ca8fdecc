"""Mutation score of the graded tasks: how many small bugs planted in the reference solution the
checks catch (the assignment contract asks for at least 90% killed).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/mutation_score.py [ASSIGNMENT ...]
        [--cap 40] [--seed 0] [--timeout 20] [--verbose]

ASSIGNMENT is an id or a unique prefix ("03"); default: every assignment with task specs.

For each answer cell of the reference notebook, ``ast`` makes mutants of its source: arithmetic
swaps (+ <-> -, * <-> /, also in ``+=``), comparison swaps (< <-> <=, > <-> >=), numeric constants
changed (c -> c+1, 0 <-> 1, 2 -> 1, 0.5 -> 1), a unary minus removed or put in front of a returned
or assigned value (not of a zero initialiser: -0.0 would be an equivalent mutant), ``keepdims=True``
removed, ``.T`` removed, ``.sum`` <-> ``.mean``, ``x += y`` -> ``x = y``, and an augmented
assignment dropped. At most --cap mutants per cell (a sample drawn with --seed); mutants that do
not compile or equal the reference are left out.

Each mutant replaces its cell in the reference notebook, whose code cells run top to bottom in
one namespace in this process (``tests/autograder_course.reference_namespace``), and is judged as
``autograder.course.selfcheck.run_hidden`` judges: the task's visible cases and hidden cases drawn
with a fixed seed, each called through the assignment's CALLS (``calls.run_case``), then
``judge_task``. Nothing runs in the sandbox: these are our own mutants, not student code, and the
time limit is a plain alarm (--timeout seconds per task; a mutant that runs out is killed and
counted under "timeout"). Memory tasks are judged on the figure the call measures itself.

A mutant belongs to one row: the task that owns its cell (the gradable task with the fewest
answer cells that includes it, i.e. the cell's own unit task). It is killed if that task, or any
later task that also exercises the cell, loses a point or raises. Prints, per assignment, one
row per task (mutants, killed, survived, kill rate, and of the killed: by the owning task alone,
by a timeout, by the notebook failing to run), a total, and up to 5 survivors per task as the
source line before and after, for a human to judge: many survivors are equivalent mutants (a
change nothing can observe). Multiple-choice tasks are skipped with a line saying so. Exit code
0 always: this is a measurement, not a test.
"""
import argparse
import ast
import contextlib
import copy
import io
import os
import random
import signal
import sys
import time
import warnings

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # the machine is shared; one BLAS thread each

import jupytext  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))

from autograder.assignments import available_assignments, calls, get_assignment  # noqa: E402
from autograder.course import samples  # noqa: E402
from autograder.course.layout import NOTEBOOKS  # noqa: E402
from autograder.judging.batch_cases import expected_outputs  # noqa: E402
from autograder.judging.judge import judge_task  # noqa: E402
from autograder.running.runner import TaskRun  # noqa: E402
from autograder.sandbox import calls as sandbox_calls  # noqa: E402
from autograder_course import reference_namespace  # noqa: E402

HIDDEN_SEED = 20240601   # hidden cases: one fixed draw, so that runs compare
SHOWN_SURVIVORS = 5

# ---------------------------------------------------------------------------------------------
# Mutants


_SWAP_OP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
_SWAP_ATTR = {"sum": "mean", "mean": "sum"}
_NOT_NEGATABLE = (ast.Tuple, ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp,
                  ast.GeneratorExp, ast.Lambda, ast.JoinedStr, ast.UnaryOp)


def _new_constants(value):
    """The constants a numeric constant is changed to."""
    out = [value + 1]
    out += {0: [1], 1: [0], 2: [1]}.get(value, [])
    if value == 0.5:
        out.append(1)
    return [v for i, v in enumerate(out) if v != value and v not in out[:i]]


def mutations(node):
    """[(label, mutate)] for one node; mutate(node) -> the node to put in its place."""
    found = []

    def add(label, fn):
        found.append((label, fn))

    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _SWAP_OP:
        new = _SWAP_OP[type(node.op)]
        add(f"{type(node.op).__name__} -> {new.__name__}", lambda n, new=new: _set(n, op=new()))
    if isinstance(node, ast.Compare):
        for j, op in enumerate(node.ops):
            if type(op) in _SWAP_CMP:
                new = _SWAP_CMP[type(op)]
                add(f"{type(op).__name__} -> {new.__name__}",
                    lambda n, j=j, new=new: _set(n, ops=n.ops[:j] + [new()] + n.ops[j + 1:]))
    if (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)):
        for v in _new_constants(node.value):
            add(f"{node.value!r} -> {v!r}", lambda n, v=v: _set(n, value=v))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        add("unary minus removed", lambda n: n.operand)
    if (isinstance(node, (ast.Return, ast.Assign)) and node.value is not None
            and not isinstance(node.value, _NOT_NEGATABLE) and not _zero(node.value)
            and not (isinstance(node.value, ast.Constant) and not isinstance(node.value.value, (int, float)))):
        add("value negated", lambda n: _set(n, value=ast.UnaryOp(ast.USub(), n.value)))
    if isinstance(node, ast.Call):
        for j, kw in enumerate(node.keywords):
            if kw.arg == "keepdims" and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                add("keepdims=True removed",
                    lambda n, j=j: _set(n, keywords=n.keywords[:j] + n.keywords[j + 1:]))
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        if node.attr == "T":
            add(".T removed", lambda n: n.value)
        if node.attr in _SWAP_ATTR:
            new = _SWAP_ATTR[node.attr]
            add(f".{node.attr} -> .{new}", lambda n, new=new: _set(n, attr=new))
    if isinstance(node, ast.AugAssign):
        add("+= -> =" if isinstance(node.op, ast.Add) else "augmented -> plain assignment",
            lambda n: ast.Assign(targets=[n.target], value=n.value))
        add("augmented assignment dropped", lambda n: ast.Pass())
    return found


def _zero(value):
    """A zero initialiser (0.0, np.zeros(...), np.zeros_like(...)): negated it is -0.0, which
    nothing observes once values are added or assigned in, so the mutant would be equivalent."""
    if isinstance(value, ast.Constant):
        return value.value == 0
    func = value.func if isinstance(value, ast.Call) else None
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name in ("zeros", "zeros_like")


def _set(node, **fields):
    for name, value in fields.items():
        setattr(node, name, value)
    return node


def _replace(tree, old, new):
    """Put `new` where `old` is in the tree (by identity)."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is old:
                        value[i] = new
                        return
    raise AssertionError("node not in tree")


def _shown_line(source, node, new):
    """(before, after): the source line of the node, and that line with the node's text replaced
    by the mutant's (the mutant unparsed when the node spans several lines)."""
    line = source.splitlines()[node.lineno - 1]
    after = ast.unparse(new)
    if node.end_lineno == node.lineno:
        raw = line.encode()   # col offsets count UTF-8 bytes
        after = (raw[:node.col_offset].decode() + after + raw[node.end_col_offset:].decode()).strip()
    return line.strip(), after.split("\n")[0][:120]


class Mutant:
    def __init__(self, cell, label, source, before, after, line):
        self.cell, self.label, self.source = cell, label, source
        self.before, self.after, self.line = before, after, line


def cell_mutants(cell, source, cap, seed):
    """(mutants of one answer cell, how many there were before the cap)."""
    original = ast.unparse(ast.parse(source))
    # a site is (node, mutation) by position: each mutant re-parses the source and walks to it
    sites = [(i, j) for i, node in enumerate(ast.walk(ast.parse(source)))
             for j in range(len(mutations(node)))]
    found, seen = [], {original}
    for i, j in sites:
        tree = ast.parse(source)
        node = list(ast.walk(tree))[i]
        label, mutate = mutations(node)[j]
        line_node = copy.copy(node)
        new = mutate(node)
        if new is not node:
            _replace(tree, node, ast.copy_location(new, line_node))
        ast.fix_missing_locations(tree)
        try:
            text = ast.unparse(tree)
            compile(text, cell, "exec")
        except (SyntaxError, ValueError):
            continue
        if text in seen:
            continue
        seen.add(text)
        before, after = _shown_line(source, line_node, new)
        found.append(Mutant(cell, label, text, before, after, line_node.lineno))
    found.sort(key=lambda m: m.line)   # in reading order (ast.walk goes breadth first)
    total = len(found)
    if total > cap:
        rng = random.Random(f"{seed}:{cell}")
        keep = sorted(rng.sample(range(total), cap))
        found = [found[k] for k in keep]
    return found, total


# ---------------------------------------------------------------------------------------------
# Judging, as selfcheck.run_hidden does


class Timeout(BaseException):
    """Raised by the alarm; BaseException so that student-style `except Exception` cannot eat it."""


class Alarm:
    """A wall-clock limit on a block: `expired` tells afterwards whether it went off (calls.run_case
    turns the exception into the case's error, so the flag is what counts)."""

    def __init__(self, seconds):
        self.seconds, self.expired = seconds, False

    def _ring(self, signum, frame):
        self.expired = True
        raise Timeout()

    def __enter__(self):
        self._old = signal.signal(signal.SIGALRM, self._ring)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._old)
        return exc[0] is Timeout   # swallowed: `expired` says it


class TaskCases:
    """One task's visible and fixed-seed hidden cases with their references, computed once."""

    def __init__(self, task):
        self.task = task
        visible = task.make_cases(np.random.default_rng(0), False)
        hidden = task.make_cases(np.random.default_rng(HIDDEN_SEED), True)
        self.cases = visible + hidden
        self.hidden = [False] * len(visible) + [True] * len(hidden)
        self.expected = expected_outputs(task, self.cases)


def judge(table, cases, namespace):
    """-> None if the task earns full points on the namespace's functions, else why not."""
    task = cases.task
    missing = [name for name in task.functions if name not in namespace]
    if missing:
        return f"missing {', '.join(missing)}"
    functions = tuple(namespace[name] for name in task.functions)
    run = TaskRun(cases=[], outputs=[])
    for case in cases.cases:
        arrays = {name: np.array(value, copy=True) for name, value in case.arrays.items()}
        outputs, dtypes, error = sandbox_calls.run_case(table, task.call, functions, arrays,
                                                        copy.deepcopy(case.params))
        if error and error.get("type") == "KeyboardInterrupt":
            raise KeyboardInterrupt
        if error and error.get("type") == "Timeout":
            raise Timeout()
        run.cases.append({"error": error, "dtypes": dtypes})
        run.outputs.append(outputs)
    result = judge_task(task, cases.cases, cases.hidden, run, expected=copy.deepcopy(cases.expected))
    if any(status["error"] for status in run.cases):
        return "raised"
    if result.score < result.points - 1e-9:
        return f"{result.score:g}/{result.points:g}"
    return None


@contextlib.contextmanager
def quiet():
    """Mutants print, warn and overflow: keep the table readable."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def verdict(assignment_id, mutant, tasks, table, timeout):
    """(killed by: "own" / "other" / "timeout" / "notebook" / None, detail) of one mutant; tasks:
    the TaskCases exercising its cell, its owner first."""
    try:
        with quiet(), Alarm(timeout) as alarm:
            namespace = reference_namespace(assignment_id, replace={mutant.cell: mutant.source})
        if alarm.expired:
            return "timeout", "building the namespace"
    except BaseException as exc:  # noqa: BLE001 - any failure of the notebook kills the mutant
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "notebook", type(exc).__name__
    for k, cases in enumerate(tasks):
        why = "raised outside a case"
        with quiet(), Alarm(timeout) as alarm:
            try:
                why = judge(table, cases, namespace)
            except (KeyboardInterrupt, Timeout):
                raise
            except BaseException:  # noqa: BLE001
                pass
        if alarm.expired:
            return "timeout", cases.task.grade_id
        if why is not None:
            return ("own" if k == 0 else "other"), f"{cases.task.grade_id}: {why}"
    return None, ""


# ---------------------------------------------------------------------------------------------
# One assignment


def owners(spec):
    """{answer cell: [gradable tasks exercising it, the owner (fewest answer cells) first]}, and
    the skipped tasks with why."""
    gradable = [t for t in spec.tasks if t.call != "multiple_choice"]
    skipped = [(t.grade_id, "multiple choice") for t in spec.tasks if t.call == "multiple_choice"]
    cells = {}
    for task in gradable:
        for cell in task.answer_cells:
            cells.setdefault(cell, []).append(task)
    return {cell: sorted(ts, key=lambda t: len(t.answer_cells)) for cell, ts in cells.items()}, skipped


def score_assignment(assignment_id, cap, seed, timeout, verbose=False):
    started = time.perf_counter()
    spec = get_assignment(assignment_id)
    table = calls(assignment_id)
    answers = samples.reference_answers(jupytext.read(os.path.join(NOTEBOOKS, f"{assignment_id}.py")))
    cell_tasks, skipped = owners(spec)
    with quiet():
        cases = {t.grade_id: TaskCases(t) for ts in cell_tasks.values() for t in ts}
        reference = reference_namespace(assignment_id)
        broken = {g: why for g, c in cases.items() if (why := judge(table, c, reference))}
    rows = {t.grade_id: {"mutants": 0, "killed": 0, "own": 0, "timeout": 0, "notebook": 0,
                         "generated": 0, "survivors": []}
            for t in spec.tasks if t.grade_id in cases}
    notes = [f"skipped {g}: {why}" for g, why in skipped]
    every_cell = {c for t in spec.tasks for c in t.answer_cells}
    notes += [f"answer cell {c} is graded by no task: not mutated" for c in answers if c not in every_cell]
    for grade_id, why in broken.items():
        notes.append(f"NOTE {grade_id}: the reference itself does not earn full points in-process "
                     f"({why}); its kills below mean nothing")
    for cell, tasks in cell_tasks.items():
        if cell not in answers:
            notes.append(f"answer cell {cell} is not in the notebook: not mutated")
            continue
        mutants, generated = cell_mutants(cell, answers[cell], cap, seed)
        row = rows[tasks[0].grade_id]
        row["generated"] += generated
        for mutant in mutants:
            killer, detail = verdict(assignment_id, mutant, [cases[t.grade_id] for t in tasks],
                                     table, timeout)
            row["mutants"] += 1
            if verbose:
                print(f"  {killer or 'SURVIVED':<9} {detail:<50} [{cell}:{mutant.line}] {mutant.label}: "
                      f"{mutant.after}", flush=True)
            if killer is None:
                row["survivors"].append(mutant)
                continue
            row["killed"] += 1
            if killer in ("own", "timeout", "notebook"):
                row[killer] += 1
    return rows, notes, time.perf_counter() - started


def print_assignment(assignment_id, rows, notes, seconds, cap):
    print(f"\n== {assignment_id} (at most {cap} mutants per answer cell; {seconds:.0f} s) ==")
    head = (f"{'task':<28} {'mutants':>7} {'killed':>6} {'survived':>8} {'kill rate':>9}   "
            f"| killed by: {'own task':>8} {'timeout':>7} {'notebook':>8}")
    print(head)
    print("-" * len(head))
    total = {"mutants": 0, "killed": 0, "own": 0, "timeout": 0, "notebook": 0}
    for grade_id, row in rows.items():
        if not row["mutants"]:
            continue
        for key in total:
            total[key] += row[key]
        print(_row(grade_id, row))
    print("-" * len(head))
    print(_row("total", total))
    for note in notes:
        print(note)
    for grade_id, row in rows.items():
        if row["survivors"]:
            shown = row["survivors"][:SHOWN_SURVIVORS]
            print(f"survivors of {grade_id} ({len(shown)} of {len(row['survivors'])}; "
                  f"{row['generated']} mutants before the cap):")
            for m in shown:
                print(f"  [{m.cell}:{m.line}] {m.label}\n      {m.before}\n   -> {m.after}")


def _row(name, row):
    survived = row["mutants"] - row["killed"]
    rate = f"{100 * row['killed'] / row['mutants']:.1f}%" if row["mutants"] else "-"
    return (f"{name:<28} {row['mutants']:>7} {row['killed']:>6} {survived:>8} {rate:>9}   "
            f"|            {row['own']:>8} {row['timeout']:>7} {row['notebook']:>8}")


def resolve(names):
    known = available_assignments()
    chosen = []
    for name in names or known:
        matches = [a for a in known if a == name] or [a for a in known if a.startswith(name)]
        if len(matches) != 1:
            sys.exit(f"{name!r} names {'no' if not matches else 'more than one'} assignment "
                     f"(known: {', '.join(known)})")
        chosen.append(matches[0])
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*", help="ids or unique prefixes (default: all)")
    parser.add_argument("--cap", type=int, default=40, help="mutants per answer cell at most")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample under the cap")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per task and mutant")
    parser.add_argument("--verbose", action="store_true", help="one line per mutant: who killed it")
    args = parser.parse_args()
    for assignment_id in resolve(args.assignments):
        rows, notes, seconds = score_assignment(assignment_id, args.cap, args.seed, args.timeout,
                                                args.verbose)
        print_assignment(assignment_id, rows, notes, seconds, args.cap)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
