"""Named arrays as one byte string: how a job's inputs go into a sandbox and its results come out.

The bytes are a JSON line ``{"arrays": [[name, dtype, shape], ...]}`` followed by every array's C-order bytes,
in that order and nothing else. Unlike .npz (a zip of .npy members), reading costs one parse of
the line and a view per array, however many arrays a job has.

``unpack`` is for bytes the grader wrote (a job's inputs, read in the sandbox). Bytes written by
student code are read on the trusted side by ``running/untrusted.parse_packed``, which checks
every field before it uses one.
"""
import json

import numpy as np

# the dtypes the trusted side reads: plain little-endian numbers (a student's float16, int8 or
# bool result arrives as it is and is converted to float64 there; anything else, complex
# numbers included, is refused as a whole, never converted)
DTYPES = ("<f8", "<f4", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1")


def pack(arrays):
    """bytes of {name: array}, each in its own dtype (little-endian)."""
    header, chunks = [], []
    for name, value in arrays.items():
        value = np.asarray(value)
        value = value.astype(value.dtype.newbyteorder("<"), order="C", copy=False)
        header.append([str(name), value.dtype.str, list(value.shape)])
        chunks.append(value.tobytes())
    return json.dumps({"arrays": header}).encode() + b"\n" + b"".join(chunks)


def unpack(data):
    """{name: writable ndarray} from bytes that ``pack`` wrote (trusted bytes only)."""
    line_end = data.index(b"\n")
    header = json.loads(data[:line_end])["arrays"]
    body = bytearray(memoryview(data)[line_end + 1:])   # one copy: the arrays are writable
    arrays, offset = {}, 0
    for name, dtype, shape in header:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        arrays[name] = np.frombuffer(body, dtype, count, offset).reshape(shape)
        offset += count * dtype.itemsize
    return arrays
