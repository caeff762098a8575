"""PHC/AssistMimic pickles: write -> read round trip, both reading paths, pairing, bad files."""

import joblib
import numpy as np
import pytest

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions
from motion_lib.formats.phc import read_clips, source_items, write_clips
from motion_lib.skeleton import get_skeleton
from tests.test_motion_library import SK, person, two_person_clip


def max_body_error(a: Clip, b: Clip) -> float:
    return max(np.abs(body_positions(p, SK) - body_positions(q, SK)).max() for p, q in zip(a.persons, b.persons))


@pytest.fixture
def pickle_path(tmp_path):
    clips = [two_person_clip("help_up", frames=20), Clip("stand", 30.0, "smpl", [person(15, seed=3)], {"scene": "open"})]
    path = tmp_path / "clips.pkl"
    write_clips(path, clips)
    return path, clips


def test_write_read_round_trip(pickle_path):
    path, clips = pickle_path
    data = joblib.load(path)
    assert set(data) == {"help_up_caregiver", "help_up_recipient", "stand"}
    entry = data["help_up_caregiver"]
    assert entry["pose_aa"].shape == (20, 72) and entry["pose_quat_global"].shape == (20, 24, 4)
    assert entry["root_trans_offset"].shape == (20, 3) and entry["fps"] == 30.0
    back = read_clips(path)
    assert [c.name for c in back] == ["help_up", "stand"]
    assert [len(c.persons) for c in back] == [2, 1]
    for original, read in zip(clips, back):
        assert read.num_frames == original.num_frames and read.fps == 30.0
        assert max_body_error(original, read) < 1e-5  # float32 storage
    assert back[1].source["scene"] == "open"


def test_pose_aa_path_agrees_with_global_quaternions(pickle_path, tmp_path):
    path, clips = pickle_path
    data = joblib.load(path)
    for entry in data.values():
        del entry["pose_quat_global"]
    joblib.dump(data, tmp_path / "aa_only.pkl")
    assert max_body_error(clips[0], read_clips(tmp_path / "aa_only.pkl")[0]) < 1e-5


def test_upright_start_global_rotation_of_a_standing_person_is_identity(tmp_path):
    standing = person(5, speed=(0, 0, 0))
    standing.joint_rot[:] = [1, 0, 0, 0]
    write_clips(tmp_path / "s.pkl", [Clip("s", 30.0, "smpl", [standing])])
    quat = joblib.load(tmp_path / "s.pkl")["s"]["pose_quat_global"]  # x, y, z, w
    np.testing.assert_allclose(np.abs(quat[..., 3]), 1.0, atol=1e-6)


def test_smplx_clips_round_trip_with_156_values(tmp_path):
    skeleton = get_skeleton("smplx")
    rng = np.random.default_rng(0)
    joint_rot = rng.normal(size=(6, skeleton.num_joints, 4))
    joint_rot /= np.linalg.norm(joint_rot, axis=-1, keepdims=True)
    clip = Clip("x", 30.0, "smplx", [person(6)])
    clip.persons[0].joint_rot = joint_rot
    write_clips(tmp_path / "x.pkl", [clip])
    entry = joblib.load(tmp_path / "x.pkl")["x"]
    assert entry["pose_aa"].shape == (6, 156) and entry["pose_quat_global"].shape == (6, 52, 4)
    del entry["pose_quat_global"]
    joblib.dump({"x": entry}, tmp_path / "aa.pkl")
    back = read_clips(tmp_path / "aa.pkl", "smplx")[0]
    error = np.abs(body_positions(back.persons[0], skeleton) - body_positions(clip.persons[0], skeleton)).max()
    assert error < 1e-5


def test_resampled_on_read_and_fps_kept_when_asked(pickle_path):
    path, _ = pickle_path
    assert read_clips(path, fps=15.0)[0].num_frames == 10
    assert read_clips(path, fps=None)[0].fps == 30.0


def test_unpaired_key_and_broken_entry_are_skipped_with_reasons(pickle_path, tmp_path):
    path, _ = pickle_path
    data = joblib.load(path)
    data["lonely_caregiver"] = data["help_up_caregiver"]
    data["stand"]["root_trans_offset"][3] = np.nan
    joblib.dump(data, tmp_path / "mixed.pkl")
    items = {i.name: i for i in source_items(tmp_path / "mixed.pkl", ReadOptions(get_skeleton("smpl")))}
    assert items["help_up"].load().num_frames == 20
    with pytest.raises(UserInputError, match="mixed.pkl.*no matching 'lonely_recipient'"):
        items["lonely_caregiver"].load()
    with pytest.raises(UserInputError, match=r"mixed.pkl \['stand'\]: root_trans_offset has NaN/inf at frame\(s\) \[3\]"):
        items["stand"].load()


@pytest.mark.parametrize("mutate, message", [
    (lambda e: [e.pop("root_trans_offset"), e.pop("trans_orig")], "needs pose_quat_global"),
    (lambda e: e.update(pose_quat_global=e["pose_quat_global"][:, :20]), "20 bodies"),
    (lambda e: e.update(pose_quat_global=e["pose_quat_global"] * 3), "non-unit"),
    (lambda e: e.update(root_trans_offset=e["root_trans_offset"][:5]), r"root_trans_offset has shape \(5, 3\)"),
    (lambda e: e.update(fps=np.array([30.0, 30.0])), "fps must be one number"),
])
def test_bad_entries_name_the_file_and_key(pickle_path, tmp_path, mutate, message):
    path, _ = pickle_path
    data = joblib.load(path)
    mutate(data["stand"])
    joblib.dump(data, tmp_path / "bad.pkl")
    with pytest.raises(UserInputError, match=rf"bad.pkl \['stand'\].*{message}"):
        read_clips(tmp_path / "bad.pkl")


def test_truncated_or_foreign_files_end_in_one_sentence(pickle_path, tmp_path):
    path, _ = pickle_path
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(UserInputError, match="truncated.pkl: not a readable PHC motion pickle"):
        read_clips(truncated)
    joblib.dump([1, 2, 3], tmp_path / "list.pkl")
    with pytest.raises(UserInputError, match="list.pkl: expected a non-empty dict"):
        read_clips(tmp_path / "list.pkl")
    with pytest.raises(UserInputError, match="does not exist"):
        read_clips(tmp_path / "missing.pkl")


def test_duplicate_clip_names_are_refused(tmp_path):
    with pytest.raises(UserInputError, match="clip names must be unique"):
        write_clips(tmp_path / "d.pkl", [two_person_clip("a"), two_person_clip("a")])
    assert not (tmp_path / "d.pkl").exists()
