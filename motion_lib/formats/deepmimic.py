"""DeepMimic motion files (`source=deepmimic`): the clips of DeepMimic's `humanoid3d` character (also read by
pybullet's DeepMimic examples and other imitation-learning code), one person each.

Input: one file (`.txt` or `.json`), or a folder searched recursively for them. Each file is JSON:

    {"Loop": "wrap" | "none", "Frames": [[duration, root position (3), root rotation (4), chest (4), neck (4),
      right hip (4), right knee (1), right ankle (4), right shoulder (4), right elbow (1),
      left hip (4), left knee (1), left ankle (4), left shoulder (4), left elbow (1)], ...]}

44 numbers a frame: the seconds to the next frame, then y-up metres and rotations relative to the parent joint as
quaternions (w, x, y, z); knees and elbows are one angle (radians) about their z axis. The character faces +x with
its right side at +z; at rest it stands with its arms hanging (`HUMANOID3D`: its joints' attach points, from
DeepMimic's `data/characters/humanoid3d.txt`; the wrists are fixed, there are no toes). The frame rate is 1 / the
median duration (the last frame's is not used); durations that differ by more than 1 % are refused.

Each file is put in BVH terms (the character as a BVH hierarchy, the rotations as Euler channels) and read like
any BVH (`bvh_clips.clip_of_motion`: joints matched by name, limb bones pointing where the character's point, the
root track scaled by its leg length). Clip names are the file's path relative to the input folder without the
extension, '/' -> '__'.

A looping file (`"Loop": "wrap"`: one cycle of a walk or a run, its last frame the next cycle's first) is read as
the one cycle it holds; with `loop_seconds` (`run.py stage=convert ... stage.loop_seconds=10`) it is played over and
over to at least that long, as DeepMimic plays it: each cycle's root carried on by the cycle's horizontal travel,
its heading as it is (`repeated_cycles`).

ReadOptions used: skeleton, fps (None: keep the file's rate), fix_floor, fit_subject_scale, treadmill_to_ground,
loop_seconds.

Writing (`write_motion`, `humanoid3d_frames`): a person of a clip on the project's skeleton as a humanoid3d motion
file, what DeepMimic-format capture of that motion holds: each of the character's segments takes the global rotation
of the skeleton body that ends it (`WRITTEN_BODIES`: the chest the upper spine's, the neck the head's), knees and
elbows their rotation's component about the hinge (the ankles then keep the feet's own rotation), the root track
scaled to the character's legs. What the format has
no room for is lost: the three spine links and the collar bones become one chest, the toes, wrists and the head's own
nod are fixed.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from motion_lib.checks import (
    MAX_ANGLE_RAD,
    MAX_DURATION_S,
    MAX_POSITION_M,
    frame_rate,
    one_line,
    real_array,
    require_bounded,
    require_duration,
    require_frames,
    require_speed,
)
from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.formats.base import ReadOptions, SourceItem
from motion_lib.formats.bvh import BvhMotion, rest_positions
from motion_lib.formats.bvh_clips import clip_of_motion
from motion_lib.formats.bvh_retarget import map_joints, rest_alignment, rest_facing, skeleton_leg_length
from motion_lib.formats.common import Y_UP_TO_Z_UP, global_rotations, wxyz_to_rotations
from motion_lib.formats.keypoints import find_clip_files
from motion_lib.skeleton import Skeleton

SUFFIXES = (".txt", ".json")
UP = "y"
HUMANOID3D = (
    # BVH-style name (matched by `bvh_retarget.BODY_NAME_CANDIDATES`), parent, attach point (m), DeepMimic joint
    ("Hips", -1, (0.0, 0.0, 0.0), "root"),
    ("Spine1", 0, (0.0, 0.236151, 0.0), "chest"),
    ("Neck", 1, (0.0, 0.223894, 0.0), "neck"),
    ("RightUpLeg", 0, (0.0, 0.0, 0.084887), "right_hip"),
    ("RightLeg", 3, (0.0, -0.421546, 0.0), "right_knee"),
    ("RightFoot", 4, (0.0, -0.409870, 0.0), "right_ankle"),
    ("RightArm", 1, (-0.02405, 0.24350, 0.18311), "right_shoulder"),
    ("RightForeArm", 6, (0.0, -0.274788, 0.0), "right_elbow"),
    ("RightHand", 7, (0.0, -0.258947, 0.0), "right_wrist"),
    ("LeftUpLeg", 0, (0.0, 0.0, -0.084887), "left_hip"),
    ("LeftLeg", 9, (0.0, -0.421546, 0.0), "left_knee"),
    ("LeftFoot", 10, (0.0, -0.409870, 0.0), "left_ankle"),
    ("LeftArm", 1, (-0.02405, 0.24350, -0.18311), "left_shoulder"),
    ("LeftForeArm", 12, (0.0, -0.274788, 0.0), "left_elbow"),
    ("LeftHand", 13, (0.0, -0.258947, 0.0), "left_wrist"),
)
"""The humanoid3d character in BVH terms: (name, parent index, offset from the parent, DeepMimic joint name)."""
FRAME_LAYOUT = (("chest", 4), ("neck", 4), ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4),
                ("right_shoulder", 4), ("right_elbow", 1), ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4),
                ("left_shoulder", 4), ("left_elbow", 1))
"""The joints of a frame after duration, root position and root rotation: 4 = quaternion, 1 = angle about z."""
FRAME_WIDTH = 1 + 3 + 4 + sum(width for _, width in FRAME_LAYOUT)
EULER = "ZXY"
"""The Euler channels the rotations are written as (BVH `Zrotation Xrotation Yrotation`, intrinsic)."""
DURATION_TOLERANCE = 0.01


def source_items(input_path: Path, options: ReadOptions) -> list[SourceItem]:
    """One item per motion file: the input file itself, or every `.txt`/`.json` under the input folder."""
    return [SourceItem(name=n, path=f, load=functools.partial(load_clip, f, n, options))
            for n, f in find_clip_files(input_path, SUFFIXES)]


def load_clip(path: Path, name: str, options: ReadOptions) -> Clip:
    """One motion file as a single-person clip (a looping one repeated to `options.loop_seconds` when set)."""
    document = _read_json(path)
    frames, loop = _frames(document, path), str(document.get("Loop", ""))[:20]
    source = {"format": "deepmimic", "file": str(path), "loop": loop}
    motion = humanoid3d_motion(path, frames)  # the one cycle checked first (frame rate, values)
    if loop == "wrap" and options.loop_seconds is not None:
        if not 0.0 < options.loop_seconds <= MAX_DURATION_S:
            raise UserInputError(f"{path}: loop_seconds must be above 0 and at most {MAX_DURATION_S:g} s, the longest "
                                 f"clip accepted; got {options.loop_seconds:g}")
        motion = humanoid3d_motion(path, repeated_cycles(frames, options.loop_seconds))
        source["loop_seconds"] = float(options.loop_seconds)
    return clip_of_motion(motion, name, options, UP, source)


def repeated_cycles(frames: np.ndarray, seconds: float) -> np.ndarray:
    """(T', 44) the cycle `frames` (T, 44; its last frame is the next cycle's first) played over and over until it
    lasts at least `seconds`, as DeepMimic plays a `"Loop": "wrap"` motion: each cycle's root moved on by the first
    to last frame's horizontal travel (y-up: x and z), rotations as they are."""
    cycle_seconds = float(frames[:-1, 0].sum())
    if len(frames) < 2 or cycle_seconds <= 0.0:
        return frames
    cycles = max(1, int(np.ceil(seconds / cycle_seconds - 1e-9)))
    travel = frames[-1, 1:4] - frames[0, 1:4]
    travel[1] = 0.0
    pieces = []
    for cycle in range(cycles):
        piece = frames[:-1].copy() if cycle < cycles - 1 else frames.copy()
        piece[:, 1:4] += cycle * travel
        pieces.append(piece)
    return np.concatenate(pieces, axis=0)


