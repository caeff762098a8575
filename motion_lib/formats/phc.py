"""PHC / AssistMimic motion pickles (joblib): read and write.

Layout (REFERENCE §4): a dict key -> entry with
    pose_aa            (N, 72) SMPL or (N, 156) SMPL-X/H axis-angle (root orientation in the z-up world)
    pose_quat_global   (N, J, 4) body-to-world quaternions (x, y, z, w), MuJoCo body order, "upright start"
    pose_quat          (N, J, 4) local (to parent) quaternions (x, y, z, w), MuJoCo body order
    root_trans_offset  (N, 3) pelvis position, z-up world
    trans_orig         (N, 3) the body model's translation
    beta (16,), gender, fps
Two-person clips are paired keys `<seq>_caregiver` / `<seq>_recipient` (supporter / recipient).

PHC's upright-start global rotations are exactly this project's body-to-world rotations (MuJoCo order
is the canonical order), so reading prefers `pose_quat_global` + `root_trans_offset`; entries without
them are read from `pose_aa` (z-up). A 156-value pose holds 52 joints: 22 body joints, then the left and
right hand's 15 joints each (SMPL-H order, the same finger order as SMPL-X).
"""

from __future__ import annotations

import io
from pathlib import Path

import joblib
import numpy as np

from motion_lib.clip import ROLES, Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.files import atomic_write_bytes
from motion_lib.formats.base import ReadOptions, SourceItem, require_finite, require_path, require_shape
from motion_lib.formats.common import (
    finish_clip,
    global_rotations,
    local_rotations,
    person_from_smpl_pose,
    smpl_pose_from_person,
    wxyz_to_xyzw,
    xyzw_to_wxyz,
)
from motion_lib.skeleton import Skeleton, get_skeleton

PAIR_SUFFIX = {"supporter": "_caregiver", "recipient": "_recipient"}
PHC_DEFAULT_FPS = 30.0
"""PHC's motion library assumes 30 fps for entries that store no `fps`."""
BODIES_TO_SKELETON = {24: "smpl", 52: "smplx"}
POSE_LAYOUT = {72: "smpl", 156: "smplh"}


def _smplh_to_smplx_pose(pose: np.ndarray) -> np.ndarray:
    """(N, 52, 3) SMPL-H joint order -> (N, 55, 3) SMPL-X order (jaw and eyes at rest)."""
    out = np.zeros((pose.shape[0], 55, 3))
    out[:, :22], out[:, 25:] = pose[:, :22], pose[:, 22:]
    return out


def _smplx_to_smplh_pose(pose: np.ndarray) -> np.ndarray:
    return np.concatenate([pose[:, :22], pose[:, 25:]], axis=1)


def _retarget_globals(global_rot: np.ndarray, source: Skeleton, target: Skeleton) -> np.ndarray:
    """(N, B_source, 4) -> (N, B_target, 4): bodies matched by name; a body the source lacks keeps its
    parent's rotation (it is at rest relative to its parent)."""
    out = np.zeros((global_rot.shape[0], target.num_bodies, 4))
    for b, name in enumerate(target.body_names):
        if name in source.body_names:
            out[:, b] = global_rot[:, source.index(name)]
        else:
            out[:, b] = out[:, target.parents[b]]
    return out


