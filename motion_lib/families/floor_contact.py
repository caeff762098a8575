"""What the floor families share: hands pushing on the floor (fingertips or flat palms), a body kept above the
floor, the pelvis turning about hips that stay on it, legs stretched out on their heels, sitting up propped on the
hands, the rise from sitting on the floor over the feet, and a clip placed anywhere on the floor.

Everything works on a person made facing +x at the origin unless a yaw and place are given.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d
from scipy.spatial.transform import Rotation

from motion_lib.capsules import CapsuleModel
from motion_lib.clip import PersonMotion
from motion_lib.families.common import STAND_HEIGHT, min_jerk
from motion_lib.families.feet import lowest_sole
from motion_lib.formats.common import body_positions, global_rotations, rotations_to_wxyz, wxyz_to_rotations
from motion_lib.keyframes.animate import FPS
from motion_lib.keyframes.limbs import SIDE_SIGN, elbow_pole, reach
from motion_lib.skeleton import CAPSULE_RADIUS

FLOOR_SIT_HEIGHT = 0.17
"""Pelvis height sitting on the floor (m): the pelvis and thigh capsules just touch it."""
PALM_WRIST_HEIGHT = 0.045
"""Wrist height (m) of a hand lying flat on the floor (`hands_flat`): its capsule's bottom 1.5 cm above it."""
PROP_RELEASE = 0.5
"""Seconds a propping hand is on the floor before the trunk needs it and after it no longer does (`propped_on_hands`)."""


def hands_on_floor(person: PersonMotion, skel, yaw: float, place, spots: dict, weight: np.ndarray,
                    wrist_height: float = 0.19, elbows: tuple[float, float, float] = (0.3, 1.0, 0.6),
                    free_elbows: bool = False) -> PersonMotion:
    """Both wrists blended (by `weight` (T,)) to `wrist_height` metres above floor spots {side: (x, y) in the clip's
    local frame}, from where they hang but never lower: at 0.19 m the hands, continuing steep forearms downwards, touch
    the floor with the fingertips (a flat palm, `hands_flat`, wants `PALM_WRIST_HEIGHT`). `elbows`: how far they point
    down, out and back (`limbs.elbow_pole`); `free_elbows`: only as far as `weight`, the rest where the arm's own pose
    points them (a straight arm leaving the floor does not swivel about itself)."""
    heading = Rotation.from_euler("z", yaw, degrees=True)
    positions = body_positions(person, skel)
    for side, (x, y) in spots.items():
        spot = heading.apply([x, y, wrist_height]) + [place[0], place[1], 0.0]
        free = positions[:, skel.index(f"{side}_Wrist")].copy()
        free[:, 2] = np.maximum(free[:, 2], spot[2])  # a hanging hand is lifted rather than put through the floor
        pole = elbow_pole(person, side, *elbows)
        if free_elbows:
            own = positions[:, skel.index(f"{side}_Elbow")] - (positions[:, skel.index(f"{side}_Shoulder")] + free) / 2
            pole = weight[:, None] * pole / np.linalg.norm(pole, axis=-1, keepdims=True) + (1.0 - weight[:, None]) * own
        person = reach(person, skel, side, free + weight[:, None] * (spot - free), pole)
    return person


def widened(weight: np.ndarray, frames: int) -> np.ndarray:
    """(T,) `weight` (T,) in [0, 1] held on for `frames` before it rises and after it falls, easing (minimum-jerk)
    to where it was: the largest of weight[t + k] * (1 - min_jerk(|k| / frames)) over |k| <= frames."""
    out = weight.copy()
    for k in range(1, frames + 1):
        keep = 1.0 - min_jerk(k / frames)
        out[k:] = np.maximum(out[k:], weight[:-k] * keep)
        out[:-k] = np.maximum(out[:-k], weight[k:] * keep)
    return out


def hands_flat(person: PersonMotion, skel, weight: np.ndarray, directions: dict) -> PersonMotion:
    """Both hands turned at the wrist (by `weight` (T,), 0 = as they are) to lie flat on the floor with the fingers
    towards `directions` {side: (x, y)} (the clip's frame): a palm pushing on the floor, not fingertips dug in."""
    person = PersonMotion(person.root_pos, person.root_rot, person.joint_rot.copy())
    positions, rotations = body_positions(person, skel), global_rotations(person, skel)  # one hand's turn moves no other
    for side, (x, y) in directions.items():
        elbow, wrist, hand = (skel.index(f"{side}_{joint}") for joint in ("Elbow", "Wrist", "Hand"))
        along = positions[:, hand] - positions[:, wrist]
        along /= np.linalg.norm(along, axis=-1, keepdims=True)
        flat = np.array([x, y, 0.0]) / np.hypot(x, y)
        axis = np.cross(along, flat)
        angle = np.arctan2(np.linalg.norm(axis, axis=-1), along @ flat)  # the whole turn, scaled by weight
        axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
        turn = Rotation.from_rotvec(axis * (weight * angle)[:, None])
        local = wxyz_to_rotations(rotations[:, elbow]).inv() * turn * wxyz_to_rotations(rotations[:, wrist])
        person.joint_rot[:, wrist - 1] = rotations_to_wxyz(local, (len(weight),))
    return person


def rise_phases(rng: np.random.Generator, feet_x: float) -> list[tuple]:
    """(duration s, pelvis (3,), root pitch, trunk flexion) of the keys from sitting on the floor (pelvis at the origin,
    facing +x, feet flat `feet_x` ahead) to standing over the feet."""
    return [(rng.uniform(0.6, 1.0), (0.12, 0.0, FLOOR_SIT_HEIGHT + 0.03), 0.0, 40.0),
            (rng.uniform(0.8, 1.2), (feet_x - 0.2, 0.0, 0.48), 25.0, 35.0),
            (rng.uniform(0.6, 1.0), (feet_x - 0.12, 0.0, 0.72), 20.0, 12.0),
            (rng.uniform(0.5, 0.9), (feet_x - 0.04, 0.0, STAND_HEIGHT), 0.0, 0.0)]


