"""Walking and running along a path: phase-based footsteps, planted feet, a pelvis that follows.

1. `plan_steps`: the feet alternate at the cadence; each step lands where the pelvis track will be at
   a set fraction of the coming stance (step length = speed / cadence), the foot turned to the path
   heading at that time. Steps stop when the path stops (a closing step brings the feet together)
   and start again when it moves. Lateral steps widen the stance so that the feet never cross.
2. `foot_tracks`: a stance foot is fixed on the floor; it rolls in over the heel and off over the toe
   joint (each pivot stays where it is), by pitches that grow with the step length. A swing foot
   moves from lift-off to touch-down (minimum-jerk horizontally, lifted by the clearance) and is
   raised wherever a sole corner would dip below the floor.
3. `gait_person`: the pelvis sways towards the supporting foot, turns with the stepping legs, and is
   as high as the style asks but never higher than both legs can reach (`feet.reachable_height`):
   this gives the bob of walking (lowest in double support). Arms swing against the legs; the legs
   are placed on the feet by two-bone IK.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.families.balance import balanced_person
from motion_lib.families.common import (
    GRAVITY,
    arm_channels,
    min_jerk,
    person_from_channels,
    true_runs,
    trunk_channels,
)
from motion_lib.families.feet import (
    airborne_feet_in_reach,
    ball_point,
    falling_no_faster,
    heel_point,
    pivot_pose,
    place_feet,
    reachable_height,
    soft_min,
    swing,
)
from motion_lib.keyframes.animate import FPS
from motion_lib.keyframes.limbs import SIDE_SIGN, ankle_height
from motion_lib.skeleton import Skeleton


@dataclass(frozen=True)
class GaitStyle:
    """How a person steps; cadence and duty factor are functions of the current speed (np.interp)."""

    speeds: tuple[float, ...] = (0.0, 1.8)
    """Speeds (m/s) at which `cadences` and `duties` are given."""
    cadences: tuple[float, ...] = (1.6, 2.0)
    """Steps per second."""
    duties: tuple[float, ...] = (0.62, 0.58)
    """Fraction of a stride a foot is on the floor (> 0.5 walking, < 0.5 running: a flight phase)."""
    width: float = 0.18
    """Lateral distance between the two ankle tracks (metres)."""
    clearance: float = 0.07
    """Swing-foot lift at mid-swing (metres)."""
    heel_strike: float = 15.0
    """Toe-up pitch at touch-down for long steps (degrees)."""
    push_off: float = 40.0
    """Heel-up pitch at lift-off for long steps (degrees)."""
    placement: float = 0.45
    """The ankle lands under the pelvis track at this fraction of its stance."""
    toe_out: float = 6.0
    """Each foot turned outwards (degrees)."""
    height: float = 0.93
    """Pelvis height asked for (metres); lower where the legs cannot reach."""
    compression: float = 0.0
    """Pelvis drop at mid-stance (metres): a walk's or a dance step's spring."""
    balanced: bool = True
    """The pelvis moved (along the floor) so that the zero-moment point stays on the feet (`balance.balanced_com`):
    the speed of a walk then dips at mid-stance as an inverted pendulum's does."""
    ballistic_flight: bool = False
    """The pelvis falls freely while no foot is on the floor (`ballistic_bob`, its apexes at `height`): running's
    flight and spring."""
    sway: float = 0.45
    """Pelvis moves this fraction of the way towards the supporting foot (sideways)."""
    pelvis_turn: float = 10.0
    """Pelvis yaw per metre of foot separation along the path (degrees/m)."""
    lean: float = 3.0
    """Trunk and pelvis forward lean (degrees)."""
    arm_swing: float = 30.0
    """Shoulder swing per metre of foot separation (degrees/m)."""
    elbow: float = 20.0
    """Elbow flexion (degrees)."""
    turn_step: float | None = None
    """Largest turn of the heading (degrees) while one foot is on the floor: where the heading turns faster, the
    steps come quicker (up to `MAX_TURN_CADENCE`), so that a quick turn is made of several short steps, each foot
    landing turned to the heading, and the hips stay within their range. None: the cadence follows the speed only."""

    def __post_init__(self):
        knots_match = len(self.speeds) == len(self.cadences) == len(self.duties)
        if not knots_match or np.any(np.diff(self.speeds) <= 0):
            raise ValueError(f"GaitStyle needs increasing speeds with a cadence and a duty each, got speeds "
                             f"{self.speeds}, cadences {self.cadences}, duties {self.duties}")

    def cadence(self, speed: float) -> float:
        return float(np.interp(speed, self.speeds, self.cadences))

    def duty(self, speed: float) -> float:
        return float(np.interp(speed, self.speeds, self.duties))


