"""The CPU backend: physics outcomes, body states, resets, divergence, per-world parameters, bad input."""

import mujoco
import numpy as np
import pytest
import torch

from assistmimic.mjcf.config import SceneConfig
from assistmimic.sim.backend import PersonState
from motion_lib.errors import UserInputError
from tests.conftest import standard_impairment

STEPS_PER_SECOND = 30  # policy steps (4 physics steps at 120 Hz)


def positive_w(q):
    """Quaternions with w >= 0 (q and -q are the same rotation)."""
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def rest_state(backend, env_ids, height_offset=0.0):
    """Both persons standing in the rest pose where the scene built them, lifted by height_offset."""
    n = len(env_ids)
    root = torch.tensor(backend.model.qpos0[backend.layout.qpos_root], dtype=torch.float32).expand(n, 2, 7).clone()
    root[..., 2] += height_offset
    zeros = torch.zeros(n, 2, backend.num_dofs)
    return PersonState(root[..., :3], root[..., 3:], zeros.clone(), torch.zeros(n, 2, 3), torch.zeros(n, 2, 3),
                       zeros.clone())


def test_body_state_matches_mujoco_after_steps(backend_factory):
    backend = backend_factory(num_envs=3, impairment=standard_impairment())
    generator = torch.Generator().manual_seed(0)
    for _ in range(10):
        backend.step(0.2 * torch.randn(3, 2, backend.num_dofs, generator=generator))
    body = backend.body_state()
    assert body.pos.shape == (3, 2, 24, 3) and body.quat.shape == (3, 2, 24, 4)
    model, data, lay = backend.model, mujoco.MjData(backend.model), backend.layout
    for env in range(3):
        mujoco.mj_setState(model, data, backend._state[env], mujoco.mjtState.mjSTATE_FULLPHYSICS)
        mujoco.mj_forward(model, data)
        for agent in range(2):
            ids = lay.body[agent]
            np.testing.assert_allclose(body.pos[env, agent].numpy(), data.xpos[ids], atol=1e-5)
            np.testing.assert_allclose(positive_w(body.quat[env, agent].numpy()), positive_w(data.xquat[ids]), atol=1e-5)
            vel = np.zeros((len(ids), 6))
            for b, body_id in enumerate(ids):
                mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, body_id, vel[b], 0)
            np.testing.assert_allclose(body.ang_vel[env, agent].numpy(), vel[:, :3], atol=1e-4)
            np.testing.assert_allclose(body.lin_vel[env, agent].numpy(), vel[:, 3:], atol=1e-4)
            np.testing.assert_allclose(backend.joint_pos()[env, agent].numpy(), data.qpos[lay.qpos_joint[agent]], atol=1e-6)


def test_humanoid_holding_zero_pose_stands_for_five_seconds(backend_factory):
    backend = backend_factory(num_envs=1, scene=SceneConfig(spacing=3.0))
    start = backend.body_state().pos[0, :, 0].clone()
    lowest_pelvis = np.inf
    for _ in range(5 * STEPS_PER_SECOND):
        assert not backend.step(torch.zeros(1, 2, backend.num_dofs)).any()
        lowest_pelvis = min(lowest_pelvis, backend.body_state().pos[0, :, 0, 2].min().item())
    end = backend.body_state().pos[0, :, 0]
    assert lowest_pelvis > 0.85  # never sagged or fell
    assert (end[:, :2] - start[:, :2]).norm(dim=-1).max() < 0.15  # stayed in place
    head = backend.body_state().pos[0, :, backend.skeleton.index("Head"), 2]
    assert (head > 1.4).all()
    feet = backend.foot_contact_force()[0]
    # The feet carry the body weight: about 70 kg * 9.81 per person, pushing down on the floor.
    assert feet[..., 2].sum(-1).numpy() == pytest.approx([-70 * 9.81] * 2, rel=0.15)


def test_impaired_recipient_delivers_less_torque_at_weakened_joints(backend_factory):
    backend = backend_factory(num_envs=1, scene=SceneConfig(spacing=3.0), impairment=standard_impairment())
    groups = np.repeat(np.array(backend.skeleton.groups[1:]), 3)
    lower = torch.from_numpy(np.isin(groups, ["hip", "knee", "ankle", "toe"]))
    targets = torch.zeros(1, 2, backend.num_dofs)
    knees = [3 * (backend.skeleton.index(n) - 1) + 1 for n in ("L_Knee", "R_Knee")]
    targets[..., knees] = 1.0  # both agents get the same command: bend the knees
    backend.step(targets)
    torque = backend.actuator_torque()[0].abs()
    supporter, recipient = torque[0], torque[1]
    assert recipient[lower].max() <= 80.0 + 1e-3
    assert supporter[lower].max() > 100.0
    assert recipient[knees].sum() < 0.5 * supporter[knees].sum()
    # Upper body joints are not weakened: same order of torque.
    assert recipient[~lower].max() > 0.0


