"""HHI-Assist reader (vita-epfl/HHI-Assist): BVH skeletal mocap of caregiver / care-receiver pairs,
retargeted onto the project's SMPL (or SMPL-X) skeleton.

Assumed on-disk layout (the public file naming is not fully documented, so the reader is lenient)
    <input>/                                 searched recursively for *.bvh (any depth)
      AA-RM/                                 a caregiver(CG)-care-receiver(CR) pair folder
        AACG_RMCR_FullAssist_Take2_CG.bvh    the caregiver of take AACG_RMCR_FullAssist_Take2
        AACG_RMCR_FullAssist_Take2_CR.bvh    the care receiver of the same take
        AACG_RMCR_Hug_Take1.bvh              one file holding both persons (two ROOT skeletons)
        AACG_RMCR_BedAssist_Take3/           or a take folder with one file per person
          caregiver.bvh, receiver.bvh

Person tags. A file name is split into words at "_", "." and spaces. Its person tag is
  - the one word "CG", "caregiver" or "care-giver" (caregiver) or "CR", "receiver", "recipient",
    "care-receiver", "care-recipient" (care receiver), case and hyphens ignored; else
  - a subject code ending in CG or CR (e.g. "AACG"), when it is the only one, or when it is the
    last word and repeats an earlier one (".._AACG_RMCR_Take2_AACG.bvh");
  - none when the name holds both codes of a pair and nothing else (e.g. "AACG_RMCR_Hug_Take1"):
    the file must then hold two ROOT skeletons, and `options.supporter` (0 or 1) says which
    root is the caregiver.
The take is the file name without its tag (the folder name when nothing is left); files of one
folder with the same take form one clip. Every file that cannot be placed (two different tags,
a take without exactly one caregiver and one care-receiver file, a partner missing) becomes an
item whose load() raises the reason, so the converter lists it as skipped.

Roles: the caregiver is the supporter (person 0), the care receiver the recipient (person 1).
Up axis: `options.up` ("y" or "z"), default "y" (BVH mocap is usually y-up); converted to z-up.
Units: decided per file from the rest-pose height (extent of the joints along the up axis):
<= 3 units is metres, <= 300 centimetres, more millimetres.
Frame rate: from `Frame Time`, resampled to `options.fps` (None keeps the file's rate). A take
name containing "bed" or "chair" (any case) records `source["scene"]` = "bed" | "chair", and the clip gets
that furniture, placed from the motion (HHI-Assist records no furniture): a seat under the care receiver where
it sits lowest, a chair facing its way, a bed sat on at its long side, of the public code's sizes (REFERENCE §4)
with the top at the receiver's seated underside (`motion_lib.seats`). When the receiver lies down there, or sits
at no plausible seat height, nothing is placed and `source["furniture_unplaced"]` says why.

ReadOptions used: skeleton, fps, fix_floor, supporter (files holding both persons), up.

Retargeting (approximations, by design)
- BVH joints are matched to skeleton bodies by name (`BODY_NAME_CANDIDATES`; case, separators and
  a namespace such as "mixamorig:" are ignored; a longer name ending in a known name also
  matches, e.g. "Bip01 L Thigh"). The pelvis, both hips and both feet must be found.
- Each matched body takes the BVH joint's global rotation relative to the BVH rest pose:
  G_body(t) = W * R_joint(t) * F, where W turns the file's world to z-up and F is the BVH rest
  pose's facing frame (forward, left, up built from the hips and the up axis). The BVH rest pose
  (all channels zero) therefore maps onto the skeleton's T-pose; a BVH whose rest pose is not a
  T-pose (e.g. an A-pose) passes its difference on to the result. Twist comes with the joint's
  full rotation.
- Bodies without a matched joint keep their rest rotation relative to their parent (SMPL's
  L_Hand/R_Hand, SMPL-X fingers, spine links a file does not have).
- Bone lengths are the skeleton's, not the subject's: hands and feet land where the skeleton's
  limbs put them. The pelvis follows the BVH hips horizontally (keeping the distance between the
  two persons); its height is scaled by the leg-length ratio (skeleton hip-to-ankle / subject's),
  so both persons stand on the floor (assumed at height 0 in the file) despite different legs.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.formats.base import ReadOptions, SourceItem, require_path
from motion_lib.formats.bvh import AXES, BvhMotion, forward_kinematics, read_bvh, rest_positions
from motion_lib.formats.common import UP_AXES, finish_clip, local_rotations, rotations_to_wxyz, world_rotation
from motion_lib.seats import seat_from_motion
from motion_lib.skeleton import Skeleton, get_skeleton

DEFAULT_UP = "y"
"""Up axis of a BVH file when `options.up` is None."""
LEG_RATIOS = (0.2, 5.0)
"""Plausible skeleton-to-subject leg length ratios (the subject's hip-to-ankle height 0.17 to 4.3 m)."""

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

CAREGIVER_WORDS = frozenset({"cg", "caregiver"})
RECEIVER_WORDS = frozenset({"cr", "receiver", "recipient", "carereceiver", "carerecipient"})
_SUBJECT_CODE = re.compile(r"^[a-z]{1,4}(cg|cr)$")
_WORD_SPLIT = re.compile(r"[_\s.]+")
SCENES = ("bed", "chair")


# --- retargeting ---------------------------------------------------------------------------------


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
            f"(joints: {names}); see motion_lib.formats.hhi.BODY_NAME_CANDIDATES")
    return mapping


