"""The root assist (a training aid): its decay schedule, the wrench a backend applies on the pelvis (both backends
alike), and the env holding a person up on the reference until the gains have fallen to 0, then not at all."""

import pytest
import torch

from assistmimic.envs.config import RootAssistConfig
from assistmimic.envs.root_assist import assist_scale, root_wrench
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from tests.test_cpu_backend import rest_state
from tests.test_motion_library import person
from tests.test_tracking_env import make_env
from tests.test_warp_backend import twin_backends, warp_cpu  # noqa: F401 (fixtures)

STRONG = RootAssistConfig(agents=[0], kp=3000.0, kd=300.0, kp_rot=1000.0, kd_rot=100.0, decay_start=10,
                          decay_iterations=20)


def test_gains_fall_linearly_from_decay_start_to_zero():
    assert [assist_scale(STRONG, i) for i in (0, 10, 15, 20, 30, 31, 500)] == [1.0, 1.0, 0.75, 0.5, 0.0, 0.0, 0.0]
    assert [assist_scale(RootAssistConfig(decay_start=5, decay_iterations=0), i) for i in (4, 5)] == [1.0, 0.0]


def test_wrench_pulls_toward_the_reference_and_damps():
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0])
    yawed = torch.tensor([0.0, 0.0, 0.0, 1.0])  # half a turn about z
    zero = torch.zeros(3)
    wrench = root_wrench(STRONG, 0.5, torch.tensor([0.0, 0.0, 0.8]), identity, torch.tensor([0.0, 0.0, -1.0]), zero,
                         torch.tensor([0.0, 0.0, 0.9]), yawed, zero, torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(wrench[:3], 0.5 * torch.tensor([0.0, 0.0, 3000.0 * 0.1 + 300.0]))
    torch.testing.assert_close(wrench[3:], 0.5 * torch.tensor([0.0, 0.0, 1000.0 * torch.pi + 100.0]))


def _lift(backend, wrench):
    """Pelvis heights (E, A) after half a second of zero PD targets under `wrench` (E, A, 6)."""
    backend.reset_worlds(torch.arange(backend.num_envs), rest_state(backend, list(range(backend.num_envs))))
    backend.set_root_wrench(wrench)
    for _ in range(15):
        backend.step(torch.zeros(backend.num_envs, 2, backend.num_dofs))
    return backend.body_state().pos[:, :, 0, 2]


def test_a_wrench_lifts_only_the_pelvis_it_is_applied_to_on_both_backends(twin_backends):  # noqa: F811
    cpu, warp = twin_backends(2)
    wrench = torch.zeros(2, 2, 6)
    wrench[0, 0, 2] = 3 * 70 * 9.81  # world 0's supporter: three times its weight, upwards
    heights = {name: _lift(backend, wrench) for name, backend in (("cpu", cpu), ("warp", warp))}
    for h in heights.values():
        assert h[0, 0] > h[0, 1] + 0.3  # lifted off its feet
        assert abs(h[1, 0] - h[1, 1]) < 0.01 and abs(h[0, 1] - h[1, 1]) < 0.01  # the others stand alike
    torch.testing.assert_close(heights["warp"], heights["cpu"], atol=0.02, rtol=0)
    with pytest.raises(UserInputError, match="root wrench must have shape"):
        cpu.set_root_wrench(torch.zeros(2, 6))


def _rollout(cfg, steps=45, iteration=0):
    """Mean body position error and mean assist force over `steps` zero-action steps of the single-person env."""
    clips = [Clip("walk", 30.0, "smpl", [person(60, seed=0, speed=(0.8, 0, 0))])]
    env = make_env(num_envs=4, clips=clips, residual_actions=True, early_termination=False, random_start=False,
                   root_assist=cfg)
    env.set_training_iteration(iteration)
    env.reset()
    errors, forces, terms = [], [], []
    for _ in range(steps):
        result = env.step([torch.zeros(4, env.action_dims[0])])
        errors.append(result.metrics["body_pos_error_m"].mean())
        forces.append(result.metrics.get("root_assist_force_n", torch.zeros(4)).mean())
        terms.append(result.reward_terms["body_pos"])
    env.close()
    return torch.stack(errors).mean().item(), torch.stack(forces).mean().item(), torch.stack(terms)


def test_the_env_holds_a_person_on_its_reference_until_the_gains_are_gone():
    held_error, held_force, _ = _rollout(STRONG)
    free_error, _, free_terms = _rollout(RootAssistConfig())
    assert held_force > 10.0
    assert held_error < 0.5 * free_error, (held_error, free_error)  # a zero-action policy falls; held, it follows
    gone_error, gone_force, gone_terms = _rollout(STRONG, iteration=30)
    assert gone_error == pytest.approx(free_error)
    assert gone_force == 0.0 and torch.equal(gone_terms, free_terms)  # after the decay: exactly the unassisted env


def test_assisting_an_agent_that_does_not_exist_is_one_clear_error():
    with pytest.raises(UserInputError, match="root_assist.agents"):
        _rollout(RootAssistConfig(agents=[1]), steps=1)
