"""Seeded malformed variants of reader input (the mutations and the `Fuzzer` base) for `tests/test_fuzz_readers.py`
and `scripts/fuzz_readers.py`; the per-format fuzzers are in `tests/fuzz_formats.py`."""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np

from motion_lib.skeleton import SMPL_JOINT_NAMES, get_skeleton

SMPL = get_skeleton("smpl")
SUITE_VARIANTS = 1000
"""Variants per format in the default suite."""
SUITE_SEED = 20
SUITE_WRITER_CHECKS = 25
"""Accepted clips per format whose PHC entries (what `convert` writes) are checked in the suite."""
FRAMES = 4
"""Frames of the seed files (Inter-X's, at 120 fps: 8)."""
SPECIAL = (np.nan, np.inf, -np.inf, 1e300, -1.7e308, 1.7e308, 1e160, 1e20, -1e20, 5e3, 1e-300)
FPS_VALUES = (1e-9, 1e-3, 0.0, -30.0, np.nan, np.inf, 1e9, 1e300, 0.999, 1000.5, 1.0, 1000.0, 24.0, 29.97, 120.0)
BAD_TEXT = (b"\xff\xfe\xfd", b"caf\xe9", "\ud800", "a\x00b", "x" * 5000, "", "line\nbreak", "neutral")


# --- seeds and variants ----------------------------------------------------------------------------


@dataclass
class Variant:
    """One input tree: relative path -> bytes; `target` is the file changed (an error must name it or,
    for a clip read from several files, their folder); clips in `intact` must still load, clips in
    `skip` are not read (untouched clips of a file of several, which `intact` samples)."""

    label: str
    files: dict[str, bytes]
    target: str
    intact: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()


class Call:
    """Pickles as the call `func(*args)`, made by whatever unpickles it."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def Evil(marker: Path) -> Call:  # noqa: N802 -- reads as the hostile object it makes
    """An object whose unpickling would run `touch marker` through os.system."""
    return Call(os.system, f"touch {marker}")


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def joblib_bytes(value, compress=0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(value, buffer, compress=compress)
    return buffer.getvalue()


def rest_positions(count=22) -> np.ndarray:
    """(count, 3) z-up rest positions of the first `count` SMPL joints, standing on the floor."""
    positions = SMPL.rest_positions[SMPL.indices(SMPL_JOINT_NAMES[:count])] + [0.0, 0.0, 0.95]
    return positions


def moving(points: np.ndarray, frames: int, rng) -> np.ndarray:
    """(frames, *points.shape) points drifting 1 cm per frame plus a little noise."""
    drift = np.arange(frames)[:, None] * [0.01, 0.0, 0.0]
    return points[None] + drift.reshape((frames,) + (1,) * (points.ndim - 1) + (3,)) + rng.normal(0, 0.002, (frames,) + points.shape)


def hostile_pickles(marker: Path) -> list[bytes]:
    """Pickles that would create `marker` (os.system; via eval; via numpy's own runstring) or build
    huge arrays through numpy's constructor, if anything but the restricted unpickler loaded them."""
    from numpy.testing._private.utils import runstring

    touch = f"open({str(marker)!r}, 'w').close()"
    calls = [Evil(marker), Call(eval, touch), Call(runstring, touch, {}), Call(np.ndarray, (1_400_000_000,)),
             Call((getattr(np, "_core", None) or np.core).multiarray._reconstruct, np.ndarray, (1_400_000_000,), b"b")]
    return [pickle.dumps({"a": call}, protocol=p) for call in calls for p in (0, 2, 4)]


def mutate_bytes(rng, data: bytes) -> tuple[str, bytes]:
    """Truncate, flip, insert, delete or zero bytes of `data`."""
    data = bytearray(data)
    size = max(len(data), 1)
    kind = rng.integers(6)
    at = int(rng.integers(size))
    if kind == 0:
        return f"truncated at {at}", bytes(data[:at])
    if kind == 1:
        flips = rng.integers(1, 9)
        for _ in range(flips):
            data[int(rng.integers(len(data)))] ^= int(rng.integers(1, 256))
        return f"{flips} byte flip(s)", bytes(data)
    if kind == 2:
        return f"random bytes inserted at {at}", bytes(data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:])
    if kind == 3:
        return f"bytes deleted at {at}", bytes(data[:at] + data[at + int(rng.integers(1, 64)):])
    if kind == 4:
        return f"bytes zeroed at {at}", bytes(data[:at] + bytes(16) + data[at + 16:])
    return "empty file", b""


