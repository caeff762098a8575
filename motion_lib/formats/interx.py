"""Inter-X reader: two-person SMPL-X clips (REFERENCE §4).

On disk (the dataset root, or its `motions` folder given directly):

    motions/<GgggTtttAaaaRrrr>/P1.npz, P2.npz   one folder per clip: group, take, action, repetition
    splits/{train,val,test}.txt                 clip ids, one a line (optional)
    annots/interaction_order.pkl                pickled dict id -> 0 (P1 acts first) or 1 (P2 does)

Each npz holds SMPL-X parameters at 120 fps in a y-up world: `root_orient (T, 3)`,
`pose_body (T, 21, 3)`, `pose_lhand (T, 15, 3)`, `pose_rhand (T, 15, 3)` (axis-angle),
`trans (T, 3)`, `betas (1, 10)`, `gender` (0-d string). The person who acts (initiates the
interaction) is the supporter, person 0. Body shapes are recorded in `clip.source`, not applied:
the clip uses the skeleton of the options.

ReadOptions used: skeleton, fps (None: keep the source's rate), fix_floor, fit_subject_scale, actions, split, supporter (when the order file does not
say), source_fps (None: 120).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from motion_lib.clip import Clip
from motion_lib.checks import (
    MAX_ANGLE_RAD,
    MAX_BETA,
    MAX_POSITION_M,
    bounded_array,
    describe,
    frame_rate,
    real_array,
    require_bounded,
    require_duration,
    require_frames,
    require_speed,
    text,
)
from motion_lib.errors import UserInputError
from motion_lib.formats.base import ReadOptions, SourceItem, load_npz, require_path
from motion_lib.formats.common import finish_clip, person_from_smpl_pose
from motion_lib.safe_pickle import load_pickle

SOURCE_FPS = 120.0
PERSON_FILES = ("P1.npz", "P2.npz")
CLIP_ID = re.compile(r"^G(\d{3})T(\d{3})A(\d{3})R(\d{3})$")
ORDER_FILE = Path("annots") / "interaction_order.pkl"
POSE_KEYS = {"root_orient": (None, 3), "pose_body": (None, 21, 3), "pose_lhand": (None, 15, 3),
             "pose_rhand": (None, 15, 3), "trans": (None, 3)}
"""Required arrays and their shapes (None: the frame count T, the same for all)."""
MAX_FRAME_MISMATCH = 1
"""P1 and P2 may differ by this many frames (the longer is trimmed); more is an error."""


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """One item per clip folder of an Inter-X dataset root (or `motions` folder), after the
    action and split filters of `options`."""
    if options.supporter not in (0, 1):
        raise UserInputError(f"supporter must be 0 (P1) or 1 (P2), got {options.supporter}")
    motions = _motions_folder(require_path(input_path, "folder"))
    root = motions.parent
    clip_ids = sorted(p.name for p in motions.iterdir() if p.is_dir() and CLIP_ID.match(p.name))
    if not clip_ids:
        raise UserInputError(f"input {motions} holds no Inter-X clip folders (named like G001T000A035R000)")
    if options.actions:
        wanted = set(options.actions)
        clip_ids = [c for c in clip_ids if action_id(c) in wanted]
    if options.split is not None:
        listed = _split_ids(root, options.split)
        clip_ids = [c for c in clip_ids if c in listed]
    if not clip_ids:
        raise UserInputError(
            f"input {motions}: no clip folder left after the filters (actions {list(options.actions)}, "
            f"split {options.split!r})"
        )
    order = _interaction_order(root / ORDER_FILE)
    return [
        SourceItem(name=c, path=motions / c,
                   load=functools.partial(load_clip, motions / c, options, order, root / ORDER_FILE))
        for c in clip_ids
    ]


def action_id(clip_id: str) -> int:
    """The action number of a clip id, e.g. 35 for "G001T000A035R000"."""
    return int(CLIP_ID.match(clip_id).group(3))


def load_clip(folder: Path, options: ReadOptions, order: dict | None, order_path: Path) -> Clip:
    """One clip folder as a two-person clip, supporter first."""
    fps = SOURCE_FPS if options.source_fps is None else frame_rate(options.source_fps, "source_fps", folder)
    poses, trans, shapes = [], [], {}
    for file_name in PERSON_FILES:
        pose_aa, person_trans, shape = read_person(folder / file_name, fps)
        poses.append(pose_aa)
        trans.append(person_trans)
        shapes[file_name[:2]] = shape
    frames = [p.shape[0] for p in poses]
    if abs(frames[0] - frames[1]) > MAX_FRAME_MISMATCH:
        raise UserInputError(f"{folder}: P1 has {frames[0]} frames but P2 has {frames[1]}")
    kept = min(frames)
    persons = [person_from_smpl_pose(p[:kept], t[:kept], "smplx", options.skeleton, up="y")
               for p, t in zip(poses, trans)]
    supporter, role_from = _supporter(folder.name, order, order_path, options.supporter)
    persons = persons if supporter == 0 else persons[::-1]
    names = ("P1", "P2") if supporter == 0 else ("P2", "P1")
    source = {
        "format": "interx",
        "files": [str(folder / f) for f in PERSON_FILES],
        "action": action_id(folder.name),
        "roles": {"supporter": names[0], "recipient": names[1]},
        "role_from": role_from,
        "betas": {k: v["betas"] for k, v in shapes.items()},
        "gender": {k: v["gender"] for k, v in shapes.items()},
        "frames_trimmed": max(frames) - kept,
    }
    return finish_clip(folder.name, persons, fps, options.skeleton, options.fps or fps, source,
                       options.fix_floor, folder, fit_scale=options.fit_subject_scale)


def read_person(path: Path, fps: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """One person's file at `fps`: (pose_aa (T, 55, 3) in SMPL-X joint order, trans (T, 3), body shape), checked.

    The SMPL-X pose is root 0, body 1..21, jaw and eyes 22..24 (zero: not in the file), left hand
    25..39, right hand 40..54; all in SMPL's y-up axes. Body shape: {"betas": list, "gender": str}.
    """
    arrays = load_npz(path, tuple(POSE_KEYS) + ("betas", "gender"))
    parts = {key: real_array(arrays[key], key, path, shape) for key, shape in POSE_KEYS.items()}
    frames = {key: value.shape[0] for key, value in parts.items()}
    if len(set(frames.values())) != 1:
        raise UserInputError(f"{path}: arrays disagree on the frame count: {frames}")
    require_duration(require_frames(frames["trans"], path), fps, path)
    for key, value in parts.items():
        limit, unit = (MAX_POSITION_M, " m") if key == "trans" else (MAX_ANGLE_RAD, " rad")
        require_bounded(value, limit, key, path, unit)
    require_speed(parts["trans"], fps, "trans", path)
    pose_aa = np.zeros((frames["trans"], 55, 3))
    pose_aa[:, 0] = parts["root_orient"]
    pose_aa[:, 1:22] = parts["pose_body"]
    pose_aa[:, 25:40] = parts["pose_lhand"]
    pose_aa[:, 40:55] = parts["pose_rhand"]
    return pose_aa, parts["trans"], body_shape(arrays, path)


def body_shape(arrays: dict[str, np.ndarray], path: Path) -> dict:
    """{"betas": list of floats, "gender": str} from an SMPL-family npz's `betas` and `gender`, checked."""
    betas = bounded_array(arrays["betas"], "betas", path, None, MAX_BETA)
    return {"betas": betas.reshape(-1).tolist(), "gender": text(arrays["gender"], "gender", path)}


