"""The two-agent assist task (AssistMimic, REFERENCE §1): a supporter (agent 0) and an impaired recipient
(agent 1) track a two-person clip in one scene, each with its own policy and reward.

`AssistTask` is the component the tracking env holds (`TrackingEnv.task`); on top of plain tracking it adds:
- dynamic reference redirection (`redirection`): while the roots are within `redirection_distance`, the
  supporter's hand targets follow the simulated recipient; the targets enter rewards, termination and
  observations, while the reported errors stay against the unmodified clip;
- contact facilitation (`contact_facilitation`): a supporter hand whose wrist is within `contact_distance`
  of the recipient leaves the supporter's tracking terms and the termination check, and earns the `contact`
  term; the `lift` term pays for the upward force the supporter's hands and grips put on the recipient
  (switched off, `CONTACT_TERMS` get weight 0);
- rewards per agent: `rewards` for the supporter, `recipient_rewards` for the recipient; the supporter's task
  reward becomes (1 - altruism)·own + altruism·recipient's. The runner adds AMP: 0.5 task + 0.5 style;
- observations: after each agent's prior observation (self + tracking, 934 for SMPL) the assistive inputs
  (`assistive_observation`: the partner's state, the partner seen from the own wrists, contact flags and
  forces, the role).
The recipient's impairment (gains, effort limits, mass) lives in the scene (`impairment=` config group).
"""

from __future__ import annotations

import dataclasses

import torch

from assistmimic.envs.assistive import (
    HandLayout,
    assistive_observation,
    assistive_observation_size,
    near_hands,
    redirect_hand_targets,
    touching,
    tracked_body_weights,
    wrist_to_partner_distance,
)
from assistmimic.envs.config import AssistEnvConfig, RewardTerm
from assistmimic.envs.step_context import RECIPIENT, SUPPORTER, Bodies, StepContext
from assistmimic.envs.task import TrackingTask
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.sim.backend import BodyState, SimBackend
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary

CONTACT_TERMS = ("contact", "lift")
"""The reward terms the `contact_facilitation` ablation switches off."""


