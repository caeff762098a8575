"""Furniture placed from the motion: a seat (chair, or a bed's edge) under a seated person.

A person sits where the pelvis is lowest (`seated_frames`). The seat faces the way the pelvis faces; its front
edge lies `SEAT_EDGE_AHEAD` ahead of the pelvis joint: the pelvis and thighs rest on it, the knees and calves
stay clear. Its top is the lowest underside of the humanoid's pelvis and thigh capsules behind that edge over
those frames (`seat_underside`: the shapes of `assistmimic/mjcf/humanoid.py`, from the skeleton's joints and
`CAPSULE_RADIUS`), so the body rests on it and nothing sinks in (thighs sloping down to the knees rest on the
front edge).

Capture of a person sitting on a chair brings no chair: `seats_from_motion` finds the persons who sit on something
that is not there (at their lowest, the centre of mass is off what touches the floor, `UNSUPPORTED_M`) and puts the
standard chair under them the same way, or the standard bed under a person who lies there (`bed_under_lying`: along
the body), so the readers' clips are tracked against the furniture the motion rests on.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.families.balance import com_outside_support
from motion_lib.formats.common import body_positions, lowest_point, wxyz_to_rotations
from motion_lib.furniture import DEFAULT_SIZES, Furniture
from motion_lib.skeleton import CAPSULE_RADIUS, Skeleton

SEAT_EDGE_AHEAD = 0.25
"""The seat's front edge lies this far ahead of the seated pelvis joint (m): under the thighs, behind the knees."""
SEATED_BAND = 0.01
"""Frames whose pelvis is within this height (m) of its lowest count as seated."""
PELVIS_SPAN = 0.6
"""The humanoid's pelvis capsule joins the points at this fraction of the way from the pelvis joint to each hip."""
SEAT_HEIGHTS = (0.25, 0.8)
"""Seat heights (m) `seat_from_motion` accepts; outside them the person does not sit on a chair or a bed's edge."""
LYING_HEAD_ABOVE_PELVIS = 0.3
"""At most this far (m) above the pelvis, the head of a person at its lowest means lying, not sitting."""
LOW_BAND = 0.05
"""Frames whose pelvis is within this height (m) of its lowest are where `seats_from_motion` looks for sitting."""
MIN_SITTING_S = 0.3
"""A person is taken to sit only when its pelvis stays that low for at least this long (s)."""
UNSUPPORTED_M = 0.08
"""Over those frames, a centre of mass this far (m, median) outside the support polygon of the points on the floor is
held up by something else: a seat (generated sitting: 0.14-0.22 m; squats, kneels, floor sitting, the low points of
walks, kicks, jumps and dances: under 0.05 m; a run's low points, single stances, reach 0.37 m but move too fast to
count, `MAX_SITTING_SPEED`)."""
BED_EDGE_CLEARANCE = 0.15
"""m: a bed moved clear of another person's feet keeps the lying pelvis at least this far inside its long edge."""
FOOT_CLEARANCE = 0.1
"""m: another person's feet (ankles) stay at least this far outside a bed placed from the motion."""
MAX_SITTING_SPEED = 0.3
"""m/s: over those frames the pelvis of a seated (or lying) person moves slower than this (median; a run's lowest
frames, single stances with the centre of mass off the foot, move at 2-4 m/s)."""
MAX_TESTED_FRAMES = 300
"""At most this many of those frames (evenly spread) are tested."""
SEATED_PELVIS_ABOVE_SEAT = 0.35
"""At most this far (m) above the seat's top, the pelvis of a person at its lowest means sitting (0.18 m on the
demo chair), not standing (0.45 m over the knees)."""


