"""Hands and toes a capture does not articulate (`motion_lib.extremities`), posed on the floor: capture of getting
up from lying face down in DeepMimic's format (fixed wrists, no toes), written from a generated clip and read back."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_lib.capsules import lowest_capsule_bottom
from motion_lib.extremities import hinge_angle
from motion_lib.families.get_up import prone_get_up
from motion_lib.families.locomotion import walk
from motion_lib.formats import bvh_clips, deepmimic, keypoints
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions, global_rotations, wxyz_to_rotations
from motion_lib.skeleton import get_skeleton
from tests.test_reader_bvh import write_bvh

SMPL = get_skeleton("smpl")


@pytest.fixture(scope="module")
def prone():
    return prone_get_up(np.random.default_rng(61))


def read_back(tmp_path, clip):
    deepmimic.write_motion(tmp_path / "prone.txt", clip, SMPL)
    (item,) = deepmimic.source_items(tmp_path / "prone.txt", ReadOptions(skeleton=SMPL))
    return item.load()


def test_the_hands_of_a_capture_with_fixed_wrists_push_on_the_floor_not_through_it(tmp_path, prone):
    back = read_back(tmp_path, prone)
    made, read = body_positions(prone.persons[0], SMPL), body_positions(back.persons[0], SMPL)
    frames = min(len(made), len(read))
    lifted = read[:frames, 0, 2] - made[:frames, 0, 2]
    assert np.abs(lifted).max() < 0.02  # lying on the floor as made, not lifted by a hand under it
    hands = lowest_capsule_bottom(read, SMPL)
    assert hands.min() > -0.005
    rotations = global_rotations(back.persons[0], SMPL)
    for side in "LR":
        wrist = SMPL.index(f"{side}_Wrist")
        down = read[:, wrist, 2] < 0.08
        assert down.sum() > 10  # the hands push on the floor for a while
        palm = wxyz_to_rotations(rotations[down, wrist]).apply([0.0, 0.0, -1.0])
        assert (palm[:, 2] < -0.5).all()  # palms flat on the floor, not knuckles


def test_without_settling_the_hands_the_floor_fix_lifts_the_lying_body(tmp_path, prone, monkeypatch):
    monkeypatch.setattr(bvh_clips, "unarticulated_extremities", lambda *args, **kwargs: ())
    back = read_back(tmp_path, prone)
    made, read = body_positions(prone.persons[0], SMPL), body_positions(back.persons[0], SMPL)
    assert (read[:30, 0, 2] - made[:30, 0, 2]).mean() > 0.05


def test_hinge_angle_raises_a_segment_to_the_height_asked_turning_its_face_down():
    down, axis, face = np.array([[0.0, 0.0, -1.0]]), np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]])
    angle = hinge_angle(down, axis, face, np.array([0.0]))
    np.testing.assert_allclose(np.abs(angle), np.pi / 2, atol=1e-9)
    turn = Rotation.from_rotvec(axis * angle[:, None])
    np.testing.assert_allclose(turn.apply(down)[0, 2], 0.0, atol=1e-9)
    assert turn.apply(face)[0, 2] < -0.99  # of the two ways, the one laying the face on the floor
    assert hinge_angle(down, axis, face, np.array([-1.0]))[0] == 0.0  # already as low as allowed
    angle = hinge_angle(down, axis, face, np.array([-0.5]))
    np.testing.assert_allclose(Rotation.from_rotvec(axis * angle[:, None]).apply(down)[0, 2], -0.5, atol=1e-9)


def test_wrists_and_toes_the_file_turns_are_read_as_they_are(tmp_path):
    clip = walk(np.random.default_rng(3), speed=1.3, turn_rate=20.0, duration=2.0, stop=False)
    write_bvh(tmp_path / "walk.bvh", clip, size=1.0)
    (item,) = bvh_clips.source_items(tmp_path / "walk.bvh", ReadOptions(skeleton=SMPL))
    assert "settled_on_floor" not in item.load().source


def test_capture_read_by_joint_positions_lays_its_unseen_hands_on_the_floor_too(tmp_path, prone):
    write_bvh(tmp_path / "prone.bvh", prone, size=1.0, rest="bind")  # LAFAN1-style: no hand joint below the wrists
    (item,) = bvh_clips.source_items(tmp_path / "prone.bvh", ReadOptions(skeleton=SMPL))
    back = item.load()
    assert back.source["retargeted_by"].startswith("joint positions")
    assert back.source["settled_on_floor"] == ["L_Wrist", "R_Wrist", "L_Toe", "R_Toe"]
    made, read = body_positions(prone.persons[0], SMPL), body_positions(back.persons[0], SMPL)
    frames = min(len(made), len(read))
    assert np.abs(read[:frames, 0, 2] - made[:frames, 0, 2]).max() < 0.03
    assert lowest_capsule_bottom(read, SMPL).min() > -0.005


def test_keypoints_without_hands_lay_the_unseen_hands_on_the_floor(tmp_path, prone):
    names = [n for n in SMPL.body_names if n not in ("L_Hand", "R_Hand")]  # the 22 joints of SMPL keypoints
    positions = body_positions(prone.persons[0], SMPL)[:, [SMPL.index(n) for n in names]]
    np.savez(tmp_path / "prone.npz", positions=positions[:, None], joint_names=np.array(names), fps=prone.fps)
    (item,) = keypoints.source_items(tmp_path / "prone.npz", ReadOptions(skeleton=SMPL, up="z"))
    back = item.load()
    assert back.source["settled_on_floor"] == ["L_Wrist", "R_Wrist", "L_Toe", "R_Toe"]
    read = body_positions(back.persons[0], SMPL)
    frames = min(len(positions), len(read))
    assert np.abs(read[:frames, 0, 2] - positions[:frames, 0, 2]).max() < 0.03  # not lifted by a hand under the floor
    assert lowest_capsule_bottom(read, SMPL).min() > -0.005
