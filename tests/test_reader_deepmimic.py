"""DeepMimic humanoid3d motion files (`source=deepmimic`) on synthetic motions in the format: which way the
character faces, which way its knees and elbows bend, its arms hanging at rest, its size, its frame rate, bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_lib.errors import UserInputError
from motion_lib.formats import deepmimic
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.bvh_retarget import skeleton_leg_length
from motion_lib.formats.common import body_positions, global_rotations, wxyz_to_rotations
from motion_lib.families.locomotion import walk
from motion_lib.formats.phc import read_clips
from motion_lib.skeleton import get_skeleton
from tests.test_run_cli import run_cli

SMPL = get_skeleton("smpl")
IDENTITY = [1.0, 0.0, 0.0, 0.0]


def quat(axis, angle: float) -> list[float]:
    """(w, x, y, z) of `angle` rad about `axis`."""
    return list(np.roll(Rotation.from_rotvec(np.asarray(axis, float) * angle).as_quat(), 1))


def frame(x: float, knee: float = 0.0, elbow: float = 0.0, dt: float = 1 / 30) -> list[float]:
    """One humanoid3d frame: the root at `x` m along +x, 0.9 m up, both knees and elbows at the given angles."""
    leg, arm = [*IDENTITY, knee, *IDENTITY], [*IDENTITY, elbow]
    return [dt, x, 0.9, 0.0, *IDENTITY, *IDENTITY, *IDENTITY, *leg, *arm, *leg, *arm]


def write(path, frames, loop="wrap"):
    path.write_text(json.dumps({"Loop": loop, "Frames": frames}))
    return path


def read_one(path, **kwargs):
    (item,) = deepmimic.source_items(path, ReadOptions(skeleton=SMPL, **kwargs))
    return item.load()


def test_standing_at_rest_faces_x_with_arms_hanging(tmp_path):
    clip = read_one(write(tmp_path / "stand.txt", [frame(0.0) for _ in range(10)]))
    assert clip.fps == 30.0 and clip.num_frames == 10 and clip.source["loop"] == "wrap"
    pos = body_positions(clip.persons[0], SMPL)[0]
    forward = Rotation.from_quat(clip.persons[0].root_rot[0, [1, 2, 3, 0]]).apply([1.0, 0.0, 0.0])
    np.testing.assert_allclose(forward, [1.0, 0.0, 0.0], atol=1e-6)  # the file's +x
    assert pos[SMPL.index("L_Hip"), 1] > pos[SMPL.index("R_Hip"), 1]  # its right side is +z in the file: -y here
    for side in "LR":
        shoulder, elbow, wrist = (pos[SMPL.index(f"{side}_{n}")] for n in ("Shoulder", "Elbow", "Wrist"))
        assert elbow[2] < shoulder[2] - 0.2 and wrist[2] < elbow[2] - 0.2  # hanging, not a T-pose
    assert pos[SMPL.index("Head"), 2] > pos[0, 2] + 0.4 and abs(pos[SMPL.index("L_Ankle"), 2] - 0.08) < 0.03


def test_knees_bend_the_feet_back_and_elbows_bend_the_hands_forward(tmp_path):
    clip = read_one(write(tmp_path / "bend.txt", [frame(0.0, knee=-1.0, elbow=1.2) for _ in range(10)]))
    pos = body_positions(clip.persons[0], SMPL)[0]
    for side in "LR":
        assert pos[SMPL.index(f"{side}_Ankle"), 0] < pos[SMPL.index(f"{side}_Knee"), 0] - 0.2
        assert pos[SMPL.index(f"{side}_Wrist"), 0] > pos[SMPL.index(f"{side}_Elbow"), 0] + 0.15


def test_the_characters_travel_is_scaled_to_the_skeletons_legs(tmp_path):
    clip = read_one(write(tmp_path / "walk.txt", [frame(t / 30) for t in range(31)]))  # 1 m/s for 1 s
    size = (0.421546 + 0.409870) / skeleton_leg_length(SMPL)  # the character's thigh and shin over the skeleton's
    assert clip.source["subject_scale"]["factor"] == pytest.approx(size, rel=1e-3)
    travel = clip.persons[0].root_pos[-1, 0] - clip.persons[0].root_pos[0, 0]
    assert travel == pytest.approx(1.0 / size, rel=1e-3)
    as_read = read_one(tmp_path / "walk.txt", fit_subject_scale=False)
    assert as_read.persons[0].root_pos[-1, 0] - as_read.persons[0].root_pos[0, 0] == pytest.approx(1.0, rel=1e-3)


def test_the_frame_rate_comes_from_the_durations_and_the_last_frames_is_unused(tmp_path):
    frames = [frame(t / 60, dt=1 / 60) for t in range(20)]
    frames[-1][0] = 0.0
    assert read_one(write(tmp_path / "sixty.txt", frames), fps=None).fps == pytest.approx(60.0)
    frames[5][0] = 0.05
    with pytest.raises(UserInputError, match="frame durations range from .*a clip needs one frame rate"):
        read_one(write(tmp_path / "uneven.txt", frames))


@pytest.mark.parametrize("text, message", [
    ("{\"Frames\": [[1, 2", "not a readable DeepMimic motion"),
    ("{\"Loop\": \"wrap\"}", "a JSON object with \"Frames\""),
    (json.dumps({"Frames": [[0.03] * 43] * 3}), "frames hold \\[43\\] numbers; the humanoid3d character's hold 44"),
    (json.dumps({"Frames": [frame(0.0)[:8] + [0, 0, 0, 0] + frame(0.0)[12:]] * 3}), "chest quaternion of frame 0"),
])
def test_bad_files_are_one_sentence_naming_the_file(tmp_path, text, message):
    (tmp_path / "bad.txt").write_text(text)
    with pytest.raises(UserInputError, match=message) as error:
        read_one(tmp_path / "bad.txt")
    assert str(tmp_path / "bad.txt") in str(error.value)


def test_convert_reads_a_folder_of_motion_files(tmp_path):
    folder = tmp_path / "motions"
    folder.mkdir()
    write(folder / "humanoid3d_walk.txt", [frame(t / 30, knee=-0.3) for t in range(31)])
    out, run_dir = tmp_path / "dm.pkl", tmp_path / "run"
    result = run_cli("stage=convert", "source=deepmimic", f"input={folder}", f"output={out}", f"run_dir={run_dir}",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (clip,) = read_clips(out)
    assert clip.name == "humanoid3d_walk" and clip.num_frames == 31


def cycle_frames(frames_per_cycle: int = 24, speed: float = 1.2) -> list[list[float]]:
    """One cycle of a periodic motion (knees and elbows swinging) moving along +x; its last frame is the next cycle's
    first, moved on by the cycle's travel."""
    phases = np.arange(frames_per_cycle + 1) * 2 * np.pi / frames_per_cycle
    return [frame(speed * i / 30, knee=-0.6 + 0.5 * np.sin(p), elbow=0.8 + 0.4 * np.cos(p)) for i, p in enumerate(phases)]


