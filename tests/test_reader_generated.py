"""Readers of generated clips on synthetic files in their on-disk layouts: InterGen (positions,
fitted by IK), InterMask (6D SMPL-X rotations) and keypoints; plus their bad inputs."""

import re

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_lib.errors import UserInputError
from motion_lib.formats import intergen, intermask, keypoints
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import Y_UP_TO_Z_UP, body_positions, floor_fix, lowest_point, person_from_smpl_pose
from motion_lib.skeleton import SMPL_JOINT_NAMES, get_skeleton
from tests.test_ik import smooth_person

SMPL, SMPLX = get_skeleton("smpl"), get_skeleton("smplx")
FRAMES = 24
SMPL22 = list(SMPL_JOINT_NAMES[:22])


def pair(frames=FRAMES):
    """Two people facing each other 1.2 m apart, moving their joints, each standing on z = 0."""
    a = smooth_person(SMPL, frames, seed=10, amplitude=0.3, root_pos=(0.0, 0.0, 0.95), yaw=0.0, tilt=0.1)
    b = smooth_person(SMPL, frames, seed=11, amplitude=0.3, root_pos=(1.2, 0.0, 0.95), yaw=np.pi, tilt=0.1)
    return [floor_fix([p], SMPL)[0] for p in (a, b)]


def smpl_order_positions(person, count=22):
    """(T, count, 3) z-up positions of the first `count` SMPL joints, in SMPL joint order."""
    return body_positions(person, SMPL)[:, SMPL.indices(SMPL_JOINT_NAMES[:count])]


def options(**kwargs):
    return ReadOptions(**{"skeleton": SMPL, **kwargs})


def load_one(reader, path, **kwargs):
    (item,) = reader.source_items(path, options(**kwargs))
    return item.load()


def assert_error_names_file(reader, path, match, **kwargs):
    with pytest.raises(UserInputError, match=re.escape(str(path))) as err:
        load_one(reader, path, **kwargs)
    assert re.search(match, str(err.value)), str(err.value)


# --- InterGen --------------------------------------------------------------------------------------

def intergen_motion(persons):
    """(T, 2, 262): InterGen's output layout, y-up; rotations and contacts are junk the reader must ignore."""
    rng = np.random.default_rng(0)
    motion = rng.normal(size=(FRAMES, 2, 262))
    for p, person in enumerate(persons):
        pos_yup = Y_UP_TO_Z_UP.inv().apply(smpl_order_positions(person).reshape(-1, 3)).reshape(FRAMES, 22, 3)
        motion[:, p, :66] = pos_yup.reshape(FRAMES, 66)
        motion[:, p, 66:132] = np.gradient(pos_yup, axis=0).reshape(FRAMES, 66)
    return motion.astype(np.float32)


def test_intergen_clip_is_two_people_standing_where_the_file_says(tmp_path):
    persons = pair()
    np.save(tmp_path / "sample.npy", intergen_motion(persons))
    clip = load_one(intergen, tmp_path / "sample.npy")
    assert clip.name == "sample" and clip.fps == 30.0 and clip.num_frames == FRAMES and len(clip.persons) == 2
    assert clip.source["format"] == "intergen" and clip.source["ik_fit_error_max"] < 0.02
    truth = [body_positions(p, SMPL) for p in persons]
    got = [body_positions(p, SMPL) for p in clip.persons]
    pelvis, head = SMPL.index("Pelvis"), SMPL.index("Head")
    for pos, true in zip(got, truth):
        assert np.all(pos[:, head, 2] - pos[:, pelvis, 2] > 0.4)
        assert abs(lowest_point(pos[:10], SMPL).min()) < 0.02  # each person's feet on the floor
        joints = SMPL.indices(SMPL22)
        assert np.linalg.norm(pos[:, joints] - true[:, joints], axis=-1).mean() < 0.01
    distance = np.linalg.norm(got[0][:, pelvis] - got[1][:, pelvis], axis=-1)
    true_distance = np.linalg.norm(truth[0][:, pelvis] - truth[1][:, pelvis], axis=-1)
    np.testing.assert_allclose(distance, true_distance, atol=0.02)


