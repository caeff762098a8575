"""Motion library: exact frames at frame times, interpolation between them, velocities, clip weights."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.kinematics import ForwardKinematics
from motion_lib.motion_library import MotionLibrary
from motion_lib.rotations import quat_to_matrix
from motion_lib.skeleton import smpl_skeleton

SK = smpl_skeleton()


def wxyz(rotation: Rotation) -> np.ndarray:
    return rotation.as_quat()[..., [3, 0, 1, 2]]


def person(frames, seed=0, speed=(0.5, 0.0, 0.0), yaw_rate=0.0, fps=30.0):
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    root_pos = np.array([0.0, 0.0, 0.9]) + np.outer(t, speed)
    root_rot = wxyz(Rotation.from_euler("z", yaw_rate * t[:, None]))
    base = rng.uniform(-0.3, 0.3, (SK.num_joints, 3))
    angles = base[None] + 0.2 * np.sin(2 * t)[:, None, None]
    joint_rot = wxyz(Rotation.from_euler("XYZ", angles.reshape(-1, 3))).reshape(frames, SK.num_joints, 4)
    return PersonMotion(root_pos, root_rot, joint_rot)


def two_person_clip(name="help_up", frames=40, fps=30.0, **kwargs):
    return Clip(name, fps, "smpl", [person(frames, 0, fps=fps, **kwargs), person(frames, 1, fps=fps, **kwargs)])


def test_sampling_at_frame_times_returns_the_frames():
    clips = [two_person_clip("a", 40), two_person_clip("b", 25, fps=20.0)]
    lib = MotionLibrary(clips)
    fk = ForwardKinematics(SK, dtype=torch.float64)
    for c, clip in enumerate(clips):
        frames = torch.arange(clip.num_frames)
        ref = lib.sample(torch.full_like(frames, c), frames / clip.fps)
        for p, motion in enumerate(clip.persons):
            pos, rot = fk.poses(torch.tensor(motion.root_pos), quat_to_matrix(torch.tensor(motion.root_rot)),
                                quat_to_matrix(torch.tensor(motion.joint_rot)))
            np.testing.assert_allclose(ref.pos[:, p].numpy(), pos.numpy(), atol=1e-5)
            np.testing.assert_allclose(quat_to_matrix(ref.quat[:, p]).numpy(), rot.numpy(), atol=1e-5)


def test_between_frames_positions_interpolate_and_times_clamp():
    lib = MotionLibrary([two_person_clip()])
    ids = torch.zeros(3, dtype=torch.long)
    frames = lib.sample(ids, torch.tensor([10 / 30, 11 / 30, 10.5 / 30]))
    np.testing.assert_allclose(frames.pos[2].numpy(), (0.5 * (frames.pos[0] + frames.pos[1])).numpy(), atol=1e-5)
    end = lib.sample(torch.zeros(2, dtype=torch.long), torch.tensor([39 / 30, 100.0]))
    np.testing.assert_allclose(end.pos[0].numpy(), end.pos[1].numpy())
    start = lib.sample(torch.zeros(2, dtype=torch.long), torch.tensor([0.0, -5.0]))
    np.testing.assert_allclose(start.pos[0].numpy(), start.pos[1].numpy())


def test_velocities_match_the_motion():
    clip = Clip("walk", 30.0, "smpl", [person(30, speed=(0.8, -0.2, 0.0), yaw_rate=0.5)])
    for motion in clip.persons:
        motion.joint_rot[:] = motion.joint_rot[:1]  # rigid body: every body turns with the root
    ref = MotionLibrary([clip]).sample(torch.zeros(5, dtype=torch.long), torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9]))
    np.testing.assert_allclose(ref.ang_vel[..., 2].numpy(), 0.5, atol=1e-4)  # yaw rate, world z
    np.testing.assert_allclose(ref.ang_vel[..., :2].numpy(), 0.0, atol=1e-4)
    root_vel = ref.lin_vel[:, 0, 0]
    np.testing.assert_allclose(root_vel.numpy(), np.tile([0.8, -0.2, 0.0], (5, 1)), atol=1e-4)


def test_velocities_are_smoothed_within_each_clip_like_phc():
    """PHC's Gaussian (sigma 2 frames, nearest-frame edges) over the forward differences, clip by clip: a clip that
    stands still keeps zero velocity beside one that jitters, and the jitter's velocity noise shrinks."""
    still = Clip("still", 30.0, "smpl", [person(40, speed=(0.0, 0.0, 0.0))])
    still.persons[0].joint_rot[:] = still.persons[0].joint_rot[:1]
    jittery = Clip("jittery", 30.0, "smpl", [person(60, speed=(0.0, 0.0, 0.0))])
    jittery.persons[0].joint_rot[:] = jittery.persons[0].joint_rot[:1]
    jittery.persons[0].root_pos[:, 0] += np.random.default_rng(0).normal(0.0, 0.005, 60)
    library = MotionLibrary([still, jittery], velocity_smoothing=2.0)
    np.testing.assert_allclose(library.body_lin_vel[:40].numpy(), 0.0, atol=1e-6)  # nothing leaks from the next clip
    raw = np.diff(jittery.persons[0].root_pos[:, 0], append=jittery.persons[0].root_pos[-1, 0]) * 30.0
    raw[-1] = raw[-2]
    expected = gaussian_filter1d(raw, 2.0, mode="nearest")
    np.testing.assert_allclose(library.body_lin_vel[40:, 0, 0, 0].numpy(), expected, atol=1e-4)
    assert expected.std() < 0.35 * raw.std()
    library.set_velocity_smoothing(0.0)  # back to the forward differences
    np.testing.assert_allclose(library.body_lin_vel[40:, 0, 0, 0].numpy(), raw, atol=1e-4)
    with pytest.raises(UserInputError, match="velocity smoothing must be at least 0 frames, got -1"):
        library.set_velocity_smoothing(-1.0)


