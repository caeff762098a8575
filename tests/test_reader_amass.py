"""AMASS-style reader on synthetic SMPL / SMPL+H / SMPL-X npz files: a standing person, joint
mapping, frame rates, folder search and bad files."""

import re

import numpy as np
import pytest

from motion_lib.errors import UserInputError
from motion_lib.formats import amass
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions, lowest_point, smpl_pose_from_person
from motion_lib.skeleton import get_skeleton

SMPL, SMPLX = get_skeleton("smpl"), get_skeleton("smplx")
FRAMES = 40  # at 60 fps -> 20 frames at 30 fps
STAND_UP = (np.pi / 2, 0.0, 0.0)  # +90 deg about x: SMPL's y-up body stands in the z-up world, facing -y


def amass_arrays(width=156, frames=FRAMES, fps=60.0, seed=0, framerate_key="mocap_framerate"):
    """A standing person with small random joint rotations (root kept upright), AMASS layout."""
    rng = np.random.default_rng(seed)
    poses = rng.uniform(-0.2, 0.2, (frames, width))
    poses[:, :3] = STAND_UP
    return {
        "poses": poses,
        "trans": np.tile([0.3, -0.2, 1.2], (frames, 1)) + np.linspace(0, 1, frames)[:, None] * [0.5, 0.0, 0.0],
        "betas": rng.normal(size=16),
        "gender": np.array("female"),
        framerate_key: np.array(fps),
    }


