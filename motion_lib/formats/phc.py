"""PHC / AssistMimic motion pickles (joblib): read and write.

Layout (REFERENCE §4): a dict key -> entry with
    pose_aa            (N, 72) SMPL or (N, 156) SMPL-X/H axis-angle (root orientation in the z-up world)
    pose_quat_global   (N, J, 4) body-to-world quaternions (x, y, z, w), MuJoCo body order, "upright start"
    pose_quat          (N, J, 4) local (to parent) quaternions (x, y, z, w), MuJoCo body order
    root_trans_offset  (N, 3) pelvis position, z-up world
    trans_orig         (N, 3) the body model's translation
    beta (16,), gender, fps
Two-person clips are paired keys `<seq>_caregiver` / `<seq>_recipient` (supporter / recipient).
This project adds keys PHC and AssistMimic ignore: `source` (the clip's provenance) and `furniture` (the clip's
furniture as records {kind, pos, yaw, size}, `motion_lib/furniture.py`), written into each entry of a clip
and read from its first.

PHC's upright-start global rotations are exactly this project's body-to-world rotations (MuJoCo order
is the canonical order), so reading prefers `pose_quat_global` + `root_trans_offset`; entries without
them are read from `pose_aa` (z-up). A 156-value pose holds 52 joints: 22 body joints, then the left and
right hand's 15 joints each (SMPL-H order, the same finger order as SMPL-X).
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import joblib
import numpy as np

from motion_lib.checks import (
    MAX_ANGLE_RAD,
    MAX_POSITION_M,
    describe,
    frame_rate,
    one_line,
    plain_finite,
    printable,
    real_array,
    require_bounded,
    require_duration,
    require_frames,
    require_speed,
    text,
)
from motion_lib.clip import ROLES, Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.files import atomic_write_bytes
from motion_lib.formats.base import ReadOptions, SourceItem, require_path
from motion_lib.formats.common import (
    finish_clip,
    global_rotations,
    local_rotations,
    person_from_smpl_pose,
    smpl_pose_from_person,
    wxyz_to_xyzw,
    xyzw_to_wxyz,
)
from motion_lib.furniture import read_furniture
from motion_lib.safe_pickle import load_joblib
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
    """One PHC entry as a person in `skeleton` and its frame rate, every field checked first."""
    if not isinstance(entry, dict):
        raise UserInputError(f"{where}: entry must be a dict of arrays, got {describe(entry)}")
    fps = frame_rate(entry["fps"], "fps", where) if "fps" in entry else PHC_DEFAULT_FPS
    if "pose_quat_global" in entry and "root_trans_offset" in entry:
        quat = real_array(entry["pose_quat_global"], "pose_quat_global", where, (None, None, 4))
        if quat.shape[1] not in BODIES_TO_SKELETON:
            raise UserInputError(f"{where}: pose_quat_global has {quat.shape[1]} bodies; expected 24 (SMPL) or 52 (SMPL-X)")
        root = _positions(entry, "root_trans_offset", quat.shape[0], fps, where)
        require_bounded(quat, np.inf, "pose_quat_global", where)  # finite; unit length is checked next
        with np.errstate(over="ignore", under="ignore"):  # huge or tiny quaternions are not unit: found below
            norms = np.linalg.norm(quat, axis=-1)
        if np.abs(norms - 1).max() > 1e-2:
            raise UserInputError(f"{where}: pose_quat_global holds non-unit quaternions")
        source = get_skeleton(BODIES_TO_SKELETON[quat.shape[1]])
        global_rot = _retarget_globals(xyzw_to_wxyz(quat / norms[..., None]), source, skeleton)
        root_rot, joint_rot = local_rotations(global_rot, skeleton)
        return PersonMotion(root, root_rot, joint_rot), fps
    if "pose_aa" in entry and ("root_trans_offset" in entry or "trans_orig" in entry):
        pose = real_array(entry["pose_aa"], "pose_aa", where, (None, None))
        if pose.shape[1] not in POSE_LAYOUT:
            raise UserInputError(f"{where}: pose_aa has {pose.shape[1]} values per frame; expected 72 (SMPL) or 156 (SMPL-X/H)")
        key = "root_trans_offset" if "root_trans_offset" in entry else "trans_orig"
        trans = _positions(entry, key, pose.shape[0], fps, where)
        pose = require_bounded(pose, MAX_ANGLE_RAD, "pose_aa", where, " rad").reshape(pose.shape[0], -1, 3)
        layout = "smpl" if pose.shape[1] == 24 else "smplx"
        if layout == "smplx":
            pose = _smplh_to_smplx_pose(pose)
        if key == "trans_orig":
            return person_from_smpl_pose(pose, trans, layout, skeleton, up="z"), fps
        person = person_from_smpl_pose(pose, np.zeros_like(trans), layout, skeleton, up="z")
        person.root_pos = trans
        return person, fps
    raise UserInputError(
        f"{where}: needs pose_quat_global + root_trans_offset or pose_aa + root_trans_offset/trans_orig; "
        f"found {one_line(sorted(map(str, entry)), 120)}")


def _positions(entry: dict, key: str, frames: int, fps: float, where: str) -> np.ndarray:
    """(T, 3) positions `entry[key]`: at least two frames within the clip's duration, plausible places and speeds."""
    positions = real_array(entry[key], key, where, (frames, 3))
    require_duration(require_frames(frames, where), fps, where)
    require_speed(require_bounded(positions, MAX_POSITION_M, key, where, " m"), fps, key, where)
    return positions