def weird_array(rng, array: np.ndarray) -> tuple[str, object]:
    """`array` with a broken shape, dtype or values (or, sometimes, small harmless noise)."""
    a = np.asarray(array)
    a = a if a.ndim else a.reshape(1)
    with np.errstate(over="ignore", invalid="ignore"):
        values = a.astype(np.float64) if a.dtype.kind in "biuf" else np.zeros(a.shape)
    choices: list[tuple[str, Callable[[], object]]] = [
        ("no frames", lambda: a[:0]),
        ("one frame", lambda: a[:1]),
        ("transposed", lambda: a.T),
        ("extra axis", lambda: a[None]),
        ("flattened", lambda: a.reshape(-1)),
        ("one value wider", lambda: np.concatenate([a, a[..., :1]], axis=-1)),
        ("scalar", lambda: np.array(1.0)),
        ("bool", lambda: values.astype(bool)),
        ("complex", lambda: values.astype(np.complex128)),
        ("text", lambda: values.astype(str)),
        ("non-UTF-8 bytes", lambda: np.full(a.shape, b"\xff\xfe", dtype="S2")),
        ("uint64 max", lambda: np.full(a.shape, np.iinfo(np.uint64).max, dtype=np.uint64)),
        ("float16", lambda: values.astype(np.float16)),
        ("longdouble 1e4000", lambda: np.full(a.shape, np.longdouble("1e4000"))),
        ("datetime", lambda: np.zeros(a.shape, dtype="datetime64[s]")),
        ("structured", lambda: np.zeros(a.shape, dtype=[("x", "f8"), ("y", "i4")])),
        ("object", lambda: np.array([None, 1.0], dtype=object)),
        ("scaled", lambda: values * rng.choice([1e20, 1e160, 1e300, -1e3, 1e-300, 100.0])),
        ("noise", lambda: values + rng.normal(0, 0.005, values.shape)),
        ("frames tripled", lambda: np.concatenate([a, a, a])),
    ]
    if values.size:
        choices += [("special value", lambda: _with_special(rng, values))] * 6
    label, make = choices[int(rng.integers(len(choices)))]
    with np.errstate(over="ignore", invalid="ignore"):
        return label, make()


def embed(array: np.ndarray, index: tuple, part) -> object:
    """`array` with `array[index] = part` when `part` is real numbers of that shape, else `part` alone."""
    part = np.asarray(part)
    if part.dtype.kind not in "biuf" or part.shape != array[index].shape:
        return part
    array = array.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        array[index] = part
    return array


def _with_special(rng, values: np.ndarray) -> np.ndarray:
    values = values.copy()
    values.flat[int(rng.integers(values.size))] = rng.choice(SPECIAL)
    return values


def weird_fps(rng) -> tuple[str, object]:
    choice = int(rng.integers(len(FPS_VALUES) + 3))
    if choice < len(FPS_VALUES):
        return f"fps {FPS_VALUES[choice]}", np.array(FPS_VALUES[choice])
    return "fps of another type", [np.array("30"), np.array([30.0, 30.0]), np.array(30, dtype=np.int8)][choice - len(FPS_VALUES)]


def weird_text(rng) -> tuple[str, object]:
    value = BAD_TEXT[int(rng.integers(len(BAD_TEXT)))]
    return f"text {value[:12]!r}", np.array(value)


def mutate_arrays(rng, arrays: dict, fps_keys=(), text_keys=()) -> tuple[str, dict]:
    """One to three changes to a dict of arrays: a key dropped or added, a value broken."""
    arrays, labels = dict(arrays), []
    for _ in range(int(rng.integers(1, 4))):
        key = list(arrays)[int(rng.integers(len(arrays)))] if arrays else "x"
        kind = rng.integers(10)
        if kind == 0:
            arrays.pop(key, None)
            labels.append(f"{key} dropped")
        elif kind == 1:
            arrays["extra"] = rng.normal(size=(3, 2))
            labels.append("extra key")
        elif key in fps_keys:
            label, arrays[key] = weird_fps(rng)
            labels.append(f"{key}: {label}")
        elif key in text_keys:
            label, arrays[key] = weird_text(rng)
            labels.append(f"{key}: {label}")
        else:
            label, arrays[key] = weird_array(rng, arrays[key])
            labels.append(f"{key}: {label}")
    return ", ".join(labels), arrays


def foreign_file(rng, marker: Path) -> tuple[str, bytes]:
    """Another kind of file under the expected name: an .npy, an .npz, text, a hostile pickle."""
    options = [
        ("an .npy array", npy_bytes(np.zeros((FRAMES, 3)))),
        ("an .npz archive", npz_bytes({"a": np.zeros(3)})),
        ("a text file", b"HIERARCHY\nROOT Hips\n"),
        ("an .npy of objects", npy_bytes(np.array([Evil(marker)], dtype=object))),
        ("an .npy with a huge declared shape", npy_bytes(np.zeros(3)).replace(b"(3,)", b"(10000000000000,)")),
    ] + [("a hostile pickle", data) for data in hostile_pickles(marker)]
    return options[int(rng.integers(len(options)))]


class Fuzzer:
    """A reader's seed files and how to break them; subclasses give `seed` and `mutate`."""

    source: str
    input: str
    """What is given to the reader, relative to the variant's folder ("" = the folder)."""
    several_files = False
    """A clip read from several files: an error may name the clip's folder instead of the file."""

    def __init__(self, marker: Path):
        self.marker = marker
        self.seed_files = self.seed()

    def seed(self) -> dict[str, bytes]:
        raise NotImplementedError

    def mutate(self, rng) -> Variant:
        raise NotImplementedError

    def variant(self, rng) -> Variant:
        """A byte-level change, another kind of file, or the format's own mutation."""
        kind = rng.random()
        target = self.targets()[int(rng.integers(len(self.targets())))]
        if kind < 0.2:
            label, data = mutate_bytes(rng, self.seed_files[target])
        elif kind < 0.27:
            label, data = foreign_file(rng, self.marker)
        else:
            return self.mutate(rng)
        return Variant(f"{target}: {label}", {**self.seed_files, target: data}, target)

    def targets(self) -> list[str]:
        return list(self.seed_files)