def test_clips_are_drawn_by_failure_rate_not_by_failure_count():
    lib = MotionLibrary([two_person_clip("easy"), two_person_clip("hard")])
    np.testing.assert_allclose(lib.sampling_weights().numpy(), [0.5, 0.5])  # uniform until told otherwise
    lib.set_clip_sampling(uniform_share=0.2, outcome_weight=0.5)
    np.testing.assert_allclose(lib.sampling_weights().numpy(), [0.5, 0.5])  # untried clips: equal rates
    # One step: "hard" ends twice, both failures; "easy" ends once, a success; one world goes on.
    lib.record_outcomes(torch.tensor([1, 1, 0, 0]), torch.tensor([True, True, True, False]),
                        torch.tensor([True, True, False, True]))
    np.testing.assert_allclose(lib.failure_rate.numpy(), [0.5, 1.0])  # easy: 0.5 * 1 + 0.5 * 0
    np.testing.assert_allclose(lib.sampling_weights().numpy(), [0.1 + 0.8 / 3, 0.1 + 1.6 / 3], rtol=1e-6)
    ids = lib.sample_clip_ids(4000, torch.Generator().manual_seed(0))
    assert 0.58 < ids.float().mean().item() < 0.68
    # A clip drawn a hundred times more often that fails at the same rate gains no weight from being drawn.
    lib.record_outcomes(torch.tensor([0] * 100 + [1]), torch.ones(101, dtype=torch.bool),
                        torch.tensor([True, False] * 50 + [True]))
    assert abs(lib.failure_rate[0].item() - 0.5) < 1e-6 and lib.failure_rate[1].item() == 1.0
    lib.record_outcomes(torch.tensor([0, 1]), torch.tensor([True, True]), torch.tensor([False, False]))
    np.testing.assert_allclose(lib.failure_rate.numpy(), [0.25, 0.5])
    lib.set_clip_sampling(uniform_share=1.0, outcome_weight=0.1)
    np.testing.assert_allclose(lib.sampling_weights().numpy(), [0.5, 0.5])
    with pytest.raises(UserInputError, match=r"clip sampling's uniform_share must lie in \[0, 1\], got 1.5"):
        lib.set_clip_sampling(uniform_share=1.5, outcome_weight=0.1)
    with pytest.raises(UserInputError, match=r"clip sampling's outcome_weight must lie in \(0, 1\], got 0"):
        lib.set_clip_sampling(uniform_share=0.5, outcome_weight=0)


