"""The built-in demo clips: two assisted rises (supporter = person 0, recipient = person 1) and three
single-person clips for the motion prior, SMPL skeleton, 30 fps.

Every clip is a pure function of the keyframes below (no randomness), made with the keyframe toolkit
(`motion_lib.keyframes`): keyframes interpolated with PCHIP curves, then analytic two-bone IK for
planted feet, the recipient's hands at a grip point between the two persons, and the supporter's
hands on the recipient's forearms (help-up: around them from above, to grip and pull along the arms), under a
forearm (chair: to push the arm up) or on their back.

Scenery: the floor (z = 0) everywhere, and in the chair clips a chair (`Clip.furniture`) placed from the
motion under the seated person (`motion_lib.seats.seat_under`: the standard chair's footprint, its seat at
the underside of the pelvis and thighs while seated, 0.414 m).
"""

from __future__ import annotations

import numpy as np

from motion_lib.clip import Clip, PersonMotion
from motion_lib.keyframes.animate import FPS, Key, animate, frame_times, ramp
from motion_lib.keyframes.holds import hand_on_back, hold_forearm, reach_for_grip
from motion_lib.keyframes.limbs import plant_feet, standing_feet
from motion_lib.keyframes.poses import (
    ARMS_DOWN,
    ARMS_FORWARD_UP,
    ARMS_ON_LAP,
    ARMS_REACH,
    FOREARM_OUT,
    LEFT_ARM_DOWN,
    trunk,
)
from motion_lib.seats import seat_under
from motion_lib.skeleton import get_skeleton

SKELETON = "smpl"
def _clip(name: str, persons: list[PersonMotion], furniture=(), **source) -> Clip:
    return Clip(name=name, fps=FPS, skeleton=SKELETON, persons=persons,
                source={"format": "demo", "generator": "motion_lib.demo_clips", **source},
                furniture=list(furniture)).validate()


