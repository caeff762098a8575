"""What every reader gives the converter: a list of items, each loaded on demand.

A reader turns an input path into `SourceItem`s without reading the motion data, so the converter
can show progress, and a broken file costs only its own item: `load()` raises `UserInputError`
naming the file and the problem, the converter records it as a skipped clip and goes on.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.skeleton import Skeleton


@dataclass
class ReadOptions:
    """How to read a source. Each reader documents which fields it uses."""

    skeleton: Skeleton
    """Target skeleton of the clips (the robot's)."""
    fps: float | None = 30.0
    """Frame rate of the clips produced (sources are resampled to it); None keeps each source's rate."""
    fix_floor: bool = True
    """Shift each clip so the lowest point of its first frames touches z = 0."""
    actions: tuple[int, ...] = ()
    """Inter-X: keep only these action ids (e.g. 35 "Help up"); empty keeps all."""
    split: str | None = None
    """Inter-X: keep only the ids listed in splits/<split>.txt (train, val or test)."""
    supporter: int = 0
    """Which person of a two-person file is the supporter when the file does not say (0 or 1)."""
    up: str | None = None
    """Up axis of position-only sources ("y" or "z"); None: the format's documented default."""
    source_fps: float | None = None
    """Frame rate of sources that do not store one (keypoints); None: the format's default."""
    extra: dict = field(default_factory=dict)
    """Reader-specific settings (documented by the reader)."""


@dataclass
class SourceItem:
    """One clip-to-be: its name, the file(s) it comes from, and how to load it."""

    name: str
    path: Path
    load: Callable[[], Clip]


def require_path(path: Path, kind: str) -> Path:
    """`path` as a Path that exists and is a `kind` ("file" or "folder"), else one clear error."""
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"input {path} does not exist")
    if kind == "file" and not path.is_file():
        raise UserInputError(f"input {path} must be a file, but it is a folder")
    if kind == "folder" and not path.is_dir():
        raise UserInputError(f"input {path} must be a folder, but it is a file")
    return path


def load_npz(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """All arrays of an npz file, checking that `required` keys are there; errors name the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise UserInputError(f"{path}: file not found") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise UserInputError(f"{path}: not a readable npz file (truncated or corrupt?): {err}") from None
    missing = [key for key in required if key not in arrays]
    if missing:
        raise UserInputError(f"{path}: missing key(s) {missing}; found {sorted(arrays)}")
    return arrays


def require_shape(array: np.ndarray, shape: tuple, what: str, path: Path) -> np.ndarray:
    """`array` as float64 if its shape matches `shape` (None = any size), else one clear error."""
    array = np.asarray(array)
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        pretty = ", ".join("T" if s is None else str(s) for s in shape)
        raise UserInputError(f"{path}: {what} has shape {array.shape}, expected ({pretty})")
    if not np.issubdtype(array.dtype, np.number):
        raise UserInputError(f"{path}: {what} must be numeric, got {array.dtype}")
    return array.astype(np.float64)


def require_finite(array: np.ndarray, what: str, path: Path) -> np.ndarray:
    """`array` if it holds no NaN/inf, else an error naming the first bad frames (axis 0)."""
    bad = ~np.isfinite(array.reshape(array.shape[0], -1)).all(axis=1)
    if bad.any():
        raise UserInputError(f"{path}: {what} has NaN/inf at frame(s) {np.flatnonzero(bad)[:5].tolist()}")
    return array