def unit_scale(motion: BvhMotion, root: int, up: str) -> float:
    """File units to metres from the rest-pose height of the skeleton under `root`:
    <= 3 units metres, <= 300 centimetres, more millimetres."""
    heights = rest_positions(motion, 1.0)[list(motion.subtree(root)), AXES.index(up.upper())]
    height = heights.max() - heights.min()
    if height <= 0:
        raise UserInputError(f"{motion.path}: skeleton '{motion.joint_names[root]}' has no height along the {up} axis in its rest pose")
    return 1.0 if height <= 3.0 else 0.01 if height <= 300.0 else 0.001


def rest_facing(rest: np.ndarray, mapping: dict[int, int], skeleton: Skeleton, up: str, path: Path) -> Rotation:
    """F: the rotation taking the skeleton's body axes (x forward, y left, z up) to the BVH rest
    pose's axes in the file's world (left from right hip to left hip, up the file's up axis).
    `rest`: (J, 3) BVH rest joint positions."""
    up_vec = np.eye(3)[AXES.index(up.upper())]
    left = rest[mapping[skeleton.index("L_Hip")]] - rest[mapping[skeleton.index("R_Hip")]]
    left = left - left.dot(up_vec) * up_vec
    if np.linalg.norm(left) < 1e-9:
        raise UserInputError(f"{path}: the rest pose's hips lie on the {up} axis; cannot tell which way the skeleton faces")
    left /= np.linalg.norm(left)
    return Rotation.from_matrix(np.column_stack([np.cross(left, up_vec), left, up_vec]))


def leg_ratio(rest: np.ndarray, mapping: dict[int, int], skeleton: Skeleton, up: str, path: Path) -> float:
    """Skeleton hip-to-ankle height over the BVH subject's (rest poses, `rest` in metres)."""
    up_index = AXES.index(up.upper())
    ankles = skeleton.indices(["L_Ankle", "R_Ankle"])
    skeleton_leg = -skeleton.rest_positions[ankles, 2].mean()
    subject_leg = rest[mapping[0], up_index] - rest[[mapping[a] for a in ankles], up_index].mean()
    if subject_leg <= 0:
        raise UserInputError(f"{path}: the rest pose's feet are not below its hips along the {up} axis (wrong up axis?)")
    if not LEG_RATIOS[0] <= skeleton_leg / subject_leg <= LEG_RATIOS[1]:
        raise UserInputError(f"{path}: the rest pose's hips are {subject_leg:.3g} m above its ankles, implausible for a "
                             f"person ({skeleton_leg / LEG_RATIOS[1]:.2g} to {skeleton_leg / LEG_RATIOS[0]:.2g} m)")
    return float(skeleton_leg / subject_leg)


def person_from_bvh(
    motion: BvhMotion, root: int, positions: np.ndarray, rotations: np.ndarray, scale: float,
    skeleton: Skeleton, up: str,
) -> tuple[PersonMotion, tuple[str, ...]]:
    """Retarget the skeleton under BVH joint `root` onto `skeleton` (see the module docstring).

    Args:
        motion: the parsed file.
        root: index of the person's ROOT joint.
        positions: (T, J, 3) global joint positions in metres, file axes (`forward_kinematics`).
        rotations: (T, J, 3, 3) global joint rotations, file axes.
        scale: file units to metres (the one `positions` was computed with).
        skeleton: the target skeleton.
        up: the file's up axis, "y" or "z".

    Returns:
        The person in z-up metres at the file's frame rate, and the bodies left at rest.
    """
    world = world_rotation(up)
    mapping = map_joints(motion, root, skeleton)
    rest = rest_positions(motion, scale)
    facing = rest_facing(rest, mapping, skeleton, up, motion.path)
    frames = motion.num_frames
    mapped = sorted(mapping)
    driven = world.as_matrix() @ rotations[:, [mapping[b] for b in mapped]] @ facing.as_matrix()
    global_rot = np.empty((frames, skeleton.num_bodies, 4))
    global_rot[:, mapped] = rotations_to_wxyz(Rotation.from_matrix(driven.reshape(-1, 3, 3)), (frames, len(mapped)))
    for b, parent in enumerate(skeleton.parents):
        if b not in mapping:
            global_rot[:, b] = global_rot[:, parent]
    root_rot, joint_rot = local_rotations(global_rot, skeleton)
    root_pos = world.apply(positions[:, mapping[0]])
    root_pos[:, 2] *= leg_ratio(rest, mapping, skeleton, up, motion.path)
    at_rest = tuple(name for b, name in enumerate(skeleton.body_names) if b not in mapping)
    return PersonMotion(root_pos=root_pos, root_rot=root_rot, joint_rot=joint_rot), at_rest


