"""BVH parsing / FK and the HHI-Assist reader on synthetic mocap files in the assumed layout:
a caregiver-care-receiver pair folder holding one y-up, centimetre BVH per person."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_lib.errors import UserInputError
from motion_lib.formats import bvh_retarget, hhi
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.bvh import forward_kinematics, read_bvh, rest_positions
from motion_lib.formats.common import body_positions, lowest_point
from motion_lib.skeleton import get_skeleton

FRAMES = 20
FPS = 60
BEND_FROM = 10
"""Frames from BEND_FROM on bend the left elbow by 90 degrees (forearm pointing forward)."""
TAKE = "AACG_RMCR_FullAssist_Take2"
SMPL = get_skeleton("smpl")


def _skeleton(leg: float) -> list[tuple[str, str | None, tuple[float, float, float]]]:
    """A mocap-style hierarchy, y-up centimetres, T-pose facing +z (left is +x); `leg`: thigh and shin length."""
    left = [
        ("LeftShoulder", "Spine2", (4, 16, 0)), ("LeftArm", "LeftShoulder", (12, 0, 0)),
        ("LeftForeArm", "LeftArm", (27, 0, 0)), ("LeftHand", "LeftForeArm", (25, 0, 0)),
        ("LeftUpLeg", "Hips", (9, -8, 0)), ("LeftLeg", "LeftUpLeg", (0, -leg, 0)),
        ("LeftFoot", "LeftLeg", (0, -leg, 0)), ("LeftToeBase", "LeftFoot", (0, -6, 12)),
    ]
    right = [(n.replace("Left", "Right"), p.replace("Left", "Right"), (-o[0], o[1], o[2])) for n, p, o in left]
    spine = [("Hips", None, (0, 0, 0)), ("Spine", "Hips", (0, 10, 0)), ("Spine1", "Spine", (0, 12, 0)),
             ("Spine2", "Spine1", (0, 12, 0)), ("Neck", "Spine2", (0, 20, 0)), ("Head", "Neck", (0, 10, 0))]
    return spine + left + right


def hierarchy_text(joints, prefix: str = "", decimals: int = 2) -> tuple[str, list[str]]:
    """BVH HIERARCHY blocks of one skeleton (`joints`: (name, parent name or None, offset), the root first) and its
    joint names in file (depth-first) order; offsets written with `decimals` decimals."""
    children = {name: [n for n, p, _ in joints if p == name] for name, _, _ in joints}
    offsets = {name: o for name, _, o in joints}
    order, lines = [], []

    def block(name: str, depth: int) -> None:
        pad = "  " * depth
        order.append(prefix + name)
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {prefix}{name}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {' '.join(f'{v:.{decimals}f}' for v in offsets[name])}")
        rot = "Zrotation Xrotation Yrotation"
        lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot}" if depth == 0 else f"{pad}  CHANNELS 3 {rot}")
        for child in children[name]:
            block(child, depth + 1)
        if not children[name]:
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET 0.00 5.00 0.00", pad + "  }"])
        lines.append(pad + "}")

    block(joints[0][0], 0)
    return "\n".join(lines), order


def _frame_values(order: list[str], hips: np.ndarray, yaw: float, prefix: str = "") -> np.ndarray:
    """(T, C) channel values: hips position (T, 3) cm, hips yaw (deg about y), the elbow bend."""
    values = []
    for name in order:
        if name == prefix + "Hips":
            rot = np.zeros((FRAMES, 3))
            rot[:, 2] = yaw
            values.append(np.concatenate([hips, rot], axis=1))
        else:
            rot = np.zeros((FRAMES, 3))
            if name == prefix + "LeftForeArm":
                rot[BEND_FROM:, 2] = -90.0  # Yrotation: the forearm turns from +x (left) to +z (forward)
            values.append(rot)
    return np.concatenate(values, axis=1)


def _person(leg: float, front: float, yaw: float, prefix: str = ""):
    """(hierarchy text, joint order, values) of one person standing `front` cm along +z, feet on y = 0."""
    text, order = hierarchy_text(_skeleton(leg), prefix)
    hips = np.zeros((FRAMES, 3))
    hips[:, 0] = 0.5 * np.arange(FRAMES)
    hips[:, 1] = 2 * leg + 16  # hip joint 8 cm above the hip socket line, foot joint 8 cm above the floor
    hips[:, 2] = front
    return text, order, _frame_values(order, hips, yaw, prefix)


def _motion_text(values: np.ndarray, frames: int | None = None) -> str:
    lines = ["MOTION", f"Frames: {FRAMES if frames is None else frames}", f"Frame Time: {1 / FPS:.7f}"]
    lines += [" ".join(f"{v:.4f}" for v in row) for row in values]
    return "\n".join(lines) + "\n"


CAREGIVER = {"leg": 40.0, "front": 0.0, "yaw": 0.0}
RECEIVER = {"leg": 45.0, "front": 80.0, "yaw": 180.0}  # 0.8 m in front of the caregiver, facing them


def write_pair(root: Path, take: str = TAKE) -> tuple[Path, Path]:
    folder = root / "AA-RM"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for tag, person in (("CG", CAREGIVER), ("CR", RECEIVER)):
        text, _, values = _person(**person)
        path = folder / f"{take}_{tag}.bvh"
        path.write_text("HIERARCHY\n" + text + "\n" + _motion_text(values))
        paths.append(path)
    return paths[0], paths[1]


def options(**kwargs) -> ReadOptions:
    return ReadOptions(skeleton=SMPL, fps=30.0, **kwargs)


def load_only(root: Path, **kwargs):
    items = hhi.source_items(root, options(**kwargs))
    assert len(items) == 1
    return items[0].load()


@pytest.fixture(scope="module")
def pair_clip(tmp_path_factory):
    root = tmp_path_factory.mktemp("hhi")
    write_pair(root)
    return load_only(root)


# --- BVH parser and FK ---------------------------------------------------------------------------


def test_parser_reads_hierarchy_and_values_exactly(tmp_path):
    cg, _ = write_pair(tmp_path)
    motion = read_bvh(cg)
    _, order, values = _person(**CAREGIVER)
    assert motion.joint_names == tuple(order) and motion.num_joints == 22
    assert motion.parents[order.index("LeftForeArm")] == order.index("LeftArm")
    assert motion.roots == (0,)
    assert motion.channels[0] == ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert motion.channels[1] == ("Zrotation", "Xrotation", "Yrotation")
    np.testing.assert_array_equal(motion.offsets[order.index("LeftUpLeg")], [9.0, -8.0, 0.0])
    assert motion.frame_time == 1 / FPS  # "0.0166667" is 60 fps rounded
    assert motion.fps == FPS
    expected = np.array([[float(f"{v:.4f}") for v in row] for row in values])
    assert motion.values.shape == (FRAMES, 3 + 3 * 22)
    np.testing.assert_array_equal(motion.values, expected)


def test_fk_of_rest_frame_sums_offsets_and_bends_the_elbow(tmp_path):
    cg, _ = write_pair(tmp_path)
    motion = read_bvh(cg)
    positions, rotations = forward_kinematics(motion, scale=0.01)
    hips = motion.values[0, :3] * 0.01
    np.testing.assert_allclose(positions[0], hips + rest_positions(motion, 0.01), atol=1e-12)
    np.testing.assert_allclose(rotations[0], np.broadcast_to(np.eye(3), rotations[0].shape), atol=1e-12)
    # Bent frames: the hand sits 25 cm in front of the elbow (+z), the forearm's x axis points forward.
    fore, hand = motion.joint_names.index("LeftForeArm"), motion.joint_names.index("LeftHand")
    np.testing.assert_allclose(positions[BEND_FROM:, hand] - positions[BEND_FROM:, fore], [[0, 0, 0.25]] * 10, atol=1e-9)
    np.testing.assert_allclose(rotations[-1, hand] @ [1, 0, 0], [0, 0, 1], atol=1e-9)


def test_fk_applies_rotation_channels_in_their_listed_order(tmp_path):
    path = tmp_path / "order.bvh"
    path.write_text("HIERARCHY\nROOT A\n{\n OFFSET 0 0 0\n CHANNELS 3 Zrotation Xrotation Yrotation\n"
                    " JOINT B\n {\n  OFFSET 0 0 10\n  CHANNELS 2 Yrotation Xrotation\n"
                    "  End Site\n  {\n   OFFSET 0 0 1\n  }\n }\n}\nMOTION\nFrames: 1\nFrame Time: 0.01\n30 40 50 10 20\n")
    motion = read_bvh(path)
    positions, rotations = forward_kinematics(motion, scale=1.0)
    root = Rotation.from_euler("z", 30, degrees=True) * Rotation.from_euler("x", 40, degrees=True) \
        * Rotation.from_euler("y", 50, degrees=True)
    child = root * Rotation.from_euler("y", 10, degrees=True) * Rotation.from_euler("x", 20, degrees=True)
    np.testing.assert_allclose(positions[0, 1], root.apply([0, 0, 10]), atol=1e-12)
    np.testing.assert_allclose(rotations[0, 1], child.as_matrix(), atol=1e-12)


# --- retargeted clip -----------------------------------------------------------------------------


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def test_clip_timeline_roles_and_scene_metadata(pair_clip):
    assert pair_clip.fps == 30.0 and pair_clip.num_frames == FRAMES // 2
    assert pair_clip.skeleton == "smpl" and len(pair_clip.persons) == 2
    assert pair_clip.source["source_fps"] == FPS
    assert Path(pair_clip.source["files"][0]).name.endswith("_CG.bvh")  # caregiver = person 0
    assert Path(pair_clip.source["files"][1]).name.endswith("_CR.bvh")
    assert pair_clip.source["pair"] == "AA-RM" and pair_clip.source["take"] == TAKE
    assert pair_clip.source["units_to_m"] == [0.01, 0.01]
    assert pair_clip.source["bodies_at_rest"] == [["L_Hand", "R_Hand"]] * 2
    assert "scene" not in pair_clip.source


def test_elbow_bend_becomes_a_right_angle_pointing_forward(pair_clip):
    pos = body_positions(pair_clip.persons[0], SMPL)
    shoulder, elbow, wrist = (SMPL.index(n) for n in ("L_Shoulder", "L_Elbow", "L_Wrist"))
    angle = _angle(pos[:, elbow] - pos[:, shoulder], pos[:, wrist] - pos[:, elbow])
    straight, bent = angle[: BEND_FROM // 2], angle[BEND_FROM // 2:]
    # The bones point where the file's bones point (`bvh_retarget.rest_alignment`), not along SMPL's rest bones
    # (its rest arm is slightly bent: upper arm slightly back, forearm slightly up).
    np.testing.assert_allclose(straight, 0.0, atol=1e-4)
    np.testing.assert_allclose(bent, 90.0, atol=1e-4)
    assert _angle(SMPL.offsets[elbow], SMPL.offsets[wrist]) > 1.0  # what a plain rest-to-rest copy would have kept
    # The forearm points where the caregiver faces: towards the care receiver.
    toward = body_positions(pair_clip.persons[1], SMPL)[-1, 0, :2] - pos[-1, 0, :2]
    fore = pos[-1, wrist, :2] - pos[-1, elbow, :2]
    assert _angle(fore, toward) < 10


def test_persons_stand_upright_on_the_floor_facing_each_other(pair_clip):
    positions = [body_positions(p, SMPL) for p in pair_clip.persons]
    head, pelvis = SMPL.index("Head"), 0
    for pos in positions:
        assert (pos[:, head, 2] - pos[:, pelvis, 2] > 0.4).all()
        soles = lowest_point(pos[:5], SMPL)
        assert np.abs(soles).max() < 0.02, soles
    distance = np.linalg.norm(positions[1][:, pelvis, :2] - positions[0][:, pelvis, :2], axis=-1)
    np.testing.assert_allclose(distance, 0.8, atol=0.01)
    for me, other in ((0, 1), (1, 0)):
        forward = Rotation.from_quat(pair_clip.persons[me].root_rot[:, [1, 2, 3, 0]]).apply([1, 0, 0])[:, :2]
        toward = positions[other][:, pelvis, :2] - positions[me][:, pelvis, :2]
        assert (_angle(forward, toward) < 5).all()


def test_smplx_target_keeps_fingers_at_rest(tmp_path):
    write_pair(tmp_path)
    smplx = get_skeleton("smplx")
    clip = hhi.source_items(tmp_path, ReadOptions(skeleton=smplx, fps=30.0))[0].load()
    assert clip.skeleton == "smplx" and clip.persons[0].joint_rot.shape == (FRAMES // 2, 51, 4)
    fingers = [smplx.index(n) - 1 for n in smplx.body_names if n[2:].rstrip("123") in ("Index", "Thumb")]
    np.testing.assert_allclose(np.abs(clip.persons[0].joint_rot[:, fingers, 0]), 1.0, atol=1e-9)


def test_one_file_with_two_roots_uses_the_supporter_option(tmp_path, pair_clip):
    texts, values = [], []
    for person, prefix in ((RECEIVER, "CR:"), (CAREGIVER, "CG:")):
        text, _, v = _person(**person, prefix=prefix)
        texts.append(text)
        values.append(v)
    folder = tmp_path / "AA-RM"
    folder.mkdir()
    (folder / f"{TAKE}.bvh").write_text("HIERARCHY\n" + "\n".join(texts) + "\n" + _motion_text(np.concatenate(values, 1)))
    clip = load_only(tmp_path, supporter=1)
    assert clip.source["supporter_root"] == "CG:Hips"
    for mine, expected in zip(clip.persons, pair_clip.persons):
        np.testing.assert_allclose(mine.root_pos, expected.root_pos, atol=1e-9)
        np.testing.assert_allclose(np.abs((mine.joint_rot * expected.joint_rot).sum(-1)), 1.0, atol=1e-9)


def test_bed_take_records_the_scene_and_fps_none_keeps_the_file_rate(tmp_path):
    write_pair(tmp_path, take="AACG_RMCR_BedAssist_Take1")
    clip = hhi.source_items(tmp_path, ReadOptions(skeleton=SMPL, fps=None))[0].load()
    assert clip.source["scene"] == "bed"
    assert clip.fps == FPS and clip.num_frames == FRAMES


# --- file grouping -------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "role", "take"), [
    ("AACG_RMCR_FullAssist_Take2_CG", "supporter", TAKE),
    ("AACG_RMCR_FullAssist_Take2_cr", "recipient", TAKE),
    ("CG_FullAssist_Take2", "supporter", "FullAssist_Take2"),
    ("AACG_RMCR_FullAssist_Take2_RMCR", "recipient", TAKE),
    ("AACG_FullAssist_Take2", "supporter", "FullAssist_Take2"),
    ("care-receiver", "recipient", "AA-RM"),
    (TAKE, None, TAKE),
])
def test_person_tags(name, role, take):
    person = hhi.classify_file(Path("AA-RM") / f"{name}.bvh")
    assert (person.role, person.take) == (role, take)


@pytest.mark.parametrize(("joint", "body"), [
    ("mixamorig:LeftUpLeg", "L_Hip"), ("Bip01 R Calf", "R_Knee"), ("LeftShoulder", "L_Thorax"),
    ("LeftArm", "L_Shoulder"), ("upperarm_r", "R_Shoulder"), ("Spine1", "Spine"), ("spine_03", "Chest"),
    ("RightToeBase", "R_Toe"), ("LeftHandIndex1", None), ("HeadTop_End", None),
    # Bandai Namco's and LAFAN1's names
    ("UpperLeg_L", "L_Hip"), ("LowerArm_R", "R_Elbow"), ("Toes_L", "L_Toe"), ("Hand_R", "R_Wrist"),
    ("Shoulder_L", None), ("LeftToe", "L_Toe"), ("Spine2", "Chest"),
])
def test_joint_name_table(joint, body):
    assert bvh_retarget.body_for_joint(joint) == body


def test_take_folder_with_one_file_per_person(tmp_path):
    cg, cr = write_pair(tmp_path)
    take_folder = tmp_path / "AA-RM" / "AACG_RMCR_ChairAssist_Take1"
    take_folder.mkdir()
    cg.rename(take_folder / "caregiver.bvh")
    cr.rename(take_folder / "Care-Receiver.bvh")
    clip = load_only(tmp_path)
    assert clip.name == take_folder.name and clip.source["pair"] == "AA-RM" and clip.source["scene"] == "chair"
    assert Path(clip.source["files"][0]).name == "caregiver.bvh"


def test_unmatched_files_are_items_that_say_why(tmp_path):
    _, cr = write_pair(tmp_path)
    cr.unlink()
    (tmp_path / "AA-RM" / "Hug_CG_CR.bvh").write_text("")
    items = {item.name: item for item in hhi.source_items(tmp_path, options())}
    assert set(items) == {TAKE, "Hug_CG_CR"}
    with pytest.raises(UserInputError, match="found 1 caregiver and 0 care-receiver"):
        items[TAKE].load()
    with pytest.raises(UserInputError, match="Hug_CG_CR.bvh.*several person tags"):
        items["Hug_CG_CR"].load()


def test_single_person_file_without_tag_is_refused(tmp_path):
    cg, cr = write_pair(tmp_path)
    cr.unlink()
    cg.rename(cg.with_name(f"{TAKE}.bvh"))
    with pytest.raises(UserInputError, match=f"{TAKE}.bvh.*two ROOT skeletons, but it holds 1"):
        load_only(tmp_path)


def test_wrong_up_axis_is_refused(tmp_path):
    write_pair(tmp_path)
    with pytest.raises(UserInputError, match="up axis 'x'"):
        hhi.source_items(tmp_path, options(up="x"))
    with pytest.raises(UserInputError, match="_CG.bvh: the rest pose of skeleton 'Hips' does not stand along the z axis"):
        load_only(tmp_path, up="z")


def test_folder_without_bvh_is_refused(tmp_path):
    with pytest.raises(UserInputError, match="no .bvh files"):
        hhi.source_items(tmp_path, options())


# --- bad files -----------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_truncated_file_names_file_and_frames_found(tmp_path):
    cg, _ = write_pair(tmp_path)
    cg.write_text("\n".join(_lines(cg)[:-5]) + "\n")
    with pytest.raises(UserInputError, match=rf"{cg.name}.*'Frames: 20' but only 15 frame lines found"):
        load_only(tmp_path)


def test_short_frame_line_is_reported_with_its_line(tmp_path):
    cg, _ = write_pair(tmp_path)
    lines = _lines(cg)
    lines[-3] = " ".join(lines[-3].split()[:-2])
    cg.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserInputError, match=rf"{cg.name}, line {len(lines) - 2}: frame 17 has 67 values, expected 69"):
        read_bvh(cg)


def test_bad_channel_name_is_reported_with_its_line(tmp_path):
    cg, _ = write_pair(tmp_path)
    lines = _lines(cg)
    number = next(i for i, line in enumerate(lines) if "CHANNELS 3" in line) + 1
    lines[number - 1] = lines[number - 1].replace("Xrotation", "Xrot")
    cg.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserInputError, match=rf"{cg.name}, line {number}: unknown channel name 'Xrot'"):
        read_bvh(cg)


def test_non_numeric_value_is_reported_with_its_line(tmp_path):
    cg, _ = write_pair(tmp_path)
    lines = _lines(cg)
    words = lines[-1].split()
    lines[-1] = " ".join(words[:4] + ["abc"] + words[5:])
    cg.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserInputError, match=rf"{cg.name}, line {len(lines)}: non-numeric value 'abc'"):
        read_bvh(cg)


def test_missing_motion_section_is_reported(tmp_path):
    cg, _ = write_pair(tmp_path)
    lines = _lines(cg)
    cg.write_text("\n".join(lines[: lines.index("MOTION")]) + "\n")
    with pytest.raises(UserInputError, match=rf"{cg.name}, line \d+: missing MOTION section"):
        read_bvh(cg)


def test_unknown_joint_names_are_reported(tmp_path):
    cg, _ = write_pair(tmp_path)
    cg.write_text(cg.read_text().replace("LeftUpLeg", "Thing1"))
    with pytest.raises(UserInputError, match=rf"{cg.name}: skeleton 'Hips' has no joint for L_Hip"):
        load_only(tmp_path)


def test_a_skeleton_without_toes_gets_them_posed_by_the_floor(tmp_path, monkeypatch, pair_clip):
    assert "settled_on_floor" not in pair_clip.source  # toes and wrists turned by the files are read as they are
    toeless = _skeleton
    monkeypatch.setattr(sys.modules[__name__], "_skeleton",
                        lambda leg: [joint for joint in toeless(leg) if "ToeBase" not in joint[0]])
    write_pair(tmp_path)
    clip = load_only(tmp_path)
    assert clip.source["settled_on_floor"] == ["L_Toe", "R_Toe"]
    for person in clip.persons:  # still standing on the floor, soles down
        assert np.abs(lowest_point(body_positions(person, SMPL)[:5], SMPL)).max() < 0.02
