"""Single-person halves of assistance: being pulled up by the forearms (arms held forward, leaning into
the pull, rising), and each person of the built-in two-person demo clips on its own."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip
from motion_lib.families.common import STAND_HEIGHT, clip_name, family_clip, placed, skeleton, times_for, uniform
from motion_lib.families.feet import flat_feet, stand_on
from motion_lib.families.floor import FLOOR_SIT_HEIGHT
from motion_lib.families.seated import PELVIS_ABOVE_SEAT, rise_keys
from motion_lib.keyframes.animate import Key, animate
from motion_lib.keyframes.poses import ARMS_DOWN, trunk
from motion_lib.seats import seat_under

ROLES = ("supporter", "recipient")


def held_arms(rng: np.random.Generator, raise_deg: float) -> dict[str, tuple[float, float, float]]:
    """Both arms held forward to a helper's hands: raised `raise_deg` degrees above horizontal-forward
    (negative: below), elbows slightly bent, a little apart."""
    spread, elbow = rng.uniform(75.0, 90.0), rng.uniform(10.0, 35.0)
    return {"L_Shoulder": (0.0, -raise_deg, -spread), "R_Shoulder": (0.0, -raise_deg, spread),
            "L_Elbow": (0.0, 0.0, -elbow), "R_Elbow": (0.0, 0.0, elbow)}


def pulled_up(rng: np.random.Generator, mode: str | None = None, speed: float | None = None) -> Clip:
    """Being pulled by the forearms, arms held forward: `mode` "floor" (from sitting on the floor, leaning
    into the pull, the pelvis coming forward over the feet, up to standing, as the recipient of the demo
    help-up), "chair" (rising from a chair of 0.38-0.5 m, which the clip carries) or "lean" (standing,
    pulled forward into a lean and back, feet planted). `speed` scales the timing (0.8-1.25)."""
    mode = str(rng.choice(["floor", "floor", "chair", "lean"])) if mode is None else mode
    if mode == "chair":
        return _pulled_from_chair(rng, uniform(rng, speed, 0.8, 1.25))
    speed = uniform(rng, speed, 0.8, 1.25)
    feet_x = rng.uniform(0.55, 0.65) if mode == "floor" else 0.0
    if mode == "floor":
        lean = rng.uniform(0.8, 1.2)
        path = [  # (time, pelvis, root pitch, trunk flexion, arm raise)
            (0.0, (0.0, 0.0, FLOOR_SIT_HEIGHT), -25.0, 20.0, 35.0),
            (0.6, (0.0, 0.0, FLOOR_SIT_HEIGHT), -25.0, 20.0, 35.0),
            (1.6, (0.02, 0.0, FLOOR_SIT_HEIGHT), -12.0, 28.0, 30.0),
            (2.2, (0.05, 0.0, FLOOR_SIT_HEIGHT + 0.02), -5.0, 25.0, 25.0),
            (2.8, (feet_x * 0.3, 0.0, 0.34), 10.0 * lean, 30.0, 15.0),
            (3.4, (feet_x * 0.6, 0.0, 0.56), 18.0 * lean, 22.0, 5.0),
            (4.0, (feet_x - 0.12, 0.0, 0.80), 10.0 * lean, 8.0, 0.0),
            (4.6, (feet_x - 0.06, 0.0, 0.93), 2.0, 0.0, -10.0),
            (5.5, (feet_x - 0.05, 0.0, STAND_HEIGHT), 0.0, 0.0, -10.0),
        ]
    else:
        reach = rng.uniform(0.08, 0.2)
        path = [(0.0, (0.0, 0.0, STAND_HEIGHT), 0.0, 0.0, -5.0), (0.6, (0.0, 0.0, STAND_HEIGHT), 0.0, 0.0, 0.0),
                (1.6, (reach, 0.0, STAND_HEIGHT - 0.03), rng.uniform(8, 16), rng.uniform(5, 15), 5.0),
                (2.4, (reach, 0.0, STAND_HEIGHT - 0.03), rng.uniform(8, 16), rng.uniform(5, 15), 5.0),
                (3.4, (0.0, 0.0, STAND_HEIGHT), 0.0, 0.0, 0.0), (4.0, (0.0, 0.0, STAND_HEIGHT), 0.0, 0.0, 0.0)]
    keys = [Key(t / speed, root=root, facing=(0.0, pitch, 0.0), joints={**trunk(flexion, -5.0), **held_arms(rng, raise_deg)})
            for t, root, pitch, flexion, raise_deg in path]
    keys.append(Key(keys[-1].t + 0.5, joints=ARMS_DOWN if mode == "floor" else {}))
    yaw, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    keys = placed(keys, yaw, place)
    times = times_for(keys[-1].t)
    skel = skeleton()
    centre = Rotation.from_euler("z", yaw, degrees=True).apply([feet_x, 0.0, 0.0])[:2] + place
    feet = flat_feet(skel, len(times), centre[0], centre[1], yaw, rng.uniform(0.05, 0.2), toe_out=rng.uniform(0.0, 12.0))
    person = stand_on(animate(keys, skel, times), skel, feet)
    return family_clip(clip_name("pulled_up", rng), [person], "pulled_up", dict(mode=mode, speed=speed))


def _pulled_from_chair(rng: np.random.Generator, speed: float) -> Clip:
    """Seated, both arms held forward, leaning into the pull and rising (`pulled_up` "chair")."""
    seat = rng.uniform(0.38, 0.5)
    lean = 1.1 + 2.5 * (0.4318 - seat) + rng.uniform(0.0, 0.2)
    feet_x = 0.38 + rng.uniform(-0.04, 0.03) - 0.3 * (seat - 0.4318)
    seated, standing = (0.0, seat + PELVIS_ABOVE_SEAT), (feet_x - 0.04, STAND_HEIGHT)
    start, rise = rng.uniform(0.6, 1.2) / speed, rng.uniform(1.8, 2.4) / speed
    keys = [Key(0.0, root=(0.0, 0.0, seated[1]), facing=(0.0, 0.0, 0.0), joints={**trunk(5.0), **held_arms(rng, 10.0)})]
    keys += rise_keys(start, rise, seated, standing, lean, held_arms(rng, -5.0))
    keys.append(Key(keys[-1].t + 0.5 / speed, joints=ARMS_DOWN))
    keys.append(Key(keys[-1].t + rng.uniform(1.0, 1.5)))
    yaw, place = rng.uniform(-180.0, 180.0), rng.uniform(-1.0, 1.0, 2)
    keys = placed(keys, yaw, place)
    times = times_for(keys[-1].t)
    skel = skeleton()
    centre = Rotation.from_euler("z", yaw, degrees=True).apply([feet_x, 0.0, 0.0])[:2] + place
    feet = flat_feet(skel, len(times), centre[0], centre[1], yaw, rng.uniform(0.0, 0.12), toe_out=rng.uniform(0.0, 10.0))
    person = stand_on(animate(keys, skel, times), skel, feet)
    return family_clip(clip_name("pulled_up", rng), [person], "pulled_up", dict(mode="chair", speed=speed, seat_height=seat),
                       [seat_under(person, skel)], scene="chair")


@lru_cache(maxsize=1)
def _demo_clips() -> tuple[Clip, ...]:
    from motion_lib.demo_clips import assist_clips  # the demo clips take a second to make: only when asked for

    return tuple(assist_clips())


def demo_person(rng: np.random.Generator, clip: str | None = None, role: str | None = None) -> Clip:
    """One person (`role` "supporter" or "recipient") of a built-in two-person demo clip (`clip`), on its
    own (with the clip's scenery)."""
    demos = {c.name: c for c in _demo_clips()}
    clip = str(rng.choice(sorted(demos))) if clip is None else clip
    role = str(rng.choice(ROLES)) if role is None else role
    demo = demos[clip]
    person = demo.persons[ROLES.index(role)]
    source = {**demo.source, "generator": "motion_lib.families", "family": "demo_person",
              "params": {"clip": clip, "role": role}}
    return dataclasses.replace(demo, name=f"demo_person_{clip}_{role}", persons=[person], source=source).validate()


@lru_cache(maxsize=1)
def _demo_single_clips() -> tuple[Clip, ...]:
    from motion_lib.demo_clips import single_clips

    return tuple(single_clips())


def demo_single(rng: np.random.Generator, clip: str | None = None) -> Clip:
    """One of the built-in single-person demo clips (`clip`: "stand", "step", "sit_down_stand_up"), with its
    scenery (the chair it sits on)."""
    demos = {c.name: c for c in _demo_single_clips()}
    clip = str(rng.choice(sorted(demos))) if clip is None else clip
    demo = demos[clip]
    source = {**demo.source, "generator": "motion_lib.families", "family": "demo_single", "params": {"clip": clip}}
    return dataclasses.replace(demo, name=f"demo_single_{clip}", source=source).validate()


def needs_helper(clip: Clip) -> bool:
    """Whether `clip` is a generated person who is raised by a helper the clip does not hold: a `pulled_up` from the
    floor (it rises with the pelvis 0.36-0.46 m behind the feet, its weight on the helper's pull) or the recipient of
    the help-up demo (`demo_person`). Read from `Clip.source` (kept by mirroring and time-warping); a person alone
    cannot follow these, so a single-person score counts them apart."""
    family, params = clip.source.get("family"), clip.source.get("params", {})
    if family == "pulled_up":
        return params.get("mode") == "floor"
    return family == "demo_person" and params.get("clip") == "help_up_from_floor" and params.get("role") == "recipient"
