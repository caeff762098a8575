"""What every motion family shares: joint-angle channels -> a person, random smooth curves, the
standing pose, and the clip wrapper that records the family, its parameters and its scenery."""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.formats.common import rotations_to_wxyz
from motion_lib.keyframes.animate import FPS, Key
from motion_lib.skeleton import Skeleton, get_skeleton

SKELETON = "smpl"
STAND_HEIGHT = 0.94
"""Pelvis height of relaxed standing (metres): the knees slightly bent (the straight-leg height is 0.95)."""
GRAVITY = 9.81
"""m/s²."""


def skeleton() -> Skeleton:
    return get_skeleton(SKELETON)


def times_for(duration: float) -> np.ndarray:
    """(T,) frame times of a clip of about `duration` seconds at `FPS`."""
    return np.arange(round(duration * FPS) + 1) / FPS


def person_from_channels(skel: Skeleton, root_pos: np.ndarray, facing: np.ndarray,
                         joints: dict[str, np.ndarray]) -> PersonMotion:
    """A person from per-frame channels: root position (T, 3), root yaw/pitch/roll (T, 3) degrees
    (intrinsic z-y-x, + pitch leans forward), joint name -> (T, 3) or (3,) intrinsic x-y-z degrees
    (joints left out are at rest; legs are usually placed afterwards by IK)."""
    frames = len(root_pos)
    angles = np.zeros((frames, skel.num_joints, 3))
    for name, value in joints.items():
        angles[:, skel.index(name) - 1] = value
    root_rot = Rotation.from_euler("ZYX", facing, degrees=True)
    joint_rot = Rotation.from_euler("XYZ", angles.reshape(-1, 3), degrees=True)
    return PersonMotion(np.array(root_pos, dtype=np.float64), rotations_to_wxyz(root_rot, (frames,)),
                        rotations_to_wxyz(joint_rot, (frames, skel.num_joints)))


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs [start, end) of frames where the (T,) bool `mask` is set."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], mask, [False]]).astype(int)))
    return list(zip(edges[0::2], edges[1::2]))


def min_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk 0 -> 1 over s in [0, 1] (clipped outside)."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10 - 15 * s + 6 * s**2)


def smooth_curve(rng: np.random.Generator, times: np.ndarray, spacing: float, low: float, high: float) -> np.ndarray:
    """(T,) a random smooth curve within [low, high]: PCHIP through uniform random knots every ~`spacing` s."""
    count = max(2, int(np.ceil(times[-1] / spacing)) + 1)
    knots = np.linspace(times[0], times[-1], count)
    return PchipInterpolator(knots, rng.uniform(low, high, count))(times)


def wobble(rng: np.random.Generator, times: np.ndarray, amplitude: float, period: float = 1.5) -> np.ndarray:
    """(T,) smooth zero-mean noise of about `amplitude` (standard deviation) with features ~`period` s long."""
    noise = gaussian_filter1d(rng.standard_normal(len(times) + 60), sigma=period * FPS / 4, mode="reflect")[30:-30]
    return amplitude * noise / max(noise.std(), 1e-9)


def clip_name(family: str, rng: np.random.Generator) -> str:
    """A name for a clip of `family` drawn from `rng` (data sets rename their clips `<family>_<index>`)."""
    return f"{family}_{rng.integers(0, 2**31):010d}"


def placed(keys: list[Key], yaw: float, place=(0.0, 0.0)) -> list[Key]:
    """Keys made facing +x at the origin, turned by `yaw` degrees about the origin and moved to `place` (x, y)."""
    heading = Rotation.from_euler("z", yaw, degrees=True)
    offset = np.array([place[0], place[1], 0.0])
    return [Key(k.t, root=None if k.root is None else tuple(heading.apply(k.root) + offset),
                facing=None if k.facing is None else (k.facing[0] + yaw, *k.facing[1:]), joints=k.joints) for k in keys]


def uniform(rng: np.random.Generator, value, low: float, high: float) -> float:
    """`value` if given, else a uniform draw in [low, high]."""
    return float(rng.uniform(low, high)) if value is None else float(value)


def trunk_channels(flexion: np.ndarray, twist: np.ndarray | float = 0.0, side: np.ndarray | float = 0.0,
                   neck: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """Per-frame trunk flexion / twist / side bend (degrees, spread over the three spine joints) and
    neck flexion: the channel version of `motion_lib.keyframes.poses.trunk`."""
    flexion = np.asarray(flexion, dtype=np.float64)
    frames = flexion.shape[0]
    out = {}
    for name, share in (("Torso", 0.4), ("Spine", 0.35), ("Chest", 0.25)):
        out[name] = np.stack(np.broadcast_arrays(share * np.asarray(side), share * flexion, share * np.asarray(twist)), -1)
    out["Neck"] = np.zeros((frames, 3))
    out["Neck"][:, 1] = neck
    return out


def arm_channels(frames: int, forward_l, forward_r, elbow_l, elbow_r, spread: float = 10.0) -> dict[str, np.ndarray]:
    """Hanging arms swung forward by `forward_*` degrees (negative: back), elbows flexed `elbow_*` degrees."""
    out = {}
    for side, forward, elbow, sign in (("L", forward_l, elbow_l, -1.0), ("R", forward_r, elbow_r, 1.0)):
        shoulder = np.zeros((frames, 3))
        shoulder[:, 0] = sign * 75.0
        shoulder[:, 2] = sign * (spread + np.asarray(forward))
        out[f"{side}_Shoulder"] = shoulder
        out[f"{side}_Elbow"] = np.zeros((frames, 3))
        out[f"{side}_Elbow"][:, 2] = sign * np.asarray(elbow)
    return out


def family_clip(name: str, persons: list[PersonMotion], family: str, params: dict, furniture=(), **source) -> Clip:
    """A clip of `family` made with `params` (recorded in `Clip.source`; floats rounded for reading) among
    `furniture` (`Clip.furniture`)."""
    params = {k: (round(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in params.items()}
    return Clip(name=name, fps=FPS, skeleton=SKELETON, persons=persons,
                source={"format": "families", "generator": "motion_lib.families", "family": family,
                        "params": params, "scene": "floor", **source}, furniture=list(furniture)).validate()
