"""Reading files that untrusted code wrote: JSON and .npz, with sizes and dtypes checked first.

Nothing from the student's process is unpickled or called: .npz members are parsed from their
.npy headers and loaded with ``allow_pickle=False`` only if they hold plain real numbers of a
bounded size.
"""
import json
import os
import zipfile

import numpy as np

MAX_JSON_BYTES = 4 << 20
MAX_ARRAY_BYTES = 64 << 20
MAX_ARRAYS = 4096


class UntrustedDataError(Exception):
    """A result file is missing, too large or not in the expected format."""


def load_json(path, max_bytes=MAX_JSON_BYTES):
    """Parsed JSON object from path; UntrustedDataError if absent, too big or not an object."""
    try:
        if os.path.getsize(path) > max_bytes:
            raise UntrustedDataError(f"{os.path.basename(path)} is larger than {max_bytes} bytes")
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise UntrustedDataError(f"{os.path.basename(path)}: {exc.strerror}") from None
    except ValueError as exc:
        raise UntrustedDataError(f"{os.path.basename(path)}: {exc}") from None
    if not isinstance(data, dict):
        raise UntrustedDataError(f"{os.path.basename(path)} does not hold a JSON object")
    return data


def load_npz(path, max_bytes=MAX_ARRAY_BYTES):
    """{name: ndarray} of real-number arrays from an .npz written by untrusted code."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARRAYS or sum(m.file_size for m in members) > max_bytes:
                raise UntrustedDataError("result archive too large")
            for member in members:
                if not member.filename.endswith(".npy"):
                    raise UntrustedDataError(f"unexpected member {member.filename!r}")
                with archive.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                    else:
                        raise UntrustedDataError(f"{member.filename}: unsupported .npy version")
                    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.hasobject:
                        raise UntrustedDataError(f"{member.filename}: dtype {dtype} is not plain numbers")
                    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > max_bytes:
                        raise UntrustedDataError(f"{member.filename}: array too large")
                with archive.open(member) as fh:
                    array = np.lib.format.read_array(fh, allow_pickle=False)
                arrays[member.filename[: -len(".npy")]] = np.asarray(array, dtype=np.float64)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UntrustedDataError(f"{os.path.basename(path)}: {exc}") from None
    return arrays
