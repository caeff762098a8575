"""`env.velocity_feedforward`: residual PD targets that lead the reference by kd/kp times its hinge speeds, so a policy
outputting 0 tracks the reference's joint speeds instead of being damped toward rest; both backends read the same
lead times from the built model."""

import numpy as np
import pytest
import torch

from assistmimic.envs.config import RootAssistConfig
from motion_lib.errors import UserInputError
from motion_lib.families.locomotion import walk
from tests.conftest import robot_config
from tests.test_tracking_env import make_env
from tests.test_warp_backend import twin_backends, warp_cpu  # noqa: F401 (fixtures)

HELD = RootAssistConfig(agents=[0], kp=3000.0, kd=300.0, kp_rot=300.0, kd_rot=15.0, decay_start=10**6)
"""The pelvis held on its reference: what is left of the body error is the joints' lag."""


def _held_zero_action_error(feedforward: bool, clip) -> float:
    """Mean body position error (m) over the clip's first 3 s of zero actions with the pelvis held."""
    env = make_env(num_envs=1, clips=[clip], residual_actions=True, velocity_feedforward=feedforward,
                   early_termination=False, random_start=False, root_assist=HELD)
    env.set_training_iteration(0)
    env.start_clips(torch.zeros(1, dtype=torch.long))
    errors = [env.step([torch.zeros(1, env.action_dims[0])]).metrics["body_pos_error_m"] for _ in range(90)]
    env.close()
    return torch.cat(errors).mean().item()


def test_the_lead_is_kd_over_kp_of_every_hinge():
    env = make_env(num_envs=1, residual_actions=True)
    gains = robot_config().pd_gains
    lead = env.backend.pd_lead_time
    assert lead.shape == (1, env.backend.num_dofs)
    groups = env.backend.skeleton.groups[1:]
    expected = torch.tensor([gains[g][1] / gains[g][0] for g in groups for _ in range(3)])
    torch.testing.assert_close(lead[0], expected)
    env.close()


def test_zero_actions_follow_a_fast_walk_far_closer_with_the_lead():
    clip = walk(np.random.default_rng(3), speed=1.5, turn_rate=0.0, duration=4.0, stop=False)
    plain, led = _held_zero_action_error(False, clip), _held_zero_action_error(True, clip)
    # Measured: 0.18 m against 0.06 m (the kd term drags every swinging joint back without the lead).
    assert led < 0.5 * plain, (led, plain)
    assert led < 0.1


def test_both_backends_read_the_same_lead(twin_backends):  # noqa: F811
    cpu, warp = twin_backends(1)
    torch.testing.assert_close(warp.pd_lead_time.cpu(), cpu.pd_lead_time)
    assert cpu.pd_lead_time.shape == (2, cpu.num_dofs)


def test_the_lead_without_residual_actions_is_one_clear_error():
    with pytest.raises(UserInputError, match="needs env.residual_actions=true"):
        make_env(num_envs=1, velocity_feedforward=True)
