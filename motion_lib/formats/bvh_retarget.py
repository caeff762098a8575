"""Retargeting BVH skeletal mocap onto the project's SMPL (or SMPL-X) skeleton: used by the HHI-Assist reader
(`hhi.py`) and the generic BVH reader (`bvh_clips.py`).

Up axis: the caller's ("y" or "z"; BVH mocap is usually y-up); converted to z-up.
Units: decided per file from the subject's leg length (hip to ankle along the bones, whatever the rest pose):
<= 3 units is metres, <= 30 the CMU database's unit (1/0.45 inch, kept by its BVH conversions), <= 300
centimetres, more millimetres.

Retargeting (approximations, by design)
- BVH joints are matched to skeleton bodies by name (`BODY_NAME_CANDIDATES`; case, separators and
  a namespace such as "mixamorig:" are ignored; a longer name ending in a known name also
  matches, e.g. "Bip01 L Thigh"). The pelvis, both hips and both feet must be found.
- Each matched body takes the BVH joint's global rotation relative to the BVH rest pose:
  G_body(t) = W * R_joint(t) * F * C_body, where W turns the file's world to z-up, F is the BVH rest
  pose's facing frame (forward, left, up built from the hips and the up axis) and C_body the smallest
  rotation turning the skeleton's T-pose bone (limbs: body -> its child joint; the neck) onto the BVH
  rest pose's (`rest_alignment`; a wrist takes its forearm's; the identity for the pelvis and spine).
  So every limb bone points where the file's bone points, whatever its standing rest pose (T-pose,
  A-pose, bent knees). Twist about a bone comes with the joint's full rotation. A rest pose that does
  not stand (a bind pose with every bone along one axis) is refused here; `bvh_clips.py` fits such
  files by their joint positions (`persons_from_joint_positions`).
- Bodies without a matched joint keep their rest rotation relative to their parent (SMPL's
  L_Hand/R_Hand, SMPL-X fingers, spine links a file does not have).
- Bone lengths are the skeleton's, not the subject's: hands and feet land where the skeleton's
  limbs put them. The root positions are where the file puts the hips, with the leg-length ratio
  (skeleton hip-to-ankle length along the bones / subject's) beside them: each reader scales them by
  it its own way (`hhi.py` the height only, `bvh_clips.py` the whole track).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.extremities import EXTREMITIES, unseen_by_positions
from motion_lib.formats.bvh import AXES, BvhMotion, forward_kinematics, rest_positions
from motion_lib.formats.common import local_rotations, rotations_to_wxyz, world_rotation
from motion_lib.formats.keypoints import persons_from_positions
from motion_lib.skeleton import Skeleton

DEFAULT_UP = "y"
"""Up axis of a BVH file when `options.up` is None (BVH mocap is usually y-up)."""
LEG_RATIOS = (0.2, 5.0)
"""Plausible skeleton-to-subject leg length ratios (the subject's thigh and shin 0.16 to 3.9 m long)."""

_LEFT_NAMES = {
    "L_Hip": ("leftupleg", "leftthigh", "lefthip", "leftupperleg"),
    "L_Knee": ("leftleg", "leftshin", "leftknee", "leftlowerleg", "leftcalf"),
    "L_Ankle": ("leftfoot", "leftankle"),
    "L_Toe": ("lefttoebase", "lefttoe", "lefttoes"),
    "L_Thorax": ("leftshoulder", "leftclavicle", "leftcollar"),
    "L_Shoulder": ("leftarm", "leftupperarm"),
    "L_Elbow": ("leftforearm", "leftlowerarm", "leftelbow"),
    "L_Wrist": ("lefthand", "leftwrist"),
}
_SIDE_WORDS = {
    "L_Hip": ("thigh", "hip", "upperleg", "upleg"),
    "L_Knee": ("shin", "knee", "lowerleg", "calf"),
    "L_Ankle": ("foot", "ankle"),
    "L_Toe": ("toebase", "toe", "toes", "toe0", "ball"),
    "L_Thorax": ("clavicle", "collar"),
    "L_Shoulder": ("upperarm", "humerus", "arm"),
    "L_Elbow": ("forearm", "lowerarm", "elbow"),
    "L_Wrist": ("hand", "wrist"),
}
"""Words that name a left body with a one-letter side before or after them ("LThigh", "thigh_l")."""


def _side_names(body: str, side: str) -> tuple[str, ...]:
    """Normalised names of `body` (a left body) on `side` ("l" or "r")."""
    long = _LEFT_NAMES[body] if side == "l" else tuple("right" + n[4:] for n in _LEFT_NAMES[body])
    words = _SIDE_WORDS[body]
    return long + tuple(side + w for w in words) + tuple(w + side for w in words)


BODY_NAME_CANDIDATES: dict[str, tuple[str, ...]] = {
    "Pelvis": ("hips", "hip", "pelvis"),
    "Torso": ("spine", "spine01"),
    "Spine": ("spine1", "spine02"),
    "Chest": ("spine2", "chest", "spine03"),
    "Neck": ("neck", "neck01"),
    "Head": ("head",),
    **{body: _side_names(body, "l") for body in _LEFT_NAMES},
    **{"R" + body[1:]: _side_names(body, "r") for body in _LEFT_NAMES},
}
"""Skeleton body -> normalised BVH joint names (lower case, letters and digits only) that drive it."""
_BODY_OF_NAME = {name: body for body, names in BODY_NAME_CANDIDATES.items() for name in names}
REQUIRED_BODIES = ("Pelvis", "L_Hip", "R_Hip", "L_Ankle", "R_Ankle")
"""Bodies a BVH skeleton must provide: the root, and the hips and feet for facing and leg length."""


def normalise_joint_name(name: str) -> str:
    """Lower case, namespace ("mixamorig:") dropped, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.rsplit(":", 1)[-1].lower())


def body_for_joint(name: str) -> str | None:
    """The skeleton body a BVH joint name drives: an exact match, else the longest known name the
    joint's name ends with ("bip01lthigh" -> L_Hip); None when nothing matches."""
    key = normalise_joint_name(name)
    if key in _BODY_OF_NAME:
        return _BODY_OF_NAME[key]
    endings = [n for n in _BODY_OF_NAME if key.endswith(n)]
    return _BODY_OF_NAME[max(endings, key=len)] if endings else None


def map_joints(motion: BvhMotion, root: int, skeleton: Skeleton) -> dict[int, int]:
    """Skeleton body index -> BVH joint index for the bodies found under `root` (first match wins)."""
    mapping: dict[int, int] = {}
    for j in motion.subtree(root):
        body = body_for_joint(motion.joint_names[j])
        if body is not None and body in skeleton.body_names and skeleton.index(body) not in mapping:
            mapping[skeleton.index(body)] = j
    missing = [b for b in REQUIRED_BODIES if skeleton.index(b) not in mapping]
    if missing:
        names = ", ".join(motion.joint_names[j] for j in motion.subtree(root))
        raise UserInputError(
            f"{motion.path}: skeleton '{motion.joint_names[root]}' has no joint for {', '.join(missing)} "
            f"(joints: {names}); see motion_lib.formats.bvh_retarget.BODY_NAME_CANDIDATES")
    return mapping


CMU_UNIT_M = 0.0254 / 0.45
"""The CMU motion-capture database's length unit (its ASF files' `length 0.45`: 1/0.45 inch), which its widely used
BVH conversions keep: a leg (thigh and shin) 13-17 units long."""
STANDING_LEGS = 0.7
"""A rest pose stands when its ankles are below its hips (along the up axis) by this share of the legs' length."""


def _chain_length(offsets: np.ndarray, parents, top: int, bottom: int) -> float:
    """Summed bone lengths from `bottom` up to its ancestor `top` (`offsets`: (N, 3) from each parent)."""
    length, node = 0.0, bottom
    while node != top:
        length += float(np.linalg.norm(offsets[node]))
        node = parents[node]
    return length


LEGS = (("L_Hip", "L_Ankle"), ("R_Hip", "R_Ankle"))


def leg_length(motion: BvhMotion, mapping: dict[int, int], skeleton: Skeleton) -> float:
    """The BVH subject's hip-to-ankle length along the bones (thigh and shin; file units), the mean of both legs."""
    return float(np.mean([_chain_length(motion.offsets, motion.parents, mapping[skeleton.index(hip)],
                                        mapping[skeleton.index(ankle)]) for hip, ankle in LEGS]))


def skeleton_leg_length(skeleton: Skeleton) -> float:
    """The skeleton's hip-to-ankle length along the bones (thigh and shin; metres), the mean of both legs."""
    return float(np.mean([_chain_length(skeleton.offsets, skeleton.parents, skeleton.index(hip), skeleton.index(ankle))
                          for hip, ankle in LEGS]))


def unit_scale(motion: BvhMotion, mapping: dict[int, int], skeleton: Skeleton) -> float:
    """File units to metres from the subject's leg length L (hip to ankle along the bones, file units), whatever the
    rest pose: L <= 3 metres, <= 30 the CMU database's unit (`CMU_UNIT_M`), <= 300 centimetres, more millimetres."""
    length = leg_length(motion, mapping, skeleton)
    if length <= 0:
        raise UserInputError(f"{motion.path}: the legs of skeleton '{motion.joint_names[mapping[0]]}' have no length")
    return 1.0 if length <= 3.0 else CMU_UNIT_M if length <= 30.0 else 0.01 if length <= 300.0 else 0.001


def leg_ratio(motion: BvhMotion, mapping: dict[int, int], skeleton: Skeleton, units: float) -> float:
    """The skeleton's leg length over the BVH subject's (hip to ankle along the bones): 1 / the subject's size."""
    skeleton_leg, subject_leg = skeleton_leg_length(skeleton), leg_length(motion, mapping, skeleton) * units
    if not LEG_RATIOS[0] <= skeleton_leg / subject_leg <= LEG_RATIOS[1]:
        raise UserInputError(f"{motion.path}: the legs are {subject_leg:.3g} m long (hip to ankle), implausible for "
                             f"a person ({skeleton_leg / LEG_RATIOS[1]:.2g} to {skeleton_leg / LEG_RATIOS[0]:.2g} m)")
    return float(skeleton_leg / subject_leg)


def rest_is_standing(motion: BvhMotion, mapping: dict[int, int], skeleton: Skeleton, up: str) -> bool:
    """Whether the BVH rest pose stands along `up` (ankles below the hips by `STANDING_LEGS` of the legs' length), as
    a T- or A-pose does; a bind pose with every bone along one axis (LAFAN1's) does not."""
    rest, up_index = rest_positions(motion, 1.0), AXES.index(up.upper())
    drop = rest[mapping[0], up_index] - rest[[mapping[skeleton.index(a)] for a in ("L_Ankle", "R_Ankle")], up_index]
    return bool(drop.min() >= STANDING_LEGS * leg_length(motion, mapping, skeleton))


def rest_facing(rest: np.ndarray, mapping: dict[int, int], skeleton: Skeleton, up: str, path: Path) -> Rotation:
    """F: the rotation taking the skeleton's body axes (x forward, y left, z up) to the BVH rest
    pose's axes in the file's world (left from right hip to left hip, up the file's up axis).
    `rest`: (J, 3) BVH rest joint positions."""
    up_vec = np.eye(3)[AXES.index(up.upper())]
    left = rest[mapping[skeleton.index("L_Hip")]] - rest[mapping[skeleton.index("R_Hip")]]
    left = left - left.dot(up_vec) * up_vec
    if np.linalg.norm(left) < 1e-9:
        raise UserInputError(f"{path}: the rest pose's hips lie on the {up} axis; "
                             "cannot tell which way the skeleton faces")
    left /= np.linalg.norm(left)
    return Rotation.from_matrix(np.column_stack([np.cross(left, up_vec), left, up_vec]))


ALIGNED_BONES = {**{f"{side}_{body}": f"{side}_{child}" for side in "LR" for body, child in (
    ("Hip", "Knee"), ("Knee", "Ankle"), ("Ankle", "Toe"), ("Thorax", "Shoulder"), ("Shoulder", "Elbow"),
    ("Elbow", "Wrist"))}, "Neck": "Head"}
"""Body -> the child whose direction at rest the body's rotation is aligned on (limbs and neck: one child each)."""
CONTINUING_BONES = {"L_Wrist": "L_Elbow", "R_Wrist": "R_Elbow"}
"""Bodies without a child joint to align on that take their parent's alignment: the hand continues the forearm."""


def rest_alignment(rest: np.ndarray, mapping: dict[int, int], skeleton: Skeleton,
                   facing: Rotation) -> dict[int, Rotation]:
    """Per body of `ALIGNED_BONES` found in the file: C_b, the smallest rotation (skeleton body axes) turning the
    skeleton's T-pose bone direction (body -> child) onto the BVH rest pose's (`facing`-relative), so that a BVH
    whose rest pose is not a T-pose (an A-pose, bent knees) still gives its bones' directions; a wrist takes its
    forearm's (`CONTINUING_BONES`). `rest`: (J, 3)."""
    aligned = {}
    for body, child in ALIGNED_BONES.items():
        if body not in skeleton.body_names or child not in skeleton.body_names:
            continue
        b, c = skeleton.index(body), skeleton.index(child)
        if b not in mapping or c not in mapping:
            continue
        target = facing.inv().apply(rest[mapping[c]] - rest[mapping[b]])
        own = skeleton.rest_positions[c] - skeleton.rest_positions[b]
        if np.linalg.norm(target) < 1e-6 or np.linalg.norm(own) < 1e-6:
            continue
        target, own = target / np.linalg.norm(target), own / np.linalg.norm(own)
        axis = np.cross(own, target)
        angle = np.arctan2(np.linalg.norm(axis), own.dot(target))
        if np.linalg.norm(axis) > 1e-9:
            aligned[b] = Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle)
    for body, parent in CONTINUING_BONES.items():
        if body in skeleton.body_names and skeleton.index(body) in mapping and skeleton.index(parent) in aligned:
            aligned.setdefault(skeleton.index(body), aligned[skeleton.index(parent)])
    return aligned


