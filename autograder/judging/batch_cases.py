"""One batch's cases and what the trusted side expects on them, computed once per batch.

The hidden cases are drawn from one fresh secret seed per batch (a new run of ``grade`` draws new
ones; every submission of a batch gets the same cases, so no score depends on a luckier draw
than a neighbour's). Each task's references (PyTorch, in this process), its typical mistakes
and its diagnosis context are computed on first use and then shared by every submission of the
batch, instead of being recomputed per submission. Nothing here leaves the trusted process.
"""
import secrets
import threading

from .spec import draw_cases


class BatchCases:
    """Cases of every task of `assignment` drawn from `seed` (default: a fresh secret one);
    prepare() runs once before the first reference is computed (e.g. waits for torch)."""

    def __init__(self, assignment, seed=None, prepare=None):
        self.drawn = draw_cases(assignment, secrets.randbits(128) if seed is None else seed)
        self._prepare = prepare
        self._tasks = {task.grade_id: task for task in assignment.tasks}
        self._expected = {}
        self._locks = {grade_id: threading.Lock() for grade_id in self._tasks}

    def cases(self, grade_id):
        """(cases, hidden flags) of one task."""
        return self.drawn[grade_id]

    def expected(self, grade_id):
        """(references, variants, contexts) per case of one task, computed once (thread-safe)."""
        with self._locks[grade_id]:
            if grade_id not in self._expected:
                if self._prepare is not None:
                    self._prepare()
                self._expected[grade_id] = expected_outputs(self._tasks[grade_id], self.drawn[grade_id][0])
            return self._expected[grade_id]


    def compute_in_background(self):
        """Start computing every task's references on a thread of their own (while the batch
        measures its limits in the sandbox); a submission judged before one is ready waits for it."""
        def compute():
            for grade_id in self._tasks:
                try:
                    self.expected(grade_id)
                except Exception:  # noqa: BLE001 - raised again where a submission needs it
                    pass
        threading.Thread(target=compute, name="batch-references", daemon=True).start()


def expected_outputs(task, cases):
    """(references, variants, contexts): one entry per case of `task`."""
    return ([task.reference(case) for case in cases],
            [task.variants(case) if task.variants else {} for case in cases],
            [task.diagnosis_context(case) if task.diagnosis_context else {} for case in cases])
