"""Result files from the student's process are parsed, never unpickled or trusted."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

from autograder.running.untrusted import (MAX_ARRAY_BYTES, UntrustedDataError, load_json, load_npz, parse_npz,
                                  read_regular_file)


def test_plain_arrays_load_as_float64(tmp_path):
    path = tmp_path / "ok.npz"
    np.savez(path, c0_value=np.array(1.5), c1_grad=np.arange(6, dtype=np.int32).reshape(2, 3))
    arrays = load_npz(path)
    assert arrays["c1_grad"].dtype == np.float64 and arrays["c1_grad"].shape == (2, 3)
    assert float(arrays["c0_value"]) == 1.5


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, c0_value=np.array([object()], dtype=object))
    with pytest.raises(UntrustedDataError, match="not plain numbers"):
        load_npz(path)


def test_a_pickle_disguised_as_npy_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("c0_value.npy", pickle.dumps({"always": "equal"}))
    with pytest.raises(UntrustedDataError):
        load_npz(path)


def test_huge_declared_shape_is_refused_before_allocation(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                   "shape": (10**6, 10**6)})
    path = tmp_path / "big.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("c0_grad.npy", header.getvalue())  # magic and header, no data
    with pytest.raises(UntrustedDataError, match="too large"):
        load_npz(path)


def test_json_must_be_a_small_object(tmp_path):
    (tmp_path / "a.json").write_text("[1, 2]")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(UntrustedDataError):
        load_json(tmp_path / "a.json")
    with pytest.raises(UntrustedDataError):
        load_json(tmp_path / "b.json")
    (tmp_path / "c.json").write_text('{"cases": []}')
    assert load_json(tmp_path / "c.json") == {"cases": []}


def npz_bytes(members, compression=zipfile.ZIP_DEFLATED):
    """.npz bytes with {name: (header dict, data bytes)} members, compressed as asked."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, (header, data) in members.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, header)
                member.write(data)
    return buffer.getvalue()


def test_bzip2_and_lzma_members_are_refused_unread(tmp_path):
    for method in (zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        data = npz_bytes({"c0_value": ({"descr": "<f8", "fortran_order": False, "shape": (1000,)}, bytes(8000))},
                         method)
        with pytest.raises(UntrustedDataError, match="only stored or deflated"):
            parse_npz(data)
        (tmp_path / "r.npz").write_bytes(data)
        with pytest.raises(UntrustedDataError):
            load_npz(tmp_path / "r.npz")


def test_small_dtypes_are_budgeted_at_their_float64_size():
    count = (MAX_ARRAY_BYTES // 8) + 1000   # fits as int8, not once converted to float64
    data = npz_bytes({"c0_value": ({"descr": "|i1", "fortran_order": False, "shape": (count,)}, bytes(count))})
    with pytest.raises(UntrustedDataError, match="too large"):
        parse_npz(data)
    many = npz_bytes({f"c{i}_value": ({"descr": "|i1", "fortran_order": False, "shape": (count // 4,)},
                                      bytes(count // 4)) for i in range(5)})
    with pytest.raises(UntrustedDataError, match="too large"):
        parse_npz(many)


def test_only_expected_keys_are_read():
    header = {"descr": "<f8", "fortran_order": False, "shape": (2,)}
    data = npz_bytes({"c0_value": (header, np.arange(2.0).tobytes()),
                      "c0_junk": ({"descr": "|i1", "fortran_order": False, "shape": (10**9,)}, b"")})
    arrays = parse_npz(data, expected=r"c\d+_(?:value)")
    assert list(arrays) == ["c0_value"] and arrays["c0_value"].tolist() == [0.0, 1.0]
    with pytest.raises(UntrustedDataError):
        parse_npz(data)   # without the filter the junk member is refused


def test_a_member_holding_more_bytes_than_its_shape_is_refused():
    header = {"descr": "<f8", "fortran_order": False, "shape": (1,)}
    with pytest.raises(UntrustedDataError, match="more bytes than its shape"):
        parse_npz(npz_bytes({"c0_value": (header, bytes(8 + (1 << 20)))}))


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
