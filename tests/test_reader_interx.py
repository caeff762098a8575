"""Inter-X reader on synthetic clips in the dataset's on-disk layout: standing people, roles,
filters, frame rate, facing directions, joint mapping and bad files."""

import pickle
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from motion_lib.errors import UserInputError
from motion_lib.formats import interx
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions, lowest_point, smpl_pose_from_person
from motion_lib.skeleton import get_skeleton

SMPL = get_skeleton("smpl")
FRAMES = 40  # at 120 fps -> 10 frames at 30 fps
FACE_X = (0.0, np.pi / 2, 0.0)  # yaw +90 deg about SMPL's y (up): the body's +z (front) turns to +x
FACE_MINUS_X = (0.0, -np.pi / 2, 0.0)


def person_arrays(root_orient=(0.0, 0.0, 0.0), x=0.0, frames=FRAMES, seed=0):
    """One standing person in Inter-X's y-up npz layout, with small random finger poses."""
    rng = np.random.default_rng(seed)
    return {
        "root_orient": np.tile(root_orient, (frames, 1)),
        "pose_body": np.zeros((frames, 21, 3)),
        "pose_lhand": rng.uniform(-0.3, 0.3, (frames, 15, 3)),
        "pose_rhand": rng.uniform(-0.3, 0.3, (frames, 15, 3)),
        "trans": np.tile([x, 1.15, 0.0], (frames, 1)),
        "betas": rng.normal(size=(1, 10)),
        "gender": np.array("neutral"),
    }


def write_clip(motions: Path, clip_id: str, p1=None, p2=None) -> Path:
    folder = motions / clip_id
    folder.mkdir(parents=True)
    np.savez(folder / "P1.npz", **(p1 or person_arrays(FACE_X, x=0.0, seed=1)))
    np.savez(folder / "P2.npz", **(p2 or person_arrays(FACE_MINUS_X, x=1.0, seed=2)))
    return folder


@pytest.fixture
def dataset(tmp_path):
    """Three clips (two of action 35), a val split holding one of them, no order file."""
    motions = tmp_path / "interx" / "motions"
    for clip_id in ("G001T000A035R000", "G001T000A035R001", "G002T003A019R000"):
        write_clip(motions, clip_id)
    (motions.parent / "splits").mkdir()
    (motions.parent / "splits" / "val.txt").write_text("G001T000A035R001\nG002T003A019R000\nG059T000A000R002\n")
    return motions.parent


def options(**kwargs):
    return ReadOptions(**{"skeleton": SMPL, **kwargs})


def load(root, clip_id, **kwargs):
    items = {item.name: item for item in interx.source_items(root, options(**kwargs))}
    return items[clip_id].load()


def facing(positions, skeleton):
    """(T, 3) unit forward direction from the hips: left (L_Hip - R_Hip) x up."""
    left = positions[:, skeleton.index("L_Hip")] - positions[:, skeleton.index("R_Hip")]
    forward = np.cross(left, [0.0, 0.0, 1.0])
    return forward / np.linalg.norm(forward, axis=-1, keepdims=True)


def test_standing_pair_comes_out_upright_on_the_floor_at_30_fps(dataset):
    clip = load(dataset, "G001T000A035R000")
    assert clip.fps == 30.0 and clip.num_frames == 10 and clip.skeleton == "smpl"
    pos = [body_positions(p, SMPL) for p in clip.persons]
    pelvis, head = SMPL.index("Pelvis"), SMPL.index("Head")
    for p in pos:
        assert np.all((p[:, pelvis, 2] > 0.8) & (p[:, pelvis, 2] < 1.0))
        assert np.all(p[:, head, 2] - p[:, pelvis, 2] > 0.4)
    lowest = min(lowest_point(p[:10], SMPL).min() for p in pos)
    assert abs(lowest) < 1e-6
    gap = pos[1][:, pelvis, :2] - pos[0][:, pelvis, :2]
    np.testing.assert_allclose(np.linalg.norm(gap, axis=-1), 1.0, atol=1e-9)
    np.testing.assert_allclose(facing(pos[0], SMPL), np.tile([1.0, 0.0, 0.0], (10, 1)), atol=0.05)
    np.testing.assert_allclose(facing(pos[1], SMPL), np.tile([-1.0, 0.0, 0.0], (10, 1)), atol=0.05)
    assert clip.source["format"] == "interx" and clip.source["action"] == 35
    assert clip.source["roles"] == {"supporter": "P1", "recipient": "P2"}
    assert clip.source["source_fps"] == 120.0 and clip.source["frames_trimmed"] == 0
    assert clip.source["gender"] == {"P1": "neutral", "P2": "neutral"} and len(clip.source["betas"]["P2"]) == 10


