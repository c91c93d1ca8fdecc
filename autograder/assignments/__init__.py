"""The course's assignments: one folder each, found by their names, listed nowhere.

    assignments/a<NN>_<name>/        assignment "<NN>_<name>" (its notebook: notebooks/<NN>_<name>.py)
        tasks.py                     trusted: the task specs (ASSIGNMENT): cases, checks, points
        reference*.py                trusted: reference computations (torch) the specs call
        questions.toml               trusted: the multiple-choice questions (right letter, why not)
        sandbox.py                   untrusted: CALLS, how the student's functions are called
        sandbox_*.py                 untrusted: test material the calls use
        samples/<student>.py         sample students: the reference with the cells they change

The line between the two sides is in the file names: ``sandbox*.py`` runs in the student's
process (the sandbox mounts these files and nothing else of the folder) and ships in the
student install; everything else never leaves the grader.
"""
import glob
import importlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
_FOLDER = re.compile(r"a(\d\d_\w+)")


def _folders():
    """{assignment id: folder name} for every a<NN>_<name>/ here that has a tasks.py."""
    found = {}
    for name in sorted(os.listdir(HERE)):
        match = _FOLDER.fullmatch(name)
        if match and os.path.isfile(os.path.join(HERE, name, "tasks.py")):
            found[match.group(1)] = name
    return found


_FOLDERS = _folders()


def available_assignments():
    """Assignment ids that have task specs (and so a notebook to build), in course order."""
    return tuple(_FOLDERS)


def folder_name(assignment_id):
    """"a02_scalar_backprop" for "02_scalar_backprop"; KeyError naming the known ids if unknown."""
    if assignment_id not in _FOLDERS:
        raise KeyError(f"no task specs for assignment {assignment_id!r} "
                       f"(known: {', '.join(_FOLDERS)})")
    return _FOLDERS[assignment_id]


def folder(assignment_id):
    """Absolute path of the assignment's folder."""
    return os.path.join(HERE, folder_name(assignment_id))


def get_assignment(assignment_id):
    """The Assignment spec for an id such as "01_finite_differences"; KeyError if unknown."""
    return importlib.import_module(f".{folder_name(assignment_id)}.tasks", __name__).ASSIGNMENT


def sandbox_files(assignment_id):
    """The assignment's untrusted modules (``sandbox*.py``): what a sandbox mounts and the
    student install ships."""
    return sorted(glob.glob(os.path.join(folder(assignment_id), "sandbox*.py")))


def samples_dir(assignment_id):
    return os.path.join(folder(assignment_id), "samples")


def calls(assignment_id):
    """The assignment's CALLS (its sandbox.py), for running calls in this process."""
    return importlib.import_module(f".{folder_name(assignment_id)}.sandbox", __name__).CALLS
