"""Results from the student's process are parsed, never unpickled or trusted."""
import json
import os
import pickle

import numpy as np
import pytest

from autograder.running.untrusted import (MAX_ARRAY_BYTES, UntrustedDataError, load_json, parse_packed,
                                         read_regular_file)
from autograder.sandbox import packed


def test_json_must_be_a_small_object(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(UntrustedDataError):
        load_json(tmp_path / "a.json")
    with pytest.raises(UntrustedDataError):
        load_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"cases": []}')
    assert load_json(tmp_path / "c.json") == {"cases": []}


def packed_bytes(entries, body):
    """Bytes in the packed format with a header of the given [name, dtype, shape] entries."""
    return json.dumps({"arrays": entries}).encode() + b"\n" + body


def test_plain_arrays_arrive_as_float64():
    data = packed.pack({"c0_value": np.array(1.5), "c1_grad": np.arange(6, dtype=np.int32).reshape(2, 3),
                        "c2_mask": np.array([True, False]), "c3_big": np.arange(3, dtype=">i8")})
    arrays = parse_packed(data)
    assert arrays["c1_grad"].dtype == np.float64 and arrays["c1_grad"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert arrays["c0_value"].shape == () and float(arrays["c0_value"]) == 1.5
    assert arrays["c2_mask"].tolist() == [1.0, 0.0] and arrays["c3_big"].tolist() == [0.0, 1.0, 2.0]


def test_complex_and_object_arrays_are_refused_never_converted():
    with pytest.raises(UntrustedDataError, match="<c16, not plain real numbers"):
        parse_packed(packed.pack({"c0_value": np.array([1 + 2j])}))
    with pytest.raises(UntrustedDataError, match="malformed"):
        parse_packed(packed_bytes([["c0_value", "|O", [1]]], bytes(8)))


def test_a_pickle_is_never_unpickled():
    evil = pickle.dumps({"always": "equal"})
    for data in (evil, packed_bytes([["c0_value", "<f8", [1]]], evil), b'{"arrays": ' + evil + b"}\n"):
        with pytest.raises(UntrustedDataError):
            parse_packed(data)


def test_huge_declared_shape_is_refused_before_allocation():
    with pytest.raises(UntrustedDataError, match="too large"):
        parse_packed(packed_bytes([["c0_grad", "<f8", [10**6, 10**6]]], b""))


def test_small_dtypes_are_budgeted_at_their_float64_size():
    count = (MAX_ARRAY_BYTES // 8) + 1000   # fits as int8, not once converted to float64
    with pytest.raises(UntrustedDataError, match="too large"):
        parse_packed(packed_bytes([["c0_value", "|i1", [count]]], bytes(count)))
    quarter = count // 4
    with pytest.raises(UntrustedDataError, match="too large"):
        parse_packed(packed_bytes([[f"c{i}_value", "|i1", [quarter]] for i in range(5)], bytes(5 * quarter)))


def test_only_expected_keys_are_read():
    data = packed.pack({"c0_value": np.arange(2.0), "c0_junk": np.array([1j, 2j])})
    arrays = parse_packed(data, expected=r"c\d+_(?:value)")
    assert list(arrays) == ["c0_value"] and arrays["c0_value"].tolist() == [0.0, 1.0]
    with pytest.raises(UntrustedDataError):
        parse_packed(data)   # without the filter the junk array is refused


def test_the_bytes_must_be_exactly_what_the_shapes_say():
    entry = [["c0_value", "<f8", [2]]]
    assert parse_packed(packed_bytes(entry, bytes(16)))["c0_value"].tolist() == [0.0, 0.0]
    with pytest.raises(UntrustedDataError, match="bytes more than its arrays hold"):
        parse_packed(packed_bytes(entry, bytes(16 + (1 << 20))))
    with pytest.raises(UntrustedDataError, match="fewer bytes than its shape"):
        parse_packed(packed_bytes(entry, bytes(15)))
    with pytest.raises(UntrustedDataError, match="twice"):
        parse_packed(packed_bytes(entry * 2, bytes(32)))
    for shape in ([-1], [2.0], ["2"], [True], [1] * 33):
        with pytest.raises(UntrustedDataError, match="malformed"):
            parse_packed(packed_bytes([["c0_value", "<f8", shape]], bytes(16)))
    with pytest.raises(UntrustedDataError, match="no header line"):
        parse_packed(b"{}" + bytes(1 << 10))


def test_only_regular_files_are_read_and_never_waited_on(tmp_path):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    link = tmp_path / "zero.json"
    os.symlink("/dev/zero", link)
    for path, reason in ((fifo, "not a regular file"), (link, "symbolic link"), ("/dev/zero", "not a regular file")):
        with pytest.raises(UntrustedDataError, match=reason):
            read_regular_file(str(path), 100)
        with pytest.raises(UntrustedDataError):
            load_json(path)
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 200)
    with pytest.raises(UntrustedDataError, match="larger than"):
        read_regular_file(str(big), 100)


def test_a_jobs_inputs_arrive_whole_and_writable():
    inputs = {"c0_x": np.random.default_rng(0).normal(size=(3, 4)).T, "c0_n": np.int64(7),
              "c1_codes": np.arange(5, dtype=np.int32), "c1_empty": np.zeros((0, 2))}
    arrays = packed.unpack(packed.pack(inputs))
    for name, value in inputs.items():
        assert arrays[name].dtype == np.asarray(value).dtype and np.array_equal(arrays[name], value)
    arrays["c0_x"][0, 0] = 1.0   # student code may work on its inputs in place
    assert arrays["c0_x"][0, 0] == 1.0 and inputs["c0_x"][0, 0] != 1.0
