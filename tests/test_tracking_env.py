"""The tracking environment: observation layout, reference resets, rewards, terminations, truncations."""

import dataclasses

import numpy as np
import pytest
import torch

from assistmimic.envs.config import ClipSamplingConfig, RewardTerm, TerminationCurriculumConfig, TrackingEnvConfig
from assistmimic.envs.observations import heading_inverse, self_observation
from assistmimic.envs.rewards import rotation_angle
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.mjcf.config import SceneConfig
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_single_person_scene
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary
from motion_lib.rotations import euler_xyz_to_matrix, quat_to_matrix
from tests.conftest import robot_config
from tests.test_motion_library import person, two_person_clip


def make_env(num_envs=8, clips=None, **cfg):
    sim = SimConfig(nthread=1)
    clips = clips or [Clip("walk", 30.0, "smpl", [person(45, seed=0, speed=(0.3, 0, 0))]),
                      Clip("still", 30.0, "smpl", [person(60, seed=1, speed=(0, 0, 0))])]
    backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim, clips), sim, num_envs)
    return TrackingEnv(backend, MotionLibrary(clips), TrackingEnvConfig(**cfg), torch.Generator().manual_seed(0))


def test_observation_sizes_follow_phc():
    env = make_env()
    obs = env.reset()
    assert env.obs_dims == [358 + 576] and obs[0].shape == (8, 934) and env.action_dims == [69]
    assert env.amp_step_dim == 82 and env.reference_amp_obs(5).shape == (5, 10, 82)
    env.close()


def test_self_observation_ignores_position_and_facing():
    rot = euler_xyz_to_matrix(torch.rand(4, 24, 3))
    pos, lin, ang = torch.rand(4, 24, 3), torch.rand(4, 24, 3), torch.rand(4, 24, 3)
    yaw = euler_xyz_to_matrix(torch.tensor([[0.0, 0.0, 1.3]])).expand(4, 3, 3)
    moved = (pos @ yaw.transpose(1, 2)) + torch.tensor([2.0, -1.0, 0.0])
    turned = self_observation(moved, yaw[:, None] @ rot, lin @ yaw.transpose(1, 2), ang @ yaw.transpose(1, 2))
    torch.testing.assert_close(turned, self_observation(pos, rot, lin, ang), atol=1e-5, rtol=1e-5)
    assert torch.allclose(heading_inverse(yaw[:, None][:, 0]) @ yaw, torch.eye(3).expand(4, 3, 3), atol=1e-6)


def test_a_share_of_random_starts_begins_at_the_first_frame():
    starts = {}
    for share in (0.0, 0.5, 1.0):
        env = make_env(num_envs=64, first_frame_share=share)
        env.reset()
        starts[share] = env.times.clone()
        env.close()
    assert (starts[0.0] > 0).all()  # random times: none at the very start
    assert 0.3 < (starts[0.5] == 0).float().mean() < 0.7 and (starts[1.0] == 0).all()


def test_the_termination_curriculum_narrows_the_distance_over_training_and_is_off_until_training_sets_it():
    curriculum = TerminationCurriculumConfig(distance_scale=2.0, decay_start=100, decay_iterations=50)
    env = make_env(num_envs=2, termination_curriculum=curriculum)
    assert env.terminations.params["mean_body_far"]["distance"] == 0.25  # as configured until training says otherwise
    scales = []
    for iteration in (0, 100, 125, 150, 400):
        env.set_training_iteration(iteration)
        scales.append(env.terminations.distance_scale)
        assert env.training_scalars()["termination_distance_scale"] == scales[-1]
    assert scales == [2.0, 2.0, 1.5, 1.0, 1.0]
    env.close()
    plain = make_env(num_envs=2)
    plain.set_training_iteration(0)
    assert plain.terminations.distance_scale == 1.0 and "termination_distance_scale" not in plain.training_scalars()
    plain.close()


