"""Reading data that untrusted code produced: files, JSON and .npz, bounded before they are parsed.

Files (a submitted notebook, nbgrader's timestamp.txt) are opened only if they are regular files:
no symbolic link is followed, nothing blocks (a FIFO is refused, not waited on), the size is
taken from ``fstat`` of the opened file and at most ``max_bytes`` are read. Results of the
student's process arrive as bytes (``runner.py``) and are parsed here: .npz members are taken
only when stored or deflated (no bzip2/LZMA bombs), only under expected names, with their .npy
headers checked (plain real numbers, the whole result at most ``max_bytes`` once converted to
float64) before ``allow_pickle=False`` loading. Nothing is unpickled or called.
"""
import io
import json
import os
import re
import stat
import zipfile

import numpy as np

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
_NPY_HEADER_SLACK = 1 << 16  # magic + header of one .npy member


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


def _read_header(fh, name):
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise UntrustedDataError(f"{name}: unsupported .npy version")


def parse_npz(data, expected=None, max_bytes=MAX_ARRAY_BYTES, what="result"):
    """{name: float64 ndarray} from .npz bytes written by untrusted code.

    expected: a regular expression (str) member names must match in full, or None for any;
    members under other names are skipped unread."""
    pattern = re.compile(expected) if expected else None
    arrays, budget = {}, max_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS:
                raise UntrustedDataError(f"{what}: more than {MAX_ARRAYS} arrays")
            for member in members:
                if not member.filename.endswith(".npy"):
                    raise UntrustedDataError(f"{what}: unexpected member {member.filename[:60]!r}")
                key = member.filename[: -len(".npy")]
                if pattern is not None and not pattern.fullmatch(key):
                    continue
                if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise UntrustedDataError(f"{what}: {key} is compressed with method "
                                             f"{member.compress_type} (only stored or deflated)")
                with archive.open(member) as fh:
                    shape, _, dtype = _read_header(fh, key)
                if dtype.kind not in "biuf" or dtype.fields is not None or dtype.hasobject:
                    raise UntrustedDataError(f"{what}: {key} has dtype {dtype}, not plain numbers")
                count = int(np.prod(shape, dtype=np.int64))
                if count < 0 or count * 8 > budget or count * dtype.itemsize > budget:
                    raise UntrustedDataError(f"{what}: arrays too large")
                if member.file_size > count * dtype.itemsize + _NPY_HEADER_SLACK:
                    raise UntrustedDataError(f"{what}: {key} holds more bytes than its shape")
                budget -= count * 8
                with archive.open(member) as fh:
                    array = np.lib.format.read_array(fh, allow_pickle=False)
                arrays[key] = np.asarray(array, dtype=np.float64)
    except UntrustedDataError:
        raise
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError,
            NotImplementedError, RuntimeError, OverflowError) as exc:
        raise UntrustedDataError(f"{what}: {type(exc).__name__}: {str(exc)[:100]}") from None
    return arrays


def load_npz(path, max_bytes=MAX_ARRAY_BYTES, expected=None):
    """{name: ndarray} of real-number arrays from an .npz file written by untrusted code."""
    data = read_regular_file(path, max_bytes + MAX_ARRAYS * _NPY_HEADER_SLACK)
    return parse_npz(data, expected, max_bytes, os.path.basename(path))