def _capsule_bottom(a: np.ndarray, b: np.ndarray, radius: float, ahead: np.ndarray, edge: float) -> np.ndarray:
    """(T,) lowest point of the humanoid's capsule between joints `a` and `b` (T, 3), ends pulled in by `radius` (a
    sphere at the middle where they are closer than 2 `radius`, as `assistmimic.mjcf.humanoid._capsule_between`
    builds it), over the part of its axis no further ahead than `edge` along the unit direction `ahead` (3,)
    (+inf where all of it is further ahead)."""
    bone = b - a
    length = np.linalg.norm(bone, axis=-1, keepdims=True)
    pull = np.where(length <= 2 * radius + 1e-3, length / 2, radius) * bone / np.maximum(length, 1e-9)
    a, b = a + pull, b - pull
    fa, fb = a @ ahead - edge, b @ ahead - edge
    cut = np.clip(fa / np.where(np.abs(fa - fb) > 1e-9, fa - fb, 1.0), 0.0, 1.0)[:, None]  # where the axis meets the edge
    crossing = a + cut * (b - a)
    candidates = (np.where(fa <= 0, a[:, 2], np.inf), np.where(fb <= 0, b[:, 2], np.inf),
                  np.where((fa <= 0) != (fb <= 0), crossing[:, 2], np.inf))
    return np.min(candidates, axis=0) - radius


def seat_underside(person: PersonMotion, skeleton: Skeleton, front: np.ndarray, yaw_deg: float) -> np.ndarray:
    """(T,) height of the lowest point of the pelvis and both thigh capsules per frame (m), of the parts behind a
    seat's front edge through the point `front` (x, y) facing `yaw_deg`: what rests on the seat."""
    ahead = Rotation.from_euler("z", yaw_deg, degrees=True).apply([1.0, 0.0, 0.0])
    edge = float(np.asarray(front, dtype=float) @ ahead[:2])
    pos = body_positions(person, skeleton)
    pelvis = pos[:, 0]
    bottoms, hips = [], {}
    for side in ("L", "R"):
        hip, knee = pos[:, skeleton.index(f"{side}_Hip")], pos[:, skeleton.index(f"{side}_Knee")]
        hips[side] = pelvis + PELVIS_SPAN * (hip - pelvis)
        bottoms.append(_capsule_bottom(hip, knee, CAPSULE_RADIUS["hip"], ahead, edge))
    bottoms.append(_capsule_bottom(hips["L"], hips["R"], CAPSULE_RADIUS["pelvis"], ahead, edge))
    return np.min(bottoms, axis=0)


def seated_frames(person: PersonMotion) -> np.ndarray:
    """(T,) bool: the frames whose pelvis is within `SEATED_BAND` of its lowest height."""
    height = person.root_pos[:, 2]
    return height <= height.min() + SEATED_BAND


def facing_yaw(person: PersonMotion, frames: np.ndarray) -> float:
    """Mean heading (degrees) of the pelvis's forward (+x) axis over the `frames` (T,) bool mask."""
    forward = wxyz_to_rotations(person.root_rot[frames]).apply([1.0, 0.0, 0.0])
    return math.degrees(math.atan2(forward[:, 1].mean(), forward[:, 0].mean()))


def seat_under(person: PersonMotion, skeleton: Skeleton, kind: str = "chair") -> Furniture:
    """A `kind` ("chair" or "bed", `DEFAULT_SIZES` footprint) under `person` where it sits (module docstring).
    A chair's depth (x) runs along the facing; a bed is sat on at its long side (its y along the facing)."""
    frames = seated_frames(person)
    yaw = facing_yaw(person, frames)
    length, width, _ = DEFAULT_SIZES[kind]
    depth, item_yaw = (length, yaw) if kind == "chair" else (width, yaw + 90.0)
    ahead = Rotation.from_euler("z", yaw, degrees=True).apply([1.0, 0.0, 0.0])[:2]
    front = person.root_pos[frames, :2].mean(axis=0) + SEAT_EDGE_AHEAD * ahead
    centre = front - depth / 2 * ahead
    top = float(seat_underside(person, skeleton, front, yaw)[frames].min())
    item_yaw = (item_yaw + 180.0) % 360.0 - 180.0
    return Furniture(kind, (round(float(centre[0]), 4), round(float(centre[1]), 4)), round(item_yaw, 3),
                     (length, width, round(top, 4)))


