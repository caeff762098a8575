"""Dynamic families: kicking (standing or spinning), jumping, dance steps.

Kicks and jumps are built in a local frame (facing +x at the origin) from explicit pelvis and foot
tracks, the legs placed on the feet by IK (`feet.place_feet`), and turned to a random heading at the
end; dance steps travel a pelvis track to a beat with `gait.gait_person`.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.families.balance import balanced_person
from motion_lib.families.common import (
    FPS,
    GRAVITY,
    STAND_HEIGHT,
    clip_name,
    family_clip,
    min_jerk,
    skeleton,
    times_for,
    uniform,
)
from motion_lib.families.feet import (
    LEG_REACH,
    airborne_feet_in_reach,
    ball_point,
    flat_feet,
    leg_length,
    lowest_sole,
    pivot_pose,
    place_feet,
    reachable_height,
    soft_min,
)
from motion_lib.families.locomotion import speed_profile, track, walk_style
from motion_lib.families.gait import gait_person
from motion_lib.families.standing import arms
from motion_lib.keyframes.animate import Key, animate, ramp
from motion_lib.keyframes.poses import trunk


def turned(person: PersonMotion, yaw_deg: float) -> PersonMotion:
    """The person turned by `yaw_deg` about the world z axis through the origin."""
    heading = Rotation.from_euler("z", yaw_deg, degrees=True)
    root_rot = heading * Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    return PersonMotion(heading.apply(person.root_pos), root_rot.as_quat()[:, [3, 0, 1, 2]], person.joint_rot)


def spun(person: PersonMotion, pivot: np.ndarray, angle: np.ndarray) -> PersonMotion:
    """The person turned on each frame by `angle` (T,) radians about the vertical line through `pivot` (2,) (x, y)
    (`turned` for one angle about the origin)."""
    heading = Rotation.from_euler("z", angle[:, None])
    offset = np.column_stack([person.root_pos[:, :2] - pivot, np.zeros(len(angle))])
    root_pos = np.column_stack([pivot + heading.apply(offset)[:, :2], person.root_pos[:, 2]])
    root_rot = heading * Rotation.from_quat(person.root_rot[:, [1, 2, 3, 0]])
    return PersonMotion(root_pos, root_rot.as_quat()[:, [3, 0, 1, 2]], person.joint_rot)


def channel(times: np.ndarray, keys: list[tuple[float, float]]) -> np.ndarray:
    """(T,) a PCHIP curve through (time, value) keys, held outside them."""
    t, v = zip(*keys)
    return PchipInterpolator(t, v, extrapolate=False)(np.clip(times, t[0], t[-1]))


def lift_above_floor(skel, side: str, ankle: np.ndarray, yaw: np.ndarray, pitch: np.ndarray, toe: np.ndarray,
                     airborne: np.ndarray) -> np.ndarray:
    """(T, 3) `ankle` raised, on `airborne` (T,) frames, wherever a sole corner would dip below the floor."""
    low = lowest_sole(skel, side, ankle, yaw, pitch, toe)
    out = ankle.copy()
    out[:, 2] += np.where(airborne, np.maximum(0.0, -low), 0.0)
    return out


def bodies_on_feet(times: np.ndarray, keys: list[Key], root: np.ndarray, feet: dict, planted: dict,
            spin: np.ndarray | None = None) -> PersonMotion:
    """The person of `keys` (facing and joints) on the pelvis track `root` (T, 3), lowered where a planted
    foot cannot be reached, with airborne feet pulled into the legs' reach and the legs placed by IK, the track
    moved along the floor to keep the body balanced on its feet (`balance.balanced_person`). `spin` (T,): radians
    the pelvis is turned by about z on top of its keyed facing."""
    skel = skeleton()
    posed = animate(keys, skel, times)
    root_rot = Rotation.from_quat(posed.root_rot[:, [1, 2, 3, 0]])
    if spin is not None:
        root_rot = Rotation.from_euler("z", spin[:, None]) * root_rot
        posed = PersonMotion(posed.root_pos, root_rot.as_quat()[:, [3, 0, 1, 2]], posed.joint_rot)

    def body(root_xy: np.ndarray) -> PersonMotion:
        limit = reachable_height(skel, root_xy, root_rot, {s: f[0] for s, f in feet.items()}, planted)
        placed_root = np.column_stack([root_xy, soft_min(root[:, 2], limit, softness=0.005)])
        placed = {side: (airborne_feet_in_reach(skel, side, placed_root, root_rot, f[0], planted[side]), *f[1:])
                  for side, f in feet.items()}
        return place_feet(PersonMotion(placed_root, posed.root_rot, posed.joint_rot), skel, placed)

    return balanced_person(body, root[:, :2], skel)


MAX_JUMP_TURN_RATE = 600.0
"""deg/s: a jump's turn in the air at most this times its flight time (a half turn needs about 0.3 s in the air)."""
SPIN_STOP = 0.15
"""s: a turning jump's yaw rate falls to zero over this long after touch-down (the pelvis turns on over the planted
feet)."""
JUMP_LEAN, JUMP_TAKE_OFF_LEAN, JUMP_PUSH, JUMP_ABSORB = (20.0, 35.0), 5.0, (0.18, 0.28), (0.08, 0.18)
"""A `jump`'s forward pitch (degrees) drawn per jump for the crouch (0.8 of it landing), and at take-off; the time (s)
its push takes and the depth (m) its landing sinks by, drawn per jump."""
BROAD_JUMP_LEAN, BROAD_JUMP_TAKE_OFF_LEAN = (30.0, 45.0), (15.0, 30.0)
BROAD_JUMP_PUSH, BROAD_JUMP_ABSORB = (0.25, 0.38), (0.15, 0.28)
"""A `broad_jump`'s forward pitch (degrees) drawn per jump for the crouch (0.8 of it landing), and per clip for the
take-off (a long jump leaves the floor leaning into it); the time (s) its push takes, drawn per jump (longer than a
`jump`'s: the body has to speed up forwards with its centre of mass ahead of the toes, `balance`), and the depth (m)
its landing sinks by (deeper than a `jump`'s: it lands faster)."""
REACH_WINDOW = 0.2
"""s: `_jumps` measures how far the pelvis was pulled down to reach the feet within this long of each take-off and
touch-down."""
BROAD_JUMP_PASSES = 3
"""Times `broad_jump` makes its clip, each take-off and landing lower by what the one before still had to be pulled
down."""
TAKE_OFF_RISE = 0.03
"""m: a jump's pelvis leaves the floor this much above its standing height (legs straight, heels up)."""
LAND_DROP = 0.01
"""m: and touches down this much below it."""
TURN_OUT = 0.7
"""Share of a kick's aim the kicking foot turns out by in the air (the rest the ankle rolls: a side kick with the foot
kept ahead needs a 70-90 degree roll, beyond the ankle's 50)."""