def _load_pickle(path: Path) -> dict:
    """The dict of a PHC motion pickle, read by the restricted unpickler (`motion_lib.safe_pickle`)."""
    data = load_joblib(path, "PHC motion pickle")
    if not isinstance(data, dict) or not data:
        raise UserInputError(f"{path}: expected a non-empty dict of motion entries, got {describe(data)}")
    return data


def _group_keys(keys: list) -> tuple[dict[str, dict[str, str]], dict[object, str]]:
    """Paired keys {seq: {role: key}} and the reason each key that belongs to no usable clip is left out
    (a key that is not text, a half pair, a pair whose clip name is also a key of its own)."""
    pairs, problems = {}, {}
    for key in keys:
        if not isinstance(key, str):
            problems[key] = f"key {describe(key)} is not a string"
            continue
        role = next((r for r, suffix in PAIR_SUFFIX.items() if key.endswith(suffix)), None)
        seq = key[: -len(PAIR_SUFFIX[role])] if role else key
        pairs.setdefault(seq, {})[role or "single"] = key
    for seq, members in list(pairs.items()):
        if "single" in members and len(members) > 1:
            for role, key in members.items():
                if role != "single":
                    problems[key] = f"key {key!r} pairs into clip {seq!r}, which is also a key of its own"
            pairs[seq] = {"single": members["single"]}
        elif "single" not in members and len(members) == 1:
            (role, key), = members.items()
            other = PAIR_SUFFIX["recipient" if role == "supporter" else "supporter"]
            problems[key] = f"paired key {key!r} has no matching {seq + other!r}"
            del pairs[seq]
    return pairs, problems


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """Every clip of a PHC/AssistMimic pickle: pairs become two-person clips, other keys single-person.
    A bad key or entry costs only its own clip."""
    path = require_path(input_path, "file")
    data = _load_pickle(path)
    pairs, problems = _group_keys(list(data))
    items = []
    for seq, members in pairs.items():
        if "single" in members:
            keys = [members["single"]]
        else:
            keys = [members["supporter"], members["recipient"]]
        items.append(SourceItem(printable(seq), path, functools.partial(_load_clip, data, keys, seq, path, options)))
    for key, reason in problems.items():
        items.append(SourceItem(printable(key), path, functools.partial(_raise, f"{path}: {reason}")))
    return items


def _where(path: Path, key: str) -> str:
    """`path ['key']` for messages; a key that is not printable text shows as a short ASCII repr."""
    label = printable(key)
    return f"{path} [{label!r}]" if label == key else f"{path} [{label}]"


def _raise(message: str):
    raise UserInputError(message)


def _load_clip(data: dict, keys: list[str], name: str, path: Path, options: ReadOptions) -> Clip:
    where = _where(path, name)
    text(name, "the clip name", where)
    people = [_person_from_entry(data[k], _where(path, k), options.skeleton) for k in keys]
    frames = {p.root_pos.shape[0] for p, _ in people}
    rates = {fps for _, fps in people}
    if len(frames) > 1 or len(rates) > 1:
        raise UserInputError(f"{where}: caregiver and recipient differ in frames {sorted(frames)} or fps {sorted(rates)}")
    fps = options.source_fps or rates.pop()
    source = {"format": "phc", "file": str(path), "keys": keys}
    extra = data[keys[0]].get("source")
    if extra is not None:
        if not isinstance(extra, dict):
            raise UserInputError(f"{where}: source must be a dict, got {describe(extra)}")
        plain_finite(extra, "source", where)
        source = {**extra, **source}
    furniture = read_furniture(data[keys[0]]["furniture"], where) if "furniture" in data[keys[0]] else []
    # furniture is placed for the tracks as stored: a clip with furniture keeps its height and size (a person
    # lying on a bed at the start would otherwise be lowered through it to the floor)
    clip = finish_clip(name, [p for p, _ in people], fps, options.skeleton, options.fps or fps, source,
                       options.fix_floor and not furniture, where,
                       fit_scale=options.fit_subject_scale and not furniture, drop_snaps=options.drop_leading_snaps,
                       treadmill_to_ground=options.treadmill_to_ground and not furniture)
    clip.furniture = furniture
    return clip


def read_clips(path: str | Path, skeleton: str = "smpl", fps: float | None = 30.0) -> list[Clip]:
    """All clips of a PHC/AssistMimic pickle in `skeleton`, resampled to `fps` (None: as stored), as stored (no floor
    fix, no snap dropped, no size fit, no treadmill travel: what the stages train and score on); any bad entry is an
    error."""
    options = ReadOptions(skeleton=get_skeleton(skeleton), fps=fps, fix_floor=False, drop_leading_snaps=False,
                          fit_subject_scale=False, treadmill_to_ground=False)
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
            "furniture": [item.record() for item in clip.furniture],
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