def test_reset_puts_bodies_on_the_reference_and_first_rewards_are_high():
    env = make_env()
    env.reset()
    ref = env.library.sample(env.clip_ids, env.times)
    body = env.backend.body_state()
    # The synthetic clips' random angles leave a few joint ranges (e.g. knees bent backwards); there the reset
    # pose keeps to the range (`continuous_hinge_angles`), a few centimetres from the reference at the feet.
    assert (body.pos[:, 0] - ref.pos[:, 0]).norm(dim=-1).max() < 0.05
    assert (body.pos[:, 0] - ref.pos[:, 0]).norm(dim=-1).mean() < 0.005
    assert rotation_angle(body.rot[:, 0, :1], quat_to_matrix(ref.quat[:, 0, :1])).max() < 1e-3
    # Holding the reference pose for one step keeps the position term close to 1.
    hold = env.hinges.sample(env.clip_ids, env.times + env.dt)[0][:, 0] / env.action_scale
    result = env.step([hold])
    assert result.reward_terms["body_pos"].mean() > 0.8
    assert result.metrics["body_pos_error_m"].mean() < 0.05
    env.close()


def test_falling_terminates_and_clip_end_truncates():
    env = make_env(num_envs=4, random_start=False)
    env.reset()
    limp = [torch.full((4, 69), 0.8)]  # a wild pose: bodies leave the reference by more than 0.25 m
    ended = torch.zeros(4, dtype=torch.bool)
    for _ in range(15):
        result = env.step(limp)
        ended |= result.terminated
    assert ended.all() and not (result.terminated & result.truncated).any()
    env.close()
    calm = make_env(num_envs=2, early_termination=False, random_start=False)
    calm.start_clips(torch.tensor([0, 1]))  # 45 and 60 frames: truncated after 44 and 59 steps
    truncated_at = {}
    for step in range(1, 61):
        result = calm.step([torch.zeros(2, 69)])
        for i in result.truncated.nonzero()[:, 0].tolist():
            truncated_at.setdefault(i, step)
        going_on = ~result.truncated
        assert torch.equal(result.final_obs[0][going_on], result.obs[0][going_on])
    assert truncated_at == {0: 44, 1: 59}
    calm.close()


def test_episode_outcomes_set_the_clips_failure_rates():
    env = make_env(num_envs=4, random_start=False, residual_actions=True, max_episode_steps=3,
                   clip_sampling=ClipSamplingConfig(uniform_share=0.2, outcome_weight=1.0))
    assert env.library.uniform_share == 0.2 and env.library.outcome_weight == 1.0  # the env passes its config on
    env.start_clips(torch.tensor([0, 0, 1, 1]))
    wild = torch.zeros(4, 69)
    wild[:2] = 0.8  # far off the reference on clip 0 ("walk"): those worlds fail; on clip 1 ("still") they follow it
    ended = torch.zeros(4, dtype=torch.bool)
    for _ in range(3):
        result = env.step([wild])
        assert not (result.terminated[2:] | result.truncated[:2] & ~ended[:2]).any()
        ended |= result.terminated | result.truncated
    assert ended.all()  # clip 0 ended by failure, clip 1 by time (3 steps): rates 1 and 0
    np.testing.assert_allclose(env.library.failure_rate.numpy(), [1.0, 0.0])
    np.testing.assert_allclose(env.library.sampling_weights().numpy(), [0.9, 0.1])
    scalars = env.training_scalars()  # logged each training iteration; these clips name no motion family
    assert scalars == {"clip_failure_rate/other": pytest.approx(0.5), "clip_draw_share/other": pytest.approx(1.0)}
    env.close()


def test_truncated_worlds_report_the_final_observation_and_restart():
    env = make_env(num_envs=2, early_termination=False, random_start=False, max_episode_steps=3)
    env.reset()
    for _ in range(3):
        result = env.step([torch.zeros(2, 69)])
    assert result.truncated.all() and not torch.equal(result.obs[0], result.final_obs[0])
    assert (env.steps == 0).all()
    env.close()


def test_final_observation_of_a_timed_out_world_is_the_one_it_had_without_the_reset():
    timed_out_env, going_on_env = (make_env(num_envs=2, early_termination=False, random_start=False,
                                            max_episode_steps=steps) for steps in (3, 10))
    for env in (timed_out_env, going_on_env):
        env.reset()
    for _ in range(3):
        timed_out, going_on = (env.step([torch.zeros(2, 69)]) for env in (timed_out_env, going_on_env))
    assert timed_out.truncated.all() and not going_on.truncated.any()
    torch.testing.assert_close(timed_out.final_obs[0], going_on.obs[0], rtol=0, atol=1e-6)
    assert not torch.allclose(timed_out.obs[0], going_on.obs[0])
    timed_out_env.close()
    going_on_env.close()