@dataclass
class Stance:
    """One foot on the floor from touch-down `t_on` to lift-off `t_off` (seconds)."""

    t_on: float
    t_off: float
    ankle: np.ndarray
    """(3,) ankle position with the foot flat."""
    yaw: float
    """Foot yaw (radians)."""
    pitch_in: float = 0.0
    pitch_out: float = 0.0
    extra: dict = field(default_factory=dict)


def _at(times: np.ndarray, values: np.ndarray, t: float) -> np.ndarray:
    """`values` (T, ...) linearly interpolated at time t (clamped to the clip)."""
    position = np.clip(t * FPS, 0, len(times) - 1)
    i = min(int(position), len(times) - 2)
    a = position - i
    return (1 - a) * values[i] + a * values[i + 1]


def plan_steps(skel: Skeleton, times: np.ndarray, centre: np.ndarray, heading: np.ndarray, style: GaitStyle,
               first: str = "R") -> dict[str, list[Stance]]:
    """Footsteps for a pelvis track `centre` (T, 2) and body heading `heading` (T,) radians."""
    speed = np.linalg.norm(np.gradient(centre, axis=0), axis=-1) * FPS
    rest = {s: skel.rest_positions[skel.index(f"{s}_Ankle")] for s in "LR"}

    def target(side: str, t: float, width: float) -> Stance:
        psi = float(_at(times, heading, t))
        local = np.array([rest[side][0], SIDE_SIGN[side] * width / 2])
        c, s = np.cos(psi), np.sin(psi)
        xy = _at(times, centre, t) + np.array([c * local[0] - s * local[1], s * local[0] + c * local[1]])
        return Stance(np.inf, np.inf, np.array([*xy, ankle_height(skel, side)]),
                      psi + np.radians(style.toe_out) * SIDE_SIGN[side])

    stances = {s: [target(s, 0.0, style.width)] for s in "LR"}
    for s in "LR":
        stances[s][0].t_on = -np.inf
    turn_cadence = turning_cadence(heading, speed, style)
    cadence = np.maximum([style.cadence(v) for v in speed], turn_cadence)
    phase = np.concatenate([[0.0], np.cumsum((cadence[1:] + cadence[:-1]) / 2 / FPS)])  # steps taken
    t, side = 0.0, first
    while True:
        next_step = float(np.interp(np.interp(t, times, phase) + 1.0, phase, times))
        v = float(_at(times, speed, (t + next_step) / 2))
        period = 2.0 / max(style.cadence(v), float(_at(times, turn_cadence, (t + next_step) / 2)))
        swing = (1.0 - style.duty(v)) * period
        land = t + swing
        if land + 0.15 > times[-1]:
            break
        ahead = speed[(times >= t) & (times <= t + period)]
        place = land + style.placement * style.duty(v) * period
        psi = float(_at(times, heading, place))
        lateral = abs(np.dot(_at(times, centre, place) - _at(times, centre, place - period / 2),
                             [-np.sin(psi), np.cos(psi)]))
        new = target(side, place, max(style.width, lateral + 0.12))
        if style.turn_step is not None:  # in a quick turn, a foot lands turned no further than half a step's turn
            ahead_of_body = np.angle(np.exp(1j * (new.yaw - float(_at(times, heading, land)))))
            new.yaw -= ahead_of_body - np.clip(ahead_of_body, -np.radians(style.turn_step / 2 + style.toe_out),
                                               np.radians(style.turn_step / 2 + style.toe_out))
        current = stances[side][-1]
        moved = (np.linalg.norm(new.ankle - current.ankle) > 0.02
                 or abs(np.angle(np.exp(1j * (new.yaw - current.yaw)))) > np.radians(4.0))
        if (ahead.size == 0 or ahead.max() < 0.05) and not moved:
            t += 1.0 / FPS  # standing still: wait for the path to move
            continue
        current.t_off, new.t_on = t, land
        stances[side].append(new)
        side = "L" if side == "R" else "R"
        t = max(next_step, t + swing if style.duty(v) >= 0.5 else t + 1.0 / FPS)
    return stances


