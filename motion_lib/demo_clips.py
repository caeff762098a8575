"""The built-in demo clips: two assisted rises (supporter = person 0, recipient = person 1) and three
single-person clips for the motion prior, SMPL skeleton, 30 fps.

Every clip is a pure function of the keyframes below (no randomness):
1. Keyframes give each person's pelvis position, root orientation (yaw, pitch, roll) and joint
   angles (intrinsic x-y-z Euler angles in degrees, local to the parent, in the z-up canonical body
   frames). Channels a key leaves out keep the previous key's value. They are interpolated per
   channel with monotone cubic (PCHIP) curves: no overshoot, holds stay exactly still, velocities
   are continuous.
2. Analytic two-bone IK (exact and vectorised over frames, so `motion_lib.ik` is not needed)
   corrects the limbs: planted feet (ankle position and flat foot fixed on the floor), the
   recipient's hands at a grip point between the two persons, and the supporter's hands on the
   recipient's forearms or back (targets from the recipient's forward kinematics). Hands blend
   from their keyframed place to their target with minimum-jerk weights.

Joint angle signs (checked with forward kinematics): knee flexion +y (the foot moves back), hip
flexion -y (the thigh moves forward and up), trunk and root pitch +y lean forward, the left shoulder
-x / right shoulder +x lower the arms from the T-pose, the left elbow -z / right elbow +z flex.

Scenery: the floor (z = 0) everywhere, and a chair (`CHAIR`) in the chair clips; the chair is not
part of the clip, its geometry is recorded in `Clip.source["chair"]`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.formats.common import body_positions, global_rotations, rotations_to_wxyz, wxyz_to_rotations
from motion_lib.skeleton import Skeleton, get_skeleton

FPS = 30.0
SKELETON = "smpl"
CHAIR = {
    "shape": "box",
    "size_m": (0.4445, 0.508, 0.4318),
    "center_m": (0.03, 0.0, 0.2159),
    "seat_height_m": 0.4318,
    "reference": "REFERENCE §4 public chair 0.4318 x 0.4445 x 0.508 m, the 0.4318 m side as seat height",
}
"""The chair of the chair clips: a box (extents along x = depth, y = width, z = height) whose top is
the seat; the person sits on it facing +x. The 0.4318 m seat puts this skeleton's thighs horizontal
with the feet flat on the floor (knee joint 0.48 m high); seated, the hip joints are a thigh radius
(0.07 m) above the seat and the pelvis joint 0.16 m above it (0.59 m)."""

# Grip geometry (metres): the supporter's hand rests on the recipient's forearm, the two axes
# this far apart (forearm radius 0.038 + wrist radius 0.03 + ~0.7 cm).
_GRIP_SEPARATION = 0.075
# The supporter's palm on the recipient's back: hand axis this far from the back capsule's axis
# (spine radius 0.09 + hand radius 0.025 + 0.5 cm).
_BACK_SEPARATION = 0.12
# The recipient's hand flexes this far (radians) towards the palm around the supporter's wrist; the
# supporter's hands arrive at the recipient from this far (metres) off the surface they land on.
_CURL = np.radians(40.0)
_HOVER = 0.15
_GRIP_SMOOTH = 0.005  # m^2: softness of the grip point's drop in `reach_for_grip`
_PALM_CENTRE = 0.075  # wrist joint to the middle of the hand capsule (metres)
_HOLD_FROM_WRIST = 0.06  # the supporter holds the recipient's forearm this far from the wrist (metres)
_ARM_SOFT = 0.95  # arms straighten smoothly towards out-of-reach targets (`limb_ik` soft)
_ELBOW_AXIS = {"L": (0.0, 0.0, -1.0), "R": (0.0, 0.0, 1.0)}  # rest flexion axis of the elbows
_KNEE_AXIS = (0.0, 1.0, 0.0)
_SIDE_SIGN = {"L": 1.0, "R": -1.0}


# ----------------------------------------------------------------------------------------------
# Keyframes -> motion


@dataclass(frozen=True)
class Key:
    """One keyframe of one person. Channels left out keep the previous key's value (0 at the start);
    keys at the same time are merged, the later one winning."""

    t: float
    """Time (seconds)."""
    root: tuple[float, float, float] | None = None
    """Pelvis position, world frame (metres)."""
    facing: tuple[float, float, float] | None = None
    """Root yaw, pitch (+ leans forward), roll (degrees, intrinsic z-y-x)."""
    joints: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Joint name -> intrinsic x-y-z Euler angles (degrees) relative to the parent."""


