"""Locomotion families: walking with turns, turning back, stopping and starting, side steps, back steps, jogging,
running.

Each builds a pelvis track (speed profile x heading) and hands it to `gait.gait_person`. Every clip
starts standing; the speed ramps up with minimum-jerk transitions.
"""

from __future__ import annotations

import numpy as np

from motion_lib.clip import Clip
from motion_lib.families.common import (
    clip_name,
    family_clip,
    min_jerk,
    skeleton,
    smooth_curve,
    times_for,
    uniform,
    wobble,
)
from motion_lib.families.gait import GaitStyle, gait_person
from motion_lib.keyframes.animate import FPS

WALK_SPEEDS = (0.5, 1.8)
"""Walking speeds (m/s) the families draw from."""
RUN_SPEEDS = (2.5, 3.5)
"""Running speeds (m/s) the families draw from. They went to 4.0 from the thirty-ninth session to the forty-first
(a prior trained on runs to 3.5 m/s fell within a second of reaching 3.5-4.5, speeds captured running often has), but
no continuation learnt those, and each lost slower runs: the same continuation with runs to 4.0 tracked 2 fewer of the
`runstop12` clips and 1-4 fewer of `eval40` than with runs to 3.5 (RESULTS, forty-first section). The held-out
`fastrun12` and `fastcruise12` still ask 3.0-4.5."""
RUN_CADENCE_RISE = 0.3
"""Steps/s a run's cruise cadence rises per m/s above 3 m/s (people lengthen and quicken their steps together)."""
JOG_SPEEDS = (1.8, 2.5)
MIN_JERK_PEAK = 1.875
"""A minimum-jerk transition's peak rate over its mean rate."""
RUN_RAMP = ((0.0, 1.6, 0.62), (1.5, 2.3, 0.52), (2.4, 2.6, 0.42))
"""(speed m/s, cadence steps/s, duty factor) a run or jog passes through speeding up from standing (and slowing to a
stop or a walk)."""
RUN_ENDINGS = {"on": 0.4, "stop": 0.35, "turn": 0.25, "walk": 0.0}
"""Shares of runs and jogs that run on to their end, slow down and stop, slow down, turn back and run on, or slow into a
walk, as captured running often ends at the end of the capture volume (the prior before the forty-first session fell
in 15 of 36 held-out runs as they stopped, in 19 of 36 turning back: `runstop12`, `runturn12`). Runs that slow into a
walk are not drawn: the shipped prior tracks them without training on them (`runwalk12`, forty-second session)."""
RUN_STOP_DECELERATION = (1.8, 3.0)
"""Mean deceleration (m/s^2) of a run's stop, drawn uniformly: 0.6-1.9 s from 1.8-3.5 m/s (a minimum-jerk
slow-down peaks at 1.875 times its mean, 3.4-5.6 m/s^2)."""
RUN_STOP_REST = (0.8, 1.5)
"""Seconds a stopped run stands at its end."""
RUN_TURN = {"angle": (150.0, 180.0), "peak_rate": (150.0, 250.0), "slow": (0.2, 0.35), "run_on": (1.0, 2.0)}
"""A run's turn back: by `angle` degrees either way at a peak yaw rate of `peak_rate` deg/s with quick steps
(`GaitStyle.turn_step` 60), slowed to `slow` of its speed, then back at speed for `run_on` s (each drawn uniformly)."""
RUN_WALK = {"speed": (1.0, 1.5), "walk_on": (2.0, 3.0)}
"""A run's slow-down into a walk (`ending` "walk"): to `speed` m/s at a mean deceleration drawn from
`RUN_STOP_DECELERATION`, then walking on for `walk_on` s (each drawn uniformly; the stride follows `RUN_RAMP`)."""
RUN_TURN_SPEED_UP = 1.6
"""Seconds a run takes from the end of its turn back to its speed (in 1.0 s the quick steps of the turn, speeding up,
swung the knees of runs at 4 m/s faster than 25 rad/s)."""


