"""Training runner on a toy point-mass env: one and two agents learn, rewards reach the right agent,
resume continues metrics and weights exactly, crashes and Ctrl-C leave loadable checkpoints, AMP is logged."""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
from types import SimpleNamespace

import pytest
import torch

from assistmimic.envs.base import StepResult, VecEnv
from assistmimic.rl.checkpoint import load_checkpoint
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.logger import read_metrics
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner, changed_gradient_settings
from motion_lib.errors import UserInputError


class PointMassEnv(VecEnv):
    """Each agent is a point mass in 2D whose velocity is its (clipped) action. Observation: own position,
    own velocity, the world's target. Agent 0 is rewarded for reaching the target, agent 1 for reaching
    the mirrored point -target: reward exp(-2 distance). Terminated when an agent leaves the box |x| <= 2,
    truncated after 20 steps. AMP observation: (position, velocity) over 2 steps; the reference "expert"
    moves straight towards a goal (agent 0's at unit speed, agent 1's at half speed).

    fail_at_step: raise `failure` from the step with this number (counted over the env's life).
    """

    DT = 0.1
    BOX = 2.0
    EPISODE_STEPS = 20

    def __init__(self, num_agents: int, amp: bool = False, num_envs: int = 64, seed: int = 0,
                 fail_at_step: int | None = None, failure: type[BaseException] = RuntimeError):
        self.num_envs, self.num_agents = num_envs, num_agents
        self.obs_dims = [6] * num_agents
        self.action_dims = [2] * num_agents
        self.amp_step_dim = 4 if amp else None
        self.amp_steps = 2
        self.generator = torch.Generator().manual_seed(seed)
        self.fail_at_step, self.failure = fail_at_step, failure
        self.steps_taken = 0
        self.reference_agents: list[int] = []
        """The `agent` of every reference_amp_obs call."""
        self.pos = torch.zeros(num_envs, num_agents, 2)
        self.vel = torch.zeros(num_envs, num_agents, 2)
        self.target = torch.zeros(num_envs, 2)
        self.time = torch.zeros(num_envs, dtype=torch.long)
        self.history = torch.zeros(num_envs, num_agents, self.amp_steps, 4)

    def _uniform(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.rand(*shape, generator=generator or self.generator) * 2.0 - 1.0

    def _reset_worlds(self, ids: torch.Tensor) -> None:
        n = ids.numel()
        self.pos[ids] = self._uniform(n, self.num_agents, 2)
        self.vel[ids] = 0.0
        self.target[ids] = self._uniform(n, 2)
        self.time[ids] = 0
        self.history[ids] = torch.cat([self.pos[ids], self.vel[ids]], -1)[:, :, None].expand(-1, -1, self.amp_steps, -1)

    def _obs(self) -> list[torch.Tensor]:
        return [torch.cat([self.pos[:, a], self.vel[:, a], self.target], -1) for a in range(self.num_agents)]

    def goals(self) -> torch.Tensor:
        return torch.stack([self.target, -self.target], 1)[:, :self.num_agents]

    def reset(self) -> list[torch.Tensor]:
        self._reset_worlds(torch.arange(self.num_envs))
        self.time = torch.randint(self.EPISODE_STEPS, (self.num_envs,), generator=self.generator)  # spread the ends
        return self._obs()

    def step(self, actions: list[torch.Tensor]) -> StepResult:
        self.steps_taken += 1
        if self.steps_taken == self.fail_at_step:
            raise self.failure(f"env failure at step {self.steps_taken}")
        self.vel = torch.stack(actions, 1).clamp(-1.0, 1.0)
        self.pos = self.pos + self.DT * self.vel
        self.time += 1
        distance = (self.pos - self.goals()).norm(dim=-1)
        terminated = (self.pos.abs() > self.BOX).flatten(1).any(-1)
        truncated = (self.time >= self.EPISODE_STEPS) & ~terminated
        self.history = torch.cat([self.history[:, :, 1:], torch.cat([self.pos, self.vel], -1)[:, :, None]], 2)
        amp_obs = [self.history[:, a].clone() for a in range(self.num_agents)] if self.amp_step_dim else None
        final_obs = self._obs()
        self._reset_worlds((terminated | truncated).nonzero().squeeze(-1))
        return StepResult(obs=self._obs(), rewards=torch.exp(-2.0 * distance), terminated=terminated,
                          truncated=truncated, final_obs=final_obs, amp_obs=amp_obs,
                          reward_terms={"distance": distance}, metrics={"speed": self.vel.norm(dim=-1).mean(-1)})

    def reference_amp_obs(self, n: int, generator: torch.Generator | None = None, agent: int = 0) -> torch.Tensor:
        """Agent 0's expert moves at unit speed, agent 1's at half speed."""
        self.reference_agents.append(agent)
        start, goal = self._uniform(n, 2, generator=generator), self._uniform(n, 2, generator=generator)
        vel = (goal - start) / (goal - start).norm(dim=-1, keepdim=True).clamp(min=1e-6) / (1 + agent)
        return torch.stack([torch.cat([start, vel], -1), torch.cat([start + self.DT * vel, vel], -1)], 1)


POLICY = PolicyConfig(actor_hidden=[64, 64], critic_hidden=[64, 64], activation="elu", init_log_std=-0.5,
                      learn_log_std=True)
PPO_CONFIG = PPOConfig(horizon=16, minibatch_size=512, num_epochs=4, learning_rate=1e-3, lr_schedule="constant",
                       gamma=0.95, gae_lambda=0.95, clip_ratio=0.2, critic_coef=1.0, max_grad_norm=1.0)
AMP_CONFIG = AMPConfig(num_steps=2, hidden=[32, 32], activation="relu", learning_rate=1e-3, grad_penalty=5.0,
                       logit_reg=0.01, weight_decay=1e-4, reward_scale=2.0, replay_size=4096)


def runner_config(**overrides) -> RunnerConfig:
    values = {"max_iterations": 6, "save_interval": 100, "keep_checkpoints": 2, "log_interval": 1,
              "task_reward_weight": 0.5, "amp_reward_weight": 0.5, "amp_enabled": False, "amp_batch_size": 256,
              "amp_updates_per_iteration": 4, "seed": 0}
    return RunnerConfig(**{**values, **overrides})


def make_runner(run_dir, env: PointMassEnv, policy_seed: int = 0, **overrides) -> OnPolicyRunner:
    torch.manual_seed(policy_seed)
    policies = [ActorCritic([6], 2, POLICY) for _ in range(env.num_agents)]
    return OnPolicyRunner(env, policies, PPO_CONFIG, AMP_CONFIG, runner_config(**overrides), run_dir, "cpu")


def iterations(run_dir) -> list[int]:
    return [record["iteration"] for record in read_metrics(run_dir / "metrics.jsonl")]


def assert_same_tensors(state: dict, expected: dict) -> None:
    assert state.keys() == expected.keys()
    for name, value in expected.items():
        assert torch.equal(state[name], value), name


@pytest.mark.parametrize("num_agents", [1, 2])
def test_every_agent_learns_to_reach_its_own_goal(tmp_path, num_agents):
    runner = make_runner(tmp_path, PointMassEnv(num_agents), max_iterations=30)
    runner.learn()
    assert runner.policies[0] is not runner.policies[-1] or num_agents == 1
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["iteration"] for r in records] == list(range(1, 31))
    for a in range(num_agents):
        # Episodes that began before training (at random times) end in iterations 1-2: skip those.
        first = sum(r[f"episode/task_reward/agent{a}"] for r in records[2:5]) / 3
        last = sum(r[f"episode/task_reward/agent{a}"] for r in records[-3:]) / 3
        # Random actions earn ~2-3 per episode; after 30 iterations ~8-9.
        assert last > first + 3.0, (a, first, last)
        # The logged total is the weighted task reward (AMP off) and the mean distance shrinks.
        assert records[-1][f"rollout/reward/agent{a}"] == pytest.approx(
            0.5 * records[-1][f"rollout/task_reward/agent{a}"], rel=1e-5)
        assert records[-1][f"rollout/terms/distance/agent{a}"] < records[0][f"rollout/terms/distance/agent{a}"] - 0.3
    last = records[-1]
    assert {"episode/length", "env/speed", "perf/env_steps_per_s", "perf/samples_per_s", "perf/collect_s",
            "perf/update_s", "ppo/agent0/value_loss"} <= last.keys()
    assert last["perf/total_env_steps"] == 30 * 16 * 64
    if num_agents == 2:
        # Different goals: the reward columns differ, and so do the two policies' actions on the same input.
        assert not torch.equal(runner.storages[0].rewards, runner.storages[1].rewards)
        probe = torch.cat([torch.zeros(8, 4), torch.rand(8, 2) * 2 - 1], 1)
        directions = [policy.act_deterministic(probe) for policy in runner.policies]
        assert (directions[0] * directions[1]).sum(-1).mean() < 0  # agent 1 heads for -target