def frame_times(duration: float) -> np.ndarray:
    """(T,) frame times (seconds) of a clip of `duration` seconds at `FPS`."""
    return np.arange(round(duration * FPS) + 1) / FPS


def animate(keys: list[Key], skeleton: Skeleton, times: np.ndarray) -> PersonMotion:
    """A person from keyframes, every channel interpolated with a PCHIP curve at `times` (T,)."""
    joints = skeleton.body_names[1:]
    table, times_of_keys, row = [], [], np.zeros(6 + 3 * len(joints))
    for key in keys:
        row = row.copy()
        if key.root is not None:
            row[0:3] = key.root
        if key.facing is not None:
            row[3:6] = key.facing
        for name, angles in key.joints.items():
            j = joints.index(name)
            row[6 + 3 * j: 9 + 3 * j] = angles
        if times_of_keys and key.t == times_of_keys[-1]:
            table[-1] = row  # keys at the same time are merged
        else:
            table.append(row)
            times_of_keys.append(key.t)
    values = PchipInterpolator(times_of_keys, np.stack(table), axis=0, extrapolate=True)(times)
    frames = len(times)
    root_rot = Rotation.from_euler("ZYX", values[:, 3:6], degrees=True)
    joint_rot = Rotation.from_euler("XYZ", values[:, 6:].reshape(-1, 3), degrees=True)
    return PersonMotion(values[:, 0:3], rotations_to_wxyz(root_rot, (frames,)),
                        rotations_to_wxyz(joint_rot, (frames, len(joints))))


