"""Families getting up from lying on the floor: face down (pressing up onto all fours, a foot forward between the
hands, rising over it) and on the back (sitting up propped on the hands, drawing the feet in, rising over them).

Keyframed pelvis and trunk, the hips turning about the knees or the hips on the floor while down; feet placed by IK
(tucked toes, heels, flat), knees pointed where the body faces; hands on the floor by IK (`floor_contact`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.families.balance import rebalanced
from motion_lib.families.common import STAND_HEIGHT, clip_name, family_clip, min_jerk, skeleton, times_for, uniform
from motion_lib.families.feet import ball_point, flat_feet, lowest_sole, pivot_pose, place_feet, stand_on, swing
from motion_lib.families.floor import KNEEL_BALANCE_PASSES
from motion_lib.families.floor_contact import (
    FLOOR_SIT_HEIGHT,
    PALM_WRIST_HEIGHT,
    anywhere,
    clear_of_floor,
    hands_flat,
    hands_on_floor,
    on_the_hips,
    propped_on_hands,
    pushing_up,
    rise_phases,
    stretched_legs,
)
from motion_lib.families.standing import arms
from motion_lib.formats.common import body_positions, rotations_to_wxyz, wxyz_to_rotations
from motion_lib.keyframes.animate import Key, animate
from motion_lib.keyframes.limbs import SIDE_SIGN, blend_rotations
from motion_lib.keyframes.poses import ARMS_DOWN, ARMS_ON_LAP, trunk
from motion_lib.skeleton import CAPSULE_RADIUS

HANDS_OFF_S = 0.6
"""Seconds the hands take to leave the floor from a lunge (`prone_get_up`) or to go from propping to pushing
(`supine_get_up`)."""
PUSH_UP_ELBOWS = (-1.0, 0.6, 0.6)
"""Pushing up from lying face down, the elbows point up, out and back (`hands_on_floor`): the forearms lean
forward over the hands, the wrists bent back within their range."""


@dataclass(frozen=True)
class _ProneTimes:
    """The keyframe times (s) of `prone_get_up`, each after the one before."""

    press: float  # lying still until
    propped: float  # the chest up on the hands
    quad: float  # the hips back towards the knees: hands and knees
    lift: float  # the front knee leaves the floor
    front: float  # the front foot flat between the hands
    hands: float  # the hands leave the floor
    up: float  # the trunk up, the weight over the front foot
    stand: float
    back: float  # the kneeling foot stepped up beside the front one
    end: float

    @staticmethod
    def draw(rng: np.random.Generator, hold: float) -> "_ProneTimes":
        """Random phase lengths, the lunge held `hold` s (the draws in this order)."""
        press = rng.uniform(0.5, 1.0)
        propped = press + rng.uniform(0.7, 1.0)
        quad = propped + rng.uniform(0.8, 1.2)
        lift = quad + rng.uniform(0.2, 0.4)
        front = lift + rng.uniform(0.6, 0.8)
        hands = front + hold
        up = hands + rng.uniform(0.5, 0.8)
        stand = up + rng.uniform(0.9, 1.2)
        back = stand + rng.uniform(0.5, 0.7)
        return _ProneTimes(press, propped, quad, lift, front, hands, up, stand, back, back + rng.uniform(0.4, 0.8))


def prone_get_up(rng: np.random.Generator, side: str | None = None, hold: float | None = None) -> Clip:
    """Lying face down (knees on the floor, toes tucked, palms beside the chest) -> press the chest up on both hands
    -> hips back over the knees (hands and knees) -> one foot steps forward between the hands (a lunge, hands still
    down, held `hold` s, 0.2-0.8) -> hands off the floor, the trunk up -> rise over the front foot and step the back
    foot up to standing. `side`: the leg that stays kneeling. Balanced (knees, hands and the balls of the feet bear
    weight while down); the knees point down while on the floor (`feet.place_feet` poles)."""
    side = str(rng.choice(["L", "R"])) if side is None else side
    hold = uniform(rng, hold, 0.2, 0.8)
    skel = skeleton()
    knee_z, tuck = CAPSULE_RADIUS["knee"] + 0.008, np.radians(rng.uniform(50.0, 62.0))
    when = _ProneTimes.draw(rng, hold)
    times = times_for(when.end)
    stance = flat_feet(skel, len(times), 0.0, 0.0, 0.0, rng.uniform(0.0, 0.1))
    front_x = rng.uniform(0.30, 0.38)
    feet, behind_x = _prone_feet(skel, side, times, when, stance, front_x, knee_z, tuck)
    person = _prone_body(rng, skel, side, times, when, stance, (front_x, behind_x), knee_z)
    poles = _prone_knee_poles(person, times, when)
    person = stand_on(person, skel, feet, poles)
    hands_down = _push_up_hands(person, skel, times, when)
    person = hands_down(place_feet(clear_of_floor(hands_down(person), skel), skel, feet, poles))
    person = hands_down(rebalanced(person, skel, KNEEL_BALANCE_PASSES, keep_knees=True))
    person = anywhere(rng, person)
    return family_clip(clip_name("prone_get_up", rng), [person], "prone_get_up", dict(side=side, hold=hold))


def _prone_feet(skel, side: str, times: np.ndarray, when: _ProneTimes, stance: dict, front_x: float, knee_z: float,
                tuck: float) -> tuple[dict, float]:
    """The feet of `prone_get_up` over `times` (T,): both tucked (`tuck` radians) with the knees on the floor (their
    centres `knee_z` up) at x = 0; the front foot steps forward to `front_x` and stays there, the kneeling foot
    (`side`) steps up beside it at the end. `stance`: `flat_feet`'s standing feet at x = 0. Returns ({side: (ankle
    (T, 3), yaw (T,), pitch (T,), toe (T,))}, the kneeling foot's ankle x while flat behind)."""
    front = "R" if side == "L" else "L"
    feet, balls = {}, {}
    for s in (side, front):
        ankle, yaw, pitch, toe = (np.array(x, dtype=float) for x in stance[s])
        flat = ankle[0].copy()
        _, tucked = _tucked_foot(skel, s, flat, tuck)
        shank = np.linalg.norm(skel.offsets[skel.index(f"{s}_Ankle")])
        flat[0] -= tucked[0] + np.sqrt(shank**2 - (tucked[2] - knee_z) ** 2)  # the knee over x = 0
        balls[s], tucked = _tucked_foot(skel, s, flat, tuck)
        ankle[:, 0] += front_x - ankle[0, 0]  # the standing place
        feet[s] = (ankle, yaw, pitch, toe, flat, tucked)
    ankle, yaw, pitch, toe, flat, tucked = feet[side]
    behind_x = flat[0]  # the kneeling foot flat, before it steps up
    untuck = 1.0 - min_jerk((times - when.up) / (when.stand - when.up))
    pitch[:], toe[:] = tuck * untuck, -tuck * untuck
    down = times < when.stand
    ankle[down] = pivot_pose(np.tile(balls[side], (down.sum(), 1)), ball_point(skel, side), yaw[down], pitch[down])
    gap = (times > when.stand) & (times < when.back)
    ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, side, (times[gap] - when.stand) / (when.back - when.stand),
                                                       (flat, yaw[0], 0.0, 0.0), (ankle[-1], yaw[0], 0.0, 0.0), 0.07)
    ankle, yaw, pitch, toe, flat, tucked = feet[front]
    tucked_until = times <= when.lift
    ankle[tucked_until], pitch[tucked_until], toe[tucked_until] = tucked, tuck, -tuck
    gap = (times > when.lift) & (times < when.front)
    progress = (times[gap] - when.lift) / (when.front - when.lift)
    ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, front, progress, (tucked, yaw[0], tuck, -tuck),
                                                       (ankle[-1], yaw[0], 0.0, 0.0), 0.12)
    pitch[gap] = tuck * (1.0 - min_jerk((progress - 0.4) / 0.6))  # the toes trail, clear of the floor
    sole = lowest_sole(skel, front, ankle[gap], yaw[gap], pitch[gap], toe[gap])
    ankle[gap, 2] += np.maximum(0.04 * np.sin(np.pi * progress) ** 0.5 - sole, 0.0)
    return {s: f[:4] for s, f in feet.items()}, behind_x


