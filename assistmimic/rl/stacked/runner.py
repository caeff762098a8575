"""`StackedRunner`: `OnPolicyRunner` of K experts in one batch of worlds (see `assistmimic.rl.stacked`)."""

from __future__ import annotations

from typing import Any

import torch

from assistmimic.envs.base import StepResult
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.rl.stacked.learners import StackedAMP, StackedPPO, StackedReplayBuffer
from assistmimic.rl.stacked.networks import StackedActorCritic, rollout_per_expert
from motion_lib.errors import UserInputError


# --- the runner ------------------------------------------------------------------------------------
class StackedRunner(OnPolicyRunner):
    """`OnPolicyRunner` of K experts in one batch: every agent's policy is a StackedActorCritic over the env's
    K clip groups (`TrackingEnv.partition_worlds`), learnt by StackedPPO, with a StackedAMP and StackedReplayBuffer.

    Logged besides the runner's usual scalars (over all worlds): `expert<k>/rollout_reward/agent<a>` (mean reward
    per step of expert k's worlds) and `expert<k>/episode_length` (world steps per ended episode in its worlds).
    """

    anchor_unavailable = "the batched experts' learner (StackedPPO) has no anchor loss; train experts one by one"

    def __init__(self, env, policies: list[StackedActorCritic], *args, **kwargs):
        if not all(isinstance(policy, StackedActorCritic) for policy in policies):
            raise UserInputError("a StackedRunner trains StackedActorCritic policies")
        self.num_experts = policies[0].num_experts if policies else 1
        for a, policy in enumerate(policies):
            if policy.num_experts != self.num_experts:
                raise UserInputError(f"agent {a}'s policy stacks {policy.num_experts} experts, agent 0's "
                                     f"{self.num_experts}; every agent needs one policy per expert")
            if policy.num_experts * policy.worlds_per_expert != env.num_envs:
                raise UserInputError(f"{policy.num_experts} experts of {policy.worlds_per_expert} worlds need "
                                     f"{policy.num_experts * policy.worlds_per_expert} worlds; the env has {env.num_envs}")
        if self.num_experts > 1 and getattr(env, "num_groups", 1) != self.num_experts:
            raise UserInputError(f"the env's worlds must be split into {self.num_experts} clip groups, one per expert "
                                 "(TrackingEnv.partition_worlds)")
        super().__init__(env, policies, *args, **kwargs)

    def _make_learner(self, policy: StackedActorCritic) -> StackedPPO:
        return StackedPPO(policy, self.ppo_config)

    def _make_discriminator(self) -> tuple[StackedAMP, StackedReplayBuffer]:
        amp = StackedAMP(self.num_experts, self.env.amp_step_dim, self.amp_config)
        amp.discriminator.to(self.device)
        replay = StackedReplayBuffer(self.num_experts, self.amp_config.replay_size, self.amp_config.num_steps,
                                     self.env.amp_step_dim, self.device)
        return amp, replay

    def _real_amp_obs(self, agent: int, generator: torch.Generator | None) -> torch.Tensor:
        """(K, amp_batch_size, ...) reference histories of each expert's own clips."""
        return self.env.reference_amp_obs_per_group(self.config.amp_batch_size, generator, agent=agent)

    def _final_values(self, policy: StackedActorCritic, step: StepResult, agent: int) -> torch.Tensor:
        """Critic values of `final_obs` where the episode timed out, 0 elsewhere (all worlds evaluated: the
        stacked policy takes whole blocks; with a sync-free env without asking first whether any timed out)."""
        if not self.env.sync_free and not bool(step.truncated.any()):
            return torch.zeros(step.truncated.shape[0], device=step.truncated.device)
        return torch.where(step.truncated, policy.value(step.final_obs[agent]), 0.0)

    def _update(self) -> dict[str, float]:
        scalars = super()._update()
        k = self.num_experts
        ends = rollout_per_expert(self.storages[0].terminated | self.storages[0].truncated, k).sum(1).tolist()
        per_expert_steps = self.storages[0].num_samples // k
        for a, storage in enumerate(self.storages):
            for expert, reward in enumerate(rollout_per_expert(storage.rewards, k).mean(1).tolist()):
                scalars[f"expert{expert}/rollout_reward/agent{a}"] = reward
        for expert, count in enumerate(ends):
            if count:
                scalars[f"expert{expert}/episode_length"] = per_expert_steps / count
        return scalars

    def expert_checkpoint_state(self, k: int, metadata: dict[str, Any]) -> dict[str, Any]:
        """Expert k alone in the format of `OnPolicyRunner.checkpoint_state` (policies, PPO and AMP state of its
        slices; its share of the env steps; `metadata` as its own), as of the last completed iteration."""
        state = self.checkpoint_state()
        state.update(
            total_env_steps=self.total_env_steps // self.num_experts,
            policies=[policy.expert(k).saved_state() for policy in self.policies],
            ppo=[learner.expert_state_dict(k) for learner in self.learners],
            amp=[amp.expert_state_dict(k) for amp in self.discriminators] if self.amp_enabled else None,
            metadata=metadata,
        )
        return state
