"""Feet: the sole geometry (the humanoid's foot boxes), feet placed by leg IK with a foot pitch and
a flat toe, and the highest pelvis that lets both legs reach their feet.

A foot pose is its ankle position, yaw and pitch (+ heel up / toes down, about the foot's own
lateral axis) and the toe joint's flexion. Rolling over the heel or the ball keeps that point fixed:
`pivot_pose` turns a flat foot about a point of it.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter1d, minimum_filter1d
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.families.common import min_jerk
from motion_lib.formats.common import rotations_to_wxyz
from motion_lib.keyframes.limbs import KNEE_AXIS, SIDE_SIGN, limb_ik
from motion_lib.skeleton import ANKLE_ABOVE_SOLE, TOE_ABOVE_SOLE, Skeleton

HEEL_X = -0.05
"""The heel: the back of the foot box, this far behind the ankle joint (metres, foot frame)."""
LEG_REACH = 0.99
"""Hip-to-ankle distance at most this fraction of the leg's length: the knee keeps ~10 degrees of flexion."""
SOFT_REACH = 0.92
"""An airborne foot farther from its hip than this fraction of the leg's length is pulled in (`pull_into_reach`)."""
EASE_FRAMES = 4
"""Frames over which that pull eases in after a lift-off and out before a touch-down (`airborne_feet_in_reach`)."""


def toe_offset(skel: Skeleton, side: str) -> np.ndarray:
    """(3,) the toe joint in the ankle's frame (metres)."""
    return skel.offsets[skel.index(f"{side}_Toe")]


def heel_point(skel: Skeleton, side: str) -> np.ndarray:
    """(3,) the sole under the heel in the ankle's frame."""
    return np.array([HEEL_X, toe_offset(skel, side)[1] / 2, -ANKLE_ABOVE_SOLE])


def ball_point(skel: Skeleton, side: str) -> np.ndarray:
    """(3,) the point the foot rolls over at push-off, in the ankle's frame: halfway between the toe
    joint and the sole below it, so that the foot box's front edge and the toe box each move by
    ~half the toe joint's height times the sine of the pitch (< 1 cm), instead of one of them by all of it."""
    toe = toe_offset(skel, side)
    return np.array([toe[0], toe[1], (toe[2] - ANKLE_ABOVE_SOLE) / 2])


