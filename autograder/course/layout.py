"""Where things live in an nbgrader course directory, and how nbgrader is invoked on it.

    DIR/nbgrader_config.py
    DIR/source/<assignment>/<assignment>.ipynb                  trusted, with solutions and hidden tests
    DIR/release/<assignment>/<assignment>.ipynb                 what students get
    DIR/submitted/<student>/<assignment>/<assignment>.ipynb     what they hand in (nbgrader collect)
    DIR/autograded/<student>/<assignment>/                      rebuilt notebook + autograder.json
    DIR/feedback/<student>/<assignment>/<assignment>.html   (+ timestamp.txt, submission_secret.txt)
    DIR/gradebook.db
    DIR/autograder.toml                                     optional course settings (below)
    DIR/per_task_grades.csv                                 `python -m autograder export`

Course settings (``autograder.toml``, all optional)::

    partial_credit = "per_case"   # default "all_or_nothing": a check earns its weight only when it
                                  # holds on every case; "per_case": the fraction of cases it holds on
"""
import contextlib
import fcntl
import os
import subprocess
import sys
import tomllib

from ..judging.judge import CREDIT_MODES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_COURSE = os.path.join(REPO_ROOT, "course")
NOTEBOOKS = os.path.join(REPO_ROOT, "notebooks")
COURSE_ID = "minigrad-course"
SETTINGS_FILE = "autograder.toml"
DEFAULT_SETTINGS = {"partial_credit": "all_or_nothing"}
PER_TASK_CSV = "per_task_grades.csv"   # nbgrader export writes grades.csv: a different name


class UsageError(Exception):
    """A command cannot run as asked (unknown assignment, no course...): one line says why."""

CONFIG_BEGIN = "# >>> written by `python -m autograder build`: only the lines up to <<< are rewritten"
CONFIG_END = "# <<< your own settings (exchange, course id, late penalties...) go below: build keeps them"
KIT_CONFIG = '''\
c = get_config()
c.CourseDirectory.course_id = "{course_id}"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.Execute.timeout = 300
# formgrader's Autograde and Generate Feedback buttons would regrade with plain nbgrader: refused
# with what to run instead (see autograder/course/nbgrader_hooks.py)
c.Autograde.exporter_class = "autograder.course.nbgrader_hooks.KitAutogradeExporter"
c.GenerateFeedback.exporter_class = "autograder.course.nbgrader_hooks.KitFeedbackExporter"
'''
# what builds before the managed block wrote (the whole file): dropped when such a file is upgraded
_OLD_KIT_LINES = {
    "# Written by `python -m autograder build`. nbgrader reads it when run from this directory.",
    "c = get_config()",
    f'c.CourseDirectory.course_id = "{COURSE_ID}"',
    'c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}',
    "c.Execute.timeout = 300",
}


def merged_config(existing):
    """nbgrader_config.py text: the kit's block, then every line of `existing` outside it."""
    block = f"{CONFIG_BEGIN}\n{KIT_CONFIG.format(course_id=COURSE_ID)}{CONFIG_END}\n"
    if existing is None:
        return block
    if CONFIG_BEGIN in existing and CONFIG_END in existing:
        before, rest = existing.split(CONFIG_BEGIN, 1)
        after = rest.split(CONFIG_END, 1)[1].lstrip("\n")
        return before + block + after
    own = [line for line in existing.splitlines() if line.strip() not in _OLD_KIT_LINES]
    return block + "".join(line + "\n" for line in own)