def _place_recipient_chest_at_supporter_hand(backend, env_ids):
    """A state where the supporter's left hand is pressed into the recipient's chest."""
    state = backend.person_state()
    sk = backend.skeleton
    body = backend.body_state()
    hand = body.pos[0, 0, sk.index("L_Hand")]
    chest_offset = body.pos[0, 1, sk.index("Chest")] - body.pos[0, 1, 0]
    n = len(env_ids)
    root_pos = state.root_pos[env_ids].clone()
    root_pos[:, 1] = hand - chest_offset + torch.tensor([0.10, 0.0, 0.0])  # hand 3 cm inside the chest capsule
    zeros3 = torch.zeros(n, 2, 3)
    return PersonState(root_pos, state.root_quat[env_ids].clone(), torch.zeros(n, 2, backend.num_dofs), zeros3,
                       zeros3.clone(), torch.zeros(n, 2, backend.num_dofs))


def test_hand_contact_sensors_see_the_partner_only_when_touching(backend_factory):
    backend = backend_factory(num_envs=2)
    targets = torch.zeros(2, 2, backend.num_dofs)
    backend.reset_worlds(torch.tensor([1]), _place_recipient_chest_at_supporter_hand(backend, [1]))
    backend.step(targets)
    force = backend.hand_contact_force()  # (E, A, H, 3)
    assert force.shape == (2, 2, len(backend.scene.hand_bodies), 3)
    magnitude = force.norm(dim=-1)
    assert magnitude[0].max() == 0.0  # apart: nothing
    left_hand = [i for i, n in enumerate(backend.scene.hand_bodies) if n.startswith("L_")]
    assert magnitude[1, 0, left_hand].max() > 1.0  # pressed together: the supporter's left hand pushes
    right_hand = [i for i, n in enumerate(backend.scene.hand_bodies) if n.startswith("R_")]
    assert magnitude[1, 0, right_hand].max() == 0.0  # the other hand is far away


def test_partner_collision_switch_turns_contact_off(backend_factory):
    backend = backend_factory(num_envs=1, scene=SceneConfig(partner_collision=False))
    backend.reset_worlds(torch.tensor([0]), _place_recipient_chest_at_supporter_hand(backend, [0]))
    backend.step(torch.zeros(1, 2, backend.num_dofs))
    assert backend.hand_contact_force().abs().max() == 0.0


def test_drop_from_one_metre_stays_finite(backend_factory):
    backend = backend_factory(num_envs=2, scene=SceneConfig(spacing=3.0))
    backend.reset_worlds(torch.arange(2), rest_state(backend, [0, 1], height_offset=1.0))
    assert backend.body_state().pos[:, :, 0, 2].min() > 1.8
    diverged = 0
    for _ in range(2 * STEPS_PER_SECOND):
        diverged += int(backend.step(torch.zeros(2, 2, backend.num_dofs)).sum())
        body = backend.body_state()
        assert torch.isfinite(body.pos).all() and torch.isfinite(body.lin_vel).all()
    assert diverged == 0 and backend.diverged_total == 0
    assert body.pos[..., 2].min() > -0.05  # nothing fell through the floor
    assert body.pos[:, :, 0, 2].max() < 1.2  # landed


