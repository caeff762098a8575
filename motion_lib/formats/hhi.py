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
Units: decided per file from the subject's leg length (`bvh_retarget.unit_scale`: metres, centimetres,
millimetres or the CMU database's unit).
Frame rate: from `Frame Time`, resampled to `options.fps` (None keeps the file's rate). A take
name containing "bed" or "chair" (any case) records `source["scene"]` = "bed" | "chair", and the clip gets
that furniture, placed from the motion (HHI-Assist records no furniture): a seat under the care receiver where
it sits lowest, a chair facing its way, a bed sat on at its long side, or, where the receiver lies lowest, a bed
along its body, of the public code's sizes (REFERENCE §4) with the top at the receiver's underside
(`motion_lib.seats`). A chair take whose receiver lies, or a receiver at no plausible seat or bed height, gets
nothing, and `source["furniture_unplaced"]` says why.

ReadOptions used: skeleton, fps, fix_floor, supporter (files holding both persons), up.

Retargeting: `motion_lib.formats.bvh_retarget` (joints matched by name, limb bones pointing where the file's
bones point, the skeleton's bone lengths, the pelvis height scaled by the leg-length ratio).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.extremities import EXTREMITIES, finish_settled_clip
from motion_lib.formats.base import ReadOptions, SourceItem, require_path
from motion_lib.formats.bvh import read_bvh
from motion_lib.formats.bvh_retarget import (
    DEFAULT_UP,
    RetargetedPerson,
    map_joints,
    persons_of_file,
    unarticulated_extremities,
)
from motion_lib.formats.common import UP_AXES
from motion_lib.seats import feet_of, seat_from_motion
from motion_lib.skeleton import get_skeleton

CAREGIVER_WORDS = frozenset({"cg", "caregiver"})
RECEIVER_WORDS = frozenset({"cr", "receiver", "recipient", "carereceiver", "carerecipient"})
_SUBJECT_CODE = re.compile(r"^[a-z]{1,4}(cg|cr)$")
_WORD_SPLIT = re.compile(r"[_\s.]+")
SCENES = ("bed", "chair")


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
        skeleton = get_skeleton(clip.skeleton)
        clip.furniture, unplaced = seat_from_motion(clip.persons[1], skeleton, clip.source["scene"],
                                                    feet_of(clip.persons[:1], skeleton))
        if unplaced:
            clip.source["furniture_unplaced"] = unplaced
    return clip


def _height_scaled(person: RetargetedPerson) -> PersonMotion:
    """The person with its root height scaled by its leg-length ratio (so people of any size stand on the floor),
    its horizontal track as the file gives it (keeping the distance between the two people)."""
    root_pos = person.motion.root_pos.copy()
    root_pos[:, 2] *= person.leg_ratio
    return PersonMotion(root_pos, person.motion.root_rot, person.motion.joint_rot)


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
    persons, at_rest, scales, settle = [], [], [], set()
    for motion in motions:
        settle.update(unarticulated_extremities(motion, [map_joints(motion, motion.roots[0], options.skeleton)],
                                                options.skeleton))
        (person,), scale = persons_of_file(motion, motion.roots, options.skeleton, up)
        persons.append(_height_scaled(person))
        at_rest.append(list(person.at_rest))
        scales.append(scale)
    source = {"format": "hhi", "files": [str(supporter), str(recipient)], "pair": pair, "take": take,
              "units_to_m": scales, "bodies_at_rest": at_rest, **_scene(take)}
    fps, where = motions[0].fps, f"{supporter} with {recipient}"
    settled = tuple(body for body in EXTREMITIES if body in settle)
    return _furnished(finish_settled_clip(name, persons, fps, options.skeleton, options.fps or fps, source,
                                          options.fix_floor, where, settled))


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
    retargeted, scale = persons_of_file(motion, roots, options.skeleton, up)
    persons = [_height_scaled(person) for person in retargeted]
    source = {"format": "hhi", "files": [str(path)], "pair": pair, "take": take,
              "units_to_m": [scale, scale], "bodies_at_rest": [list(person.at_rest) for person in retargeted],
              "supporter_root": motion.joint_names[roots[0]], **_scene(take)}
    settle = unarticulated_extremities(motion, [map_joints(motion, root, options.skeleton) for root in roots],
                                       options.skeleton)
    return _furnished(finish_settled_clip(name, persons, motion.fps, options.skeleton, options.fps or motion.fps,
                                          source, options.fix_floor, path, settle))


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
