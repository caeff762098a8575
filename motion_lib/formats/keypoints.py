"""Keypoints reader: positions-only clips (e.g. from a diffusion model), rotations fitted by IK.

Input: one `.npy` / `.npz` file, or a folder searched recursively for them. Each file holds

    .npy   positions (T, P, K, 3)
    .npz   positions (T, P, K, 3); optional joint_names (K,) strings, fps (scalar)

P = 1 or 2 persons (person 0 is the supporter unless options.supporter is 1), metres. Without
`joint_names`, K is 22 or 24 in SMPL joint order (`SMPL_JOINT_NAMES[:K]`); with them, every name must
be a body of the target skeleton. SMPL's L_Hand / R_Hand keypoints (K = 24, no names) are dropped
for the SMPL-X skeleton, which has fingers instead. Rotations come from
`motion_lib.ik.fit_person_to_positions` on the skeleton of the options (its own bone lengths); the
fit error (metres, the per-frame mean distance to the keypoints: its mean and max over frames and
persons) is recorded in `clip.source` as `ik_fit_error_mean` and `ik_fit_error_max`.
Clip names are the file's path relative to the input folder without the extension, '/' -> '__'.

ReadOptions used: skeleton, fps (None: keep the source's rate), fix_floor, fit_subject_scale, treadmill_to_ground,
supporter, up (None: "z"), source_fps (used when the file has no `fps`; None: 30).

Also the helpers the other generated-clip readers share: `find_clip_files`, `check_positions`,
`persons_from_positions`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from motion_lib.checks import (
    MAX_POSITION_M,
    describe,
    frame_rate,
    one_line,
    real_array,
    require_body_span,
    require_bounded,
    require_duration,
    require_frames,
    require_speed,
    text,
)
from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.extremities import finish_settled_clip, unseen_by_positions
from motion_lib.formats.base import ReadOptions, SourceItem, load_npy, load_npz, require_path, unique_names
from motion_lib.formats.common import UP_AXES, world_rotation
from motion_lib.ik import fit_error, fit_person_to_positions
from motion_lib.skeleton import SMPL_JOINT_NAMES, Skeleton

DEFAULT_FPS = 30.0
DEFAULT_UP = "z"
SUFFIXES = (".npy", ".npz")
DEFAULT_JOINT_COUNTS = (22, 24)
"""Keypoint counts accepted without `joint_names`: the first K SMPL joints."""


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """One item per keypoint file: the input file itself, or every `.npy`/`.npz` under the input folder."""
    _check_supporter(options)
    if options.up is not None and options.up not in UP_AXES:
        raise UserInputError(f"up must be one of {UP_AXES} for keypoints, got '{options.up}'")
    return [SourceItem(name=n, path=f, load=functools.partial(load_clip, f, n, options))
            for n, f in find_clip_files(input_path, SUFFIXES)]


def load_clip(path: Path, name: str, options: ReadOptions) -> Clip:
    """One keypoint file as a one- or two-person clip."""
    positions, joint_names, file_fps = read_keypoints(path)
    fps = file_fps if file_fps is not None else options.source_fps if options.source_fps is not None else DEFAULT_FPS
    check_positions(positions, frame_rate(fps, "the source frame rate", path), path)
    names, keep = _target_names(joint_names, positions.shape[2], options.skeleton, path)
    up = DEFAULT_UP if options.up is None else options.up
    world = world_rotation(up)
    positions = world.apply(positions[:, :, keep].reshape(-1, 3)).reshape(positions.shape[:2] + (len(keep), 3))
    persons, fit = persons_from_positions(positions, names, options.skeleton)
    if len(persons) == 2 and options.supporter == 1:
        persons = persons[::-1]
    source = {"format": "keypoints", "file": str(path), "up": up, "joint_names": names,
              "supporter_in_file": options.supporter if len(persons) == 2 else 0, **fit}
    return finish_settled_clip(name, persons, fps, options.skeleton, options.fps or fps, source, options.fix_floor,
                               path, unseen_by_positions(names, options.skeleton), fit_scale=options.fit_subject_scale,
                               treadmill_to_ground=options.treadmill_to_ground)


def read_keypoints(path: Path) -> tuple[np.ndarray, list[str] | None, float | None]:
    """(positions (T, P, K, 3) float64, joint names or None, fps or None) of one file; the shapes checked."""
    if path.suffix == ".npz":
        arrays = load_npz(path, ("positions",))
        positions = arrays["positions"]
        joint_names = _joint_names(arrays["joint_names"], path) if "joint_names" in arrays else None
        fps = frame_rate(arrays["fps"], "fps", path) if "fps" in arrays else None
    else:
        positions, joint_names, fps = load_npy(path), None, None
    positions = real_array(positions, "positions", path, (None, None, None, 3))
    frames, persons, joints = positions.shape[:3]
    if persons not in (1, 2) or joints < 1:
        raise UserInputError(f"{path}: positions has shape {positions.shape}, expected (T, P, K, 3) with P = 1 or 2 "
                             "persons and K >= 1 keypoints")
    require_frames(frames, path)
    if joint_names is not None and len(joint_names) != joints:
        raise UserInputError(f"{path}: joint_names has {len(joint_names)} names but positions has {joints} keypoints")
    return positions, joint_names, fps


def check_positions(positions: np.ndarray, fps: float, path: Path, what: str = "positions") -> None:
    """Keypoints (T, P, K, 3) at `fps`, metres: a plausible duration, places, speeds and body sizes."""
    require_duration(positions.shape[0], fps, path)
    require_bounded(positions, MAX_POSITION_M, what, path, " m")
    require_speed(positions, fps, what, path)
    require_body_span(positions, what, path)


def persons_from_positions(positions: np.ndarray, names: list[str], skeleton: Skeleton) -> tuple[list[PersonMotion], dict]:
    """Fit every person of `positions` (T, P, K, 3), z-up metres, with inverse kinematics.

    Returns the persons and the fit report {"ik_fit_error_mean", "ik_fit_error_max"}: the per-frame
    mean distance (metres) between the fitted bodies and the targets, averaged / maximised over
    frames and persons.
    """
    persons, errors = [], []
    for p in range(positions.shape[1]):
        person = fit_person_to_positions(positions[:, p], names, skeleton)
        persons.append(person)
        errors.append(fit_error(person, positions[:, p], names, skeleton))
    errors = np.stack(errors)
    return persons, {"ik_fit_error_mean": float(errors.mean()), "ik_fit_error_max": float(errors.max())}


def find_clip_files(input_path: Path, suffixes: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(clip name, file) for the input file itself or every file with one of `suffixes` under the
    input folder, sorted; the name is the path relative to the folder without the extension, '/' -> '__'
    (names that repeat, e.g. of `a.npy` and `a.npz`, get `unique_names`' suffixes)."""
    path = require_path(input_path, "file" if Path(input_path).is_file() else "folder")
    if path.is_file():
        if path.suffix not in suffixes:
            raise UserInputError(f"input {path} must be a {' or '.join(suffixes)} file, or a folder of them")
        return [(path.stem, path)]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
    if not files:
        raise UserInputError(f"input {path} holds no {' or '.join(suffixes)} files")
    names = unique_names([f.relative_to(path).with_suffix("").as_posix().replace("/", "__") for f in files])
    return list(zip(names, files))