_FLOOR_RECIPIENT = [
    Key(0.0, root=(0.0, 0.0, 0.15), facing=(0.0, -25.0, 0.0), joints={**trunk(20.0, -10.0), **ARMS_FORWARD_UP}),
    Key(0.6, root=(0.0, 0.0, 0.15), facing=(0.0, -25.0, 0.0)),
    Key(1.6, root=(0.02, 0.0, 0.15), facing=(0.0, -12.0, 0.0), joints=trunk(28.0, -12.0)),
    Key(2.2, root=(0.04, 0.0, 0.17), facing=(0.0, -5.0, 0.0), joints=trunk(25.0, -5.0)),
    Key(2.8, root=(0.18, 0.0, 0.34), facing=(0.0, 10.0, 0.0), joints=trunk(30.0, -5.0)),
    Key(3.4, root=(0.36, 0.0, 0.56), facing=(0.0, 18.0, 0.0), joints=trunk(22.0, 0.0)),
    Key(4.0, root=(0.50, 0.0, 0.80), facing=(0.0, 10.0, 0.0), joints=trunk(8.0, 0.0)),
    Key(4.6, root=(0.56, 0.0, 0.93), facing=(0.0, 2.0, 0.0), joints=trunk(0.0, 0.0)),
    Key(5.5, root=(0.57, 0.0, 0.94), facing=(0.0, 0.0, 0.0)),
]
_FLOOR_SUPPORTER = [
    Key(0.0, root=(1.1, 0.0, 0.94), facing=(180.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN}),
    Key(0.6, root=(1.1, 0.0, 0.94)),
    Key(1.8, root=(1.18, 0.0, 0.64), facing=(180.0, 45.0, 0.0), joints={**trunk(15.0, -10.0), **ARMS_REACH}),
    Key(2.2, root=(1.19, 0.0, 0.64)),
    Key(2.8, root=(1.24, 0.0, 0.68), facing=(180.0, 25.0, 0.0)),
    Key(3.4, root=(1.22, 0.0, 0.78), facing=(180.0, 10.0, 0.0), joints=trunk(8.0, -5.0)),
    Key(4.0, root=(1.17, 0.0, 0.88), facing=(180.0, 3.0, 0.0), joints=trunk(3.0, 0.0)),
    Key(4.6, root=(1.12, 0.0, 0.93), facing=(180.0, 0.0, 0.0), joints=trunk(0.0, 0.0)),
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
    _, root, pitch, flexion = _RISE[index]
    return Key(t, root=root, facing=(0.0, pitch, 0.0), joints={**trunk(flexion), **(joints or {})})


def _rise_keys(start: float, duration: float, sit_down: bool = False) -> list[Key]:
    """Keys of rising from the chair (or sitting down) from `start` over `duration` seconds."""
    scale, end = duration / _RISE[-1][0], _RISE[-1][0]
    order = range(len(_RISE) - 1, -1, -1) if sit_down else range(len(_RISE))
    return [_rise_pose(start + scale * (end - _RISE[i][0] if sit_down else _RISE[i][0]), i) for i in order]


_CHAIR_RECIPIENT = [
    _rise_pose(0.0, 0, {**ARMS_ON_LAP, **FOREARM_OUT}),
    *_rise_keys(1.2, 3.0),
    Key(4.2, joints=LEFT_ARM_DOWN),
    Key(5.0),
]
_CHAIR_SUPPORTER = [
    Key(0.0, root=(0.22, -0.52, 0.94), facing=(75.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN}),
    Key(0.3, root=(0.22, -0.52, 0.94)),
    Key(1.2, root=(0.21, -0.57, 0.70), facing=(75.0, 25.0, 0.0), joints=trunk(10.0)),
    Key(1.9, root=(0.21, -0.57, 0.68), facing=(75.0, 30.0, 0.0)),
    Key(2.5, root=(0.21, -0.57, 0.70), facing=(75.0, 25.0, 0.0)),
    Key(3.1, root=(0.22, -0.55, 0.81), facing=(75.0, 15.0, 0.0), joints=trunk(5.0)),
    Key(3.7, root=(0.22, -0.53, 0.91), facing=(75.0, 6.0, 0.0), joints=trunk(2.0)),
    Key(4.2, root=(0.22, -0.52, 0.94), facing=(75.0, 2.0, 0.0), joints=trunk(0.0)),
    Key(5.0, root=(0.22, -0.52, 0.94)),
]


def support_rise_from_chair() -> Clip:
    """The recipient sits on a chair; the supporter at their right puts the left hand on
    the recipient's back and the right hand under the recipient's right forearm, and they rise together (5 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(5.0)
    recipient = animate(_CHAIR_RECIPIENT, skeleton, times)
    recipient = plant_feet(recipient, skeleton, standing_feet(skeleton, times, _CHAIR_FEET_X, 0.0, 0.0))
    supporter = animate(_CHAIR_SUPPORTER, skeleton, times)
    supporter = plant_feet(supporter, skeleton, standing_feet(skeleton, times, 0.22, -0.52, 75.0, width=0.1))
    supporter = hold_forearm(supporter, recipient, skeleton, "R", "R", ramp(times, 0.4, 1.3), from_below=True)
    supporter = hand_on_back(supporter, recipient, skeleton, "L", ramp(times, 0.3, 1.2))
    return _clip("support_rise_from_chair", [supporter, recipient], [seat_under(recipient, skeleton)], scene="chair")


_STAND = [
    Key(0.0, root=(0.0, 0.0, 0.94), facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN}),
    Key(1.0, root=(0.012, 0.010, 0.942), facing=(0.0, 1.0, 0.5), joints=trunk(1.0)),
    Key(2.0, root=(0.0, -0.012, 0.939), facing=(0.0, 0.0, -0.5), joints=trunk(-0.5)),
    Key(3.0, root=(-0.010, 0.006, 0.941), facing=(0.0, -0.5, 0.3), joints=trunk(0.5)),
    Key(4.0, root=(0.0, 0.0, 0.94), facing=(0.0, 0.0, 0.0), joints=trunk(0.0)),
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
    Key(0.0, root=(0.0, 0.0, 0.92), facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **ARMS_DOWN}),
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
    _rise_pose(0.0, -1, ARMS_DOWN),
    *_rise_keys(0.4, 2.25, sit_down=True),
    Key(2.65, joints=ARMS_ON_LAP),
    *_rise_keys(3.25, 2.25),
    Key(5.5, joints=ARMS_DOWN),
    Key(6.0),
]


def sit_down_stand_up() -> Clip:
    """Sit down on a chair, pause, and stand up again, feet planted (6 s)."""
    skeleton = get_skeleton(SKELETON)
    times = frame_times(6.0)
    person = animate(_SIT_DOWN_STAND_UP, skeleton, times)
    person = plant_feet(person, skeleton, standing_feet(skeleton, times, _CHAIR_FEET_X, 0.0, 0.0))
    return _clip("sit_down_stand_up", [person], [seat_under(person, skeleton)], scene="chair")


ASSIST_CLIPS = (help_up_from_floor, support_rise_from_chair)
"""Two-person clips (supporter, recipient): `data/demo/assist.pkl`."""
SINGLE_CLIPS = (stand, step, sit_down_stand_up)
"""Single-person clips for the motion prior: `data/demo/single.pkl`."""


def assist_clips() -> list[Clip]:
    return [make() for make in ASSIST_CLIPS]


def single_clips() -> list[Clip]:
    return [make() for make in SINGLE_CLIPS]