def ramp(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """(T,) minimum-jerk step from 0 (before `start`) to 1 (after `end`)."""
    s = np.clip((times - start) / (end - start), 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


# ----------------------------------------------------------------------------------------------
# Two-bone IK


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _basis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3, 3) orthonormal columns: a, the part of b orthogonal to a, and their cross product."""
    e1 = _unit(a)
    e2 = _unit(b - (b * e1).sum(-1, keepdims=True) * e1)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def aligning_rotation(rest_a, rest_b, a: np.ndarray, b: np.ndarray) -> Rotation:
    """The rotations (T) taking direction rest_a to a (exactly) and rest_b towards b."""
    rest = _basis(np.broadcast_to(rest_a, np.shape(a)), np.broadcast_to(rest_b, np.shape(b)))
    return Rotation.from_matrix(_basis(a, b) @ np.swapaxes(rest, -1, -2))


def _set_local(person: PersonMotion, skeleton: Skeleton, name: str, rot: Rotation) -> None:
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
    u = _unit(to_target)
    side = _basis(u, pole)[..., 1]
    cos_a = (l1**2 + dist**2 - l2**2) / (2 * l1 * dist)
    mid = origin + l1 * (cos_a * u + np.sqrt(1 - cos_a**2) * side)
    end = origin + dist * u
    upper_rot = aligning_rotation(off1, bend_axis, mid - origin, np.cross(side, u))
    lower_dir = upper_rot.apply(off2)
    swing = _unit(np.cross(lower_dir, end - mid))
    angle = np.arctan2(np.linalg.norm(np.cross(lower_dir, end - mid), axis=-1), (lower_dir * (end - mid)).sum(-1))
    mid_rot = Rotation.from_rotvec(swing * angle[:, None]) * upper_rot
    _set_local(person, skeleton, upper, parent_rot.inv() * upper_rot)
    _set_local(person, skeleton, skeleton.body_names[i_mid], upper_rot.inv() * mid_rot)
    if end_rot is not None:
        _set_local(person, skeleton, skeleton.body_names[i_end], mid_rot.inv() * end_rot)
    return person


def ankle_height(skeleton: Skeleton, side: str) -> float:
    """Height of the ankle joint above the floor with the foot flat on it (metres)."""
    return float(skeleton.rest_positions[skeleton.index(f"{side}_Ankle"), 2] + skeleton.standing_root_height)


def plant_feet(person: PersonMotion, skeleton: Skeleton, feet: dict[str, tuple[np.ndarray, np.ndarray]]) -> PersonMotion:
    """Put each foot flat at its place: feet[side] = (ankle position (T, 3), foot yaw (T,) radians)."""
    for side, (ankle, yaw) in feet.items():
        heading = Rotation.from_euler("z", yaw[:, None])
        pole = heading.apply([1.0, 0.1 * _SIDE_SIGN[side], 1.0])
        person = limb_ik(person, skeleton, f"{side}_Hip", ankle, pole, _KNEE_AXIS, end_rot=heading)
    return person


def standing_feet(skeleton: Skeleton, times: np.ndarray, x: float, y: float, yaw_deg: float,
                  width: float = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Both feet planted for the whole clip: the rest stance (plus `width` metres apart) at (x, y), turned by yaw."""
    heading = Rotation.from_euler("z", yaw_deg, degrees=True)
    feet = {}
    for side in "LR":
        rest = skeleton.rest_positions[skeleton.index(f"{side}_Ankle")]
        local = np.array([rest[0], rest[1] + _SIDE_SIGN[side] * width / 2, 0.0])
        ankle = np.array([x, y, ankle_height(skeleton, side)]) + heading.apply(local)
        feet[side] = (np.tile(ankle, (len(times), 1)), np.full(len(times), np.radians(yaw_deg)))
    return feet


def reach(person: PersonMotion, skeleton: Skeleton, side: str, wrist: np.ndarray, pole: np.ndarray,
          wrist_rot: Rotation | None = None) -> PersonMotion:
    """Put the `side` wrist joint at `wrist` (T, 3) with the elbow towards `pole` (T, 3)."""
    return limb_ik(person, skeleton, f"{side}_Shoulder", wrist, pole, _ELBOW_AXIS[side], end_rot=wrist_rot, soft=_ARM_SOFT)


def blend_rotations(a: Rotation, b: Rotation, weight: np.ndarray) -> Rotation:
    """Per-frame slerp from a (weight 0) to b (weight 1)."""
    return a * Rotation.from_rotvec((a.inv() * b).as_rotvec() * weight[:, None])


def heading_axes(person: PersonMotion) -> np.ndarray:
    """(T, 3, 3) the person's heading frame (root yaw only): columns forward, left, up."""
    yaw = wxyz_to_rotations(person.root_rot).as_euler("ZYX")[:, 0]
    return Rotation.from_euler("z", yaw[:, None]).as_matrix()


def elbow_pole(person: PersonMotion, side: str, down: float = 1.0, out: float = 0.6, back: float = 0.3) -> np.ndarray:
    """(T, 3) elbows pointing down, outwards and back in the person's heading frame."""
    return heading_axes(person) @ np.array([-back, out * _SIDE_SIGN[side], -down])


def _up_across(direction: np.ndarray) -> np.ndarray:
    """(T, 3) unit vector: world up made orthogonal to `direction` (T, 3)."""
    return _basis(direction, np.broadcast_to([0.0, 0.0, 1.0], direction.shape))[..., 1]


def reach_for_grip(supporter: PersonMotion, recipient: PersonMotion, skeleton: Skeleton, weight: np.ndarray,
                   pairs: tuple[tuple[str, str], ...], arm_reach: float = 0.36) -> PersonMotion:
    """The recipient reaches towards the supporter: each recipient wrist moves to a grip point.

    For each (supporter side, recipient side) in `pairs` the grip point is halfway between the two
    shoulders, moved down across the shoulder line until each arm would span `arm_reach` metres when
    the shoulders are close (smoothly: the drop is sqrt(softplus(arm_reach^2 - half distance^2)). The recipient's wrist goes just below it, palm inwards (thumb up), the
    hand flexed towards the palm to wrap round the supporter's wrist (which `hold_forearm` puts on
    top). `weight` (T,) blends the wrists from their keyframed place (0) to the grip (1).
    Returns the new recipient.
    """
    index = skeleton.index
    s_pos, r_pos = body_positions(supporter, skeleton), body_positions(recipient, skeleton)
    r_rot = global_rotations(recipient, skeleton)
    for s_side, r_side in pairs:
        s_shoulder, r_shoulder = s_pos[:, index(f"{s_side}_Shoulder")], r_pos[:, index(f"{r_side}_Shoulder")]
        half = np.linalg.norm(s_shoulder - r_shoulder, axis=-1, keepdims=True) / 2
        drop = np.sqrt(_GRIP_SMOOTH * np.logaddexp(0.0, (arm_reach**2 - half**2) / _GRIP_SMOOTH))
        grip = (s_shoulder + r_shoulder) / 2 - drop * _up_across(s_shoulder - r_shoulder)
        arm = _unit(grip - r_shoulder)
        on_top = _up_across(arm)
        inwards = _basis(arm, -_SIDE_SIGN[r_side] * heading_axes(recipient)[:, :, 1])[..., 1]
        curled = np.cos(_CURL) * arm + np.sin(_CURL) * inwards
        hand_rot = aligning_rotation(skeleton.offsets[index(f"{r_side}_Hand")], [0.0, 0.0, -1.0], curled, inwards)
        wrist = index(f"{r_side}_Wrist")
        recipient = _blend_reach(recipient, skeleton, r_side, r_pos[:, wrist], wxyz_to_rotations(r_rot[:, wrist]),
                                 grip - on_top * _GRIP_SEPARATION / 2, hand_rot, weight)
    return recipient


def hold_forearm(supporter: PersonMotion, recipient: PersonMotion, skeleton: Skeleton, s_side: str, r_side: str,
                 weight: np.ndarray) -> PersonMotion:
    """The supporter's `s_side` palm on top of the recipient's `r_side` forearm just above the wrist,
    the hand continuing the supporter's arm as far as lying on the forearm allows; it comes down onto
    the forearm from above as `weight` (T,) goes from 0 (keyframed place) to 1. Returns the new supporter."""
    index = skeleton.index
    r_pos = body_positions(recipient, skeleton)
    r_wrist, r_elbow = r_pos[:, index(f"{r_side}_Wrist")], r_pos[:, index(f"{r_side}_Elbow")]
    along = _unit(r_elbow - r_wrist)
    on_top = _up_across(along)
    palm = r_wrist + _HOLD_FROM_WRIST * along + on_top * _GRIP_SEPARATION
    s_pos, s_rot = body_positions(supporter, skeleton), global_rotations(supporter, skeleton)
    fingers = _basis(on_top, palm - s_pos[:, index(f"{s_side}_Shoulder")])[..., 1]
    hand_rot = aligning_rotation(skeleton.offsets[index(f"{s_side}_Hand")], [0.0, 0.0, -1.0], fingers, -on_top)
    wrist = index(f"{s_side}_Wrist")
    return _blend_reach(supporter, skeleton, s_side, s_pos[:, wrist], wxyz_to_rotations(s_rot[:, wrist]),
                        palm - _PALM_CENTRE * fingers, hand_rot, weight, away=on_top)


def _blend_reach(person: PersonMotion, skeleton: Skeleton, side: str, free: np.ndarray, free_rot: Rotation,
                 target: np.ndarray, target_rot: Rotation, weight: np.ndarray,
                 away: np.ndarray | None = None) -> PersonMotion:
    """Move a wrist from its keyframed place `free` (T, 3) / `free_rot` to `target` / `target_rot` by
    `weight` (T,); the hand turns to its target orientation early in the move and, given `away`
    (T, 3 unit vectors off the surface it lands on), arrives from `_HOVER` metres that way."""
    if away is not None:
        target = target + _HOVER * (1.0 - weight)[:, None] * away
    wrist = free + weight[:, None] * (target - free)
    turn = 1.0 - (1.0 - weight) ** 3
    return reach(person, skeleton, side, wrist, elbow_pole(person, side), blend_rotations(free_rot, target_rot, turn))


def hand_on_back(supporter: PersonMotion, recipient: PersonMotion, skeleton: Skeleton, side: str,
                 weight: np.ndarray, height: float = 0.5) -> PersonMotion:
    """The supporter's `side` hand flat on the recipient's back, on the spine-to-chest capsule at
    `height` (0 = spine joint, 1 = chest joint), fingers across the back towards the recipient's
    left, palm on the back. `weight` (T,) blends the wrist from its keyframed place (0) to there (1),
    arriving from behind.
    """
    index = skeleton.index
    r_pos, r_rot = body_positions(recipient, skeleton), global_rotations(recipient, skeleton)
    spine, chest = r_pos[:, index("Spine")], r_pos[:, index("Chest")]
    spine_rot = wxyz_to_rotations(r_rot[:, index("Spine")])
    back, across = spine_rot.apply([-1.0, 0.0, 0.0]), spine_rot.apply([0.0, 1.0, 0.0])
    palm = spine + height * (chest - spine) + _BACK_SEPARATION * back
    hand_rot = aligning_rotation(skeleton.offsets[index(f"{side}_Hand")], [0.0, 0.0, -1.0], across, -back)
    wrist = index(f"{side}_Wrist")
    s_pos, s_rot = body_positions(supporter, skeleton), global_rotations(supporter, skeleton)
    return _blend_reach(supporter, skeleton, side, s_pos[:, wrist], wxyz_to_rotations(s_rot[:, wrist]),
                        palm - _PALM_CENTRE * across, hand_rot, weight, away=back)


# ----------------------------------------------------------------------------------------------
# Clips

_ARMS_DOWN = {"L_Shoulder": (-75.0, 0.0, -10.0), "R_Shoulder": (75.0, 0.0, 10.0),
              "L_Elbow": (0.0, 0.0, -15.0), "R_Elbow": (0.0, 0.0, 15.0)}
_ARMS_ON_LAP = {"L_Shoulder": (-70.0, 0.0, -30.0), "R_Shoulder": (70.0, 0.0, 30.0),
                "L_Elbow": (0.0, 0.0, -40.0), "R_Elbow": (0.0, 0.0, 40.0)}
_LEFT_ARM_DOWN = {"L_Shoulder": _ARMS_DOWN["L_Shoulder"], "L_Elbow": _ARMS_DOWN["L_Elbow"]}
_FOREARM_OUT = {"R_Shoulder": (75.0, 0.0, 40.0), "R_Elbow": (0.0, 0.0, 60.0)}  # right forearm held out forwards
_ARMS_REACH = {"L_Shoulder": (0.0, -40.0, -80.0), "R_Shoulder": (0.0, -40.0, 80.0)}
_ARMS_FORWARD_UP = {"L_Shoulder": (0.0, -35.0, -80.0), "R_Shoulder": (0.0, -35.0, 80.0),
                    "L_Elbow": (0.0, 0.0, -20.0), "R_Elbow": (0.0, 0.0, 20.0)}


def _trunk(flexion: float, neck: float = 0.0) -> dict[str, tuple[float, float, float]]:
    """Trunk flexion (degrees, + forward) spread over the three spine joints, and the neck's."""
    return {"Torso": (0.0, 0.4 * flexion, 0.0), "Spine": (0.0, 0.35 * flexion, 0.0),
            "Chest": (0.0, 0.25 * flexion, 0.0), "Neck": (0.0, neck, 0.0)}


def _clip(name: str, persons: list[PersonMotion], **source) -> Clip:
    return Clip(name=name, fps=FPS, skeleton=SKELETON, persons=persons,
                source={"format": "demo", "generator": "motion_lib.demo_clips", **source}).validate()


_FLOOR_RECIPIENT = [
    Key(0.0, root=(0.0, 0.0, 0.15), facing=(0.0, -25.0, 0.0), joints={**_trunk(20.0, -10.0), **_ARMS_FORWARD_UP}),
    Key(0.6, root=(0.0, 0.0, 0.15), facing=(0.0, -25.0, 0.0)),
    Key(1.6, root=(0.02, 0.0, 0.15), facing=(0.0, -12.0, 0.0), joints=_trunk(28.0, -12.0)),
    Key(2.2, root=(0.04, 0.0, 0.17), facing=(0.0, -5.0, 0.0), joints=_trunk(25.0, -5.0)),
    Key(2.8, root=(0.18, 0.0, 0.34), facing=(0.0, 10.0, 0.0), joints=_trunk(30.0, -5.0)),
    Key(3.4, root=(0.36, 0.0, 0.56), facing=(0.0, 18.0, 0.0), joints=_trunk(22.0, 0.0)),
    Key(4.0, root=(0.50, 0.0, 0.80), facing=(0.0, 10.0, 0.0), joints=_trunk(8.0, 0.0)),
    Key(4.6, root=(0.56, 0.0, 0.93), facing=(0.0, 2.0, 0.0), joints=_trunk(0.0, 0.0)),
    Key(5.5, root=(0.57, 0.0, 0.94), facing=(0.0, 0.0, 0.0)),
]
_FLOOR_SUPPORTER = [
    Key(0.0, root=(1.1, 0.0, 0.94), facing=(180.0, 0.0, 0.0), joints={**_trunk(0.0), **_ARMS_DOWN}),
    Key(0.6, root=(1.1, 0.0, 0.94)),
    Key(1.8, root=(1.18, 0.0, 0.64), facing=(180.0, 45.0, 0.0), joints={**_trunk(15.0, -10.0), **_ARMS_REACH}),
    Key(2.2, root=(1.19, 0.0, 0.64)),
    Key(2.8, root=(1.24, 0.0, 0.68), facing=(180.0, 25.0, 0.0)),
    Key(3.4, root=(1.22, 0.0, 0.78), facing=(180.0, 10.0, 0.0), joints=_trunk(8.0, -5.0)),
    Key(4.0, root=(1.17, 0.0, 0.88), facing=(180.0, 3.0, 0.0), joints=_trunk(3.0, 0.0)),
    Key(4.6, root=(1.12, 0.0, 0.93), facing=(180.0, 0.0, 0.0), joints=_trunk(0.0, 0.0)),
    Key(5.5, root=(1.12, 0.0, 0.94)),
]


def help_up_from_floor() -> Clip:
    """The recipient sits on the floor (knees bent, feet flat) reaching up; the supporter in front
    squats, grasps both forearms and pulls the recipient up to standing (5.5 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(5.5)
    recipient = animate(_FLOOR_RECIPIENT, skeleton, times)
    recipient = plant_feet(recipient, skeleton, standing_feet(skeleton, times, 0.62, 0.0, 0.0))
    supporter = animate(_FLOOR_SUPPORTER, skeleton, times)
    supporter = plant_feet(supporter, skeleton, standing_feet(skeleton, times, 1.1, 0.0, 180.0, width=0.1))
    recipient = reach_for_grip(supporter, recipient, skeleton, ramp(times, 0.4, 1.3), (("R", "L"), ("L", "R")))
    for s_side, r_side in (("R", "L"), ("L", "R")):
        supporter = hold_forearm(supporter, recipient, skeleton, s_side, r_side, ramp(times, 1.0, 1.9))
    return _clip("help_up_from_floor", [supporter, recipient], scene="floor")


# Rising from the chair: (time from the start of the rise, pelvis position, root pitch, trunk flexion);
# sitting down is the same sequence backwards. The pelvis starts over the seat, the feet stay planted.
_RISE = (
    (0.0, (0.0, 0.0, 0.59), 0.0, 5.0),  # seated upright, thighs on the seat
    (0.7, (0.04, 0.0, 0.59), 25.0, 15.0),  # leaning forward
    (1.3, (0.12, 0.0, 0.64), 35.0, 15.0),  # seat-off
    (1.9, (0.24, 0.0, 0.78), 25.0, 8.0),
    (2.5, (0.32, 0.0, 0.91), 8.0, 2.0),
    (3.0, (0.34, 0.0, 0.94), 0.0, 0.0),  # standing
)
_CHAIR_FEET_X = 0.38


def _rise_pose(t: float, index: int, joints: dict | None = None) -> Key:
    """Pose `index` of `_RISE` (0 seated, -1 standing) at time `t`, with extra joint angles."""
    _, root, pitch, trunk = _RISE[index]
    return Key(t, root=root, facing=(0.0, pitch, 0.0), joints={**_trunk(trunk), **(joints or {})})


def _rise_keys(start: float, duration: float, sit_down: bool = False) -> list[Key]:
    """Keys of rising from the chair (or sitting down) from `start` over `duration` seconds."""
    scale, end = duration / _RISE[-1][0], _RISE[-1][0]
    order = range(len(_RISE) - 1, -1, -1) if sit_down else range(len(_RISE))
    return [_rise_pose(start + scale * (end - _RISE[i][0] if sit_down else _RISE[i][0]), i) for i in order]


_CHAIR_RECIPIENT = [
    _rise_pose(0.0, 0, {**_ARMS_ON_LAP, **_FOREARM_OUT}),
    *_rise_keys(1.2, 3.0),
    Key(4.2, joints=_LEFT_ARM_DOWN),
    Key(5.0),
]
_CHAIR_SUPPORTER = [
    Key(0.0, root=(0.22, -0.52, 0.94), facing=(75.0, 0.0, 0.0), joints={**_trunk(0.0), **_ARMS_DOWN}),
    Key(0.3, root=(0.22, -0.52, 0.94)),
    Key(1.2, root=(0.21, -0.57, 0.80), facing=(75.0, 25.0, 0.0), joints=_trunk(10.0)),
    Key(1.9, root=(0.21, -0.57, 0.78), facing=(75.0, 30.0, 0.0)),
    Key(2.5, root=(0.21, -0.57, 0.80), facing=(75.0, 25.0, 0.0)),
    Key(3.1, root=(0.22, -0.55, 0.86), facing=(75.0, 15.0, 0.0), joints=_trunk(5.0)),
    Key(3.7, root=(0.22, -0.53, 0.91), facing=(75.0, 6.0, 0.0), joints=_trunk(2.0)),
    Key(4.2, root=(0.22, -0.52, 0.94), facing=(75.0, 2.0, 0.0), joints=_trunk(0.0)),
    Key(5.0, root=(0.22, -0.52, 0.94)),
]


def support_rise_from_chair() -> Clip:
    """The recipient sits on a chair (`CHAIR`); the supporter at their right puts the left hand on
    the recipient's back and holds the recipient's right forearm, and they rise together (5 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(5.0)
    recipient = animate(_CHAIR_RECIPIENT, skeleton, times)
    recipient = plant_feet(recipient, skeleton, standing_feet(skeleton, times, _CHAIR_FEET_X, 0.0, 0.0))
    supporter = animate(_CHAIR_SUPPORTER, skeleton, times)
    supporter = plant_feet(supporter, skeleton, standing_feet(skeleton, times, 0.22, -0.52, 75.0, width=0.1))
    supporter = hold_forearm(supporter, recipient, skeleton, "R", "R", ramp(times, 0.4, 1.3))
    supporter = hand_on_back(supporter, recipient, skeleton, "L", ramp(times, 0.3, 1.2))
    return _clip("support_rise_from_chair", [supporter, recipient], scene="chair", chair=dict(CHAIR))


_STAND = [
    Key(0.0, root=(0.0, 0.0, 0.94), facing=(0.0, 0.0, 0.0), joints={**_trunk(0.0), **_ARMS_DOWN}),
    Key(1.0, root=(0.012, 0.010, 0.942), facing=(0.0, 1.0, 0.5), joints=_trunk(1.0)),
    Key(2.0, root=(0.0, -0.012, 0.939), facing=(0.0, 0.0, -0.5), joints=_trunk(-0.5)),
    Key(3.0, root=(-0.010, 0.006, 0.941), facing=(0.0, -0.5, 0.3), joints=_trunk(0.5)),
    Key(4.0, root=(0.0, 0.0, 0.94), facing=(0.0, 0.0, 0.0), joints=_trunk(0.0)),
]


def stand() -> Clip:
    """Quiet standing with a slight sway of the pelvis and trunk, feet planted (4 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(4.0)
    person = plant_feet(animate(_STAND, skeleton, times), skeleton, standing_feet(skeleton, times, 0.0, 0.0, 0.0))
    return _clip("stand", [person], scene="floor")


# Steps of `step`: (foot, lift-off time, touch-down time, ankle x before, ankle x after).
_STEPS = (("R", 0.6, 1.1, 0.0, 0.25), ("L", 1.2, 1.7, 0.0, 0.5), ("R", 1.8, 2.3, 0.25, 0.75),
          ("L", 2.4, 2.9, 0.5, 1.0), ("R", 3.0, 3.5, 0.75, 1.0))
_STEP_HEIGHT = 0.06  # swing foot clearance (metres)


def _arm_swing(angle: float) -> dict[str, tuple[float, float, float]]:
    """Arms hanging, the left one swung forward by `angle` degrees and the right one back."""
    return {"L_Shoulder": (-75.0, 0.0, -10.0 - angle), "R_Shoulder": (75.0, 0.0, 10.0 - angle)}


_STEP = [
    Key(0.0, root=(0.0, 0.0, 0.92), facing=(0.0, 0.0, 0.0), joints={**_trunk(0.0), **_ARMS_DOWN}),
    Key(0.4, root=(0.0, 0.0, 0.92)),
    Key(0.85, root=(0.06, 0.035, 0.905), facing=(0.0, 3.0, 0.0), joints=_arm_swing(12.0)),
    Key(1.45, root=(0.22, -0.035, 0.905), joints=_arm_swing(-15.0)),
    Key(2.05, root=(0.47, 0.035, 0.905), joints=_arm_swing(15.0)),
    Key(2.65, root=(0.72, -0.035, 0.905), joints=_arm_swing(-15.0)),
    Key(3.25, root=(0.92, 0.03, 0.91), facing=(0.0, 1.0, 0.0), joints=_arm_swing(8.0)),
    Key(3.7, root=(0.98, 0.0, 0.92), facing=(0.0, 0.0, 0.0), joints=_arm_swing(0.0)),
    Key(4.0, root=(0.98, 0.0, 0.92)),
]


def step() -> Clip:
    """A few short place-to-place steps forward (about 1 m), each foot planted between its swings (4 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(4.0)
    feet = standing_feet(skeleton, times, 0.0, 0.0, 0.0)
    for side, lift, land, start, end in _STEPS:
        ankle = feet[side][0]
        swing = ramp(times, lift, land)
        ankle[:, 0] += (end - start) * swing
        inside = (times > lift) & (times < land)
        ankle[inside, 2] += _STEP_HEIGHT * np.sin(np.pi * (times[inside] - lift) / (land - lift)) ** 2
    person = plant_feet(animate(_STEP, skeleton, times), skeleton, feet)
    return _clip("step", [person], scene="floor")


_SIT_DOWN_STAND_UP = [
    _rise_pose(0.0, -1, _ARMS_DOWN),
    *_rise_keys(0.4, 2.25, sit_down=True),
    Key(2.65, joints=_ARMS_ON_LAP),
    *_rise_keys(3.25, 2.25),
    Key(5.5, joints=_ARMS_DOWN),
    Key(6.0),
]


def sit_down_stand_up() -> Clip:
    """Sit down on the chair (`CHAIR`), pause, and stand up again, feet planted (6 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(6.0)
    person = animate(_SIT_DOWN_STAND_UP, skeleton, times)
    person = plant_feet(person, skeleton, standing_feet(skeleton, times, _CHAIR_FEET_X, 0.0, 0.0))
    return _clip("sit_down_stand_up", [person], scene="chair", chair=dict(CHAIR))


ASSIST_CLIPS = (help_up_from_floor, support_rise_from_chair)
"""Two-person clips (supporter, recipient): `data/demo/assist.pkl`."""
SINGLE_CLIPS = (stand, step, sit_down_stand_up)
"""Single-person clips for the motion prior: `data/demo/single.pkl`."""


def assist_clips() -> list[Clip]:
    return [make() for make in ASSIST_CLIPS]


def single_clips() -> list[Clip]:
    return [make() for make in SINGLE_CLIPS]