def test_resume_continues_metrics_weights_and_random_state(tmp_path):
    first = make_runner(tmp_path, PointMassEnv(2), max_iterations=6, save_interval=3)
    first.learn()
    expected_random = torch.rand(3)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["last.pt", "model_3.pt", "model_6.pt"]
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["iteration"] == 6 and saved["runner_config"]["save_interval"] == 3
    assert saved["ppo_config"]["horizon"] == 16 and saved["amp"] is None

    second = make_runner(tmp_path, PointMassEnv(2, seed=1), policy_seed=1, max_iterations=10, save_interval=3)
    assert not torch.equal(second.policies[0].mu.weight, first.policies[0].mu.weight)
    assert second.resume(tmp_path / "last.pt") == 6
    assert torch.equal(torch.rand(3), expected_random)
    for a in range(2):
        assert_same_tensors(second.policies[a].state_dict(), saved["policies"][a]["state_dict"])
        assert_same_tensors(second.policies[a].state_dict(), first.policies[a].state_dict())
        assert second.policies[a].obs_normalizer.count > 0
        adam_new = second.learners[a].optimizer.state_dict()["state"]
        adam_old = first.learners[a].optimizer.state_dict()["state"]
        for key in adam_old:
            assert_same_tensors(adam_new[key], adam_old[key])
    second.learn()
    assert iterations(tmp_path) == list(range(1, 11))
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["last.pt", "model_10.pt", "model_9.pt"]
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 10
    assert load_checkpoint(tmp_path / "model_10.pt")["total_env_steps"] == 10 * 16 * 64
    assert any((tmp_path / "tb").iterdir())


