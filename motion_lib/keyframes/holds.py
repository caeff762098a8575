"""Two-person hand placements: the recipient's hands at a grip point between the two persons, the
supporter's palm on or under the recipient's forearm, or on their back (targets from the recipient's forward
kinematics). Hands blend from their keyframed place to their target with the given weights.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.formats.common import body_positions, global_rotations, wxyz_to_rotations
from motion_lib.keyframes.limbs import (
    SIDE_SIGN,
    aligning_rotation,
    basis,
    blend_rotations,
    elbow_pole,
    heading_axes,
    reach,
    unit,
    up_across,
)
from motion_lib.skeleton import Skeleton

# Grip geometry (metres): the supporter's hand on (or under) the recipient's forearm, the two axes
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
        grip = (s_shoulder + r_shoulder) / 2 - drop * up_across(s_shoulder - r_shoulder)
        arm = unit(grip - r_shoulder)
        on_top = up_across(arm)
        inwards = basis(arm, -SIDE_SIGN[r_side] * heading_axes(recipient)[:, :, 1])[..., 1]
        curled = np.cos(_CURL) * arm + np.sin(_CURL) * inwards
        hand_rot = aligning_rotation(skeleton.offsets[index(f"{r_side}_Hand")], [0.0, 0.0, -1.0], curled, inwards)
        wrist = index(f"{r_side}_Wrist")
        recipient = _blend_reach(recipient, skeleton, r_side, r_pos[:, wrist], wxyz_to_rotations(r_rot[:, wrist]),
                                 grip - on_top * _GRIP_SEPARATION / 2, hand_rot, weight)
    return recipient


def hold_forearm(supporter: PersonMotion, recipient: PersonMotion, skeleton: Skeleton, s_side: str, r_side: str,
                 weight: np.ndarray, from_below: bool = False) -> PersonMotion:
    """The supporter's `s_side` palm on the recipient's `r_side` forearm just above the wrist: on top of it (a grip
    closes the hand around it and pulls along the arm and up: for pulling someone up from the floor), or with
    `from_below` under it, palm up (the palm alone can push it up: for lifting an arm on the way up from a chair).
    The hand continues the supporter's arm as far as lying against the forearm allows and comes to it from its
    side (above or below) as `weight` (T,) goes from 0 (keyframed place) to 1. Returns the new supporter."""
    index = skeleton.index
    r_pos = body_positions(recipient, skeleton)
    r_wrist, r_elbow = r_pos[:, index(f"{r_side}_Wrist")], r_pos[:, index(f"{r_side}_Elbow")]
    along = unit(r_elbow - r_wrist)
    away = -up_across(along) if from_below else up_across(along)  # from the forearm towards the palm
    palm = r_wrist + _HOLD_FROM_WRIST * along + away * _GRIP_SEPARATION
    s_pos, s_rot = body_positions(supporter, skeleton), global_rotations(supporter, skeleton)
    fingers = basis(away, palm - s_pos[:, index(f"{s_side}_Shoulder")])[..., 1]
    hand_rot = aligning_rotation(skeleton.offsets[index(f"{s_side}_Hand")], [0.0, 0.0, -1.0], fingers, -away)
    wrist = index(f"{s_side}_Wrist")
    return _blend_reach(supporter, skeleton, s_side, s_pos[:, wrist], wxyz_to_rotations(s_rot[:, wrist]),
                        palm - _PALM_CENTRE * fingers, hand_rot, weight, away=away)


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