def write(path, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = amass_arrays(**kwargs)
    np.savez(path, **arrays)
    return arrays


def options(**kwargs):
    return ReadOptions(**{"skeleton": SMPL, **kwargs})


def load_one(path, **kwargs):
    (item,) = amass.source_items(path, options(**kwargs))
    return item.load()


@pytest.mark.parametrize("width, skeleton", [(156, SMPL), (72, SMPL), (156, SMPLX), (165, SMPLX)])
def test_standing_person_upright_on_the_floor_at_30_fps(tmp_path, width, skeleton):
    write(tmp_path / "walk.npz", width=width)
    clip = load_one(tmp_path / "walk.npz", skeleton=skeleton)
    assert clip.fps == 30.0 and clip.num_frames == 20 and len(clip.persons) == 1
    assert clip.name == "walk" and clip.skeleton == skeleton.name
    assert clip.source["model"] == {156: "smplh", 72: "smpl", 165: "smplx"}[width]
    assert clip.source["gender"] == "female" and len(clip.source["betas"]) == 16 and clip.source["source_fps"] == 60
    pos = body_positions(clip.persons[0], skeleton)
    pelvis, head = skeleton.index("Pelvis"), skeleton.index("Head")
    assert np.all((pos[:, pelvis, 2] > 0.8) & (pos[:, pelvis, 2] < 1.0))
    assert np.all(pos[:, head, 2] - pos[:, pelvis, 2] > 0.4)
    assert abs(lowest_point(pos[:10], skeleton).min()) < 1e-6
    left = pos[:, skeleton.index("L_Hip")] - pos[:, skeleton.index("R_Hip")]
    forward = np.cross(left, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(forward / np.linalg.norm(forward, axis=1, keepdims=True),
                               np.tile([0.0, -1.0, 0.0], (20, 1)), atol=0.15)  # root upright; legs vary a little


def test_smplh_joints_map_to_the_smplx_layout(tmp_path):
    arrays = write(tmp_path / "a.npz", width=156)
    clip = load_one(tmp_path / "a.npz", skeleton=SMPLX)
    pose_aa, trans = smpl_pose_from_person(clip.persons[0], SMPLX, "smplx")
    joints = arrays["poses"][::2].reshape(20, 52, 3)
    np.testing.assert_allclose(pose_aa[:, :22], joints[:, :22], atol=1e-9)  # root, body
    np.testing.assert_allclose(pose_aa[:, 25:40], joints[:, 22:37], atol=1e-9)  # left hand
    np.testing.assert_allclose(pose_aa[:, 40:55], joints[:, 37:52], atol=1e-9)  # right hand
    np.testing.assert_allclose(trans[:, :2], arrays["trans"][::2, :2], atol=1e-9)  # the floor fix moves z only


def test_smpl_joints_keep_their_layout(tmp_path):
    arrays = write(tmp_path / "a.npz", width=72)
    clip = load_one(tmp_path / "a.npz")
    pose_aa, trans = smpl_pose_from_person(clip.persons[0], SMPL, "smpl")
    np.testing.assert_allclose(pose_aa, arrays["poses"][::2].reshape(20, 24, 3), atol=1e-9)
    lift = trans[:, 2] - arrays["trans"][::2, 2]
    np.testing.assert_allclose(lift, lift[0], atol=1e-9)  # one floor shift for the whole clip


def test_frame_rate_from_file_key_or_option(tmp_path):
    write(tmp_path / "x.npz", fps=120.0, framerate_key="mocap_frame_rate")
    assert load_one(tmp_path / "x.npz").num_frames == 10
    assert load_one(tmp_path / "x.npz", source_fps=30.0).num_frames == 40
    assert load_one(tmp_path / "x.npz", fps=None).fps == 120.0


def test_folder_search_names_clips_by_relative_path_and_skips_shape_files(tmp_path):
    write(tmp_path / "CMU" / "01" / "01_01_poses.npz")
    write(tmp_path / "CMU" / "02" / "02_03_poses.npz", width=72)
    np.savez(tmp_path / "CMU" / "01" / "shape.npz", betas=np.zeros(16), gender=np.array("male"))
    (tmp_path / "CMU" / "notes.txt").write_text("not motion")
    items = amass.source_items(tmp_path, options())
    assert [item.name for item in items] == ["CMU__01__01_01_poses", "CMU__02__02_03_poses"]
    assert [item.load().num_frames for item in items] == [20, 20]
    assert items[1].load().source["file"] == str(tmp_path / "CMU" / "02" / "02_03_poses.npz")


def test_bad_input_paths(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        amass.source_items(tmp_path / "nowhere", options())
    (tmp_path / "only").mkdir()
    np.savez(tmp_path / "only" / "shape.npz", betas=np.zeros(16))
    with pytest.raises(UserInputError, match="no motion .npz files"):
        amass.source_items(tmp_path / "only", options())
    (tmp_path / "clip.txt").write_text("x")
    with pytest.raises(UserInputError, match="must be an .npz file"):
        amass.source_items(tmp_path / "clip.txt", options())


def test_truncated_file_fails_only_its_own_item(tmp_path):
    write(tmp_path / "good.npz")
    bad = tmp_path / "bad.npz"
    write(bad)
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    items = {item.name: item for item in amass.source_items(tmp_path, options())}
    with pytest.raises(UserInputError, match=re.escape(str(bad))):
        items["bad"].load()
    assert items["good"].load().num_frames == 20


@pytest.mark.parametrize("damage, message", [
    (lambda a: a.pop("trans"), "missing key"),
    (lambda a: a.pop("mocap_framerate"), "mocap_framerate"),
    (lambda a: a.update(mocap_framerate=np.array(0.0)), "mocap_framerate must be between 1 and 1000"),
    (lambda a: a.update(poses=np.zeros((FRAMES, 70))), r"poses has shape \(40, 70\)"),
    (lambda a: a.update(trans=np.zeros((FRAMES - 1, 3))), "trans has shape"),
    (lambda a: a["poses"].__setitem__((9, 40), np.nan), r"NaN/inf at frame\(s\) \[9\]"),
    (lambda a: a.update(gender=np.array([1.0, 2.0])), "gender must be one string"),
])
def test_bad_file_names_the_file(tmp_path, damage, message):
    arrays = amass_arrays()
    damage(arrays)
    path = tmp_path / "bad_clip.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserInputError, match=message) as err:
        load_one(path)
    assert str(path) in str(err.value)