def test_resume_under_other_gradient_settings_starts_the_optimiser_moments_afresh(tmp_path):
    first = make_runner(tmp_path, PointMassEnv(1), max_iterations=3)
    first.learn()
    assert first.learners[0].optimizer.state_dict()["state"]  # moments taken under max_grad_norm 1
    torch.manual_seed(1)
    normalized = dataclasses.replace(PPO_CONFIG, normalize_value=True, max_grad_norm=50.0)
    second = OnPolicyRunner(PointMassEnv(1), [ActorCritic([6], 2, POLICY)], normalized, AMP_CONFIG,
                            runner_config(max_iterations=5), tmp_path, "cpu")
    assert second.resume(tmp_path / "last.pt") == 3
    assert second.learners[0].optimizer.state_dict()["state"] == {}
    assert second.learners[0].learning_rate == first.learners[0].learning_rate
    assert_same_tensors(second.policies[0].state_dict(), first.policies[0].state_dict())
    assert "moments start afresh" in second.resume_note and "max_grad_norm 1.0 -> 50.0" in second.resume_note
    assert "normalize_value False -> True" in second.resume_note
    second.learn()
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["iteration"] == 5 and saved["ppo"][0]["value_stats"]["count"] == 2 * 2 * 16 * 64
    assert changed_gradient_settings({"max_grad_norm": 1.0, "critic_coef": 1.0}, PPO_CONFIG) == []
    assert changed_gradient_settings(None, normalized) == []


def test_resume_may_widen_the_hidden_layers_with_fresh_optimiser_moments(tmp_path):
    torch.manual_seed(0)
    first = OnPolicyRunner(PointMassEnv(1), [ActorCritic([6], 2, POLICY)], PPO_CONFIG, None,
                           runner_config(max_iterations=3), tmp_path, "cpu")
    first.learn()
    torch.manual_seed(1)
    wide = ActorCritic([6], 2, dataclasses.replace(POLICY, actor_hidden=[128, 96]))
    wider = OnPolicyRunner(PointMassEnv(1), [wide], PPO_CONFIG, None, runner_config(max_iterations=5), tmp_path, "cpu")
    assert wider.resume(tmp_path / "last.pt") == 3
    assert "agent 0's actor_hidden [64, 64] -> [128, 96]" in wider.resume_note
    assert "agent 0's optimiser moments start afresh" in wider.resume_note
    assert wider.learners[0].optimizer.state_dict()["state"] == {}
    assert wider.learners[0].learning_rate == first.learners[0].learning_rate
    obs = torch.randn(50, 6)
    torch.testing.assert_close(wide.action_mean(obs), first.policies[0].action_mean(obs), rtol=0, atol=1e-6)
    wider.learn()
    saved = load_checkpoint(tmp_path / "last.pt")["policies"][0]
    assert saved["spec"]["config"]["actor_hidden"] == [128, 96] and saved["state_dict"]["mu.weight"].shape == (2, 96)


