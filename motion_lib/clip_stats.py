"""Geometric statistics of a clip, computed from its forward kinematics (no simulator).

Each person is approximated by capsules along the bones (parent joint to child joint, radius of the
parent's joint group, `skeleton.CAPSULE_RADIUS`) plus short capsules continuing the leaf bones (head,
hands, toes, finger tips). From them: the surface gap between the two persons per frame (negative =
interpenetration), frames where a supporter hand touches the recipient, and sole heights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_lib.clip import Clip
from motion_lib.formats.common import body_positions, lowest_point
from motion_lib.skeleton import CAPSULE_RADIUS, FOOT_RADIUS, HEAD_RADIUS, Skeleton, get_skeleton

HAND_CONTACT_GAP = 0.02
"""A supporter hand capsule within this surface gap (metres) of a recipient capsule counts as contact."""
# Leaf bodies continue their bone by this length (metres) as a capsule of this radius.
_LEAF_SHAPES = {"head": (0.09, HEAD_RADIUS), "hand": (0.07, CAPSULE_RADIUS["hand"]),
                "toe": (0.03, FOOT_RADIUS), "finger": (0.02, CAPSULE_RADIUS["finger"])}


@dataclass(frozen=True)
class CapsuleModel:
    """Capsules of one skeleton: capsule k runs from body `start[k]` towards body `end[k]`."""

    start: np.ndarray  # (C,) body index of the first end point
    end: np.ndarray  # (C,) body index of the second end point (== start for leaf capsules)
    leaf_length: np.ndarray  # (C,) length of a leaf capsule along its bone, 0 for bone capsules
    radius: np.ndarray  # (C,)
    body: np.ndarray  # (C,) body each capsule belongs to

    @classmethod
    def of(cls, skeleton: Skeleton) -> CapsuleModel:
        start, end, leaf, radius, body = [], [], [], [], []
        groups = skeleton.groups
        for c in range(1, skeleton.num_bodies):
            p = skeleton.parents[c]
            start.append(p), end.append(c), leaf.append(0.0), body.append(p)
            radius.append(FOOT_RADIUS if groups[p] in ("ankle", "toe") else CAPSULE_RADIUS[groups[p]])
            if not skeleton.children[c]:
                length, r = _LEAF_SHAPES[groups[c]]
                start.append(c), end.append(c), leaf.append(length), radius.append(r), body.append(c)
        return cls(*(np.asarray(x) for x in (start, end, leaf, radius, body)))

    def segments(self, positions: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
        """Capsule axis end points (T, C, 3) and (T, C, 3) from body positions (T, B, 3)."""
        parents = np.asarray(skeleton.parents)
        a, b = positions[:, self.start], positions[:, self.end]
        is_leaf = self.leaf_length > 0
        bone = positions[:, self.start] - positions[:, np.maximum(parents[self.start], 0)]
        direction = bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-9)
        b = np.where(is_leaf[:, None], a + direction * self.leaf_length[:, None], b)
        return a, b


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
    lowest_sole_first_frames_m: float
    """Lowest point (soles for feet) over the first 10 frames: ~0 after the floor fix."""
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
        lowest_sole_first_frames_m=float(min(lowest_point(pos[:10], skeleton).min() for pos in positions)),
    )
    if len(clip.persons) == 2:
        gaps = surface_gaps(clip, positions)
        contact = hand_contact(clip, gaps)
        stats.min_person_gap_m = float(gaps.min())
        stats.hand_contact_frames = int(contact.sum())
        stats.first_hand_contact_s = float(np.argmax(contact) / clip.fps) if contact.any() else None
    return stats