def kick(rng: np.random.Generator, side: str | None = None, height: float | None = None,
         kicks: int | None = None, aim: float | None = None, style: str | None = None) -> Clip:
    """Standing, kick `kicks` (1-3) times: the weight shifts onto the other foot, the foot rises until the ankle is
    `height` m (0.25-0.6) above the floor, the trunk leaning away from the kick and the arms out, then back down to
    where the foot started; the legs may alternate. Each kick is of a `style` (drawn per kick by equal chance unless
    given): "snap", the knee coming up and the lower leg snapping out, aimed `aim` degrees from straight ahead towards
    the kicking leg's side (0: a front kick, 90: a side kick; drawn per kick, 0 or 30-90 by equal chance, unless
    given); or "swing", as at a ball: the foot swings back behind the body, the knee bent, then forward past the
    support foot low over the floor and up ahead with the leg straight (aimed 0-20 degrees unless given)."""
    person, params, _ = _kicks(rng, side, height, kicks, aim, style)
    yaw_deg = rng.uniform(-180.0, 180.0)
    return family_clip(clip_name("kick", rng), [turned(person, yaw_deg)], "kick", params)


def spin_kick(rng: np.random.Generator, side: str | None = None, height: float | None = None,
              kicks: int | None = None, turn: float | None = None) -> Clip:
    """Standing, a spinning kick `kicks` (1-2) times: `kick`'s snap kick out to the side (aimed 45-100 degrees,
    the ankle `height` m up, 0.35-0.7) while the whole body turns `turn` degrees (180-380, drawn per kick, either
    way, unless given) about the ball of the support foot, its heel up (0.25-0.45 rad), from the moment the kicking
    foot leaves the floor (the turn easing in) until it is back down (easing out), where it lands turned."""
    height = uniform(rng, height, 0.35, 0.7)
    kicks = int(rng.integers(1, 3)) if kicks is None else kicks
    aims, heels = rng.uniform(45.0, 100.0, kicks), rng.uniform(0.25, 0.45, kicks)
    turns = [round(float(uniform(rng, turn, 180.0, 380.0) * rng.choice([-1.0, 1.0])), 1) for _ in range(kicks)]
    person, params, plan = _kicks(rng, side, height, kicks, None, "snap", list(aims), list(heels))
    times = np.arange(len(person.root_pos)) / FPS
    for (off, down, pivot), turn_deg in reversed(list(zip(plan, turns))):  # later turns happen inside earlier ones'
        person = spun(person, pivot, np.radians(turn_deg) * min_jerk((times - off) / (down - off)))
    yaw_deg = rng.uniform(-180.0, 180.0)
    return family_clip(clip_name("spin_kick", rng), [turned(person, yaw_deg)], "spin_kick", {**params, "turns": turns})