def test_intergen_person_first_layout_and_supporter_swap(tmp_path):
    persons = pair()
    np.save(tmp_path / "a.npy", intergen_motion(persons).transpose(1, 0, 2))  # (2, T, 262)
    clip = load_one(intergen, tmp_path / "a.npy", supporter=1)
    pelvis = SMPL.index("Pelvis")
    # person 0 of the clip is the file's second person, standing at x = 1.2
    assert abs(clip.persons[0].root_pos[0, 0] - 1.2) < 0.02 and abs(clip.persons[1].root_pos[0, 0]) < 0.02
    assert clip.source["supporter_in_file"] == 1
    assert np.all(body_positions(clip.persons[0], SMPL)[:, pelvis, 2] > 0.8)


def test_intergen_folder_lists_every_clip_without_loading(tmp_path):
    (tmp_path / "run" / "b").mkdir(parents=True)
    np.save(tmp_path / "run" / "a.npy", np.zeros((3, 2, 262)))
    np.save(tmp_path / "run" / "b" / "c.npy", np.zeros((3, 2, 262)))
    (tmp_path / "run" / "notes.txt").write_text("not a clip")
    items = intergen.source_items(tmp_path / "run", options())
    assert [i.name for i in items] == ["a", "b__c"]


@pytest.mark.parametrize("array, match", [
    (np.zeros((FRAMES, 2, 200)), r"shape \(24, 2, 200\)"),
    (np.zeros((FRAMES, 3, 262)), "expected"),
    (np.zeros((1, 2, 262)), "at least 2 frames"),
    (np.array(["a", "b"]), "shape"),
])
def test_intergen_bad_arrays_name_the_file(tmp_path, array, match):
    np.save(tmp_path / "bad.npy", array)
    assert_error_names_file(intergen, tmp_path / "bad.npy", match)


def test_intergen_nan_and_truncated_files_name_the_file(tmp_path):
    motion = intergen_motion(pair())
    motion[5, 1, 10] = np.nan
    np.save(tmp_path / "nan.npy", motion)
    assert_error_names_file(intergen, tmp_path / "nan.npy", r"NaN/inf at frame\(s\) \[5\]")
    np.save(tmp_path / "cut.npy", motion)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:500])
    assert_error_names_file(intergen, tmp_path / "cut.npy", "truncated")


def test_intergen_input_path_errors(tmp_path):
    with pytest.raises(UserInputError, match="does not exist"):
        intergen.source_items(tmp_path / "missing", options())
    with pytest.raises(UserInputError, match=r"holds no \.npy files"):
        intergen.source_items(tmp_path, options())
    (tmp_path / "x.npz").write_bytes(b"")
    with pytest.raises(UserInputError, match=r"must be a \.npy file"):
        intergen.source_items(tmp_path / "x.npz", options())
    with pytest.raises(UserInputError, match="supporter"):
        intergen.source_items(tmp_path, options(supporter=2))


# --- InterMask -------------------------------------------------------------------------------------

def intermask_motion(seed=0, frames=FRAMES):
    """(pose_aa (T, 2, 55, 3), trans (T, 2, 3), motion (T, 2, 56, 6)): random SMPL-X poses in Inter-X's
    y-up world (upright: the root turns about y) and their InterMask encoding."""
    rng = np.random.default_rng(seed)
    pose_aa = rng.uniform(-0.5, 0.5, (frames, 2, 55, 3))
    pose_aa[:, :, 0] = np.array([0.0, 1.0, 0.0]) * rng.uniform(-3, 3, (1, 2, 1)) + rng.uniform(-0.1, 0.1, (frames, 2, 3))
    trans = rng.uniform(-1, 1, (frames, 2, 3))
    motion = np.zeros((frames, 2, 56, 6))
    motion[:, :, :55] = Rotation.from_rotvec(pose_aa.reshape(-1, 3)).as_matrix()[:, :2, :].reshape(frames, 2, 55, 6)
    motion[:, :, 55, :3] = trans
    motion[:, :, 55, 3:] = rng.normal(size=(frames, 2, 3))  # root velocity: not used
    return pose_aa, trans, motion


def expected_positions(pose_aa, trans, person):
    return body_positions(person_from_smpl_pose(pose_aa[:, person], trans[:, person], "smplx", SMPLX, up="y"), SMPLX)


