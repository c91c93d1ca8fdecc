"""Time limits from the reference's own time, measured in the same sandbox on the same machine.

Each task's spec names a ceiling (``Task.timeout``, chosen so that a finite-difference
"backward" cannot finish its big hidden case). Before a batch, the reference solution runs once
in the sandbox on freshly drawn hidden cases and each task's CPU time is counted by the trusted
side; a task's limit is then ``FACTOR`` times that (at least ``FLOOR_SECONDS``), never more than
the ceiling. A hanging or far too slow submission costs a few seconds instead of the ceiling,
a correct one written less efficiently than the reference still has ``FACTOR`` times its time,
and limits follow the machine: a slower worker measures a slower reference.

Limits are CPU seconds (``running/runner.py`` judges on CPU time, with a wall backstop), so a busy
machine changes neither the reference's figure much nor a submission's.
"""
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from ..judging.spec import draw_cases, output_keys
from ..running import isolation
from ..running.rebuild import rebuild
from ..running.runner import GraderFailure, SandboxTask, run_in_sandbox

FACTOR = 20.0        # a correct answer may use this many times the reference's CPU time ...
FLOOR_SECONDS = 1.0  # ... and at least this much (interpreter noise, tiny tasks): a hidden case
                     # that finite differences must not finish is sized to need far more than this

_cache = {}
_lock = threading.Lock()


def reference_cpu_seconds(assignment, source_nb, release_nb, mode, seed=None, drawn=None):
    """{grade_id: CPU seconds the reference took on one draw of its cases}; tasks whose run did
    not come back are left out (their ceiling applies). drawn: the cases (``spec.draw_cases``),
    e.g. the batch's own; default: drawn from `seed` (default a fresh secret one). Tasks that
    run in different sandboxes (forbidden, allowed) are measured side by side."""
    rebuilt = rebuild(source_nb, source_nb, release_nb)
    if drawn is None:
        drawn = draw_cases(assignment, secrets.randbits(128) if seed is None else seed)
    groups = {}
    for task in assignment.tasks:
        groups.setdefault((task.forbidden, task.allowed), []).append(task)
    limits = isolation.Limits(memory_bytes=assignment.memory_bytes)

    def measure(group):
        (forbidden, allowed), tasks = group
        sandbox_tasks = [SandboxTask(t.call, t.functions, drawn[t.grade_id][0], t.timeout, output_keys(t))
                         for t in tasks]
        run = run_in_sandbox(assignment.assignment_id, rebuilt.cells_to_run, sandbox_tasks, forbidden,
                             allowed, limits, mode=mode)
        return {task.grade_id: task_run.cpu_seconds for task, task_run in zip(tasks, run.tasks)
                if task_run.failure is None and task_run.cpu_seconds is not None}

    seconds = {}
    with ThreadPoolExecutor(len(groups)) as pool:
        for measured in pool.map(measure, groups.items()):
            seconds.update(measured)
    return seconds


def limits_from(assignment, reference_seconds):
    """{grade_id: CPU-second limit}: FACTOR x the reference, at least FLOOR, at most the ceiling."""
    return {task.grade_id: min(float(task.timeout), max(FLOOR_SECONDS, FACTOR * reference_seconds[task.grade_id]))
            if task.grade_id in reference_seconds else float(task.timeout)
            for task in assignment.tasks}


def time_limits(assignment, source_nb, release_nb, mode, key=None, drawn=None):
    """The limits for this process (a grading process or a Dask worker), measured once per `key`
    (e.g. the source notebook's path and mtime), on the cases `drawn` (default: fresh ones),
    and shared by its threads. When the reference cannot be run (the grader's own failure),
    every task keeps its ceiling."""
    key = (assignment.assignment_id, mode, key)
    with _lock:
        if key not in _cache:
            try:
                measured = reference_cpu_seconds(assignment, source_nb, release_nb, mode, drawn=drawn)
            except GraderFailure:
                measured = {}
            _cache[key] = limits_from(assignment, measured)
        return dict(_cache[key])