def pushing_up(person: PersonMotion, skel, yaw: float, place, weight: np.ndarray | float = 1.0) -> PersonMotion:
    """Getting up from sitting on the floor, the fingertips push on the floor beside the hips (0.2 m ahead of where the
    pelvis sat, 0.3 m out) until the pelvis has moved over the feet, as far as `weight` (T,) lets them."""
    heading = Rotation.from_euler("z", yaw, degrees=True)
    ahead = heading.inv().apply(person.root_pos - [place[0], place[1], 0.0])[:, 0]
    down = np.clip((0.2 - ahead) / 0.1, 0.0, 1.0)  # hands on the floor until the pelvis moves over the feet
    return hands_on_floor(person, skel, yaw, place, {"L": (0.2, 0.3), "R": (0.2, -0.3)}, min_jerk(down) * weight)


def clear_of_floor(person: PersonMotion, skel, margin: float = 0.003) -> PersonMotion:
    """The person lifted, frame by frame and smoothly, so that no capsule above the hips dips below the floor."""
    capsules = CapsuleModel.of(skel)
    a, b = capsules.segments(body_positions(person, skel), skel)
    upper = ~np.isin(np.asarray(skel.groups)[capsules.body], ("hip", "knee", "ankle", "toe"))
    bottom = (np.minimum(a[..., 2], b[..., 2]) - capsules.radius)[:, upper].min(axis=1)
    lift = gaussian_filter1d(maximum_filter1d(np.maximum(margin - bottom, 0.0), size=9, mode="nearest"), 1.5, mode="nearest")
    return PersonMotion(person.root_pos + lift[:, None] * [0.0, 0.0, 1.0], person.root_rot, person.joint_rot)


def on_the_hips(person: PersonMotion, skel, lying: np.ndarray | None = None) -> PersonMotion:
    """`person` with its pelvis turning about the hip joints, which stay on the floor at the origin (where `lying` (T,)
    bool, default every frame; the other frames keep their root)."""
    lying = np.ones(len(person.root_pos), bool) if lying is None else lying
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    hips = (skel.offsets[skel.index("L_Hip")] + skel.offsets[skel.index("R_Hip")]) / 2
    person.root_pos[lying] = (np.array([0.0, 0.0, CAPSULE_RADIUS["hip"] + 0.02]) - root_rot.apply(hips))[lying]
    return person


def stretched_legs(rng: np.random.Generator, person: PersonMotion, skel) -> dict[str, tuple]:
    """Feet for legs stretched forward from the hips of `person`'s first frame, heels on the floor, toes up (the feet
    a little pointed): {side: (ankle (T, 3), yaw, pitch, toe flexion (T,))}."""
    frames = len(person.root_pos)
    root_rot = Rotation.from_quat(person.root_rot[:1, [1, 2, 3, 0]])
    pitch = np.radians(-rng.uniform(65.0, 80.0))
    feet = {}
    for side in "LR":
        hip = person.root_pos[0] + root_rot[0].apply(skel.offsets[skel.index(f"{side}_Hip")])
        reach_x = 0.97 * (np.linalg.norm(skel.offsets[skel.index(f"{side}_Knee")]) + np.linalg.norm(skel.offsets[skel.index(f"{side}_Ankle")]))
        ankle = np.array([hip[0] + reach_x, hip[1] + SIDE_SIGN[side] * 0.02, 0.0])
        yaw, pitches, toe = np.zeros(1), np.full(1, pitch), np.zeros(1)
        ankle[2] -= lowest_sole(skel, side, ankle[None], yaw, pitches, toe)[0]
        feet[side] = (np.tile(ankle, (frames, 1)), np.zeros(frames), np.full(frames, pitch), np.zeros(frames))
    return feet


def propped_on_hands(person: PersonMotion, skel) -> PersonMotion:
    """Between lying on the back and sitting up, the hands push on the floor behind the hips, palms flat, fingers out
    and forward: sitting up with straight legs, the trunk's weight lies behind the buttocks (the centre of mass up to
    17 cm outside the support of buttocks, thighs and heels, for 0.7 s); the hands widen the support to cover it.
    `person` faces +x with its hips at the origin."""
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    lean = -np.degrees(root_rot.as_euler("ZYX")[:, 1])  # trunk back from upright, degrees (88 lying)
    needed = min_jerk((lean - 12.0) / 10.0) * min_jerk((86.0 - lean) / 12.0)
    propped = widened(needed, int(round(PROP_RELEASE * FPS)))
    spots, fingers = {"L": (-0.3, 0.25), "R": (-0.3, -0.25)}, {"L": (0.5, 1.0), "R": (0.5, -1.0)}
    person = hands_on_floor(person, skel, 0.0, (0.0, 0.0), spots, propped, PALM_WRIST_HEIGHT)
    return hands_flat(person, skel, propped, fingers)


def anywhere(rng: np.random.Generator, person: PersonMotion) -> PersonMotion:
    """`person`, made facing +x at the origin, turned to a random heading and moved up to 1 m along the floor."""
    yaw_deg, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    turn = Rotation.from_euler("z", yaw_deg, degrees=True)
    return PersonMotion(turn.apply(person.root_pos) + [place[0], place[1], 0.0],
                        rotations_to_wxyz(turn * wxyz_to_rotations(person.root_rot), (len(person.root_pos),)), person.joint_rot)