def test_a_looping_file_is_one_cycle_unless_loop_seconds_repeats_it(tmp_path):
    path = write(tmp_path / "walk.txt", cycle_frames())  # 24 frames: 0.8 s, 0.96 m
    one = read_one(path, fit_subject_scale=False, fix_floor=False)
    assert one.num_frames == 25 and "loop_seconds" not in one.source
    looped = read_one(path, fit_subject_scale=False, fix_floor=False, loop_seconds=3.0)
    assert looped.num_frames == 4 * 24 + 1 and looped.duration >= 3.0  # 4 cycles: 3.2 s
    assert looped.source["loop_seconds"] == 3.0
    root = looped.persons[0].root_pos
    np.testing.assert_allclose(np.diff(root[:, 0]), 1.2 / 30, atol=1e-6)  # carried on, no jump at the seams
    np.testing.assert_allclose(root[-1, 0] - root[0, 0], 4 * 0.96, atol=1e-6)
    joints, one_joints = looped.persons[0].joint_rot, one.persons[0].joint_rot  # each cycle poses as the first
    for cycle in range(4):
        np.testing.assert_allclose(np.abs(np.sum(joints[cycle * 24:cycle * 24 + 25] * one_joints, axis=-1)), 1.0,
                                   atol=1e-6)


def test_loop_seconds_leaves_a_clip_that_does_not_loop_as_it_is(tmp_path):
    path = write(tmp_path / "once.txt", cycle_frames(), loop="none")
    assert read_one(path, loop_seconds=3.0).num_frames == 25


