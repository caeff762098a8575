"""Analytic two-bone IK, exact and vectorised over frames: legs and arms placed at world targets
(planted feet, reaching hands), and the small rotation/frame helpers they use.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.formats.common import body_positions, global_rotations, rotations_to_wxyz, wxyz_to_rotations
from motion_lib.skeleton import Skeleton

_ARM_SOFT = 0.95  # arms straighten smoothly towards out-of-reach targets (`limb_ik` soft)
ELBOW_AXIS = {"L": (0.0, 0.0, -1.0), "R": (0.0, 0.0, 1.0)}
"""Rest flexion axis of the elbows."""
KNEE_AXIS = (0.0, 1.0, 0.0)
"""Rest flexion axis of the knees."""
SIDE_SIGN = {"L": 1.0, "R": -1.0}
"""+1 for the left side (+y at rest), -1 for the right."""


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def basis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3, 3) orthonormal columns: a, the part of b orthogonal to a, and their cross product."""
    e1 = unit(a)
    e2 = unit(b - (b * e1).sum(-1, keepdims=True) * e1)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def aligning_rotation(rest_a, rest_b, a: np.ndarray, b: np.ndarray) -> Rotation:
    """The rotations (T) taking direction rest_a to a (exactly) and rest_b towards b."""
    rest = basis(np.broadcast_to(rest_a, np.shape(a)), np.broadcast_to(rest_b, np.shape(b)))
    return Rotation.from_matrix(basis(a, b) @ np.swapaxes(rest, -1, -2))


def set_local(person: PersonMotion, skeleton: Skeleton, name: str, rot: Rotation) -> None:
    person.joint_rot[:, skeleton.index(name) - 1] = rotations_to_wxyz(rot, (len(person.root_pos),))


def limb_ik(person: PersonMotion, skeleton: Skeleton, upper: str, target: np.ndarray, pole: np.ndarray,
            bend_axis, end_rot: Rotation | None = None, soft: float = 1.0) -> PersonMotion:
    """Place the end of a two-bone limb (hip-knee-ankle, shoulder-elbow-wrist) at `target`.

    Args:
        upper: the limb's first body (e.g. "L_Hip"); its child bends, its grandchild is the end.
        target: (T, 3) world position of the end joint (clamped to the limb's reach).
        pole: (T, 3) world direction the middle joint points to, away from the upper-end line.
        bend_axis: (3,) the middle joint's flexion axis in the rest pose (knee +y, elbows -+z).
        end_rot: (T) body-to-world rotation of the end body; None keeps its local rotation.
        soft: beyond this fraction of the limb's length, the reach approaches the full length
            smoothly (exponentially) instead of stopping at it, so that an out-of-reach target
            does not snap the middle joint straight; 1 = exact up to the full length.
    Returns a copy of `person` with the three local rotations replaced.
    """
    person = PersonMotion(person.root_pos, person.root_rot, person.joint_rot.copy())
    i_upper = skeleton.index(upper)
    (i_mid,) = skeleton.children[i_upper]
    (i_end,) = skeleton.children[i_mid]
    parent_rot = wxyz_to_rotations(global_rotations(person, skeleton)[:, skeleton.parents[i_upper]])
    origin = body_positions(person, skeleton)[:, i_upper]
    off1, off2 = skeleton.offsets[i_mid], skeleton.offsets[i_end]
    l1, l2 = np.linalg.norm(off1), np.linalg.norm(off2)
    to_target = target - origin
    dist, full, knee = np.linalg.norm(to_target, axis=-1), l1 + l2, soft * (l1 + l2)
    if soft < 1.0:
        far = dist > knee
        dist[far] = knee + (full - knee) * (1.0 - np.exp(-(dist[far] - knee) / (full - knee)))
    dist = np.clip(dist, abs(l1 - l2) + 1e-4, full - 1e-4)[:, None]
    u = unit(to_target)
    side = basis(u, pole)[..., 1]
    cos_a = (l1**2 + dist**2 - l2**2) / (2 * l1 * dist)
    mid = origin + l1 * (cos_a * u + np.sqrt(1 - cos_a**2) * side)
    end = origin + dist * u
    upper_rot = aligning_rotation(off1, bend_axis, mid - origin, np.cross(side, u))
    lower_dir = upper_rot.apply(off2)
    swing = unit(np.cross(lower_dir, end - mid))
    angle = np.arctan2(np.linalg.norm(np.cross(lower_dir, end - mid), axis=-1), (lower_dir * (end - mid)).sum(-1))
    mid_rot = Rotation.from_rotvec(swing * angle[:, None]) * upper_rot
    set_local(person, skeleton, upper, parent_rot.inv() * upper_rot)
    set_local(person, skeleton, skeleton.body_names[i_mid], upper_rot.inv() * mid_rot)
    if end_rot is not None:
        set_local(person, skeleton, skeleton.body_names[i_end], mid_rot.inv() * end_rot)
    return person


