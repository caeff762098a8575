"""Capture on a treadmill, turned into the same motion over the ground.

On a treadmill the person stays in place while the belt carries every planted foot backwards at the belt's velocity
v (horizontal, constant for a take). Converted as read, the skeleton's planted feet slide at v on a floor that does
not move, which no simulated body can follow. `fit_treadmill` measures v from the clip: the foot points on the floor
(ankles and toes, `subject_scale.foot_point_steps`, on frames where a foot is down) move together at one velocity,
far from zero, on most of those frames, while the root stays near where it started. `off_treadmill` then adds the
travel -v t to the root, so the planted feet keep still and the person walks (or runs) over the ground as fast as the
belt ran. Clips with more than one person, on the ground, or on a belt whose speed changes are kept as read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_lib.clip import PersonMotion
from motion_lib.skeleton import Skeleton
from motion_lib.subject_scale import foot_point_steps

MIN_BELT_SPEED = 0.3
"""m/s: planted feet moving slower than this are on the ground (the slide of a subject 15 % off the skeleton's
size walking at 1.5 m/s is about 0.2 m/s)."""
ON_BELT_TOLERANCE = 0.3
"""m/s: a frame's planted foot velocity within this of the belt's is carried by the belt (a walk's planted foot
rolling over its heel and toes moves by up to about 0.2 m/s)."""
MIN_ON_BELT_SHARE = 0.6
"""Of the frames with a foot down, at least this share must move with the belt (a moonwalk's slides do not)."""
MAX_ROOT_TRAVEL = 0.25
"""The root's net horizontal travel over the clip must be under this share of the belt's (a person on a treadmill
stays on it)."""
MIN_DURATION = 2.0
"""s: shorter clips are not measured."""
MODE_WIDTH = 0.05
"""m/s: velocities this close count as the same in `_most_common`."""
FOOT_DOWN = 0.015
"""m: a foot point (ankle or toe) is on the floor when its sole is within this of the clip's floor (the 5th
percentile of the lowest sole per frame): a swinging foot and runs' flights are left out."""


@dataclass(frozen=True)
class TreadmillFit:
    """What `fit_treadmill` found for one clip."""

    belt_velocity: tuple[float, float] | None
    """(x, y) m/s the planted feet move at (the belt's velocity; the person walks at minus it); None: not measured."""
    on_belt_share: float
    """Share of the frames with a foot down whose planted foot moves within `ON_BELT_TOLERANCE` of it."""
    applied: bool
    """Whether the root was given the travel -belt_velocity · t."""
    reason: str
    """Why (or why not) in a few words."""

    def as_source(self) -> dict:
        """The fit as plain values for `Clip.source`."""
        velocity = None if self.belt_velocity is None else [round(v, 4) for v in self.belt_velocity]
        return {"belt_velocity": velocity, "on_belt_share": round(self.on_belt_share, 3), "applied": self.applied,
                "reason": self.reason}


def _most_common(velocities: np.ndarray) -> np.ndarray:
    """(2,) the velocity most of `velocities` (N, 2) share (within `MODE_WIDTH`; their median): the belt's, which a
    flat planted foot moves at exactly, where a foot rolling over its heel or toes moves at anything near it."""
    sample = velocities[:: -(-len(velocities) // 5000)]  # at most 5,000: bounded work and memory for hours of capture
    candidates = sample[:: -(-len(sample) // 500)]
    counts = (np.linalg.norm(sample[None] - candidates[:, None], axis=-1) < MODE_WIDTH).sum(axis=1)
    mode = candidates[np.argmax(counts)]
    return np.median(velocities[np.linalg.norm(velocities - mode, axis=-1) < MODE_WIDTH], axis=0)


def fit_treadmill(person: PersonMotion, positions: np.ndarray, skeleton: Skeleton, fps: float) -> TreadmillFit:
    """Whether `person` (one person, z up, at `fps`) walks on a treadmill, and the belt's velocity (module docstring).

    Args:
        person: the person as read (root positions in metres).
        positions: (T, B, 3) world positions of the skeleton's bodies (forward kinematics).
        skeleton: the skeleton the rotations are copied onto.
        fps: the frame rate.
    """
    frames = len(positions)
    if (frames - 1) / fps < MIN_DURATION:
        return TreadmillFit(None, 0.0, False, f"shorter than {MIN_DURATION:g} s")
    steps, _, sole = foot_point_steps(positions, skeleton)  # (T-1, 4, 3), (T-1, 4) each
    floor = np.percentile(sole.min(axis=1), 5)
    down = sole <= floor + FOOT_DOWN  # (T-1, 4): the foot points on the floor
    frames_down = down.any(axis=1)
    if frames_down.sum() < MIN_DURATION * fps / 2:
        return TreadmillFit(None, 0.0, False, "too few frames with a foot down")
    velocity = steps[..., :2] * fps  # (T-1, 4, 2)
    belt = _most_common(velocity[down])
    near = np.linalg.norm(velocity - belt, axis=-1) < ON_BELT_TOLERANCE  # (T-1, 4)
    share = float((near & down).any(axis=1)[frames_down].mean())
    speed = float(np.linalg.norm(belt))
    found = (float(belt[0]), float(belt[1]))
    if speed < MIN_BELT_SPEED:
        return TreadmillFit(found, share, False, "planted feet keep still: on the ground")
    if share < MIN_ON_BELT_SHARE:
        return TreadmillFit(found, share, False, f"planted feet move together on only {share:.0%} of the frames")
    travel = float(np.linalg.norm(person.root_pos[-1, :2] - person.root_pos[0, :2]))
    if travel > MAX_ROOT_TRAVEL * speed * (frames - 1) / fps:
        return TreadmillFit(found, share, False, "the root travels: planted feet slide on the ground")
    return TreadmillFit(found, share, True, "on a treadmill: the root given the belt's travel")


def off_treadmill(person: PersonMotion, belt_velocity: tuple[float, float], fps: float) -> PersonMotion:
    """`person` with the travel -`belt_velocity` · t (t from the first frame) added to its root: its planted feet,
    carried at the belt's velocity, then keep still."""
    times = np.arange(len(person.root_pos)) / fps
    root_pos = person.root_pos.copy()
    root_pos[:, :2] -= times[:, None] * np.asarray(belt_velocity)
    return PersonMotion(root_pos, person.root_rot.copy(), person.joint_rot.copy())