def _kicks(rng: np.random.Generator, side: str | None, height: float | None, kicks: int | None, aim: float | None,
           style: str | None, aim_per_kick: list[float] | None = None, heel_per_kick: list[float] | None = None
           ) -> tuple[PersonMotion, dict, list]:
    """`kick`'s person facing +x (before its heading is drawn), its clip parameters, and per kick (the time (s) the
    kicking foot leaves the floor, the time it is back down, (2,) the x, y of the support foot's ball); `aim_per_kick`
    (degrees, per kick) instead of `aim`; `heel_per_kick` (radians, per kick): the support foot rises onto its ball by
    that pitch while the weight shifts onto it, and back down after the kick."""
    side = str(rng.choice(["L", "R"])) if side is None else side
    height = uniform(rng, height, 0.25, 0.6)
    kicks = int(rng.integers(1, 4)) if kicks is None else kicks
    skel = skeleton()
    u = rng.uniform
    plan, t, kicking = [], u(0.4, 0.9), side
    for _ in range(kicks):
        kind = style if style is not None else str(rng.choice(["snap", "swing"]))
        off = t + u(0.35, 0.6)
        chamber = off + u(0.18, 0.28)
        extend = chamber + (u(0.15, 0.25) if kind == "snap" else u(0.22, 0.32))  # a swing goes further
        hold = extend + u(0.05, 0.15)
        retract = hold + u(0.18, 0.28)
        down = retract + u(0.2, 0.3)
        plan.append((kind, kicking, t, off, chamber, extend, hold, retract, down, down + u(0.3, 0.5)))
        t = down + u(0.6, 1.2)
        if rng.random() < 0.5:
            kicking = "R" if kicking == "L" else "L"
    times = times_for(max(t, 3.0))
    feet = flat_feet(skel, len(times), 0.0, 0.0, 0.0, u(0.0, 0.12), toe_out=u(0.0, 10.0))
    planted = {s: np.ones(len(times), bool) for s in "LR"}
    sway, bend = np.zeros(len(times)), u(0.01, 0.04)
    stand_arms = arms(rng, ("down", "down"))
    keys = [Key(0.0, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms})]
    reach, aims, styles, spins = LEG_REACH * 0.95 * leg_length(skel, side), [], [], []
    for kind, kicking, shift, off, chamber, extend, hold, retract, down, back in plan:
        support = "R" if kicking == "L" else "L"
        ankle, yaw, pitch, toe = feet[kicking]
        a0 = ankle[0].copy()
        hip = skel.rest_positions[skel.index(f"{kicking}_Hip")] + np.array([0.0, 0.0, STAND_HEIGHT - bend])
        drop = hip[2] - height
        if aim_per_kick is not None:
            aim_deg = aim_per_kick[len(aims)]
        elif aim is not None:
            aim_deg = aim
        elif kind == "snap":
            aim_deg = 0.0 if rng.random() < 0.5 else u(30.0, 90.0)
        else:
            aim_deg = u(0.0, 20.0)
        aims.append(round(float(aim_deg), 1))
        styles.append(kind)
        toward = np.radians(aim_deg) * (1.0 if kicking == "L" else -1.0)  # the skeleton's left is +y
        ahead = np.array([np.cos(toward), np.sin(toward)])
        out = np.array([*(np.array([hip[0], a0[1]]) + np.sqrt(max(reach**2 - drop**2, 0.01)) * ahead), height])
        bent = a0 + np.array([*(0.12 * ahead), u(0.25, 0.33)])
        window = (times > off) & (times < down)
        if kind == "snap":
            point = u(-0.2, 0.3)
            path = [(off, a0, 0.0), (chamber, bent, 0.35), (extend, out, point), (hold, out, point),
                    (retract, bent, 0.35), (down, a0, 0.0)]
        else:  # back with the knee bent, forward past the support foot low, up ahead with the leg straight
            behind = a0 + np.array([*(-u(0.25, 0.4) * ahead), u(0.25, 0.4)])
            low = np.array([hip[0], a0[1], a0[2] + u(0.06, 0.1)])
            point = u(-0.3, 0.2)  # world pitch: toes pointing, the shank raised ahead
            path = [(off, a0, 0.0), (chamber, behind, 0.8), (chamber + 0.45 * (extend - chamber), low, 0.3),
                    (extend, out, point), (hold, out, point), (retract, a0 + np.array([*(0.15 * ahead), 0.15]), 0.2),
                    (down, a0, 0.0)]
        for axis in range(3):
            ankle[window, axis] = channel(times[window], [(k, p[axis]) for k, p, _ in path])
        pitch[window] = channel(times[window], [(k, heel) for k, _, heel in path])
        # the foot turns out with the leg (the ankle cannot roll the sole towards a side kick)
        yaw[window] += channel(times[window], [(off, 0.0), (chamber, TURN_OUT * toward), (retract, TURN_OUT * toward),
                                               (down, 0.0)])
        feet[kicking] = (lift_above_floor(skel, kicking, ankle, yaw, pitch, toe, window), yaw, pitch, toe)
        planted[kicking] &= ~window
        s_ankle, s_yaw, s_pitch, s_toe = feet[support]
        ball_local = ball_point(skel, support)
        ball = s_ankle[0] + Rotation.from_euler("z", s_yaw[0]).apply(ball_local)
        if heel_per_kick is not None:  # the support foot's heel up, its toes flat, from the shift until back
            up = heel_per_kick[len(spins)] * ramp(times, shift, off) * (1.0 - ramp(times, down, back))
            on_ball = up > 0
            s_pitch[on_ball], s_toe[on_ball] = up[on_ball], -up[on_ball]
            s_ankle[on_ball] = pivot_pose(np.tile(ball, (on_ball.sum(), 1)), ball_local, s_yaw[on_ball],
                                          s_pitch[on_ball])
        spins.append((off, down, ball[:2]))
        towards = feet[support][0][0, 1] * u(0.6, 0.9)
        sway += towards * ramp(times, shift, off) * (1.0 - ramp(times, down, back))
        lean = u(5.0, 15.0)
        away = (0.0, -lean * np.cos(toward), lean * np.sin(toward))  # back from a front kick, sideways from a side kick
        keys += [Key(shift, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms}),
                 Key(off, joints=arms(rng, ("out", "out"))),
                 Key(extend, facing=away, joints=trunk(-0.5 * lean * np.cos(toward))),
                 Key(hold, facing=away),
                 Key(down, facing=(0.0, 0.0, 0.0), joints=trunk(0.0)),
                 Key(back, joints=stand_arms)]
    keys.append(Key(times[-1]))
    root = np.column_stack([np.zeros(len(times)), sway, np.full(len(times), STAND_HEIGHT - bend)])
    person = bodies_on_feet(times, keys, root, feet, planted)
    return person, dict(side=side, height=height, kicks=kicks, aims=aims, styles=styles, duration=times[-1]), spins


