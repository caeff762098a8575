"""Conversions every reader and writer shares: quaternion layouts, SMPL axis conventions, the
global/local rotation split, resampling to the project's frame rate and the floor fix.

Frames. SMPL(-X) files give each joint's rotation in SMPL's own body axes (y up, z forward at
rest). The project's skeleton (`motion_lib.skeleton`) uses z-up body axes, obtained from SMPL's by
the proper rotation `SMPL_TO_CANONICAL` (x->y, y->z, z->x; PHC's "upright start" quaternion
[0.5, 0.5, 0.5, 0.5] in x, y, z, w). With W the file's world-to-z-up rotation (identity for z-up
files, +90 deg about x for y-up files) and R a file rotation:

    root rotation  G'  = W * R_root * S^-1        joint rotation  r' = S * r * S^-1
    pelvis position p' = W (trans + J0)           (J0: the pelvis rest position in the body model)

where S = SMPL_TO_CANONICAL. The pelvis relation is REFERENCE §4's trans' = W(trans + J0) - J0 with
the pelvis (not the SMPL origin) as the clip's root position.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from motion_lib.capsules import lowest_capsule_bottom
from motion_lib.checks import MAX_POSITION_M, MIN_FRAMES, frame_rate, require_duration, require_frames
from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.kinematics import ForwardKinematics
from motion_lib.rotations import quat_slerp, quat_to_matrix
from motion_lib.skeleton import (
    ANKLE_ABOVE_SOLE,
    SMPL_JOINT_NAMES,
    TOE_ABOVE_SOLE,
    Skeleton,
    smplx_skeleton,
)
from motion_lib.subject_scale import fit_subject_scale, scale_travel
from motion_lib.treadmill import fit_treadmill, off_treadmill

SMPL_TO_CANONICAL = Rotation.from_quat([0.5, 0.5, 0.5, 0.5])
"""Rotation from SMPL body axes (y up, z forward) to the project's body axes (z up, x forward)."""
Y_UP_TO_Z_UP = Rotation.from_euler("x", 90, degrees=True)
"""World rotation taking a y-up file (Inter-X, InterGen, SMPL's own frame) to the z-up world."""
UP_AXES = ("y", "z")
FLOOR_FIX_FRAMES = 10
"""The floor fix lifts or lowers a clip so the lowest point of its first frames is at z = 0."""


def world_rotation(up: str) -> Rotation:
    """The rotation taking a file's world frame (`up` = "y" or "z") to the project's z-up world."""
    if up not in UP_AXES:
        raise UserInputError(f"unknown up axis '{up}'; expected one of {UP_AXES}")
    return Y_UP_TO_Z_UP if up == "y" else Rotation.identity()


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    return np.asarray(q)[..., [1, 2, 3, 0]]


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    return np.asarray(q)[..., [3, 0, 1, 2]]


def rotations_to_wxyz(rot: Rotation, shape: tuple[int, ...]) -> np.ndarray:
    """A flat scipy Rotation as (*shape, 4) quaternions (w, x, y, z) with w >= 0."""
    q = xyzw_to_wxyz(rot.as_quat()).reshape(*shape, 4)
    return np.where(q[..., :1] < 0, -q, q)


def wxyz_to_rotations(q: np.ndarray) -> Rotation:
    """(..., 4) quaternions (w, x, y, z) as one flat scipy Rotation."""
    return Rotation.from_quat(wxyz_to_xyzw(np.asarray(q, dtype=np.float64)).reshape(-1, 4))


def source_joint_names(layout: str) -> tuple[str, ...]:
    """Joint names by index in a body model's pose vector: "smpl" (24 joints) or "smplx" (55)."""
    if layout == "smpl":
        return SMPL_JOINT_NAMES
    if layout == "smplx":
        names = list(SMPL_JOINT_NAMES[:22]) + ["Jaw", "L_Eye", "R_Eye"] + [""] * 30
        skeleton = smplx_skeleton()
        for name, index in zip(skeleton.body_names, skeleton.source_index):
            if index >= 25:
                names[index] = name
        return tuple(names)
    raise UserInputError(f"unknown body-model layout '{layout}'; expected 'smpl' or 'smplx'")


def _joint_sources(skeleton: Skeleton, layout: str) -> list[int | None]:
    """For each non-root body of `skeleton`, its index in `layout`'s pose vector (None: not in the file)."""
    position = {name: i for i, name in enumerate(source_joint_names(layout))}
    return [position.get(name) for name in skeleton.body_names[1:]]


