"""Hands and toes that a capture does not articulate, posed where the floor leaves them room.

Capture formats without wrist or toe joints (DeepMimic's humanoid3d: fixed wrists, no toes; BVH skeletons without
toes; BVH, keypoints and InterGen read by joint positions, where a turn shows only through a joint below it:
`unseen_by_positions`) give the skeleton's hands straight along the forearms and its toes flat along the feet
(`formats.bvh_retarget.unarticulated_extremities`). On the floor that
puts them through it: a hand pushing the body up from lying goes 5-12 cm under the floor (and the floor fix,
taking the hand for the lowest point, then lifts the whole body off the floor), kneeling and tiptoe toes point into
it. `settle_on_floor` bends each such wrist or toe about its own hinge, frame by frame, just enough to keep the hand
or the toe tip on or above the floor, as a body does: a palm flat on the floor, toes bent up at push-off and under a
kneeling foot. Frames where it already clears the floor are kept as read.

Frames: world z-up, the floor at z = 0 (after the floor fix); skeleton body axes x forward, y left, z up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.capsules import LEAF_SHAPES
from motion_lib.clip import Clip, PersonMotion
from motion_lib.formats.common import (
    body_positions,
    finish_clip,
    floor_fix,
    global_rotations,
    local_rotations,
    rotations_to_wxyz,
    wxyz_to_rotations,
)
from motion_lib.skeleton import TOE_ABOVE_SOLE, Skeleton

TOE_REACH = 0.05
"""Toe joint to the toe box's tip (metres)."""


@dataclass(frozen=True)
class Extremity:
    """A body bent at its joint to keep the segment it carries above the floor."""

    body: str
    """The body whose joint bends (a wrist, a toe)."""
    hinge: tuple[float, float, float]
    """The axis it bends about, in the body's axes."""
    face: tuple[float, float, float]
    """The side that goes on the floor (a palm, a sole), in the body's axes: of the two ways to bend, the one that
    turns it down."""
    beyond: float
    """Metres the segment reaches past its child joint (the finger tips past the hand's), or past its own joint
    along the body's x axis where it has no child (the toe box)."""
    clearance: float
    """Height above the floor the segment's end needs (metres): its capsule's radius, the toe joint's over its sole."""

    def reach(self, skeleton: Skeleton) -> tuple[np.ndarray, float]:
        """(the segment's unit direction in the body's axes, metres from the joint to its end)."""
        children = skeleton.children[skeleton.index(self.body)]
        if not children:
            return np.array([1.0, 0.0, 0.0]), self.beyond
        bone = skeleton.offsets[children[0]]
        return bone / np.linalg.norm(bone), float(np.linalg.norm(bone)) + self.beyond


EXTREMITIES = {
    **{f"{side}_Wrist": Extremity(f"{side}_Wrist", (1.0, 0.0, 0.0), (0.0, 0.0, -1.0), LEAF_SHAPES["hand"][0],
                                  LEAF_SHAPES["hand"][1]) for side in "LR"},
    **{f"{side}_Toe": Extremity(f"{side}_Toe", (0.0, 1.0, 0.0), (0.0, 0.0, -1.0), TOE_REACH, TOE_ABOVE_SOLE)
       for side in "LR"},
}
"""The bodies `settle_on_floor` may bend: T-pose hands, palms down, bend about x (the hand's capsules: `capsules`);
toes, soles down, about y."""