class AssistTask(TrackingTask):
    """The assist task's part of a step (see the module docstring)."""

    def __init__(self, backend: SimBackend, cfg: AssistEnvConfig):
        if backend.n_agents != 2:
            raise UserInputError(f"the assist task needs a two-person scene, got {backend.n_agents} person(s)")
        if not 0.0 <= cfg.altruism <= 1.0:
            raise UserInputError(f"env.altruism must lie in [0, 1], got {cfg.altruism}")
        super().__init__(backend)
        self.cfg = cfg
        self.layout = HandLayout.of(backend.skeleton, backend.device)
        self.extra_observation_sizes = (assistive_observation_size(backend.num_bodies, 2 * self.layout.hands.shape[1]),)

    def reward_configs(self, cfg: AssistEnvConfig, num_agents: int) -> list[dict[str, RewardTerm]]:
        """The supporter's `rewards` and the recipient's `recipient_rewards`; without contact facilitation
        the `contact` terms weigh 0."""
        configs = [{name: RewardTerm.of(name, term) for name, term in terms.items()}
                   for terms in (cfg.rewards, cfg.recipient_rewards)]
        if not cfg.contact_facilitation:
            configs = [{name: dataclasses.replace(term, weight=0.0) if name in CONTACT_TERMS else term
                        for name, term in config.items()} for config in configs]
        return configs

    def roots_close(self, state: BodyState) -> torch.Tensor:
        """(N,) bool: the two roots are within `redirection_distance`."""
        roots = state.pos[:, :, 0]
        return (roots[:, SUPPORTER] - roots[:, RECIPIENT]).norm(dim=-1) <= self.cfg.redirection_distance

    def redirected(self, state: BodyState, reference: list[Bodies], close: torch.Tensor) -> list[Bodies]:
        """The reference with the supporter's hand targets redirected in the worlds `close` (N,) (when switched on)."""
        if not self.cfg.redirection:
            return reference
        sup = reference[SUPPORTER]
        pos = redirect_hand_targets(sup.pos, reference[RECIPIENT].pos, state.pos[:, RECIPIENT], close, self.layout)
        return [Bodies(pos, sup.rot, sup.lin_vel, sup.ang_vel), reference[RECIPIENT]]

    def targets(self, state: BodyState, reference: list[Bodies]) -> list[Bodies]:
        return self.redirected(state, reference, self.roots_close(state))

    def context(self, state: BodyState, reference: list[Bodies], steps: torch.Tensor) -> StepContext:
        """The step's shared quantities: whether the roots are close, redirected targets, each person's wrist
        distances to the partner and which hands are near, the supporter's near hands left out of its tracked
        bodies, the hand and grip forces."""
        distance = torch.stack([wrist_to_partner_distance(state.pos[:, a], state.pos[:, 1 - a], self.layout)
                                for a in range(2)], dim=1)  # (N, 2 persons, 2 wrists)
        near = near_hands(distance, self.cfg.contact_distance)
        tracked = torch.ones(state.pos.shape[0], 2, self.backend.num_bodies, device=state.pos.device)
        if self.cfg.contact_facilitation:
            tracked[:, SUPPORTER] = tracked_body_weights(near[:, SUPPORTER], self.layout)
        close = self.roots_close(state)
        ctx = super().context(state, self.redirected(state, reference, close), steps)
        hand_force, grip_force = self.backend.hand_contact_force(), self.backend.grip_force()
        return dataclasses.replace(ctx, tracked=tracked, hand_force=hand_force, grip_force=grip_force,
                                   wrist_distance=distance, near=near, roots_close=close,
                                   support_force_z=support_force_z(hand_force[:, SUPPORTER, :, 2].sum(-1), grip_force))

    def mix_rewards(self, own: torch.Tensor) -> torch.Tensor:
        """The supporter's reward (1 - altruism)·own + altruism·recipient's; the recipient keeps its own."""
        supporter = (1.0 - self.cfg.altruism) * own[:, SUPPORTER] + self.cfg.altruism * own[:, RECIPIENT]
        return torch.stack([supporter, own[:, RECIPIENT]], dim=1)

    def metrics(self, state: BodyState, ctx: StepContext, reference: list[Bodies]) -> dict[str, torch.Tensor]:
        """Contact, support force, torques, the recipient's head and pelvis (and the reference's pelvis), the
        supporter's grip commands and how often redirection acted."""
        head = self.layout.head
        hand_force, recipient_head = ctx.hand_force[:, SUPPORTER], ctx.persons[RECIPIENT].pos[:, head, 2]
        grip = self.backend.grip_command()
        return {
            "hand_contact": touching(hand_force).any(-1).float(),
            "support_force_z_n": ctx.support_force_z,
            "whole_body_support_force_z_n": support_force_z(self.backend.partner_contact_force()[:, SUPPORTER, 2],
                                                            ctx.grip_force),
            "recipient_pelvis_height_m": ctx.persons[RECIPIENT].pos[:, 0, 2],
            "reference_pelvis_height_m": reference[RECIPIENT].pos[:, 0, 2],
            "supporter_grip_L": grip[:, SUPPORTER, 0], "supporter_grip_R": grip[:, SUPPORTER, 1],
            "peak_torque_nm": ctx.torque.abs().amax(dim=(1, 2)),
            "recipient_head_height_m": recipient_head,
            "recipient_head_drop_m": reference[RECIPIENT].pos[:, head, 2] - recipient_head,
            "redirected": (ctx.roots_close & self.cfg.redirection).float(),
        }

    def observations(self, state: BodyState, env_ids: torch.Tensor | None) -> list[torch.Tensor]:
        """Per agent the assistive observation (`assistive_observation`)."""
        hand_force = self.backend.hand_contact_force()
        if env_ids is not None:
            hand_force = hand_force[env_ids]
        bodies = [Bodies.simulated(state, a) for a in range(2)]
        return [assistive_observation(bodies[a], bodies[1 - a], hand_force[:, a], hand_force[:, 1 - a], float(a),
                                      self.layout) for a in range(2)]


def support_force_z(contact_force_z: torch.Tensor, grip_force: torch.Tensor) -> torch.Tensor:
    """(N,) vertical force (N, + = up) the supporter exerts on the recipient: `contact_force_z` (N,), the vertical
    contact force (compression only) of the supporter's bodies counted (its hand bodies for the `lift` reward and
    `support_force_z_n`; its whole body, `SimBackend.partner_contact_force`, for `whole_body_support_force_z_n`),
    plus its grips' pulls and, when the recipient grips too, the reaction of the recipient's pulls on the supporter;
    `grip_force` (N, 2 persons, 2 hands, 3) as `SimBackend.grip_force`."""
    return contact_force_z + grip_force[:, SUPPORTER, :, 2].sum(-1) - grip_force[:, RECIPIENT, :, 2].sum(-1)


class AssistEnv(TrackingEnv):
    """Supporter and recipient worlds: a `TrackingEnv` holding an `AssistTask`."""

    def __init__(self, backend: SimBackend, library: MotionLibrary, cfg: AssistEnvConfig,
                 generator: torch.Generator | None = None):
        super().__init__(backend, library, cfg, generator, task=AssistTask(backend, cfg))
