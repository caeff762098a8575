"""Keyframes -> motion: one person's pelvis position, root orientation and joint angles given at a few
times, interpolated per channel with monotone cubic (PCHIP) curves: no overshoot, holds stay exactly
still, velocities are continuous.

Angles are intrinsic x-y-z Euler angles in degrees, local to the parent, in the z-up canonical body
frames; the root's are yaw, pitch (+ leans forward), roll (intrinsic z-y-x). Joint angle signs
(checked with forward kinematics): knee flexion +y (the foot moves back), hip flexion -y (the thigh
moves forward and up), trunk and root pitch +y lean forward, the left shoulder -x / right shoulder +x
lower the arms from the T-pose, the left elbow -z / right elbow +z flex.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.formats.common import rotations_to_wxyz
from motion_lib.skeleton import Skeleton

FPS = 30.0
"""Frame rate of every keyframed clip."""


@dataclass(frozen=True)
class Key:
    """One keyframe of one person. Channels left out keep the previous key's value (0 at the start);
    keys at the same time are merged, the later one winning."""

    t: float
    """Time (seconds)."""
    root: tuple[float, float, float] | None = None
    """Pelvis position, world frame (metres)."""
    facing: tuple[float, float, float] | None = None
    """Root yaw, pitch (+ leans forward), roll (degrees, intrinsic z-y-x)."""
    joints: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    """Joint name -> intrinsic x-y-z Euler angles (degrees) relative to the parent."""


def frame_times(duration: float) -> np.ndarray:
    """(T,) frame times (seconds) of a clip of `duration` seconds at `FPS`."""
    return np.arange(round(duration * FPS) + 1) / FPS


def animate(keys: list[Key], skeleton: Skeleton, times: np.ndarray) -> PersonMotion:
    """A person from keyframes, every channel interpolated with a PCHIP curve at `times` (T,)."""
    joints = skeleton.body_names[1:]
    table, times_of_keys, row = [], [], np.zeros(6 + 3 * len(joints))
    for key in keys:
        row = row.copy()
        if key.root is not None:
            row[0:3] = key.root
        if key.facing is not None:
            row[3:6] = key.facing
        for name, angles in key.joints.items():
            j = joints.index(name)
            row[6 + 3 * j: 9 + 3 * j] = angles
        if times_of_keys and key.t == times_of_keys[-1]:
            table[-1] = row  # keys at the same time are merged
        else:
            table.append(row)
            times_of_keys.append(key.t)
    values = PchipInterpolator(times_of_keys, np.stack(table), axis=0, extrapolate=True)(times)
    frames = len(times)
    root_rot = Rotation.from_euler("ZYX", values[:, 3:6], degrees=True)
    joint_rot = Rotation.from_euler("XYZ", values[:, 6:].reshape(-1, 3), degrees=True)
    return PersonMotion(values[:, 0:3], rotations_to_wxyz(root_rot, (frames,)),
                        rotations_to_wxyz(joint_rot, (frames, len(joints))))


def ramp(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """(T,) minimum-jerk step from 0 (before `start`) to 1 (after `end`)."""
    s = np.clip((times - start) / (end - start), 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)