def hinge_angle(direction: np.ndarray, axis: np.ndarray, face: np.ndarray, lowest_z: np.ndarray) -> np.ndarray:
    """(T,) the rotation (radians, right-handed about `axis`) that raises unit `direction`'s z to `lowest_z`: of the
    two that do, the one leaving unit `face` lower; 0 where direction is there already, the highest reachable where it
    cannot be reached. `direction`, `axis`, `face`: (T, 3) world vectors; `lowest_z`: (T,)."""
    def swing(vector: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """z(theta) = fixed + radius * cos(theta - phase) for `vector` turned by theta about `axis`."""
        fixed = axis[:, 2] * np.sum(axis * vector, axis=1)
        along, across = vector[:, 2] - fixed, np.cross(axis, vector)[:, 2]
        return fixed, np.hypot(along, across), np.arctan2(across, along)

    fixed, radius, phase = swing(direction)
    needed = np.arccos(np.clip((lowest_z - fixed) / np.maximum(radius, 1e-9), -1.0, 1.0))
    candidates = (np.stack([phase - needed, phase + needed]) + np.pi) % (2 * np.pi) - np.pi  # (2, T)
    face_fixed, face_radius, face_phase = swing(face)
    face_z = face_fixed + face_radius * np.cos(candidates - face_phase)
    chosen = np.take_along_axis(candidates, np.argmin(face_z, axis=0)[None], axis=0)[0]
    return np.where(direction[:, 2] >= lowest_z, 0.0, chosen)


def settle_on_floor(person: PersonMotion, skeleton: Skeleton, bodies: tuple[str, ...]) -> PersonMotion:
    """`person` with each of `bodies` (keys of `EXTREMITIES`: wrists, toes the capture does not articulate) bent
    about its hinge where its segment's end would be below the floor (z = 0) by less than the clearance (module
    docstring); the other joints, the root and the frames where nothing reaches the floor are unchanged."""
    if not bodies:
        return person
    global_rot = global_rotations(person, skeleton)  # (T, B, 4)
    positions = body_positions(person, skeleton)
    for name in bodies:
        part, b = EXTREMITIES[name], skeleton.index(name)
        rotation = wxyz_to_rotations(global_rot[:, b])
        along, reach = part.reach(skeleton)
        direction, axis, face = (rotation.apply(v) for v in (along, part.hinge, part.face))
        lowest_z = np.clip((part.clearance - positions[:, b, 2]) / reach, -1.0, 0.0)
        angle = hinge_angle(direction, axis, face, lowest_z)
        global_rot[:, b] = rotations_to_wxyz(Rotation.from_rotvec(axis * angle[:, None]) * rotation, (len(angle),))
        for child in skeleton.subtree(b)[1:]:  # they keep their rotation relative to the bent body
            local = wxyz_to_rotations(person.joint_rot[:, child - 1])
            parent = wxyz_to_rotations(global_rot[:, skeleton.parents[child]])
            global_rot[:, child] = rotations_to_wxyz(parent * local, (len(angle),))
    root_rot, joint_rot = local_rotations(global_rot, skeleton)
    return PersonMotion(root_pos=person.root_pos, root_rot=root_rot, joint_rot=joint_rot)


def unseen_by_positions(targets: list[str], skeleton: Skeleton) -> tuple[str, ...]:
    """The extremities whose turn joint positions do not show: those without a target (`targets`: body names) on a
    body below them (a wrist without its hand's; a toe, a leaf, always)."""
    return tuple(body for body in EXTREMITIES if body in skeleton.body_names and not any(
        skeleton.body_names[child] in targets for child in skeleton.children[skeleton.index(body)]))


def finish_settled_clip(name: str, persons: list[PersonMotion], source_fps: float, skeleton: Skeleton,
                        target_fps: float, source: dict, fix_floor: bool, where: object, settle: tuple[str, ...],
                        **finish) -> Clip:
    """`common.finish_clip` (its `finish` options passed on) for capture whose wrists and toes `settle` the file does
    not turn: the floor fixed (`fix_floor`) by everything but their segments, then those bent onto the floor
    (`settle_on_floor`), listed in `source["settled_on_floor"]`, the clip validated again (errors name `where`)."""
    clip = finish_clip(name, persons, source_fps, skeleton, target_fps, source, fix_floor and not settle, where,
                       **finish)
    if not settle:
        return clip
    if fix_floor:
        clip.persons = floor_fix(clip.persons, skeleton, ignore=settle)
    clip.persons = [settle_on_floor(person, skeleton, settle) for person in clip.persons]
    clip.source["settled_on_floor"] = list(settle)
    clip.validate(str(where))
    return clip
