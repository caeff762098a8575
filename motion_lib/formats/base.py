"""What every reader gives the converter: a list of items, each loaded on demand.

A reader turns an input path into `SourceItem`s without reading the motion data, so the converter
can show progress, and a broken file costs only its own item: `load()` raises `UserInputError`
naming the file and the problem, the converter records it as a skipped clip and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from motion_lib.checks import one_line, printable
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
    drop_leading_snaps: bool = True
    """Drop a capture's leading snap frames (`common.drop_leading_snaps`, e.g. a T-pose frame before the motion). Read
    by the PHC reader, whose `read_clips` (what stages read) turns it off; the capture formats always drop them."""
    fit_subject_scale: bool = True
    """Measure the captured person's size from their planted feet and rescale the root travel to the skeleton's
    (`motion_lib.subject_scale`); clips already in the skeleton's proportions are kept as read."""
    treadmill_to_ground: bool = True
    """Give a one-person capture on a treadmill the belt's travel, so its planted feet keep still
    (`motion_lib.treadmill`); capture on the ground is kept as read."""
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
    loop_seconds: float | None = None
    """DeepMimic: play each looping clip (`"Loop": "wrap"`, one cycle of a walk or a run) over and over until it lasts
    this long, the root carried on by each cycle's travel; None keeps one cycle."""
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


def load_npz(path: Path, required: tuple[str, ...], keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an npz file (all, or those of `keys` it has; never pickled objects), checking that
    `required` keys are there; errors name the file."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise UserInputError(f"{path}: holds one .npy array, not an .npz archive of named arrays")
        with data:
            arrays = {key: _npz_member(data, key, path) for key in data.files if keys is None or key in keys}
    except UserInputError:
        raise
    except Exception as err:  # noqa: BLE001 -- zipfile, zlib and numpy raise many types for damaged archives
        raise UserInputError(f"{path}: not a readable npz file (truncated or corrupt?): {one_line(err, 120)}") from None
    missing = [key for key in required if key not in arrays]
    if missing:
        raise UserInputError(f"{path}: missing key(s) {missing}; found {one_line(sorted(arrays), 120)}")
    return arrays


PICKLED = "allow_pickle=False"
"""What numpy's refusal of an array of pickled objects says."""


def _npz_member(data: np.lib.npyio.NpzFile, key: str, path: Path) -> np.ndarray:
    """One array of an open npz archive; an array of pickled objects is one error naming it."""
    try:
        return data[key]
    except ValueError as err:
        if PICKLED in str(err):
            raise UserInputError(f"{path}: {printable(key)} holds pickled Python objects, which are never loaded") from None
        raise


def load_npy(path: Path) -> np.ndarray:
    """The array of an `.npy` file (no pickled objects); errors (missing, truncated, an npz archive) name the file."""
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 -- numpy raises many types for damaged files
        if PICKLED in str(err):
            raise UserInputError(f"{path}: holds pickled Python objects, which are never loaded") from None
        raise UserInputError(f"{path}: not a readable .npy array (truncated or corrupt?): {one_line(err, 120)}") from None
    if not isinstance(array, np.ndarray):  # an npz archive saved under an .npy name
        array.close()
        raise UserInputError(f"{path}: holds an npz archive, not one array; rename it to .npz")
    return array


def clip_name(path: Path, base: Path) -> str:
    """`path` relative to `base`, without the extension, with '/' replaced by '__'."""
    return path.relative_to(base).with_suffix("").as_posix().replace("/", "__")


def unique_names(names: list[str]) -> list[str]:
    """`names` with repeats made unique by a suffix "_2", "_3", ... (two files must not write one clip)."""
    taken, unique = set(names), []
    seen: set[str] = set()
    for name in names:
        candidate, k = name, 1
        while candidate in seen or (candidate != name and candidate in taken):
            k += 1
            candidate = f"{name}_{k}"
        seen.add(candidate)
        unique.append(candidate)
    return unique