def speed_profile(times: np.ndarray, keys: list[tuple[float, float]]) -> np.ndarray:
    """(T,) speed through (time, speed) keys, minimum-jerk between consecutive keys, held outside."""
    speed = np.full(len(times), keys[0][1])
    for (t0, v0), (t1, v1) in zip(keys[:-1], keys[1:]):
        inside = times >= t0
        speed[inside] = v0 + (v1 - v0) * min_jerk((times[inside] - t0) / max(t1 - t0, 1e-6))
    return speed


def turn_speed_keys(turn_from: float, turn_time: float, speed: float, slow: float, slow_down: float,
                    speed_up: float) -> list[tuple[float, float]]:
    """(time, speed) keys of a turn back taking `turn_time` s from `turn_from`: from `speed` `slow_down` s before it to
    `slow` m/s through its middle (0.3-0.7 of it), back to `speed` `speed_up` s after it (`turn` and a run's "turn"
    ending)."""
    return [(turn_from - slow_down, speed), (turn_from + 0.3 * turn_time, slow), (turn_from + 0.7 * turn_time, slow),
            (turn_from + turn_time + speed_up, speed)]


def turned_by(times: np.ndarray, angle: float, turn_from: float, turn_time: float) -> np.ndarray:
    """(T,) radians a heading has turned at `times` through a minimum-jerk turn by `angle` radians taking `turn_time`
    s from `turn_from`."""
    return angle * min_jerk(np.clip((times - turn_from) / turn_time, 0.0, 1.0))


def track(times: np.ndarray, speed: np.ndarray, direction: np.ndarray, start=(0.0, 0.0)) -> np.ndarray:
    """(T, 2) pelvis track moving at `speed` (T,) along `direction` (T,) radians."""
    velocity = speed[:, None] * np.stack([np.cos(direction), np.sin(direction)], -1)
    steps = (velocity[1:] + velocity[:-1]) / 2 / FPS
    return np.asarray(start) + np.concatenate([np.zeros((1, 2)), np.cumsum(steps, axis=0)])


def turning(rng: np.random.Generator, times: np.ndarray, speed: np.ndarray, cruise: float, turn_rate: float,
            start: float) -> np.ndarray:
    """(T,) heading (radians): a random smooth yaw rate within +-`turn_rate` deg/s, scaled by speed."""
    rate = np.radians(smooth_curve(rng, times, 2.0, -turn_rate, turn_rate)) * np.clip(speed / cruise, 0.0, 1.0)
    return start + np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) / 2 / FPS)])


def walk_style(rng: np.random.Generator, speed: float, **changes) -> GaitStyle:
    """A walking style for cruising at `speed` m/s, with person-to-person variety."""
    cadence = float(np.clip(1.6 + 0.55 * (speed - 0.5) / 1.3 + rng.normal(0.0, 0.04), 1.5, 2.25))
    values = dict(
        speeds=(0.0, speed), cadences=(1.5, cadence), duties=(0.64, float(np.interp(speed, WALK_SPEEDS, (0.63, 0.58)))),
        width=rng.uniform(0.15, 0.22), clearance=rng.uniform(0.05, 0.09), height=0.935 - 0.01 * speed,
        sway=rng.uniform(0.3, 0.55), pelvis_turn=rng.uniform(6.0, 14.0), lean=rng.uniform(1.0, 3.0) + 1.5 * speed,
        arm_swing=rng.uniform(25.0, 45.0), elbow=rng.uniform(10.0, 30.0) + 5.0 * speed, toe_out=rng.uniform(2.0, 10.0),
    )
    values.update(changes)
    return GaitStyle(**values)


