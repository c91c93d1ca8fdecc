"""The self-check data file shipped next to each release notebook: ``<assignment>.checks.json``.

``python -m autograder build`` writes it from the task specs (``autograder.course.selfcheck``): for each
test cell, the visible cases' inputs, their references, the known wrong answers for those inputs,
what each check compares and how closely. No hidden case, generator or reference code is in it.
Arrays travel as ``{"__ndarray__": dtype, "shape": [...], "data": [...]}``; JSON keeps float64
exactly (Python writes the shortest repr that reads back to the same float).
"""
import glob
import json
import os

import numpy as np

FORMAT = 1
SUFFIX = ".checks.json"
ENV_VAR = "COURSECHECK_DATA"  # a data file, or a folder holding some, to use instead of the cwd


def encode(value):
    """A JSON-able copy of value (dicts, lists, tuples, arrays, NumPy and Python scalars)."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.dtype.str, "shape": list(value.shape),
                "data": value.reshape(-1).tolist()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot ship a {type(value).__name__} in the self-check data: {value!r:.80}")


def decode(value):
    """The inverse of encode (tuples come back as lists)."""
    if isinstance(value, dict):
        if "__ndarray__" in value:
            array = np.array(value["data"], dtype=np.dtype(value["__ndarray__"]))
            return array.reshape(value["shape"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def write(path, assignment_id, tasks):
    """Write {grade_id: entry} for one assignment to path."""
    with open(path, "w") as fh:
        json.dump({"format": FORMAT, "assignment": assignment_id, "tasks": encode(tasks)}, fh)
        fh.write("\n")


def candidate_files(folder=None):
    """Data files to look in: $COURSECHECK_DATA (file or folder), else folder (default: cwd)."""
    where = os.environ.get(ENV_VAR) or folder or os.getcwd()
    if os.path.isfile(where):
        return [where]
    return sorted(glob.glob(os.path.join(where, "*" + SUFFIX)))


def find_entry(grade_id, folder=None):
    """The decoded entry of one test cell, or None when no data file here has it."""
    for path in candidate_files(folder):
        with open(path) as fh:
            data = json.load(fh)
        if data.get("format") != FORMAT:
            raise RuntimeError(f"{path} was written by a different version of the course "
                               f"(format {data.get('format')}, this coursecheck reads {FORMAT}): "
                               "update the course package (README, 'For students')")
        if grade_id in data["tasks"]:
            return decode(data["tasks"][grade_id])
    return None