@pytest.mark.parametrize("layout", ["T2", "2T", "infer_flat", "npz_motion", "npz_single"])
def test_intermask_decodes_6d_rotations_exactly(tmp_path, layout):
    pose_aa, trans, motion = intermask_motion()
    if layout == "T2":
        path = tmp_path / "clip.npy"
        np.save(path, motion.astype(np.float32))
    elif layout == "2T":
        path = tmp_path / "clip.npy"
        np.save(path, motion.transpose(1, 0, 2, 3))
    elif layout == "infer_flat":  # InterMask's infer.py: (T, 56, 2 x 6) flattened
        path = tmp_path / "clip.npy"
        np.save(path, motion.transpose(0, 2, 1, 3).reshape(FRAMES, 672))
    elif layout == "npz_motion":
        path = tmp_path / "clip.npz"
        np.savez(path, motion=motion, text=np.array("two people hug"))
    else:
        path = tmp_path / "clip.npz"
        np.savez(path, motion)
    clip = load_one(intermask, path, skeleton=SMPLX, fix_floor=False)
    assert clip.name == "clip" and clip.fps == 30.0 and clip.num_frames == FRAMES and clip.skeleton == "smplx"
    atol = 1e-4 if layout == "T2" else 1e-5  # float32 file
    for p in range(2):
        np.testing.assert_allclose(body_positions(clip.persons[p], SMPLX), expected_positions(pose_aa, trans, p), atol=atol)


def test_intermask_column_convention_would_differ():
    """The check above can fail: reading the 6D as matrix columns gives other body positions."""
    pose_aa, trans, _ = intermask_motion()
    transposed = Rotation.from_rotvec(pose_aa.reshape(-1, 3)).inv().as_rotvec().reshape(pose_aa.shape)
    assert np.abs(expected_positions(transposed, trans, 0) - expected_positions(pose_aa, trans, 0)).max() > 0.05


def test_intermask_supporter_swap_and_floor(tmp_path):
    pose_aa, trans, motion = intermask_motion(seed=1)
    np.save(tmp_path / "c.npy", motion)
    clip = load_one(intermask, tmp_path / "c.npy", skeleton=SMPLX, supporter=1)
    lift = clip.persons[0].root_pos[:, 2] - expected_positions(pose_aa, trans, 1)[:, 0, 2]
    np.testing.assert_allclose(clip.persons[0].root_pos[:, :2], expected_positions(pose_aa, trans, 1)[:, 0, :2], atol=1e-6)
    np.testing.assert_allclose(lift, lift[0], atol=1e-6)  # one floor shift for the whole clip
    lowest = min(lowest_point(body_positions(p, SMPLX)[:10], SMPLX).min() for p in clip.persons)
    assert abs(lowest) < 1e-6