def test_zero_root_orient_faces_minus_y_and_yaw_turns_it(tmp_path):
    motions = tmp_path / "motions"
    write_clip(motions, "G001T000A000R000", person_arrays((0.0, 0.0, 0.0)), person_arrays((0.0, np.pi / 2, 0.0), x=1.0))
    clip = load(motions, "G001T000A000R000")  # the motions folder given directly
    rest, turned = (facing(body_positions(p, SMPL), SMPL) for p in clip.persons)
    np.testing.assert_allclose(rest, np.tile([0.0, -1.0, 0.0], (10, 1)), atol=0.05)  # SMPL front +z -> -y
    np.testing.assert_allclose(turned, np.tile([1.0, 0.0, 0.0], (10, 1)), atol=0.05)  # +90 deg yaw: -y -> +x


def test_joints_land_in_the_smplx_skeleton(dataset):
    rng = np.random.default_rng(5)
    p1 = person_arrays(FACE_X, seed=3)
    p1["pose_body"] = rng.uniform(-0.4, 0.4, (FRAMES, 21, 3))
    write_clip(dataset / "motions", "G003T000A035R000", p1=p1)
    skeleton = get_skeleton("smplx")
    clip = load(dataset, "G003T000A035R000", skeleton=skeleton)
    assert clip.skeleton == "smplx" and clip.persons[0].joint_rot.shape == (10, 51, 4)
    pose_aa, _ = smpl_pose_from_person(clip.persons[0], skeleton, "smplx")
    np.testing.assert_allclose(pose_aa[:, 1:22], p1["pose_body"][::4], atol=1e-9)
    np.testing.assert_allclose(pose_aa[:, 25:40], p1["pose_lhand"][::4], atol=1e-9)
    np.testing.assert_allclose(pose_aa[:, 40:55], p1["pose_rhand"][::4], atol=1e-9)
    np.testing.assert_allclose(pose_aa[:, 22:25], 0.0)


def test_action_and_split_filters(dataset):
    def names(**kwargs):
        return [item.name for item in interx.source_items(dataset, options(**kwargs))]

    assert names() == ["G001T000A035R000", "G001T000A035R001", "G002T003A019R000"]
    assert names(actions=(35,)) == ["G001T000A035R000", "G001T000A035R001"]
    assert names(split="val") == ["G001T000A035R001", "G002T003A019R000"]
    assert names(split="val", actions=(35,)) == ["G001T000A035R001"]
    with pytest.raises(UserInputError, match="test.txt"):
        names(split="test")
    with pytest.raises(UserInputError, match="no clip folder left"):
        names(actions=(7,))


def test_interaction_order_and_supporter_option_set_the_roles(dataset):
    def supporter_ahead(clip):  # P1 stands at x = 0, P2 at x = 1
        return clip.persons[0].root_pos[0, 0] - clip.persons[1].root_pos[0, 0]

    assert supporter_ahead(load(dataset, "G001T000A035R000")) == pytest.approx(-1.0)
    swapped = load(dataset, "G001T000A035R000", supporter=1)
    assert supporter_ahead(swapped) == pytest.approx(1.0)
    assert swapped.source["roles"] == {"supporter": "P2", "recipient": "P1"}
    (dataset / "annots").mkdir()
    with open(dataset / "annots" / "interaction_order.pkl", "wb") as handle:
        pickle.dump({"G001T000A035R000": 1, "G001T000A035R001": 0}, handle)
    from_file = load(dataset, "G001T000A035R000")
    assert supporter_ahead(from_file) == pytest.approx(1.0) and from_file.source["roles"]["supporter"] == "P2"
    assert from_file.source["role_from"].endswith("interaction_order.pkl")
    assert load(dataset, "G001T000A035R001", supporter=1).source["roles"]["supporter"] == "P1"  # file wins
    assert load(dataset, "G002T003A019R000", supporter=1).source["roles"]["supporter"] == "P2"  # not in file


