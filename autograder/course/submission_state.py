"""What was graded: a fingerprint of each submission folder, kept next to its results.

``grade`` skips a submission only when its folder is exactly what was graded last time: the
notebook, every other top-level file and their names (a renamed notebook counts), and nbgrader's
``timestamp.txt``. ``nbgrader collect --update`` bringing a resubmission, or a student renaming a
misnamed notebook, therefore gets graded again without ``--force``. The state is written after
the gradebook commit, so a batch killed in between regrades rather than skips.

    autograded/<student>/<assignment>/graded_submission.json
        {"sha256": ..., "timestamp": ..., "earlier_manual": {grade_id: score}}

``earlier_manual``: the instructor's formgrader scores that were made on an earlier version of
the submission and survived its regrade (shown as such in ``grade`` and on the feedback page).
"""
import hashlib
import json
import os
import stat

from .layout import Course

STATE_FILE = "graded_submission.json"
MAX_HASHED_BYTES = 64 << 20   # per file: beyond it, size and mtime stand for the content


def fingerprint(folder):
    """sha256 over the folder's top-level entries (names, kinds) and its regular files' bytes.

    The folder is the student's: links are not followed, FIFOs and devices are not opened."""
    digest = hashlib.sha256()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:   # removed since the listing
            continue
        digest.update(entry.name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(f"{stat.S_IFMT(info.st_mode)}\0{info.st_size}\0".encode())
        if stat.S_ISLNK(info.st_mode):
            digest.update(os.readlink(entry.path).encode("utf-8", "surrogateescape"))
        elif stat.S_ISREG(info.st_mode):
            digest.update(_file_digest(entry.path, info))
        digest.update(b"\n")
    return digest.hexdigest()


def _file_digest(path, info):
    if info.st_size > MAX_HASHED_BYTES:
        return f"large {info.st_mtime_ns}".encode()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        return f"unreadable {exc.errno}".encode()
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):   # swapped since the listing
            return b"not a file"
        h = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            h.update(chunk)
        return h.digest()
    finally:
        os.close(fd)


def _path(course, student, assignment):
    return os.path.join(course.autograded_dir(student, assignment), STATE_FILE)


def load(course, student, assignment):
    """The saved state, or None (never graded by this version of the kit, or unreadable)."""
    try:
        with open(_path(course, student, assignment)) as fh:
            state = json.load(fh)
        return state if isinstance(state, dict) and isinstance(state.get("sha256"), str) else None
    except (OSError, ValueError):
        return None


def save(course, student, assignment, sha256, timestamp, earlier_manual):
    path = _path(course, student, assignment)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".part", "w") as fh:
        json.dump({"sha256": sha256, "timestamp": timestamp, "earlier_manual": earlier_manual}, fh)
    os.replace(path + ".part", path)


def forget(course: Course, student, assignment):
    """Drop the state: the next `grade` grades the submission again."""
    try:
        os.remove(_path(course, student, assignment))
    except FileNotFoundError:
        pass