def test_resume_may_change_a_fixed_exploration_std_and_nothing_else_of_the_policy(tmp_path):
    def runner(run_dir, log_std: float, learn: bool = False, iterations: int = 4) -> OnPolicyRunner:
        torch.manual_seed(0)
        policy = ActorCritic([6], 2, dataclasses.replace(POLICY, init_log_std=log_std, learn_log_std=learn))
        return OnPolicyRunner(PointMassEnv(1), [policy], PPO_CONFIG, None, runner_config(max_iterations=iterations),
                              run_dir, "cpu")

    first = runner(tmp_path, -0.5, learn=False)
    first.learn()
    quieter = runner(tmp_path, -1.5, iterations=6)
    assert quieter.resume(tmp_path / "last.pt") == 4
    assert "agent 0's fixed exploration std exp(-0.5) -> exp(-1.5)" in quieter.resume_note
    assert torch.allclose(quieter.policies[0].action_std(), torch.full((2,), float(torch.tensor(-1.5).exp())))
    weights = {k: v for k, v in first.policies[0].state_dict().items() if k != "log_std"}
    assert_same_tensors({k: v for k, v in quieter.policies[0].state_dict().items() if k != "log_std"}, weights)
    assert quieter.learners[0].optimizer.state_dict()["state"]  # Adam's moments kept: no gradient setting changed
    quieter.learn()
    saved = load_checkpoint(tmp_path / "last.pt")["policies"][0]
    assert saved["spec"]["config"]["init_log_std"] == -1.5 and float(saved["state_dict"]["log_std"][0]) == -1.5
    again = runner(tmp_path, -1.5)
    again.resume(tmp_path / "last.pt")
    assert "exploration std" not in again.resume_note

    learned = runner(tmp_path / "learned", -1.5, learn=True)  # a learned std is the policy's own: not changed on resume
    with pytest.raises(UserInputError, match="agent 0's policy in checkpoint .* has the architecture"):
        learned.resume(tmp_path / "last.pt")


def test_crash_leaves_the_last_saved_checkpoint_and_resume_drops_later_metrics(tmp_path):
    env = PointMassEnv(1, fail_at_step=4 * 16 + 5)  # during the rollout of iteration 5
    runner = make_runner(tmp_path, env, max_iterations=6, save_interval=3)
    with pytest.raises(RuntimeError, match="env failure"):
        runner.learn()
    assert iterations(tmp_path) == [1, 2, 3, 4]
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["last.pt", "metrics.jsonl", "model_3.pt"]

    resumed = make_runner(tmp_path, PointMassEnv(1), max_iterations=6, save_interval=3)
    resumed.resume(tmp_path / "last.pt")
    resumed.learn()
    assert iterations(tmp_path) == [1, 2, 3, 4, 5, 6]
    assert load_checkpoint(tmp_path / "last.pt")["iteration"] == 6


def test_ctrl_c_in_the_env_saves_the_last_completed_iteration(tmp_path):
    env = PointMassEnv(2, fail_at_step=4 * 16 + 7, failure=KeyboardInterrupt)
    runner = make_runner(tmp_path, env, max_iterations=10, save_interval=3)
    with pytest.raises(KeyboardInterrupt):
        runner.learn()
    assert iterations(tmp_path) == [1, 2, 3, 4]
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["iteration"] == 4 and (tmp_path / "model_4.pt").is_file() and (tmp_path / "model_3.pt").is_file()
    for policy, state in zip(runner.policies, saved["policies"]):
        assert_same_tensors(ActorCritic.from_saved_state(state).state_dict(), policy.state_dict())