MAX_TURN_CADENCE = 3.5
"""Steps per second: the quickest stepping a turn asks for (`GaitStyle.turn_step`)."""


def turning_cadence(heading: np.ndarray, speed: np.ndarray, style: GaitStyle) -> np.ndarray:
    """(T,) the cadence (steps/s) at which a stance (duty x 2 / cadence seconds) turns the heading (T,) radians by no
    more than `style.turn_step`, at most `MAX_TURN_CADENCE`; zeros without a `turn_step`."""
    if style.turn_step is None:
        return np.zeros(len(heading))
    rate = gaussian_filter1d(np.abs(np.gradient(np.unwrap(heading))) * FPS, sigma=0.2 * FPS, mode="nearest")
    duty = np.array([style.duty(v) for v in speed])
    return np.minimum(2.0 * duty * np.degrees(rate) / style.turn_step, MAX_TURN_CADENCE)


def _rocker_pitches(stances: list[Stance], style: GaitStyle) -> None:
    """Heel-strike and push-off pitches of each stance, growing with the step length along the foot."""
    for k, stance in enumerate(stances):
        forward = np.array([np.cos(stance.yaw), np.sin(stance.yaw)])
        incoming = np.dot(stance.ankle[:2] - stances[k - 1].ankle[:2], forward) if k > 0 else 0.0
        outgoing = np.dot(stances[k + 1].ankle[:2] - stance.ankle[:2], forward) if k + 1 < len(stances) else 0.0
        stance.pitch_in = -np.radians(style.heel_strike) * np.clip((incoming - 0.25) / 0.6, 0.0, 1.0)
        stance.pitch_out = np.radians(style.push_off) * np.clip((outgoing - 0.25) / 0.6, 0.0, 1.0)


def _stance_pose(skel: Skeleton, side: str, stance: Stance, t: np.ndarray) -> tuple[np.ndarray, ...]:
    """Ankle (n, 3), pitch (n,) and toe flexion (n,) of a stance foot at times t (n,)."""
    n = len(t)
    yaw = np.full(n, stance.yaw)
    duration = stance.t_off - stance.t_on
    heel_time = 0.15 * duration if np.isfinite(duration) else 0.0
    toe_time = 0.4 * duration if np.isfinite(duration) else 0.0
    pitch, toe = np.zeros(n), np.zeros(n)
    ankle = np.tile(stance.ankle, (n, 1))
    if heel_time > 0 and stance.pitch_in != 0.0:
        early = t < stance.t_on + heel_time
        pitch[early] = stance.pitch_in * (1.0 - min_jerk((t[early] - stance.t_on) / heel_time))
        heel = stance.ankle + Rotation.from_euler("z", stance.yaw).apply(heel_point(skel, side))
        ankle[early] = pivot_pose(np.tile(heel, (early.sum(), 1)), heel_point(skel, side), yaw[early], pitch[early])
    if toe_time > 0 and stance.pitch_out != 0.0:
        late = t > stance.t_off - toe_time
        pitch[late] = stance.pitch_out * min_jerk((t[late] - (stance.t_off - toe_time)) / toe_time)
        toe[late] = -pitch[late]  # the toes stay flat on the floor
        ball = ball_point(skel, side)
        joint = stance.ankle + Rotation.from_euler("z", stance.yaw).apply(ball)
        ankle[late] = pivot_pose(np.tile(joint, (late.sum(), 1)), ball, yaw[late], pitch[late])
    return ankle, pitch, toe