def jump(rng: np.random.Generator, height: float | None = None, distance: float | None = None,
         jumps: int | None = None, turn: float | None = None) -> Clip:
    """Jump with both feet `jumps` (1-3) times: crouch with the arms down, push off rolling onto the
    balls of the feet as the arms swing forward, fly (the pelvis rising `height` m, 0.05-0.3, above its
    take-off height; the feet landing `distance` m, 0-0.8, further forward), land on flat feet bending
    the knees, stand up again. The last jump turns the body by `turn` degrees (0 in half of the clips, else 45-180
    either way, at most `MAX_JUMP_TURN_RATE` over the flight): the pelvis starts turning as the heels lift, turns at a
    constant rate in the air, where nothing can speed it up, and stops over `SPIN_STOP` after touch-down (`_jump_spin`);
    the feet turn in the air about the point between them."""
    height, distance = uniform(rng, height, 0.05, 0.3), uniform(rng, distance, 0.0, 0.8)
    jumps = int(rng.integers(1, 4)) if jumps is None else jumps
    if turn is None:
        turn = 0.0 if rng.random() < 0.5 else float(rng.choice([-1.0, 1.0])) * rng.uniform(45.0, 180.0)
    return _jumps(rng, "jump", height, distance, jumps, turn, JUMP_LEAN, JUMP_TAKE_OFF_LEAN)[0]