def bed_under_lying(person: PersonMotion, skeleton: Skeleton, clear_of: np.ndarray | None = None) -> Furniture:
    """The standard bed (`DEFAULT_SIZES`) under `person` where it lies lowest (`seated_frames`): its length along the
    body (pelvis to head, seen from above), centred between the head and the ankles along it and on the pelvis across
    it, its top at the lowest underside of the pelvis and thigh capsules over those frames (`seat_underside`).
    `clear_of` (N, 2): points on the floor (another person's feet, every frame) the bed must leave free: it is moved
    across the body, by as little as does it and no further than keeps the pelvis `BED_EDGE_CLEARANCE` inside."""
    frames = seated_frames(person)
    pos = body_positions(person, skeleton)[frames]
    pelvis, head = pos[:, 0].mean(axis=0), pos[:, skeleton.index("Head")].mean(axis=0)
    ankles = pos[:, [skeleton.index("L_Ankle"), skeleton.index("R_Ankle")]].mean(axis=(0, 1))
    along = (head - pelvis)[:2] / max(float(np.linalg.norm((head - pelvis)[:2])), 1e-9)
    yaw = math.degrees(math.atan2(along[1], along[0]))
    length, width, _ = DEFAULT_SIZES["bed"]
    centre = pelvis[:2] + (((head[:2] + ankles[:2]) / 2 - pelvis[:2]) @ along) * along
    if clear_of is not None and len(clear_of):
        across = np.array([-along[1], along[0]])
        centre = centre + _clear_shift(clear_of - centre, along, across, length, width) * across
    beyond = pelvis[:2] + 10.0 * along  # an edge past the whole body: every part of the capsules counts
    top = float(seat_underside(person, skeleton, beyond, yaw)[frames].min())
    return Furniture("bed", (round(float(centre[0]), 4), round(float(centre[1]), 4)),
                     round((yaw + 180.0) % 360.0 - 180.0, 3), (length, width, round(top, 4)))


def _clear_shift(points: np.ndarray, along: np.ndarray, across: np.ndarray, length: float, width: float) -> float:
    """The smallest shift (m) across of a `length` x `width` bed centred at the origin that leaves every one of
    `points` (N, 2, from the bed's centre) `FOOT_CLEARANCE` outside it, within +-(width / 2 - BED_EDGE_CLEARANCE); 0
    when none does."""
    a, c = points @ along, points @ across
    near = np.abs(a) < length / 2 + FOOT_CLEARANCE  # beside the bed, not beyond its ends
    limit = width / 2 - BED_EDGE_CLEARANCE
    for shift in sorted(np.linspace(-limit, limit, 81), key=abs):
        if (np.abs(c[near] - shift) >= width / 2 + FOOT_CLEARANCE).all():
            return float(shift)
    return 0.0


def lies_lowest(person: PersonMotion, skeleton: Skeleton) -> bool:
    """Whether `person` lies at its lowest (`seated_frames`): the head there less than `LYING_HEAD_ABOVE_PELVIS` above
    the pelvis."""
    pos = body_positions(person, skeleton)[seated_frames(person)]
    return bool((pos[:, skeleton.index("Head"), 2] - pos[:, 0, 2]).mean() < LYING_HEAD_ABOVE_PELVIS)


def seat_from_motion(person: PersonMotion, skeleton: Skeleton, kind: str,
                     clear_of: np.ndarray | None = None) -> tuple[list[Furniture], str]:
    """([the `kind` under `person` where it sits, or a bed under it where it lies, clear of the points `clear_of`
    (`bed_under_lying`)], "") when the person sits (head above the pelvis) or, for a bed, lies at its lowest, at a
    plausible height; else ([], the reason in one sentence)."""
    if lies_lowest(person, skeleton):
        if kind != "bed":
            return [], f"the {kind} is not placed: the person on it lies down (a bed would be)"
        bed = bed_under_lying(person, skeleton, clear_of)
        if not SEAT_HEIGHTS[0] <= bed.size[2] <= SEAT_HEIGHTS[1]:
            return [], (f"the bed is not placed: the person on it lies lowest at {bed.size[2]:.2f} m, not on a bed "
                        f"{SEAT_HEIGHTS[0]:g}-{SEAT_HEIGHTS[1]:g} m high")
        return [bed], ""
    frames = seated_frames(person)
    seat = seat_under(person, skeleton, kind)
    above = float(person.root_pos[frames, 2].mean()) - seat.size[2]
    if above > SEATED_PELVIS_ABOVE_SEAT:
        return [], (f"the {kind} is not placed: the person on it never sits (at its lowest, its pelvis is {above:.2f} m "
                    "above the thighs' underside)")
    if not SEAT_HEIGHTS[0] <= seat.size[2] <= SEAT_HEIGHTS[1]:
        return [], (f"the {kind} is not placed: the person on it sits lowest at {seat.size[2]:.2f} m, not on a seat "
                    f"{SEAT_HEIGHTS[0]:g}-{SEAT_HEIGHTS[1]:g} m high")
    return [seat], ""