def test_failure_rates_are_restored_only_for_the_same_clips():
    clips = [two_person_clip("easy"), two_person_clip("hard")]
    lib = MotionLibrary(clips)
    lib.set_clip_sampling(uniform_share=0.2, outcome_weight=0.5)
    lib.record_outcomes(torch.tensor([1, 0]), torch.tensor([True, True]), torch.tensor([True, False]))
    saved = lib.sampling_state()
    np.testing.assert_allclose(saved["failure_rate"].numpy(), [0.5, 1.0])
    again = MotionLibrary([two_person_clip("easy"), two_person_clip("hard")])  # the same clips, rebuilt
    again.set_clip_sampling(uniform_share=0.2, outcome_weight=0.5)
    assert again.load_sampling_state(saved)
    np.testing.assert_allclose(again.sampling_weights().numpy(), lib.sampling_weights().numpy())
    lib.record_outcomes(torch.tensor([0]), torch.tensor([True]), torch.tensor([True]))  # the state is a copy
    np.testing.assert_allclose(saved["failure_rate"].numpy(), [0.5, 1.0])
    moved = two_person_clip("hard")
    moved.persons[0].root_pos = moved.persons[0].root_pos + 0.01
    for other in ([clips[1], clips[0]], [clips[0]], [clips[0], moved]):  # reordered, fewer, regenerated differently
        fresh = MotionLibrary(other)
        assert fresh.clips_digest != lib.clips_digest
        assert not fresh.load_sampling_state(saved) and torch.equal(fresh.failure_rate, torch.ones(len(other)))
    assert not again.load_sampling_state({})  # a checkpoint saved before the rates were kept


def test_family_sampling_groups_clips_by_their_motion_family():
    clips = [two_person_clip(name) for name in ("run_a", "run_b", "walk_a")]
    for clip, family in zip(clips, ("run", "run", "walk")):
        clip.source["family"] = family
    lib = MotionLibrary(clips + [two_person_clip("mocap")])
    assert lib.families == ["other", "run", "walk"] and lib.clip_family.tolist() == [1, 1, 2, 0]
    lib.set_clip_sampling(uniform_share=0.0, outcome_weight=1.0)
    lib.record_outcomes(torch.tensor([0, 1, 2, 3]), torch.ones(4, dtype=torch.bool), torch.tensor([True, False, False, True]))
    state = lib.family_sampling()  # run: rates 1 and 0; walk: 0; other: 1 -> weights 0.5, 0, 0, 0.5
    assert state == {"other": pytest.approx((1.0, 0.5)), "run": pytest.approx((0.5, 0.5)), "walk": pytest.approx((0.0, 0.0))}


def test_bad_clips_end_in_one_clear_sentence():
    bad = two_person_clip("broken")
    bad.persons[1].root_pos[7, 2] = np.nan
    with pytest.raises(UserInputError, match=r"clip 'broken', person 1: root_pos has NaN/inf at frame\(s\) \[7\]"):
        MotionLibrary([bad])
    short = two_person_clip("short")
    short.persons[0].joint_rot = short.persons[0].joint_rot[:, :10]
    with pytest.raises(UserInputError, match="clip 'short', person 0: joint_rot has shape"):
        MotionLibrary([short])
    zero_fps = two_person_clip("zero")
    zero_fps.fps = 0.0
    with pytest.raises(UserInputError, match="clip 'zero': fps must be between 1 and 1000 frames per second, got 0"):
        MotionLibrary([zero_fps])
    single = Clip("solo", 30.0, "smpl", [person(20)])
    with pytest.raises(UserInputError, match="share one skeleton and person count"):
        MotionLibrary([two_person_clip(), single])


def test_mujoco_with_qpos_from_a_clip_frame_matches_the_library():
    import mujoco

    from motion_lib.rotations import matrix_to_euler_xyz
    from tests.conftest import build_backend

    clip = two_person_clip("frame_check")
    lib = MotionLibrary([clip])
    frame = 17
    ref = lib.sample(torch.zeros(1, dtype=torch.long), torch.tensor([frame / clip.fps]))
    backend = build_backend(num_envs=1)
    model, data, lay = backend.model, mujoco.MjData(backend.model), backend.layout
    for p, motion in enumerate(clip.persons):
        hinge = matrix_to_euler_xyz(quat_to_matrix(torch.tensor(motion.joint_rot[frame]))).reshape(-1)
        data.qpos[lay.qpos_root[p]] = np.concatenate([motion.root_pos[frame], motion.root_rot[frame]])
        data.qpos[lay.qpos_joint[p]] = hinge.numpy()
    mujoco.mj_kinematics(model, data)
    backend.close()
    for p in range(2):
        np.testing.assert_allclose(data.xpos[lay.body[p]], ref.pos[0, p].numpy(), atol=1e-4)