def _persons_of_file(motion: BvhMotion, roots: tuple[int, ...], options: ReadOptions, up: str):
    """Retarget the persons under `roots` of one file: (persons, at-rest body names, scale)."""
    scale = unit_scale(motion, roots[0], up)
    positions, rotations = forward_kinematics(motion, scale)
    results = [person_from_bvh(motion, r, positions, rotations, scale, options.skeleton, up) for r in roots]
    return [p for p, _ in results], [list(a) for _, a in results], scale


# --- files and takes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonFile:
    """A BVH file placed in a take: `role` is "supporter", "recipient" or None (both persons)."""

    path: Path
    role: str | None
    take: str


def _role_of_word(word: str) -> str | None:
    word = word.lower().replace("-", "")
    if word in CAREGIVER_WORDS:
        return "supporter"
    if word in RECEIVER_WORDS:
        return "recipient"
    return None


def classify_file(path: Path) -> PersonFile:
    """The file's person tag and take (module docstring); `UserInputError` when the tag is ambiguous."""
    words = [w for w in _WORD_SPLIT.split(path.stem) if w]
    tagged = [i for i, w in enumerate(words) if _role_of_word(w)]
    if len(tagged) > 1:
        raise UserInputError(
            f"{path}: the file name holds several person tags ({', '.join(words[i] for i in tagged)}); "
            f"cannot tell whether it is the caregiver or the care receiver")
    if tagged:
        tag, role = tagged[0], _role_of_word(words[tagged[0]])
    else:
        codes = [i for i, w in enumerate(words) if _SUBJECT_CODE.match(w.lower())]
        last = len(words) - 1
        if len(codes) == 1:
            tag = codes[0]
        elif len(codes) > 1 and codes[-1] == last and words[last].lower() in (w.lower() for w in words[:last]):
            tag = last
        else:
            return PersonFile(path, None, "_".join(words) or path.parent.name)
        role = "supporter" if words[tag].lower().endswith("cg") else "recipient"
    take = "_".join(words[:tag] + words[tag + 1:]) or path.parent.name
    return PersonFile(path, role, take)


def _scene(take: str) -> dict:
    found = [s for s in SCENES if s in take.lower()]
    return {"scene": found[0]} if found else {}


def _furnished(clip: Clip) -> Clip:
    """`clip` with the furniture its take names (`source["scene"]`) under the care receiver, or the reason it has none."""
    if "scene" in clip.source:
        clip.furniture, unplaced = seat_from_motion(clip.persons[1], get_skeleton(clip.skeleton), clip.source["scene"])
        if unplaced:
            clip.source["furniture_unplaced"] = unplaced
    return clip


def _load_pair(name: str, supporter: Path, recipient: Path, pair: str, take: str, options: ReadOptions) -> Clip:
    up = options.up or DEFAULT_UP
    motions = [read_bvh(supporter), read_bvh(recipient)]
    for motion in motions:
        if len(motion.roots) != 1:
            raise UserInputError(f"{motion.path}: a per-person file must hold one skeleton, found {len(motion.roots)} ROOTs")
    if not np.isclose(motions[0].frame_time, motions[1].frame_time, rtol=1e-6):
        raise UserInputError(
            f"{recipient}: Frame Time {motions[1].frame_time} differs from the caregiver file {supporter.name} "
            f"({motions[0].frame_time})")
    if motions[0].num_frames != motions[1].num_frames:
        raise UserInputError(
            f"{recipient}: {motions[1].num_frames} frames, but the caregiver file {supporter.name} has "
            f"{motions[0].num_frames}; the two persons of a take must share one timeline")
    persons, at_rest, scales = [], [], []
    for motion in motions:
        (person,), (rest,), scale = _persons_of_file(motion, motion.roots, options, up)
        persons.append(person)
        at_rest.append(rest)
        scales.append(scale)
    source = {"format": "hhi", "files": [str(supporter), str(recipient)], "pair": pair, "take": take,
              "units_to_m": scales, "bodies_at_rest": at_rest, **_scene(take)}
    fps = motions[0].fps
    return _furnished(finish_clip(name, persons, fps, options.skeleton, options.fps or fps, source, options.fix_floor,
                                  f"{supporter} with {recipient}"))