@pytest.fixture
def default_sigint():
    """Python's own SIGINT handler during the test (a shell may start the tests with SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_the_update_takes_effect_after_the_iteration(tmp_path, default_sigint):
    runner = make_runner(tmp_path, PointMassEnv(1), max_iterations=10)
    update = runner.learners[0].update

    def interrupted_update(storage, progress, **options):
        if runner.iteration == 1:
            signal.raise_signal(signal.SIGINT)
        return update(storage, progress, **options)

    runner.learners[0].update = interrupted_update
    with pytest.raises(KeyboardInterrupt):
        runner.learn()
    assert iterations(tmp_path) == [1, 2]
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["iteration"] == 2
    assert_same_tensors(saved["policies"][0]["state_dict"], runner.policies[0].state_dict())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_updates_in_parallel_threads_learn_exactly_as_one_after_another(tmp_path):
    """Each update job (PPO, AMP per agent) draws from its own random stream and, here, computes with one torch
    thread either way."""
    results, threads_before = {}, torch.get_num_threads()
    for parallel in (True, False):
        runner = make_runner(tmp_path / str(parallel), PointMassEnv(2, amp=True), max_iterations=3, amp_enabled=True,
                             parallel_updates=parallel, update_threads=2 if parallel else 1)
        threads: list[int] = []
        for learner in runner.learners:
            def recorded_update(*args, update=learner.update, threads=threads, **kwargs):
                threads.append(threading.get_ident())
                return update(*args, **kwargs)
            learner.update = recorded_update
        runner.learn()
        results[parallel] = runner, threads, read_metrics(tmp_path / str(parallel) / "metrics.jsonl")
    (in_threads, worker_threads, threaded_records), (in_turn, caller_threads, records) = results[True], results[False]
    assert len(worker_threads) == 6 and threading.get_ident() not in worker_threads
    assert set(caller_threads) == {threading.get_ident()}
    for a in range(2):
        assert_same_tensors(in_threads.policies[a].state_dict(), in_turn.policies[a].state_dict())
        assert_same_tensors(in_threads.discriminators[a].discriminator.state_dict(),
                            in_turn.discriminators[a].discriminator.state_dict())
    assert [r["ppo/agent1/value_loss"] for r in threaded_records] == [r["ppo/agent1/value_loss"] for r in records]
    assert torch.get_num_threads() == threads_before


@pytest.mark.parametrize("num_agents", [1, 2])
def test_amp_rewards_and_discriminator_statistics_are_logged(tmp_path, num_agents):
    env = PointMassEnv(num_agents, amp=True)
    runner = make_runner(tmp_path, env, max_iterations=8, amp_enabled=True, amp_updates_per_iteration=10)
    initial_logits = [amp.discriminator.logit.weight.clone() for amp in runner.discriminators]
    runner.learn()
    # Each agent's discriminator is trained on that agent's reference motions (the agents' updates may interleave).
    assert sorted(env.reference_agents) == [a for a in range(num_agents) for _ in range(10 * 8)]
    records = read_metrics(tmp_path / "metrics.jsonl")
    saved = load_checkpoint(tmp_path / "last.pt")
    last = records[-1]
    for a, amp in enumerate(runner.discriminators):
        for name in ("loss", "real_loss", "fake_loss", "grad_penalty", "real_d", "fake_d"):
            assert f"amp/agent{a}/{name}" in last
        assert f"episode/amp_reward/agent{a}" in last and last[f"rollout/amp_reward/agent{a}"] > 0
        assert last[f"rollout/reward/agent{a}"] == pytest.approx(
            0.5 * last[f"rollout/task_reward/agent{a}"] + 0.5 * last[f"rollout/amp_reward/agent{a}"], rel=1e-5)
        # Straight-moving expert vs a noisy policy: the discriminator starts telling them apart
        # (slowly, held back by the gradient penalty), and the style reward falls.
        assert last[f"amp/agent{a}/real_d"] > last[f"amp/agent{a}/fake_d"] + 0.1
        assert last[f"rollout/amp_reward/agent{a}"] < records[0][f"rollout/amp_reward/agent{a}"] - 0.05
        assert len(runner.replay_buffers[a]) == 4096
        assert not torch.equal(amp.discriminator.logit.weight, initial_logits[a])
        assert_same_tensors(saved["amp"][a]["discriminator"], amp.discriminator.state_dict())

    resumed = make_runner(tmp_path, PointMassEnv(num_agents, amp=True), max_iterations=8, amp_enabled=True,
                          amp_updates_per_iteration=10)
    resumed.resume(tmp_path / "last.pt")
    for amp, restored in zip(runner.discriminators, resumed.discriminators):
        assert_same_tensors(restored.discriminator.state_dict(), amp.discriminator.state_dict())
        assert_same_tensors(restored.optimizer.state_dict()["state"][0], amp.optimizer.state_dict()["state"][0])


def test_amp_is_off_without_amp_observations_or_when_disabled(tmp_path):
    runner = make_runner(tmp_path / "a", PointMassEnv(1), max_iterations=1, amp_enabled=True)
    assert not runner.amp_enabled and not runner.discriminators
    runner = make_runner(tmp_path / "b", PointMassEnv(1, amp=True), max_iterations=1, amp_enabled=False)
    runner.learn()
    assert not any(name.startswith("amp/") or "amp_reward" in name for name in read_metrics(
        tmp_path / "b" / "metrics.jsonl")[0])


def test_setup_mistakes_are_clear_errors(tmp_path):
    env = PointMassEnv(2, amp=True)
    policy = ActorCritic([6], 2, POLICY)
    with pytest.raises(UserInputError, match="own policy object"):
        OnPolicyRunner(env, [policy, policy], PPO_CONFIG, AMP_CONFIG, runner_config(), tmp_path, "cpu")
    with pytest.raises(UserInputError, match="2 agents but 1 policies"):
        OnPolicyRunner(env, [policy], PPO_CONFIG, AMP_CONFIG, runner_config(), tmp_path, "cpu")
    with pytest.raises(UserInputError, match="takes 5 observations"):
        OnPolicyRunner(env, [policy, ActorCritic([5], 2, POLICY)], PPO_CONFIG, AMP_CONFIG, runner_config(),
                       tmp_path, "cpu")
    two = [ActorCritic([6], 2, POLICY) for _ in range(2)]
    with pytest.raises(UserInputError, match="num_steps=3 differs"):
        OnPolicyRunner(env, two, PPO_CONFIG, AMPConfig(num_steps=3), runner_config(amp_enabled=True), tmp_path, "cpu")
    with pytest.raises(UserInputError, match="no AMP config"):
        OnPolicyRunner(env, two, PPO_CONFIG, None, runner_config(amp_enabled=True), tmp_path, "cpu")
    with pytest.raises(UserInputError, match="save_interval must be at least 1"):
        OnPolicyRunner(env, two, PPO_CONFIG, None, runner_config(save_interval=0), tmp_path, "cpu")

    runner = make_runner(tmp_path, PointMassEnv(1), max_iterations=1)
    runner.learn()
    other = OnPolicyRunner(PointMassEnv(1), [ActorCritic([6], 2, PolicyConfig(
        actor_hidden=[32], critic_hidden=[32], activation="elu", init_log_std=-0.5, learn_log_std=True))],
        PPO_CONFIG, None, runner_config(), tmp_path / "other", "cpu")
    with pytest.raises(UserInputError, match="agent 0's policy in checkpoint .* has the architecture"):
        other.resume(tmp_path / "last.pt")


def test_time_outs_are_bootstrapped_with_the_critic_value_of_the_final_observation(tmp_path):
    class RecordingEnv(PointMassEnv):
        def step(self, actions):
            result = super().step(actions)
            self.record.append(result)
            return result

    env = RecordingEnv(2)
    env.record = []
    runner = make_runner(tmp_path, env)
    runner._collect(env.reset(), EpisodeStatistics(env.num_envs, env.num_agents, torch.device("cpu")))
    assert len(env.record) == 16 and any(step.truncated.any() for step in env.record)
    for a, (policy, storage) in enumerate(zip(runner.policies, runner.storages)):
        for t, step in enumerate(env.record):
            expected = torch.where(step.truncated, policy.value(step.final_obs[a]), 0.0)
            torch.testing.assert_close(storage.final_values[t], expected)
            assert torch.equal(storage.rewards[t], 0.5 * step.rewards[:, a])
            assert torch.equal(storage.truncated[t], step.truncated)
            assert torch.equal(storage.terminated[t], step.terminated)


def test_sequential_training_updates_only_the_agent_whose_turn_it_is(tmp_path):
    env = PointMassEnv(2, amp=True)
    runner = make_runner(tmp_path, env, max_iterations=4, sequential_period=2, amp_enabled=True)
    start = [{k: v.clone() for k, v in p.state_dict().items()} for p in runner.policies]
    disc_start = [{k: v.clone() for k, v in amp.discriminator.state_dict().items()} for amp in runner.discriminators]
    runner.config.max_iterations = 2
    runner.learn()  # iterations 1-2: agent 0's turn
    assert not torch.equal(runner.policies[0].state_dict()["actor_mlp.0.weight"], start[0]["actor_mlp.0.weight"])
    assert_same_tensors(runner.policies[1].state_dict(), start[1])  # weights and normaliser frozen
    assert_same_tensors(runner.discriminators[1].discriminator.state_dict(), disc_start[1])
    frozen_agent0 = {k: v.clone() for k, v in runner.policies[0].state_dict().items()}
    runner.config.max_iterations = 4
    runner.learn()  # iterations 3-4: agent 1's turn
    assert_same_tensors(runner.policies[0].state_dict(), frozen_agent0)
    assert not torch.equal(runner.policies[1].state_dict()["actor_mlp.0.weight"], start[1]["actor_mlp.0.weight"])
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert "ppo/agent1/value_loss" not in records[0] and "ppo/agent0/value_loss" not in records[-1]


def test_updates_run_with_update_threads_and_collection_keeps_torchs_setting(tmp_path, monkeypatch):
    runner = make_runner(tmp_path, PointMassEnv(1), max_iterations=1, update_threads=3)
    seen = {}
    update = runner._update
    monkeypatch.setattr(runner, "_update", lambda: seen.setdefault("threads", torch.get_num_threads()) and update())
    before = torch.get_num_threads()
    runner.learn()
    assert seen["threads"] == 3 and torch.get_num_threads() == before
    with pytest.raises(UserInputError, match="update_threads must be 0"):
        make_runner(tmp_path / "bad", PointMassEnv(1), update_threads=-1)


def test_time_out_values_need_no_host_sync_with_a_sync_free_env():
    """With a sync-free env (here on `meta`, where any host sync raises) every world's value is computed and masked."""
    policy = ActorCritic([6], 2, POLICY).to("meta")
    obs = torch.empty(5, 6, device="meta")
    flags = torch.empty(5, dtype=torch.bool, device="meta")
    step = StepResult(obs=[obs], rewards=torch.empty(5, 1, device="meta"), terminated=flags, truncated=flags,
                      final_obs=[obs])
    values = OnPolicyRunner._final_values(SimpleNamespace(env=SimpleNamespace(sync_free=True)), policy, step, 0)
    assert values.device.type == "meta" and values.shape == (5,)