def _person_from_entry(entry, where: str, skeleton: Skeleton) -> tuple[PersonMotion, float]:
    """One PHC entry as a person in `skeleton` and its frame rate."""
    if not isinstance(entry, dict):
        raise UserInputError(f"{where}: entry must be a dict of arrays, got {type(entry).__name__}")
    fps = _entry_fps(entry["fps"], where) if "fps" in entry else PHC_DEFAULT_FPS
    if "pose_quat_global" in entry and "root_trans_offset" in entry:
        quat = require_shape(entry["pose_quat_global"], (None, None, 4), "pose_quat_global", where)
        if quat.shape[1] not in BODIES_TO_SKELETON:
            raise UserInputError(f"{where}: pose_quat_global has {quat.shape[1]} bodies; expected 24 (SMPL) or 52 (SMPL-X)")
        root = require_shape(entry["root_trans_offset"], (quat.shape[0], 3), "root_trans_offset", where)
        require_finite(quat, "pose_quat_global", where), require_finite(root, "root_trans_offset", where)
        norms = np.linalg.norm(quat, axis=-1)
        if np.abs(norms - 1).max() > 1e-2:
            raise UserInputError(f"{where}: pose_quat_global holds non-unit quaternions")
        source = get_skeleton(BODIES_TO_SKELETON[quat.shape[1]])
        global_rot = _retarget_globals(xyzw_to_wxyz(quat / norms[..., None]), source, skeleton)
        root_rot, joint_rot = local_rotations(global_rot, skeleton)
        return PersonMotion(root, root_rot, joint_rot), fps
    if "pose_aa" in entry and ("root_trans_offset" in entry or "trans_orig" in entry):
        pose = require_shape(entry["pose_aa"], (None, None), "pose_aa", where)
        if pose.shape[1] not in POSE_LAYOUT:
            raise UserInputError(f"{where}: pose_aa has {pose.shape[1]} values per frame; expected 72 (SMPL) or 156 (SMPL-X/H)")
        require_finite(pose, "pose_aa", where)
        pose = pose.reshape(pose.shape[0], -1, 3)
        layout = "smpl" if pose.shape[1] == 24 else "smplx"
        if layout == "smplx":
            pose = _smplh_to_smplx_pose(pose)
        if "root_trans_offset" in entry:
            root = require_shape(entry["root_trans_offset"], (pose.shape[0], 3), "root_trans_offset", where)
            person = person_from_smpl_pose(pose, np.zeros_like(root), layout, skeleton, up="z")
            person.root_pos = require_finite(root, "root_trans_offset", where)
        else:
            trans = require_shape(entry["trans_orig"], (pose.shape[0], 3), "trans_orig", where)
            person = person_from_smpl_pose(pose, require_finite(trans, "trans_orig", where), layout, skeleton, up="z")
        return person, fps
    raise UserInputError(
        f"{where}: needs pose_quat_global + root_trans_offset or pose_aa + root_trans_offset/trans_orig; found {sorted(entry)}"
    )


def _entry_fps(value, where: str) -> float:
    """An entry's `fps`: one number (a scalar or a one-element array), else one clear error."""
    array = np.asarray(value)
    if array.size != 1 or not np.issubdtype(array.dtype, np.number):
        raise UserInputError(f"{where}: fps must be one number, got {value!r}")
    return float(array.reshape(-1)[0])


def _load_pickle(path: Path) -> dict:
    try:
        data = joblib.load(path)
    except Exception as err:  # noqa: BLE001 -- joblib/pickle raise many types for truncated or foreign files
        raise UserInputError(f"{path}: not a readable joblib pickle (truncated or corrupt?): {type(err).__name__}: {err}") from None
    if not isinstance(data, dict) or not data:
        raise UserInputError(f"{path}: expected a non-empty dict of motion entries, got {type(data).__name__}")
    return data


