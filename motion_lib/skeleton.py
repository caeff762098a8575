"""The built-in SMPL / SMPL-X neutral skeletons: the one source of skeleton truth.

The MJCF humanoid builder (`assistmimic.mjcf`) and the motion library's forward kinematics both
read a `Skeleton`, so the simulated body and the reference motion can never disagree on a bone.

Frames and conventions
- World and body frames are z-up: x forward (the way the rest pose faces), y left, z up.
  SMPL's own frame is y-up (x left, y up, z forward); an offset (x, y, z)_yup becomes (z, x, y)_zup.
- Every body frame has the identity orientation relative to its parent in the rest (T-) pose;
  a joint sits at its body's origin and rotates it by three hinges about the parent-aligned
  x, then y, then z axes (intrinsic "XYZ" Euler angles, MuJoCo's order for stacked hinges).
- Bodies are listed in the canonical order: depth-first over the tree with children in SMPL
  joint-index order, which is PHC's "MuJoCo order" (REFERENCE §2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from motion_lib.errors import UserInputError

# --- SMPL neutral skeleton (betas = 0), REFERENCE §5, in SMPL joint-index order, y-up metres ---
SMPL_JOINT_NAMES = (
    "Pelvis", "L_Hip", "R_Hip", "Torso", "L_Knee", "R_Knee", "Spine", "L_Ankle", "R_Ankle",
    "Chest", "L_Toe", "R_Toe", "Neck", "L_Thorax", "R_Thorax", "Head", "L_Shoulder",
    "R_Shoulder", "L_Elbow", "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand",
)
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
SMPL_OFFSETS_YUP = np.array([
    (-0.0018, -0.2233, 0.0282), (0.0695, -0.0914, -0.0068), (-0.0677, -0.0905, -0.0043),
    (-0.0025, 0.1090, -0.0267), (0.0343, -0.3752, -0.0045), (-0.0383, -0.3826, -0.0089),
    (0.0055, 0.1352, 0.0011), (-0.0136, -0.3980, -0.0437), (0.0158, -0.3984, -0.0423),
    (0.0015, 0.0529, 0.0254), (0.0264, -0.0558, 0.1193), (-0.0254, -0.0481, 0.1233),
    (-0.0028, 0.2139, -0.0429), (0.0788, 0.1217, -0.0341), (-0.0818, 0.1188, -0.0386),
    (0.0052, 0.0650, 0.0513), (0.0910, 0.0305, -0.0089), (-0.0960, 0.0326, -0.0091),
    (0.2596, -0.0128, -0.0275), (-0.2537, -0.0133, -0.0214), (0.2492, 0.0090, -0.0012),
    (-0.2553, 0.0078, -0.0056), (0.0840, -0.0082, -0.0149), (-0.0846, -0.0061, -0.0103),
])

# SMPL-X: the 22 body joints share SMPL's names and (approximately) its neutral offsets; SMPL's
# L_Hand/R_Hand are replaced by 15 finger joints per hand. SMPL-X joint indices 25..39 (left) and
# 40..54 (right) are index1-3, middle1-3, pinky1-3, ring1-3, thumb1-3; jaw and eyes (22..24) are
# not simulated. The finger offsets below are an approximation of an adult hand (the neutral
# SMPL-X finger table is inside the licensed model file): left hand, z-up, palm down in the T-pose,
# fingers along +y, thumb towards +x. The right hand mirrors y.
FINGER_NAMES = ("Index", "Middle", "Pinky", "Ring", "Thumb")
_LEFT_FINGER_OFFSETS_ZUP = {
    "Index": ((0.024, 0.090, 0.004), (0.0, 0.038, -0.002), (0.0, 0.024, -0.003)),
    "Middle": ((0.003, 0.095, 0.004), (0.0, 0.043, -0.002), (0.0, 0.027, -0.003)),
    "Pinky": ((-0.035, 0.078, -0.002), (0.0, 0.030, -0.002), (0.0, 0.020, -0.002)),
    "Ring": ((-0.017, 0.089, 0.002), (0.0, 0.040, -0.002), (0.0, 0.025, -0.003)),
    "Thumb": ((0.026, 0.025, -0.016), (0.021, 0.024, -0.006), (0.015, 0.024, -0.002)),
}

# Distance from the ankle joint down to the sole, and from the toe joint down to the sole, in the
# rest pose (metres). The humanoid's foot boxes are built to these; the motion library's floor
# fix uses them to put the sole, not the ankle joint, on the floor.
ANKLE_ABOVE_SOLE = 0.080
TOE_ABOVE_SOLE = 0.024

# Capsule radius per joint group (metres), sized to an adult: the humanoid's collision shapes and the
# clip statistics (person distance, hand contact) use the same sizes.
CAPSULE_RADIUS = {
    "pelvis": 0.09, "hip": 0.07, "knee": 0.05, "torso": 0.085, "spine": 0.09, "chest": 0.10,
    "neck": 0.05, "thorax": 0.05, "shoulder": 0.045, "elbow": 0.038, "wrist": 0.03,
    "hand": 0.025, "finger": 0.009,
}
HEAD_RADIUS = 0.095
FOOT_RADIUS = 0.04  # the foot (ankle-to-toe) as a capsule in clip statistics; the humanoid uses boxes

# Joint group of each body (by name without the L_/R_ side prefix). Groups select PD gains,
# effort limits, joint ranges, collision radii and impairment rules.
_GROUP_OF = {
    "Pelvis": "pelvis", "Hip": "hip", "Knee": "knee", "Ankle": "ankle", "Toe": "toe",
    "Torso": "torso", "Spine": "spine", "Chest": "chest", "Neck": "neck", "Head": "head",
    "Thorax": "thorax", "Shoulder": "shoulder", "Elbow": "elbow", "Wrist": "wrist", "Hand": "hand",
}
LOWER_BODY_GROUPS = ("hip", "knee", "ankle", "toe")


def _group_of(name: str) -> str:
    base = name[2:] if name[:2] in ("L_", "R_") else name
    if base.rstrip("123") in FINGER_NAMES:
        return "finger"
    return _GROUP_OF[base]


def yup_to_zup(offsets_yup: np.ndarray) -> np.ndarray:
    """(x, y, z) in SMPL's y-up frame -> (z, x, y) in the z-up frame (a proper rotation)."""
    return offsets_yup[..., [2, 0, 1]]


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree of bodies in canonical order.

    Attributes:
        name: "smpl" or "smplx".
        body_names: (B,) names in canonical order; body 0 is the root (Pelvis).
        parents: (B,) index of each body's parent in canonical order; -1 for the root.
        offsets: (B, 3) z-up offset of each joint from its parent joint, in the parent's frame
            (metres). Row 0 is the root's rest position relative to the skeleton origin (the
            SMPL template's pelvis); it is kept for readers that need the pelvis offset J0.
        source_index: (B,) index of each body in the source model's joint list (SMPL or SMPL-X
            joint index), so `pose[..., source_index[b], :]` is body b's axis-angle rotation.
    """

    name: str
    body_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    source_index: tuple[int, ...]

    @property
    def num_bodies(self) -> int:
        return len(self.body_names)

    @property
    def num_joints(self) -> int:
        """Actuated spherical joints (every body but the root)."""
        return self.num_bodies - 1

    @property
    def num_dofs(self) -> int:
        """Actuated hinge DoF: three per spherical joint."""
        return 3 * self.num_joints

    @cached_property
    def groups(self) -> tuple[str, ...]:
        """(B,) joint group of each body, e.g. "hip", "wrist", "finger"."""
        return tuple(_group_of(n) for n in self.body_names)

    @cached_property
    def children(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(c for c, p in enumerate(self.parents) if p == b) for b in range(self.num_bodies))

    @cached_property
    def depth(self) -> np.ndarray:
        """(B,) number of joints between each body and the root."""
        depth = np.zeros(self.num_bodies, dtype=np.int64)
        for b in range(1, self.num_bodies):
            depth[b] = depth[self.parents[b]] + 1
        return depth

    def index(self, body_name: str) -> int:
        try:
            return self.body_names.index(body_name)
        except ValueError:
            raise UserInputError(
                f"body '{body_name}' is not in the {self.name} skeleton; known bodies: {', '.join(self.body_names)}"
            ) from None

    def indices(self, body_names) -> list[int]:
        return [self.index(n) for n in body_names]

    @cached_property
    def rest_positions(self) -> np.ndarray:
        """(B, 3) joint positions in the rest pose with the root at the origin (z-up)."""
        pos = np.zeros((self.num_bodies, 3))
        for b in range(1, self.num_bodies):
            pos[b] = pos[self.parents[b]] + self.offsets[b]
        return pos

    @property
    def standing_root_height(self) -> float:
        """Height of the root above the floor in the rest pose, soles on the floor (metres)."""
        ankles = [self.index("L_Ankle"), self.index("R_Ankle")]
        toes = [self.index("L_Toe"), self.index("R_Toe")]
        lowest = min(
            self.rest_positions[ankles, 2].min() - ANKLE_ABOVE_SOLE,
            self.rest_positions[toes, 2].min() - TOE_ABOVE_SOLE,
        )
        return float(-lowest)

    def subtree(self, body: int) -> tuple[int, ...]:
        """`body` and every body below it, in the canonical order (parents before children)."""
        found, stack = [], [body]
        while stack:
            b = stack.pop()
            found.append(b)
            stack.extend(self.children[b])
        return tuple(sorted(found))

    def hand_body_names(self, side: str) -> tuple[str, ...]:
        """Bodies that make up one hand: the wrist and everything below it. side: "L" or "R"."""
        return tuple(self.body_names[b] for b in self.subtree(self.index(f"{side}_Wrist")))

    @property
    def foot_body_names(self) -> tuple[str, ...]:
        return ("L_Ankle", "L_Toe", "R_Ankle", "R_Toe")

    def with_offsets(self, offsets: np.ndarray) -> Skeleton:
        """The same tree with other bone offsets (e.g. a body shape from the user's model file)."""
        offsets = np.asarray(offsets, dtype=np.float64)
        if offsets.shape != (self.num_bodies, 3):
            raise UserInputError(f"offsets for the {self.name} skeleton must be ({self.num_bodies}, 3), got {offsets.shape}")
        return Skeleton(self.name, self.body_names, self.parents, offsets, self.source_index)


def _depth_first(names, parents, offsets_zup, source_index, name) -> Skeleton:
    """Order a tree depth-first with children in source-index order (PHC's MuJoCo order)."""
    children = {i: [c for c, p in enumerate(parents) if p == i] for i in range(len(names))}
    order, stack = [], [0]
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children[i]))
    new_index = {old: new for new, old in enumerate(order)}
    return Skeleton(
        name=name,
        body_names=tuple(names[i] for i in order),
        parents=tuple(-1 if parents[i] < 0 else new_index[parents[i]] for i in order),
        offsets=np.asarray(offsets_zup)[order].copy(),
        source_index=tuple(source_index[i] for i in order),
    )