def mean_action_distance(policy: ActorCritic, anchor: ActorCritic, probe: torch.Tensor) -> float:
    with torch.no_grad():
        return (policy.action_mean(probe) - anchor.action_mean(probe)).square().mean().item()


def test_an_anchor_checkpoint_holds_the_policy_near_its_actions(tmp_path):
    """Continued from a checkpoint with that checkpoint as anchor, the policy moves less from its actions than
    without one, and the anchor's KL is logged and falls with a larger coefficient; at coefficient 0 the KL is only
    logged: the run trains exactly as one without an anchor."""
    start = make_runner(tmp_path / "start", PointMassEnv(1), max_iterations=3)
    start.learn()
    anchor = ActorCritic.from_saved_state(load_checkpoint(tmp_path / "start" / "last.pt")["policies"][0])
    probe = torch.cat([torch.rand(256, 4) * 2 - 1, torch.rand(256, 2) * 2 - 1], 1)
    distances, kls = {}, {}
    for coef in (None, 0.0, 1.0, 30.0):
        run_dir = tmp_path / f"coef{coef}"
        anchored = {} if coef is None else {"anchor_checkpoint": str(tmp_path / "start" / "last.pt"),
                                            "anchor_kl_coef": coef}
        runner = make_runner(run_dir, PointMassEnv(1, seed=5), max_iterations=8, **anchored)
        runner.resume(tmp_path / "start" / "last.pt")
        runner.learn()
        distances[coef] = mean_action_distance(runner.policies[0], anchor, probe)
        records = read_metrics(run_dir / "metrics.jsonl")
        kls[coef] = sum(r.get("ppo/agent0/anchor_kl", float("nan")) for r in records[-3:]) / 3
    assert distances[0.0] == pytest.approx(distances[None], rel=1e-6) and kls[0.0] > 0.0, (distances, kls)
    assert math.isnan(kls[None]), kls
    assert distances[30.0] < 0.3 * distances[None], distances
    assert distances[30.0] < distances[1.0] < distances[None], distances
    assert kls[30.0] < kls[1.0] < kls[0.0], kls