def humanoid3d_motion(path: Path, frames: np.ndarray) -> BvhMotion:
    """The (T, 44) frames of a humanoid3d motion as the equivalent BVH motion (`HUMANOID3D`, Euler channels)."""
    durations = frames[:-1, 0] if len(frames) > 1 else frames[:, 0]
    frame_time = float(np.median(durations))
    fps = frame_rate(1.0 / frame_time if frame_time > 0 else 0.0, "the frame rate (1 / duration)", path)
    require_duration(frames.shape[0], fps, path)
    if np.abs(durations - frame_time).max() > DURATION_TOLERANCE * frame_time:
        raise UserInputError(f"{path}: frame durations range from {durations.min():g} to {durations.max():g} s; "
                             "a clip needs one frame rate")
    root_pos = require_bounded(frames[:, 1:4], MAX_POSITION_M, "root position", path, " m")
    require_bounded(frames[:, 4:], MAX_ANGLE_RAD, "rotation values (quaternions and angles)", path)
    require_speed(root_pos, fps, "root position", path)
    columns = [root_pos, _euler_degrees(frames[:, 4:8], "root rotation", path)]
    start, rotations = 8, {}
    for joint, width in FRAME_LAYOUT:
        values = frames[:, start:start + width]
        rotations[joint] = (_euler_degrees(values, joint, path) if width == 4 else
                            np.degrees(np.stack([values[:, 0], 0 * values[:, 0], 0 * values[:, 0]], axis=1)))
        start += width
    channels = []
    for name, parent, _, joint in HUMANOID3D:
        if parent < 0:
            channels.append(("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation"))
        elif joint in rotations:
            channels.append(("Zrotation", "Xrotation", "Yrotation"))
            columns.append(rotations[joint])
        else:
            channels.append(())  # the fixed wrists
    return BvhMotion(path=path, joint_names=tuple(n for n, _, _, _ in HUMANOID3D),
                     parents=tuple(p for _, p, _, _ in HUMANOID3D),
                     offsets=np.array([o for _, _, o, _ in HUMANOID3D]), channels=tuple(channels),
                     frame_time=1.0 / fps, values=np.concatenate(columns, axis=1))