def pelvis_rest_offset(skeleton: Skeleton) -> np.ndarray:
    """(3,) J0: the pelvis rest position in SMPL's body-model frame (y up), from the skeleton's row 0."""
    return SMPL_TO_CANONICAL.inv().apply(skeleton.offsets[0])


def person_from_smpl_pose(
    pose_aa: np.ndarray, trans: np.ndarray, layout: str, skeleton: Skeleton, up: str
) -> PersonMotion:
    """A person from SMPL(-X) axis-angle poses.

    Args:
        pose_aa: (T, J, 3) axis-angle per joint in `layout`'s joint order (J = 24 for "smpl",
            55 for "smplx"; a shorter J keeps the leading joints, the others are at rest).
            Joint 0 is the root orientation in the file's world frame.
        trans: (T, 3) the body model's translation in the file's world frame.
        layout: "smpl" or "smplx": the joint order of `pose_aa`.
        skeleton: the target skeleton; its bodies missing from the file (e.g. SMPL's hands in an
            SMPL-X file, or fingers in an SMPL file) stay at rest.
        up: the file's up axis, "y" or "z".
    """
    frames, num_source = pose_aa.shape[:2]
    world = world_rotation(up)
    root = world * Rotation.from_rotvec(pose_aa[:, 0]) * SMPL_TO_CANONICAL.inv()
    joint_rot = np.zeros((frames, skeleton.num_joints, 4))
    joint_rot[..., 0] = 1.0
    for j, index in enumerate(_joint_sources(skeleton, layout)):
        if index is not None and index < num_source:
            local = SMPL_TO_CANONICAL * Rotation.from_rotvec(pose_aa[:, index]) * SMPL_TO_CANONICAL.inv()
            joint_rot[:, j] = rotations_to_wxyz(local, (frames,))
    root_pos = world.apply(trans + pelvis_rest_offset(skeleton))
    return PersonMotion(root_pos=root_pos, root_rot=rotations_to_wxyz(root, (frames,)), joint_rot=joint_rot)


def smpl_pose_from_person(person: PersonMotion, skeleton: Skeleton, layout: str) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of `person_from_smpl_pose` for a z-up file: (pose_aa (T, J, 3), trans (T, 3))."""
    frames = person.root_pos.shape[0]
    names = source_joint_names(layout)
    pose_aa = np.zeros((frames, len(names), 3))
    pose_aa[:, 0] = (wxyz_to_rotations(person.root_rot) * SMPL_TO_CANONICAL).as_rotvec()
    for j, index in enumerate(_joint_sources(skeleton, layout)):
        if index is not None:
            local = SMPL_TO_CANONICAL.inv() * wxyz_to_rotations(person.joint_rot[:, j]) * SMPL_TO_CANONICAL
            pose_aa[:, index] = local.as_rotvec()
    return pose_aa, person.root_pos - pelvis_rest_offset(skeleton)


def global_rotations(person: PersonMotion, skeleton: Skeleton) -> np.ndarray:
    """(T, B, 4) body-to-world quaternions (w, x, y, z) of every body, canonical order."""
    frames = person.root_pos.shape[0]
    global_rot = [wxyz_to_rotations(person.root_rot)]
    for j, parent in enumerate(skeleton.parents[1:]):
        global_rot.append(global_rot[parent] * wxyz_to_rotations(person.joint_rot[:, j]))
    return np.stack([rotations_to_wxyz(r, (frames,)) for r in global_rot], axis=1)


def local_rotations(global_rot: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Split (T, B, 4) body-to-world quaternions into root rotation (T, 4) and joint rotations (T, B-1, 4)."""
    frames = global_rot.shape[0]
    parents = np.asarray(skeleton.parents[1:])
    parent_rot = wxyz_to_rotations(global_rot[:, parents])
    local = parent_rot.inv() * wxyz_to_rotations(global_rot[:, 1:])
    return (rotations_to_wxyz(wxyz_to_rotations(global_rot[:, 0]), (frames,)),
            rotations_to_wxyz(local, (frames, skeleton.num_joints)))


