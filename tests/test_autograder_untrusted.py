"""Result files from the student's process are parsed, never unpickled or trusted."""
import io
import pickle
import zipfile

import numpy as np
import pytest

from autograder.untrusted import UntrustedDataError, load_json, load_npz


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
