"""Clip-level variations: left-right mirroring, time-warping, reference noise, another subject's size."""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.formats.common import floor_fix, rotations_to_wxyz, wxyz_to_rotations
from motion_lib.rotations import quat_slerp
from motion_lib.skeleton import get_skeleton
from motion_lib.subject_scale import scale_travel


def _mirror_quat(q: np.ndarray) -> np.ndarray:
    """Quaternions (w, x, y, z) of rotations mirrored through the x-z plane (y -> -y): M R M with
    M = diag(1, -1, 1) keeps the y component of the axis and negates x and z (and the angle's sense)."""
    return q * np.array([1.0, -1.0, 1.0, -1.0])


def _mirror_name(name: str) -> str:
    return {"L_": "R_", "R_": "L_"}.get(name[:2], "") + name[2:] if name[:2] in ("L_", "R_") else name


def mirror_person(person: PersonMotion, skeleton_name: str) -> PersonMotion:
    """The person mirrored left-right through the world x-z plane: positions y -> -y, every rotation
    mirrored, each left joint's rotation given to the right joint and vice versa (SMPL's body axes
    are x forward, y left, z up at rest, so mirroring a local rotation is the same M R M)."""
    skel = get_skeleton(skeleton_name)
    swap = [skel.index(_mirror_name(n)) - 1 for n in skel.body_names[1:]]
    return PersonMotion(person.root_pos * np.array([1.0, -1.0, 1.0]), _mirror_quat(person.root_rot),
                        _mirror_quat(person.joint_rot[:, swap]))


def mirror(clip: Clip) -> Clip:
    """The clip mirrored left-right (persons and furniture); mirroring twice gives the clip back."""
    source = {**clip.source, "mirrored": not clip.source.get("mirrored", False)}
    name = clip.name[:-7] if clip.name.endswith("_mirror") else clip.name + "_mirror"
    return Clip(name, clip.fps, clip.skeleton, [mirror_person(p, clip.skeleton) for p in clip.persons], source,
                [item.mirrored() for item in clip.furniture])


def time_warp(clip: Clip, speed: np.ndarray | float) -> Clip:
    """The clip played `speed` times as fast (a number, or (T,) per original frame, e.g. 0.8-1.25):
    the new frames sample the original time line at the warped times (positions linearly, rotations
    by slerp), at the same frame rate."""
    frames = clip.num_frames
    rate = np.broadcast_to(np.asarray(speed, dtype=np.float64), (frames,))
    # original time reached after each new frame: integrate d(original)/d(new) = rate
    elapsed = np.concatenate([[0.0], np.cumsum(1.0 / ((rate[1:] + rate[:-1]) / 2))]) / clip.fps  # new time of each original frame
    new_times = np.arange(int(np.floor(elapsed[-1] * clip.fps + 1e-9)) + 1) / clip.fps
    position = np.interp(new_times, elapsed, np.arange(frames))
    f0 = np.minimum(np.floor(position).astype(int), frames - 2)
    alpha = position - f0
    persons = []
    for p in clip.persons:
        def slerp(q):
            t = torch.as_tensor(alpha).reshape(-1, *([1] * (q.ndim - 1)))
            return quat_slerp(torch.as_tensor(q[f0]), torch.as_tensor(q[f0 + 1]), t).numpy()
        root = p.root_pos[f0] + alpha[:, None] * (p.root_pos[f0 + 1] - p.root_pos[f0])
        persons.append(PersonMotion(root, slerp(p.root_rot), slerp(p.joint_rot)))
    source = {**clip.source, "time_warp": round(float(np.mean(rate)), 4)}
    return Clip(f"{clip.name}_x{np.mean(rate):.2f}", clip.fps, clip.skeleton, persons, source, list(clip.furniture))


