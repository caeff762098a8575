"""Geometric statistics of a clip, computed from its forward kinematics (no simulator).

Each person is approximated by the capsules of `capsules.CapsuleModel` (parent joint to child joint, radius of the
parent's joint group, `skeleton.CAPSULE_RADIUS`) plus short capsules continuing the leaf bones (head,
hands, toes, finger tips). From them: the surface gap between the two persons per frame (negative =
interpenetration), frames where a supporter hand touches the recipient, and sole heights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_lib.clip import Clip
from motion_lib.capsules import CapsuleModel
from motion_lib.formats.common import body_positions, lowest_point
from motion_lib.skeleton import get_skeleton

HAND_CONTACT_GAP = 0.02
"""A supporter hand capsule within this surface gap (metres) of a recipient capsule counts as contact."""
def segment_distance(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Closest distance between segments p0-p1 and q0-q1 (broadcast (..., 3) inputs -> (...))."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a, e = (d1 * d1).sum(-1), (d2 * d2).sum(-1)
    b, c, f = (d1 * d2).sum(-1), (d1 * r).sum(-1), (d2 * r).sum(-1)
    denom = a * e - b * b
    safe = lambda x: np.maximum(x, 1e-12)
    s = np.where(denom > 1e-12, np.clip((b * f - c * e) / safe(denom), 0.0, 1.0), 0.0)
    t = (b * s + f) / safe(e)
    # Clamp t to [0, 1] and recompute s for the clamped t (Ericson, Real-Time Collision Detection 5.1.9).
    s = np.where(t < 0, np.clip(-c / safe(a), 0, 1), np.where(t > 1, np.clip((b - c) / safe(a), 0, 1), s))
    t = np.clip(t, 0.0, 1.0)
    closest = (p0 + d1 * s[..., None]) - (q0 + d2 * t[..., None])
    return np.linalg.norm(closest, axis=-1)


def surface_gaps(clip: Clip, positions: list[np.ndarray] | None = None) -> np.ndarray:
    """(T, C, C) surface gap between every supporter capsule and every recipient capsule (metres)."""
    skeleton = get_skeleton(clip.skeleton)
    positions = positions or [body_positions(p, skeleton) for p in clip.persons]
    model = CapsuleModel.of(skeleton)
    (a0, a1), (b0, b1) = (model.segments(pos, skeleton) for pos in positions[:2])
    distance = segment_distance(a0[:, :, None], a1[:, :, None], b0[:, None], b1[:, None])
    return distance - model.radius[:, None] - model.radius[None, :]


@dataclass
class ClipStats:
    """What `stage=inspect` reports for one clip."""

    name: str
    frames: int
    fps: float
    duration_s: float
    persons: int
    root_height_m: tuple[float, float]
    """Lowest and highest pelvis height over the clip and persons."""
    lowest_point_first_frames_m: float
    """Lowest point (`formats.common.lowest_point`: the soles, the surface of the rest) over the first 10 frames: ~0 after
    the floor fix."""
    min_person_gap_m: float | None = None
    """Smallest surface gap between the two persons' capsules; negative = interpenetration depth."""
    hand_contact_frames: int | None = None
    """Frames where a supporter hand capsule is within HAND_CONTACT_GAP of the recipient."""
    first_hand_contact_s: float | None = None


def hand_contact(clip: Clip, gaps: np.ndarray) -> np.ndarray:
    """(T,) bool: a supporter hand (wrist and below) touches the recipient, from `surface_gaps` output."""
    skeleton = get_skeleton(clip.skeleton)
    model = CapsuleModel.of(skeleton)
    hands = skeleton.indices(skeleton.hand_body_names("L") + skeleton.hand_body_names("R"))
    is_hand = np.isin(model.body, hands)
    return (gaps[:, is_hand] < HAND_CONTACT_GAP).any(axis=(1, 2))


def clip_stats(clip: Clip) -> ClipStats:
    skeleton = get_skeleton(clip.skeleton)
    positions = [body_positions(p, skeleton) for p in clip.persons]
    roots = np.stack([pos[:, 0, 2] for pos in positions])
    stats = ClipStats(
        name=clip.name, frames=clip.num_frames, fps=clip.fps, duration_s=clip.duration, persons=len(clip.persons),
        root_height_m=(float(roots.min()), float(roots.max())),
        lowest_point_first_frames_m=float(min(lowest_point(pos[:10], skeleton).min() for pos in positions)),
    )
    if len(clip.persons) == 2:
        gaps = surface_gaps(clip, positions)
        contact = hand_contact(clip, gaps)
        stats.min_person_gap_m = float(gaps.min())
        stats.hand_contact_frames = int(contact.sum())
        stats.first_hand_contact_s = float(np.argmax(contact) / clip.fps) if contact.any() else None
    return stats
