"""Families that go down to a seat, the floor or the knees and back: sitting down on and standing up
from a chair at several seat heights (the clip records its chair), floor-sitting to standing and back,
kneeling, lying to sitting.

Keyframed like the standing families; feet planted by IK, the pelvis lowered where a leg cannot reach.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip
from motion_lib.families.common import STAND_HEIGHT, clip_name, family_clip, placed, skeleton, times_for, uniform
from motion_lib.families.feet import flat_feet, stand_on
from motion_lib.families.standing import arms
from motion_lib.keyframes.animate import Key, animate
from motion_lib.keyframes.poses import ARMS_DOWN, ARMS_ON_LAP, trunk
from motion_lib.seats import seat_under

SEAT_HEIGHTS = (0.35, 0.55)
"""Seat heights (metres) `sit_stand` draws from."""
PELVIS_ABOVE_SEAT = 0.16
"""Seated, the pelvis joint is this far above the seat (the hips a thigh radius above it)."""

# Rising from a seat, as fractions: (time, forward travel, rise, root pitch, trunk flexion); sitting down
# is the same sequence backwards. The demo clips' `_RISE` for a 0.43 m seat, normalised.
_RISE = ((0.0, 0.0, 0.0, 0.0, 5.0), (0.23, 0.12, 0.0, 25.0, 15.0), (0.43, 0.35, 0.14, 35.0, 15.0),
         (0.63, 0.7, 0.54, 25.0, 8.0), (0.83, 0.94, 0.91, 8.0, 2.0), (1.0, 1.0, 1.0, 0.0, 0.0))


def rise_keys(start: float, duration: float, seated: tuple, standing: tuple, lean: float, joints_end: dict,
          sit_down: bool = False) -> list[Key]:
    """Keys rising from `seated` (x, z) to `standing` (x, z) over `duration` s from `start` (or the reverse)."""
    keys = []
    order = range(len(_RISE) - 1, -1, -1) if sit_down else range(len(_RISE))
    for i in order:
        frac, forward, rise, pitch, flexion = _RISE[i]
        t = start + duration * ((1.0 - frac) if sit_down else frac)
        x = seated[0] + forward * (standing[0] - seated[0])
        z = seated[1] + rise * (standing[1] - seated[1])
        joints = {**trunk(flexion * lean)}
        if (i == len(_RISE) - 1) and not sit_down:
            joints.update(joints_end)
        keys.append(Key(t, root=(x, 0.0, z), facing=(0.0, pitch * lean, 0.0), joints=joints))
    return keys


def sit_stand(rng: np.random.Generator, seat_height: float | None = None, mode: str | None = None) -> Clip:
    """Sit down on a chair of `seat_height` m (0.35-0.55) and/or stand up from it: `mode` "sit_stand"
    (sit, pause, stand), "sit" (stand, sit down, stay) or "stand" (start seated, stand up). Lower seats
    need more forward lean. `Clip.furniture` holds the chair, placed under the seated person (`motion_lib.seats`)."""
    seat = uniform(rng, seat_height, *SEAT_HEIGHTS)
    mode = str(rng.choice(["sit_stand", "sit", "stand"])) if mode is None else mode
    lean = 1.0 + 2.5 * (0.4318 - seat) + rng.uniform(-0.1, 0.2)
    feet_x = 0.38 + rng.uniform(-0.04, 0.03) - 0.3 * (seat - 0.4318)
    seated, standing = (0.0, seat + PELVIS_ABOVE_SEAT), (feet_x - 0.04, STAND_HEIGHT)
    rise, lap = rng.uniform(1.8, 2.6), {**ARMS_ON_LAP} if rng.random() < 0.6 else arms(rng, ("down", "down"))
    stand_pose = {**trunk(0.0), **ARMS_DOWN}
    if mode == "stand":
        keys = [Key(0.0, root=(0.0, 0.0, seated[1]), facing=(0.0, 0.0, 0.0), joints={**trunk(5.0 * lean), **lap})]
        keys += rise_keys(rng.uniform(0.5, 1.2), rise, seated, standing, lean, ARMS_DOWN)
    else:
        t0 = rng.uniform(0.3, 0.8)
        keys = [Key(0.0, root=(standing[0], 0.0, STAND_HEIGHT), facing=(0.0, 0.0, 0.0), joints=stand_pose)]
        keys += rise_keys(t0, rise, seated, standing, lean, {}, sit_down=True)
        keys.append(Key(keys[-1].t + 0.5, joints=lap))
        if mode == "sit_stand":
            keys += rise_keys(keys[-1].t + rng.uniform(0.3, 1.2), rise, seated, standing, lean, ARMS_DOWN)
    keys.append(Key(keys[-1].t + rng.uniform(0.5, 1.0)))
    yaw, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    heading = Rotation.from_euler("z", yaw, degrees=True)
    keys = placed(keys, yaw, place)
    times = times_for(keys[-1].t)
    skel = skeleton()
    feet_xy = place + heading.apply([feet_x, 0.0, 0.0])[:2]
    feet = flat_feet(skel, len(times), feet_xy[0], feet_xy[1], yaw, rng.uniform(0.0, 0.12), toe_out=rng.uniform(0.0, 10.0))
    person = stand_on(animate(keys, skel, times), skel, feet)
    return family_clip(clip_name("sit_stand", rng), [person], "sit_stand", dict(seat_height=seat, mode=mode, lean=lean),
                       [seat_under(person, skel)], scene="chair")
