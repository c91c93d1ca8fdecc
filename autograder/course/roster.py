"""``python -m autograder roster FILE.csv``: the class list into nbgrader's gradebook.

As ``nbgrader db student import`` does: a CSV with a header row and the columns ``id`` (required),
``first_name``, ``last_name``, ``email`` (optional; ``lms_user_id`` too); each student is created or
updated, so formgrader shows names instead of "None, None". The whole file is checked first and
imported in one transaction: one bad row stops it with the row number and nothing is changed.
"""
import csv
import re

from nbgrader.api import MissingEntry, Student

from .gradebook import open_gradebook
from .layout import Course, UsageError
from ..judging.text import printable

COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")
# the id names folders (submitted/<id>/) and nbgrader's exchange entries
VALID_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def read_roster(path):
    """[{column: value}] from the CSV at path; UsageError naming the row for anything wrong."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in reader.fieldnames or []]
            if "id" not in header:
                raise UsageError(f"{path}: the first row must name the columns, with at least `id` "
                                 f"(also: {', '.join(COLUMNS[1:])}); found {', '.join(header) or 'nothing'}")
            unknown = [h for h in header if h not in COLUMNS]
            if unknown:
                raise UsageError(f"{path}: unknown column(s) {', '.join(printable(u, 40) for u in unknown)} "
                                 f"(known: {', '.join(COLUMNS)})")
            students, seen = [], set()
            for number, raw in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
                if None in raw:
                    raise UsageError(f"{path}, row {number}: more values than columns")
                sid = row.get("id", "")
                if not VALID_ID.match(sid):
                    raise UsageError(f"{path}, row {number}: student id {printable(sid, 40)!r} is not a "
                                     f"valid id (letters, digits, . _ @ -; as the submitted/ folders name them)")
                if sid in seen:
                    raise UsageError(f"{path}, row {number}: student {sid!r} appears twice")
                seen.add(sid)
                students.append({k: (row.get(k) or None) for k in COLUMNS if k in header})
            return students
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable CSV file ({exc})") from None


def import_roster(course_dir, path, out=print):
    """Create or update every student of the CSV in the gradebook; -> number of students."""
    course = Course(course_dir).require_built()
    students = read_roster(path)
    gb = open_gradebook(course)
    try:
        for row in students:
            sid = row.pop("id")
            try:
                student = gb.find_student(sid)
            except MissingEntry:
                gb.db.add(Student(id=sid, **row))
                continue
            for key, value in row.items():
                setattr(student, key, value)
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise
    finally:
        gb.close()
    out(f"roster: {len(students)} student(s) in {course.gradebook}")
    return len(students)
