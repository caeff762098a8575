"""The restricted unpickler of data pickles (motion_lib/safe_pickle.py): what it builds, what it refuses.
Hostile pickles of every kind are refused in tests/test_fuzz_readers.py::test_hostile_pickles_never_run."""

from __future__ import annotations

import collections
import pickle

import joblib
import numpy as np
import pytest

from motion_lib.errors import UserInputError
from motion_lib.safe_pickle import load_joblib, load_pickle

DATA = {
    "walk": {"pose_aa": np.arange(12.0).reshape(2, 6), "fortran": np.asfortranarray(np.ones((3, 2), np.float32)),
             "empty": np.zeros((0, 3)), "fps": np.float64(30.0), "frames": np.int64(2), "gender": np.str_("neutral"),
             "text": np.array("neutral"), "raw": b"\x00\xff", "flags": (True, None, 1.5, -3), "names": ["a", "b"]},
    "order": collections.OrderedDict(a=0, b=1),
}


def assert_same(got, expected):
    """Equal values of equal types, nested."""
    assert type(got) is type(expected), (type(got), type(expected))
    if isinstance(expected, dict):
        assert list(got) == list(expected)
        for key in expected:
            assert_same(got[key], expected[key])
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert_same(a, b)
    elif isinstance(expected, np.ndarray):
        assert got.dtype == expected.dtype and got.shape == expected.shape and np.array_equal(got, expected)
    else:
        assert got == expected


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("xz", 1), ("bz2", 1)])
def test_joblib_files_load_as_written(tmp_path, compress):
    path = tmp_path / "data.pkl"
    joblib.dump(DATA, path, compress=compress)
    assert_same(load_joblib(path), DATA)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_pickles_load_as_written_by_both_loaders(tmp_path, protocol):
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(DATA, protocol=protocol))
    assert_same(load_pickle(path), DATA)
    assert_same(load_joblib(path), DATA)


def test_damaged_joblib_arrays_are_one_error(tmp_path):
    """An array that claims more bytes than the file holds, a truncated file, an empty one."""
    path = tmp_path / "data.pkl"
    joblib.dump({"a": np.zeros((100, 3))}, path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"K\x03\x86", b"J\x00\x00\x00\x10\x86", 1))  # shape (100, 3) -> (100, 2**28)
    with pytest.raises(UserInputError, match=f"{path}: not a readable joblib pickle.*larger than the rest of the file"):
        load_joblib(path)
    path.write_bytes(data[:-100])
    with pytest.raises(UserInputError, match=f"{path}: not a readable joblib pickle"):
        load_joblib(path)
    path.write_bytes(b"")
    with pytest.raises(UserInputError, match=f"{path}: the joblib pickle is empty"):
        load_joblib(path)
