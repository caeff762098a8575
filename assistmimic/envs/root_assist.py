"""Root assist: a training aid for small sample budgets (AssistMimic's `recipient_assist`, REFERENCE §1b).

A PD wrench on the pelvis of each assisted person pulls it toward where its reference pelvis will be at the end
of the step: force = kp (p_ref - p) + kd (v_ref - v) and torque = kp_rot · rotvec(q_ref q⁻¹) + kd_rot (ω_ref - ω),
world frame, applied at the pelvis's centre of mass (MuJoCo's `xfrc_applied`) and held over the step's physics
substeps. The gains fall linearly from their configured values to 0 between the training iterations
`decay_start` and `decay_start + decay_iterations` (the curriculum of the public code), so the policy first learns
the motion while held up and then to carry itself. Evaluation never applies it.
"""

from __future__ import annotations

import torch

from assistmimic.envs.config import RootAssistConfig
from assistmimic.envs.schedule import linear_decay
from assistmimic.sim.backend import BodyState
from motion_lib.errors import UserInputError
from motion_lib.motion_library import ReferenceState
from motion_lib.rotations import quat_conjugate, quat_mul, quat_to_axis_angle


def assist_scale(cfg: RootAssistConfig, iteration: int) -> float:
    """The fraction of the configured gains applied during training iteration `iteration` (1 before `decay_start`,
    0 from `decay_start + decay_iterations` on, linear between)."""
    return linear_decay(iteration, cfg.decay_start, cfg.decay_iterations)


def root_wrench(cfg: RootAssistConfig, scale: float, root_pos: torch.Tensor, root_quat: torch.Tensor,
                root_lin_vel: torch.Tensor, root_ang_vel: torch.Tensor, ref_pos: torch.Tensor, ref_quat: torch.Tensor,
                ref_lin_vel: torch.Tensor, ref_ang_vel: torch.Tensor) -> torch.Tensor:
    """(..., 6) world-frame force (N) and torque (N·m) pulling pelvises at `root_pos` (..., 3) / `root_quat` (..., 4,
    w x y z) moving at `root_lin_vel` / `root_ang_vel` (..., 3) toward the reference `ref_*`, gains times `scale`."""
    force = cfg.kp * (ref_pos - root_pos) + cfg.kd * (ref_lin_vel - root_lin_vel)
    turn = quat_to_axis_angle(quat_mul(ref_quat, quat_conjugate(root_quat)))
    torque = cfg.kp_rot * turn + cfg.kd_rot * (ref_ang_vel - root_ang_vel)
    return scale * torch.cat([force, torque], dim=-1)


class RootAssist:
    """The root assist of one env: which of its A agents are held, and the gains' current scale."""

    def __init__(self, cfg: RootAssistConfig, num_agents: int, device: torch.device):
        bad = [a for a in cfg.agents if not 0 <= a < num_agents]
        if bad:
            raise UserInputError(f"root_assist.agents {list(cfg.agents)} names agents that do not exist: the env has "
                                 f"{num_agents} (0{' and 1' if num_agents == 2 else ''})")
        self.cfg = cfg
        self.held = torch.zeros(num_agents, 1, device=device)
        """(A, 1) 1 for each assisted agent."""
        self.held[list(cfg.agents)] = 1.0
        self.set_iteration(0)

    @property
    def configured(self) -> bool:
        """Some agent is assisted at some point of training (its force is then reported as a metric)."""
        return bool(self.cfg.agents)

    def set_iteration(self, iteration: int) -> None:
        """Training progress: the gains of iteration `iteration` (no agents configured: stays 0)."""
        self.scale = assist_scale(self.cfg, iteration) if self.cfg.agents else 0.0

    def wrench(self, state: BodyState, reference: ReferenceState) -> torch.Tensor:
        """(N, A, 6) the wrench on each agent's pelvis (zeros for agents not held), from the simulated `state` and
        the reference at the end of the step (persons = agents)."""
        quat = state.quat[:, :, 0]
        wrench = root_wrench(self.cfg, self.scale, state.pos[:, :, 0], quat, state.lin_vel[:, :, 0],
                             state.ang_vel[:, :, 0], reference.pos[:, :, 0], reference.quat[:, :, 0],
                             reference.lin_vel[:, :, 0], reference.ang_vel[:, :, 0])
        return wrench * self.held
