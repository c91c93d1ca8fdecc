"""What grading produces: per-check, per-task and per-submission results, saved as JSON.

Results hold scores and student-facing messages only: never hidden inputs or hidden test code.
They are written next to the autograded notebook and read back by ``feedback`` and ``export``.
"""
import json
import os
from dataclasses import asdict, dataclass, field

RESULTS_FILE = "autograder.json"



def status_of(score, points):
    """"passed", "partial" or "failed" for a task's score out of its points."""
    if score >= points - 1e-9:
        return "passed"
    return "failed" if score <= 1e-9 else "partial"

@dataclass
class CheckOutcome:
    name: str
    weight: float
    passed: bool
    message: str = ""
    mistakes: list = field(default_factory=list)  # [{"code", "message"}]


@dataclass
class TaskResult:
    grade_id: str
    title: str
    points: float
    score: float
    checks: list = field(default_factory=list)    # of CheckOutcome
    error: str = ""                               # why nothing could be checked, if so

    @property
    def status(self):
        return status_of(self.score, self.points)

    @property
    def mistake_codes(self):
        return sorted({m["code"] for check in self.checks for m in check.mistakes})


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    tasks: list = field(default_factory=list)     # of TaskResult
    notes: list = field(default_factory=list)     # about the notebook itself (missing cells...)
    unanswered: list = field(default_factory=list)  # answer cells left exactly as released
    error: str = ""                               # the submission could not be graded at all
    status: str = "graded"                        # "graded", "ungradable" (scored 0), "grader_failure"
    isolation: str = ""
    seconds: float = 0.0
    timestamp: str = None
    log: str = ""                                 # output of the student's process (instructor only)

    @property
    def score(self):
        return round(sum(t.score for t in self.tasks), 4)

    @property
    def max_score(self):
        return sum(t.points for t in self.tasks)

    def task(self, grade_id):
        return next(t for t in self.tasks if t.grade_id == grade_id)

    def to_json(self):
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        tasks = []
        for t in data.pop("tasks"):
            checks = [CheckOutcome(**c) for c in t.pop("checks")]
            tasks.append(TaskResult(checks=checks, **t))
        return cls(tasks=tasks, **data)

    def save(self, folder):
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, RESULTS_FILE)
        with open(path + ".part", "w") as fh:
            fh.write(self.to_json())
        os.replace(path + ".part", path)

    @classmethod
    def load(cls, folder):
        with open(os.path.join(folder, RESULTS_FILE)) as fh:
            return cls.from_json(fh.read())