def test_mismatched_clips_and_unknown_terms_are_clear_errors():
    with pytest.raises(UserInputError, match="2 person"):
        make_env(clips=[two_person_clip()])
    with pytest.raises(UserInputError, match="unknown reward term"):
        make_env(rewards={"smile": RewardTerm(1.0)})
    with pytest.raises(UserInputError, match=r"reward term 'body_pos' must be \{weight"):
        make_env(rewards={"body_pos": 1.0})


def bending_clip_rotations(frames: int = 90) -> tuple[torch.Tensor, int, int]:
    """(F, 1, 23, 4) joint rotations of a smooth squat: knee flexion 0 -> 130 degrees, hip flexion 0 -> 110 degrees,
    with a little hip abduction and twist (so x and z are not zero near 90 degrees), and the knee and hip joints."""
    from scipy.spatial.transform import Rotation

    from motion_lib.skeleton import get_skeleton

    skeleton = get_skeleton("smpl")
    s = torch.linspace(0, 1, frames, dtype=torch.float64)
    knee, hip = skeleton.index("L_Knee") - 1, skeleton.index("L_Hip") - 1
    joint_rot = torch.zeros(frames, 1, 23, 4)
    joint_rot[..., 0] = 1
    knee_angles = torch.stack([0.05 * s, torch.deg2rad(130 * s), 0.03 * s], -1).numpy()
    hip_angles = torch.stack([0.15 * s, -torch.deg2rad(110 * s), 0.1 * s], -1).numpy()
    for joint, angles in ((knee, knee_angles), (hip, hip_angles)):
        joint_rot[:, 0, joint] = torch.as_tensor(Rotation.from_euler("XYZ", angles).as_quat()[:, [3, 0, 1, 2]])
    return joint_rot, knee, hip


def test_hinge_angles_stay_continuous_and_in_range_through_deep_bends():
    from assistmimic.envs.reference_state import continuous_hinge_angles, euler_triples
    from assistmimic.mjcf.humanoid import hinge_ranges
    from motion_lib.skeleton import get_skeleton

    ranges = torch.as_tensor(hinge_ranges(get_skeleton("smpl")), dtype=torch.float32)
    joint_rot, knee, hip = bending_clip_rotations()
    angles = continuous_hinge_angles(joint_rot, [joint_rot.shape[0]], ranges)[:, 0]  # (F, 69)
    assert (angles[1:] - angles[:-1]).abs().max() < 0.5  # no jump the motion does not make
    # The same rotations (to 0.3 degrees: near 90 degrees the pull to small angles, `CENTRING`, trades a little
    # exactness for x and z that stay small), and the knee ends at its true 130 degrees of flexion (the second triple).
    torch.testing.assert_close(euler_xyz_to_matrix(angles.reshape(-1, 23, 3)), quat_to_matrix(joint_rot[:, 0]),
                               atol=5e-3, rtol=0)
    assert abs(float(angles[-1, 3 * knee + 1]) - float(torch.deg2rad(torch.tensor(130.0)))) < 1e-3
    # The |y| <= pi/2 triple alone flips x and z by pi at 90 degrees: the check above can fail.
    first, _ = euler_triples(joint_rot[:, 0])
    assert (first[1:, 3 * knee: 3 * knee + 3] - first[:-1, 3 * knee: 3 * knee + 3]).abs().max() > 2.5
    # Two clips in one table: each is continuous on its own, nothing leaks across the boundary.
    both = continuous_hinge_angles(torch.cat([joint_rot, joint_rot.flip(0)]), [90, 90], ranges)[:, 0]
    torch.testing.assert_close(both[:90], angles)
    torch.testing.assert_close(both[90:], angles.flip(0), atol=3e-2, rtol=0)  # near 90 degrees the path matters a little


