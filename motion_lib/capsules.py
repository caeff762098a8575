"""The body as capsules along its bones, for geometry without a simulator (clip statistics, plausibility checks,
where the floor is): bone capsules from each parent joint to its child with the radius of the parent's joint group
(`skeleton.CAPSULE_RADIUS`), plus short capsules continuing the leaf bones (head, hands, toes, finger tips).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from motion_lib.skeleton import CAPSULE_RADIUS, FOOT_RADIUS, HEAD_RADIUS, Skeleton

# Leaf bodies continue their bone by this length (metres) as a capsule of this radius.
LEAF_SHAPES = {"head": (0.09, HEAD_RADIUS), "hand": (0.07, CAPSULE_RADIUS["hand"]),
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
                length, r = LEAF_SHAPES[groups[c]]
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


def lowest_capsule_bottom(positions: np.ndarray, skeleton: Skeleton, ignore: tuple[str, ...] = ()) -> np.ndarray:
    """(T,) height of the lowest capsule surface above the feet, from body positions (T, B, 3): the capsules of
    every bone above the ankles, the pelvis as the humanoid builds it (one capsule across 0.6 of the way to each hip,
    not one along each pelvis-to-hip bone); those of the bodies `ignore` and below left out."""
    capsules = CapsuleModel.of(skeleton)
    a, b = capsules.segments(positions, skeleton)
    groups = np.asarray(skeleton.groups)
    keep = ~np.isin(groups[capsules.body], ("ankle", "toe")) & ~((groups[capsules.start] == "pelvis") & (groups[capsules.end] == "hip"))
    keep &= ~np.isin(capsules.body, [b for name in ignore for b in skeleton.subtree(skeleton.index(name))])
    bottom = (np.minimum(a[..., 2], b[..., 2]) - capsules.radius)[:, keep].min(axis=1)
    pelvis = positions[:, 0, 2]
    across = [pelvis + 0.6 * (positions[:, skeleton.index(f"{s}_Hip"), 2] - pelvis) for s in "LR"]
    return np.minimum(bottom, np.minimum(*across) - CAPSULE_RADIUS["pelvis"])