class HalvesEnv(PointMassEnv):
    """PointMassEnv whose worlds belong to the family "east" (target x > 0) or "west"."""

    def world_families(self) -> tuple[list[str], torch.Tensor]:
        return ["east", "west"], (self.target[:, 0] <= 0).long()


@pytest.mark.parametrize("sync_free", [False, True])
def test_family_anchors_hold_each_familys_worlds_near_their_own_checkpoint(tmp_path, sync_free):
    """Continued from checkpoint A with A as anchor and B as the "east" family's: on east worlds' observations the
    policy moves to B's actions, on west worlds' it stays near A's (with a sync-free env, every world goes through
    B and is masked; else only the east worlds)."""
    for name, seed in (("a", 0), ("b", 1)):
        make_runner(tmp_path / name, PointMassEnv(1), policy_seed=seed, max_iterations=3).learn()
    a, b = (ActorCritic.from_saved_state(load_checkpoint(tmp_path / name / "last.pt")["policies"][0]) for name in "ab")
    env = HalvesEnv(1, seed=5)
    env.sync_free = sync_free
    runner = make_runner(tmp_path / "run", env, max_iterations=30, anchor_kl_coef=30.0,
                         anchor_checkpoint=str(tmp_path / "a" / "last.pt"),
                         anchor_families={"east": str(tmp_path / "b" / "last.pt")})
    runner.resume(tmp_path / "a" / "last.pt")
    runner.learn()
    probe = torch.cat([torch.rand(512, 4) * 2 - 1, torch.rand(512, 2) * 2 - 1], 1)
    east, west = probe[probe[:, 4] > 0], probe[probe[:, 4] <= 0]
    policy = runner.policies[0]
    apart = {side: mean_action_distance(a, b, obs) for side, obs in (("east", east), ("west", west))}
    assert mean_action_distance(policy, b, east) < 0.2 * apart["east"], apart
    assert mean_action_distance(policy, a, west) < 0.2 * apart["west"], apart
    assert mean_action_distance(policy, a, east) > 0.5 * apart["east"], apart