@dataclass(frozen=True)
class RetargetedPerson:
    """One BVH skeleton on the project's skeleton."""

    motion: PersonMotion
    """Root positions where the file puts its hips (z-up metres, not scaled), rotations retargeted."""
    at_rest: tuple[str, ...]
    """Bodies without a joint in the file (kept at rest relative to their parents)."""
    leg_ratio: float
    """The skeleton's hip-to-ankle height over the subject's (rest poses): 1 / the subject's size."""


def person_from_bvh(
    motion: BvhMotion, root: int, positions: np.ndarray, rotations: np.ndarray, scale: float,
    skeleton: Skeleton, up: str,
) -> RetargetedPerson:
    """Retarget the skeleton under BVH joint `root` onto `skeleton` (see the module docstring).

    Args:
        motion: the parsed file.
        root: index of the person's ROOT joint.
        positions: (T, J, 3) global joint positions in metres, file axes (`forward_kinematics`).
        rotations: (T, J, 3, 3) global joint rotations, file axes.
        scale: file units to metres (the one `positions` was computed with).
        skeleton: the target skeleton.
        up: the file's up axis, "y" or "z".
    """
    world = world_rotation(up)
    mapping = map_joints(motion, root, skeleton)
    if not rest_is_standing(motion, mapping, skeleton, up):
        raise UserInputError(
            f"{motion.path}: the rest pose of skeleton '{motion.joint_names[root]}' does not stand along the {up} "
            "axis (its ankles are not below its hips): a wrong up axis (stage.up), or a bind pose with the bones along "
            "one axis (as LAFAN1's), which only source=bvh reads (by its joint positions)")
    rest = rest_positions(motion, scale)
    facing = rest_facing(rest, mapping, skeleton, up, motion.path)
    aligned = rest_alignment(rest, mapping, skeleton, facing)
    frames = motion.num_frames
    mapped = sorted(mapping)
    rest_frames = np.stack([(facing * aligned.get(b, Rotation.identity())).as_matrix() for b in mapped])
    driven = world.as_matrix() @ rotations[:, [mapping[b] for b in mapped]] @ rest_frames
    global_rot = np.empty((frames, skeleton.num_bodies, 4))
    global_rot[:, mapped] = rotations_to_wxyz(Rotation.from_matrix(driven.reshape(-1, 3, 3)), (frames, len(mapped)))
    for b, parent in enumerate(skeleton.parents):
        if b not in mapping:
            global_rot[:, b] = global_rot[:, parent]
    root_rot, joint_rot = local_rotations(global_rot, skeleton)
    root_pos = world.apply(positions[:, mapping[0]])
    at_rest = tuple(name for b, name in enumerate(skeleton.body_names) if b not in mapping)
    return RetargetedPerson(PersonMotion(root_pos=root_pos, root_rot=root_rot, joint_rot=joint_rot), at_rest,
                            leg_ratio(motion, mapping, skeleton, scale))


