"""Making text safe to show: on the instructor's terminal, and in a student's feedback.

Folder names, file names and exception messages come from students. Control characters (which a
terminal would obey: cursor moves, colours, "\\r" overwriting a line), bidirectional overrides and
lone surrogates are written as visible escapes; student text in feedback is also kept short.
"""
import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def printable(text, limit=None):
    """str(text) with every control or invisible formatting character as a \\x.. / \\u.... escape."""
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    text = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)] + "…"
    return text