def _prone_body(rng: np.random.Generator, skel, side: str, times: np.ndarray, when: _ProneTimes, stance: dict,
                feet_x: tuple[float, float], knee_z: float) -> PersonMotion:
    """The pelvis, trunk and arms of `prone_get_up` over `times` (T,) (legs and hands placed later): down on the
    knees the hips turn about them (the thigh's elevation: 0 = lying ahead of them, 90 = upright over them), towards
    the kneeling knee (`side`) while the front foot steps; then keyframes rise over the front foot. `feet_x`: the
    front foot's x standing and the kneeling foot's x flat behind (`_prone_feet`)."""
    front = "R" if side == "L" else "L"
    front_x, behind_x = feet_x
    thigh = max(np.linalg.norm(skel.offsets[skel.index(f"{s}_Knee")]) for s in "LR")  # the longer thigh's knee touches
    lying = np.arcsin((CAPSULE_RADIUS["pelvis"] + 0.03 - knee_z) / thigh)  # the pelvis resting on the floor
    quad, lunge = np.radians(rng.uniform(60.0, 70.0)), np.radians(rng.uniform(75.0, 85.0))
    elevation = PchipInterpolator([0.0, when.propped, when.quad, when.front, when.hands, when.up - 0.15, when.up],
                                  [lying, lying, quad, quad, quad, lunge, lunge])(np.minimum(times, when.up))
    over_knee = 0.5 * float(stance[side][0][0, 1]) * min_jerk((times - when.quad) / (when.lift - when.quad))
    hips = np.column_stack([thigh * np.cos(elevation), over_knee, knee_z + thigh * np.sin(elevation)])
    keys = [Key(0.0, facing=(0.0, 85.0, 0.0), joints={**trunk(0.0, -15.0), **arms(rng, ("forward", "forward"))}),
            Key(when.press),
            Key(when.propped, facing=(0.0, 82.0, 0.0), joints=trunk(-rng.uniform(25.0, 40.0), -20.0)),
            Key(when.quad, facing=(0.0, rng.uniform(78.0, 85.0), 0.0), joints=trunk(rng.uniform(10.0, 20.0), -10.0)),
            Key(when.lift),
            Key(when.front, facing=(0.0, rng.uniform(50.0, 58.0), 0.0),
                joints=trunk(rng.uniform(50.0, 60.0), -10.0)),  # the back rounds
            Key(when.hands),
            Key(when.up, facing=(0.0, rng.uniform(25.0, 35.0), 0.0), joints=trunk(rng.uniform(10.0, 20.0)))]
    person = animate(keys, skel, times)
    hip_mid = (skel.offsets[skel.index("L_Hip")] + skel.offsets[skel.index("R_Hip")]) / 2
    on_knees = hips - Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]]).apply(hip_mid)
    lunging = tuple(on_knees[times <= when.up][-1])
    rise = [Key(when.up - 0.15, root=lunging), Key(when.up, root=lunging),  # from rest
            Key(when.stand, root=((front_x + behind_x) / 2, float(stance[front][0][0, 1]) * 0.6, STAND_HEIGHT - 0.03),
                facing=(0.0, 5.0, 0.0), joints={**trunk(5.0), **ARMS_DOWN}),
            Key(when.back, root=(front_x - skel.rest_positions[skel.index(f"{side}_Ankle"), 0], 0.0, STAND_HEIGHT),
                facing=(0.0, 0.0, 0.0), joints=trunk(0.0)),
            Key(when.end)]
    person = animate(sorted(keys + rise, key=lambda key: key.t), skel, times)
    person.root_pos[times <= when.up] = on_knees[times <= when.up]
    return person


