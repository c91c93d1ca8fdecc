"""python -m autograder ...: see autograder/cli.py."""
import sys

# nbformat's validator imports jsonschema, whose optional "iri" format checker compiles about 40
# grammars at import (rfc3987_syntax: seconds per command). The grader never checks that format
# (nbformat validates without format checkers), so the module is marked absent for this command.
sys.modules.setdefault("rfc3987_syntax", None)

from .cli import main  # noqa: E402

sys.exit(main())
