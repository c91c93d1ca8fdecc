"""Where things live in an nbgrader course directory, and how nbgrader is invoked on it.

    DIR/nbgrader_config.py
    DIR/source/<assignment>/<assignment>.ipynb                  trusted, with solutions and hidden tests
    DIR/release/<assignment>/<assignment>.ipynb                 what students get
    DIR/submitted/<student>/<assignment>/<assignment>.ipynb     what they hand in (nbgrader collect)
    DIR/autograded/<student>/<assignment>/                      rebuilt notebook + autograder.json
    DIR/feedback/<student>/<assignment>/<assignment>.html
    DIR/gradebook.db
"""
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_COURSE = os.path.join(REPO_ROOT, "course")
NOTEBOOKS = os.path.join(REPO_ROOT, "notebooks")
COURSE_ID = "minigrad-course"

CONFIG = '''\
# Written by `python -m autograder build`. nbgrader reads it when run from this directory.
c = get_config()
c.CourseDirectory.course_id = "{course_id}"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.Execute.timeout = 300
'''


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

    def students_with_submissions(self, assignment):
        """Sorted student ids that have a submitted/<student>/<assignment>/ folder."""
        base = self.path("submitted")
        if not os.path.isdir(base):
            return []
        return sorted(s for s in os.listdir(base) if os.path.isdir(os.path.join(base, s, assignment)))

    def write_config(self):
        os.makedirs(self.root, exist_ok=True)
        with open(self.path("nbgrader_config.py"), "w") as fh:
            fh.write(CONFIG.format(course_id=COURSE_ID))


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