def ankle_height(skeleton: Skeleton, side: str) -> float:
    """Height of the ankle joint above the floor with the foot flat on it (metres)."""
    return float(skeleton.rest_positions[skeleton.index(f"{side}_Ankle"), 2] + skeleton.standing_root_height)


def plant_feet(person: PersonMotion, skeleton: Skeleton, feet: dict[str, tuple[np.ndarray, np.ndarray]]) -> PersonMotion:
    """Put each foot flat at its place: feet[side] = (ankle position (T, 3), foot yaw (T,) radians)."""
    for side, (ankle, yaw) in feet.items():
        heading = Rotation.from_euler("z", yaw[:, None])
        pole = heading.apply([1.0, 0.1 * SIDE_SIGN[side], 1.0])
        person = limb_ik(person, skeleton, f"{side}_Hip", ankle, pole, KNEE_AXIS, end_rot=heading)
    return person


def standing_feet(skeleton: Skeleton, times: np.ndarray, x: float, y: float, yaw_deg: float,
                  width: float = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both feet planted for the whole clip: the rest stance (plus `width` metres apart) at (x, y), turned by yaw."""
    heading = Rotation.from_euler("z", yaw_deg, degrees=True)
    feet = {}
    for side in "LR":
        rest = skeleton.rest_positions[skeleton.index(f"{side}_Ankle")]
        local = np.array([rest[0], rest[1] + SIDE_SIGN[side] * width / 2, 0.0])
        ankle = np.array([x, y, ankle_height(skeleton, side)]) + heading.apply(local)
        feet[side] = (np.tile(ankle, (len(times), 1)), np.full(len(times), np.radians(yaw_deg)))
    return feet


def reach(person: PersonMotion, skeleton: Skeleton, side: str, wrist: np.ndarray, pole: np.ndarray,
          wrist_rot: Rotation | None = None) -> PersonMotion:
    """Put the `side` wrist joint at `wrist` (T, 3) with the elbow towards `pole` (T, 3)."""
    return limb_ik(person, skeleton, f"{side}_Shoulder", wrist, pole, ELBOW_AXIS[side], end_rot=wrist_rot, soft=_ARM_SOFT)


def blend_rotations(a: Rotation, b: Rotation, weight: np.ndarray) -> Rotation:
    """Per-frame slerp from a (weight 0) to b (weight 1)."""
    return a * Rotation.from_rotvec((a.inv() * b).as_rotvec() * weight[:, None])


def heading_axes(person: PersonMotion) -> np.ndarray:
    """(T, 3, 3) the person's heading frame (root yaw only): columns forward, left, up."""
    yaw = wxyz_to_rotations(person.root_rot).as_euler("ZYX")[:, 0]
    return Rotation.from_euler("z", yaw[:, None]).as_matrix()


def elbow_pole(person: PersonMotion, side: str, down: float = 1.0, out: float = 0.6, back: float = 0.3) -> np.ndarray:
    """(T, 3) elbows pointing down, outwards and back in the person's heading frame."""
    return heading_axes(person) @ np.array([-back, out * SIDE_SIGN[side], -down])


def up_across(direction: np.ndarray) -> np.ndarray:
    """(T, 3) unit vector: world up made orthogonal to `direction` (T, 3)."""
    return basis(direction, np.broadcast_to([0.0, 0.0, 1.0], direction.shape))[..., 1]