def resample(person: PersonMotion, source_fps: float, target_fps: float) -> PersonMotion:
    """The motion at `target_fps`: every k-th frame when the ratio is an integer, else interpolated
    (positions linearly, rotations by slerp)."""
    frames = person.root_pos.shape[0]
    ratio = source_fps / target_fps
    if abs(ratio - round(ratio)) < 1e-6 and round(ratio) >= 1:
        step = round(ratio)
        return PersonMotion(person.root_pos[::step], person.root_rot[::step], person.joint_rot[::step])
    duration = (frames - 1) / source_fps
    position = np.arange(int(np.floor(duration * target_fps + 1e-9)) + 1) * ratio
    f0 = np.minimum(np.floor(position).astype(int), frames - 1)
    f1 = np.minimum(f0 + 1, frames - 1)
    alpha = position - f0

    def slerp(q: np.ndarray) -> np.ndarray:
        q0, q1 = torch.as_tensor(q[f0]), torch.as_tensor(q[f1])
        t = torch.as_tensor(alpha).reshape(-1, *([1] * (q.ndim - 1)))
        return quat_slerp(q0, q1, t).numpy()

    root_pos = person.root_pos[f0] + alpha[:, None] * (person.root_pos[f1] - person.root_pos[f0])
    return PersonMotion(root_pos, slerp(person.root_rot), slerp(person.joint_rot))


def body_positions(person: PersonMotion, skeleton: Skeleton) -> np.ndarray:
    """(T, B, 3) world positions of every body (joint) by forward kinematics."""
    fk = ForwardKinematics(skeleton, dtype=torch.float64)
    pos, _ = fk.poses(torch.as_tensor(person.root_pos, dtype=torch.float64),
                      quat_to_matrix(torch.as_tensor(person.root_rot, dtype=torch.float64)),
                      quat_to_matrix(torch.as_tensor(person.joint_rot, dtype=torch.float64)))
    return pos.numpy()


def lowest_point(positions: np.ndarray, skeleton: Skeleton, ignore: tuple[str, ...] = ()) -> np.ndarray:
    """(T,) height of the lowest point of a body per frame: the soles under ankles and toes, and the surface of
    everything above them (`capsules.lowest_capsule_bottom`: a knee, a hip or a chest down on the floor touches it
    with its surface, not with its joint's centre); the segments of `ignore` and below (hands, toes whose pose is not
    known) left out. `positions`: (T, B, 3)."""
    soles = np.min([positions[:, skeleton.index(name), 2] - (ANKLE_ABOVE_SOLE if name.endswith("Ankle") else TOE_ABOVE_SOLE)
                    for name in skeleton.foot_body_names], axis=0)
    return np.minimum(soles, lowest_capsule_bottom(positions, skeleton, ignore))


def floor_fix(persons: list[PersonMotion], skeleton: Skeleton, frames: int = FLOOR_FIX_FRAMES,
              ignore: tuple[str, ...] = ()) -> list[PersonMotion]:
    """Shift all persons by one height so the lowest point over the first `frames` frames is at z = 0
    (one shift for everyone keeps the people's relative placement; `ignore`: as `lowest_point`'s)."""
    first = [PersonMotion(p.root_pos[:frames], p.root_rot[:frames], p.joint_rot[:frames]) for p in persons]
    lowest = min(lowest_point(body_positions(p, skeleton), skeleton, ignore).min() for p in first)
    lift = np.array([0.0, 0.0, -lowest])
    return [PersonMotion(p.root_pos + lift, p.root_rot, p.joint_rot) for p in persons]


SNAP_SPEED = 20.0
"""m/s: a body moving faster than this between the first frames of a capture is a snap, not motion (the reference
frame some exporters put first, e.g. the T-pose of the CMU database's BVH conversions: 92 m/s at its wrists)."""
SNAP_RATIO = 10.0
"""A snap is also more than this many times the median speed over the first frames (so a capture jittery throughout
keeps its frames)."""
MAX_SNAP_FRAMES = 10
"""At most this many leading frames are dropped as snaps (the median is taken over one more)."""