class Course:
    """Paths inside one course directory."""

    def __init__(self, root=None):
        self.root = os.path.abspath(root or DEFAULT_COURSE)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def gradebook(self):
        return self.path("gradebook.db")

    @property
    def db_url(self):
        return f"sqlite:///{self.gradebook}"

    def source_notebook(self, assignment):
        return self.path("source", assignment, f"{assignment}.ipynb")

    def release_notebook(self, assignment):
        return self.path("release", assignment, f"{assignment}.ipynb")

    def submitted_dir(self, student, assignment):
        return self.path("submitted", student, assignment)

    def autograded_dir(self, student, assignment):
        return self.path("autograded", student, assignment)

    def feedback_html(self, student, assignment):
        return self.path("feedback", student, assignment, f"{assignment}.html")

    def cell_order(self, assignment):
        """grade_ids of the source notebook's nbgrader cells, top to bottom."""
        import nbformat

        nb = nbformat.read(self.source_notebook(assignment), as_version=4)
        return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")]

    def require_built(self):
        """UsageError unless this is a built course (never creates anything)."""
        if not os.path.isfile(self.path("nbgrader_config.py")) or not os.path.isfile(self.gradebook):
            raise UsageError(f"{self.root} is not a built course (no nbgrader_config.py and gradebook.db "
                             f"there): run `python -m autograder build --course {self.root}` first, or "
                             f"pass --course DIR")
        return self

    def settings(self):
        """The course settings: DEFAULT_SETTINGS updated from DIR/autograder.toml."""
        settings = dict(DEFAULT_SETTINGS)
        path = self.path(SETTINGS_FILE)
        if os.path.exists(path):
            try:
                with open(path, "rb") as fh:
                    settings.update(tomllib.load(fh))
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise UsageError(f"{path}: {exc}") from None
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise UsageError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(DEFAULT_SETTINGS)})")
        if settings["partial_credit"] not in CREDIT_MODES:
            raise UsageError(f"{path}: partial_credit must be one of {', '.join(CREDIT_MODES)}, "
                             f"not {settings['partial_credit']!r}")
        return settings

    @contextlib.contextmanager
    def grading_lock(self):
        """Held while `grade` runs: a second `grade` on the same course stops with a clear line."""
        path = self.path(".autograder.lock")
        fh = open(path, "a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read(40).strip() or "another process"
                raise UsageError(f"another `python -m autograder grade` is running on {self.root} "
                                 f"({holder}); wait for it to finish, then run again (already graded "
                                 f"submissions are skipped)") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fh.close()

    def students_with_submissions(self, assignment):
        """Sorted student ids that have a submitted/<student>/<assignment>/ folder."""
        base = self.path("submitted")
        if not os.path.isdir(base):
            return []
        return sorted(s for s in os.listdir(base) if os.path.isdir(os.path.join(base, s, assignment)))

    def write_config(self):
        """Write the kit's lines of nbgrader_config.py, keeping every line the instructor added."""
        os.makedirs(self.root, exist_ok=True)
        path = self.path("nbgrader_config.py")
        existing = None
        if os.path.exists(path):
            with open(path) as fh:
                existing = fh.read()
        text = merged_config(existing)
        if text != existing:
            with open(path + ".part", "w") as fh:
                fh.write(text)
            os.replace(path + ".part", path)

    def nbgrader_config(self):
        """The traitlets Config of DIR/nbgrader_config.py, as nbgrader run here reads it."""
        from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

        try:
            return PyFileConfigLoader("nbgrader_config.py", path=self.root).load_config()
        except ConfigFileNotFound:
            from traitlets.config import Config

            return Config()
        except Exception as exc:  # the instructor's file does not run: say where
            raise UsageError(f"{self.path('nbgrader_config.py')} does not load: "
                             f"{type(exc).__name__}: {exc}") from None

    @property
    def course_id(self):
        """nbgrader's course id: CourseDirectory.course_id of nbgrader_config.py (the kit's default)."""
        value = self.nbgrader_config().get("CourseDirectory", {}).get("course_id")
        return value if isinstance(value, str) and value else COURSE_ID


def nbgrader_env():
    """os.environ with this interpreter's bin/ first on PATH (nbgrader runs alembic from there)."""
    env = dict(os.environ)
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def run_nbgrader(course, *args, check=True, quiet=True):
    """Run `nbgrader ARGS` in the course directory; CompletedProcess (output captured if quiet)."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    done = subprocess.run(cmd, cwd=course.root, env=nbgrader_env(), text=True,
                          capture_output=quiet, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        detail = (done.stdout or "") + (done.stderr or "") if quiet else ""
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {done.returncode}):\n{detail[-3000:]}")
    return done
