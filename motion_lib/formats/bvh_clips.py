"""Generic BVH reader (`source=bvh`): skeletal motion capture of any naming (CMU, LAFAN1, Mixamo, Bandai Namco,
100STYLE, Xsens or Vicon exports), one clip per file, one person per ROOT skeleton.

Input: one `.bvh` file, or a folder searched recursively for them. Clip names are the file's path relative to the
input folder without the extension, '/' -> '__'. A file holds one person (single-person clips, as the prior tracks)
or two (two ROOT skeletons; `options.supporter` says which is the supporter, as for HHI-Assist files holding both
persons); more is refused.

Retargeting: `motion_lib.formats.bvh_retarget` (joints matched by name, the skeleton's bone lengths). A rest pose
that stands (T-pose, A-pose) is retargeted by the joints' rotations, every limb bone pointing where the file's bone
points; a bind pose with the bones along one axis (LAFAN1's) by the joints' positions, fitted by inverse kinematics
(twist about the bones is then not observed; the fit error is in `source`). `source["retargeted_by"]` says which.
Up axis `options.up`, default "y"; units from the legs' length (metres, centimetres, millimetres or the CMU
database's unit).

Size: the file gives the subject's legs, so with `options.fit_subject_scale` every root track is scaled by the
skeleton's hip-to-ankle length over the subject's (the mean over the file's people) about person 0's first root
position, as `motion_lib.subject_scale` does for formats that must measure it: the feet of a taller or shorter
subject then stay planted on the skeleton's legs. Recorded as `source["subject_scale"]`. Without it the root tracks
stay where the file puts the hips. Either way the floor fix then puts the feet on the floor.

ReadOptions used: skeleton, fps (None: keep the file's rate), fix_floor, fit_subject_scale, treadmill_to_ground,
supporter (files holding two persons), up.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.extremities import finish_settled_clip
from motion_lib.formats.base import ReadOptions, SourceItem
from motion_lib.formats.bvh import BvhMotion, read_bvh
from motion_lib.formats.bvh_retarget import (
    DEFAULT_UP,
    map_joints,
    persons_from_joint_positions,
    persons_of_file,
    rest_is_standing,
    unarticulated_extremities,
)
from motion_lib.formats.common import UP_AXES
from motion_lib.formats.keypoints import find_clip_files
from motion_lib.subject_scale import scale_travel

MAX_PERSONS = 2


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """One item per BVH file: the input file itself, or every `*.bvh` under the input folder."""
    if (options.up or DEFAULT_UP) not in UP_AXES:
        raise UserInputError(f"BVH: unknown up axis '{options.up}'; expected one of {UP_AXES}")
    return [SourceItem(name=n, path=f, load=functools.partial(load_clip, f, n, options))
            for n, f in find_clip_files(input_path, (".bvh",))]


def load_clip(path: Path, name: str, options: ReadOptions) -> Clip:
    """One file as a clip of its one or two persons."""
    source = {"format": "bvh", "file": str(path)}
    return clip_of_motion(read_bvh(path), name, options, options.up or DEFAULT_UP, source)


def clip_of_motion(motion: BvhMotion, name: str, options: ReadOptions, up: str, source: dict) -> Clip:
    """A parsed BVH motion (or a format put in its terms, `deepmimic.py`) as a clip: its one or two persons
    retargeted, their size fitted, resampled and floor-fixed (module docstring); `source` starts the clip's record."""
    path, roots = motion.path, motion.roots
    if len(roots) > MAX_PERSONS:
        raise UserInputError(f"{path}: holds {len(roots)} ROOT skeletons; a clip holds one or two persons")
    if len(roots) == 2:
        if options.supporter not in (0, 1):
            raise UserInputError(f"{path}: options.supporter must be 0 or 1, got {options.supporter}")
        roots = (roots[options.supporter], roots[1 - options.supporter])
    mappings = [map_joints(motion, root, options.skeleton) for root in roots]
    source = {**source, "up": up, "roots": [motion.joint_names[r] for r in roots]}
    standing = all(rest_is_standing(motion, mapping, options.skeleton, up) for mapping in mappings)
    if standing:
        retargeted, units = persons_of_file(motion, roots, options.skeleton, up)
        persons, ratio = [person.motion for person in retargeted], float(np.mean([p.leg_ratio for p in retargeted]))
        if options.fit_subject_scale:
            persons = scale_travel(persons, ratio)
        source.update(retargeted_by="rotations", bodies_at_rest=[list(person.at_rest) for person in retargeted])
    else:
        persons, units, ratio, fit = persons_from_joint_positions(motion, roots, options.skeleton, up,
                                                                  options.fit_subject_scale)
        source.update(retargeted_by="joint positions (inverse kinematics): the rest pose does not stand", **fit)
    source["units_to_m"] = units
    if options.fit_subject_scale:
        source["subject_scale"] = {"factor": round(1.0 / ratio, 4), "applied": True,
                                   "reason": "the file's hip-to-ankle length over the skeleton's"}
    settle = unarticulated_extremities(motion, mappings, options.skeleton, by_positions=not standing)
    return finish_settled_clip(name, persons, motion.fps, options.skeleton, options.fps or motion.fps, source,
                               options.fix_floor, path, settle, treadmill_to_ground=options.treadmill_to_ground)