def _target_names(joint_names: list[str] | None, count: int, skeleton: Skeleton, path: Path) -> tuple[list[str], list[int]]:
    """(skeleton body names of the targets, the keypoint indices they come from)."""
    if joint_names is None:
        if count not in DEFAULT_JOINT_COUNTS:
            raise UserInputError(
                f"{path}: {count} keypoints per person without joint_names; expected 22 or 24 (SMPL joint order) "
                "or an .npz with joint_names")
        keep = [k for k, n in enumerate(SMPL_JOINT_NAMES[:count]) if n in skeleton.body_names]
        return [SMPL_JOINT_NAMES[k] for k in keep], keep
    unknown = [n for n in joint_names if n not in skeleton.body_names]
    if unknown:
        raise UserInputError(f"{path}: joint_names {one_line(unknown, 120)} are not bodies of the {skeleton.name} "
                             f"skeleton (known: {', '.join(skeleton.body_names)})")
    if len(set(joint_names)) != len(joint_names):
        raise UserInputError(f"{path}: joint_names has duplicates")
    return list(joint_names), list(range(count))


def _joint_names(value: np.ndarray, path: Path) -> list[str]:
    """The 1-D string array `joint_names` as a list of checked text."""
    value = np.asarray(value)
    if value.ndim != 1 or value.dtype.kind not in "SU":
        raise UserInputError(f"{path}: joint_names must be a 1-D array of strings, got {describe(value)}")
    return [text(v, f"joint_names[{i}]", path) for i, v in enumerate(value.tolist())]


def _check_supporter(options: ReadOptions) -> None:
    if options.supporter not in (0, 1):
        raise UserInputError(f"supporter must be 0 (the file's first person) or 1 (the second), got {options.supporter}")