def walk(rng: np.random.Generator, speed: float | None = None, turn_rate: float | None = None,
         duration: float | None = None, stop: bool | None = None) -> Clip:
    """Start from standing, walk at `speed` m/s (0.5-1.8) on a curved path (yaw rate within
    +-`turn_rate` deg/s, 0-50), the heading following the path; optionally stop at the end (3-10 s)."""
    speed, turn_rate = uniform(rng, speed, *WALK_SPEEDS), uniform(rng, turn_rate, 0.0, 50.0)
    duration = uniform(rng, duration, 4.0, 10.0)
    stop = bool(rng.random() < 0.4) if stop is None else stop
    times = times_for(duration)
    start, accel = rng.uniform(0.3, 0.8), 0.6 + 0.5 * speed
    keys = [(0.0, 0.0), (start, 0.0), (start + accel, speed)]
    if stop and duration - 1.0 - accel > start + accel:
        keys += [(duration - 1.0 - accel, speed), (duration - 1.0, 0.0)]
    else:
        stop = False
    v = speed_profile(times, keys) * (1.0 + wobble(rng, times, 0.03))
    heading = turning(rng, times, v, speed, turn_rate, rng.uniform(-np.pi, np.pi))
    person = gait_person(skeleton(), times, track(times, v, heading), heading, walk_style(rng, speed),
                         first=str(rng.choice(["L", "R"])))
    return family_clip(clip_name("walk", rng), [person], "walk",
                       dict(speed=speed, turn_rate=turn_rate, duration=times[-1], stop=stop, cruise_from=start + accel,
                            cruise_to=(duration - 1.0 - accel) if stop else times[-1]))


def walk_stop_start(rng: np.random.Generator, speed: float | None = None, stops: int | None = None,
                    turn_rate: float | None = None) -> Clip:
    """Walk, stop and stand, walk on: `stops` (1-2) pauses of 0.6-1.5 s, speed 0.5-1.5 m/s."""
    speed, turn_rate = uniform(rng, speed, 0.5, 1.5), uniform(rng, turn_rate, 0.0, 40.0)
    stops = int(rng.integers(1, 3)) if stops is None else stops
    accel, t = 0.6 + 0.5 * speed, rng.uniform(0.3, 0.7)
    keys = [(0.0, 0.0), (t, 0.0)]
    for _ in range(stops):
        walking = rng.uniform(1.2, 2.5)
        keys += [(t + accel, speed), (t + accel + walking, speed), (t + 2 * accel + walking, 0.0)]
        t += 2 * accel + walking + rng.uniform(0.6, 1.5)
        keys.append((t, 0.0))
    keys += [(t + accel, speed), (t + accel + rng.uniform(0.8, 1.5), speed)]
    times = times_for(min(keys[-1][0], 10.0))
    v = speed_profile(times, keys)
    heading = turning(rng, times, v, speed, turn_rate, rng.uniform(-np.pi, np.pi))
    person = gait_person(skeleton(), times, track(times, v, heading), heading, walk_style(rng, speed),
                         first=str(rng.choice(["L", "R"])))
    return family_clip(clip_name("walk_stop_start", rng), [person], "walk_stop_start",
                       dict(speed=speed, stops=stops, turn_rate=turn_rate, duration=times[-1]))