def _group_keys(keys: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Paired keys {seq: {role: key}} and the reason each key that belongs to no usable clip is left out."""
    pairs, problems = {}, {}
    for key in keys:
        role = next((r for r, suffix in PAIR_SUFFIX.items() if key.endswith(suffix)), None)
        seq = key[: -len(PAIR_SUFFIX[role])] if role else key
        pairs.setdefault(seq, {})[role or "single"] = key
    for seq, members in list(pairs.items()):
        if "single" not in members and len(members) == 1:
            (role, key), = members.items()
            other = PAIR_SUFFIX["recipient" if role == "supporter" else "supporter"]
            problems[key] = f"paired key '{key}' has no matching '{seq}{other}'"
            del pairs[seq]
    return pairs, problems


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """Every clip of a PHC/AssistMimic pickle: pairs become two-person clips, other keys single-person."""
    path = require_path(input_path, "file")
    data = _load_pickle(path)
    pairs, problems = _group_keys([str(k) for k in data])
    items = []
    for seq, members in pairs.items():
        if "single" in members:
            keys = [members["single"]]
        else:
            keys = [members["supporter"], members["recipient"]]
        items.append(SourceItem(seq, path, lambda keys=keys, seq=seq: _load_clip(data, keys, seq, path, options)))
    for key, reason in problems.items():
        items.append(SourceItem(key, path, lambda reason=reason: _raise(f"{path}: {reason}")))
    return items


def _raise(message: str):
    raise UserInputError(message)


def _load_clip(data: dict, keys: list[str], name: str, path: Path, options: ReadOptions) -> Clip:
    people = [_person_from_entry(data[k], f"{path} [{k}]", options.skeleton) for k in keys]
    frames = {p.root_pos.shape[0] for p, _ in people}
    rates = {fps for _, fps in people}
    if len(frames) > 1 or len(rates) > 1:
        raise UserInputError(f"{path}: '{name}' caregiver and recipient differ in frames {sorted(frames)} or fps {sorted(rates)}")
    fps = options.source_fps or rates.pop()
    source = {"format": "phc", "file": str(path), "keys": keys}
    extra = data[keys[0]].get("source") if isinstance(data[keys[0]], dict) else None
    if isinstance(extra, dict):
        source = {**extra, **source}
    return finish_clip(name, [p for p, _ in people], fps, options.skeleton, options.fps or fps, source, options.fix_floor)


def read_clips(path: str | Path, skeleton: str = "smpl", fps: float | None = 30.0) -> list[Clip]:
    """All clips of a PHC/AssistMimic pickle in `skeleton`, resampled to `fps` (None: as stored), without
    floor fix; any bad entry is an error."""
    options = ReadOptions(skeleton=get_skeleton(skeleton), fps=fps, fix_floor=False)
    return [item.load() for item in source_items(Path(path), options)]


def clip_entries(clip: Clip) -> dict[str, dict]:
    """The PHC entries of one clip: `{name: entry}` or `{name_caregiver, name_recipient}`."""
    skeleton = get_skeleton(clip.skeleton)
    layout = "smpl" if skeleton.name == "smpl" else "smplx"
    keys = [clip.name] if len(clip.persons) == 1 else [clip.name + PAIR_SUFFIX[r] for r in ROLES]
    entries = {}
    for key, person in zip(keys, clip.persons):
        pose_aa, trans = smpl_pose_from_person(person, skeleton, layout)
        if layout == "smplx":
            pose_aa = _smplx_to_smplh_pose(pose_aa)
        entries[key] = {
            "pose_aa": pose_aa.reshape(pose_aa.shape[0], -1).astype(np.float32),
            "pose_quat_global": wxyz_to_xyzw(global_rotations(person, skeleton)).astype(np.float32),
            "pose_quat": wxyz_to_xyzw(np.concatenate([person.root_rot[:, None], person.joint_rot], 1)).astype(np.float32),
            "root_trans_offset": person.root_pos.astype(np.float32),
            "trans_orig": trans.astype(np.float32),
            "beta": np.zeros(16, dtype=np.float32),
            "gender": "neutral",
            "fps": float(clip.fps),
            "source": dict(clip.source),
        }
    return entries


def write_clips(path: str | Path, clips: list[Clip]) -> None:
    """Write clips as one PHC/AssistMimic joblib pickle, atomically (temp file, then rename)."""
    path = Path(path)
    entries = {}
    for clip in clips:
        clip.validate()
        new = clip_entries(clip)
        clash = set(new) & set(entries)
        if clash:
            raise UserInputError(f"two clips would both write key(s) {sorted(clash)} in {path}; clip names must be unique")
        entries.update(new)
    buffer = io.BytesIO()
    joblib.dump(entries, buffer)
    atomic_write_bytes(path, buffer.getvalue())