def foot_tracks(skel: Skeleton, side: str, times: np.ndarray, stances: list[Stance], style: GaitStyle):
    """Per-frame foot pose of one foot: ankle (T, 3), yaw, pitch, toe flexion (T,) and on-floor weight (T,)."""
    _rocker_pitches(stances, style)
    frames = len(times)
    ankle, yaw, pitch, toe, support = np.zeros((frames, 3)), np.zeros(frames), np.zeros(frames), np.zeros(frames), np.zeros(frames)
    for k, stance in enumerate(stances):
        on = (times >= stance.t_on) & (times <= stance.t_off)
        ankle[on], pitch[on], toe[on] = _stance_pose(skel, side, stance, times[on])
        yaw[on], support[on] = stance.yaw, 1.0
        if k + 1 == len(stances):
            break
        after = stances[k + 1]
        gap = (times > stance.t_off) & (times < after.t_on)
        if not gap.any():
            continue
        s = (times[gap] - stance.t_off) / (after.t_on - stance.t_off)
        a0, p0, q0 = (x[0] for x in _stance_pose(skel, side, stance, np.array([stance.t_off])))
        a1, p1, q1 = (x[0] for x in _stance_pose(skel, side, after, np.array([after.t_on])))
        ankle[gap], yaw[gap], pitch[gap], toe[gap] = swing(skel, side, s, (a0, stance.yaw, p0, q0),
                                                           (a1, after.yaw, p1, q1), style.clearance)
    return ankle, yaw, pitch, toe, support


def gait_person(skel: Skeleton, times: np.ndarray, centre: np.ndarray, heading: np.ndarray, style: GaitStyle,
                first: str = "R", extra_joints: dict | None = None) -> PersonMotion:
    """A person stepping along `centre` (T, 2) facing `heading` (T,) radians."""
    frames = len(times)
    more = int(1.5 * FPS)  # the path goes on past the clip's end, so do the steps
    longer = np.arange(frames + more) / FPS
    velocity, turn = centre[-1] - centre[-2], heading[-1] - heading[-2]
    stances = plan_steps(skel, longer, np.concatenate([centre, centre[-1] + np.arange(1, more + 1)[:, None] * velocity]),
                         np.concatenate([heading, heading[-1] + np.arange(1, more + 1) * turn]), style, first)
    feet = {side: tuple(x[:frames] for x in foot_tracks(skel, side, longer, stances[side], style)) for side in "LR"}
    weight = feet["L"][4] + feet["R"][4]
    support = (feet["L"][0][:, :2] * feet["L"][4][:, None] + feet["R"][0][:, :2] * feet["R"][4][:, None])
    support = np.where(weight[:, None] > 0, support / np.maximum(weight, 1e-9)[:, None], centre)
    support = gaussian_filter1d(support, sigma=0.12 * FPS, axis=0, mode="nearest")
    left = np.stack([-np.sin(heading), np.cos(heading)], -1)
    forward = np.stack([np.cos(heading), np.sin(heading)], -1)
    sway = style.sway * ((support - centre) * left).sum(-1)
    root_xy = centre + sway[:, None] * left
    split = gaussian_filter1d(((feet["L"][0][:, :2] - feet["R"][0][:, :2]) * forward).sum(-1), sigma=1.5, mode="nearest")
    pelvis_yaw = np.degrees(heading) - style.pelvis_turn * split
    facing = np.stack([pelvis_yaw, np.full_like(split, style.lean), 1.5 * sway / 0.05], -1)
    stance_bump = sum(np.where(f[4] > 0, np.sin(np.pi * _stance_progress(times, stances[s])), 0.0)
                      for s, f in feet.items())
    wanted = gaussian_filter1d(style.height - style.compression * np.clip(stance_bump, 0.0, 1.0), sigma=1.5,
                               mode="nearest")
    if style.ballistic_flight:
        wanted = wanted + ballistic_bob(weight == 0)
    joints = trunk_channels(np.full(frames, 0.5 * style.lean), twist=1.5 * style.pelvis_turn * split,
                            neck=np.full(frames, -0.5 * style.lean))
    swing = style.arm_swing * split
    joints.update(arm_channels(frames, -swing, swing, style.elbow, style.elbow))
    joints.update(extra_joints or {})

    root_rot = Rotation.from_euler("ZYX", facing, degrees=True)

    def body(root_xy: np.ndarray) -> PersonMotion:
        """The person with its pelvis over `root_xy` (T, 2), its legs reaching for the feet."""
        reach = reachable_height(skel, root_xy, root_rot, {s: f[0] for s, f in feet.items()},
                                 {s: f[4] > 0 for s, f in feet.items()})
        fall = GRAVITY if style.ballistic_flight else PELVIS_FALL  # a run's flights fall at g by design
        root = np.column_stack([root_xy, falling_no_faster(soft_min(wanted, reach), FPS, fall)])
        placed = {}
        for side, f in feet.items():  # a swing foot left behind comes along with its leg
            ankle = airborne_feet_in_reach(skel, side, root, root_rot, f[0], f[4] > 0)
            placed[side] = (ankle, *f[1:4])
        return place_feet(person_from_channels(skel, root, facing, joints), skel, placed)

    return balanced_person(body, root_xy, skel) if style.balanced else body(root_xy)


