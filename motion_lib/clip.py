"""The canonical clip: one or two persons on one timeline, in the project's conventions.

World z-up, metres, quaternions (w, x, y, z), bodies in the skeleton's canonical order. Person 0 is
the supporter and person 1 the recipient in two-person clips (single-person clips have one person).
A clip also carries the furniture its persons need (`motion_lib/furniture.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from motion_lib.checks import (
    MAX_POSITION_M,
    bounded_array,
    frame_rate,
    plain_finite,
    require_duration,
    require_frames,
    require_speed,
)
from motion_lib.errors import UserInputError
from motion_lib.furniture import Furniture, check_furniture
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
    furniture: list[Furniture] = field(default_factory=list)
    """The chairs, beds and boxes the persons use, in the clip's world frame (`motion_lib/furniture.py`); empty: none."""

    @property
    def num_frames(self) -> int:
        return self.persons[0].root_pos.shape[0]

    @property
    def duration(self) -> float:
        """Seconds from the first to the last frame."""
        return (self.num_frames - 1) / self.fps

    def validate(self, where: str | None = None) -> Clip:
        """Check shapes, values, plausible ranges and the timeline; raise one clear error naming `where`
        (default: the clip). A clip that passes holds only finite values (its `source` included), unit
        quaternions, positions within `MAX_POSITION_M` moving at most `MAX_SPEED_M_S`, lasts `MIN_FRAMES`
        frames to `MAX_DURATION_S` seconds at a plausible frame rate, and lists valid furniture."""
        where = where or f"clip '{self.name}'"
        fps = frame_rate(self.fps, "fps", where)
        if len(self.persons) not in (1, 2):
            raise UserInputError(f"{where}: expected 1 or 2 persons, got {len(self.persons)}")
        num_joints = get_skeleton(self.skeleton).num_joints
        frames = self.persons[0].root_pos.shape[0] if np.ndim(self.persons[0].root_pos) else 0
        require_duration(require_frames(frames, where), fps, where)
        for i, person in enumerate(self.persons):
            who = f"{where}, person {i}"
            expected = {"root_pos": (frames, 3), "root_rot": (frames, 4), "joint_rot": (frames, num_joints, 4)}
            for key, shape in expected.items():
                limit, unit = (MAX_POSITION_M, " m") if key == "root_pos" else (1.0 + 1e-3, "")
                bounded_array(getattr(person, key), key, who, shape, limit, unit)
            for key in ("root_rot", "joint_rot"):
                norms = np.linalg.norm(getattr(person, key), axis=-1)
                if np.abs(norms - 1.0).max() > 1e-3:
                    raise UserInputError(f"{who}: {key} holds non-unit quaternions")
            require_speed(np.asarray(person.root_pos, dtype=np.float64), fps, "root_pos", who)
        plain_finite(self.source, "source", where)
        check_furniture(self.furniture, where)
        return self