def persons_of_file(motion: BvhMotion, roots: tuple[int, ...], skeleton: Skeleton,
                    up: str) -> tuple[list[RetargetedPerson], float]:
    """Retarget the persons under `roots` of one file: (persons, file units to metres)."""
    scale = unit_scale(motion, map_joints(motion, roots[0], skeleton), skeleton)
    positions, rotations = forward_kinematics(motion, scale)
    return [person_from_bvh(motion, r, positions, rotations, scale, skeleton, up) for r in roots], scale


def persons_from_joint_positions(motion: BvhMotion, roots: tuple[int, ...], skeleton: Skeleton, up: str,
                                 to_skeleton_size: bool) -> tuple[list[PersonMotion], float, float, dict]:
    """Retarget by the joints' positions instead of their rotations, for a rest pose that does not stand (a bind pose
    with every bone along one axis, as LAFAN1's, says nothing about which way a bone faces): each matched joint's
    position becomes an inverse-kinematics target of its body (`motion_lib.ik` through
    `keypoints.persons_from_positions`; twist about a bone and unmatched bodies are not observed).

    With `to_skeleton_size` the targets are first scaled by the mean leg-length ratio about person 0's first hips
    position on the floor, so the skeleton's bones can reach them and the track keeps its planted feet.

    Returns (persons in z-up metres at the file's rate, file units to metres, the mean leg-length ratio, the IK fit
    report of `persons_from_positions`).
    """
    world = world_rotation(up)
    mappings = [map_joints(motion, root, skeleton) for root in roots]
    units = unit_scale(motion, mappings[0], skeleton)
    positions, _ = forward_kinematics(motion, units)
    positions = world.apply(positions.reshape(-1, 3)).reshape(positions.shape)
    ratio = float(np.mean([leg_ratio(motion, mapping, skeleton, units) for mapping in mappings]))
    if to_skeleton_size:
        origin = positions[0, mappings[0][0]] * np.array([1.0, 1.0, 0.0])
        positions = origin + ratio * (positions - origin)
    persons, reports = [], []
    for mapping in mappings:
        bodies = sorted(mapping)
        targets = positions[:, [mapping[b] for b in bodies]][:, None]  # (T, 1, K, 3)
        (person,), report = persons_from_positions(targets, [skeleton.body_names[b] for b in bodies], skeleton)
        persons.append(person)
        reports.append(report)
    return persons, units, ratio, {"ik_fit_error_mean": float(np.mean([r["ik_fit_error_mean"] for r in reports])),
                                   "ik_fit_error_max": float(np.max([r["ik_fit_error_max"] for r in reports]))}


def unarticulated_extremities(motion: BvhMotion, mappings: list[dict[int, int]], skeleton: Skeleton,
                              by_positions: bool = False) -> tuple[str, ...]:
    """The wrists and toes (`extremities.EXTREMITIES`) the file does not turn; their pose then comes from the floor
    (`extremities.settle_on_floor`). Read by rotations: those without a joint of their own, or with one without
    rotation channels (DeepMimic's fixed wrists). Read by joint positions (`by_positions`): a body's rotation is seen
    only through a child's position, so the wrists without a joint for the hand below them, and the toes (leaves)."""
    if by_positions:
        unseen = {body for mapping in mappings
                  for body in unseen_by_positions([skeleton.body_names[b] for b in mapping], skeleton)}
        return tuple(body for body in EXTREMITIES if body in unseen)

    def turned(body: str, mapping: dict[int, int]) -> bool:
        joint = mapping.get(skeleton.index(body))
        return joint is not None and any(channel.lower().endswith("rotation") for channel in motion.channels[joint])
    return tuple(body for body in EXTREMITIES if body in skeleton.body_names
                 and not all(turned(body, mapping) for mapping in mappings))
