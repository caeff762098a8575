"""AMASS-style reader: single-person SMPL / SMPL+H / SMPL-X npz files (REFERENCE §4).

Input: one `.npz` file, or a folder searched recursively for `*.npz` (the per-subject `shape.npz`
files AMASS ships next to the motions are skipped). Each file holds, in a z-up world:

    poses (T, 156)   SMPL+H: 52 joints x 3 axis-angle: root, 21 body joints, left hand (joints
                     22..36), right hand (37..51), fingers index, middle, pinky, ring, thumb
          (T, 72)    SMPL: 24 joints
          (T, 165)   SMPL-X: 55 joints (AMASS's SMPL-X release)
    trans (T, 3), betas, gender (one string)
    mocap_framerate  scalar (`mocap_frame_rate` in the SMPL-X release)

Body shapes are recorded in `clip.source`, not applied: the clip uses the skeleton of the options.
Clip names are the file's path relative to the input folder without the extension, '/' -> '__'.

ReadOptions used: skeleton, fps (None: keep the source's rate), fix_floor, fit_subject_scale, treadmill_to_ground,
source_fps (None: the file's frame rate).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from motion_lib.clip import Clip
from motion_lib.checks import (
    MAX_ANGLE_RAD,
    MAX_POSITION_M,
    frame_rate,
    real_array,
    require_bounded,
    require_duration,
    require_frames,
    require_speed,
)
from motion_lib.errors import UserInputError
from motion_lib.formats.base import ReadOptions, SourceItem, clip_name, load_npz, require_path, unique_names
from motion_lib.formats.common import finish_clip, person_from_smpl_pose
from motion_lib.formats.interx import body_shape

SHAPE_FILE = "shape.npz"
FRAMERATE_KEYS = ("mocap_framerate", "mocap_frame_rate")
POSE_WIDTHS = {156: "smplh", 72: "smpl", 165: "smplx"}
"""Width of `poses` -> the body model it comes from."""


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """One item per motion npz: the input file itself, or every `*.npz` under the input folder."""
    path = require_path(input_path, "file" if Path(input_path).is_file() else "folder")
    if path.is_file():
        if path.suffix != ".npz":
            raise UserInputError(f"input {path} must be an .npz file or a folder of them")
        files, base = [path], path.parent
    else:
        files = sorted(p for p in path.rglob("*.npz") if p.is_file() and p.name != SHAPE_FILE)
        base = path
        if not files:
            raise UserInputError(f"input {path} holds no motion .npz files")
    names = unique_names([clip_name(f, base) for f in files])
    return [SourceItem(name=n, path=f, load=functools.partial(load_clip, f, n, options)) for f, n in zip(files, names)]


def load_clip(path: Path, name: str, options: ReadOptions) -> Clip:
    """One file as a single-person clip."""
    arrays = load_npz(path, ("poses", "trans", "betas", "gender"))
    fps = _source_fps(arrays, path) if options.source_fps is None else frame_rate(options.source_fps, "source_fps", path)
    poses = real_array(arrays["poses"], "poses", path, (None, None))
    model = POSE_WIDTHS.get(poses.shape[1])
    if model is None:
        raise UserInputError(f"{path}: poses has shape {poses.shape}, expected (T, 156), (T, 72) or (T, 165)")
    trans = real_array(arrays["trans"], "trans", path, (poses.shape[0], 3))
    require_duration(require_frames(poses.shape[0], path), fps, path)
    require_bounded(poses, MAX_ANGLE_RAD, "poses", path, " rad")
    require_speed(require_bounded(trans, MAX_POSITION_M, "trans", path, " m"), fps, "trans", path)
    pose_aa, layout = smpl_family_pose(poses, model)
    person = person_from_smpl_pose(pose_aa, trans, layout, options.skeleton, up="z")
    source = {"format": "amass", "file": str(path), "model": model, **body_shape(arrays, path)}
    return finish_clip(name, [person], fps, options.skeleton, options.fps or fps, source, options.fix_floor, path,
                       fit_scale=options.fit_subject_scale, treadmill_to_ground=options.treadmill_to_ground)


def smpl_family_pose(poses: np.ndarray, model: str) -> tuple[np.ndarray, str]:
    """(T, 3J) flat axis-angle poses as (pose_aa (T, J', 3), layout) for `person_from_smpl_pose`.

    SMPL+H maps into the 55-joint SMPL-X layout: body joints 0..21 keep their indices, the hands
    (22..36 left, 37..51 right; same finger order as SMPL-X) go to 25..39 and 40..54, and jaw and
    eyes (22..24) stay at zero. SMPL and SMPL-X poses keep their own layouts.
    """
    joints = poses.reshape(poses.shape[0], -1, 3)
    if model != "smplh":
        return joints, model
    pose_aa = np.zeros((joints.shape[0], 55, 3))
    pose_aa[:, :22] = joints[:, :22]
    pose_aa[:, 25:55] = joints[:, 22:52]
    return pose_aa, "smplx"


def _source_fps(arrays: dict[str, np.ndarray], path: Path) -> float:
    """The file's frame rate from `mocap_framerate` (or `mocap_frame_rate`), checked."""
    key = next((k for k in FRAMERATE_KEYS if k in arrays), None)
    if key is None:
        raise UserInputError(f"{path}: missing key 'mocap_framerate' (the frame rate); set source_fps to give it")
    return frame_rate(arrays[key], key, path)