def test_family_anchor_mistakes_are_clear_errors(tmp_path):
    make_runner(tmp_path / "start", PointMassEnv(1), max_iterations=1).learn()
    start = str(tmp_path / "start" / "last.pt")
    with pytest.raises(UserInputError, match="anchor_families needs an anchor_checkpoint"):
        make_runner(tmp_path, HalvesEnv(1), anchor_families={"east": start})
    with pytest.raises(UserInputError, match="needs an env whose worlds track clips of motion families"):
        make_runner(tmp_path, PointMassEnv(1), anchor_checkpoint=start, anchor_families={"east": start})
    with pytest.raises(UserInputError, match="names the family 'north', which no training clip has .*east, west"):
        make_runner(tmp_path, HalvesEnv(1), anchor_checkpoint=start, anchor_families={"north": start})
    make_runner(tmp_path / "pair", PointMassEnv(2), max_iterations=1).learn()
    with pytest.raises(UserInputError, match="anchor_families.east .* holds 1 policies; this run has 2 agents"):
        make_runner(tmp_path, HalvesEnv(2), anchor_checkpoint=str(tmp_path / "pair" / "last.pt"),
                    anchor_families={"east": start})


def test_anchor_mistakes_are_clear_errors(tmp_path):
    make_runner(tmp_path / "start", PointMassEnv(1), max_iterations=1).learn()
    with pytest.raises(UserInputError, match="anchor_kl_coef > 0 needs an anchor_checkpoint"):
        make_runner(tmp_path, PointMassEnv(1), anchor_kl_coef=1.0)
    with pytest.raises(UserInputError, match="holds 1 policies; this run has 2 agents"):
        make_runner(tmp_path, PointMassEnv(2), anchor_checkpoint=str(tmp_path / "start" / "last.pt"))
    with pytest.raises(UserInputError, match="does not exist"):
        make_runner(tmp_path, PointMassEnv(1), anchor_checkpoint=str(tmp_path / "nowhere.pt"))