def turn(rng: np.random.Generator, speed: float | None = None, angle: float | None = None,
         peak_rate: float | None = None, slow: float | None = None) -> Clip:
    """Walk at `speed` m/s (0.5-1.4), slow to `slow` of it (0.2-0.6; 0 in a third of the clips: a turn on the spot)
    and turn by `angle` degrees (+-90-180: turning back, as a walk across a room does at its end) at a peak yaw rate of
    `peak_rate` deg/s (100-330), with quick short steps (`GaitStyle.turn_step`), then walk on (5-8 s). The walk
    family's curves turn at 50 deg/s at most."""
    speed = uniform(rng, speed, 0.5, 1.4)
    angle = uniform(rng, angle, 90.0, 180.0) * float(rng.choice([-1.0, 1.0])) if angle is None else float(angle)
    peak_rate = uniform(rng, peak_rate, 100.0, 330.0)
    slow = (0.0 if rng.random() < 1 / 3 else rng.uniform(0.2, 0.6)) if slow is None else float(slow)
    turn_time = MIN_JERK_PEAK * abs(angle) / peak_rate
    start, accel = rng.uniform(0.3, 0.6), 0.6 + 0.5 * speed
    t_turn = start + accel + rng.uniform(0.5, 1.5)
    times = times_for(max(5.0, min(8.0, t_turn + turn_time + rng.uniform(1.5, 3.0))))
    v = speed_profile(times, [(0.0, 0.0), (start, 0.0), (start + accel, speed),
                              *turn_speed_keys(t_turn, turn_time, speed, slow * speed, 0.4, 0.4)])
    heading = rng.uniform(-np.pi, np.pi) + turned_by(times, np.radians(angle), t_turn, turn_time)
    person = gait_person(skeleton(), times, track(times, v, heading), heading, walk_style(rng, speed, turn_step=90.0),
                         first=str(rng.choice(["L", "R"])))
    return family_clip(clip_name("turn", rng), [person], "turn",
                       dict(speed=speed, angle=angle, peak_rate=peak_rate, slow=slow, turn_from=t_turn,
                            turn_time=turn_time, duration=times[-1]))


def side_step(rng: np.random.Generator, speed: float | None = None, duration: float | None = None) -> Clip:
    """Step sideways at `speed` m/s (0.2-0.5), to the left, the right or first one then the other, facing ahead."""
    speed, duration = uniform(rng, speed, 0.2, 0.5), uniform(rng, duration, 3.0, 7.0)
    times = times_for(duration)
    start = rng.uniform(0.3, 0.8)
    side = float(rng.choice([-1.0, 1.0]))
    if rng.random() < 0.5:
        middle = start + (duration - start) / 2
        keys = [(0.0, 0.0), (start, 0.0), (start + 0.5, speed), (middle - 0.4, speed), (middle, 0.0),
                (middle + 0.3, 0.0), (middle + 0.8, -speed), (duration - 0.9, -speed), (duration - 0.4, 0.0)]
    else:
        keys = [(0.0, 0.0), (start, 0.0), (start + 0.5, speed), (duration - 0.9, speed), (duration - 0.4, 0.0)]
    v = speed_profile(times, keys) * side
    facing = rng.uniform(-np.pi, np.pi) + np.radians(wobble(rng, times, 4.0, 3.0))
    centre = track(times, v, facing + np.pi / 2)
    style = walk_style(rng, 0.5, cadences=(1.2, rng.uniform(1.3, 1.7)), sway=rng.uniform(0.2, 0.4), arm_swing=10.0,
                       pelvis_turn=3.0, lean=rng.uniform(0.0, 3.0), heel_strike=0.0, push_off=0.0)
    person = gait_person(skeleton(), times, centre, facing, style, first="L" if side > 0 else "R")
    return family_clip(clip_name("side_step", rng), [person], "side_step", dict(speed=speed, duration=times[-1]))


def back_step(rng: np.random.Generator, speed: float | None = None, duration: float | None = None) -> Clip:
    """Walk backwards at `speed` m/s (0.2-0.6) with short steps, facing away from the way of travel."""
    speed, duration = uniform(rng, speed, 0.2, 0.6), uniform(rng, duration, 3.0, 7.0)
    times = times_for(duration)
    start = rng.uniform(0.3, 0.8)
    v = speed_profile(times, [(0.0, 0.0), (start, 0.0), (start + 0.8, speed), (duration - 1.2, speed),
                              (duration - 0.4, 0.0)])
    heading = turning(rng, times, v, speed, rng.uniform(0.0, 20.0), rng.uniform(-np.pi, np.pi))
    centre = track(times, v, heading + np.pi)
    style = walk_style(rng, 0.5, cadences=(1.4, rng.uniform(1.5, 1.8)), heel_strike=0.0, push_off=0.0,
                       arm_swing=15.0, lean=rng.uniform(0.0, 4.0))
    person = gait_person(skeleton(), times, centre, heading, style, first=str(rng.choice(["L", "R"])))
    return family_clip(clip_name("back_step", rng), [person], "back_step", dict(speed=speed, duration=times[-1]))