def test_broken_order_file_is_a_clear_error(dataset):
    (dataset / "annots").mkdir()
    data = pickle.dumps({"G001T000A035R000": 1})
    (dataset / "annots" / "interaction_order.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match="interaction_order.pkl"):
        interx.source_items(dataset, options())
    (dataset / "annots" / "interaction_order.pkl").write_bytes(pickle.dumps({"G001T000A035R000": 2}))
    with pytest.raises(UserInputError, match="must be 0 or 1"):
        load(dataset, "G001T000A035R000")


def test_truncated_file_fails_only_its_own_item(dataset):
    p2 = dataset / "motions" / "G001T000A035R001" / "P2.npz"
    data = p2.read_bytes()
    p2.write_bytes(data[: len(data) // 2])
    items = interx.source_items(dataset, options())
    assert len(items) == 3
    for item in items:
        if item.name == "G001T000A035R001":
            with pytest.raises(UserInputError, match=re.escape(str(p2))):
                item.load()
        else:
            assert item.load().num_frames == 10


def test_missing_person_file_names_it(dataset):
    p2 = dataset / "motions" / "G001T000A035R001" / "P2.npz"
    p2.unlink()
    with pytest.raises(UserInputError, match=re.escape(str(p2))):
        load(dataset, "G001T000A035R001")


@pytest.mark.parametrize("damage, message", [
    (lambda a: a.pop("pose_body"), "missing key"),
    (lambda a: a.update(pose_body=np.zeros((FRAMES, 20, 3))), "pose_body has shape"),
    (lambda a: a["pose_lhand"].__setitem__((7, 3, 1), np.nan), r"NaN/inf at frame\(s\) \[7\]"),
    (lambda a: a.update(trans=np.zeros((FRAMES - 2, 3))), "frame count"),
])
def test_bad_person_file_names_the_file(tmp_path, damage, message):
    p2 = person_arrays(x=1.0)
    damage(p2)
    folder = write_clip(tmp_path / "motions", "G001T000A035R000", p2=p2)
    with pytest.raises(UserInputError, match=message) as err:
        load(tmp_path, "G001T000A035R000")
    assert str(folder / "P2.npz") in str(err.value)


def test_frame_counts_one_apart_are_trimmed_more_is_an_error(tmp_path):
    motions = tmp_path / "motions"
    write_clip(motions, "G001T000A035R000", p2=person_arrays(x=1.0, frames=FRAMES + 1))
    write_clip(motions, "G001T000A035R001", p2=person_arrays(x=1.0, frames=FRAMES + 5))
    clip = load(tmp_path, "G001T000A035R000")
    assert clip.num_frames == 10 and clip.source["frames_trimmed"] == 1
    with pytest.raises(UserInputError, match="G001T000A035R001: P1 has 40 frames but P2 has 45"):
        load(tmp_path, "G001T000A035R001")


def test_source_fps_option_overrides_120_and_fps_none_keeps_it(dataset):
    clip = load(dataset, "G001T000A035R000", source_fps=60.0)
    assert clip.num_frames == 20 and clip.source["source_fps"] == 60.0
    clip = load(dataset, "G001T000A035R000", fps=None)
    assert clip.fps == 120.0 and clip.num_frames == FRAMES


def test_bad_input_paths(tmp_path, dataset):
    with pytest.raises(UserInputError, match="does not exist"):
        interx.source_items(tmp_path / "nowhere", options())
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserInputError, match="no Inter-X clip folders"):
        interx.source_items(tmp_path / "empty", options())
    with pytest.raises(UserInputError, match="must be a folder"):
        interx.source_items(dataset / "splits" / "val.txt", options())
    with pytest.raises(UserInputError, match="supporter"):
        interx.source_items(dataset, replace(options(), supporter=2))
