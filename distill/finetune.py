"""PPO fine-tune of a distilled student, started so that it does not undo the distillation.

The student's critic never learned during DAgger, and early advantages from it are noise. So, per agent:
1. critic warm-up: only the value loss is optimised until the critic's explained variance on a rollout
   reaches `explained_variance`;
2. then the actor learns too, with PPO's loss plus an expert loss (squared error of the mean action to the
   actions of the world's expert at the same observation) weighted `expert_loss_weight`, falling linearly
   to 0 over `expert_loss_iterations`.
Everything else (AMP, rewards, checkpoints, resume) is `OnPolicyRunner`'s; checkpoints also hold the
iteration each actor started at (`actor_since`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.rl.checkpoint import load_checkpoint
from assistmimic.rl.config import AMPConfig, PPOConfig, RunnerConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.ppo import explained_variance
from assistmimic.rl.runner import OnPolicyRunner
from distill.config import FineTuneConfig
from distill.experts import ExpertSet
from motion_lib.errors import UserInputError


def expert_loss_weight(cfg: FineTuneConfig, iterations_learning: int) -> float:
    """The expert loss's weight after the actor has learned for `iterations_learning` iterations."""
    if cfg.expert_loss_iterations < 1:
        return 0.0
    return cfg.expert_loss_weight * max(0.0, 1.0 - iterations_learning / cfg.expert_loss_iterations)


class FineTuneRunner(OnPolicyRunner):
    """`OnPolicyRunner` with the critic warm-up and the expert loss; see the module docstring."""

    uses_action_targets = True
    anchor_unavailable = "the fine-tune already holds the students near their experts' actions"

    def __init__(self, env: AssistEnv, students: list[ActorCritic], experts: ExpertSet, clip_experts: torch.Tensor,
                 cfg: FineTuneConfig, ppo_config: PPOConfig, amp_config: AMPConfig, runner_config: RunnerConfig,
                 run_dir: str | Path, metadata: dict[str, Any]):
        if cfg.expert_loss_weight < 0:
            raise UserInputError(f"stage.finetune.expert_loss_weight must be >= 0, got {cfg.expert_loss_weight}")
        super().__init__(env, students, ppo_config, amp_config, runner_config, run_dir, env.device, metadata)
        self.experts, self.clip_experts, self.finetune = experts.to(env.device), clip_experts.to(env.device), cfg
        self.actor_since: list[int | None] = [None] * env.num_agents
        """Per agent, the iteration its actor started learning at (None: still warming up the critic)."""

    def _action_targets(self, obs: list[torch.Tensor]) -> list[torch.Tensor]:
        expert_ids = self.clip_experts[self.env.clip_ids]
        return [self.experts.actions(a, agent_obs, expert_ids) for a, agent_obs in enumerate(obs)]

    def _update_options(self, agent: int) -> dict[str, Any]:
        storage = self.storages[agent]
        if (self.actor_since[agent] is None
                and float(explained_variance(storage.values, storage.returns)) >= self.finetune.explained_variance):
            self.actor_since[agent] = self.iteration
        if self.actor_since[agent] is None:
            return {"update_actor": False}
        return {"update_actor": True,
                "target_weight": expert_loss_weight(self.finetune, self.iteration - self.actor_since[agent])}

    def _update(self) -> dict[str, float]:
        scalars = super()._update()
        for a, since in enumerate(self.actor_since):
            scalars[f"finetune/actor_learning/agent{a}"] = float(since is not None)
            if since is not None:
                scalars[f"finetune/expert_loss_weight/agent{a}"] = expert_loss_weight(self.finetune, self.iteration - since)
        return scalars

    def checkpoint_state(self) -> dict[str, Any]:
        return {**super().checkpoint_state(), "actor_since": list(self.actor_since)}

    def resume(self, path: str | Path) -> int:
        iteration = super().resume(path)
        self.actor_since = list(load_checkpoint(path).get("actor_since", [None] * self.env.num_agents))
        return iteration