def drop_leading_snaps(persons: list[PersonMotion], skeleton: Skeleton, fps: float) -> tuple[list[PersonMotion], int]:
    """The persons without their leading snaps: the frames from the first on, each followed by a jump of some body at
    over `SNAP_SPEED` and `SNAP_RATIO` times the median to the next frame (at most `MAX_SNAP_FRAMES`), and how many
    were dropped. A snap later on is left to the tracking (it may be motion); frames that are not finite are left
    to the clip's validation, which names them."""
    head = min(MAX_SNAP_FRAMES + 1, persons[0].root_pos.shape[0])
    speeds = np.max([np.linalg.norm(np.diff(body_positions(PersonMotion(p.root_pos[:head], p.root_rot[:head],
                                                                        p.joint_rot[:head]), skeleton), axis=0),
                                    axis=2).max(axis=1) for p in persons], axis=0) * fps  # (head - 1,)
    snap = (speeds > SNAP_SPEED) & (speeds > SNAP_RATIO * np.median(speeds))  # NaN: no snap
    dropped = len(snap) if snap.all() else int(np.argmin(snap))  # the snaps from the first frame on
    return [PersonMotion(p.root_pos[dropped:], p.root_rot[dropped:], p.joint_rot[dropped:]) for p in persons], dropped


def finish_clip(
    name: str, persons: list[PersonMotion], source_fps: float, skeleton: Skeleton, target_fps: float,
    source: dict, fix_floor: bool, where: object, fit_scale: bool = False, drop_snaps: bool = True,
    treadmill_to_ground: bool = False,
) -> Clip:
    """Optionally drop leading snap frames (`drop_snaps`: `drop_leading_snaps`, counted as
    `source["leading_frames_dropped"]`), resample, optionally give a one-person capture on a treadmill the belt's
    travel (`treadmill_to_ground`: `motion_lib.treadmill`, recorded as `source["treadmill"]` when found), optionally
    rescale the root travel to the skeleton's size (`fit_scale`: `motion_lib.subject_scale`, the fit recorded as
    `source["subject_scale"]`), optionally floor-fix, and validate: the last step of every reader.
    Errors name `where` (the file); the frame rates and the duration are checked before resampling allocates
    anything."""
    source_fps = frame_rate(source_fps, "the source frame rate", where)
    target_fps = frame_rate(target_fps, "the target frame rate (stage.fps)", where)
    require_duration(require_frames(persons[0].root_pos.shape[0], where), source_fps, where)
    persons, dropped = drop_leading_snaps(persons, skeleton, source_fps) if drop_snaps else (persons, 0)
    frames = persons[0].root_pos.shape[0]
    if dropped:
        source = {**source, "leading_frames_dropped": dropped}
        if frames < MIN_FRAMES:
            raise UserInputError(f"{where}: its first {dropped} frames jump at over {SNAP_SPEED:g} m/s (snaps, "
                                 f"dropped) and {frames} frame is left, less than the {MIN_FRAMES} a clip needs")
    if (frames - 1) / source_fps * target_fps < MIN_FRAMES - 1 - 1e-9:
        raise UserInputError(f"{where}: {frames} frames at {source_fps:g} fps last {(frames - 1) / source_fps:g} s, "
                             f"less than the {MIN_FRAMES} frames a clip needs at {target_fps:g} fps (stage.fps)")
    persons = [resample(p, source_fps, target_fps) for p in persons]
    clip = Clip(name=name, fps=target_fps, skeleton=skeleton.name, persons=persons,
                source={**source, "source_fps": source_fps})
    clip.validate(str(where))  # bad frames are reported before forward kinematics could spread them
    if treadmill_to_ground and len(clip.persons) == 1:
        (person,) = clip.persons
        fit = fit_treadmill(person, body_positions(person, skeleton), skeleton, target_fps)
        if fit.applied:
            walked = off_treadmill(person, fit.belt_velocity, target_fps)
            if np.abs(walked.root_pos).max() <= MAX_POSITION_M:
                clip.persons = [walked]
                clip.source["treadmill"] = fit.as_source()
            else:  # hours on the belt: the travel would leave the positions a clip may hold
                clip.source["treadmill"] = {**fit.as_source(), "applied": False,
                                            "reason": f"the belt's travel would pass {MAX_POSITION_M:g} m: kept as read"}
    if fit_scale:
        fit = fit_subject_scale(clip.persons, [body_positions(p, skeleton) for p in clip.persons], skeleton,
                                target_fps)
        clip.source["subject_scale"] = fit.as_source()
        if fit.applied:
            clip.persons = scale_travel(clip.persons, 1.0 / fit.factor)
    if fix_floor:
        clip.persons = floor_fix(clip.persons, skeleton)
        clip.validate(str(where))
    return clip
