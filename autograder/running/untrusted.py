"""Reading data that untrusted code produced: files, JSON and packed arrays, bounded before parsing.

Files (a submitted notebook, nbgrader's timestamp.txt) are opened only if they are regular files:
no symbolic link is followed, nothing blocks (a FIFO is refused, not waited on), the size is
taken from ``fstat`` of the opened file and at most ``max_bytes`` are read. Results of the
student's process arrive as bytes (``runner.py``) and are parsed here: arrays in
``sandbox/packed.py``'s format are taken only under expected names, with their dtypes, shapes and
byte counts checked (plain real numbers, the whole result at most ``max_bytes`` once converted to
float64) before a byte is viewed as a number. Nothing is unpickled, decompressed or called.
"""
import json
import math
import os
import re
import stat

import numpy as np

from ..sandbox import packed

MAX_JSON_BYTES = 4 << 20
# Deepest nesting of arrays and objects any JSON here may have. A notebook is about ten levels
# deep; Python's json recursion would otherwise meet a file of 5 million brackets with a
# RecursionError, which is no error of the file's and can escape whoever reads it.
MAX_JSON_DEPTH = 200
_BRACKET_STEP = np.zeros(256, dtype=np.int8)
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
MAX_ARRAY_BYTES = 64 << 20   # all arrays of one result, counted as float64
MAX_ARRAYS = 4096
_DTYPE_STR = re.compile(r"[<>|][a-zA-Z][0-9]{1,2}")  # numbers: the digits are the item size


class UntrustedDataError(Exception):
    """A file or result is missing, too large, not a regular file or not in the expected format."""


def read_regular_file(path, max_bytes):
    """Bytes of `path` if it is a regular file (not a link, FIFO or device) of at most max_bytes."""
    name = os.path.basename(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        if exc.errno == getattr(os, "ELOOP", 40):
            raise UntrustedDataError(f"{name} is a symbolic link, not a file") from None
        raise UntrustedDataError(f"{name}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedDataError(f"{name} is not a regular file")
        if info.st_size > max_bytes:
            raise UntrustedDataError(f"{name} is larger than {max_bytes} bytes")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise UntrustedDataError(f"{name}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UntrustedDataError(f"{name} is larger than {max_bytes} bytes")
    return data


def json_depth(data):
    """How deeply arrays and objects nest in JSON bytes (strings skipped), counted without parsing."""
    codes = np.frombuffer(_JSON_STRING.sub(b'""', data), dtype=np.uint8)
    return int(np.cumsum(_BRACKET_STEP[codes], dtype=np.int64).max(initial=0))


def parse_json(data, what="result", max_bytes=MAX_JSON_BYTES):
    """JSON object from bytes; UntrustedDataError if too big, too deep, not UTF-8 JSON or not an
    object."""
    if len(data) > max_bytes:
        raise UntrustedDataError(f"{what} is larger than {max_bytes} bytes")
    if json_depth(data) > MAX_JSON_DEPTH:
        raise UntrustedDataError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UntrustedDataError(f"{what}: {type(exc).__name__}") from None
    if not isinstance(parsed, dict):
        raise UntrustedDataError(f"{what} does not hold a JSON object")
    return parsed


def load_json(path, max_bytes=MAX_JSON_BYTES):
    """Parsed JSON object from a regular file at path."""
    return parse_json(read_regular_file(path, max_bytes), os.path.basename(path), max_bytes)


def parse_packed(data, expected=None, max_bytes=MAX_ARRAY_BYTES, what="result"):
    """{name: float64 ndarray} from bytes in ``sandbox/packed.py``'s format written by untrusted
    code: a JSON line ``{"arrays": [[name, dtype, shape], ...]}``, then exactly the arrays' bytes.

    expected: a regular expression (str) names must match in full, or None for any; arrays
    under other names are skipped unread. Every field is checked before it is used: dtypes
    of expected arrays only from ``packed.DTYPES``, shapes of at most 32 non-negative sizes, at most MAX_ARRAYS
    arrays and max_bytes once converted to float64, no name twice, and the byte count must
    match the shapes exactly."""
    pattern = re.compile(expected) if expected else None
    line_end = data.find(b"\n", 0, MAX_JSON_BYTES + 1)
    if line_end < 0:
        raise UntrustedDataError(f"{what}: no header line")
    entries = parse_json(bytes(data[:line_end]), f"{what} header").get("arrays")
    if not isinstance(entries, list):
        raise UntrustedDataError(f"{what}: the header lists no arrays")
    if len(entries) > MAX_ARRAYS:
        raise UntrustedDataError(f"{what}: more than {MAX_ARRAYS} arrays")
    body = memoryview(data)[line_end + 1:]
    arrays, seen, budget, offset = {}, set(), max_bytes, 0
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
                and len(entry[0]) <= 200 and isinstance(entry[1], str) and _DTYPE_STR.fullmatch(entry[1])
                and isinstance(entry[2], list) and len(entry[2]) <= 32
                and all(type(n) is int and 0 <= n <= 1 << 40 for n in entry[2])):
            raise UntrustedDataError(f"{what}: a malformed array entry")
        name, shape = entry[0], tuple(entry[2])
        count, wanted = math.prod(shape), pattern is None or pattern.fullmatch(name)
        if wanted and entry[1] not in packed.DTYPES:
            raise UntrustedDataError(f"{what}: {name[:60]!r} has dtype {entry[1]}, not plain real numbers")
        if count * 8 > budget:
            raise UntrustedDataError(f"{what}: arrays too large")
        if name in seen:
            raise UntrustedDataError(f"{what}: {name[:60]!r} twice")
        seen.add(name)
        size = count * int(entry[1][2:])   # the item size in bytes is the dtype's number
        if offset + size > len(body):
            raise UntrustedDataError(f"{what}: {name[:60]!r} holds fewer bytes than its shape")
        if wanted:
            budget -= count * 8
            dtype = np.dtype(entry[1])
            raw = np.frombuffer(body, np.uint8 if dtype.kind == "b" else dtype, count, offset)
            arrays[name] = (raw != 0 if dtype.kind == "b" else raw).astype(np.float64).reshape(shape)
        offset += size
    if offset != len(body):
        raise UntrustedDataError(f"{what}: {len(body) - offset} bytes more than its arrays hold")
    return arrays