def _prone_knee_poles(person: PersonMotion, times: np.ndarray, when: _ProneTimes) -> dict[str, np.ndarray]:
    """Where the knees of `prone_get_up` point ({side: (T, 3)}, world): where the pelvis faces while lying (down),
    then forward (down and forward while on all fours, where the thigh leans back from the hip)."""
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    ahead = min_jerk((times - (when.propped + when.quad) / 2) / ((when.quad - when.propped) / 2))[:, None]
    return {s: (1.0 - ahead) * root_rot.apply([1.0, 0.1 * SIDE_SIGN[s], 0.0]) + ahead * [1.0, 0.1 * SIDE_SIGN[s], 0.0]
            for s in "LR"}


def _push_up_hands(person: PersonMotion, skel, times: np.ndarray,
                   when: _ProneTimes) -> Callable[[PersonMotion], PersonMotion]:
    """What puts the palms of `prone_get_up` flat on the floor from lying to the lunge, at spots the shoulders of
    `person` reach pressed up, on all fours and lunging, leaving the floor over `HANDS_OFF_S` after `when.hands`: a
    function of a motion (its pelvis moved since: off the floor, balanced) that places them again from these
    keyframed arms."""
    positions = body_positions(person, skel)
    pushing = (times >= when.propped) & (times <= when.hands)
    shoulders = {s: positions[pushing, skel.index(f"{s}_Shoulder")] for s in "LR"}  # (pushing frames, 3)
    spots = {s: (float(np.mean(shoulders[s][:, 0])), float(np.mean(shoulders[s][:, 1])) + SIDE_SIGN[s] * 0.08)
             for s in "LR"}
    on_floor = 1.0 - min_jerk((times - when.hands) / HANDS_OFF_S)
    arm_joints = [skel.index(f"{s}_{joint}") - 1 for s in "LR" for joint in ("Shoulder", "Elbow", "Wrist")]
    free_arms = person.joint_rot[:, arm_joints].copy()

    def hands_down(moved: PersonMotion) -> PersonMotion:
        moved = PersonMotion(moved.root_pos, moved.root_rot, moved.joint_rot.copy())
        moved.joint_rot[:, arm_joints] = free_arms
        moved = hands_on_floor(moved, skel, 0.0, (0.0, 0.0), spots, on_floor, PALM_WRIST_HEIGHT, PUSH_UP_ELBOWS,
                               free_elbows=True)
        return hands_flat(moved, skel, on_floor, {"L": (1.0, 0.3), "R": (1.0, -0.3)})

    return hands_down


