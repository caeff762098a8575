"""Shared conversions: SMPL axes, y-up -> z-up with the pelvis offset, resampling, floor fix, clip statistics."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.clip_stats import clip_stats, segment_distance
from motion_lib.errors import UserInputError
from motion_lib.formats.common import (
    Y_UP_TO_Z_UP,
    body_positions,
    finish_clip,
    floor_fix,
    lowest_point,
    pelvis_rest_offset,
    person_from_smpl_pose,
    resample,
)
from motion_lib.skeleton import get_skeleton
from tests.test_motion_library import person

SK = get_skeleton("smpl")


def random_pose(frames, seed=0, scale=0.3):
    return np.random.default_rng(seed).normal(scale=scale, size=(frames, 24, 3))


def test_y_up_file_equals_the_same_motion_written_z_up():
    """REFERENCE §4: a y-up (root_orient, trans) is the z-up (W root_orient, W(trans + J0) - J0)."""
    pose_y, trans_y = random_pose(6), np.random.default_rng(1).normal(size=(6, 3))
    pose_z = pose_y.copy()
    pose_z[:, 0] = (Y_UP_TO_Z_UP * Rotation.from_rotvec(pose_y[:, 0])).as_rotvec()
    j0 = pelvis_rest_offset(SK)
    trans_z = Y_UP_TO_Z_UP.apply(trans_y + j0) - j0
    from_y = body_positions(person_from_smpl_pose(pose_y, trans_y, "smpl", SK, "y"), SK)
    from_z = body_positions(person_from_smpl_pose(pose_z, trans_z, "smpl", SK, "z"), SK)
    np.testing.assert_allclose(from_y, from_z, atol=1e-12)


def test_smpl_rest_pose_in_a_y_up_file_stands_upright_with_the_pelvis_at_trans_plus_j0():
    trans = np.tile([0.1, 0.9, -0.2], (3, 1))
    pos = body_positions(person_from_smpl_pose(np.zeros((3, 24, 3)), trans, "smpl", SK, "y"), SK)
    np.testing.assert_allclose(pos[:, 0], Y_UP_TO_Z_UP.apply(trans + pelvis_rest_offset(SK)), atol=1e-12)
    assert (pos[:, SK.index("Head"), 2] - pos[:, 0, 2] > 0.4).all()
    assert (pos[:, SK.index("L_Ankle"), 2] - pos[:, 0, 2] < -0.7).all()
    # SMPL faces +z in its y-up frame: after the +90 deg x rotation the person faces -y.
    left = pos[0, SK.index("L_Hip")] - pos[0, SK.index("R_Hip")]
    assert np.cross(left, [0, 0, 1])[1] < -0.1


def test_resample_keeps_every_kth_frame_or_interpolates():
    p = person(121, fps=120.0)
    every_fourth = resample(p, 120.0, 30.0)
    assert every_fourth.root_pos.shape == (31, 3)
    np.testing.assert_array_equal(every_fourth.joint_rot, p.joint_rot[::4])
    odd = resample(p, 120.0, 50.0)  # 1 s at 50 fps
    assert odd.root_pos.shape == (51, 3)
    np.testing.assert_allclose(odd.root_pos[1], p.root_pos[2] + 0.4 * (p.root_pos[3] - p.root_pos[2]), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(odd.joint_rot, axis=-1), 1.0, atol=1e-9)


def test_floor_fix_puts_the_lowest_sole_on_the_floor_with_one_shift_for_both():
    a, b = person(20, seed=0), person(20, seed=1)
    b.root_pos = b.root_pos + [1.0, 0.0, 0.3]
    fixed = floor_fix([a, b], SK)
    lows = [lowest_point(body_positions(p, SK)[:10], SK).min() for p in fixed]
    assert min(lows) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(fixed[1].root_pos - fixed[0].root_pos, b.root_pos - a.root_pos, atol=1e-12)


def test_floor_fix_rests_a_body_lying_face_down_on_its_surface_not_its_joint_centres():
    """Lying face down with the shins up, nothing rests on the soles: the floor is where the knees', thighs' and
    chest's surfaces touch it. Taking the joint centres for the lowest points sank this body 13 cm into the floor."""
    from motion_lib.families import checks
    from motion_lib.families.common import person_from_channels

    lying = person_from_channels(SK, np.tile([0.0, 0.0, 0.5], (5, 1)), np.tile([0.0, 88.0, 0.0], (5, 1)),
                                 {"L_Knee": (0.0, 90.0, 0.0), "R_Knee": (0.0, 90.0, 0.0)})
    lying.root_pos[:, 2] -= checks.lowest_surface(lying, SK).min()  # resting on the floor
    fixed = floor_fix([lying], SK)[0]
    assert fixed.root_pos[0, 2] - lying.root_pos[0, 2] == pytest.approx(0.0, abs=0.005)
    knees = body_positions(fixed, SK)[0, [SK.index("L_Knee"), SK.index("R_Knee")], 2]
    assert knees.min() > 0.1  # the joint centres stay above the floor


