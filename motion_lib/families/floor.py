"""Families down on the floor: floor-sitting to standing and back, kneeling on one knee, lying to sitting.

Keyframed pelvis and trunk; feet planted (flat, or on the ball with the toes tucked, or on the heel with
the legs stretched out) and placed by IK; hands pushing on the floor by IK where the motion needs them
(`floor_contact`).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip
from motion_lib.families.balance import rebalanced
from motion_lib.families.common import STAND_HEIGHT, clip_name, family_clip, min_jerk, placed, skeleton, times_for, uniform
from motion_lib.families.feet import ball_point, flat_feet, pivot_pose, place_feet, stand_on, swing
from motion_lib.families.floor_contact import (
    FLOOR_SIT_HEIGHT,
    anywhere,
    clear_of_floor,
    on_the_hips,
    propped_on_hands,
    pushing_up,
    rise_phases,
    stretched_legs,
)
from motion_lib.families.standing import arms
from motion_lib.formats.common import body_positions
from motion_lib.keyframes.animate import Key, animate
from motion_lib.keyframes.poses import ARMS_DOWN, trunk
from motion_lib.skeleton import CAPSULE_RADIUS

KNEEL_BALANCE_PASSES = 8
"""`balance.rebalanced` passes for a kneel: its 0.75-0.85 m step back swings the leg far, and 3 passes leave the
zero-moment point up to 0.5 m off the feet at the touch-down; 8 close it."""


def floor_sit_stand(rng: np.random.Generator, mode: str | None = None) -> Clip:
    """Sitting on the floor (knees bent, feet flat) -> hands push on the floor, lean forward into a deep
    crouch over the feet -> stand up; `mode` "up", "down" (the reverse) or "down_up"."""
    mode = str(rng.choice(["up", "down", "down_up"])) if mode is None else mode
    feet_x = rng.uniform(0.5, 0.6)
    sit = [Key(0.0, root=(0.0, 0.0, FLOOR_SIT_HEIGHT), facing=(0.0, -rng.uniform(10, 25), 0.0),
               joints={**trunk(rng.uniform(15, 25), -10.0), **arms(rng, ("down", "down"))})]
    phases = rise_phases(rng, feet_x)
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
    person = pushing_up(rebalanced(stand_on(animate(keys, skel, times), skel, feet), skel), skel, yaw, place)
    return family_clip(clip_name("floor_sit_stand", rng), [person], "floor_sit_stand", dict(mode=mode, feet_x=feet_x))


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
    person = on_the_hips(animate(keys, skel, times), skel)
    person = propped_on_hands(place_feet(clear_of_floor(person, skel), skel, stretched_legs(rng, person, skel)), skel)
    person = anywhere(rng, person)
    return family_clip(clip_name("lie_to_sit", rng), [person], "lie_to_sit", dict(mode=mode))