def broad_jump(rng: np.random.Generator, height: float | None = None, distance: float | None = None,
               jumps: int | None = None) -> Clip:
    """A standing broad jump, `jumps` (1-2) times: as `jump` without a turn, higher and further, with a longer push
    (`BROAD_JUMP_PUSH`) and the body leaning further forward (`BROAD_JUMP_LEAN` in the crouch and the landing,
    `BROAD_JUMP_TAKE_OFF_LEAN` at take-off): the pelvis rising `height` m (0.15-0.4) above its take-off height, the
    feet landing `distance` m (0.6-1.2) further forward. The balanced body (`balance`) leaves the floor and lands with
    its pelvis further behind the feet than its track has it, lower than the legs reach from there; so the clip is
    made `BROAD_JUMP_PASSES` times, each taking off and landing as much lower as the one before had its pelvis pulled
    down to reach the feet (`_jumps`): the legs stretched as the feet leave and touch the floor, no jolt."""
    height, distance = uniform(rng, height, 0.15, 0.4), uniform(rng, distance, 0.6, 1.2)
    jumps = int(rng.integers(1, 3)) if jumps is None else jumps
    return _broad_jumps(rng, "broad_jump", height, distance, jumps)


def long_jump(rng: np.random.Generator, height: float | None = None, distance: float | None = None) -> Clip:
    """One standing broad jump for distance, as an adult's reaches: `broad_jump`'s, the feet landing `distance` m
    (1.1-1.7) ahead, the pelvis rising `height` m (0.25-0.45) above its take-off height."""
    height, distance = uniform(rng, height, 0.25, 0.45), uniform(rng, distance, 1.1, 1.7)
    return _broad_jumps(rng, "long_jump", height, distance, 1)


def _broad_jumps(rng: np.random.Generator, family: str, height: float, distance: float, jumps: int) -> Clip:
    """The clip of `broad_jump` (`family` names it in its source), made `BROAD_JUMP_PASSES` times."""
    take_off_lean = rng.uniform(*BROAD_JUMP_TAKE_OFF_LEAN)
    state, lower = rng.bit_generator.state, np.zeros((jumps, 2))
    for _ in range(BROAD_JUMP_PASSES):
        rng.bit_generator.state = state  # the same draws each time
        clip, pulled_down = _jumps(rng, family, height, distance, jumps, 0.0, BROAD_JUMP_LEAN, take_off_lean,
                                   BROAD_JUMP_PUSH, BROAD_JUMP_ABSORB, lower)
        lower = lower + pulled_down
    return clip