PELVIS_FALL = 6.0
"""m/s²: the fastest a stepping pelvis accelerates downwards (where the legs' reach drops it into double support).
Unbounded, fast walks dropped it faster than free fall (the centre of mass below -1.1 g on 0.4-2.7 % of the frames
of walks at 1.7-1.8 m/s, down to -16 m/s²), which no body standing on a floor can follow. A run's pelvis falls at
no more than g instead: its flights fall at exactly g, and a drop to where a leg reaches is bounded by it too."""
LONG_STANCE = 0.4
"""Seconds: a stretch on the floor longer than this is walking or standing, not a running stance."""
RAMP = 0.15
"""Seconds over which a long stance starts or stops bouncing."""


def _ease(n: int) -> np.ndarray:
    """(n,) 0 -> 1, half a cosine, sampled at the middle of each frame."""
    return (1.0 - np.cos(np.pi * (np.arange(n) + 0.5) / n)) / 2.0


def ballistic_bob(airborne: np.ndarray) -> np.ndarray:
    """(T,) pelvis height change (m) with the vertical motion of running: while `airborne` (T,) bool the pelvis falls
    freely (acceleration -g), leaving the floor rising at g·T_flight/2 and landing as fast falling (apex mid-flight);
    a stance between two flights turns the one speed into the other by half a cosine (the leg's spring). A stance
    longer than `LONG_STANCE` (walking, standing) is still in its middle and eases in and out over `RAMP`. The slow
    drift of unequal flights is taken out (Gaussian of 0.5 s), which changes accelerations by far less than g, and the
    highest apex is 0 (the style's height: the pelvis is no higher than there, where the legs reach it)."""
    frames, dt = len(airborne), 1.0 / FPS
    velocity = np.zeros(frames)
    flights = true_runs(airborne)
    takeoff = [GRAVITY * (end - start) * dt / 2 for start, end in flights]
    for (start, end), up in zip(flights, takeoff):
        velocity[start:end] = up - GRAVITY * dt * (np.arange(end - start) + 0.5)
    bounds = [0] + [edge for flight in flights for edge in flight] + [frames]
    for k, (start, end) in enumerate(zip(bounds[::2], bounds[1::2])):  # the stances before, between and after flights
        n = end - start
        if n == 0:
            continue
        v_in = -takeoff[k - 1] if k > 0 else 0.0
        v_out = takeoff[k] if k < len(flights) else 0.0
        if n * dt <= LONG_STANCE:
            velocity[start:end] = v_in + (v_out - v_in) * _ease(n)
        else:
            ramp = int(round(RAMP * FPS))
            velocity[start:start + ramp] = v_in * (1.0 - _ease(ramp))
            velocity[end - ramp:end] = v_out * _ease(ramp)
    bob = np.cumsum(velocity) * dt
    bob -= gaussian_filter1d(bob, sigma=0.5 * FPS, mode="nearest")
    return bob - bob.max()


def _stance_progress(times: np.ndarray, stances: list[Stance]) -> np.ndarray:
    """(T,) 0 -> 1 through each finite stance (0 elsewhere)."""
    progress = np.zeros(len(times))
    for stance in stances:
        if np.isfinite(stance.t_on) and np.isfinite(stance.t_off):
            on = (times >= stance.t_on) & (times <= stance.t_off)
            progress[on] = (times[on] - stance.t_on) / (stance.t_off - stance.t_on)
    return progress
