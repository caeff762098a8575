"""Families down on the floor: floor-sitting to standing and back, kneeling on one knee, lying to sitting, getting
up from lying face down.

Keyframed pelvis and trunk; feet planted (flat, or on the ball with the toes tucked, or on the heel with
the legs stretched out) and placed by IK; hands pushing on the floor by IK where the motion needs them.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import gaussian_filter1d, maximum_filter1d
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.capsules import CapsuleModel
from motion_lib.families.balance import rebalanced
from motion_lib.families.common import STAND_HEIGHT, clip_name, family_clip, min_jerk, placed, skeleton, times_for, uniform
from motion_lib.families.feet import ball_point, flat_feet, lowest_sole, pivot_pose, place_feet, stand_on, swing
from motion_lib.families.standing import arms
from motion_lib.formats.common import body_positions, global_rotations, rotations_to_wxyz, wxyz_to_rotations
from motion_lib.keyframes.animate import FPS, Key, animate
from motion_lib.keyframes.limbs import SIDE_SIGN, blend_rotations, elbow_pole, reach
from motion_lib.keyframes.poses import ARMS_DOWN, ARMS_ON_LAP, trunk
from motion_lib.skeleton import CAPSULE_RADIUS

KNEEL_BALANCE_PASSES = 8
"""`balance.rebalanced` passes for a kneel: its 0.75-0.85 m step back swings the leg far, and 3 passes leave the
zero-moment point up to 0.5 m off the feet at the touch-down; 8 close it."""
FLOOR_SIT_HEIGHT = 0.17
"""Pelvis height sitting on the floor (m): the pelvis and thigh capsules just touch it."""
PALM_WRIST_HEIGHT = 0.045
"""Wrist height (m) of a hand lying flat on the floor (`_hands_flat`): its capsule's bottom 1.5 cm above it."""
PROP_RELEASE = 0.5
HANDS_OFF_S = 0.6
"""Seconds the hands take to leave the floor from a lunge (`prone_get_up`) or to go from propping to pushing
(`supine_get_up`)."""
PUSH_UP_ELBOWS = (-1.0, 0.6, 0.6)
"""Pushing up from lying face down, the elbows point up, out and back (`_hands_on_floor`): the forearms lean
forward over the hands, the wrists bent back within their range."""
"""Seconds a propping hand is on the floor before the trunk needs it and after it no longer does (`lie_to_sit`)."""