def sole_points(skel: Skeleton, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Corners of the sole: (4, 3) of the foot box in the ankle frame, (2, 3) of the toe box's front
    in the toe frame (the humanoid's boxes, `assistmimic.mjcf.humanoid.body_geoms`)."""
    toe, half = toe_offset(skel, side), 0.045
    foot = np.array([[x, toe[1] / 2 + y, -ANKLE_ABOVE_SOLE] for x in (HEEL_X, toe[0]) for y in (-half, half)])
    tip = np.array([[0.06, y, -TOE_ABOVE_SOLE] for y in (-half, half)])
    return foot, tip


def foot_rotation(yaw: np.ndarray, pitch: np.ndarray) -> Rotation:
    """Ankle body-to-world rotations (T): yaw about z, then pitch (+ heel up) about the foot's y."""
    return Rotation.from_euler("ZY", np.stack([yaw, pitch], -1))


def pivot_pose(point_flat: np.ndarray, point_local: np.ndarray, yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """(T, 3) ankle positions of a foot turned by `pitch` about its point `point_local` (ankle frame),
    that point staying at its world position `point_flat` (T, 3)."""
    return point_flat - foot_rotation(yaw, pitch).apply(point_local)


def lowest_sole(skel: Skeleton, side: str, ankle: np.ndarray, yaw: np.ndarray, pitch: np.ndarray,
                toe_flex: np.ndarray) -> np.ndarray:
    """(T,) height of the lowest sole corner of a foot pose (toe_flex: toe joint angle about y, radians)."""
    foot, tip = sole_points(skel, side)
    rot = foot_rotation(yaw, pitch)
    toe_rot = rot * Rotation.from_euler("y", toe_flex[:, None])
    z = [ankle[:, 2] + rot.apply(p)[:, 2] for p in foot]
    toe_joint = ankle + rot.apply(toe_offset(skel, side))
    z += [toe_joint[:, 2] + toe_rot.apply(p)[:, 2] for p in tip]
    return np.min(z, axis=0)


def swing(skel: Skeleton, side: str, s: np.ndarray, start: tuple, end: tuple, clearance: float) -> tuple[np.ndarray, ...]:
    """A foot moving from pose `start` to pose `end` (each (ankle (3,), yaw, pitch, toe flexion)) at
    progress s (n,) in (0, 1): minimum-jerk, lifted by up to `clearance` (less for short steps) and
    raised wherever a sole corner would dip below the floor. Returns ankle (n, 3), yaw, pitch, toe (n,)."""
    (a0, y0, p0, q0), (a1, y1, p1, q1) = start, end
    m = min_jerk(s)
    length = np.linalg.norm(np.asarray(a1)[:2] - np.asarray(a0)[:2])
    ankle = a0 + m[:, None] * (np.asarray(a1) - a0)
    ankle[:, 2] += min(clearance, 0.03 + 0.1 * length) * np.sin(np.pi * s) ** 1.5
    pitch = p0 + (p1 - p0) * min_jerk(1.3 * s)
    toe = q0 * (1.0 - min_jerk(2.5 * s)) + q1 * min_jerk(2.5 * s - 1.5)
    yaw = y0 + np.angle(np.exp(1j * (y1 - y0))) * min_jerk(1.2 * s)
    low = lowest_sole(skel, side, ankle, yaw, pitch, toe)
    ankle[:, 2] += np.maximum(0.0, 0.004 * np.sin(np.pi * s) - low)
    return ankle, yaw, pitch, toe


def place_feet(person: PersonMotion, skel: Skeleton, feet: dict[str, tuple], poles: dict[str, np.ndarray] | None = None) -> PersonMotion:
    """Legs by IK: feet[side] = (ankle (T, 3), yaw (T,), pitch (T,), toe flexion (T,)) in radians.
    The knee points forward along the foot's yaw, and upwards as far as the leg itself points forward
    (sitting, lying on the back): the pole is never along the leg. `poles` {side: (T, 3)}: where the knees point
    instead (world directions, e.g. down when lying face down or on hands and knees)."""
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    for side, (ankle, yaw, pitch, toe_flex) in feet.items():
        heading = Rotation.from_euler("z", yaw[:, None])
        forward = heading.apply([1.0, 0.1 * SIDE_SIGN[side], 0.0])
        hip = person.root_pos + root_rot.apply(skel.offsets[skel.index(f"{side}_Hip")])
        leg = (ankle - hip) / np.maximum(np.linalg.norm(ankle - hip, axis=-1, keepdims=True), 1e-9)
        pole = forward + 2.0 * np.maximum((leg * forward).sum(-1), 0.0)[:, None] * np.array([0.0, 0.0, 1.0])
        if poles is not None and side in poles:
            pole = poles[side]
        person = limb_ik(person, skel, f"{side}_Hip", ankle, pole, KNEE_AXIS, end_rot=foot_rotation(yaw, pitch))
        person.joint_rot[:, skel.index(f"{side}_Toe") - 1] = rotations_to_wxyz(
            Rotation.from_euler("y", toe_flex[:, None]), (len(ankle),))
    return person


def leg_length(skel: Skeleton, side: str) -> float:
    knee, ankle = skel.index(f"{side}_Knee"), skel.index(f"{side}_Ankle")
    return float(np.linalg.norm(skel.offsets[knee]) + np.linalg.norm(skel.offsets[ankle]))


def reachable_height(skel: Skeleton, root_xy: np.ndarray, root_rot: Rotation, ankles: dict[str, np.ndarray],
                     planted: dict[str, np.ndarray], reach: float = LEG_REACH) -> np.ndarray:
    """(T,) the highest pelvis height at which each hip is within `reach` leg lengths of its ankle
    target while that foot is `planted` (T,) bool, smoothed so that it never exceeds the exact limit
    by more than a millimetre or so; 10 m where no foot is planted."""
    limit = np.full(len(root_xy), 10.0)
    for side, ankle in ankles.items():
        hip = root_rot.apply(skel.offsets[skel.index(f"{side}_Hip")])
        horizontal = np.linalg.norm(root_xy + hip[:, :2] - ankle[:, :2], axis=-1)
        length = reach * leg_length(skel, side)
        vertical = np.sqrt(np.maximum(length**2 - horizontal**2, 0.04))
        limit = np.where(planted[side], np.minimum(limit, ankle[:, 2] + vertical - hip[:, 2]), limit)
    return gaussian_filter1d(minimum_filter1d(limit, size=7, mode="nearest"), sigma=1.0, mode="nearest")


def pull_into_reach(skel: Skeleton, side: str, person_root: np.ndarray, root_rot: Rotation, ankle: np.ndarray,
                    soft: float | np.ndarray = SOFT_REACH, reach: float = LEG_REACH) -> np.ndarray:
    """(T, 3) `ankle` moved towards the hip where it is farther than `soft` leg lengths (a number or one per frame,
    (T,)): the distance approaches `reach` leg lengths smoothly (a swing foot that cannot stay behind follows the
    leg); where `soft` is `reach`, only what lies beyond `reach` is taken in."""
    hip = person_root + root_rot.apply(skel.offsets[skel.index(f"{side}_Hip")])
    offset = ankle - hip
    dist = np.linalg.norm(offset, axis=-1)
    knee = np.broadcast_to(np.asarray(soft) * leg_length(skel, side), dist.shape)
    full = reach * leg_length(skel, side)
    far = dist > knee
    width = np.maximum(full - knee[far], 1e-9)
    new = dist.copy()
    new[far] = knee[far] + width * (1.0 - np.exp(-(dist[far] - knee[far]) / width))
    return hip + offset * (new / np.maximum(dist, 1e-9))[:, None]


def airborne_feet_in_reach(skel: Skeleton, side: str, person_root: np.ndarray, root_rot: Rotation,
                           ankle: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """(T, 3) a foot's `ankle` targets kept where `planted` (T,) bool, elsewhere pulled into the leg's reach
    (`pull_into_reach`) by a pull that eases in over `EASE_FRAMES` after each lift-off and out before each
    touch-down: next to a planted frame only what lies beyond `LEG_REACH` is taken in, the limit a planted leg
    keeps (`reachable_height`), so the foot does not jump (by ~3.5 cm, the knee by 10-20 degrees for one frame)
    where it leaves the floor or lands."""
    if planted.all():
        return ankle
    frames_away = distance_transform_edt(~planted) if planted.any() else np.full(len(planted), np.inf)
    soft = LEG_REACH - (LEG_REACH - SOFT_REACH) * min_jerk(frames_away / EASE_FRAMES)
    pulled = pull_into_reach(skel, side, person_root, root_rot, ankle, soft=soft)
    return np.where(planted[:, None], ankle, pulled)


def soft_min(a: np.ndarray, b: np.ndarray, softness: float = 0.01) -> np.ndarray:
    """A smooth minimum, never above min(a, b)."""
    return -softness * np.logaddexp(-a / softness, -b / softness)


def falling_no_faster(height: np.ndarray, fps: float, accel: float) -> np.ndarray:
    """(T,) the highest curve at or below `height` (T,) (sampled at `fps`) that never accelerates downwards faster
    than `accel` (m/s²): `height` + accel·t²/2 replaced by its lower convex hull, less accel·t²/2. A pelvis that must
    drop to where its legs reach starts dropping earlier instead of faster than it could fall."""
    t = np.arange(len(height)) / fps
    lifted = height + 0.5 * accel * t**2
    hull: list[int] = []
    for i in range(len(t)):  # the lower hull, left to right (monotone chain)
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (t[b] - t[a]) * (lifted[i] - lifted[a]) - (lifted[b] - lifted[a]) * (t[i] - t[a]) > 0:
                break
            hull.pop()
        hull.append(i)
    return np.interp(t, t[hull], lifted[hull]) - 0.5 * accel * t**2


def flat_feet(skel: Skeleton, frames: int, x: float, y: float, yaw_deg: float, width: float = 0.0,
              toe_out: float = 0.0, forward: float = 0.0) -> dict[str, tuple]:
    """Both feet flat and still for `frames` frames: the rest stance `width` metres wider, centred at
    (x, y), turned by `yaw_deg`, each foot turned out by `toe_out` degrees and `forward` metres ahead."""
    heading = Rotation.from_euler("z", yaw_deg, degrees=True)
    feet = {}
    for side in "LR":
        rest = skel.rest_positions[skel.index(f"{side}_Ankle")]
        local = np.array([rest[0] + forward, rest[1] + SIDE_SIGN[side] * width / 2, 0.0])
        ankle = np.array([x, y, float(rest[2] + skel.standing_root_height)]) + heading.apply(local)
        yaw = np.radians(yaw_deg + SIDE_SIGN[side] * toe_out)
        feet[side] = (np.tile(ankle, (frames, 1)), np.full(frames, yaw), np.zeros(frames), np.zeros(frames))
    return feet


def stand_on(person: PersonMotion, skel: Skeleton, feet: dict[str, tuple], poles: dict[str, np.ndarray] | None = None) -> PersonMotion:
    """`person` with its legs on planted `feet` (see `place_feet`, also for `poles`), the pelvis lowered (smoothly)
    where it is too high for a leg to reach its foot."""
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    limit = reachable_height(skel, person.root_pos[:, :2], root_rot, {s: f[0] for s, f in feet.items()},
                             {s: np.ones(len(f[0]), bool) for s, f in feet.items()})
    root = person.root_pos.copy()
    root[:, 2] = soft_min(root[:, 2], limit, softness=0.005)
    return place_feet(PersonMotion(root, person.root_rot, person.joint_rot), skel, feet, poles)
