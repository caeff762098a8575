"""DAgger (Ross et al. 2011) from many two-agent experts into one student pair (supporter, recipient), or from
single-person priors (`FamilyTeachers`, one per motion family) into one student prior.

One iteration:
1. rollout of `horizon` steps in every world: each world's expert (the one trained on the world's clip)
   labels the observations with its mean actions; the world then executes, with probability β (drawn per
   world and step; every agent alike), the expert's actions, else the student's mean actions;
2. the observations and labels are aggregated into each agent's buffer (`AggregatedBuffer`);
3. the student's observation normaliser takes in the rollout, then `updates_per_iteration` Adam steps
   regress the student's mean action onto the labels over minibatches drawn from the whole buffer;
4. log (`dagger/beta`, the student's action error against the labels on the rollout before the update,
   per agent and per expert, the regression loss, episode statistics, the env's clip failure rates and draw per
   motion family); checkpoint (the loop, with its Ctrl-C handling, is `assistmimic.rl.loop`'s, which the PPO runner
   shares).

Checkpoints (`model_<iteration>.pt`, `last.pt`, written atomically) hold the student policies in the
runner's format (so `stage=eval` and `stage=track` load them), the optimisers, the random state and the
metadata. The aggregated buffer is not saved (it can be gigabytes): a resumed run refills it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from assistmimic.envs.tracking import TrackingEnv
from assistmimic.rl.checkpoint import load_checkpoint, rng_state, set_rng_state
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.loop import Schedule, TrainingLoop
from assistmimic.rl.optim import make_adam
from assistmimic.rl.policy import ActorCritic
from distill.buffer import AggregatedBuffer
from distill.config import DAggerConfig
from distill.experts import ExpertSet
from distill.family_teachers import FamilyTeachers
from distill.schedule import beta_at, check_beta_schedule
from motion_lib.errors import UserInputError


def action_error(student: torch.Tensor, expert: torch.Tensor) -> torch.Tensor:
    """(N,) mean squared difference over action dimensions of (N, D) student and expert actions."""
    return (student - expert).square().mean(-1)


class DAggerTrainer(TrainingLoop):
    """Distils `experts` into `students` (one policy per agent of `env`: two in the assist env, one in the prior's
    tracking env with `FamilyTeachers`); see the module docstring.

    clip_experts: (C,) the expert index of each clip of `env.library` (every clip needs one).
    """

    def __init__(self, env: TrackingEnv, students: list[ActorCritic], experts: ExpertSet | FamilyTeachers,
                 clip_experts: torch.Tensor, cfg: DAggerConfig, run_dir: str | Path, metadata: dict[str, Any],
                 seed: int):
        check_beta_schedule(cfg.beta)
        for name in ("iterations", "horizon", "buffer_size", "updates_per_iteration", "minibatch_size",
                     "save_interval", "keep_checkpoints"):
            if getattr(cfg, name) < 1:
                raise UserInputError(f"stage.dagger.{name} must be at least 1, got {getattr(cfg, name)}")
        if bool((clip_experts < 0).any()):
            raise ValueError("every training clip needs an expert")
        experts.check_observations(env.obs_dims, env.action_dims, "this environment")
        experts.check_observations([sum(s.obs_dims) for s in students], [s.action_dim for s in students], "the student")
        self.env, self.experts, self.cfg, self.device = env, experts.to(env.device), cfg, env.device
        self.students = [student.to(env.device) for student in students]
        self.clip_experts = clip_experts.to(env.device)
        self.run_dir = Path(run_dir)
        self.metadata = metadata
        self.agents = range(len(self.students))
        self.optimizers = [make_adam(student.parameters(), cfg.learning_rate) for student in self.students]
        self.buffers = [AggregatedBuffer(cfg.buffer_size, env.obs_dims[a], env.action_dims[a], env.device)
                        for a in self.agents]
        self.generator = torch.Generator(device=env.device).manual_seed(seed)
        torch.manual_seed(seed)
        super().__init__()

    # --- training ----------------------------------------------------------------------------------
    @property
    def schedule(self) -> Schedule:
        cfg = self.cfg
        return Schedule(max_iterations=cfg.iterations, steps_per_iteration=cfg.horizon, log_interval=1,
                        save_interval=cfg.save_interval, keep_checkpoints=cfg.keep_checkpoints)

    @torch.no_grad()
    def _collect(self, obs: list[torch.Tensor], stats: EpisodeStatistics) -> tuple[list[torch.Tensor], dict[str, float]]:
        """The β-mixture rollout; labels go to the buffers. Returns the next observations, and β with the student's
        action errors against the labels (per agent, and per expert over the agents)."""
        beta = beta_at(self.iteration, self.cfg.beta)
        num_experts, device = len(self.experts.names), self.env.device
        error_sums, error_counts = torch.zeros(len(self.agents), device=device), 0
        expert_sums, expert_counts = torch.zeros(num_experts, device=device), torch.zeros(num_experts, device=device)
        for _ in range(self.cfg.horizon):
            expert_ids = self.clip_experts[self.env.clip_ids]
            labels = [self.experts.actions(a, obs[a], expert_ids) for a in self.agents]
            own = [self.students[a].action_mean(obs[a]) for a in self.agents]
            follow_expert = torch.rand(self.env.num_envs, generator=self.generator, device=device) < beta
            for a in self.agents:
                self.buffers[a].add(obs[a], labels[a])
            errors = torch.stack([action_error(own[a], labels[a]) for a in self.agents], dim=1)
            error_sums += errors.sum(0)
            error_counts += self.env.num_envs
            expert_sums.index_add_(0, expert_ids, errors.mean(1))
            expert_counts.index_add_(0, expert_ids, torch.ones(self.env.num_envs, device=device))
            step = self.env.step([torch.where(follow_expert[:, None], labels[a], own[a]) for a in self.agents])
            stats.add({"task_reward": step.rewards,
                       "expert_share": follow_expert.float()[:, None].expand(-1, len(self.agents))},
                      step.metrics, step.terminated | step.truncated)
            obs = step.obs
        self.total_env_steps += self.cfg.horizon * self.env.num_envs
        scalars = {"dagger/beta": beta,
                   **{f"dagger/action_error/agent{a}": float(error_sums[a]) / error_counts for a in self.agents}}
        for k, name in enumerate(self.experts.names):
            if expert_counts[k] > 0:
                scalars[f"dagger/action_error/expert/{name}"] = float(expert_sums[k] / expert_counts[k])
        return obs, scalars

    def _learn(self) -> dict[str, float]:
        """Normalisers, then the regression steps of each agent; the mean loss per agent."""
        cfg, scalars = self.cfg, {}
        for a, (student, optimizer, buffer) in enumerate(zip(self.students, self.optimizers, self.buffers)):
            student.update_normalizers(buffer.newest_obs(cfg.horizon * self.env.num_envs))
            total = 0.0
            for _ in range(cfg.updates_per_iteration):
                obs, labels = buffer.sample(cfg.minibatch_size, self.generator)
                loss = action_error(student.action_mean(obs), labels).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.max_grad_norm)
                optimizer.step()
                total += float(loss.detach())
            scalars[f"dagger/loss/agent{a}"] = total / cfg.updates_per_iteration
        return scalars

    def _iteration_scalars(self, rollout: dict[str, float], learned: dict[str, float], episodes: dict[str, float],
                           collect_s: float, update_s: float, world_steps: int) -> dict[str, float]:
        return {**rollout, **learned, **episodes, **self.env.training_scalars(),
                "dagger/buffer_samples": float(self.buffers[0].size),
                "perf/collect_s": collect_s, "perf/update_s": update_s, "perf/env_steps_per_s": world_steps / collect_s}

    def _progress(self, scalars: dict[str, float]) -> str:
        """β and each agent's action error, e.g. "beta 0.50 err 0.0123/0.0456"."""
        errors = "/".join(f"{scalars[f'dagger/action_error/agent{a}']:.3g}" for a in self.agents)
        return f"beta {scalars['dagger/beta']:.2f} err {errors}"

    # --- checkpoints -------------------------------------------------------------------------------
    def _rng_state(self) -> dict[str, Any]:
        return {**rng_state(), "dagger": self.generator.get_state()}

    def checkpoint_state(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "total_env_steps": self.total_env_steps,
            "policies": [student.saved_state() for student in self.students],
            "optimizers": [optimizer.state_dict() for optimizer in self.optimizers],
            "rng": self._rng_after_iteration,
            "dagger_config": dataclasses.asdict(self.cfg),
            "metadata": self.metadata,
            "env": self.env.training_state(),
        }

    def resume(self, path: str | Path) -> int:
        """Restore the students, optimisers, random state, iteration and the env's training state (its clips' failure
        rates; `resume_note` says what became of it) of a checkpoint of this setup."""
        state = load_checkpoint(path)
        if ("optimizers" not in state or "dagger_config" not in state
                or len(state.get("policies", [])) != len(self.students)):
            raise UserInputError(f"{path} is not a DAgger checkpoint of {len(self.students)} student(s); resume from "
                                 "the run_dir of the same distillation")
        for a, (student, saved) in enumerate(zip(self.students, state["policies"])):
            if saved["spec"] != student.spec():
                raise UserInputError(f"agent {a}'s student in {path} has the architecture {saved['spec']}, this run "
                                     f"builds {student.spec()}; resume with the same stage.policy")
            student.load_state_dict(saved["state_dict"])
            self.optimizers[a].load_state_dict(state["optimizers"][a])
        set_rng_state(state["rng"])
        self.generator.set_state(state["rng"]["dagger"])
        self.iteration = self._saved_iteration = state["iteration"]
        self.total_env_steps = state["total_env_steps"]
        self._rng_after_iteration = state["rng"]
        self.resume_note = self.env.load_training_state(state.get("env") or {})
        return self.iteration