def run(rng: np.random.Generator, speed: float | None = None, turn_rate: float | None = None,
        duration: float | None = None, ending: str | None = None) -> Clip:
    """Run at `speed` m/s (2.5-3.5, cadence 2.6-3.0 Hz, `RUN_CADENCE_RISE` more per m/s above 3 m/s, with flight
    phases, the pelvis falling freely in them)
    after speeding up from standing over 2.0-2.8 s, on a gently curved path (yaw rate within +-`turn_rate` deg/s,
    0-25). Speeding up, the steps quicken early (2.3 steps/s and duty 0.52 at 1.5 m/s, 2.6 and 0.42 at 2.4 m/s): with
    a walk's cadence there and a 1.4-2.0 s ramp, a stance lasted while the body sped up by 1-2 m/s, its foot was left
    far behind and the pelvis dropped up to 0.3 m to reach it, then jumped back at the next touch-down. Its `ending`
    (drawn by `RUN_ENDINGS` unless given): "on" to the end of the clip, "stop" (slowing down to standing), "turn"
    (turning back and running on) or "walk" (slowing into a walk; `_ending_keys`)."""
    speed = uniform(rng, speed, *RUN_SPEEDS)
    quicker = RUN_CADENCE_RISE * max(speed - 3.0, 0.0)
    return _running(rng, "run", speed, turn_rate, duration, ending, cadences=(2.6 + quicker, 3.0 + quicker),
                    duties=(0.32, 0.38))


def jog(rng: np.random.Generator, speed: float | None = None, turn_rate: float | None = None,
        duration: float | None = None, ending: str | None = None) -> Clip:
    """Jog at `speed` m/s (1.8-2.5, cadence 2.4-2.7 Hz, duty 0.40-0.46: shorter flights than `run`'s), speeding up
    from standing and ending as `run` does: the gait between a fast walk and a run, which much captured
    running is."""
    speed = uniform(rng, speed, *JOG_SPEEDS)
    return _running(rng, "jog", speed, turn_rate, duration, ending, cadences=(2.4, 2.7), duties=(0.40, 0.46))


def _running(rng: np.random.Generator, family: str, speed: float, turn_rate: float | None, duration: float | None,
             ending: str | None, cadences: tuple[float, float], duties: tuple[float, float]) -> Clip:
    """A `family` clip running at `speed` m/s with a cruise cadence and duty factor drawn from `cadences` and `duties`
    (steps/s, fraction of a stride): `run`'s and `jog`'s body. Speeding up (and slowing down to stop or turn back),
    cadence and duty follow `RUN_RAMP` below the cruise speed. The `ending` is drawn from a generator spawned from
    `rng`, so that a clip that runs on is the clip drawn before runs could stop or turn."""
    turn_rate = uniform(rng, turn_rate, 0.0, 25.0)
    duration = uniform(rng, duration, 4.0, 8.0)
    start, accel = rng.uniform(0.3, 0.6), rng.uniform(2.0, 2.8)
    keys = [(0.0, 0.0), (start, 0.0), (start + accel, speed)]
    turn = None
    if ending != "on":
        ending, keys, duration, turn = _ending_keys(rng.spawn(1)[0], keys, duration, ending)
    times = times_for(duration)
    v = speed_profile(times, keys) * (1.0 + wobble(rng, times, 0.02))
    heading = turning(rng, times, v, speed, turn_rate, rng.uniform(-np.pi, np.pi))
    if turn is not None:
        heading += turned_by(times, turn["angle"], turn["from"], turn["time"])
    cadence = rng.uniform(*cadences)
    ramp = [knot for knot in RUN_RAMP if knot[0] < speed]
    style = GaitStyle(speeds=(*(k[0] for k in ramp), speed), cadences=(*(k[1] for k in ramp), cadence),
                      duties=(*(k[2] for k in ramp), rng.uniform(*duties)),
                      width=rng.uniform(0.1, 0.16), clearance=rng.uniform(0.12, 0.2), heel_strike=5.0, push_off=rng.uniform(35.0, 50.0),
                      placement=0.4, height=0.9, ballistic_flight=True, sway=0.15, pelvis_turn=8.0,
                      lean=rng.uniform(6.0, 10.0), arm_swing=rng.uniform(35.0, 50.0), elbow=rng.uniform(75.0, 95.0),
                      turn_step=60.0 if turn is not None else None)
    person = gait_person(skeleton(), times, track(times, v, heading), heading, style, first=str(rng.choice(["L", "R"])))
    return family_clip(clip_name(family, rng), [person], family,
                       dict(speed=speed, turn_rate=turn_rate, cadence=cadence, duration=times[-1], cruise_from=start + accel,
                            ending=ending, cruise_to=keys[3][0] if ending != "on" else times[-1]))


