"""Families on planted feet: standing with sway and weight shifts, arm poses (forward, raised, out),
bending forward, squatting, crouching to reach low.

Each is a few random keyframes (`motion_lib.keyframes.Key`, PCHIP-interpolated) with both feet flat
and still; the legs are placed on the feet by IK and the pelvis is lowered wherever it is too high
for a leg to reach (`feet.stand_on`).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip
from motion_lib.families.common import STAND_HEIGHT, clip_name, family_clip, min_jerk, placed, skeleton, times_for, uniform
from motion_lib.families.feet import flat_feet, stand_on
from motion_lib.formats.common import body_positions
from motion_lib.keyframes.animate import Key, animate
from motion_lib.keyframes.limbs import elbow_pole, reach
from motion_lib.keyframes.poses import trunk


def mirror_arm(angles: tuple[float, float, float]) -> tuple[float, float, float]:
    """The right arm's angles for the left arm's `angles` (the sagittal mirror negates x and z)."""
    return (-angles[0], angles[1], -angles[2])


def arm_pose(rng: np.random.Generator, kind: str) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """Left (shoulder, elbow) angles (degrees) of a named arm pose with random variety:
    "down" (hanging), "forward" (about shoulder height), "raised" (overhead), "out" (to the side),
    "reach_up" (forward and up)."""
    u = rng.uniform
    if kind == "down":
        return (-75.0 + u(-8, 8), u(-10, 10), -10.0 + u(-12, 12)), (0.0, 0.0, -u(5, 40))
    if kind == "forward":
        return (u(-10, 10), -u(0, 35), -u(75, 95)), (0.0, 0.0, -u(0, 30))
    if kind == "reach_up":
        return (u(-10, 10), -u(40, 70), -u(75, 95)), (0.0, 0.0, -u(0, 20))
    if kind == "raised":
        return (u(70, 95), u(-10, 10), -u(0, 30)), (0.0, 0.0, -u(0, 30))
    if kind == "out":
        return (u(-20, 15), u(-10, 10), -u(0, 25)), (0.0, 0.0, -u(0, 30))
    raise ValueError(kind)


def arms(rng: np.random.Generator, kinds: tuple[str, str] | None = None) -> dict[str, tuple[float, float, float]]:
    """Joint angles of both arms; `kinds` = (left, right) pose names, random if None (often the same)."""
    names = ("down", "forward", "reach_up", "raised", "out")
    if kinds is None:
        left = str(rng.choice(names))
        kinds = (left, left if rng.random() < 0.7 else str(rng.choice(names)))
    (ls, le), (rs, re) = arm_pose(rng, kinds[0]), arm_pose(rng, kinds[1])
    return {"L_Shoulder": ls, "L_Elbow": le, "R_Shoulder": mirror_arm(rs), "R_Elbow": mirror_arm(re)}


def _place(heading: Rotation, x: float, y: float, forward: float, left: float) -> tuple[float, float]:
    dx, dy, _ = heading.apply([forward, left, 0.0])
    return x + dx, y + dy


def _stood(keys: list[Key], times: np.ndarray, feet: dict) -> object:
    skel = skeleton()
    return stand_on(animate(keys, skel, times), skel, feet)


def stand(rng: np.random.Generator, duration: float | None = None, width: float | None = None) -> Clip:
    """Standing 3-8 s: the pelvis sways and shifts the weight from foot to foot (up to 8 cm), the trunk,
    head and arms move a little; feet `width` (0-0.15 m) wider than the rest stance."""
    duration, width = uniform(rng, duration, 3.0, 8.0), uniform(rng, width, 0.0, 0.15)
    times, yaw = times_for(duration), rng.uniform(-180.0, 180.0)
    heading = Rotation.from_euler("z", yaw, degrees=True)
    keys, t = [], 0.0
    pose = arms(rng, ("down", "down"))
    while t < duration + 1.0:
        shift = rng.uniform(-1.0, 1.0) * (0.02 + (0.06 if rng.random() < 0.4 else 0.01) * rng.random())
        root = (*_place(heading, 0.0, 0.0, rng.uniform(-0.02, 0.02), shift), rng.uniform(0.925, 0.945))
        if rng.random() < 0.3:
            pose = arms(rng, ("down", "down"))
        keys.append(Key(t, root=root, facing=(yaw + rng.uniform(-6, 6), rng.uniform(-2, 3), 25.0 * shift),
                        joints={**trunk(rng.uniform(-3, 5), rng.uniform(-10, 10)), **pose}))
        t += rng.uniform(0.8, 1.8)
    feet = flat_feet(skeleton(), len(times), 0.0, 0.0, yaw, width, toe_out=rng.uniform(0.0, 12.0))
    return family_clip(clip_name("stand", rng), [_stood(keys, times, feet)], "stand",
                       dict(duration=times[-1], width=width))


def arm_poses(rng: np.random.Generator, count: int | None = None) -> Clip:
    """Standing, the arms go through `count` (2-4) poses: forward, raised overhead, out to the side,
    reaching forward and up, hanging; each held 0.3-1 s."""
    count = int(rng.integers(2, 5)) if count is None else count
    yaw = rng.uniform(-180.0, 180.0)
    keys, t = [Key(0.0, root=(0.0, 0.0, STAND_HEIGHT), facing=(yaw, 0.0, 0.0), joints={**trunk(0.0), **arms(rng, ("down", "down"))})], 0.0
    for _ in range(count):
        t += rng.uniform(0.3, 0.8)
        keys.append(Key(t))
        t += rng.uniform(0.6, 1.4)
        keys.append(Key(t, root=(rng.uniform(-0.02, 0.03), rng.uniform(-0.02, 0.02), rng.uniform(0.925, 0.945)),
                        facing=(yaw + rng.uniform(-8, 8), rng.uniform(-3, 4), 0.0), joints={**trunk(rng.uniform(-8, 6)), **arms(rng)}))
    t += rng.uniform(0.3, 1.0)
    keys += [Key(t), Key(t + rng.uniform(0.6, 1.2), joints=arms(rng, ("down", "down")))]
    keys.append(Key(max(keys[-1].t + 0.3, 3.0)))
    times = times_for(keys[-1].t)
    feet = flat_feet(skeleton(), len(times), 0.0, 0.0, yaw, rng.uniform(0.0, 0.12), toe_out=rng.uniform(0.0, 10.0))
    return family_clip(clip_name("arm_poses", rng), [_stood(keys, times, feet)], "arm_poses", dict(count=count, duration=times[-1]))


def _down_and_up(rng: np.random.Generator, low: dict, stand_arms: dict, repeats: int) -> list[Key]:
    """Keys standing -> `low` (Key fields as a dict) -> standing, `repeats` times, with random timing."""
    keys, t = [Key(0.0, root=(0.0, 0.0, STAND_HEIGHT), facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms})], 0.0
    for _ in range(repeats):
        t += rng.uniform(0.3, 0.8)
        keys.append(Key(t, root=(0.0, 0.0, STAND_HEIGHT), facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms}))
        t += rng.uniform(1.0, 1.6)
        keys.append(Key(t, **low))
        t += rng.uniform(0.3, 1.0)
        keys.append(Key(t, **low))
        t += rng.uniform(1.0, 1.6)
        keys.append(Key(t, root=(0.0, 0.0, STAND_HEIGHT), facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms}))
    keys.append(Key(t + rng.uniform(0.3, 0.8)))
    return keys


def bend(rng: np.random.Generator, depth: float | None = None, repeats: int | None = None) -> Clip:
    """Bend forward from the hips by `depth` degrees (40-100, root pitch plus trunk flexion), the hips
    going back, knees a little bent, arms hanging towards the floor; back up; 1-2 times."""
    depth = uniform(rng, depth, 40.0, 100.0)
    repeats = int(rng.integers(1, 3)) if repeats is None else repeats
    pitch = 0.6 * depth
    low = dict(root=(-0.25 * np.sin(np.radians(pitch)), 0.0, STAND_HEIGHT - rng.uniform(0.02, 0.1) - 0.04 * depth / 100),
               facing=(0.0, pitch, 0.0), joints={**trunk(depth - pitch, -10.0), **arms(rng, ("down", "down"))})
    yaw = rng.uniform(-180.0, 180.0)
    keys = placed(_down_and_up(rng, low, arms(rng, ("down", "down")), repeats), yaw)
    times = times_for(keys[-1].t)
    feet = flat_feet(skeleton(), len(times), 0.0, 0.0, yaw, rng.uniform(0.0, 0.15), toe_out=rng.uniform(0.0, 10.0))
    return family_clip(clip_name("bend", rng), [_stood(keys, times, feet)], "bend", dict(depth=depth, repeats=repeats))


def squat(rng: np.random.Generator, height: float | None = None, repeats: int | None = None) -> Clip:
    """Squat down until the pelvis is `height` m high (0.5-0.7), feet apart and turned out, trunk
    leaning forward, arms forward for balance; back up; 1-2 times."""
    height = uniform(rng, height, 0.5, 0.7)
    repeats = int(rng.integers(1, 3)) if repeats is None else repeats
    depth = (STAND_HEIGHT - height) / (STAND_HEIGHT - 0.45)
    low = dict(root=(-rng.uniform(0.08, 0.15) * depth, 0.0, height), facing=(0.0, 15.0 + 20.0 * depth, 0.0),
               joints={**trunk(rng.uniform(5.0, 20.0)), **arms(rng, ("forward", "forward"))})
    yaw = rng.uniform(-180.0, 180.0)
    keys = placed(_down_and_up(rng, low, arms(rng, ("down", "down")), repeats), yaw)
    times = times_for(keys[-1].t)
    feet = flat_feet(skeleton(), len(times), 0.0, 0.0, yaw, rng.uniform(0.05, 0.2), toe_out=rng.uniform(3.0, 15.0),
                     forward=0.05 * depth)
    return family_clip(clip_name("squat", rng), [_stood(keys, times, feet)], "squat", dict(height=height, repeats=repeats))


def crouch_reach(rng: np.random.Generator, height: float | None = None, side: str | None = None) -> Clip:
    """Crouch (pelvis `height` m, 0.5-0.75, trunk forward) and reach with one hand (or both) to a point
    low in front or to the side (wrist 0.1-0.45 m above the floor), then stand up again."""
    height = uniform(rng, height, 0.5, 0.75)
    side = str(rng.choice(["L", "R", "both"])) if side is None else side
    depth = (STAND_HEIGHT - height) / (STAND_HEIGHT - 0.45)
    lean = rng.uniform(20.0, 45.0)
    low = dict(root=(-0.1 * depth, 0.0, height), facing=(0.0, lean, 0.0),
               joints={**trunk(rng.uniform(10.0, 30.0), -15.0), **arms(rng, ("forward", "forward"))})
    yaw = rng.uniform(-180.0, 180.0)
    keys = placed(_down_and_up(rng, low, arms(rng, ("down", "down")), 1), yaw)
    times = times_for(keys[-1].t)
    skel = skeleton()
    feet = flat_feet(skel, len(times), 0.0, 0.0, yaw, rng.uniform(0.05, 0.2), toe_out=rng.uniform(3.0, 15.0))
    person = stand_on(animate(keys, skel, times), skel, feet)
    weight = min_jerk((times - keys[1].t) / (keys[2].t - keys[1].t)) * (1.0 - min_jerk((times - keys[3].t) / (keys[4].t - keys[3].t)))
    heading = Rotation.from_euler("z", yaw, degrees=True)
    target = heading.apply([rng.uniform(0.35, 0.6), rng.uniform(-0.25, 0.25), rng.uniform(0.1, 0.45)])
    for s in ("L", "R") if side == "both" else (side,):
        spot = target + heading.apply([0.0, 0.12 if s == "L" else -0.12, 0.0]) * (side == "both")
        wrist = body_positions(person, skel)[:, skel.index(f"{s}_Wrist")]
        person = reach(person, skel, s, wrist + weight[:, None] * (spot - wrist), elbow_pole(person, s))
    return family_clip(clip_name("crouch_reach", rng), [person], "crouch_reach",
                       dict(height=height, side=side, target=[round(float(v), 3) for v in target]))
