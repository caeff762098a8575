"""The two-agent assist task (AssistMimic, REFERENCE §1): a supporter (agent 0) and an impaired recipient
(agent 1) track a two-person clip in one scene, each with its own policy and reward.

On top of the tracking task (`TrackingEnv`: reference-state initialisation, PD control, 0.25 m
termination, both persons reset together when either fails):
- observations: each agent's prior observation (self + tracking, 934 for SMPL), then the assistive
  inputs (`assistive_observation`: the partner's state, the partner seen from the own wrists, contact
  flags and forces, the role);
- dynamic reference redirection (`redirection`): while the roots are within `redirection_distance`,
  the supporter's hand targets follow the simulated recipient; the targets enter rewards, termination
  and observations, while the reported errors stay against the unmodified clip;
- contact facilitation (`contact_facilitation`): a supporter hand whose wrist is near the recipient
  leaves the supporter's tracking terms and the termination check, and earns the `contact` term;
- rewards per agent: weighted terms (`rewards` for the supporter, `recipient_rewards` for the recipient,
  including `head_height` of the recipient and a power penalty), then the supporter's task reward
  becomes (1 - altruism)·own + altruism·recipient's. The runner adds AMP: 0.5 task + 0.5 style.
The recipient's impairment (gains, effort limits, mass) lives in the scene (`impairment=` config group).
"""

from __future__ import annotations

import torch

from assistmimic.envs.assistive import (
    HandLayout,
    assistive_observation,
    assistive_observation_size,
    contact_reward,
    near_hands,
    redirect_hand_targets,
    touching,
    tracked_body_weights,
    wrist_to_partner_distance,
)
from assistmimic.envs.config import AssistEnvConfig
from assistmimic.envs.rewards import tracking_terms
from assistmimic.envs.tracking import REWARD_TERMS, Bodies, TaskStep, TrackingEnv
from assistmimic.sim.backend import BodyState, SimBackend
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary

ASSIST_REWARD_TERMS = REWARD_TERMS + ("contact", "head_height")
SUPPORTER, RECIPIENT = 0, 1


class AssistEnv(TrackingEnv):
    """Supporter and recipient worlds; see the module docstring."""

    reward_term_names = ASSIST_REWARD_TERMS

    def __init__(self, backend: SimBackend, library: MotionLibrary, cfg: AssistEnvConfig,
                 generator: torch.Generator | None = None):
        if backend.n_agents != 2:
            raise UserInputError(f"the assist task needs a two-person scene, got {backend.n_agents} person(s)")
        if not 0.0 <= cfg.altruism <= 1.0:
            raise UserInputError(f"env.altruism must lie in [0, 1], got {cfg.altruism}")
        super().__init__(backend, library, cfg, generator)
        self.layout = HandLayout.of(backend.skeleton, self.device)
        assist_size = assistive_observation_size(backend.num_bodies, 2 * self.layout.hands.shape[1])
        self.observation_groups = [groups + (assist_size,) for groups in self.observation_groups]
        self.obs_dims = [sum(groups) for groups in self.observation_groups]

    def _reward_weights(self, agent: int) -> dict[str, float]:
        weights = dict(self.cfg.rewards if agent == SUPPORTER else self.cfg.recipient_rewards)
        if not self.cfg.contact_facilitation:
            weights["contact"] = 0.0
        return weights

    # --- the task -----------------------------------------------------------------------------
    def _redirected(self, state: BodyState, reference: list[Bodies], close: torch.Tensor) -> list[Bodies]:
        """The reference with the supporter's hand targets redirected in the worlds `close` (N,) (when switched on)."""
        if not self.cfg.redirection:
            return reference
        sup = reference[SUPPORTER]
        pos = redirect_hand_targets(sup.pos, reference[RECIPIENT].pos, state.pos[:, RECIPIENT], close, self.layout)
        return [Bodies(pos, sup.rot, sup.lin_vel, sup.ang_vel), reference[RECIPIENT]]

    def _observed_targets(self, state: BodyState, reference: list[Bodies]) -> list[Bodies]:
        return self._redirected(state, reference, self._close(state))

    def _task(self, state: BodyState, reference: list[Bodies]) -> TaskStep:
        close = self._close(state)
        targets = self._redirected(state, reference, close)
        distance = wrist_to_partner_distance(state.pos[:, SUPPORTER], state.pos[:, RECIPIENT], self.layout)
        tracked = torch.ones(self.num_envs, 2, self.backend.num_bodies, device=self.device)
        if self.cfg.contact_facilitation:
            tracked[:, SUPPORTER] = tracked_body_weights(near_hands(distance, self.cfg.contact_distance), self.layout)
        torque, joint_vel = self.backend.actuator_torque(), self.backend.joint_vel()
        hand_force = self.backend.hand_contact_force()
        per_agent = [tracking_terms(Bodies.simulated(state, a), targets[a], torque[:, a], joint_vel[:, a], tracked[:, a])
                     for a in range(2)]
        terms = {name: torch.stack([per_agent[0][name], per_agent[1][name]], dim=1) for name in per_agent[0]}
        supporter_contact = contact_reward(distance, hand_force[:, SUPPORTER], self.cfg.contact_distance)
        terms["contact"] = torch.stack([supporter_contact, torch.zeros_like(supporter_contact)], dim=1)
        head_height = state.pos[:, RECIPIENT, self.layout.head, 2].clamp(0.0, 2.0)
        terms["head_height"] = head_height[:, None].expand(-1, 2).clone()
        metrics = {
            "hand_contact": touching(hand_force[:, SUPPORTER]).any(-1).float(),
            "support_force_z_n": hand_force[:, SUPPORTER, :, 2].sum(-1),
            "peak_torque_nm": torque.abs().amax(dim=(1, 2)),
            "recipient_head_height_m": state.pos[:, RECIPIENT, self.layout.head, 2],
            "recipient_head_drop_m": reference[RECIPIENT].pos[:, self.layout.head, 2] - state.pos[:, RECIPIENT, self.layout.head, 2],
            "redirected": (close & self.cfg.redirection).float(),
        }
        return TaskStep(terms=terms, targets=targets, tracked=tracked, metrics=metrics)

    def _close(self, state: BodyState) -> torch.Tensor:
        """(N,) bool: the two roots are within `redirection_distance`."""
        roots = state.pos[:, :, 0]
        return (roots[:, SUPPORTER] - roots[:, RECIPIENT]).norm(dim=-1) <= self.cfg.redirection_distance

    def _rewards(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        own = super()._rewards(terms)
        supporter = (1.0 - self.cfg.altruism) * own[:, SUPPORTER] + self.cfg.altruism * own[:, RECIPIENT]
        return torch.stack([supporter, own[:, RECIPIENT]], dim=1)

    # --- observations -------------------------------------------------------------------------
    def _observations(self, state: BodyState, env_ids: torch.Tensor | None = None) -> list[torch.Tensor]:
        prior_obs = super()._observations(state, env_ids)
        hand_force = self.backend.hand_contact_force()
        if env_ids is not None:
            state, hand_force = state.select(env_ids), hand_force[env_ids]
        bodies = [Bodies.simulated(state, a) for a in range(2)]
        return [torch.cat([prior_obs[a], assistive_observation(bodies[a], bodies[1 - a], hand_force[:, a],
                                                               hand_force[:, 1 - a], float(a), self.layout)], dim=-1)
                for a in range(2)]