def test_finish_clip_reports_nan_frames_before_anything_else():
    p = person(8)
    p.root_pos[5, 2] = np.nan
    with pytest.raises(UserInputError, match=r"c.npz, person 0: root_pos has NaN/inf at frame\(s\) \[5\]"):
        finish_clip("c", [p], 30.0, SK, 30.0, {}, True, "c.npz")


def test_segment_distance_matches_dense_sampling():
    rng = np.random.default_rng(0)
    p0, p1, q0, q1 = rng.normal(size=(4, 50, 3))
    s = np.linspace(0, 1, 201)
    a = p0[:, None] + s[None, :, None] * (p1 - p0)[:, None]
    b = q0[:, None] + s[None, :, None] * (q1 - q0)[:, None]
    dense = np.linalg.norm(a[:, :, None] - b[:, None], axis=-1).min(axis=(1, 2))
    exact = segment_distance(p0, p1, q0, q1)
    assert (exact <= dense + 1e-9).all() and np.abs(exact - dense).max() < 0.02
    parallel = segment_distance(np.zeros(3), np.array([1.0, 0, 0]), np.array([0.5, 0.3, 0]), np.array([2.0, 0.3, 0]))
    assert parallel == pytest.approx(0.3)


def standing(x, yaw, frames=10):
    joint_rot = np.zeros((frames, SK.num_joints, 4))
    joint_rot[..., 0] = 1
    arms_down = Rotation.from_euler("x", [[75], [-75]], degrees=True).as_quat()[:, [3, 0, 1, 2]]
    joint_rot[:, SK.index("L_Shoulder") - 1], joint_rot[:, SK.index("R_Shoulder") - 1] = arms_down
    root_rot = np.tile(Rotation.from_euler("z", yaw).as_quat()[[3, 0, 1, 2]], (frames, 1))
    return PersonMotion(np.tile([x, 0.0, SK.standing_root_height], (frames, 1)), root_rot, joint_rot)


def test_clip_stats_distance_and_hand_contact():
    far = clip_stats(Clip("far", 30.0, "smpl", [standing(0, 0), standing(1.5, np.pi)]))
    assert far.min_person_gap_m > 0.8 and far.hand_contact_frames == 0
    assert far.root_height_m[0] == pytest.approx(SK.standing_root_height)
    assert far.lowest_point_first_frames_m == pytest.approx(0.0, abs=1e-9)
    overlap = clip_stats(Clip("overlap", 30.0, "smpl", [standing(0, 0), standing(0.1, np.pi)]))
    assert overlap.min_person_gap_m < -0.1
    # The supporter's right hand reaches the recipient's back: side by side, arm out sideways.
    supporter, recipient = standing(0, 0), standing(0.0, 0)
    recipient.root_pos[:, 1] = -0.62
    supporter.joint_rot[:, SK.index("R_Shoulder") - 1] = [1, 0, 0, 0]
    touching = clip_stats(Clip("touch", 30.0, "smpl", [supporter, recipient]))
    assert touching.hand_contact_frames == 10 and touching.first_hand_contact_s == 0.0