def _read_json(path: Path) -> dict:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserInputError(f"{path}: not a readable DeepMimic motion (JSON) file: {one_line(err, 120)}") from None
    if not isinstance(document, dict) or "Frames" not in document:
        found = sorted(document) if isinstance(document, dict) else type(document).__name__
        raise UserInputError(f"{path}: a DeepMimic motion file is a JSON object with \"Frames\"; found {one_line(found, 80)}")
    return document


def _frames(document: dict, path: Path) -> np.ndarray:
    """(T, 44) checked frame values."""
    rows = document["Frames"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise UserInputError(f"{path}: \"Frames\" must be a list of frames, each a list of {FRAME_WIDTH} numbers")
    widths = sorted({len(row) for row in rows})
    if widths != [FRAME_WIDTH]:
        raise UserInputError(f"{path}: frames hold {one_line(widths, 60)} numbers; the humanoid3d character's hold "
                             f"{FRAME_WIDTH} (duration, root position and rotation, 12 joints)")
    try:
        frames = np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserInputError(f"{path}: \"Frames\" holds values that are not numbers") from None
    frames = real_array(frames, "Frames", path, (None, FRAME_WIDTH))
    require_frames(frames.shape[0], path)
    if not np.isfinite(frames).all():
        raise UserInputError(f"{path}: \"Frames\" holds NaN or infinite values")
    return frames


def _euler_degrees(quats: np.ndarray, what: str, path: Path) -> np.ndarray:
    """(T, 4) quaternions (w, x, y, z) as (T, 3) intrinsic ZXY Euler angles in degrees; zero-length ones refused."""
    norms = np.linalg.norm(quats, axis=1)
    if (norms < 1e-6).any():
        raise UserInputError(f"{path}: the {what} quaternion of frame {int(np.argmax(norms < 1e-6))} has no length")
    return Rotation.from_quat(quats[:, [1, 2, 3, 0]] / norms[:, None]).as_euler(EULER, degrees=True)


WRITTEN_BODIES = {"root": "Pelvis", "chest": "Chest", "neck": "Head", "right_hip": "R_Hip", "right_knee": "R_Knee",
                  "right_ankle": "R_Ankle", "right_shoulder": "R_Shoulder", "right_elbow": "R_Elbow",
                  "left_hip": "L_Hip", "left_knee": "L_Knee", "left_ankle": "L_Ankle", "left_shoulder": "L_Shoulder",
                  "left_elbow": "L_Elbow"}
"""The skeleton body whose global rotation each humanoid3d joint's segment takes when writing."""
_PARENT_JOINT = {joint: HUMANOID3D[parent][3] for _, parent, _, joint in HUMANOID3D if parent >= 0}


def _rest_frames(skeleton: Skeleton) -> dict[str, Rotation]:
    """Per written body, F C_b: the rest frame the BVH retargeting reads the character's joint with (skeleton body
    axes -> file axes; `bvh_retarget.person_from_bvh`), so that writing is its inverse."""
    rest_motion = BvhMotion(path=Path("humanoid3d"), joint_names=tuple(n for n, _, _, _ in HUMANOID3D),
                            parents=tuple(p for _, p, _, _ in HUMANOID3D),
                            offsets=np.array([o for _, _, o, _ in HUMANOID3D]), channels=((),) * len(HUMANOID3D),
                            frame_time=1.0 / 30, values=np.zeros((1, 0)))
    mapping = map_joints(rest_motion, 0, skeleton)
    rest = rest_positions(rest_motion, 1.0)
    facing = rest_facing(rest, mapping, skeleton, UP, rest_motion.path)
    aligned = rest_alignment(rest, mapping, skeleton, facing)
    return {body: facing * aligned.get(skeleton.index(body), Rotation.identity()) for body in WRITTEN_BODIES.values()}


def humanoid3d_frames(person: PersonMotion, skeleton: Skeleton, fps: float) -> np.ndarray:
    """(T, 44) humanoid3d frames of `person` (module docstring, "Writing"): durations 1 / fps, y-up metres with the
    root track scaled by the character's leg length over the skeleton's, quaternions (w, x, y, z)."""
    global_rot, rest, world_to_file = global_rotations(person, skeleton), _rest_frames(skeleton), Y_UP_TO_Z_UP.inv()
    file_rot = {joint: world_to_file * wxyz_to_rotations(global_rot[:, skeleton.index(body)]) * rest[body].inv()
                for joint, body in WRITTEN_BODIES.items()}
    legs = [np.linalg.norm(HUMANOID3D[i][2]) for i in (4, 5)]
    scale = float(sum(legs)) / skeleton_leg_length(skeleton)
    frames = len(person.root_pos)
    columns = [np.full((frames, 1), 1.0 / fps), world_to_file.apply(person.root_pos * scale),
               _wxyz(file_rot["root"])]
    written = {"root": file_rot["root"]}  # what the file's rotations give each segment (hinges projected)
    for joint, width in FRAME_LAYOUT:  # parents first
        local = written[_PARENT_JOINT[joint]].inv() * file_rot[joint]
        if width == 1:
            angle = local.as_rotvec()[:, 2]
            local = Rotation.from_rotvec(np.outer(angle, [0.0, 0.0, 1.0]))
        written[joint] = written[_PARENT_JOINT[joint]] * local
        columns.append(_wxyz(local) if width == 4 else angle[:, None])
    return np.concatenate(columns, axis=1)


def write_motion(path: Path, clip: Clip, skeleton: Skeleton, person: int = 0) -> None:
    """Write `clip`'s person `person` as a humanoid3d motion file (JSON, "Loop": "none")."""
    frames = humanoid3d_frames(clip.persons[person], skeleton, clip.fps)
    rows = [[round(float(v), 6) for v in row] for row in frames]
    Path(path).write_text(json.dumps({"Loop": "none", "Frames": rows}), encoding="utf-8")


def _wxyz(rotation: Rotation) -> np.ndarray:
    """(T, 4) quaternions (w, x, y, z), w >= 0."""
    quat = rotation.as_quat()[:, [3, 0, 1, 2]]
    return quat * np.where(quat[:, :1] < 0, -1.0, 1.0)