def feet_of(persons: list[PersonMotion], skeleton: Skeleton) -> np.ndarray:
    """(N, 2) where the ankles of `persons` are, seen from above, every frame (none: (0, 2))."""
    ankles = [skeleton.index("L_Ankle"), skeleton.index("R_Ankle")]
    points = [body_positions(p, skeleton)[:, ankles, :2].reshape(-1, 2) for p in persons]
    return np.concatenate(points) if points else np.zeros((0, 2))


def sits_unsupported(person: PersonMotion, skeleton: Skeleton, fps: float, floor: float = 0.0) -> bool:
    """Whether `person` (at `fps` frames/s, on a floor at height `floor`) sits or lies on something that its motion
    does not show: for at least `MIN_SITTING_S` its pelvis stays within `LOW_BAND` of its lowest, moving slower than
    `MAX_SITTING_SPEED` (median), while the centre of mass lies `UNSUPPORTED_M` or more (median) outside what touches
    the floor."""
    height = person.root_pos[:, 2]
    low = height <= height.min() + LOW_BAND
    if low.sum() < MIN_SITTING_S * fps:
        return False
    speed = np.linalg.norm(np.diff(person.root_pos[:, :2], axis=0), axis=1) * fps  # (T-1,)
    if np.median(speed[low[:-1]]) > MAX_SITTING_SPEED:
        return False
    frames = np.flatnonzero(low)[:: -(-int(low.sum()) // MAX_TESTED_FRAMES)]  # bounded work for long capture
    low_person = PersonMotion(person.root_pos[frames] - [0.0, 0.0, floor], person.root_rot[frames],
                              person.joint_rot[frames])
    return bool(np.median(com_outside_support(low_person, skeleton)) >= UNSUPPORTED_M)


def clip_floor(persons: list[PersonMotion], skeleton: Skeleton) -> float:
    """The height (m) of the floor the persons stand on: the 5th percentile of their lowest points, every frame."""
    return float(np.percentile(np.concatenate([lowest_point(body_positions(p, skeleton), skeleton) for p in persons]),
                               5))


def seats_from_motion(clip: Clip, skeleton: Skeleton) -> Clip:
    """A copy of `clip` with the standard chair under each person that sits unsupported (`sits_unsupported`,
    `seat_from_motion`), or the standard bed under one that lies so (`bed_under_lying`, clear of the others' feet),
    recorded as `source["seats_placed"]` (person index and seat or bed height, m); a person no chair or bed fits is
    recorded as `source["furniture_unplaced"]`. A clip that brings furniture, or whose reader already tried to place
    some (`source["furniture_unplaced"]`: HHI-Assist's chair and bed takes), is returned as it is."""
    if clip.furniture or "furniture_unplaced" in clip.source:
        return clip
    floor = clip_floor(clip.persons, skeleton)
    placed, reasons, furniture = [], [], []
    for index, person in enumerate(clip.persons):
        if not sits_unsupported(person, skeleton, clip.fps, floor):
            continue
        others = [other for other in clip.persons if other is not person]
        seats, unplaced = seat_from_motion(person, skeleton, "bed" if lies_lowest(person, skeleton) else "chair",
                                           feet_of(others, skeleton))
        if seats:
            furniture.extend(seats)
            placed.append({"person": index, "height_m": seats[0].size[2]})
        else:
            reasons.append(f"person {index}: {unplaced}")
    source = dict(clip.source)
    if placed:
        source["seats_placed"] = placed
    if reasons:
        source["furniture_unplaced"] = "; ".join(reasons)
    return dataclasses.replace(clip, furniture=furniture, source=source)