def _jumps(rng: np.random.Generator, family: str, height: float, distance: float, jumps: int, turn: float,
           lean: tuple[float, float], take_off_lean: float, push: tuple[float, float] = JUMP_PUSH,
           absorb_depth_range: tuple[float, float] = JUMP_ABSORB, lower: np.ndarray | None = None
           ) -> tuple[Clip, np.ndarray]:
    """The clip of `jump` and `broad_jump`, and (jumps, 2) how far (m) its pelvis had to be pulled down below its track
    at most around each take-off and touch-down to reach the feet (`bodies_on_feet`): `jumps` jumps `height` m high
    and `distance` m far, the last turning by `turn` degrees; the trunk leans forward by a pitch drawn from `lean`
    (degrees, low, high) per jump in the crouch and (0.8 of it) in the landing, and by `take_off_lean` degrees as the
    feet leave the floor; each push takes a time drawn from `push` (s, low, high), each landing sinks by a depth drawn
    from `absorb_depth_range` (m); `lower` (jumps, 2): metres each take-off and landing is lower than a jump's usual."""
    lower = np.zeros((jumps, 2)) if lower is None else lower
    skel = skeleton()
    u = rng.uniform
    v_up = np.sqrt(2.0 * GRAVITY * height)
    phases, t = [], u(0.4, 0.8)
    for _ in range(jumps):
        crouch, push_time, absorb_depth = u(0.4, 0.7), u(*push), u(*absorb_depth_range)
        take_off_lower, land_lower = lower[len(phases)]
        take_off_height = STAND_HEIGHT + TAKE_OFF_RISE - take_off_lower
        land_height = STAND_HEIGHT - LAND_DROP - land_lower
        flight, v_land = free_flight(v_up, take_off_height - land_height)
        absorb = absorb_time(u(0.2, 0.35), absorb_depth, v_land)
        phases.append(dict(start=t, crouch=crouch, push=push_time, flight=flight, absorb=absorb, rise=u(0.5, 0.9),
                           depth=u(0.1, 0.22), absorb_depth=absorb_depth, take_off=take_off_height,
                           land=land_height, v_land=v_land, lean=u(*lean)))
        t += crouch + push_time + flight + absorb + phases[-1]["rise"] + u(0.3, 0.8)
    turn = float(np.clip(turn, -MAX_JUMP_TURN_RATE * flight, MAX_JUMP_TURN_RATE * flight))
    phases[-1]["turn"] = np.radians(turn)
    times = times_for(max(t, 3.0))
    frames = len(times)
    feet = flat_feet(skel, frames, 0.0, 0.0, 0.0, u(0.0, 0.12), toe_out=u(0.0, 10.0))
    planted = {s: np.ones(frames, bool) for s in "LR"}
    root = np.column_stack([np.zeros(frames), np.zeros(frames), np.full(frames, STAND_HEIGHT)])
    stand_arms = arms(rng, ("down", "down"))
    keys = [Key(0.0, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms})]
    heel_up, spin, leave_and_land = u(0.4, 0.6), None, []
    for p in phases:
        t0 = p["start"]
        t1, t2 = t0 + p["crouch"], t0 + p["crouch"] + p["push"]
        t3 = t2 + p["flight"]
        leave_and_land.append((t2, t3))
        t4, t5 = t3 + p["absorb"], t3 + p["absorb"] + p["rise"]
        v_x = distance / (p["push"] / 2 + p["flight"] + p["absorb"] / 2)
        x0 = root[np.searchsorted(times, t0), 0]
        back = 0.03 + 0.15 * p["depth"]
        low = STAND_HEIGHT - p["depth"]
        for lo, hi, z, x in _jump_tracks(p, t0, t1, t2, t3, t4, t5, x0, back, v_x, low, v_up):
            span = (times >= lo) & (times < hi)
            root[span, 2], root[span, 0] = z(times[span]), x(times[span])
        after = times >= t5
        root[after, 0] = x0 + distance
        # feet: heels rise over the balls in the second half of the push, fly, land flat
        rolling = ramp(times, t1 + 0.4 * p["push"], t2) * (times < t2 + 1e-9)
        airborne = (times >= t2) & (times < t3)
        s = np.clip((times - t2) / p["flight"], 0.0, 1.0)
        i0, turn_by = np.searchsorted(times, t0), p.get("turn", 0.0)
        pivot, ahead = (feet["L"][0][i0, :2] + feet["R"][0][i0, :2]) / 2.0, np.array([distance, 0.0])
        for side in "LR":
            ankle, yaw, pitch, toe = feet[side]
            start = ankle[i0].copy()
            ball = start + Rotation.from_euler("z", yaw[i0]).apply(ball_point(skel, side))
            on_floor = (times >= t0) & (times < t2)
            pitch[on_floor] = heel_up * rolling[on_floor]
            toe[on_floor] = -pitch[on_floor]
            ankle[on_floor] = pivot_pose(np.tile(ball, (on_floor.sum(), 1)), ball_point(skel, side),
                                         yaw[on_floor], pitch[on_floor])
            take_off = pivot_pose(ball[None], ball_point(skel, side), yaw[i0:i0 + 1], np.array([heel_up]))[0]
            landed = np.array([*(pivot + ahead + _turned_xy(start[:2] - pivot, turn_by)), start[2]])
            m = min_jerk(s[airborne])
            gap_off, gap_land = p["take_off"] - take_off[2], p["land"] - landed[2]
            hip_gap = gap_off + (gap_land - gap_off) * m
            # from take-off to landing, travelling `distance` and turning about the point between the feet
            ankle[airborne, :2] = pivot + m[:, None] * ahead + _turned_xy(
                (1.0 - m)[:, None] * (take_off[:2] - pivot) + m[:, None] * (start[:2] - pivot), turn_by * m)
            yaw[airborne] = yaw[i0] + turn_by * m
            yaw[times >= t3] = yaw[i0] + turn_by
            ankle[airborne, 2] = root[airborne, 2] - hip_gap + 0.5 * height * np.sin(np.pi * s[airborne]) ** 1.5
            pitch[airborne] = heel_up * (1.0 - min_jerk(1.5 * s[airborne]))
            toe[airborne] = -heel_up * (1.0 - min_jerk(2.0 * s[airborne]))
            ankle[times >= t3] = landed
            pitch[times >= t3], toe[times >= t3] = 0.0, 0.0
            feet[side] = (lift_above_floor(skel, side, ankle, yaw, pitch, toe, airborne), yaw, pitch, toe)
            planted[side] &= ~airborne
        if turn_by:  # the pelvis turns with the feet, about the point between them
            flying = times >= t2
            m = min_jerk(s[flying])
            centre = pivot + m[:, None] * ahead
            root[flying, :2] = centre + _turned_xy(root[flying, :2] - centre, turn_by * m)
        keys += [Key(t0, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms}),
                 Key(t1, facing=(0.0, p["lean"], 0.0), joints={**trunk(0.4 * p["lean"]), **arms(rng, ("down", "down"))}),
                 Key(t2, facing=(0.0, take_off_lean, 0.0), joints={**trunk(0.0), **arms(rng, ("forward", "forward"))}),
                 Key(t3, facing=(0.0, take_off_lean, 0.0), joints=arms(rng, ("forward", "forward"))),
                 Key(t4, facing=(0.0, 0.8 * p["lean"], 0.0), joints={**trunk(0.3 * p["lean"]), **arms(rng, ("forward", "forward"))}),
                 Key(t5, facing=(0.0, 0.0, 0.0), joints={**trunk(0.0), **stand_arms})]
        if turn_by:
            spin = _jump_spin(times, t1 + 0.4 * p["push"], t2, t3, min(p["absorb"], SPIN_STOP), turn_by)
    keys.append(Key(times[-1]))
    yaw_deg = u(-180.0, 180.0)
    person = bodies_on_feet(times, keys, root, feet, planted, spin)
    pulled_down = np.zeros((jumps, 2))
    for k, contact_times in enumerate(leave_and_land):  # around each take-off and touch-down
        for j, t in enumerate(contact_times):
            near = np.abs(times - t) < REACH_WINDOW
            pulled_down[k, j] = max(0.0, float((root[near, 2] - person.root_pos[near, 2]).max()))
    clip = family_clip(clip_name(family, rng), [turned(person, yaw_deg)], family, dict(
        height=height, distance=distance, jumps=jumps, turn=turn, duration=times[-1]))
    return clip, pulled_down