def _tucked_foot(skel, side: str, flat_ankle: np.ndarray, tuck: float) -> tuple[np.ndarray, np.ndarray]:
    """A foot on its ball with the toes tucked under (heel up by `tuck` radians, toes flat on the floor), the ball
    where it is when the foot lies flat with its ankle at `flat_ankle` (3,) (facing +x): (ball (3,), ankle (3,))."""
    ball = flat_ankle + ball_point(skel, side)
    return ball, pivot_pose(ball[None], ball_point(skel, side), np.zeros(1), np.array([tuck]))[0]


def supine_get_up(rng: np.random.Generator, side: str | None = None) -> Clip:
    """Lying on the back, legs stretched out -> sit up propped on both hands (as `lie_to_sit`) -> draw the knees up,
    one foot and then the other stepping in flat on the floor -> the fingertips push on the floor beside the hips, lean
    forward into a deep crouch over the feet and stand up (as `floor_sit_stand`). `side`: the foot drawn in first.
    Balanced (hands, buttocks and feet bear weight while down)."""
    side = str(rng.choice(["L", "R"])) if side is None else side
    skel = skeleton()
    feet_x = rng.uniform(0.5, 0.6)
    t_lie = rng.uniform(0.5, 1.0)  # lying still until
    t_half = t_lie + rng.uniform(0.8, 1.2)
    t_sat = t_half + rng.uniform(0.8, 1.2)  # sitting up, legs stretched out
    t_sit = t_sat + rng.uniform(0.4, 0.7)
    t_first = t_sit + rng.uniform(0.5, 0.7)  # the first foot flat, its knee up
    t_second = t_first + rng.uniform(0.4, 0.6)
    seated = Key(t_second, root=(0.0, 0.0, FLOOR_SIT_HEIGHT), facing=(0.0, -rng.uniform(10.0, 25.0), 0.0),
                 joints={**trunk(rng.uniform(15.0, 25.0), -10.0), **ARMS_ON_LAP})  # (hanging, the hands would be in the floor)
    keys = [Key(0.0, facing=(0.0, -88.0, 0.0), joints={**trunk(-2.0, 0.0), **arms(rng, ("down", "down"))}), Key(t_lie),
            Key(t_half, facing=(0.0, -55.0, 0.0), joints={**trunk(rng.uniform(30.0, 45.0), -20.0), **arms(rng, ("forward", "forward"))}),
            Key(t_sat, facing=(0.0, -rng.uniform(0.0, 12.0), 0.0), joints={**trunk(rng.uniform(15.0, 30.0), -10.0), **arms(rng, ("forward", "forward"))}),
            Key(t_sit), seated]
    t = t_second + rng.uniform(0.2, 0.4)
    keys.append(Key(t))
    for duration, root, pitch, flexion in rise_phases(rng, feet_x):
        t += duration
        keys.append(Key(t, root=root, facing=(0.0, pitch, 0.0), joints=trunk(flexion)))
    keys[-1] = Key(t, root=keys[-1].root, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN})
    keys.append(Key(t + rng.uniform(0.4, 0.8)))
    times = times_for(keys[-1].t)
    frames, sitting_up = len(times), times <= t_sit
    up = on_the_hips(animate(keys, skel, times), skel)  # until t_sit; from it the keys move the pelvis
    long_sitting = tuple(up.root_pos[sitting_up][-1])
    person = animate(sorted(keys + [Key(t_sat, root=long_sitting), Key(t_sit, root=long_sitting)], key=lambda key: key.t), skel, times)
    person.root_pos[sitting_up] = up.root_pos[sitting_up]
    # the feet: stretched out, then each drawn in to stand flat where `floor_sit_stand` puts them
    feet = stretched_legs(rng, person, skel)
    flat = flat_feet(skel, frames, feet_x, 0.0, 0.0, rng.uniform(0.05, 0.2), toe_out=rng.uniform(0.0, 12.0))
    for s, (t0, t1) in ((side, (t_sit, t_first)), ("R" if side == "L" else "L", (t_first, t_second))):
        ankle, yaw, pitch, toe = (np.array(x, dtype=float) for x in feet[s])
        gap, after = (times > t0) & (times < t1), times >= t1
        ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, s, (times[gap] - t0) / (t1 - t0), (ankle[0], yaw[0], pitch[0], 0.0),
                                                           (flat[s][0][0], flat[s][1][0], 0.0, 0.0), 0.06)
        ankle[after], yaw[after], pitch[after] = flat[s][0][after], flat[s][1][after], 0.0
        feet[s] = (ankle, yaw, pitch, toe)
    person.root_pos[sitting_up] = clear_of_floor(person, skel).root_pos[sitting_up]  # (hanging hands go on the floor later)
    person = stand_on(person, skel, feet)
    # balanced from sitting up on (as `floor_sit_stand`; sitting up leans on the hands, as `lie_to_sit`), then the hands:
    # propped behind the hips, then pushing beside them (`pushing_up` lifts every hand below its spot: blended in)
    rise = int(np.count_nonzero(sitting_up))
    balanced = rebalanced(PersonMotion(person.root_pos[rise:], person.root_rot[rise:], person.joint_rot[rise:]), skel)
    person = PersonMotion(np.concatenate([person.root_pos[:rise], balanced.root_pos]), person.root_rot,
                          np.concatenate([person.joint_rot[:rise], balanced.joint_rot]))
    propped = propped_on_hands(person, skel)
    pushed = pushing_up(propped, skel, 0.0, (0.0, 0.0), min_jerk((times - t_first) / (t_second - t_first)))
    joints = propped.joint_rot.shape[1]
    switch = np.repeat(min_jerk((times - t_first) / HANDS_OFF_S), joints)  # (T * J,)
    blended = blend_rotations(wxyz_to_rotations(propped.joint_rot.reshape(-1, 4)), wxyz_to_rotations(pushed.joint_rot.reshape(-1, 4)), switch)
    person = PersonMotion(person.root_pos, person.root_rot, rotations_to_wxyz(blended, (frames, joints)))
    person = anywhere(rng, person)
    return family_clip(clip_name("supine_get_up", rng), [person], "supine_get_up", dict(side=side, feet_x=feet_x))
