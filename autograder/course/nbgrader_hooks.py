"""Keeping plain nbgrader from regrading the course behind the kit's back.

The course's ``nbgrader_config.py`` (written by ``build``) names these exporters for nbgrader's
``Autograde`` and ``GenerateFeedback`` converters. nbgrader creates the exporter before it
touches any folder, so refusing there deletes nothing: formgrader's *Autograde* and *Generate
Feedback* buttons (and ``nbgrader generate_feedback``) get an error that says which command of
the kit to run instead, and ``autograded/`` (with the kit's ``autograder.json``) and the feedback
pages stay as they were. ``nbgrader autograde`` typed on the command line still runs (the README's
"plain nbgrader" comparison), with a warning.
"""
from nbconvert.exporters import HTMLExporter, NotebookExporter
from nbgrader.converters.base import NbGraderException


class KitGradingOnly(NbGraderException):
    """Plain nbgrader was asked to do what the kit does; the message says what to run."""


def _refuse(converter, message):
    if converter is not None:   # nbgrader's command prints its log, formgrader shows it
        converter.log.error(message)
    raise KitGradingOnly(message)


def _converter_of(kwargs):
    return kwargs.get("parent")


def _assignment(converter):
    coursedir = getattr(converter, "coursedir", None)
    assignment = getattr(coursedir, "assignment_id", "") or "ASSIGNMENT"
    return assignment if assignment != "." else "ASSIGNMENT"


def _from_command_line(converter, app_name):
    """True when the converter was started by nbgrader's own command (not formgrader's API)."""
    return type(getattr(converter, "parent", None)).__name__ == app_name


class KitAutogradeExporter(NotebookExporter):
    """nbgrader's own exporter for `nbgrader autograde` typed in a terminal; refused from formgrader."""

    def __init__(self, *args, **kwargs):
        converter = _converter_of(kwargs)
        assignment = _assignment(converter)
        if not _from_command_line(converter, "AutogradeApp"):
            _refuse(converter,
                f"This course is graded by the minigrad kit, not by nbgrader's Autograde (which "
                f"would regrade in the student's kernel, all or nothing per cell, and delete the "
                f"kit's results). Nothing was changed. In a terminal, in the course folder's parent, "
                f"run: python -m autograder grade {assignment}   (then: python -m autograder "
                f"feedback {assignment})")
        if converter is not None:
            converter.log.warning(
                "plain nbgrader autograde: regrading in the student's kernel (not tamper-proof) and "
                "replacing the kit's results in autograded/; `python -m autograder grade %s --force` "
                "restores the kit's grades", assignment)
        super().__init__(*args, **kwargs)


class KitFeedbackExporter(HTMLExporter):
    """Refused always: the kit's `python -m autograder feedback` writes the feedback pages."""

    def __init__(self, *args, **kwargs):
        converter = _converter_of(kwargs)
        _refuse(converter,
            f"Feedback pages of this course are written by the minigrad kit (they show each task's "
            f"checks, named mistakes, written answers, comments and late penalties); nbgrader's "
            f"Generate Feedback would overwrite them with a plainer page. Nothing was changed. In a "
            f"terminal run: python -m autograder feedback {_assignment(converter)}   (then Release Feedback "
            f"here, or nbgrader release_feedback {_assignment(converter)})")
        super().__init__(*args, **kwargs)  # not reached
