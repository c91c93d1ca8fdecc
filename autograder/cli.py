"""Command line: build, grade, feedback, export, roster, integrity, demo, kit
(``python -m autograder --help``)."""
import argparse
import os
import sys

# nbformat validates notebooks with jsonschema, whose format checkers import rfc3987_syntax when
# it is installed (JupyterLab's jupyter-events pulls it in): that module compiles an IRI grammar
# at import, 2-5 s of every command's start. No notebook schema uses the "iri" format, so this
# process goes without it (jsonschema skips a format whose checker cannot be imported).
sys.modules.setdefault("rfc3987_syntax", None)

from .course.layout import DEFAULT_COURSE, UsageError  # noqa: E402
from .running.isolation import SandboxUnavailable  # noqa: E402


def _course_arg(parser):
    parser.add_argument("--course", default=DEFAULT_COURSE,
                        help="course directory (default: course/ at the repository root)")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="notebooks/*.py -> DIR/source and DIR/release (nbgrader)")
    _course_arg(p)
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all with task specs)")
    p.add_argument("--force", action="store_true",
                   help="regenerate every release, also those whose source has not changed")

    p = sub.add_parser("workspace", help="copy release notebooks missing from DIR/workspace "
                       "(students work there; existing copies are never overwritten)")
    _course_arg(p)

    p = sub.add_parser("grade", help="grade DIR/submitted/*/ASSIGNMENT in a sandbox, into the gradebook")
    _course_arg(p)
    p.add_argument("assignment")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="submissions graded in parallel (default: number of cores)")
    p.add_argument("--force", action="store_true",
                   help="regrade unchanged submissions too (changed ones are always regraded)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                   help="grade on the workers of this Dask scheduler (default: --workers threads here)")
    p.add_argument("--clear-manual", action="store_true",
                   help="drop scores the instructor set in formgrader on an earlier version of a "
                        "submission (the kit's new scores count; written answers need grading again)")
    _no_sandbox_arg(p)

    p = sub.add_parser("feedback", help="write DIR/feedback/<student>/ASSIGNMENT/ASSIGNMENT.html")
    _course_arg(p)
    p.add_argument("assignment")

    p = sub.add_parser("export", help="per-task scores from the gradebook as CSV")
    _course_arg(p)
    p.add_argument("assignment", nargs="?", help="one assignment (default: all)")
    p.add_argument("--to", default=None, help="output file (default: DIR/per_task_grades.csv)")

    p = sub.add_parser("roster", help="students (CSV: id, first_name, last_name, email) into the "
                       "gradebook, as nbgrader db student import")
    _course_arg(p)
    p.add_argument("csv", help="CSV file with a header row: id[,first_name,last_name,email]")

    p = sub.add_parser("integrity", help="flag what looked like differentiation by other means, per "
                                         "submission, cell and line (flags for a human, not penalties)")
    _course_arg(p)
    p.add_argument("assignment")

    p = sub.add_parser("demo", help="build, grade the bundled sample submissions, print the table")
    _course_arg(p)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    _no_sandbox_arg(p)

    p = sub.add_parser("kit", help="the student kit: the student wheel and the release notebooks "
                       "with their .checks.json, in one folder or .zip (no solutions, no hidden tests)")
    _course_arg(p)
    p.add_argument("--to", default=None, help="a new folder, or FILE.zip (default: DIR/kit)")
    p.add_argument("--no-build", action="store_true", help="pack the course as last built")

    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (UsageError, SandboxUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _no_sandbox_arg(parser):
    parser.add_argument("--no-sandbox", action="store_true",
                        help="grade without bubblewrap (student code can then read every readable file "
                             "and use the network; needs a root grader): only if you accept that")


def _run(args):
    if args.command == "build":
        from .course.build import build

        build(args.course, args.assignments or None, force=args.force)
        return 0
    if args.command == "workspace":
        from .course.build import fill_workspace

        fill_workspace(args.course)
        return 0
    if args.command == "grade":
        from .course.grading import grade_assignment

        report = grade_assignment(args.course, args.assignment, workers=args.workers,
                                  force=args.force, students=args.student,
                                  allow_unsandboxed=args.no_sandbox, scheduler=args.scheduler,
                                  clear_manual=args.clear_manual)
        return 0 if report.ok else 1
    if args.command == "feedback":
        from .course.feedback import write_feedback

        return 0 if write_feedback(args.course, args.assignment) else 1
    if args.command == "export":
        from .course.export import export_csv

        export_csv(args.course, args.assignment, args.to)
        return 0
    if args.command == "roster":
        from .course.roster import import_roster

        import_roster(args.course, args.csv)
        return 0
    if args.command == "kit":
        from .course.kit import KitLeak, make_kit

        try:
            make_kit(args.course, args.to, rebuild=not args.no_build)
        except KitLeak as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "integrity":
        from .course.integrity import write_report

        write_report(args.course, args.assignment)
        return 0
    if args.command == "demo":
        from .course.demo import demo

        return demo(args.course, workers=args.workers, allow_unsandboxed=args.no_sandbox)
    return 2


if __name__ == "__main__":
    sys.exit(main())