def free_flight(v_up: float, drop: float) -> tuple[float, float]:
    """(time in the air (s), vertical speed at touch-down (m/s)) of a body leaving the floor at `v_up` m/s upwards
    and touching down `drop` m lower."""
    flight = (v_up + np.sqrt(v_up**2 + 2.0 * GRAVITY * drop)) / GRAVITY
    return flight, v_up - GRAVITY * flight


def absorb_time(longest: float, depth: float, v_land: float) -> float:
    """Seconds a landing at `v_land` m/s takes to sink `depth` m and stop: `longest`, or less where a cubic from that
    speed to rest would sink below `depth` and come back up (beyond 3 `depth` / |`v_land`|)."""
    return min(longest, 3.0 * depth / abs(v_land))


def _jump_spin(times: np.ndarray, start: float, take_off: float, touch_down: float, stop: float, turn: float
               ) -> np.ndarray:
    """(T,) the pelvis's turn (radians) through a turning jump: the yaw rate rises evenly from `start` (the heels
    lifting) to take-off, stays constant in the air (no torque acts there: the angular momentum of the push is kept)
    and falls evenly over `stop` s after touch-down, `turn` in all."""
    push, flight = take_off - start, touch_down - take_off
    rate = turn / (push / 2.0 + flight + stop / 2.0)
    wind_up = rate * push / 2.0
    u = np.clip(times - touch_down, 0.0, stop)
    return np.where(times < start, 0.0, np.where(
        times < take_off, rate * (times - start) ** 2 / (2.0 * push), np.where(
            times < touch_down, wind_up + rate * (times - take_off),
            wind_up + rate * flight + rate * (u - u**2 / (2.0 * stop)))))


