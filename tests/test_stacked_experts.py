"""Several experts in one batch (`rl/stacked.py`, `stage=experts stage.batch_experts=K`): the stacked policy acts as
each expert on its own block of worlds, one stacked PPO / AMP step equals K independent ones, and the stage trains
experts that later stages read like `stage=expert`'s, resumes, and rejects bad settings in one sentence."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest
import torch
from hydra import compose, initialize_config_dir
from joblib import parallel_config
from omegaconf import OmegaConf

from assistmimic.envs.assist import AssistEnv
from assistmimic.rl.amp import AMP, AMPReplayBuffer
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.ppo import PPO
from assistmimic.rl.stacked import (
    StackedActorCritic,
    StackedAMP,
    StackedPPO,
    StackedReplayBuffer,
    StackedRunner,
    merge_experts,
    split_experts,
)
from assistmimic.rl.storage import RolloutStorage
from assistmimic.stages import experts
from assistmimic.stages.config import ExpertsConfig, RunConfig, register_configs
from distill.experts import ExpertSet
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import write_clips
from tests.conftest import REPO
from tests.test_experts_stage import SHARD_VARIABLES
from tests.test_motion_library import two_person_clip
from tests.test_run_cli import assert_one_clear_error, run_cli

POLICY = PolicyConfig(actor_hidden=[32, 16], critic_hidden=[24, 16], activation="silu", init_log_std=-0.5,
                      learn_log_std=True)
OBS_DIMS, ACTION_DIM = (5, 3), 2
CLOSE = {"rtol": 1e-5, "atol": 1e-6}


@pytest.fixture(autouse=True)
def no_shard_environment(monkeypatch):
    for name in SHARD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def policies_of_experts(k: int, seed: int = 0) -> list[ActorCritic]:
    """K policies of one architecture with their own weights and normaliser statistics."""
    torch.manual_seed(seed)
    policies = [ActorCritic(OBS_DIMS, ACTION_DIM, POLICY) for _ in range(k)]
    for i, policy in enumerate(policies):
        policy.update_normalizers(torch.randn(64, sum(OBS_DIMS)) * (1 + i) + i)
    return policies


def test_stacked_policy_acts_as_each_expert_on_its_block_and_unstacks_exactly():
    policies = policies_of_experts(3)
    stacked = StackedActorCritic(policies, worlds_per_expert=4)
    obs = torch.randn(12, sum(OBS_DIMS)) * 2
    actions = torch.randn(12, ACTION_DIM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every op has a vmap batching rule: no slow loop over the experts
        _, log_probs, values, mean = stacked.act(obs)
        evaluated = stacked.evaluate(obs, actions)
        of_normalized = stacked.evaluate_normalized(merge_experts(stacked.normalized_obs(split_experts(obs, 3))), actions)
    for got, expected in zip(of_normalized, evaluated):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert stacked.action_std().shape == (12, ACTION_DIM) and stacked.obs_normalizer.dim == sum(OBS_DIMS)
    for k, policy in enumerate(policies):
        block = slice(4 * k, 4 * k + 4)
        torch.testing.assert_close(mean[block], policy.act_deterministic(obs[block]), **CLOSE)
        torch.testing.assert_close(values[block], policy.value(obs[block]), **CLOSE)
        torch.testing.assert_close(stacked.value(obs)[block], policy.value(obs[block]), **CLOSE)
        for got, expected in zip(evaluated, policy.evaluate(obs[block], actions[block])):
            torch.testing.assert_close(got[block], expected, **CLOSE)
        torch.testing.assert_close(stacked.action_std()[block], policy.action_std().expand(4, -1), rtol=0, atol=0)
        unstacked = stacked.expert(k)
        assert unstacked.spec() == policy.spec()
        for name, tensor in policy.state_dict().items():
            assert torch.equal(unstacked.state_dict()[name], tensor), name
    # Sampled actions have each expert's log-probability under its own distribution.
    sampled, log_probs, _, _ = stacked.act(obs)
    for k, policy in enumerate(policies):
        block = slice(4 * k, 4 * k + 4)
        torch.testing.assert_close(log_probs[block], policy.evaluate(obs[block], sampled[block])[0], **CLOSE)
    # Each expert's normaliser learns from its own worlds only.
    rollout = torch.randn(5, 12, sum(OBS_DIMS))
    stacked.update_normalizers(rollout)
    for k, policy in enumerate(policies):
        policy.update_normalizers(rollout[:, 4 * k:4 * k + 4])
        for name in ("mean", "var", "count"):
            torch.testing.assert_close(getattr(stacked.expert(k).obs_normalizer, name),
                                       getattr(policy.obs_normalizer, name), rtol=1e-12, atol=1e-12)


ROLLOUT = ("obs", "actions", "log_probs", "values", "mus", "sigmas", "rewards", "terminated", "truncated", "final_values")


@torch.no_grad()
def rollout(policy: StackedActorCritic, obs: torch.Tensor, rewards: torch.Tensor, terminated: torch.Tensor
            ) -> RolloutStorage:
    """A rollout (T, N) of `policy` on given observations and rewards, returns computed."""
    horizon, num_envs = rewards.shape
    storage = RolloutStorage(horizon, num_envs, obs.shape[-1], ACTION_DIM, None, "cpu")
    for t in range(horizon):
        actions, log_probs, values, mus = policy.act(obs[t])
        storage.add(obs=obs[t], actions=actions, log_probs=log_probs, values=values, mus=mus,
                    sigmas=policy.action_std(), rewards=rewards[t], terminated=terminated[t],
                    truncated=torch.zeros(num_envs, dtype=torch.bool), final_values=torch.zeros(num_envs))
    storage.compute_returns(policy.value(obs[-1]), gamma=0.9, lam=0.9)
    return storage


def block_of(storage: RolloutStorage, block: slice) -> RolloutStorage:
    """The worlds `block` of a rollout as a storage of their own (same samples; GAE is per world, so the same returns)."""
    part = RolloutStorage(storage.horizon, block.stop - block.start, storage.obs.shape[-1], ACTION_DIM, None, "cpu")
    for t in range(storage.horizon):
        part.add(**{name: getattr(storage, name)[t, block] for name in ROLLOUT})
    part.compute_returns(torch.zeros(part.num_envs), gamma=0.9, lam=0.9)
    part.advantages.copy_(storage.advantages[:, block])
    part.returns.copy_(storage.returns[:, block])
    return part


def test_stacked_ppo_step_equals_independent_ppo_updates(monkeypatch):
    k, horizon, worlds = 3, 4, 8
    policies = policies_of_experts(k)
    stacked = StackedActorCritic(policies, worlds)
    torch.manual_seed(1)
    # Expert 0 sees large rewards (its gradients get clipped), expert 2 tiny ones on tiny observations.
    scale = torch.tensor([30.0, 1.0, 0.01]).repeat_interleave(worlds)
    obs = torch.randn(horizon, k * worlds, sum(OBS_DIMS)) * scale[:, None].clamp(min=0.1)
    rewards = torch.randn(horizon, k * worlds) * scale
    terminated = torch.rand(horizon, k * worlds) < 0.1
    torch.manual_seed(2)
    stacked_storage = rollout(stacked, obs, rewards, terminated)
    storages = [block_of(stacked_storage, slice(e * worlds, (e + 1) * worlds)) for e in range(k)]
    config = PPOConfig(horizon=horizon, minibatch_size=8, num_epochs=3, learning_rate=3e-3, lr_schedule="adaptive_kl",
                       desired_kl=0.002, critic_coef=1.0, max_grad_norm=2.0, entropy_coef=0.01)
    learner = StackedPPO(stacked, config)
    torch.manual_seed(3)
    stats = learner.update(stacked_storage, progress=0.0)

    norms: list[list[float]] = []
    real_clip = torch.nn.utils.clip_grad_norm_
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda *a, **kw: norms[-1].append(float(real_clip(*a, **kw))))
    independent_lr, logged_lr = [], []
    for policy, storage in zip(policies, storages):
        norms.append([])
        torch.manual_seed(3)  # the same shuffles as the stacked update
        ppo = PPO(policy, config)
        logged_lr.append(ppo.update(storage, progress=0.0)["learning_rate"])
        independent_lr.append(ppo.learning_rate)
    assert max(norms[0]) > config.max_grad_norm > max(norms[2]), norms  # clipping on for one expert, off for another
    assert learner.learning_rate.tolist() == pytest.approx(independent_lr, rel=1e-9)
    assert len(set(independent_lr)) > 1, independent_lr  # the adaptive rate moved differently per expert
    assert stats["learning_rate"] == pytest.approx(sum(logged_lr) / k, rel=1e-6)  # mean over minibatches and experts
    for e, policy in enumerate(policies):
        for name, tensor in policy.state_dict().items():
            torch.testing.assert_close(stacked.expert(e).state_dict()[name], tensor, rtol=1e-5, atol=1e-5, msg=name)
    assert stats["approx_kl_max"] >= stats["approx_kl"] > 0 and stats["grad_norm"] > 0
    # Expert k's optimiser state in PPO's own format, loadable by a PPO learner of the unstacked expert.
    ppo = PPO(stacked.expert(1), config)
    ppo.load_state_dict(learner.expert_state_dict(1))
    assert ppo.learning_rate == pytest.approx(independent_lr[1])


def test_stacked_amp_step_equals_independent_amp_updates():
    k, step_dim = 2, 3
    config = AMPConfig(num_steps=2, hidden=[16, 8], activation="relu", learning_rate=1e-2, grad_penalty=5.0,
                       logit_reg=0.01, weight_decay=1e-3, reward_scale=2.0, replay_size=64)
    torch.manual_seed(0)
    stacked = StackedAMP(k, step_dim, config)
    singles = []
    for e in range(k):
        amp = AMP(step_dim, config)
        amp.discriminator.load_state_dict(stacked.discriminator.load_expert_into(
            e, amp.discriminator.__class__(step_dim, config)).state_dict())
        singles.append(amp)
    replay = StackedReplayBuffer(k, config.replay_size, config.num_steps, step_dim, "cpu")
    single_replays = [AMPReplayBuffer(config.replay_size, config.num_steps, step_dim, "cpu") for _ in range(k)]
    for step in range(3):
        fake = torch.randn(k * 16, config.num_steps, step_dim) + torch.arange(k).repeat_interleave(16)[:, None, None]
        replay.add(fake)
        for e in range(k):
            single_replays[e].add(fake[16 * e:16 * e + 16])
        real = torch.randn(k, 20, config.num_steps, step_dim) * (1 + step)
        torch.manual_seed(step)
        fakes = replay.sample(20, None)
        assert fakes.shape == (k, 20, config.num_steps, step_dim)
        stats = stacked.update(real, fakes)
        for e in range(k):
            assert all((fakes[e][:, None] == single_replays[e].data[None]).flatten(2).all(-1).any(-1))  # its own data
            singles[e].update(real[e], fakes[e])
    for e, amp in enumerate(singles):
        expert = stacked.expert_state_dict(e)
        for name, tensor in amp.discriminator.state_dict().items():
            torch.testing.assert_close(expert["discriminator"][name], tensor, rtol=1e-5, atol=1e-6, msg=name)
        amp.load_state_dict(expert)  # AMP's own format
    amp_obs = torch.randn(k * 5, config.num_steps, step_dim)
    rewards = stacked.reward(amp_obs)
    for e, amp in enumerate(singles):
        torch.testing.assert_close(rewards[5 * e:5 * e + 5], amp.reward(amp_obs[5 * e:5 * e + 5]), **CLOSE)
    assert set(stats) == {"real_loss", "fake_loss", "grad_penalty", "logit_reg", "weight_decay", "loss", "real_d", "fake_d"}


def test_stacking_experts_of_different_architectures_is_one_clear_error():
    other = ActorCritic(OBS_DIMS, ACTION_DIM, PolicyConfig(actor_hidden=[8], critic_hidden=[24, 16], learn_log_std=True))
    with pytest.raises(UserInputError, match="experts trained in one batch need one architecture; expert 1 has"):
        StackedActorCritic([*policies_of_experts(1), other], 4)
    with pytest.raises(UserInputError, match="at least one world"):
        StackedActorCritic(policies_of_experts(2), 0)
    assert split_experts(torch.arange(6), 3).tolist() == [[0, 1], [2, 3], [4, 5]]


def test_runner_checks_that_the_experts_fill_the_worlds(tmp_path):
    from tests.test_runner import AMP_CONFIG, PPO_CONFIG, PointMassEnv, runner_config

    policies = [StackedActorCritic([ActorCritic([6], 2, POLICY) for _ in range(2)], 4) for _ in range(2)]
    with pytest.raises(UserInputError, match="2 experts of 4 worlds need 8 worlds; the env has 10"):
        StackedRunner(PointMassEnv(2, num_envs=10), policies, PPO_CONFIG, AMP_CONFIG, runner_config(), tmp_path, "cpu")
    with pytest.raises(UserInputError, match="must be split into 2 clip groups"):
        StackedRunner(PointMassEnv(2, num_envs=8), policies, PPO_CONFIG, AMP_CONFIG, runner_config(), tmp_path, "cpu")
    with pytest.raises(UserInputError, match="each expert's rollout of 32 samples .* minibatches of 512"):
        StackedPPO(policies[0], PPO_CONFIG).num_minibatches(64)
    with pytest.raises(UserInputError, match="normalize_value is not supported by batched experts"):
        StackedPPO(policies[0], dataclasses.replace(PPO_CONFIG, normalize_value=True))
    with pytest.raises(UserInputError, match=r"adam_betas=\[0.99, 0.99\] is not supported by batched experts"):
        StackedPPO(policies[0], dataclasses.replace(PPO_CONFIG, adam_betas=[0.99, 0.99]))


def test_batched_resume_keeps_adapted_rates_and_a_constant_schedule_takes_the_configs():
    from tests.test_runner import PPO_CONFIG

    stacked = StackedActorCritic([ActorCritic([6], 2, POLICY) for _ in range(2)], 4)
    adaptive = StackedPPO(stacked, dataclasses.replace(PPO_CONFIG, lr_schedule="adaptive_kl"))
    adaptive.learning_rate = torch.tensor([8e-6, 6e-6], dtype=torch.float64)  # as adapted by the run's updates
    saved = adaptive.state_dict()
    for schedule, expected in (("adaptive_kl", [8e-6, 6e-6]), ("constant", [4e-6, 4e-6])):
        resumed = StackedPPO(stacked, dataclasses.replace(PPO_CONFIG, lr_schedule=schedule, learning_rate=4e-6))
        resumed.load_state_dict(saved)
        assert resumed.learning_rate.tolist() == expected, schedule


DEMO = REPO / "data" / "demo" / "assist.pkl"
TINY = ["num_envs=8", "stage.ppo.horizon=8", "stage.ppo.minibatch_size=32", "stage.ppo.num_epochs=2",
        "stage.amp.hidden=[32]", "stage.runner.amp_batch_size=32", "stage.runner.amp_updates_per_iteration=2",
        "stage.runner.save_interval=1", "sim.nthread=1", "stage.evaluate=false"]


def experts_config(run_dir, *overrides: str) -> RunConfig:
    """The typed config of `stage=experts` as the command line builds it (configs/ and Hydra overrides)."""
    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["stage=experts", f"data={DEMO}", f"run_dir={run_dir}", *TINY,
                                                       *overrides])
    return OmegaConf.to_object(cfg)


def test_experts_trained_in_one_batch_play_their_own_clips_resume_and_load_like_stage_expert(tmp_path, monkeypatch):
    played = []
    real_step = AssistEnv.step

    def recording_step(env, actions):
        played.append([env.library.clip_names[i] for i in env.clip_ids.tolist()])
        return real_step(env, actions)

    monkeypatch.setattr(AssistEnv, "step", recording_step)
    run_dir = tmp_path / "run"
    summary = experts.run(experts_config(run_dir, "max_iterations=2", "stage.batch_experts=2"), run_dir)
    names = ["help_up_from_floor", "support_rise_from_chair"]
    assert summary["trained"] == names and summary["failed"] == {} and list(summary["batches"].values()) == [names]
    # One batch of 16 worlds: worlds 0-7 play expert 0's clip only, worlds 8-15 expert 1's.
    assert len(played) == 2 * 8 and all(len(worlds) == 16 for worlds in played)
    assert {clip for worlds in played for clip in worlds[:8]} == {names[0]}
    assert {clip for worlds in played for clip in worlds[8:]} == {names[1]}

    loaded = ExpertSet.load(run_dir, "smpl")
    assert loaded.names == names and loaded.clip_names == names
    weights = []
    for name in names:
        expert_dir = run_dir / "experts" / name
        saved = torch.load(expert_dir / "last.pt", weights_only=True)
        start = torch.load(expert_dir / "start.pt", weights_only=True)
        assert saved["iteration"] == 2 and saved["metadata"]["clips"] == [name] and saved["metadata"]["task"] == "assist"
        assert set(saved["metadata"]) == set(start["metadata"]) == {"task", "env_config", "robot", "data", "clips",
                                                                     "clips_digest", "prior", "prior_sha256", "scene",
                                                                     "impairment"}
        assert json.loads((expert_dir / "summary.json").read_text())["finished"] is True
        assert OmegaConf.load(expert_dir / "config.yaml").stage.clips == [name]
        for a in range(2):
            trained = saved["policies"][a]["state_dict"]["actor_mlp.0.weight"]
            assert not torch.equal(trained, start["policies"][a]["state_dict"]["actor_mlp.0.weight"])
        weights.append(saved["policies"][0]["state_dict"]["actor_mlp.0.weight"])
    assert not torch.equal(weights[0], weights[1])
    assert json.loads((run_dir / "experts" / "index.json").read_text()) == {
        name: {"clips": [name], "checkpoint": f"{name}/last.pt"} for name in names}

    # A crash after the batch's checkpoint of iteration 2, before the experts were written: the batch resumes.
    (batch,) = (run_dir / "batches").iterdir()
    for name in names:
        for file in ("last.pt", "summary.json"):
            (run_dir / "experts" / name / file).unlink()
    summary = experts.run(experts_config(run_dir, "max_iterations=4", "stage.batch_experts=2"), run_dir)
    assert summary["resumed"] == names and summary["trained"] == names
    assert [json.loads(line)["iteration"] for line in (batch / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    record = json.loads((batch / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"expert0/rollout_reward/agent0", "expert1/rollout_reward/agent1", "ppo/agent0/approx_kl"} <= record.keys()
    assert torch.load(run_dir / "experts" / names[1] / "last.pt", weights_only=True)["iteration"] == 4
    assert len(ExpertSet.load(run_dir, "smpl").names) == 2


def test_bad_batch_size_is_one_clear_error(tmp_path):
    result = run_cli("stage=experts", "stage.batch_experts=0", f"data={DEMO}", f"run_dir={tmp_path / 'run'}",
                     tmp_path=tmp_path)
    assert_one_clear_error(result, "stage.batch_experts=0 is not allowed: it must be >= 1")


def test_experts_are_cut_into_batches_and_a_failing_batch_fails_all_its_experts(tmp_path, monkeypatch):
    clips_file = tmp_path / "clips.pkl"
    write_clips(clips_file, [two_person_clip(name, frames=12) for name in ("e", "d", "c", "b", "a")])
    run_dir = tmp_path / "run"
    (run_dir / "experts" / "c").mkdir(parents=True)
    torch.save({"iteration": 1}, run_dir / "experts" / "c" / "last.pt")  # trained alone before: resumes alone
    calls = []

    def fake_batch(configs, batch):
        calls.append((list(configs), batch))
        if "d" in configs:
            raise RuntimeError("simulation diverged")
        return {name: {"iterations": 3, "batch": str(batch)} for name in configs}

    monkeypatch.setattr(experts, "_train_batch", fake_batch)
    monkeypatch.setattr(experts, "_train_one", lambda cfg, expert_dir: calls.append(([expert_dir.name], None)) or {})
    with parallel_config(backend="threading"):
        summary = experts.run(RunConfig(data=str(clips_file), stage=ExpertsConfig(batch_experts=2, n_jobs=2)), run_dir)
    assert sorted(calls, key=str) == sorted([(["a", "b"], experts.batch_dir(run_dir, ["a", "b"])), (["c"], None),
                                             (["d", "e"], experts.batch_dir(run_dir, ["d", "e"]))], key=str)
    assert summary["trained"] == ["a", "b", "c"] and summary["resumed"] == ["c"]
    assert summary["failed"] == {"d": "RuntimeError: simulation diverged", "e": "RuntimeError: simulation diverged"}
    assert experts.batch_dir(run_dir, ["a", "b"]).name.startswith("a-2-")
    assert json.loads((run_dir / "experts" / "a" / "summary.json").read_text())["finished"] is True
    assert sorted(json.loads((run_dir / "experts" / "index.json").read_text())) == ["a", "b", "c"]


def test_batched_experts_take_no_anchor_checkpoint(tmp_path):
    """Their learner has no anchor loss: one clear sentence before anything is built."""
    with pytest.raises(UserInputError, match="anchor_checkpoint is not available here: the batched experts"):
        StackedRunner(None, [], PPOConfig(), AMPConfig(), RunnerConfig(anchor_checkpoint="prior.pt"), tmp_path, "cpu")