def test_hinge_angles_follow_a_hip_that_flexes_past_90_degrees_near_the_gimbal():
    """Sitting down on the floor: the hip flexes past 90 degrees with a little abduction and twist, so its |y| <= pi/2
    triple passes near (not through) y = -90 and turns x and z half a turn together. Followed frame by frame, x and z
    ran into their limits and the angles ended 59 degrees off the hip's rotation; the in-range triple takes over."""
    from assistmimic.envs.reference_state import continuous_hinge_angles, hinge_steps
    from assistmimic.mjcf.humanoid import hinge_ranges
    from motion_lib.families.registry import make_clip
    from motion_lib.skeleton import get_skeleton

    clip = make_clip("floor_sit_stand", np.random.default_rng(0), mode="down")
    joint_rot = torch.as_tensor(clip.persons[0].joint_rot, dtype=torch.float32)[:, None]  # (F, 1, 23, 4)
    ranges = torch.as_tensor(hinge_ranges(get_skeleton("smpl")), dtype=torch.float32)
    angles = continuous_hinge_angles(joint_rot, [joint_rot.shape[0]], ranges)  # (F, 1, 69)
    relative = quat_to_matrix(joint_rot[:, 0]) @ euler_xyz_to_matrix(angles[:, 0].reshape(-1, 23, 3)).transpose(-1, -2)
    off = torch.rad2deg(torch.arccos(((relative.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)))
    assert off.max() < 8.0
    assert off.max() > 0.0 and (off > 1.0).float().mean() < 0.1  # exact but where the joint limits bind
    # The branch switch is a half turn of x and z together, but the limb barely moves: its speed stays a limb's.
    assert (angles[1:] - angles[:-1]).abs().max() > 1.0
    assert hinge_steps(angles, joint_rot, ranges).abs().max() * clip.fps < 20.0


def test_resets_on_the_demo_clips_match_the_reference_even_in_deep_bends():
    from motion_lib.formats.phc import read_clips
    from tests.conftest import REPO

    clips = read_clips(REPO / "data" / "demo" / "single.pkl")
    env = make_env(num_envs=32, clips=clips)
    env.reset()
    ref = env.library.sample(env.clip_ids, env.times)
    body = env.backend.body_state()
    assert (body.pos[:, 0] - ref.pos[:, 0]).norm(dim=-1).max() < 0.01
    env.close()


def test_reference_amp_histories_from_the_table_match_the_motion_library():
    env = make_env(num_envs=2)
    table_obs = env.reference_amp_obs(64, torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)  # the same draws: clip ids, then the end step of each history
    clip_ids = torch.randint(env.library.num_clips, (64,), generator=gen)
    _, _, steps = env._amp_table
    last = (torch.rand(64, generator=gen) * steps[clip_ids]).long()
    direct = env._reference_amp_history(clip_ids, last.float() * env.dt)[:, 0]
    torch.testing.assert_close(table_obs, direct, atol=1e-4, rtol=1e-4)
    assert (last < steps[clip_ids]).all()
    env.close()


def test_the_env_smooths_reference_velocities_as_configured_and_old_configs_read_unsmoothed():
    env = make_env(num_envs=2)
    assert env.cfg.velocity_smoothing == 2.0 and env.library.velocity_smoothing == 2.0
    smoothed_speeds = env.hinges.table.clone()
    env.close()
    raw = make_env(num_envs=2, velocity_smoothing=0.0)
    assert raw.library.velocity_smoothing == 0.0
    half = smoothed_speeds.shape[-1] // 2
    torch.testing.assert_close(raw.hinges.table[..., :half], smoothed_speeds[..., :half])  # the angles are not touched
    assert not torch.allclose(raw.hinges.table[..., half:], smoothed_speeds[..., half:])  # the speeds are
    raw.close()
    # a checkpoint's env config stored before the setting existed was trained without smoothing
    stored = {key: value for key, value in dataclasses.asdict(TrackingEnvConfig()).items() if key != "velocity_smoothing"}
    assert TrackingEnvConfig.from_dict(stored).velocity_smoothing == 0.0
    assert TrackingEnvConfig.from_dict({**stored, "velocity_smoothing": 2.0}).velocity_smoothing == 2.0