def _turned_xy(xy: np.ndarray, angle) -> np.ndarray:
    """(..., 2) horizontal vectors turned by `angle` radians (a scalar or (...,)) about z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * xy[..., 0] - s * xy[..., 1], s * xy[..., 0] + c * xy[..., 1]], -1)


def hermite(t0: float, t1: float, p0: float, p1: float, v0: float, v1: float):
    """A cubic from (t0, p0, velocity v0) to (t1, p1, v1), as a function of time."""
    span = t1 - t0

    def curve(t):
        s = (np.asarray(t) - t0) / span
        h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
        return h00 * p0 + h10 * span * v0 + h01 * p1 + h11 * span * v1
    return curve


def _jump_tracks(p: dict, t0, t1, t2, t3, t4, t5, x0, back, v_x, low, v_up):
    """(start, end, z(t), x(t)) of the pelvis through one jump's phases: crouch, push, flight, absorb, rise."""
    land_x = x0 + v_x * (p["push"] / 2 + p["flight"])
    settle = land_x + v_x * p["absorb"] / 2
    ballistic_z = lambda t: p["take_off"] + v_up * (t - t2) - 0.5 * GRAVITY * (t - t2) ** 2  # noqa: E731
    return [
        (t0, t1, lambda t: STAND_HEIGHT - (STAND_HEIGHT - low) * ramp(t, t0, t1), lambda t: x0 - back * ramp(t, t0, t1)),
        (t1, t2, hermite(t1, t2, low, p["take_off"], 0.0, v_up), hermite(t1, t2, x0 - back, x0 + v_x * p["push"] / 2, 0.0, v_x)),
        (t2, t3, ballistic_z, lambda t: x0 + v_x * (p["push"] / 2 + (t - t2))),
        (t3, t4, hermite(t3, t4, p["land"], p["land"] - p["absorb_depth"], p["v_land"], 0.0),
         hermite(t3, t4, land_x, settle, v_x, 0.0)),
        (t4, t5, lambda t: p["land"] - p["absorb_depth"] + (STAND_HEIGHT - p["land"] + p["absorb_depth"]) * ramp(t, t4, t5),
         lambda t: np.full(np.shape(t), settle)),
    ]


def dance(rng: np.random.Generator, beat: float | None = None, duration: float | None = None) -> Clip:
    """Dance steps to a beat of `beat` s per step (0.4-0.65): the pelvis travels a little (0.15-0.45 m/s)
    to the sides, forwards or backwards, changing direction every 2-4 beats, the body turning by up to
    180 degrees now and then with quicker steps while it turns (no stance turns the body more than 60 degrees:
    `GaitStyle.turn_step`), bouncing on every step, the arms going through random poses on the beat (4-9 s)."""
    beat, duration = uniform(rng, beat, 0.4, 0.65), uniform(rng, duration, 4.0, 9.0)
    u = rng.uniform
    times = times_for(duration)
    heading0 = u(-np.pi, np.pi)
    speed_keys, direction = [(0.0, 0.0)], np.full(len(times), heading0)
    turn_keys, t, turn = [(0.0, 0.0)], u(0.3, 0.6), 0.0
    while t < duration - 0.6:
        end = min(t + beat * int(rng.integers(2, 5)), duration - 0.3)
        speed = u(0.15, 0.45)
        speed_keys += [(t, 0.0), (t + 0.3 * (end - t), speed), (t + 0.7 * (end - t), speed), (end, 0.0)]
        direction[times >= t] = heading0 + turn + float(rng.choice([0.0, 0.5, -0.5, 1.0])) * np.pi
        if rng.random() < 0.3:
            turn += float(rng.choice([-1.0, 1.0])) * u(0.25, 1.0) * np.pi
            turn_keys += [(t, turn_keys[-1][1]), (end, turn)]
        t = end + u(0.0, 0.3)
    turn_keys.append((times[-1] + 1.0, turn_keys[-1][1]))
    heading = heading0 + channel(times, _strictly_increasing(turn_keys))
    v = speed_profile(times, speed_keys)
    centre = track(times, v, direction)
    style = walk_style(rng, 0.5, cadences=(1.0 / beat, 1.0 / beat), compression=u(0.02, 0.05), arm_swing=0.0,
                       heel_strike=0.0, push_off=0.0, width=u(0.18, 0.3), lean=u(0.0, 4.0), turn_step=60.0)
    arm_keys, t = [], 0.0
    while t < duration + beat:
        arm_keys.append((t, arms(rng)))
        t += beat * int(rng.integers(1, 3))
    extra = {name: np.stack([channel(times, [(k, a[name][axis]) for k, a in arm_keys]) for axis in range(3)], -1)
             for name in arm_keys[0][1]}
    person = gait_person(skeleton(), times, centre, heading, style, first=str(rng.choice(["L", "R"])), extra_joints=extra)
    return family_clip(clip_name("dance", rng), [person], "dance", dict(beat=beat, duration=times[-1]))


def _strictly_increasing(keys: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """`keys` with any key not later than the one before it dropped."""
    out = [keys[0]]
    for k in keys[1:]:
        if k[0] > out[-1][0] + 1e-6:
            out.append(k)
    return out
