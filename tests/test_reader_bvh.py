"""The generic BVH reader (`source=bvh`) on capture written from a generated walk: a subject of another size, a
T-pose or an A-pose rest, y-up centimetres, CMU/Mixamo-style joint names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_lib.errors import UserInputError
from motion_lib.families.locomotion import walk
from motion_lib.formats import bvh_clips
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.bvh import read_bvh
from motion_lib.formats.bvh_retarget import CMU_UNIT_M, persons_of_file
from motion_lib.formats.common import Y_UP_TO_Z_UP, body_positions, global_rotations, wxyz_to_rotations
from motion_lib.formats.phc import read_clips
from motion_lib.skeleton import get_skeleton
from tests.test_reader_hhi import hierarchy_text
from tests.test_run_cli import run_cli

SMPL = get_skeleton("smpl")
BVH_NAMES = {"Pelvis": "Hips", "Torso": "Spine", "Spine": "Spine1", "Chest": "Spine2", "Neck": "Neck", "Head": "Head",
             **{f"{s}_{b}": f"{side}{n}" for s, side in (("L", "Left"), ("R", "Right")) for b, n in (
                 ("Hip", "UpLeg"), ("Knee", "Leg"), ("Ankle", "Foot"), ("Toe", "ToeBase"), ("Thorax", "Shoulder"),
                 ("Shoulder", "Arm"), ("Elbow", "ForeArm"), ("Wrist", "Hand"))}}
"""The skeleton's bodies under the joint names of a CMU-style BVH (the hands end the arms)."""
FACING = Rotation.from_matrix(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
"""Skeleton body axes (x forward, y left, z up) -> the file's axes (facing +z, left +x, y up)."""
A_POSE = {"L": Rotation.from_euler("x", 40, degrees=True), "R": Rotation.from_euler("x", -40, degrees=True)}
"""The arms' rest bones turned 40 degrees down about the forward axis (skeleton body axes)."""
ARM_BODIES = ("Shoulder", "Elbow", "Wrist")


def a_pose_of(body: str) -> Rotation:
    side, _, name = body.partition("_")
    return A_POSE[side] if name in ARM_BODIES else Rotation.identity()


def bind_frame(body: str, children: list[str]) -> Rotation:
    """A LAFAN1-style bind pose: the body's frame turned so that its first child's bone lies along the file's +x."""
    if not children:
        return Rotation.identity()
    bone = SMPL.offsets[SMPL.index(children[0])] / np.linalg.norm(SMPL.offsets[SMPL.index(children[0])])
    axis = np.cross(bone, [1.0, 0.0, 0.0])
    angle = np.arctan2(np.linalg.norm(axis), bone[0])
    return Rotation.from_rotvec(axis / max(np.linalg.norm(axis), 1e-12) * angle)


def write_bvh(path, clip, size: float, rest: str = "t", unit_m: float = 0.01) -> None:
    """`clip`'s person 0 as BVH capture of a subject `size` times the skeleton's size: every position (bones, root
    track) scaled by `size` about the floor's origin, the same motion; the rest pose a T-pose ("t"), with the arms'
    bones in an A-pose ("a") or a bind pose with every bone along +x ("bind"; the channels then turn them back, so the
    motion is the same); lengths in units of `unit_m`."""
    person, bodies = clip.persons[0], [b for b in SMPL.body_names if b in BVH_NAMES]
    world_to_file = Y_UP_TO_Z_UP.inv()
    global_rot = global_rotations(person, SMPL)  # (T, B, 4), body to z-up world
    children = {b: [c for c in bodies if c != "Pelvis" and SMPL.body_names[SMPL.parents[SMPL.index(c)]] == b]
                for b in bodies}
    frame = {b: bind_frame(b, children[b]) if rest == "bind" else FACING * (a_pose_of(b) if rest == "a" else
                                                                           Rotation.identity()) for b in bodies}
    """Body axes -> the file's axes in the rest pose."""
    joints = []
    for body in bodies:
        b = SMPL.index(body)
        parent = SMPL.body_names[SMPL.parents[b]] if b else None
        # the bone from the parent, in the parent's rest frame
        offset = frame[parent].apply(SMPL.offsets[b]) * size / unit_m if parent else np.zeros(3)
        joints.append((BVH_NAMES[body], BVH_NAMES[parent] if parent else None, tuple(offset)))
    hierarchy, names = hierarchy_text(joints, decimals=6)
    body_of = {name: body for body, name in BVH_NAMES.items()}
    order = [body_of[name] for name in names]
    frames = len(person.root_pos)
    # global file rotation of each joint: R = W^-1 G frame^-1
    file_rot = {b: world_to_file * wxyz_to_rotations(global_rot[:, SMPL.index(b)]) * frame[b].inv() for b in bodies}
    columns = [world_to_file.apply(person.root_pos * size) / unit_m]
    for body in order:
        b = SMPL.index(body)
        local = file_rot[body] if b == 0 else file_rot[SMPL.body_names[SMPL.parents[b]]].inv() * file_rot[body]
        columns.append(local.as_euler("ZXY", degrees=True))
    values = np.concatenate([c.reshape(frames, -1) for c in columns], axis=1)
    lines = ["HIERARCHY", hierarchy, "MOTION", f"Frames: {frames}", f"Frame Time: {1 / clip.fps:.7f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def walk_clip():
    return walk(np.random.default_rng(3), speed=1.3, turn_rate=20.0, duration=4.0, stop=False)


def read_one(path, **kwargs):
    (item,) = bvh_clips.source_items(path, ReadOptions(skeleton=SMPL, **kwargs))
    return item.load()


def relative_positions(clip):
    """(T, B, 3) body positions, horizontally from the first frame's pelvis."""
    pos = body_positions(clip.persons[0], SMPL)
    return pos - np.array([*pos[0, 0, :2], 0.0])


@pytest.mark.parametrize("size, rest, unit_m", [(1.0, "t", 0.01), (1.15, "t", 0.01), (0.85, "a", 0.01),
                                               (0.9, "t", CMU_UNIT_M), (1.1, "a", 0.001)])
def test_capture_of_any_size_rest_pose_and_unit_reads_as_the_motion_it_was_made_from(tmp_path, walk_clip, size, rest,
                                                                                       unit_m):
    write_bvh(tmp_path / "walk.bvh", walk_clip, size, rest, unit_m)
    clip = read_one(tmp_path / "walk.bvh")
    assert clip.fps == 30.0 and clip.num_frames == walk_clip.num_frames
    assert clip.source["subject_scale"]["factor"] == pytest.approx(size, rel=1e-4)
    assert clip.source["units_to_m"] == unit_m and clip.source["bodies_at_rest"] == [["L_Hand", "R_Hand"]]
    error = np.linalg.norm(relative_positions(clip) - relative_positions(walk_clip), axis=-1)
    # metres: the same motion on the skeleton, feet planted, on the floor (the facing read from the line between
    # the hips, which SMPL has not quite square, turns the body by a fraction of a degree; the hands stay at rest)
    assert error.max() < 0.005


def test_without_the_size_fit_the_track_is_the_subjects_and_the_feet_slide(tmp_path, walk_clip):
    write_bvh(tmp_path / "walk.bvh", walk_clip, 1.15)
    clip = read_one(tmp_path / "walk.bvh", fit_subject_scale=False)
    assert "subject_scale" not in clip.source
    travel = np.linalg.norm(np.diff(clip.persons[0].root_pos[[0, -1], :2], axis=0))
    original = np.linalg.norm(np.diff(walk_clip.persons[0].root_pos[[0, -1], :2], axis=0))
    assert travel == pytest.approx(1.15 * original, rel=1e-3)


def test_an_a_pose_rest_is_not_copied_onto_the_t_pose_skeleton(tmp_path, walk_clip):
    """Without aligning the rest bones, an A-pose file's arms would hang 40 degrees lower than captured."""
    write_bvh(tmp_path / "walk.bvh", walk_clip, 1.0, rest="a")
    pos = body_positions(read_one(tmp_path / "walk.bvh").persons[0], SMPL)
    own = body_positions(walk_clip.persons[0], SMPL)
    shoulder, elbow = SMPL.index("L_Shoulder"), SMPL.index("L_Elbow")
    upper, captured = pos[:, elbow] - pos[:, shoulder], own[:, elbow] - own[:, shoulder]
    cos = (upper * captured).sum(-1) / np.linalg.norm(upper, axis=-1) / np.linalg.norm(captured, axis=-1)
    assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.1


def test_a_bind_pose_along_one_axis_is_read_by_the_joints_positions(tmp_path, walk_clip):
    write_bvh(tmp_path / "walk.bvh", walk_clip, 1.1, rest="bind")
    clip = read_one(tmp_path / "walk.bvh")
    assert clip.source["retargeted_by"].startswith("joint positions")
    assert clip.source["subject_scale"]["factor"] == pytest.approx(1.1, rel=1e-4)
    error = np.linalg.norm(relative_positions(clip) - relative_positions(walk_clip), axis=-1)
    body = [b for b, name in enumerate(SMPL.body_names) if name not in ("L_Hand", "R_Hand")]
    assert error[:, body].mean() < 0.005 and error[:, body].max() < 0.03  # metres, inverse kinematics' error
    motion = read_bvh(tmp_path / "walk.bvh")
    with pytest.raises(UserInputError, match="does not stand along the y axis .* which only source=bvh reads"):
        persons_of_file(motion, motion.roots, SMPL, "y")  # the rotation route, as HHI-Assist's reader takes


def test_a_leading_t_pose_frame_is_dropped_as_a_snap(tmp_path, walk_clip):
    """The CMU database's BVH conversions start with one T-pose frame (a real one: 92 m/s at the wrists into the
    next)."""
    write_bvh(tmp_path / "walk.bvh", walk_clip, 1.0)
    lines = (tmp_path / "walk.bvh").read_text().split("\n")
    motion = lines.index("MOTION")
    first = np.array(lines[motion + 3].split(), dtype=float)
    t_pose = np.concatenate([first[:3], np.zeros(len(first) - 3)])  # the pelvis where it is, every rotation zero
    lines[motion + 1] = f"Frames: {walk_clip.num_frames + 1}"
    lines.insert(motion + 3, " ".join(f"{v:.6f}" for v in t_pose))
    (tmp_path / "walk.bvh").write_text("\n".join(lines))
    clip = read_one(tmp_path / "walk.bvh")
    assert clip.source["leading_frames_dropped"] == 1 and clip.num_frames == walk_clip.num_frames
    assert np.abs(relative_positions(clip) - relative_positions(walk_clip)).max() < 0.005


def test_convert_reads_a_folder_of_bvh_and_lists_the_subjects_sizes(tmp_path, walk_clip):
    folder = tmp_path / "mocap" / "subject_07"
    folder.mkdir(parents=True)
    write_bvh(folder / "walk_01.bvh", walk_clip, 1.1)
    out, run_dir = tmp_path / "mocap.pkl", tmp_path / "run"
    result = run_cli("stage=convert", "source=bvh", f"input={tmp_path / 'mocap'}", f"output={out}",
                     f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (clip,) = read_clips(out)
    assert clip.name == "subject_07__walk_01"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["subject_scale"]["rescaled"] == {"subject_07__walk_01": pytest.approx(1.1, rel=1e-4)}


def multi_root(text: str, persons: int, shift_cm: float = 0.0) -> str:
    """The one-person BVH `text` as `persons` ROOT skeletons, person k moved `k * shift_cm` along the file's x."""
    hierarchy, motion = text.split("MOTION\n")
    root = hierarchy.removeprefix("HIERARCHY\n")
    header, rows = motion.split("\n")[:2], [line for line in motion.split("\n")[2:] if line]
    shifted = []
    for line in rows:
        values = np.array(line.split(), dtype=float)
        copies = [values.copy() for _ in range(persons)]
        for k, copy in enumerate(copies):
            copy[0] += k * shift_cm
        shifted.append(" ".join(f"{v:.6f}" for copy in copies for v in copy))
    return "HIERARCHY\n" + root * persons + "MOTION\n" + "\n".join(header) + "\n" + "\n".join(shifted) + "\n"


def test_a_file_of_two_skeletons_is_a_two_person_clip_in_the_supporter_options_order(tmp_path, walk_clip):
    write_bvh(tmp_path / "one.bvh", walk_clip, 1.0)
    (tmp_path / "pair.bvh").write_text(multi_root((tmp_path / "one.bvh").read_text(), 2, shift_cm=100.0))
    first, swapped = read_one(tmp_path / "pair.bvh"), read_one(tmp_path / "pair.bvh", supporter=1)
    assert len(first.persons) == 2 and first.source["roots"] == ["Hips", "Hips"]
    gap = first.persons[1].root_pos[:, 0] - first.persons[0].root_pos[:, 0]  # file x is the world's x here
    np.testing.assert_allclose(gap, 1.0, atol=1e-6)
    np.testing.assert_allclose(swapped.persons[0].root_pos - swapped.persons[0].root_pos[0],
                               first.persons[1].root_pos - first.persons[1].root_pos[0], atol=1e-9)


def test_more_than_two_skeletons_or_no_bvh_is_one_sentence(tmp_path, walk_clip):
    write_bvh(tmp_path / "walk.bvh", walk_clip, 1.0)
    (tmp_path / "three.bvh").write_text(multi_root((tmp_path / "walk.bvh").read_text(), 3))
    with pytest.raises(UserInputError, match="holds 3 ROOT skeletons; a clip holds one or two persons"):
        read_one(tmp_path / "three.bvh")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="holds no .bvh files"):
        bvh_clips.source_items(tmp_path / "empty", ReadOptions(skeleton=SMPL))
