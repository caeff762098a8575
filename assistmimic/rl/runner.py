"""On-policy training of one policy per agent on shared rollouts: PPO per agent on its own reward column,
optionally one AMP discriminator per agent, logging and atomic checkpoints. Evaluation is the stages' job.

One iteration:
1. collect `horizon` steps without gradients: each agent acts on its own observation; a time-out is
   bootstrapped with the agent's critic value of `final_obs`; the reward of agent a is
   task_reward_weight * rewards[:, a] + amp_reward_weight * (style reward of its discriminator);
2. GAE returns and one PPO update per agent (with `sequential_period` > 0 only the agent whose turn
   it is learns; the others act with frozen policies, normalisers and discriminators);
3. AMP updates per agent: real = env.reference_amp_obs(..., agent=a), fake = the agent's replay buffer of its AMP histories;
   on a CPU these updates (one PPO and one AMP job per agent) run in parallel threads (`parallel_updates`), each
   job drawing from its own random stream, so the results do not depend on it;
4. observation normalisers updated with the rollout (after the update, so the stored log-probabilities
   stay those of the normaliser they were taken with);
5. log; checkpoint every `save_interval` iterations and after the last.
Ctrl-C during steps 2-5 takes effect once the iteration is complete. Ctrl-C during collection saves
the last completed iteration (if not saved yet), closes the logger and re-raises (the loop of
`assistmimic.rl.loop`, which distillation's DAgger shares).

Checkpoints `model_<iteration>.pt` and `last.pt` hold the iteration, each agent's policy (weights,
normalisers and architecture), PPO and AMP state, the random state at the end of the iteration, the
env's training state (`VecEnv.training_state`: the clips' failure rates that decide the draw) and the configs as
dicts. The AMP replay buffers are not saved (they refill within a few iterations).

Under torchrun (`assistmimic.rl.distributed`) every rank runs this loop on its own `num_envs` worlds with its
own random streams (seed + rank); the policies and discriminators start as rank 0's and stay identical
(averaged gradients, pooled normaliser statistics). Episode statistics are summed and update statistics
averaged over the ranks; env steps count every rank's. Rank 0 alone logs and writes checkpoints, which also
hold every rank's random state (`rng_by_rank`); at every save the ranks check that their weights are
bit-identical (RuntimeError otherwise). Ctrl-C under torchrun reaches every rank: rank 0 saves the last
completed iteration if it was collecting, the others stop, and torchrun ends the processes still waiting
for a collective operation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from assistmimic.envs.base import StepResult, VecEnv
from assistmimic.rl import distributed
from assistmimic.rl.amp import AMP, AMPReplayBuffer
from assistmimic.rl.checkpoint import load_checkpoint, rng_state, set_rng_state
from assistmimic.rl.config import AMPConfig, PPOConfig, RunnerConfig
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.generators import update_generators
from assistmimic.rl.loop import Schedule, TrainingLoop
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.ppo import PPO
from assistmimic.rl.storage import RolloutStorage
from assistmimic.rl.threads import core_share, run_in_threads
from motion_lib.errors import UserInputError

GRADIENT_SETTINGS = ("critic_coef", "max_grad_norm", "normalize_value")
"""PPO settings that set the scale of the gradients Adam's moments average: a run resumed with other values starts
the moments afresh (moments of gradients ~100x smaller would make its first steps ~10x too long)."""


def changed_gradient_settings(saved: dict[str, Any] | None, current: PPOConfig) -> list[str]:
    """The GRADIENT_SETTINGS that differ between a checkpoint's saved PPO config (None: not saved, nothing known to
    differ; a setting it lacks had its default) and `current`, as "name old -> new"."""
    if saved is None:
        return []
    defaults = PPOConfig()
    changed = []
    for name in GRADIENT_SETTINGS:
        old, new = saved.get(name, getattr(defaults, name)), getattr(current, name)
        if old != new:
            changed.append(f"{name} {old} -> {new}")
    return changed


class OnPolicyRunner(TrainingLoop):
    """Trains `policies[a]` on agent a's reward with its own PPO learner (and AMP discriminator); see the module docstring.

    Subclasses may give per-step target actions (`uses_action_targets`, `_action_targets`) and per-agent
    options of the PPO update (`_update_options`), as the distillation's fine-tune does.

    The env's tensors must be on `device`; the policies are moved there. Each agent's observation feeds
    its actor and critic (the env contract has no separate critic observation). Under torchrun, `env` holds
    this rank's worlds and the policies are replaced by rank 0's (see the module docstring).
    """

    def __init__(self, env: VecEnv, policies: list[ActorCritic], ppo_config: PPOConfig,
                 amp_config: AMPConfig | None, runner_config: RunnerConfig, run_dir: str | Path,
                 device: torch.device | str, metadata: dict[str, Any] | None = None):
        _check_runner_config(runner_config)
        if runner_config.anchor_checkpoint is not None and self.anchor_unavailable:
            raise UserInputError(f"runner anchor_checkpoint is not available here: {self.anchor_unavailable}")
        _check_policies(env, policies)
        self.env = env
        self.ppo_config, self.amp_config, self.config = ppo_config, amp_config, runner_config
        self.run_dir = Path(run_dir)
        self.device = torch.device(device)
        self.metadata = metadata or {}
        """Plain values saved with every checkpoint for whoever loads the policies (e.g. the env config)."""
        _seed_everything(runner_config.seed + distributed.rank())

        self.policies = [policy.to(self.device) for policy in policies]
        self.anchors = self._load_anchors()
        """Per agent, the frozen policy of `anchor_checkpoint` the trained one is held near; empty: no anchor."""
        self.family_anchors = self._load_family_anchors()
        """(family index into `env.world_families()`'s names, its frozen policies per agent) of `anchor_families`:
        worlds tracking a clip of that family are held near these instead."""
        self.learners = [self._make_learner(policy) for policy in self.policies]
        targets = self.uses_action_targets or bool(self.anchors)
        self.storages = [RolloutStorage(ppo_config.horizon, env.num_envs, policy.obs_normalizer.dim, policy.action_dim,
                                        None, self.device, targets) for policy in self.policies]
        self.learners[0].num_minibatches(self.storages[0].num_samples)  # a clear error now, not after a rollout

        self.amp_enabled = runner_config.amp_enabled and env.amp_step_dim is not None
        self.discriminators: list[AMP] = []
        self.replay_buffers: list[AMPReplayBuffer] = []
        if self.amp_enabled:
            if amp_config is None:
                raise UserInputError("amp_enabled is true and the env gives AMP observations, but no AMP config "
                                     "was given; pass one or set amp_enabled: false")
            if amp_config.num_steps != env.amp_steps:
                raise UserInputError(f"the AMP config's num_steps={amp_config.num_steps} differs from the env's "
                                     f"amp_steps={env.amp_steps}; make them equal")
            for _ in self.policies:
                amp, replay = self._make_discriminator()
                self.discriminators.append(amp)
                self.replay_buffers.append(replay)
        distributed.broadcast_modules(self._replicated_modules())
        super().__init__()

    def _make_learner(self, policy: ActorCritic) -> PPO:
        """The PPO learner of one agent's policy."""
        return PPO(policy, self.ppo_config)

    def _make_discriminator(self) -> tuple[AMP, AMPReplayBuffer]:
        """One agent's AMP discriminator (on the device) and the replay buffer of its policy's AMP histories."""
        amp = AMP(self.env.amp_step_dim, self.amp_config)
        amp.discriminator.to(self.device)
        replay = AMPReplayBuffer(self.amp_config.replay_size, self.amp_config.num_steps, self.env.amp_step_dim, self.device)
        return amp, replay

    def _replicated_modules(self) -> list[torch.nn.Module]:
        """What every rank holds an identical copy of under torchrun: broadcast from rank 0 at the start,
        compared at every save."""
        return [*self.policies, *(amp.discriminator for amp in self.discriminators)]

    def _real_amp_obs(self, agent: int, generator: torch.Generator | None) -> torch.Tensor:
        """A batch of agent `agent`'s reference AMP histories, the discriminator's real data."""
        return self.env.reference_amp_obs(self.config.amp_batch_size, generator, agent=agent)

    uses_action_targets = False
    """Whether `_action_targets` gives per-step target actions to keep in the storages."""

    anchor_unavailable: str | None = None
    """Why this runner takes no `anchor_checkpoint` (a subclass whose targets or learner leave no room for it); None:
    it takes one."""

    def _action_targets(self, obs: list[torch.Tensor]) -> list[torch.Tensor] | None:
        """Per agent (N, action_dim) actions to regress toward at observations `obs` (here the anchors' mean
        actions); None: none."""
        if not self.anchors:
            return None
        targets = [anchor.action_mean(agent_obs) for anchor, agent_obs in zip(self.anchors, obs)]
        if self.family_anchors:
            _, world_family = self.env.world_families()
            for family, anchors in self.family_anchors:
                mine = world_family == family
                if self.env.sync_free:  # every world through the family's anchor, then masked: no host sync
                    targets = [torch.where(mine[:, None], anchor.action_mean(agent_obs), target)
                               for anchor, agent_obs, target in zip(anchors, obs, targets)]
                    continue
                worlds = mine.nonzero().squeeze(-1)  # only the family's worlds: a few percent of the anchor's cost
                for anchor, agent_obs, target in zip(anchors, obs, targets):
                    target[worlds] = anchor.action_mean(agent_obs[worlds])
        return targets

    def _update_options(self, agent: int) -> dict[str, Any]:
        """Keyword options of agent `agent`'s `PPO.update` this iteration (e.g. `update_actor`, `target_weight`)."""
        return {"anchor_kl_coef": self.config.anchor_kl_coef} if self.anchors else {}

    def _load_anchors(self) -> list[ActorCritic]:
        """The frozen policies of `anchor_checkpoint` (one per agent, of this run's observation and action sizes,
        on the device); empty when no anchor is set."""
        cfg = self.config
        if cfg.anchor_checkpoint is None:
            if cfg.anchor_kl_coef > 0:
                raise UserInputError("runner anchor_kl_coef > 0 needs an anchor_checkpoint to hold the policies near")
            return []
        return self._frozen_policies(cfg.anchor_checkpoint, "anchor_checkpoint")

    def _load_family_anchors(self) -> list[tuple[int, list[ActorCritic]]]:
        """The frozen policies of each `anchor_families` checkpoint with its family's index; checked against the
        families of the env's clips."""
        cfg = self.config
        if not cfg.anchor_families:
            return []
        if cfg.anchor_checkpoint is None:
            raise UserInputError("runner anchor_families needs an anchor_checkpoint for the worlds of the other "
                                 "families")
        known = self.env.world_families()
        if known is None:
            raise UserInputError("runner anchor_families needs an env whose worlds track clips of motion families")
        families = known[0]
        anchors = []
        for family, checkpoint in sorted(cfg.anchor_families.items()):
            if family not in families:
                raise UserInputError(f"runner anchor_families names the family '{family}', which no training clip has "
                                     f"(the clips' families: {', '.join(families)})")
            anchors.append((families.index(family), self._frozen_policies(checkpoint, f"anchor_families.{family}")))
        return anchors

    def _frozen_policies(self, checkpoint: str, setting: str) -> list[ActorCritic]:
        """The policies of `checkpoint` (one per agent, of this run's observation and action sizes), frozen, on the
        device; `setting` names the setting that gave it in errors."""
        saved = load_checkpoint(checkpoint)["policies"]
        if len(saved) != len(self.policies):
            raise UserInputError(f"{setting} {checkpoint} holds {len(saved)} policies; this run "
                                 f"has {len(self.policies)} agents")
        anchors = []
        for a, (policy, state) in enumerate(zip(self.policies, saved)):
            anchor = ActorCritic.from_saved_state(state).to(self.device).requires_grad_(False)
            if sum(anchor.obs_dims) != sum(policy.obs_dims) or anchor.action_dim != policy.action_dim:
                raise UserInputError(f"agent {a}'s policy in {setting} {checkpoint} takes "
                                     f"{sum(anchor.obs_dims)} observations and gives {anchor.action_dim} actions; "
                                     f"this run's takes {sum(policy.obs_dims)} and gives {policy.action_dim}")
            anchors.append(anchor)
        return anchors

    # --- training ------------------------------------------------------------------------------
    @property
    def schedule(self) -> Schedule:
        cfg = self.config
        return Schedule(max_iterations=cfg.max_iterations, steps_per_iteration=self.ppo_config.horizon,
                        log_interval=cfg.log_interval, save_interval=cfg.save_interval,
                        keep_checkpoints=cfg.keep_checkpoints)

    @torch.no_grad()
    def _collect(self, obs: list[torch.Tensor], stats: EpisodeStatistics) -> tuple[list[torch.Tensor], dict[str, float]]:
        """Fill every agent's storage with `horizon` steps and compute its returns; the observations after them
        (and no scalars of its own: the episode statistics say what the rollout did)."""
        cfg, horizon = self.config, self.ppo_config.horizon
        for storage in self.storages:
            storage.clear()
        for _ in range(horizon):
            acted = [policy.act(agent_obs) for policy, agent_obs in zip(self.policies, obs)]
            targets = self._action_targets(obs)
            step = self.env.step([actions for actions, *_ in acted])
            per_agent = {"task_reward": step.rewards}
            reward = cfg.task_reward_weight * step.rewards
            if self.amp_enabled:
                per_agent["amp_reward"] = self._style_rewards(step)
                reward = reward + cfg.amp_reward_weight * per_agent["amp_reward"]
            per_agent["reward"] = reward
            per_agent.update({f"terms/{name}": term for name, term in step.reward_terms.items()})
            for a, (policy, storage) in enumerate(zip(self.policies, self.storages)):
                actions, log_probs, values, mus = acted[a]
                storage.add(obs=obs[a], actions=actions, log_probs=log_probs, values=values, mus=mus,
                            sigmas=policy.action_std(), rewards=reward[:, a], terminated=step.terminated,
                            truncated=step.truncated, final_values=self._final_values(policy, step, a),
                            target_actions=None if targets is None else targets[a])
            stats.add(per_agent, step.metrics, step.terminated | step.truncated)
            obs = step.obs
        for policy, storage, agent_obs in zip(self.policies, self.storages, obs):
            storage.compute_returns(policy.value(agent_obs), self.ppo_config.gamma, self.ppo_config.gae_lambda)
        self.total_env_steps += horizon * self.env.num_envs * distributed.world_size()
        return obs, {}

    def _final_values(self, policy: ActorCritic, step: StepResult, agent: int) -> torch.Tensor:
        """Critic values of `final_obs` where the episode timed out, 0 elsewhere (not used there). With a sync-free
        env (the default on a GPU) every world's value is computed and masked; else only the timed-out worlds'
        (cheaper, but finding them is a host sync)."""
        if self.env.sync_free:
            return torch.where(step.truncated, policy.value(step.final_obs[agent]), 0.0)
        final_values = torch.zeros(step.truncated.shape[0], device=step.truncated.device)
        timed_out = step.truncated.nonzero().squeeze(-1)
        if timed_out.numel():
            final_values[timed_out] = policy.value(step.final_obs[agent][timed_out])
        return final_values

    def _style_rewards(self, step: StepResult) -> torch.Tensor:
        """(N, A) AMP rewards of the step's AMP histories; the histories also go into the replay buffers."""
        rewards = []
        for amp, replay, amp_obs in zip(self.discriminators, self.replay_buffers, step.amp_obs):
            rewards.append(amp.reward(amp_obs))
            replay.add(amp_obs)
        return torch.stack(rewards, dim=1)

    def _learn(self) -> dict[str, float]:
        """`_update` with `update_threads` torch threads, its scalars averaged over the torchrun ranks."""
        with self._update_threads():
            return distributed.average_scalars(self._update())

    def _update(self) -> dict[str, float]:
        """The PPO update and the AMP steps of every learning agent, then its normalisers; their statistics as
        scalars. These updates are independent jobs, each drawing from its own random stream (see
        `assistmimic.rl.generators`), run in parallel threads where `_updates_in_parallel`."""
        learning = self.learning_agents()
        updates = [(self._update_policy, a) for a in learning]
        if self.amp_enabled:
            updates += [(self._update_discriminator, a) for a in learning]
        jobs = [functools.partial(update, a, generator)
                for (update, a), generator in zip(updates, update_generators(len(updates), self.device))]
        threads = torch.get_num_threads()
        if len(jobs) > 1 and self._updates_in_parallel(threads):
            results = run_in_threads(jobs, workers=min(len(jobs), threads), torch_threads=threads // len(jobs))
        else:
            results = [job() for job in jobs]
        for a in learning:
            self.policies[a].update_normalizers(self.storages[a].obs)
        return {name: value for scalars in results for name, value in scalars.items()}

    def _update_policy(self, agent: int, generator: torch.Generator) -> dict[str, float]:
        """Agent `agent`'s PPO update, its minibatches drawn from `generator`; its statistics as scalars."""
        progress = self.iteration / self.config.max_iterations
        return {f"ppo/agent{agent}/{name}": value for name, value in self.learners[agent].update(
            self.storages[agent], progress, generator=generator, **self._update_options(agent)).items()}

    def _update_discriminator(self, agent: int, generator: torch.Generator) -> dict[str, float]:
        """Agent `agent`'s AMP steps, its real and fake batches drawn from `generator`; their mean statistics."""
        cfg, amp, replay = self.config, self.discriminators[agent], self.replay_buffers[agent]
        sums: dict[str, torch.Tensor] = {}
        for _ in range(cfg.amp_updates_per_iteration):
            real = self._real_amp_obs(agent, generator)
            for name, value in amp.update(real, replay.sample(cfg.amp_batch_size, generator)).items():
                sums[name] = sums[name] + value if name in sums else value
        means = (torch.stack(list(sums.values())) / cfg.amp_updates_per_iteration).tolist()  # one read of the device
        return {f"amp/agent{agent}/{name}": mean for name, mean in zip(sums, means)}

    def _updates_in_parallel(self, threads: int) -> bool:
        """Whether the update jobs run in parallel threads: with `parallel_updates`, on a CPU with at least two
        update `threads` (shared out among the jobs), and outside torchrun (collectives must keep one order on
        every rank)."""
        return (self.config.parallel_updates and self.device.type == "cpu" and threads > 1
                and not distributed.is_distributed())

    def learning_agents(self) -> list[int]:
        """Agents updated in the current iteration: all of them, or in sequential training the one whose turn it is."""
        period = self.config.sequential_period
        if period == 0:
            return list(range(self.env.num_agents))
        return [(self.iteration // period) % self.env.num_agents]

    def _iteration_scalars(self, rollout: dict[str, float], learned: dict[str, float], episodes: dict[str, float],
                           collect_s: float, update_s: float, world_steps: int) -> dict[str, float]:
        return {**episodes, **learned, **self.env.training_scalars(),
                "perf/collect_s": collect_s, "perf/update_s": update_s, "perf/iteration_s": collect_s + update_s,
                "perf/env_steps_per_s": world_steps / collect_s,
                "perf/samples_per_s": world_steps * self.env.num_agents / (collect_s + update_s),
                "perf/total_env_steps": float(self.total_env_steps)}

    def _progress(self, scalars: dict[str, float]) -> str:
        """Mean episode length and return of each agent, e.g. "len 18.2 R -3.10/-2.95"."""
        if "episode/length" not in scalars:
            return "no episode ended"
        returns = "/".join(f"{scalars[f'episode/reward/agent{a}']:.3g}" for a in range(self.env.num_agents))
        return f"len {scalars['episode/length']:.1f} R {returns}"

    @contextlib.contextmanager
    def _update_threads(self) -> Iterator[None]:
        """torch's thread count during the updates (`update_threads`), restored afterwards."""
        wanted = self.config.update_threads
        if wanted is None or self.device.type != "cpu":
            yield
            return
        if wanted == 0:
            wanted = core_share()
        previous = torch.get_num_threads()
        torch.set_num_threads(wanted)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    # --- checkpoints -----------------------------------------------------------------------------
    def checkpoint_state(self) -> dict[str, Any]:
        """Everything `resume` restores, as of the last completed iteration."""
        return {
            "iteration": self.iteration,
            "total_env_steps": self.total_env_steps,
            "policies": [policy.saved_state() for policy in self.policies],
            "ppo": [learner.state_dict() for learner in self.learners],
            "amp": [amp.state_dict() for amp in self.discriminators] if self.amp_enabled else None,
            "rng": self._rng_after_iteration,
            "runner_config": dataclasses.asdict(self.config),
            "ppo_config": dataclasses.asdict(self.ppo_config),
            "amp_config": None if self.amp_config is None else dataclasses.asdict(self.amp_config),
            "metadata": self.metadata,
            "env": self.env.training_state(),
        }

    def _state_to_save(self, every_rank: bool) -> dict[str, Any]:
        """`checkpoint_state()`; under torchrun with `every_rank`, the ranks first check that their weights are
        identical and gather their random states into it (without: rank 0's random state only)."""
        state = self.checkpoint_state()
        if every_rank and distributed.is_distributed():
            distributed.check_same_on_every_rank(self._replicated_modules(), "the policies and discriminators")
            state["rng_by_rank"] = distributed.all_gather_object(self._rng_after_iteration)
        return state

    def resume(self, path: str | Path) -> int:
        """Restore policies, PPO and AMP state, random state, iteration count and the env's training state (rank 0's,
        e.g. its clips' failure rates; `resume_note` says what became of it) from a checkpoint of this runner's setup;
        `learn` then continues at the next iteration. Returns the restored iteration."""
        state = load_checkpoint(path)
        if len(state["policies"]) != len(self.policies):
            raise UserInputError(f"checkpoint {path} holds {len(state['policies'])} policies; this run has "
                                 f"{len(self.policies)} agents")
        if self.amp_enabled and state["amp"] is None:
            raise UserInputError(f"checkpoint {path} was trained without AMP; resume it with amp_enabled: false")
        changed = changed_gradient_settings(state.get("ppo_config"), self.ppo_config)
        policy_changes = []
        for a, (policy, saved) in enumerate(zip(self.policies, state["policies"])):
            try:
                policy_changes.append(policy.load_to_continue(saved))
            except ValueError:
                raise UserInputError(f"agent {a}'s policy in checkpoint {path} has the architecture {saved['spec']}, "
                                     f"this run builds {policy.spec()}; resume with the same policy config, or one "
                                     "that only widens the hidden layers or changes a fixed std") from None
            learner = self.learners[a]
            fresh_moments = changed or policy_changes[-1].reshaped
            learner.load_state_dict({**state["ppo"][a], "optimizer": learner.optimizer.state_dict()} if fresh_moments
                                    else state["ppo"][a])
        for amp, saved in zip(self.discriminators, state["amp"] or []):
            amp.load_state_dict(saved)
        self.iteration = self._saved_iteration = state["iteration"]
        self.total_env_steps = state["total_env_steps"]
        self._restore_rng(state)
        self.resume_note = self.env.load_training_state(state.get("env") or {})
        if changed:
            self.resume_note += (f"; the optimiser's moments start afresh (they were taken under other gradient "
                                 f"settings: {', '.join(changed)})")
        for a, changes in enumerate(policy_changes):
            for note in changes.notes:
                self.resume_note += f"; agent {a}'s {note}"
            if changes.reshaped and not changed:
                self.resume_note += f"; agent {a}'s optimiser moments start afresh (its parameters changed shape)"
        return self.iteration

    def _restore_rng(self, state: dict[str, Any]) -> None:
        """Continue this rank's random streams from a checkpoint: its own saved state when the checkpoint holds
        one per rank of this many ranks, else rank 0's saved state on rank 0 and fresh streams on the others
        (seeded from the seed, the rank and the iteration, so that they differ from every rank's first ones)."""
        by_rank = state.get("rng_by_rank") or [state["rng"]]
        if len(by_rank) == distributed.world_size():
            saved = by_rank[distributed.rank()]
        elif distributed.is_main():
            saved = state["rng"]
        else:
            _seed_everything(self.config.seed + distributed.rank() + distributed.world_size() * self.iteration)
            saved = rng_state()
        set_rng_state(saved)
        self._rng_after_iteration = saved


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def _check_runner_config(cfg: RunnerConfig) -> None:
    for name in ("max_iterations", "save_interval", "keep_checkpoints", "log_interval", "amp_batch_size",
                 "amp_updates_per_iteration"):
        if getattr(cfg, name) < 1:
            raise UserInputError(f"runner {name} must be at least 1; got {getattr(cfg, name)}")
    if cfg.update_threads is not None and cfg.update_threads < 0:
        raise UserInputError(f"runner update_threads must be 0 (all cores), a positive count or null; got {cfg.update_threads}")
    if cfg.sequential_period < 0:
        raise UserInputError(f"runner sequential_period must be 0 (joint training) or positive; got {cfg.sequential_period}")


def _check_policies(env: VecEnv, policies: list[ActorCritic]) -> None:
    if len(policies) != env.num_agents:
        raise UserInputError(f"the env has {env.num_agents} agents but {len(policies)} policies were given")
    if len({id(policy) for policy in policies}) != len(policies):
        raise UserInputError("each agent needs its own policy object (no parameter sharing)")
    for a, policy in enumerate(policies):
        if policy.has_critic_obs:
            raise UserInputError(f"agent {a}'s policy has a separate critic observation, which the env does not give")
        if sum(policy.obs_dims) != env.obs_dims[a] or policy.action_dim != env.action_dims[a]:
            raise UserInputError(f"agent {a}'s policy takes {sum(policy.obs_dims)} observations and gives "
                                 f"{policy.action_dim} actions; the env has {env.obs_dims[a]} and {env.action_dims[a]}")
