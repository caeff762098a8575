"""The canonical clip: one or two persons on one timeline, in the project's conventions.

World z-up, metres, quaternions (w, x, y, z), bodies in the skeleton's canonical order. Person 0 is
the supporter and person 1 the recipient in two-person clips (single-person clips have one person).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motion_lib.errors import UserInputError
from motion_lib.skeleton import get_skeleton

ROLES = ("supporter", "recipient")  # person / agent index 0 and 1 everywhere


@dataclass
class PersonMotion:
    """One person's motion over T frames."""

    root_pos: np.ndarray
    """(T, 3) root (pelvis) position, world frame."""
    root_rot: np.ndarray
    """(T, 4) root rotation, body-to-world quaternion (w, x, y, z)."""
    joint_rot: np.ndarray
    """(T, B-1, 4) rotation of each non-root body relative to its parent, canonical order."""


@dataclass
class Clip:
    """A motion clip with one shared timeline."""

    name: str
    fps: float
    skeleton: str
    persons: list[PersonMotion]
    source: dict = field(default_factory=dict)
    """Where it came from (format, file, original fps, ...)."""

    @property
    def num_frames(self) -> int:
        return self.persons[0].root_pos.shape[0]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.num_frames - 1) / self.fps

    def validate(self) -> Clip:
        """Check shapes, values and the timeline; raise one clear error naming the clip."""
        where = f"clip '{self.name}'"
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise UserInputError(f"{where}: fps must be a positive number, got {self.fps}")
        if len(self.persons) not in (1, 2):
            raise UserInputError(f"{where}: expected 1 or 2 persons, got {len(self.persons)}")
        num_joints = get_skeleton(self.skeleton).num_joints
        frames = self.persons[0].root_pos.shape[0] if self.persons[0].root_pos.ndim else 0
        if frames < 2:
            raise UserInputError(f"{where}: needs at least 2 frames, got {frames}")
        for i, person in enumerate(self.persons):
            expected = {"root_pos": (frames, 3), "root_rot": (frames, 4), "joint_rot": (frames, num_joints, 4)}
            for key, shape in expected.items():
                value = np.asarray(getattr(person, key))
                if value.shape != shape:
                    raise UserInputError(f"{where}, person {i}: {key} has shape {value.shape}, expected {shape}")
                bad = ~np.isfinite(value).reshape(frames, -1).all(axis=1)
                if bad.any():
                    raise UserInputError(f"{where}, person {i}: {key} has NaN/inf at frame(s) {np.flatnonzero(bad)[:5].tolist()}")
            for key in ("root_rot", "joint_rot"):
                norms = np.linalg.norm(getattr(person, key), axis=-1)
                if np.abs(norms - 1.0).max() > 1e-3:
                    raise UserInputError(f"{where}, person {i}: {key} holds non-unit quaternions")
        return self