def _load_two_root(name: str, path: Path, pair: str, take: str, options: ReadOptions) -> Clip:
    up = options.up or DEFAULT_UP
    motion = read_bvh(path)
    if len(motion.roots) != 2:
        raise UserInputError(
            f"{path}: its name has no person tag (CG/CR, caregiver/receiver), so it must hold both persons as "
            f"two ROOT skeletons, but it holds {len(motion.roots)}")
    if options.supporter not in (0, 1):
        raise UserInputError(f"{path}: options.supporter must be 0 or 1, got {options.supporter}")
    roots = (motion.roots[options.supporter], motion.roots[1 - options.supporter])
    persons, at_rest, scale = _persons_of_file(motion, roots, options, up)
    source = {"format": "hhi", "files": [str(path)], "pair": pair, "take": take,
              "units_to_m": [scale, scale], "bodies_at_rest": at_rest,
              "supporter_root": motion.joint_names[roots[0]], **_scene(take)}
    return _furnished(finish_clip(name, persons, motion.fps, options.skeleton, options.fps or motion.fps, source,
                                  options.fix_floor, path))


def _skipped(name: str, path: Path, reason: str) -> SourceItem:
    def load() -> Clip:
        raise UserInputError(reason)
    return SourceItem(name=name, path=path, load=load)


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """One item per take found under `input_path` (a folder searched recursively, or one .bvh file)."""
    if (options.up or DEFAULT_UP) not in UP_AXES:
        raise UserInputError(f"HHI-Assist: unknown up axis '{options.up}'; expected one of {UP_AXES}")
    input_path = require_path(input_path, "folder" if Path(input_path).is_dir() else "file")
    files = sorted(input_path.rglob("*.bvh")) if input_path.is_dir() else [input_path]
    files = [f for f in files if f.is_file() and f.suffix.lower() == ".bvh"]
    if not files:
        raise UserInputError(f"input {input_path} holds no .bvh files (HHI-Assist BVH mocap expected)")
    takes: dict[tuple[Path, str], list[PersonFile]] = defaultdict(list)
    items: list[SourceItem] = []
    for path in files:
        try:
            person = classify_file(path)
        except UserInputError as err:
            items.append(_skipped(path.stem, path, str(err)))
            continue
        takes[(path.parent, person.take)].append(person)
    repeated = {t for t, n in Counter(take for _, take in takes).items() if n > 1}
    for (folder, take), members in sorted(takes.items()):
        where = folder.relative_to(input_path).as_posix().replace("/", "_") if input_path.is_dir() else folder.name
        name = f"{where}_{take}" if take in repeated else take
        items.extend(_take_items(name, folder, take, members, options))
    return items


def _take_items(name: str, folder: Path, take: str, members: list[PersonFile], options: ReadOptions) -> list[SourceItem]:
    """The item(s) of one take (clip `name`): a pair of per-person files, or a file holding both persons."""
    pair = folder.parent.name if take == folder.name else folder.name  # a take folder sits in its pair folder
    whole = [m for m in members if m.role is None]
    tagged = [m for m in members if m.role is not None]
    items = []
    for m in whole:
        if tagged:
            items.append(_skipped(m.path.name, m.path, f"{m.path}: take '{take}' also has per-person files in {folder}; they are used instead"))
        else:
            items.append(SourceItem(name, m.path, lambda m=m: _load_two_root(name, m.path, pair, take, options)))
    if tagged:
        supporters = [m.path for m in tagged if m.role == "supporter"]
        recipients = [m.path for m in tagged if m.role == "recipient"]
        if len(supporters) == 1 and len(recipients) == 1:
            items.append(SourceItem(name, supporters[0], lambda: _load_pair(name, supporters[0], recipients[0], pair, take, options)))
        else:
            found = ", ".join(m.path.name for m in tagged)
            items.append(_skipped(name, tagged[0].path,
                                  f"{folder}: take '{take}' needs one caregiver and one care-receiver file, "
                                  f"found {len(supporters)} caregiver and {len(recipients)} care-receiver file(s): {found}"))
    return items