def smpl_skeleton() -> Skeleton:
    """The 24-body SMPL neutral skeleton (23 joints, 69 DoF)."""
    return _depth_first(
        SMPL_JOINT_NAMES, SMPL_PARENTS, yup_to_zup(SMPL_OFFSETS_YUP), tuple(range(24)), "smpl"
    )


def smplx_skeleton() -> Skeleton:
    """The 52-body SMPL-X skeleton (22 body joints + 2 x 15 finger joints; 51 joints, 153 DoF)."""
    names = list(SMPL_JOINT_NAMES[:22])
    parents = list(SMPL_PARENTS[:22])
    offsets = list(yup_to_zup(SMPL_OFFSETS_YUP[:22]))
    source = list(range(22))
    for side, wrist, first_source in (("L", 20, 25), ("R", 21, 40)):
        mirror = np.array([1.0, 1.0 if side == "L" else -1.0, 1.0])
        for f, finger in enumerate(FINGER_NAMES):
            parent = wrist
            for k in range(3):
                names.append(f"{side}_{finger}{k + 1}")
                parents.append(parent)
                offsets.append(np.array(_LEFT_FINGER_OFFSETS_ZUP[finger][k]) * mirror)
                source.append(first_source + 3 * f + k)
                parent = len(names) - 1
    return _depth_first(names, parents, np.array(offsets), source, "smplx")


SKELETONS = {"smpl": smpl_skeleton, "smplx": smplx_skeleton}


def get_skeleton(name: str) -> Skeleton:
    """The built-in skeleton by robot name ("smpl" or "smplx")."""
    if name not in SKELETONS:
        raise UserInputError(f"unknown robot '{name}'; known robots: {', '.join(SKELETONS)}")
    return SKELETONS[name]()