def test_loop_seconds_past_the_longest_clip_is_one_sentence_not_a_huge_array(tmp_path):
    path = write(tmp_path / "walk.txt", cycle_frames())
    with pytest.raises(UserInputError, match="walk.txt: loop_seconds must be above 0 and at most 3600 s"):
        read_one(path, loop_seconds=1e12)


def test_convert_repeats_looping_files_to_loop_seconds(tmp_path):
    folder = tmp_path / "motions"
    folder.mkdir()
    write(folder / "humanoid3d_run.txt", cycle_frames(frames_per_cycle=20, speed=3.0))
    out = tmp_path / "dm.pkl"
    result = run_cli("stage=convert", "source=deepmimic", f"input={folder}", f"output={out}",
                     f"run_dir={tmp_path / 'run'}", "stage.loop_seconds=5", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    (clip,) = read_clips(out)
    assert clip.num_frames == 8 * 20 + 1 and clip.duration >= 5.0
    for bad_value in ("-1", "1e12"):
        bad = run_cli("stage=convert", "source=deepmimic", f"input={folder}", f"output={out}",
                      f"run_dir={tmp_path / 'run2'}", f"stage.loop_seconds={bad_value}", tmp_path=tmp_path)
        assert bad.returncode == 2 and "loop_seconds" in bad.stderr


@pytest.fixture(scope="module")
def walk_clip():
    return walk(np.random.default_rng(3), speed=1.3, turn_rate=20.0, duration=4.0, stop=False)


def round_trip(tmp_path, clip, **kwargs):
    deepmimic.write_motion(tmp_path / "clip.txt", clip, SMPL)
    return read_one(tmp_path / "clip.txt", **kwargs)


def test_a_clip_written_in_the_format_reads_back_as_the_motion_it_was_made_from(tmp_path, walk_clip):
    back = round_trip(tmp_path, walk_clip)
    assert back.fps == walk_clip.fps and back.source["settled_on_floor"] == ["L_Wrist", "R_Wrist", "L_Toe", "R_Toe"]
    made, read = body_positions(walk_clip.persons[0], SMPL), body_positions(back.persons[0], SMPL)
    frames = min(len(made), len(read))
    error = np.linalg.norm(made[:frames] - read[:frames], axis=-1)  # (T, B) metres
    hands = [SMPL.index(n) for n in SMPL.hand_body_names("L") + SMPL.hand_body_names("R")]
    assert np.delete(error, hands, axis=1).max() < 0.015  # the format keeps all but the wrists' own turn
    assert 0.01 < error[:, hands].mean() < 0.06
    made_rot, read_rot = global_rotations(walk_clip.persons[0], SMPL), global_rotations(back.persons[0], SMPL)
    for ankle in ("L_Ankle", "R_Ankle"):  # hinge knees, yet the feet keep their own rotation
        b = SMPL.index(ankle)
        turn = wxyz_to_rotations(made_rot[:frames, b]).inv() * wxyz_to_rotations(read_rot[:frames, b])
        assert np.degrees(turn.magnitude()).max() < 1.0


def test_written_knees_and_elbows_are_one_angle_and_wrists_and_toes_are_not_written(tmp_path, walk_clip):
    frames = deepmimic.humanoid3d_frames(walk_clip.persons[0], SMPL, walk_clip.fps)
    assert frames.shape == (walk_clip.num_frames, deepmimic.FRAME_WIDTH)
    np.testing.assert_allclose(frames[:, 0], 1 / walk_clip.fps)
    knee = 8 + 4 + 4 + 4  # after the root rotation, chest, neck and right hip
    assert frames[:, knee].min() < -0.5 and frames[:, knee].max() <= 0.05  # bent back, as the reader's tests read
