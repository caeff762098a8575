"""The size of the person captured, from where their planted feet are, and the root travel rescaled to the skeleton.

The readers copy a capture's joint rotations onto the one skeleton and keep its root translation. A subject k times
the skeleton's size travels k times as far per step as the skeleton's legs reach, so, converted, every planted foot
slides along the travel (by (k - 1) of it) and the pelvis bobs and drops k times as far. `fit_subject_scale`
measures k from the clip itself: between consecutive frames the lowest foot point (ankle or toe, by its sole), when it
is planted, should not move, so with the root travel r(t) and the foot's offset from the root g(t) (forward
kinematics on the skeleton),

    foot(t) = r(t) / k + g(t)  is still  ->  1 / k = -sum(dr . dg) / sum(|dr|^2)   over the planted frames,

in 3D: walking measures it by the travel, squatting and bending by the pelvis's drop (a slow vertical drift of the
capture, feet sinking into the floor, hardly enters: its steps are small and unrelated to the pose's). `scale_travel`
rescales the travel about person 0's first root position; `motion_lib.families.transforms.with_subject_scale`
makes the slide this undoes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_lib.clip import PersonMotion
from motion_lib.skeleton import ANKLE_ABOVE_SOLE, TOE_ABOVE_SOLE, Skeleton

PLANTED_SPEEDS = (0.3, 0.15, 0.08, 0.05)
"""m/s, per round of the fit: a foot point on the floor moving slower than this between two frames (with the size
found so far) counts as planted. A walk's swing foot moves at 2-6 m/s; a planted foot of a subject 15 %
off the skeleton's size slides at 0.15 of the walking speed, so the first round is loose and the later ones, once the
size is close, keep only the still frames (a foot rolling over its heel or toes moves its ankle a little)."""
ON_FLOOR = 0.02
"""m: the foot points (ankles, toes) whose soles are within this of the lowest one's are on the floor."""
MIN_PLANTED_TRAVEL = 0.5
"""m: the root's path over the planted frames (3D, summed over the persons) below which the size is not measured
(standing, arm motion: where a wrong size changes little anyway)."""
SCALE_RANGE = (0.75, 1.35)
"""Sizes outside this range are not applied (a capture so far off is more likely another fault)."""
APPLY_ABOVE = 0.03
"""The travel is rescaled only when the size is more than 3 % off the skeleton's: below, a slide of under 3 % of the
travel, the clip is kept as read (bit for bit)."""


@dataclass(frozen=True)
class SubjectScaleFit:
    """What `fit_subject_scale` found for one clip."""

    factor: float | None
    """The subject's size over the skeleton's (k); None when it could not be measured."""
    planted_frames: int
    """Frame pairs (over all persons) with a planted lowest foot point, used for the fit."""
    planted_travel_m: float
    """The root's path over those frame pairs (m)."""
    applied: bool
    """Whether the root travel was rescaled by 1 / factor."""
    reason: str
    """Why (or why not) in a few words."""

    def as_source(self) -> dict:
        """The fit as plain values for `Clip.source`."""
        return {"factor": None if self.factor is None else round(self.factor, 4), "applied": self.applied,
                "planted_frames": self.planted_frames, "planted_travel_m": round(self.planted_travel_m, 3),
                "reason": self.reason}


def scale_travel(persons: list[PersonMotion], factor: float) -> list[PersonMotion]:
    """Every person's root positions moved to person 0's first root position + `factor` x their offset from it
    (rotations kept): the travel, the bob and the distance between people scaled by `factor`."""
    origin = persons[0].root_pos[0]
    return [PersonMotion(origin + factor * (p.root_pos - origin), p.root_rot.copy(), p.joint_rot.copy())
            for p in persons]


def foot_point_steps(positions: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The foot points (ankles and toes) between consecutive frames: (T-1, 4, 3) displacement t -> t+1,
    (T-1, 4) whether each is on the floor at t (its sole within `ON_FLOOR` of the lowest one's) and (T-1, 4) the
    height of each one's sole at t (m). `positions`: (T, B, 3) world positions of the bodies."""
    feet = [skeleton.index(name) for name in skeleton.foot_body_names]
    soles = np.array([ANKLE_ABOVE_SOLE if name.endswith("Ankle") else TOE_ABOVE_SOLE
                      for name in skeleton.foot_body_names])
    foot_pos = positions[:, feet]  # (T, 4, 3)
    sole = foot_pos[:-1, :, 2] - soles
    return np.diff(foot_pos, axis=0), sole <= sole.min(axis=1, keepdims=True) + ON_FLOOR, sole


def fit_subject_scale(persons: list[PersonMotion], positions: list[np.ndarray], skeleton: Skeleton,
                      fps: float) -> SubjectScaleFit:
    """The subject's size over the skeleton's (see the module docstring), pooled over the persons (one size for a
    clip: rescaling people by different sizes would move them relative to each other).

    Args:
        persons: the clip's people as read (root positions in metres, z up).
        positions: per person, (T, B, 3) world positions of the skeleton's bodies (forward kinematics).
        skeleton: the skeleton their rotations are copied onto.
        fps: their frame rate.
    """
    root_steps, offset_steps, on_floor = [], [], []
    for person, body_pos in zip(persons, positions):
        steps, floor, _ = foot_point_steps(body_pos, skeleton)  # r(t) + g(t) moves by dr + dg
        dr = np.diff(person.root_pos, axis=0)
        root_steps.append(dr)
        offset_steps.append(steps - dr[:, None])
        on_floor.append(floor)
    dr, dg, floor = np.concatenate(root_steps), np.concatenate(offset_steps), np.concatenate(on_floor)
    inverse, pairs = 1.0, np.arange(len(dr))
    for speed in PLANTED_SPEEDS:
        moved = np.where(floor, np.linalg.norm(inverse * dr[:, None] + dg, axis=2), np.inf)  # (N, 4)
        still = np.argmin(moved, axis=1)  # the stillest foot point on the floor
        planted = moved[pairs, still] * fps < speed
        travel = float(np.linalg.norm(dr[planted], axis=1).sum())
        if travel < MIN_PLANTED_TRAVEL:
            return SubjectScaleFit(None, int(planted.sum()), travel, False,
                                   f"under {MIN_PLANTED_TRAVEL:g} m of travel on planted feet")
        r, g = dr[planted], dg[pairs[planted], still[planted]]
        inverse = float(-(r * g).sum() / (r ** 2).sum())
        if inverse <= 0:
            return SubjectScaleFit(None, int(planted.sum()), travel, False, "planted feet move with the root")
    factor, count = 1.0 / inverse, int(planted.sum())
    if not SCALE_RANGE[0] <= factor <= SCALE_RANGE[1]:
        return SubjectScaleFit(factor, count, travel, False,
                               f"outside {SCALE_RANGE[0]:g}-{SCALE_RANGE[1]:g}, kept as read")
    if abs(factor - 1.0) <= APPLY_ABOVE:
        return SubjectScaleFit(factor, count, travel, False,
                               f"within {APPLY_ABOVE:.0%} of the skeleton's size, kept as read")
    return SubjectScaleFit(factor, count, travel, True, "root travel rescaled by 1 / factor")