def _motions_folder(path: Path) -> Path:
    """The folder holding the clip folders: `path/motions` if it exists, else `path` itself."""
    return path / "motions" if (path / "motions").is_dir() else path


def _split_ids(root: Path, split: str) -> set[str]:
    """Clip ids listed in `root/splits/<split>.txt`."""
    path = root / "splits" / f"{split}.txt"
    if not path.is_file():
        raise UserInputError(f"split '{split}' needs the file {path}, which does not exist")
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()  # ids are ASCII; others match none
    return {line.strip() for line in lines if line.strip()}


def _interaction_order(path: Path) -> dict | None:
    """The pickled id -> 0/1 dict of `annots/interaction_order.pkl` (read by the restricted unpickler);
    None when there is no such file."""
    if not path.is_file():
        return None
    order = load_pickle(path, "interaction order pickle")
    if not isinstance(order, dict):
        raise UserInputError(f"{path}: expected a dict of clip id -> 0/1, got {describe(order)}")
    return order


def _supporter(clip_id: str, order: dict | None, order_path: Path, default: int) -> tuple[int, str]:
    """(index of the supporter among P1/P2, where that came from). Order 0: P1 acts, so P1 supports."""
    if order is None or clip_id not in order:
        return default, "options.supporter"
    value = order[clip_id]
    if not (isinstance(value, (int, np.integer)) and value in (0, 1)):
        raise UserInputError(f"{order_path}: entry '{clip_id}' must be 0 or 1, got {describe(value)}")
    return int(value), str(order_path)
