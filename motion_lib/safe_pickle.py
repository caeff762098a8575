"""Loading data pickles without running code from them.

`pickle.load` and `joblib.load` call whatever a file names: a downloaded motion pickle can run
`os.system`. Data pickles (PHC/AssistMimic motion files, Inter-X's `interaction_order.pkl`, SMPL
model files) are read here by a restricted unpickler instead: it builds numpy arrays, dtypes and
scalars and plain containers (dict, OrderedDict, list, tuple, str, bytes, int, float, bool, None) and
nothing else; any other global in the file ends the load with one `UserInputError` naming the file and the
refused global. Torch checkpoints are not data pickles: they are read by `torch.load(weights_only=True)`.

Memory: the unpickler reads from the file mapped into memory (or, for a compressed joblib file, its
expanded bytes), so a damaged length field cannot make it allocate more than the file holds
(pure-Python unpickling from a buffer reads at most what is there); arrays must fit in the bytes left
in the file, and numpy's array constructor is only ever called for empty arrays (the way numpy
pickles them).

joblib stores each numpy array as a `NumpyArrayWrapper` (its subclass, shape, order and dtype)
followed by the raw bytes in the same stream; `joblib.numpy_pickle.NumpyUnpickler` replaces the
wrapper by the array when it is built. `SafeJoblibUnpickler` keeps that machinery with the same
restricted globals, and checks each wrapper (a plain ndarray of a non-object dtype whose bytes are
in the file) before reading it.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import contextlib
import io
import mmap
import pickle
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import joblib.numpy_pickle as joblib_pickle
import numpy as np

try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

from motion_lib.checks import one_line
from motion_lib.errors import UserInputError

MAX_DECOMPRESSED_BYTES = 4 << 30
"""A compressed joblib file may expand to at most this many bytes (4 GiB)."""


class Refused(pickle.UnpicklingError):
    """The pickle holds something data pickles may not hold (the message says what)."""


class _EmptyArrayType:
    """Stands for `numpy.ndarray` in a pickle: usable only as the class argument of `_reconstruct`
    and of joblib's array wrapper, so the pickle can never call the array constructor itself."""


NDARRAY = _EmptyArrayType()


def _reconstruct(subtype, shape, dtype):
    """numpy's `_reconstruct` for what numpy pickles: an empty ndarray whose state BUILD sets."""
    if subtype is not NDARRAY or not isinstance(shape, tuple) or shape != (0,):
        raise Refused(f"it builds an array of shape {one_line(shape, 40)} with numpy's constructor")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def _bytes(*args) -> bytes:
    """`bytes` for protocol 0/1 pickles, which build bytes from a list of ints; never from a size."""
    if args and not isinstance(args[0], (list, tuple, str)):
        raise Refused(f"it builds bytes({one_line(args, 40)})")
    return bytes(*args)


_NUMPY_CORE = {
    "_reconstruct": _reconstruct,
    "scalar": _multiarray.scalar,
    "_frombuffer": _numeric._frombuffer,
}
ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): codecs.encode,  # bytes in protocol 2 pickles
    ("builtins", "bytes"): _bytes,
    **{(f"numpy.{core}.{module}", name): value
       for core in ("core", "_core") for module in ("multiarray", "numeric") for name, value in _NUMPY_CORE.items()},
}
"""(module, name) -> what a data pickle may name: numpy's array, dtype and scalar builders."""

Extra = Callable[[str, str], object | None]
"""Extra globals for one kind of file: (module, name) -> the object to use, or None to refuse."""




def _find_class(unpickler: pickle._Unpickler, module: str, name: str, extra: Extra | None) -> object:
    """What `module.name` stands for in a data pickle; Python 2 names (protocols 0-2) are mapped to
    Python 3's first, as `pickle.Unpickler.find_class` does."""
    if unpickler.proto < 3 and unpickler.fix_imports:
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        else:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    found = ALLOWED_GLOBALS.get((module, name))
    if found is None and extra is not None:
        found = extra(module, name)
    if found is None:
        raise Refused(f"it names '{module}.{name}'")
    return found


class SafeUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with only `ALLOWED_GLOBALS` (plus `extra`)."""

    def __init__(self, file, *, extra: Extra | None = None, encoding: str = "ASCII"):
        super().__init__(file, encoding=encoding)
        self._extra = extra

    def find_class(self, module: str, name: str) -> object:
        return _find_class(self, module, name, self._extra)


class SafeJoblibUnpickler(joblib_pickle.NumpyUnpickler):
    """joblib's unpickler with only `ALLOWED_GLOBALS` and its array wrapper, each wrapper checked;
    `stream` (`size` bytes) is an in-memory or memory-mapped file."""

    dispatch = joblib_pickle.NumpyUnpickler.dispatch.copy()

    def __init__(self, filename: str, stream, size: int):
        super().__init__(filename, stream, ensure_native_byte_order=True)
        self.stream_size = size

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
            return joblib_pickle.NumpyArrayWrapper
        return _find_class(self, module, name, None)

    def load_build(self):
        """BUILD, then a built array wrapper is replaced by its array read from the stream."""
        pickle._Unpickler.load_build(self)
        if isinstance(self.stack[-1], joblib_pickle.NumpyArrayWrapper):
            wrapper = self.stack.pop()
            _check_wrapper(wrapper, self.stream_size - self.file_handle.tell())
            self.stack.append(wrapper.read(self, self.ensure_native_byte_order))

    dispatch[pickle.BUILD[0]] = load_build


def _check_wrapper(wrapper: joblib_pickle.NumpyArrayWrapper, remaining: int) -> None:
    """A joblib array wrapper must describe a plain C/F-ordered array of a non-object dtype whose
    bytes fit in the `remaining` bytes of the stream."""
    shape, dtype = getattr(wrapper, "shape", None), getattr(wrapper, "dtype", None)
    if getattr(wrapper, "subclass", None) is not NDARRAY or getattr(wrapper, "order", None) not in ("C", "F"):
        raise Refused("it holds a joblib array of another class or memory order")
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise Refused(f"it holds a joblib array of dtype {one_line(dtype, 40)}")
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise pickle.UnpicklingError(f"a joblib array of shape {one_line(shape, 40)}")
    wrapper.subclass = np.ndarray
    size = dtype.itemsize * int(np.prod(shape, dtype=object))
    if size > remaining:
        raise pickle.UnpicklingError(f"a joblib array of shape {shape} ({size} bytes) larger than the rest of the file")


def _unpickle(unpickler: pickle._Unpickler, path: Path, what: str) -> object:
    """Run `unpickler`; a refused global or damaged data is one error naming the file."""
    try:
        return unpickler.load()
    except Refused as err:
        raise UserInputError(
            f"{path}: refused to load this {what}: {err}, but data pickles may hold only numpy arrays and "
            "plain containers (other objects can run code when loaded)") from None
    except Exception as err:  # noqa: BLE001 -- only allowed globals run, so any error means damaged data
        raise UserInputError(f"{path}: not a readable {what} (truncated or corrupt?): {type(err).__name__}: "
                             f"{one_line(err, 120)}") from None


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise UserInputError(f"{path}: cannot read the {what} ({err.strerror})") from None


@contextlib.contextmanager
def _mapped(path: Path, what: str) -> Iterator[mmap.mmap]:
    """The file mapped read-only into memory (no copy of a large file); errors name it."""
    try:
        with open(path, "rb") as handle:
            if handle.seek(0, io.SEEK_END) == 0:
                raise UserInputError(f"{path}: the {what} is empty")
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as err:
        raise UserInputError(f"{path}: cannot read the {what} ({err.strerror})") from None
    with mapped:
        yield mapped


def load_pickle(path: str | Path, what: str = "data pickle", *, extra: Extra | None = None,
                encoding: str = "ASCII") -> object:
    """The object in a plain pickle file, built by `SafeUnpickler` (`extra`: more allowed globals;
    `encoding`: of Python 2 strings, e.g. "latin1" for SMPL model files)."""
    path = Path(path)
    stream = io.BytesIO(_read_bytes(path, what))
    return _unpickle(SafeUnpickler(stream, extra=extra, encoding=encoding), path, what)


def load_joblib(path: str | Path, what: str = "joblib pickle") -> object:
    """The object in a `joblib.dump` file (compressed or not), built by `SafeJoblibUnpickler`."""
    path = Path(path)
    with _mapped(path, what) as mapped:
        stream, size = _expanded(mapped, path, what)
        return _unpickle(SafeJoblibUnpickler(str(path), stream, size), path, what)


def _expanded(mapped: mmap.mmap, path: Path, what: str) -> tuple[object, int]:
    """(stream, size): the mapped file itself, or the expanded bytes of a compressed joblib file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # joblib's note on pre-0.10 files, refused below
            with joblib_pickle._validate_fileobject_and_memmap(mapped, str(path), None) as (stream, _):
                if stream is mapped or isinstance(stream, str):
                    data = stream
                else:
                    data = stream.read(MAX_DECOMPRESSED_BYTES + 1)
    except Exception as err:  # noqa: BLE001 -- zlib, lzma, gzip and bz2 raise their own types for damaged data
        raise UserInputError(f"{path}: not a readable {what} (damaged compression?): {type(err).__name__}: "
                             f"{one_line(err, 120)}") from None
    if isinstance(data, str):
        raise UserInputError(f"{path}: written by joblib older than 0.10 (arrays in side files); re-save it with a current joblib")
    if data is mapped:
        mapped.seek(0)
        return mapped, len(mapped)
    if len(data) > MAX_DECOMPRESSED_BYTES:
        raise UserInputError(f"{path}: the compressed {what} expands to more than {MAX_DECOMPRESSED_BYTES >> 30} GiB")
    return io.BytesIO(data), len(data)