def _hands_on_floor(person: PersonMotion, skel, yaw: float, place, spots: dict, weight: np.ndarray,
                    wrist_height: float = 0.19, elbows: tuple[float, float, float] = (0.3, 1.0, 0.6),
                    free_elbows: bool = False) -> PersonMotion:
    """Both wrists blended (by `weight` (T,)) to `wrist_height` metres above floor spots {side: (x, y) in the clip's
    local frame}, from where they hang but never lower: at 0.19 m the hands, continuing steep forearms downwards, touch
    the floor with the fingertips (a flat palm, `_hands_flat`, wants `PALM_WRIST_HEIGHT`). `elbows`: how far they point
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


def _widened(weight: np.ndarray, frames: int) -> np.ndarray:
    """(T,) `weight` (T,) in [0, 1] held on for `frames` before it rises and after it falls, easing (minimum-jerk)
    to where it was: the largest of weight[t + k] * (1 - min_jerk(|k| / frames)) over |k| <= frames."""
    out = weight.copy()
    for k in range(1, frames + 1):
        keep = 1.0 - min_jerk(k / frames)
        out[k:] = np.maximum(out[k:], weight[:-k] * keep)
        out[:-k] = np.maximum(out[:-k], weight[k:] * keep)
    return out


def _hands_flat(person: PersonMotion, skel, weight: np.ndarray, directions: dict) -> PersonMotion:
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


def floor_sit_stand(rng: np.random.Generator, mode: str | None = None) -> Clip:
    """Sitting on the floor (knees bent, feet flat) -> hands push on the floor, lean forward into a deep
    crouch over the feet -> stand up; `mode` "up", "down" (the reverse) or "down_up"."""
    mode = str(rng.choice(["up", "down", "down_up"])) if mode is None else mode
    feet_x = rng.uniform(0.5, 0.6)
    sit = [Key(0.0, root=(0.0, 0.0, FLOOR_SIT_HEIGHT), facing=(0.0, -rng.uniform(10, 25), 0.0),
               joints={**trunk(rng.uniform(15, 25), -10.0), **arms(rng, ("down", "down"))})]
    phases = _rise_phases(rng, feet_x)
    up_poses = [(root, pitch, flexion) for _, root, pitch, flexion in phases]
    seated = (sit[0].root, sit[0].facing[1], 20.0)
    stand_key = {**trunk(0.0), **ARMS_DOWN}
    keys, t = [], 0.0
    if mode == "up":
        keys.append(Key(0.0, root=seated[0], facing=(0.0, seated[1], 0.0), joints=sit[0].joints))
        t = rng.uniform(0.5, 1.0)
        keys.append(Key(t))
        for (duration, root, pitch, flexion) in phases:
            t += duration
            keys.append(Key(t, root=root, facing=(0.0, pitch, 0.0), joints=trunk(flexion)))
        keys[-1] = Key(t, root=phases[-1][1], facing=(0.0, 0.0, 0.0), joints=stand_key)
    else:
        keys.append(Key(0.0, root=up_poses[-1][0], facing=(0.0, 0.0, 0.0), joints=stand_key))
        t = rng.uniform(0.4, 0.8)
        keys.append(Key(t))
        for (duration, _, _, _), (root, pitch, flexion) in zip(phases[::-1], up_poses[-2::-1] + [seated]):
            t += duration
            keys.append(Key(t, root=root, facing=(0.0, pitch, 0.0), joints=trunk(flexion)))
        keys[-1] = Key(t, root=seated[0], facing=(0.0, seated[1], 0.0), joints=sit[0].joints)
        if mode == "down_up":
            t += rng.uniform(0.5, 1.2)
            keys.append(Key(t))
            for (duration, root, pitch, flexion) in phases:
                t += duration
                keys.append(Key(t, root=root, facing=(0.0, pitch, 0.0), joints=trunk(flexion)))
            keys[-1] = Key(t, root=phases[-1][1], facing=(0.0, 0.0, 0.0), joints=stand_key)
    keys.append(Key(t + rng.uniform(0.4, 0.8)))
    yaw, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    keys = placed(keys, yaw, place)
    times = times_for(keys[-1].t)
    skel = skeleton()
    heading = Rotation.from_euler("z", yaw, degrees=True)
    centre = heading.apply([feet_x, 0.0, 0.0])[:2] + place
    feet = flat_feet(skel, len(times), centre[0], centre[1], yaw, rng.uniform(0.05, 0.2), toe_out=rng.uniform(0.0, 12.0))
    person = _pushing_up(rebalanced(stand_on(animate(keys, skel, times), skel, feet), skel), skel, yaw, place)
    return family_clip(clip_name("floor_sit_stand", rng), [person], "floor_sit_stand", dict(mode=mode, feet_x=feet_x))


def _rise_phases(rng: np.random.Generator, feet_x: float) -> list[tuple]:
    """(duration s, pelvis (3,), root pitch, trunk flexion) of the keys from sitting on the floor (pelvis at the origin,
    facing +x, feet flat `feet_x` ahead) to standing over the feet."""
    return [(rng.uniform(0.6, 1.0), (0.12, 0.0, FLOOR_SIT_HEIGHT + 0.03), 0.0, 40.0),
            (rng.uniform(0.8, 1.2), (feet_x - 0.2, 0.0, 0.48), 25.0, 35.0),
            (rng.uniform(0.6, 1.0), (feet_x - 0.12, 0.0, 0.72), 20.0, 12.0),
            (rng.uniform(0.5, 0.9), (feet_x - 0.04, 0.0, STAND_HEIGHT), 0.0, 0.0)]


def _pushing_up(person: PersonMotion, skel, yaw: float, place, weight: np.ndarray | float = 1.0) -> PersonMotion:
    """Getting up from sitting on the floor, the fingertips push on the floor beside the hips (0.2 m ahead of where the
    pelvis sat, 0.3 m out) until the pelvis has moved over the feet, as far as `weight` (T,) lets them."""
    heading = Rotation.from_euler("z", yaw, degrees=True)
    ahead = heading.inv().apply(person.root_pos - [place[0], place[1], 0.0])[:, 0]
    down = np.clip((0.2 - ahead) / 0.1, 0.0, 1.0)  # hands on the floor until the pelvis moves over the feet
    return _hands_on_floor(person, skel, yaw, place, {"L": (0.2, 0.3), "R": (0.2, -0.3)}, min_jerk(down) * weight)


def kneel(rng: np.random.Generator, side: str | None = None, hold: float | None = None) -> Clip:
    """From standing, shift the weight over the other foot, step one foot back and go down onto that knee (toes
    tucked, the front foot flat), hold the half-kneel `hold` s (0.5-2), rise, shift the weight forward and sideways
    and step back to standing. `side`: the kneeling leg. Balanced
    (`balance.rebalanced`, the knee on the floor part of the support): the pelvis shifts over the front foot while
    the back foot is in the air."""
    side = str(rng.choice(["L", "R"])) if side is None else side
    hold = uniform(rng, hold, 0.5, 2.0)
    skel = skeleton()
    back_step, tuck = rng.uniform(0.75, 0.85), np.radians(rng.uniform(50.0, 62.0))
    t_lift = rng.uniform(0.4, 0.8)
    t_down = t_lift + rng.uniform(0.5, 0.7)  # the back foot is down
    t_knee = t_down + rng.uniform(1.0, 1.4)  # the knee is on the floor
    t_up = t_knee + hold
    t_stand = t_up + rng.uniform(1.0, 1.4)
    t_back = t_stand + rng.uniform(0.5, 0.7)
    end = t_back + rng.uniform(0.4, 0.8)
    times = times_for(end)
    frames = len(times)
    feet = flat_feet(skel, frames, 0.0, 0.0, 0.0, rng.uniform(0.0, 0.1), toe_out=rng.uniform(0.0, 8.0))
    ankle, yaw, pitch, toe = (np.array(x, dtype=float) for x in feet[side])
    start = ankle[0].copy()
    back = start - [back_step, 0.0, 0.0]
    ball = back + Rotation.from_euler("z", yaw[0]).apply(ball_point(skel, side))
    # the back foot: step back, tuck the toes while kneeling, untuck, step forward
    tucking = min_jerk((times - t_down) / (t_knee - t_down)) * (1.0 - min_jerk((times - t_up) / (t_stand - t_up)))
    pitch[:] = tuck * tucking
    toe[:] = -pitch
    ankle[:] = back
    on_ball = tucking > 0
    ankle[on_ball] = pivot_pose(np.tile(ball, (on_ball.sum(), 1)), ball_point(skel, side), yaw[on_ball], pitch[on_ball])
    for t0, t1, a0, a1 in ((t_lift, t_down, start, back), (t_stand, t_back, back, start)):
        gap = (times > t0) & (times < t1)
        ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, side, (times[gap] - t0) / (t1 - t0),
                                                           (a0, yaw[0], 0.0, 0.0), (a1, yaw[0], 0.0, 0.0), 0.06)
    ankle[times <= t_lift], ankle[times >= t_back] = start, start
    feet[side] = (ankle, yaw, pitch, toe)
    # the pelvis over the kneeling knee: the knee on the floor, thigh upright, the shank to the tucked foot
    kneeling_ankle = pivot_pose(ball[None], ball_point(skel, side), yaw[:1], np.array([tuck]))[0]
    knee_z = CAPSULE_RADIUS["knee"] + 0.008
    shank = np.linalg.norm(skel.offsets[skel.index(f"{side}_Ankle")])
    knee_x = kneeling_ankle[0] + np.sqrt(shank**2 - (kneeling_ankle[2] - knee_z) ** 2)
    thigh = np.linalg.norm(skel.offsets[skel.index(f"{side}_Knee")])
    hip = skel.offsets[skel.index(f"{side}_Hip")]
    pitch_deg, flexion, pose = rng.uniform(-5.0, 5.0), rng.uniform(0, 15), arms(rng)
    yaw_deg, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    turn = Rotation.from_euler("z", yaw_deg, degrees=True)
    moved = {s: (turn.apply(a) + [place[0], place[1], 0.0], y + np.radians(yaw_deg), p, q) for s, (a, y, p, q) in feet.items()}
    kneeling = (times >= t_knee) & (times <= t_up)
    # the weight goes over the front foot before the back foot lifts, going down and coming up (sideways only: the
    # back foot, a long step behind, keeps the pelvis back)
    over_front = float(feet["R" if side == "L" else "L"][0][0, 1])
    drop = 0.05  # the thigh leans a little: the pelvis goes lower than an upright thigh would put it
    for _ in range(3):  # put the kneeling knee's capsule on the floor (a leaning thigh moves it by less than the pelvis)
        low_root = (knee_x - hip[0], -0.6 * hip[1], knee_z + thigh - hip[2] - drop)
        keys = [Key(0.0, root=(0.0, 0.0, STAND_HEIGHT), facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN}),
                Key(t_lift, root=(0.0, over_front, STAND_HEIGHT)),
                Key(t_down, root=(-back_step / 2, 0.0, STAND_HEIGHT - 0.03), facing=(0.0, 5.0, 0.0), joints=trunk(5.0)),
                Key(t_knee, root=low_root, facing=(0.0, pitch_deg, 0.0), joints={**trunk(flexion), **pose}),
                Key(t_up, root=low_root),
                Key(t_stand, root=(-back_step / 2, over_front, STAND_HEIGHT - 0.03), facing=(0.0, 5.0, 0.0),
                    joints={**trunk(5.0), **ARMS_DOWN}),
                Key(t_back, root=(0.0, 0.0, STAND_HEIGHT), facing=(0.0, 0.0, 0.0), joints=trunk(0.0)),
                Key(end)]
        person = stand_on(animate(placed(keys, yaw_deg, place), skel, times), skel, moved)
        knee = body_positions(person, skel)[kneeling, skel.index(f"{side}_Knee"), 2].min()
        drop += 1.5 * (knee - knee_z)
    person = rebalanced(person, skel, KNEEL_BALANCE_PASSES)  # the weight over the front foot while the back foot swings
    return family_clip(clip_name("kneel", rng), [person], "kneel", dict(side=side, hold=hold, back_step=back_step))


def _clear_of_floor(person: PersonMotion, skel, margin: float = 0.003) -> PersonMotion:
    """The person lifted, frame by frame and smoothly, so that no capsule above the hips dips below the floor."""
    capsules = CapsuleModel.of(skel)
    a, b = capsules.segments(body_positions(person, skel), skel)
    upper = ~np.isin(np.asarray(skel.groups)[capsules.body], ("hip", "knee", "ankle", "toe"))
    bottom = (np.minimum(a[..., 2], b[..., 2]) - capsules.radius)[:, upper].min(axis=1)
    lift = gaussian_filter1d(maximum_filter1d(np.maximum(margin - bottom, 0.0), size=9, mode="nearest"), 1.5, mode="nearest")
    return PersonMotion(person.root_pos + lift[:, None] * [0.0, 0.0, 1.0], person.root_rot, person.joint_rot)


def lie_to_sit(rng: np.random.Generator, mode: str | None = None) -> Clip:
    """Lying on the back, legs stretched out (heels on the floor) -> sit up to long sitting (trunk
    upright, arms forward), propped on both hands behind the hips on the way; `mode` "up", "down" (the reverse) or
    "down_up"."""
    mode = str(rng.choice(["up", "down", "down_up"])) if mode is None else mode
    skel = skeleton()
    lying = dict(facing=(0.0, -88.0, 0.0), joints={**trunk(-2.0, 0.0), **arms(rng, ("down", "down"))})
    sitting = dict(facing=(0.0, -rng.uniform(0.0, 12.0), 0.0), joints={**trunk(rng.uniform(15.0, 30.0), -10.0), **arms(rng, ("forward", "forward"))})
    half = dict(facing=(0.0, -55.0, 0.0), joints={**trunk(rng.uniform(30.0, 45.0), -20.0), **arms(rng, ("forward", "forward"))})
    order = {"up": [lying, half, sitting], "down": [sitting, half, lying], "down_up": [sitting, half, lying, half, sitting]}[mode]
    keys, t = [], 0.0
    for i, pose in enumerate(order):
        if i:
            t += rng.uniform(0.8, 1.3)
        keys.append(Key(t, **pose))
        if i in (0, len(order) - 1) or pose is lying:
            t += rng.uniform(0.7, 1.3)
            keys.append(Key(t))
    times = times_for(keys[-1].t)
    person = _on_the_hips(animate(keys, skel, times), skel)
    person = _propped(place_feet(_clear_of_floor(person, skel), skel, _stretched_legs(rng, person, skel)), skel)
    person = _anywhere(rng, person)
    return family_clip(clip_name("lie_to_sit", rng), [person], "lie_to_sit", dict(mode=mode))


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
    for duration, root, pitch, flexion in _rise_phases(rng, feet_x):
        t += duration
        keys.append(Key(t, root=root, facing=(0.0, pitch, 0.0), joints=trunk(flexion)))
    keys[-1] = Key(t, root=keys[-1].root, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN})
    keys.append(Key(t + rng.uniform(0.4, 0.8)))
    times = times_for(keys[-1].t)
    frames, sitting_up = len(times), times <= t_sit
    up = _on_the_hips(animate(keys, skel, times), skel)  # until t_sit; from it the keys move the pelvis
    long_sitting = tuple(up.root_pos[sitting_up][-1])
    person = animate(sorted(keys + [Key(t_sat, root=long_sitting), Key(t_sit, root=long_sitting)], key=lambda key: key.t), skel, times)
    person.root_pos[sitting_up] = up.root_pos[sitting_up]
    # the feet: stretched out, then each drawn in to stand flat where `floor_sit_stand` puts them
    feet = _stretched_legs(rng, person, skel)
    flat = flat_feet(skel, frames, feet_x, 0.0, 0.0, rng.uniform(0.05, 0.2), toe_out=rng.uniform(0.0, 12.0))
    for s, (t0, t1) in ((side, (t_sit, t_first)), ("R" if side == "L" else "L", (t_first, t_second))):
        ankle, yaw, pitch, toe = (np.array(x, dtype=float) for x in feet[s])
        gap, after = (times > t0) & (times < t1), times >= t1
        ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, s, (times[gap] - t0) / (t1 - t0), (ankle[0], yaw[0], pitch[0], 0.0),
                                                           (flat[s][0][0], flat[s][1][0], 0.0, 0.0), 0.06)
        ankle[after], yaw[after], pitch[after] = flat[s][0][after], flat[s][1][after], 0.0
        feet[s] = (ankle, yaw, pitch, toe)
    person.root_pos[sitting_up] = _clear_of_floor(person, skel).root_pos[sitting_up]  # (hanging hands go on the floor later)
    person = stand_on(person, skel, feet)
    # balanced from sitting up on (as `floor_sit_stand`; sitting up leans on the hands, as `lie_to_sit`), then the hands:
    # propped behind the hips, then pushing beside them (`_pushing_up` lifts every hand below its spot: blended in)
    rise = int(np.count_nonzero(sitting_up))
    balanced = rebalanced(PersonMotion(person.root_pos[rise:], person.root_rot[rise:], person.joint_rot[rise:]), skel)
    person = PersonMotion(np.concatenate([person.root_pos[:rise], balanced.root_pos]), person.root_rot,
                          np.concatenate([person.joint_rot[:rise], balanced.joint_rot]))
    propped = _propped(person, skel)
    pushed = _pushing_up(propped, skel, 0.0, (0.0, 0.0), min_jerk((times - t_first) / (t_second - t_first)))
    joints = propped.joint_rot.shape[1]
    switch = np.repeat(min_jerk((times - t_first) / HANDS_OFF_S), joints)  # (T * J,)
    blended = blend_rotations(wxyz_to_rotations(propped.joint_rot.reshape(-1, 4)), wxyz_to_rotations(pushed.joint_rot.reshape(-1, 4)), switch)
    person = PersonMotion(person.root_pos, person.root_rot, rotations_to_wxyz(blended, (frames, joints)))
    person = _anywhere(rng, person)
    return family_clip(clip_name("supine_get_up", rng), [person], "supine_get_up", dict(side=side, feet_x=feet_x))


def _anywhere(rng: np.random.Generator, person: PersonMotion) -> PersonMotion:
    """`person`, made facing +x at the origin, turned to a random heading and moved up to 1 m along the floor."""
    yaw_deg, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    turn = Rotation.from_euler("z", yaw_deg, degrees=True)
    return PersonMotion(turn.apply(person.root_pos) + [place[0], place[1], 0.0],
                        rotations_to_wxyz(turn * wxyz_to_rotations(person.root_rot), (len(person.root_pos),)), person.joint_rot)


def _on_the_hips(person: PersonMotion, skel, lying: np.ndarray | None = None) -> PersonMotion:
    """`person` with its pelvis turning about the hip joints, which stay on the floor at the origin (where `lying` (T,)
    bool, default every frame; the other frames keep their root)."""
    lying = np.ones(len(person.root_pos), bool) if lying is None else lying
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    hips = (skel.offsets[skel.index("L_Hip")] + skel.offsets[skel.index("R_Hip")]) / 2
    person.root_pos[lying] = (np.array([0.0, 0.0, CAPSULE_RADIUS["hip"] + 0.02]) - root_rot.apply(hips))[lying]
    return person


def _stretched_legs(rng: np.random.Generator, person: PersonMotion, skel) -> dict[str, tuple]:
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


def _propped(person: PersonMotion, skel) -> PersonMotion:
    """Between lying on the back and sitting up, the hands push on the floor behind the hips, palms flat, fingers out
    and forward: sitting up with straight legs, the trunk's weight lies behind the buttocks (the centre of mass up to
    17 cm outside the support of buttocks, thighs and heels, for 0.7 s); the hands widen the support to cover it.
    `person` faces +x with its hips at the origin."""
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    lean = -np.degrees(root_rot.as_euler("ZYX")[:, 1])  # trunk back from upright, degrees (88 lying)
    needed = min_jerk((lean - 12.0) / 10.0) * min_jerk((86.0 - lean) / 12.0)
    propped = _widened(needed, int(round(PROP_RELEASE * FPS)))
    spots, fingers = {"L": (-0.3, 0.25), "R": (-0.3, -0.25)}, {"L": (0.5, 1.0), "R": (0.5, -1.0)}
    person = _hands_on_floor(person, skel, 0.0, (0.0, 0.0), spots, propped, PALM_WRIST_HEIGHT)
    return _hands_flat(person, skel, propped, fingers)


def _tucked_foot(skel, side: str, flat_ankle: np.ndarray, tuck: float) -> tuple[np.ndarray, np.ndarray]:
    """A foot on its ball with the toes tucked under (heel up by `tuck` radians, toes flat on the floor), the ball
    where it is when the foot lies flat with its ankle at `flat_ankle` (3,) (facing +x): (ball (3,), ankle (3,))."""
    ball = flat_ankle + ball_point(skel, side)
    return ball, pivot_pose(ball[None], ball_point(skel, side), np.zeros(1), np.array([tuck]))[0]


def prone_get_up(rng: np.random.Generator, side: str | None = None, hold: float | None = None) -> Clip:
    """Lying face down (knees on the floor, toes tucked, palms beside the chest) -> press the chest up on both hands
    -> hips back over the knees (hands and knees) -> one foot steps forward between the hands (a lunge, hands still
    down, held `hold` s, 0.2-0.8) -> hands off the floor, the trunk up -> rise over the front foot and step the back
    foot up to standing. `side`: the leg that stays kneeling. Balanced (knees, hands and the balls of the feet bear
    weight while down); the knees point down while on the floor (`feet.place_feet` poles)."""
    side = str(rng.choice(["L", "R"])) if side is None else side
    front = "R" if side == "L" else "L"
    hold = uniform(rng, hold, 0.2, 0.8)
    skel = skeleton()
    thigh = max(np.linalg.norm(skel.offsets[skel.index(f"{s}_Knee")]) for s in "LR")  # the longer thigh's knee touches
    knee_z, tuck = CAPSULE_RADIUS["knee"] + 0.008, np.radians(rng.uniform(50.0, 62.0))
    t_press = rng.uniform(0.5, 1.0)  # lying still until
    t_propped = t_press + rng.uniform(0.7, 1.0)  # the chest up on the hands
    t_quad = t_propped + rng.uniform(0.8, 1.2)  # the hips back towards the knees: hands and knees
    t_lift = t_quad + rng.uniform(0.2, 0.4)  # the front knee leaves the floor
    t_front = t_lift + rng.uniform(0.6, 0.8)  # the front foot flat between the hands
    t_hands = t_front + hold  # the hands leave the floor
    t_up = t_hands + rng.uniform(0.5, 0.8)  # the trunk up, the weight over the front foot
    t_stand = t_up + rng.uniform(0.9, 1.2)
    t_back = t_stand + rng.uniform(0.5, 0.7)
    end = t_back + rng.uniform(0.4, 0.8)
    times = times_for(end)
    frames = len(times)
    # feet: both tucked with the knees on the floor at x = 0; the front foot steps forward and stays there, the
    # kneeling foot steps up beside it at the end
    stance = flat_feet(skel, frames, 0.0, 0.0, 0.0, rng.uniform(0.0, 0.1))
    front_x = rng.uniform(0.30, 0.38)
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
    untuck = 1.0 - min_jerk((times - t_up) / (t_stand - t_up))
    pitch[:], toe[:] = tuck * untuck, -tuck * untuck
    down = times < t_stand
    ankle[down] = pivot_pose(np.tile(balls[side], (down.sum(), 1)), ball_point(skel, side), yaw[down], pitch[down])
    gap = (times > t_stand) & (times < t_back)
    ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, side, (times[gap] - t_stand) / (t_back - t_stand),
                                                       (flat, yaw[0], 0.0, 0.0), (ankle[-1], yaw[0], 0.0, 0.0), 0.07)
    ankle, yaw, pitch, toe, flat, tucked = feet[front]
    tucked_until = times <= t_lift
    ankle[tucked_until], pitch[tucked_until], toe[tucked_until] = tucked, tuck, -tuck
    gap = (times > t_lift) & (times < t_front)
    ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, front, (times[gap] - t_lift) / (t_front - t_lift),
                                                       (tucked, yaw[0], tuck, -tuck), (ankle[-1], yaw[0], 0.0, 0.0), 0.12)
    progress = (times[gap] - t_lift) / (t_front - t_lift)
    pitch[gap] = tuck * (1.0 - min_jerk((progress - 0.4) / 0.6))  # the toes trail, clear of the floor
    ankle[gap, 2] += np.maximum(0.04 * np.sin(np.pi * progress) ** 0.5 - lowest_sole(skel, front, ankle[gap], yaw[gap], pitch[gap], toe[gap]), 0.0)
    feet = {s: f[:4] for s, f in feet.items()}
    # down on the knees the hips turn about them (the thigh's elevation: 0 = lying ahead of them, 90 = upright over
    # them), towards the kneeling knee while the front foot steps; then keyframes rise over the front foot
    lying = np.arcsin((CAPSULE_RADIUS["pelvis"] + 0.03 - knee_z) / thigh)  # the pelvis resting on the floor
    quad, lunge = np.radians(rng.uniform(60.0, 70.0)), np.radians(rng.uniform(75.0, 85.0))
    elevation = PchipInterpolator([0.0, t_propped, t_quad, t_front, t_hands, t_up - 0.15, t_up],
                                  [lying, lying, quad, quad, quad, lunge, lunge])(np.minimum(times, t_up))
    over_knee = 0.5 * float(stance[side][0][0, 1]) * min_jerk((times - t_quad) / (t_lift - t_quad))
    hips = np.column_stack([thigh * np.cos(elevation), over_knee, knee_z + thigh * np.sin(elevation)])
    keys = [Key(0.0, facing=(0.0, 85.0, 0.0), joints={**trunk(0.0, -15.0), **arms(rng, ("forward", "forward"))}), Key(t_press),
            Key(t_propped, facing=(0.0, 82.0, 0.0), joints=trunk(-rng.uniform(25.0, 40.0), -20.0)),
            Key(t_quad, facing=(0.0, rng.uniform(78.0, 85.0), 0.0), joints=trunk(rng.uniform(10.0, 20.0), -10.0)),
            Key(t_lift),
            Key(t_front, facing=(0.0, rng.uniform(50.0, 58.0), 0.0), joints=trunk(rng.uniform(50.0, 60.0), -10.0)),  # the back rounds
            Key(t_hands), Key(t_up, facing=(0.0, rng.uniform(25.0, 35.0), 0.0), joints=trunk(rng.uniform(10.0, 20.0)))]
    person = animate(keys, skel, times)
    hip_mid = (skel.offsets[skel.index("L_Hip")] + skel.offsets[skel.index("R_Hip")]) / 2
    on_knees = hips - Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]]).apply(hip_mid)
    lunging = tuple(on_knees[times <= t_up][-1])
    rise = [Key(t_up - 0.15, root=lunging), Key(t_up, root=lunging),  # from rest
            Key(t_stand, root=((front_x + behind_x) / 2, float(stance[front][0][0, 1]) * 0.6, STAND_HEIGHT - 0.03),
                facing=(0.0, 5.0, 0.0), joints={**trunk(5.0), **ARMS_DOWN}),
            Key(t_back, root=(front_x - skel.rest_positions[skel.index(f"{side}_Ankle"), 0], 0.0, STAND_HEIGHT),
                facing=(0.0, 0.0, 0.0), joints=trunk(0.0)),
            Key(end)]
    person = animate(sorted(keys + rise, key=lambda key: key.t), skel, times)
    person.root_pos[times <= t_up] = on_knees[times <= t_up]
    # the knees point where the pelvis faces while lying (down), then forward (down and forward while on all fours,
    # where the thigh leans back from the hip)
    root_rot = Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    ahead = min_jerk((times - (t_propped + t_quad) / 2) / ((t_quad - t_propped) / 2))[:, None]
    poles = {s: (1.0 - ahead) * root_rot.apply([1.0, 0.1 * SIDE_SIGN[s], 0.0]) + ahead * [1.0, 0.1 * SIDE_SIGN[s], 0.0]
             for s in "LR"}
    person = stand_on(person, skel, feet, poles)
    # the palms flat on the floor from lying to the lunge, at spots the shoulders reach pressed up, on all fours and
    # lunging; placed again wherever the pelvis moves (off the floor, balanced)
    positions = body_positions(person, skel)
    pushing = (times >= t_propped) & (times <= t_hands)
    spots = {s: (float(np.mean(positions[pushing, skel.index(f"{s}_Shoulder"), 0])),
                 float(np.mean(positions[pushing, skel.index(f"{s}_Shoulder"), 1])) + SIDE_SIGN[s] * 0.08) for s in "LR"}
    on_floor = 1.0 - min_jerk((times - t_hands) / HANDS_OFF_S)
    arm_joints = [skel.index(f"{s}_{joint}") - 1 for s in "LR" for joint in ("Shoulder", "Elbow", "Wrist")]
    free_arms = person.joint_rot[:, arm_joints].copy()

    def hands_down(person: PersonMotion) -> PersonMotion:  # from the keyframed arms each time
        person = PersonMotion(person.root_pos, person.root_rot, person.joint_rot.copy())
        person.joint_rot[:, arm_joints] = free_arms
        person = _hands_on_floor(person, skel, 0.0, (0.0, 0.0), spots, on_floor, PALM_WRIST_HEIGHT, PUSH_UP_ELBOWS, free_elbows=True)
        return _hands_flat(person, skel, on_floor, {"L": (1.0, 0.3), "R": (1.0, -0.3)})

    person = hands_down(place_feet(_clear_of_floor(hands_down(person), skel), skel, feet, poles))
    person = hands_down(rebalanced(person, skel, KNEEL_BALANCE_PASSES, keep_knees=True))
    person = _anywhere(rng, person)
    return family_clip(clip_name("prone_get_up", rng), [person], "prone_get_up", dict(side=side, hold=hold))