def with_reference_noise(clip: Clip, rng: np.random.Generator, joint_deg: float, root_m: float) -> Clip:
    """The clip with i.i.d. noise on every frame, as jittery capture gives: each joint rotated by a random rotation
    vector of `joint_deg` degrees standard deviation per axis, each pelvis position moved by `root_m` metres per
    axis (the root's rotation kept). For robustness checks; the name gets `_noisy`."""
    persons = []
    for p in clip.persons:
        frames, joints = p.joint_rot.shape[:2]
        noise = Rotation.from_rotvec(rng.normal(0.0, np.radians(joint_deg), (frames * joints, 3)))
        rotations = wxyz_to_rotations(p.joint_rot.reshape(-1, 4)) * noise
        persons.append(PersonMotion(p.root_pos + rng.normal(0.0, root_m, p.root_pos.shape), p.root_rot.copy(),
                                    rotations_to_wxyz(rotations, (frames, joints))))
    source = {**clip.source, "reference_noise": {"joint_deg": joint_deg, "root_m": root_m}}
    return Clip(f"{clip.name}_noisy", clip.fps, clip.skeleton, persons, source, list(clip.furniture))


def with_subject_scale(clip: Clip, factor: float) -> Clip:
    """The clip as a subject `factor` times the skeleton's size gives it once converted the way the readers convert
    motion capture (joint rotations copied onto the fixed skeleton, the root translation kept, the floor fixed by the
    first frames): every person's root travel from person 0's first root position scaled by `factor`, then the floor
    fix. For factor > 1 the feet slide forwards along the travel and the pelvis bobs and drops `factor` times as far
    as the skeleton's legs do (< 1: backwards, less); the readers measure and undo it (`motion_lib.subject_scale`).
    For robustness checks; the name gets `_s<factor>`. Clips with
    furniture are refused (ValueError): their furniture would not move with the travel."""
    if clip.furniture:
        raise ValueError(f"clip '{clip.name}' has furniture; with_subject_scale moves only the persons")
    scaled = scale_travel(clip.persons, factor)
    source = {**clip.source, "subject_scale": factor}
    return Clip(f"{clip.name}_s{factor:.2f}", clip.fps, clip.skeleton, floor_fix(scaled, get_skeleton(clip.skeleton)),
                source, [])


def on_treadmill(clip: Clip) -> Clip:
    """The one-person clip as captured on a treadmill: every root position less its mean horizontal velocity over
    the clip times the time since the first frame, so the person stays in place and each planted foot moves
    backwards at that velocity (the belt's); the readers measure and undo it (`motion_lib.treadmill`). For clips that
    cruise at a steady velocity (a straight walk or run from its cruise on); the name gets `_treadmill`. Clips with
    furniture or more than one person are refused (ValueError)."""
    if clip.furniture or len(clip.persons) != 1:
        raise ValueError(f"clip '{clip.name}' has furniture or several persons; on_treadmill moves one person only")
    (person,) = clip.persons
    times = np.arange(clip.num_frames) / clip.fps
    belt = (person.root_pos[-1, :2] - person.root_pos[0, :2]) / times[-1]
    root_pos = person.root_pos.copy()
    root_pos[:, :2] -= times[:, None] * belt
    source = {**clip.source, "treadmill_belt_velocity": [float(-belt[0]), float(-belt[1])]}
    return Clip(f"{clip.name}_treadmill", clip.fps, clip.skeleton,
                [PersonMotion(root_pos, person.root_rot.copy(), person.joint_rot.copy())], source, [])


def from_cruise(clip: Clip, after: float = 0.5) -> Clip:
    """A generated locomotion clip (`source["params"]["cruise_from"]`: walks, runs) from `after` s past the start of
    its cruise on; the name gets `_cruise`."""
    first = int(round((clip.source["params"]["cruise_from"] + after) * clip.fps))
    persons = [PersonMotion(p.root_pos[first:], p.root_rot[first:], p.joint_rot[first:]) for p in clip.persons]
    return Clip(f"{clip.name}_cruise", clip.fps, clip.skeleton, persons, dict(clip.source), list(clip.furniture))
