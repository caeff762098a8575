"""Bouncing families: jumping jacks and hopping on one foot.

Both are series of small jumps with short ground contacts between them: a bounce turns the landing's downward speed
into the next take-off's upward speed in one bend of the knees (`bounce_heights`). Built like `dynamic.jump` in a
local frame (facing +x at the origin) from explicit pelvis and foot tracks, the legs placed on the feet by IK and the
body balanced on them (`dynamic.bodies_on_feet`), then turned to a random heading.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import cumulative_trapezoid
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip
from motion_lib.families.common import GRAVITY, STAND_HEIGHT, clip_name, family_clip, min_jerk, skeleton, times_for, uniform
from motion_lib.families.dynamic import (
    LAND_DROP,
    TAKE_OFF_RISE,
    absorb_time,
    bodies_on_feet,
    free_flight,
    hermite,
    lift_above_floor,
    turned,
)
from motion_lib.families.feet import ball_point, flat_feet, leg_length, pivot_pose
from motion_lib.families.standing import arms
from motion_lib.keyframes.animate import Key, ramp
from motion_lib.keyframes.limbs import SIDE_SIGN
from motion_lib.keyframes.poses import trunk

MAX_DURATION = 10.5
"""s: the longest clip a bouncing family makes."""


def bounce_heights(times: np.ndarray, start: float, crouch: float, push: float, depth: float, grounds: list[float],
                   height: float, stand: list[float], absorb: float, absorb_depth: float, rise: float
                   ) -> tuple[np.ndarray, list[tuple[float, float]], float]:
    """The pelvis height (T,) through `len(stand) - 1` bounces, the take-off and touch-down times of each flight, and
    the time it stands again. From `stand[0]` (m) it crouches by `depth` over `crouch` s from `start` and pushes off
    over `push` s; each flight rises `height` m above take-off (`TAKE_OFF_RISE` above the stance's standing height) and
    falls freely to the next stance (`LAND_DROP` below `stand[k]`); between flights the knees bend and push off again
    over `grounds[k]` s (a cubic from the landing's speed to the take-off's); after the last landing they absorb by
    `absorb_depth` (over at most `absorb` s) and the body rises to `stand[-1]` over `rise` s."""
    v_up = np.sqrt(2.0 * GRAVITY * height)
    t1, t2 = start + crouch, start + crouch + push
    low = stand[0] - depth
    pieces = [(start, t1, lambda t: stand[0] - depth * ramp(t, start, t1)),
              (t1, t2, hermite(t1, t2, low, stand[0] + TAKE_OFF_RISE, 0.0, v_up))]
    flights, t_off = [], t2
    for k in range(1, len(stand)):
        off_height, land_height = stand[k - 1] + TAKE_OFF_RISE, stand[k] - LAND_DROP
        flight, v_land = free_flight(v_up, off_height - land_height)
        t_down = t_off + flight
        pieces.append((t_off, t_down, lambda t, z0=off_height, t0=t_off: z0 + v_up * (t - t0) - 0.5 * GRAVITY * (t - t0) ** 2))
        flights.append((t_off, t_down))
        if k < len(stand) - 1:
            t_off = t_down + grounds[k - 1]
            pieces.append((t_down, t_off, hermite(t_down, t_off, land_height, stand[k] + TAKE_OFF_RISE, v_land, v_up)))
    absorb = absorb_time(absorb, absorb_depth, v_land)
    bottom, t4 = land_height - absorb_depth, t_down + absorb
    pieces += [(t_down, t4, hermite(t_down, t4, land_height, bottom, v_land, 0.0)),
               (t4, t4 + rise, lambda t: bottom + (stand[-1] - bottom) * ramp(t, t4, t4 + rise))]
    z = np.where(times < start, stand[0], stand[-1])
    for lo, hi, curve in pieces:
        span = (times >= lo) & (times < hi)
        z[span] = curve(times[span])
    return z, flights, t4 + rise


def bouncing_feet(skel, times: np.ndarray, feet: dict, planted: dict, root_z: np.ndarray,
                  flights: list[tuple[float, float]], stances: list[dict[str, np.ndarray]], rolls: list[float],
                  heel_up: float, arc: float) -> None:
    """Move the feet named in `stances` through `flights` (in place; feet[side] = (ankle (T, 3), yaw, pitch, toe
    flexion), planted[side] (T,) bool): flat on the floor with the ankle at `stances[k][side]` (3,) between flight
    k - 1 and flight k, the heel rising over the ball by `heel_up` rad from `rolls[k]` to the take-off; in the air
    from that take-off pose to the next stance (min-jerk), the leg's length following the pelvis (`root_z` (T,)) from
    take-off to landing, the ankle `arc` m higher mid-flight, the heel coming down."""
    bounds = [-np.inf] + [t for flight in flights for t in flight] + [np.inf]
    for side in stances[0]:
        ankle, yaw, pitch, toe = (a.copy() for a in feet[side])
        ball_local = ball_point(skel, side)
        airborne = np.zeros(len(times), bool)
        for k, stance in enumerate(stances):
            ball = stance[side] + Rotation.from_euler("z", yaw[0]).apply(ball_local)
            ground = (times >= bounds[2 * k]) & (times < bounds[2 * k + 1])
            pitch[ground] = heel_up * ramp(times[ground], rolls[k], bounds[2 * k + 1]) if k < len(flights) else 0.0
            toe[ground] = -pitch[ground]
            ankle[ground] = pivot_pose(np.tile(ball, (ground.sum(), 1)), ball_local, yaw[ground], pitch[ground])
            if k == len(flights):
                continue
            t_off, t_down = flights[k]
            flying = (times >= t_off) & (times < t_down)
            s = (times[flying] - t_off) / (t_down - t_off)
            m = min_jerk(s)[:, None]
            take_off = pivot_pose(ball[None], ball_local, yaw[:1], np.array([heel_up]))[0]
            landed = stances[k + 1][side]
            gap_off = np.interp(t_off, times, root_z) - take_off[2]
            gap_land = np.interp(t_down, times, root_z) - landed[2]
            ankle[flying, :2] = take_off[:2] + m * (landed[:2] - take_off[:2])
            ankle[flying, 2] = root_z[flying] - (gap_off + (gap_land - gap_off) * m[:, 0]) + arc * np.sin(np.pi * s) ** 1.5
            pitch[flying] = heel_up * (1.0 - min_jerk(1.5 * s))
            toe[flying] = -heel_up * (1.0 - min_jerk(2.0 * s))
            airborne |= flying
        feet[side] = (lift_above_floor(skel, side, ankle, yaw, pitch, toe, airborne), yaw, pitch, toe)
        planted[side] &= ~airborne


def jumping_jack(rng: np.random.Generator, jacks: int | None = None, height: float | None = None,
                 spread: float | None = None) -> Clip:
    """`jacks` (2-5) jumping jacks: from standing with the feet together and the arms down, a small crouch, then
    bounces (the pelvis rising `height` m, 0.03-0.12, in each flight; 0.18-0.32 s on the floor between flights)
    landing by turns with each foot `spread` m (0.12-0.3) out to its side and the arms up (overhead or out to the
    sides), and with the feet together and the arms down again; after the last landing the body stands up."""
    jacks, height, spread = (int(rng.integers(2, 6)) if jacks is None else jacks, uniform(rng, height, 0.03, 0.12),
                             uniform(rng, spread, 0.12, 0.3))
    skel, u = skeleton(), rng.uniform
    bend = u(0.01, 0.03)
    leg = leg_length(skel, "L")
    apart_height = STAND_HEIGHT - bend - (leg - np.sqrt(leg**2 - spread**2))
    stand = [STAND_HEIGHT - bend if k % 2 == 0 else apart_height for k in range(2 * jacks + 1)]
    start, crouch, push = u(0.4, 0.8), u(0.2, 0.35), u(0.15, 0.22)
    z, flights, end = bounce_heights(times_for(MAX_DURATION), start, crouch, push, u(0.04, 0.1),
                                     [u(0.18, 0.32) for _ in range(2 * jacks - 1)], height, stand, u(0.2, 0.3),
                                     u(0.05, 0.1), u(0.4, 0.7))
    times = times_for(max(end + u(0.3, 0.6), 3.0))
    z = z[:len(times)]
    feet = flat_feet(skel, len(times), 0.0, 0.0, 0.0, u(0.0, 0.06), toe_out=u(0.0, 10.0))
    planted = {s: np.ones(len(times), bool) for s in "LR"}
    together = {s: feet[s][0][0].copy() for s in "LR"}
    apart = {s: together[s] + np.array([0.0, spread * SIDE_SIGN[s], 0.0]) for s in "LR"}
    stances = [together if k % 2 == 0 else apart for k in range(2 * jacks + 1)]
    rolls = [start + crouch + 0.4 * push] + [0.5 * (flights[k - 1][1] + flights[k][0]) for k in range(1, len(flights))]
    bouncing_feet(skel, times, feet, planted, z, flights, stances, rolls, u(0.3, 0.5), u(0.0, 0.04))
    down, up = arms(rng, ("down", "down")), str(rng.choice(["raised", "out"]))
    keys = [Key(0.0, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **down}), Key(start, joints=down)]
    for k, (_, t_down) in enumerate(flights):
        keys.append(Key(t_down, joints=down if k % 2 else arms(rng, (up, up))))
    keys += [Key(end, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **down}), Key(times[-1])]
    root = np.column_stack([np.zeros(len(times)), np.zeros(len(times)), z])
    person = turned(bodies_on_feet(times, keys, root, feet, planted), u(-180.0, 180.0))
    return family_clip(clip_name("jumping_jack", rng), [person], "jumping_jack",
                       dict(jacks=jacks, height=height, spread=spread, arms=up, duration=times[-1]))


def hop(rng: np.random.Generator, side: str | None = None, hops: int | None = None, height: float | None = None,
        distance: float | None = None, direction: float | None = None) -> Clip:
    """Hop on the `side` foot: the weight shifts onto it and the other foot lifts behind, the knee bent; a small
    crouch, then `hops` (2-6) bounces (the pelvis rising `height` m, 0.03-0.12, in each flight; 0.15-0.3 s on the
    floor between flights) each carrying the body `distance` m (0-0.35; 0 in a quarter of the clips) in `direction`
    degrees from facing (0 ahead in half of the clips, else +-90 to a side or 180 back, at most 0.2 m then); after
    the last landing the body stands up, the free foot comes down beside the other and the weight shifts back."""
    side = str(rng.choice(["L", "R"])) if side is None else side
    free = "R" if side == "L" else "L"
    hops, height = int(rng.integers(2, 7)) if hops is None else hops, uniform(rng, height, 0.03, 0.12)
    if direction is None:
        direction = 0.0 if rng.random() < 0.5 else float(rng.choice([90.0, -90.0, 180.0]))
    if distance is None:
        distance = 0.0 if rng.random() < 0.25 else rng.uniform(0.0, 0.35 if direction == 0.0 else 0.2)
    skel, u = skeleton(), rng.uniform
    bend = u(0.01, 0.04)
    shift = u(0.4, 0.8)
    lift = shift + u(0.3, 0.5)
    start = lift + u(0.25, 0.4)
    crouch, push, ground = u(0.15, 0.3), u(0.15, 0.22), u(0.15, 0.3)
    stand = [STAND_HEIGHT - bend] * (hops + 1)
    z, flights, end = bounce_heights(times_for(MAX_DURATION), start, crouch, push, u(0.04, 0.1), [ground] * (hops - 1),
                                     height, stand, u(0.2, 0.3), u(0.04, 0.1), u(0.3, 0.5))
    lower = end + u(0.1, 0.3)
    back = lower + u(0.3, 0.45)
    times = times_for(max(back + u(0.5, 1.0), 3.0))
    z, frames = z[:len(times)], len(times)
    cycle = ground + (flights[0][1] - flights[0][0])
    speed = distance / cycle
    first_land, last_land = flights[0][1], flights[-1][1]
    pace = ramp(times, start + crouch, flights[0][0]) - ramp(times, last_land, end - 0.5 * (end - last_land))
    travel = speed * cumulative_trapezoid(pace, times, initial=0.0)  # (T,) metres along `direction`
    heading = np.radians(direction)
    along = np.array([np.cos(heading), np.sin(heading), 0.0])
    feet = flat_feet(skel, frames, 0.0, 0.0, 0.0, u(0.0, 0.08), toe_out=u(0.0, 10.0))
    planted = {s: np.ones(frames, bool) for s in "LR"}
    base = feet[side][0][0].copy()
    spots = [base] + [base + np.interp(0.5 * (flights[k - 1][1] + (flights[k][0] if k < hops else end)), times, travel)
                      * along for k in range(1, hops + 1)]
    rolls = [start + crouch + 0.4 * push] + [flights[k - 1][1] + 0.4 * ground for k in range(1, hops)]
    bouncing_feet(skel, times, feet, planted, z, flights, [{side: s} for s in spots], rolls, u(0.3, 0.5), u(0.0, 0.05))
    # the free foot: up behind the body, knee bent, from `lift` to `lower`, down beside the support foot after
    ankle, yaw, pitch, toe = feet[free]
    up = ramp(times, shift + 0.3 * (lift - shift), lift + 0.2) - ramp(times, lower, back)
    on_floor_at = np.where(times < first_land, 0.0, travel[-1])[:, None] * along + ankle[0]
    held = ankle[0] + travel[:, None] * along + np.array([-u(0.1, 0.3), 0.0, u(0.15, 0.35)])
    ankle[:] = (1.0 - up[:, None]) * on_floor_at + up[:, None] * held
    pitch[:] = up * u(0.2, 0.7)
    feet[free] = (lift_above_floor(skel, free, ankle, yaw, pitch, toe, up > 0.0), yaw, pitch, toe)
    planted[free] &= up <= 0.0
    sway = base[1] * u(0.7, 0.95) * (ramp(times, shift, lift) - ramp(times, lower, back))
    root = np.column_stack([travel * along[0], travel * along[1] + sway, z])
    stand_arms, lean = arms(rng, ("down", "down")), u(0.0, 12.0)
    hopping = arms(rng, (str(rng.choice(["out", "forward", "down"])),) * 2)
    keys = [Key(0.0, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms}),
            Key(shift, joints=stand_arms),
            Key(start, facing=(0.0, lean, 0.0), joints={**trunk(0.3 * lean), **hopping}),
            Key(end, facing=(0.0, lean, 0.0), joints={**trunk(0.3 * lean), **hopping}),
            Key(back, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms}),
            Key(times[-1])]
    person = turned(bodies_on_feet(times, keys, root, feet, planted), u(-180.0, 180.0))
    return family_clip(clip_name("hop", rng), [person], "hop", dict(side=side, hops=hops, height=height,
                                                                     distance=distance, direction=direction,
                                                                     duration=times[-1]))