def assert_reset_of_world_1(backend, new: PersonState) -> None:
    """Reset world 1 of 3 to `new` (one world's state): world 1 then holds it, worlds 0 and 2 are unchanged
    (shared by both backends' tests)."""
    before = backend.person_state()
    backend.reset_worlds(torch.tensor([1]), new)
    after = backend.person_state()
    for name in ("root_pos", "joint_pos", "root_lin_vel", "root_ang_vel", "joint_vel"):
        np.testing.assert_allclose(getattr(after, name)[1].numpy(), getattr(new, name)[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(getattr(after, name)[[0, 2]].numpy(), getattr(before, name)[[0, 2]].numpy())
    np.testing.assert_allclose(positive_w(after.root_quat[1].numpy()), positive_w(new.root_quat[0].numpy()), atol=1e-5)


def test_reset_worlds_sets_the_given_state_and_leaves_others(backend_factory):
    backend = backend_factory(num_envs=3)
    for _ in range(3):
        backend.step(0.1 * torch.ones(3, 2, backend.num_dofs))
    generator = torch.Generator().manual_seed(4)
    new = PersonState(
        root_pos=torch.tensor([[[0.0, 0.0, 1.2], [2.0, 1.0, 1.1]]]),
        root_quat=torch.nn.functional.normalize(torch.randn(1, 2, 4, generator=generator), dim=-1),
        joint_pos=0.3 * torch.randn(1, 2, backend.num_dofs, generator=generator),
        root_lin_vel=torch.tensor([[[0.5, 0.0, 0.0], [0.0, -0.2, 0.1]]]),
        root_ang_vel=torch.tensor([[[0.0, 0.0, 1.0], [0.3, 0.0, 0.0]]]),
        joint_vel=torch.randn(1, 2, backend.num_dofs, generator=generator),
    )
    assert_reset_of_world_1(backend, new)


def test_diverged_worlds_are_reset_counted_and_reported(backend_factory):
    backend = backend_factory(num_envs=3)
    backend.step(torch.zeros(3, 2, backend.num_dofs))
    backend._state[1, 5] = np.nan  # a NaN in world 1's qpos
    backend._state[2, 1 + backend.model.nq + 10] = 1e4  # runaway velocity in world 2
    diverged = backend.step(torch.zeros(3, 2, backend.num_dofs))
    assert diverged.tolist() == [False, True, True]
    assert backend.diverged_total == 2
    body = backend.body_state()
    assert torch.isfinite(body.pos).all() and torch.isfinite(backend.hand_contact_force()).all()
    np.testing.assert_allclose(backend._state[1, 1:], backend.default_state[1:])  # back to standing
    assert not backend.step(torch.zeros(3, 2, backend.num_dofs)).any()


def assert_half_gain_and_heavier_supporter(backend) -> None:
    """After a second of zero targets, in 3 worlds: world 1's supporter has half the kp and kd, world 2's is
    1.5x heavier, world 0 is unchanged (a physical check of `set_world_params`, shared by both backends' tests)."""
    for _ in range(STEPS_PER_SECOND):
        backend.step(torch.zeros(3, 2, backend.num_dofs))
    # Arms held out against gravity: the steady-state error is torque / kp, so half the gain sags twice as far.
    shoulder = 3 * (backend.skeleton.index("L_Shoulder") - 1)
    sag = backend.joint_pos()[:, :, shoulder].abs()
    assert sag[1, 0] / sag[0, 0] == pytest.approx(2.0, rel=0.2)
    assert sag[1, 1] == pytest.approx(sag[0, 1].item(), rel=0.05)  # the recipient was not changed
    # A 1.5x heavier supporter presses 1.5x harder on the floor.
    weight = -backend.foot_contact_force()[:, 0, :, 2].sum(-1)
    assert weight[2] / weight[0] == pytest.approx(1.5, rel=0.1)


def test_per_world_parameters_change_mass_and_gains(backend_factory):
    backend = backend_factory(num_envs=3, scene=SceneConfig(spacing=3.0))
    ones = torch.ones(1, 2)
    backend.set_world_params(torch.tensor([1]), mass_scale=ones, kp_scale=torch.tensor([[0.5, 1.0]]),
                             kd_scale=torch.tensor([[0.5, 1.0]]))
    backend.set_world_params(torch.tensor([2]), mass_scale=torch.tensor([[1.5, 1.0]]), kp_scale=ones, kd_scale=ones)
    lay = backend.layout
    base, heavy = backend._models[0], backend._models[2]
    assert heavy.body_mass[lay.body[0]].sum() == pytest.approx(1.5 * base.body_mass[lay.body[0]].sum())
    assert heavy.body_mass[lay.body[1]].sum() == pytest.approx(base.body_mass[lay.body[1]].sum())
    assert_half_gain_and_heavier_supporter(backend)


def test_bad_input_is_one_clear_error(backend_factory):
    with pytest.raises(UserInputError, match="number of worlds must be a positive integer, got 0"):
        backend_factory(num_envs=0)
    backend = backend_factory(num_envs=2)
    with pytest.raises(UserInputError, match=r"pd_targets must have shape \(2, 2, 69\)"):
        backend.step(torch.zeros(2, 69))
    with pytest.raises(UserInputError, match="world ids must lie in"):
        backend.reset_to_default(torch.tensor([5]))
    state = rest_state(backend, [0])
    state.joint_pos[0, 0, 0] = float("nan")
    with pytest.raises(UserInputError, match="'joint_pos' contains NaN"):
        backend.reset_worlds(torch.tensor([0]), state)
    with pytest.raises(UserInputError, match="must be positive"):
        backend.set_world_params(torch.tensor([0]), torch.tensor([[0.0, 1.0]]), torch.ones(1, 2), torch.ones(1, 2))


def test_single_person_scene_steps_one_agent_and_stands():
    from assistmimic.mjcf.config import SceneConfig
    from assistmimic.sim.config import SimConfig
    from assistmimic.sim.factory import make_backend, make_single_person_scene
    from tests.conftest import robot_config

    sim = SimConfig(nthread=1)
    backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim), sim, 3)
    assert backend.n_agents == 1 and backend.hand_contact_force().shape == (3, 1, 0, 3)
    assert backend.partner_contact_force().shape == (3, 1, 3) and backend.partner_contact_force().abs().max() == 0.0
    targets = torch.zeros(3, 1, backend.num_dofs)
    for _ in range(30):
        assert not backend.step(targets).any()
    body = backend.body_state()
    assert body.pos.shape == (3, 1, 24, 3)
    assert (body.pos[:, 0, 0, 2] > 0.85).all()  # still standing after 1 s
    # The force the feet apply to the floor carries the body weight (70 kg).
    assert backend.foot_contact_force()[..., 2].sum(-1).numpy() == pytest.approx(-70 * 9.81 * np.ones((3, 1)), rel=0.15)
    backend.close()