def _ending_keys(rng: np.random.Generator, keys: list[tuple[float, float]], duration: float, ending: str | None
                 ) -> tuple[str, list[tuple[float, float]], float, dict | None]:
    """(ending, speed keys, duration, turn) of a run sped up along `keys` (ending at its cruise speed), `ending` drawn by
    `RUN_ENDINGS` when None. A run that ends otherwise than "on" cruises at least 0.8 s, then "stop": slows down at a
    mean deceleration drawn from `RUN_STOP_DECELERATION` and stands `RUN_STOP_REST` s at the end of the clip; "walk":
    slows as to stop, to a walk (`RUN_WALK`), and walks on; "turn": slows and turns back (`RUN_TURN`; `turn` holds its
    "angle" (radians), "from" and "time" (s) for the heading) and runs on. `duration` is lengthened where that needs
    it."""
    if ending is None:
        shares = np.array(list(RUN_ENDINGS.values()))
        ending = str(rng.choice(list(RUN_ENDINGS), p=shares / shares.sum()))
    if ending not in RUN_ENDINGS:
        raise ValueError(f"a run's ending is one of {', '.join(RUN_ENDINGS)}, not '{ending}'")
    cruise_from, speed = keys[-1]
    if ending == "on":
        return ending, keys, duration, None
    if ending in ("stop", "walk"):  # slow down to `end_speed`, then stand or walk on for `after` s
        if ending == "stop":
            end_speed, deceleration, after = 0.0, rng.uniform(*RUN_STOP_DECELERATION), rng.uniform(*RUN_STOP_REST)
        else:
            end_speed, after = rng.uniform(*RUN_WALK["speed"]), rng.uniform(*RUN_WALK["walk_on"])
            deceleration = rng.uniform(*RUN_STOP_DECELERATION)
        slowing = (speed - end_speed) / deceleration
        slow_from = max(cruise_from + 0.8, duration - after - slowing)
        return ending, keys + [(slow_from, speed), (slow_from + slowing, end_speed)], slow_from + slowing + after, None
    angle = np.radians(rng.uniform(*RUN_TURN["angle"])) * float(rng.choice([-1.0, 1.0]))
    turn_time = MIN_JERK_PEAK * abs(angle) / np.radians(rng.uniform(*RUN_TURN["peak_rate"]))
    slow, run_on = rng.uniform(*RUN_TURN["slow"]) * speed, rng.uniform(*RUN_TURN["run_on"])
    turn_from = max(cruise_from + 1.4, duration - run_on - turn_time - RUN_TURN_SPEED_UP)
    keys = keys + turn_speed_keys(turn_from, turn_time, speed, slow, 0.6, RUN_TURN_SPEED_UP)
    return ending, keys, turn_from + turn_time + RUN_TURN_SPEED_UP + run_on, {"angle": angle, "from": turn_from,
                                                                              "time": turn_time}