def test_intermask_bad_inputs_name_the_file(tmp_path):
    _, _, motion = intermask_motion()
    np.save(tmp_path / "rows.npy", motion[:, :, :55])
    assert_error_names_file(intermask, tmp_path / "rows.npy", r"shape \(24, 2, 55, 6\)")
    degenerate = motion.copy()
    degenerate[3, 0, 7] = 0.0
    np.save(tmp_path / "zero.npy", degenerate)
    assert_error_names_file(intermask, tmp_path / "zero.npy", r"degenerate 6D rotations .* \[3\]")
    nan = motion.copy()
    nan[2, 1, 55, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert_error_names_file(intermask, tmp_path / "nan.npy", r"NaN/inf at frame\(s\) \[2\]")
    np.savez(tmp_path / "two.npz", a=motion, b=motion)
    assert_error_names_file(intermask, tmp_path / "two.npz", "missing key 'motion'")
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 truncated")
    assert_error_names_file(intermask, tmp_path / "cut.npz", "truncated")


# --- keypoints -------------------------------------------------------------------------------------

def test_keypoints_single_person_24_joints_z_up(tmp_path):
    person = smooth_person(SMPL, FRAMES, seed=20, amplitude=0.4)
    np.save(tmp_path / "kp.npy", smpl_order_positions(person, 24)[:, None])  # (T, 1, 24, 3)
    clip = load_one(keypoints, tmp_path / "kp.npy", fix_floor=False)
    assert clip.fps == 30.0 and clip.num_frames == FRAMES and len(clip.persons) == 1
    assert clip.source["ik_fit_error_mean"] < 0.01 and clip.source["joint_names"] == list(SMPL_JOINT_NAMES)
    error = np.linalg.norm(body_positions(clip.persons[0], SMPL) - body_positions(person, SMPL), axis=-1)
    assert error.mean() < 0.01 and error[:, SMPL.index("L_Hand")].max() < 0.02


def test_keypoints_two_people_22_joints_y_up_at_60_fps(tmp_path):
    persons = pair(frames=2 * FRAMES)
    pos = np.stack([smpl_order_positions(p) for p in persons], axis=1)  # (2T, 2, 22, 3) z-up
    pos_yup = Y_UP_TO_Z_UP.inv().apply(pos.reshape(-1, 3)).reshape(pos.shape)
    np.savez(tmp_path / "gen.npz", positions=pos_yup, fps=np.array(60.0))
    clip = load_one(keypoints, tmp_path / "gen.npz", up="y")
    assert clip.fps == 30.0 and clip.num_frames == FRAMES and len(clip.persons) == 2
    assert clip.source["source_fps"] == 60.0 and clip.source["ik_fit_error_max"] < 0.02
    pelvis, head = SMPL.index("Pelvis"), SMPL.index("Head")
    for got, true in zip(clip.persons, persons):
        got_pos, true_pos = body_positions(got, SMPL), body_positions(true, SMPL)[::2]
        assert np.all(got_pos[:, head, 2] - got_pos[:, pelvis, 2] > 0.4)
        np.testing.assert_allclose(got_pos[:, pelvis], true_pos[:, pelvis], atol=0.02)


def test_keypoints_with_joint_names_and_source_fps(tmp_path):
    person = smooth_person(SMPL, FRAMES, seed=21, amplitude=0.3)
    names = ["Head", "Pelvis", "L_Wrist", "R_Wrist", "L_Ankle", "R_Ankle", "L_Hip", "R_Hip", "Neck"]
    pos = body_positions(person, SMPL)[:, SMPL.indices(names)]
    np.savez(tmp_path / "named.npz", positions=pos[:, None], joint_names=np.array(names))
    clip = load_one(keypoints, tmp_path / "named.npz", source_fps=15.0, fps=None, fix_floor=False)
    assert clip.fps == 15.0 and clip.source["joint_names"] == names and clip.source["ik_fit_error_mean"] < 0.01


def test_keypoints_smpl_hands_are_dropped_for_smplx(tmp_path):
    person = smooth_person(SMPL, 10, seed=22, amplitude=0.2)
    np.save(tmp_path / "kp.npy", smpl_order_positions(person, 24)[:, None])
    clip = load_one(keypoints, tmp_path / "kp.npy", skeleton=SMPLX)
    assert clip.skeleton == "smplx" and clip.source["joint_names"] == SMPL22


@pytest.mark.parametrize("file_name, arrays, match", [
    ("persons.npy", np.zeros((FRAMES, 3, 22, 3)), "P = 1 or 2"),
    ("axes.npy", np.zeros((FRAMES, 22, 3)), r"shape \(24, 22, 3\)"),
    ("count.npy", np.zeros((FRAMES, 1, 23, 3)), "23 keypoints"),
    ("nokey.npz", {"joints": np.zeros((FRAMES, 1, 22, 3))}, "missing key"),
    ("unknown.npz", {"positions": np.zeros((FRAMES, 1, 2, 3)), "joint_names": np.array(["Pelvis", "Nose"])},
     r"\['Nose'\] are not bodies"),
    ("mismatch.npz", {"positions": np.zeros((FRAMES, 1, 22, 3)), "joint_names": np.array(["Pelvis", "Head"])},
     "2 names but positions has 22"),
    ("fps.npz", {"positions": np.zeros((FRAMES, 1, 22, 3)), "fps": np.array(-1.0)}, "fps must be"),
])
def test_keypoints_bad_files_name_the_file(tmp_path, file_name, arrays, match):
    path = tmp_path / file_name
    if isinstance(arrays, dict):
        np.savez(path, **arrays)
    else:
        np.save(path, arrays)
    assert_error_names_file(keypoints, path, match)


def test_keypoints_nan_and_truncated_name_the_file(tmp_path):
    pos = np.zeros((FRAMES, 1, 22, 3))
    pos[7, 0, 3, 1] = np.inf
    np.save(tmp_path / "nan.npy", pos)
    assert_error_names_file(keypoints, tmp_path / "nan.npy", r"NaN/inf at frame\(s\) \[7\]")
    np.save(tmp_path / "cut.npy", pos)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:200])
    assert_error_names_file(keypoints, tmp_path / "cut.npy", "truncated")
    with pytest.raises(UserInputError, match="up must be one of"):
        keypoints.source_items(tmp_path / "nan.npy", options(up="x"))
