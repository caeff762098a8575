"""Learning core: GAE by hand, normaliser statistics, minibatch coverage, PPO and AMP learn, checkpoints, widening."""

from __future__ import annotations

import dataclasses
import os
import random

import numpy as np
import pytest
import torch

from assistmimic.rl.amp import AMP, AMPReplayBuffer
from assistmimic.rl.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig
from assistmimic.rl.gae import compute_gae
from assistmimic.rl.normalizer import RunningMeanStd, batch_moments
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.ppo import PPO, adaptive_learning_rate, anchor_kl, bounds_loss, gaussian_kl, linear_learning_rate
from assistmimic.rl.storage import RolloutStorage
from motion_lib.errors import UserInputError
from phc_prior.widening import widen_policy_inputs

SMALL = PolicyConfig(actor_hidden=[32, 16], critic_hidden=[24, 16], activation="silu", init_log_std=-0.5,
                     learn_log_std=True)


def test_gae_matches_hand_computed_values():
    # gamma = lam = 0.5, so gamma * lam = 0.25. Env 0 runs on (bootstrap 2 after the last step);
    # env 1 times out at t=1 (true next value 4 bootstrapped, no recursion across); env 2 terminates
    # at t=2 (flagged truncated too: termination wins, its next value 8 is ignored).
    rewards = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [1.0, 1.0, 4.0], [1.0, 1.0, 1.0]])
    values = torch.tensor([[0.0, 1.0, 2.0]] * 4)
    next_values = torch.tensor([[0.0, 1.0, 2.0], [0.0, 4.0, 2.0], [0.0, 1.0, 8.0], [2.0, 1.0, 2.0]])
    terminated = torch.zeros(4, 3, dtype=torch.bool)
    truncated = torch.zeros(4, 3, dtype=torch.bool)
    truncated[1, 1] = True
    terminated[2, 2] = truncated[2, 2] = True
    advantages, returns = compute_gae(rewards, values, next_values, terminated, truncated, gamma=0.5, lam=0.5)
    # env 0: deltas 1, 1, 1, 2  -> A3 = 2, A2 = 1 + .25*2 = 1.5, A1 = 1.375, A0 = 1.34375
    # env 1: deltas .5, 2, .5, .5 -> A3 = .5, A2 = .625, A1 = 2 (boundary), A0 = .5 + .25*2 = 1
    # env 2: deltas -1, 1, 2, 0 -> A3 = 0, A2 = 2 (terminal), A1 = 1 + .25*2 = 1.5, A0 = -1 + .25*1.5 = -.625
    expected = torch.tensor([[1.34375, 1.0, -0.625], [1.375, 2.0, 1.5], [1.5, 0.625, 2.0], [2.0, 0.5, 0.0]])
    torch.testing.assert_close(advantages, expected, rtol=0, atol=0)
    torch.testing.assert_close(returns, expected + values, rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(1, 5), (3000, 400), (3, 700, 300)], ids=["one row", "chunks", "stacked chunks"])
def test_batch_moments_equal_float64_var_mean(shape):
    """Over several cache-sized chunks (3000 x 400 values are 3 chunks) and with leading (expert) dimensions."""
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0)) * 4.0 + 100.0
    mean, var = batch_moments(x)
    expected_var, expected_mean = torch.var_mean(x.double(), dim=-2, unbiased=False)
    assert mean.dtype == var.dtype == torch.float64 and mean.shape == expected_mean.shape
    torch.testing.assert_close(mean, expected_mean, rtol=1e-13, atol=0)
    torch.testing.assert_close(var, expected_var, rtol=1e-11, atol=1e-14)


def test_normalizer_matches_numpy_over_batches_and_can_be_frozen():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (n, 4)) * np.array([1.0, 10.0, 0.1, 1.0]) for n in (1, 7, 50, 13)]
    norm = RunningMeanStd(4)
    for batch in batches:
        norm.update(torch.as_tensor(batch, dtype=torch.float32))
    data = np.concatenate(batches).astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(norm.mean.numpy(), data.mean(0), rtol=1e-10)
    np.testing.assert_allclose(norm.var.numpy(), data.var(0), rtol=1e-10)
    assert float(norm.count) == len(data)

    x = torch.as_tensor(data[:5], dtype=torch.float32)
    expected = np.clip((data[:5] - data.mean(0)) / np.sqrt(data.var(0) + 1e-5), -5, 5)
    np.testing.assert_allclose(norm(x).numpy(), expected, atol=1e-5)
    assert norm(torch.full((1, 4), 1e6)).max() == 5.0

    restored = RunningMeanStd(4)
    restored.load_state_dict(norm.state_dict())
    assert torch.equal(restored(x), norm(x))
    norm.frozen = True
    norm.update(torch.randn(10, 4))
    assert torch.equal(norm.mean, restored.mean) and float(norm.count) == len(data)


def test_minibatches_cover_every_sample_once_per_epoch():
    horizon, num_envs = 4, 6
    storage = RolloutStorage(horizon, num_envs, obs_dim=1, action_dim=2, critic_obs_dim=3, device="cpu")
    ids = torch.arange(horizon * num_envs, dtype=torch.float32).reshape(horizon, num_envs)
    for t in range(horizon):
        storage.add(obs=ids[t, :, None], critic_obs=ids[t, :, None].expand(-1, 3), actions=torch.zeros(num_envs, 2),
                    log_probs=torch.zeros(num_envs), values=ids[t], mus=torch.zeros(num_envs, 2),
                    sigmas=torch.ones(2), rewards=torch.ones(num_envs), terminated=torch.zeros(num_envs, dtype=bool),
                    truncated=torch.zeros(num_envs, dtype=bool), final_values=torch.zeros(num_envs))
    storage.compute_returns(torch.zeros(num_envs), gamma=0.9, lam=0.9)
    batches = list(storage.minibatches(num_minibatches=3, epochs=2, generator=torch.Generator().manual_seed(0)))
    assert len(batches) == 6
    for epoch in (batches[:3], batches[3:]):
        seen = torch.cat([b.obs[:, 0] for b in epoch])
        assert sorted(seen.tolist()) == list(range(horizon * num_envs))
        for b in epoch:
            assert b.obs.shape == (8, 1) and torch.equal(b.values, b.obs[:, 0])
            assert torch.equal(b.critic_obs[:, 0], b.obs[:, 0])
            torch.testing.assert_close(b.returns, b.advantages + b.values)
    assert not torch.equal(torch.cat([b.obs for b in batches[:3]]), torch.cat([b.obs for b in batches[3:]]))


def test_learning_rate_schedules_and_bounds_loss():
    assert linear_learning_rate(1e-3, 1e-5, 0.5) == pytest.approx(5.05e-4)
    assert adaptive_learning_rate(1e-3, kl=0.1, desired_kl=0.008, min_lr=1e-6, max_lr=1e-2) == pytest.approx(1e-3 / 1.5)
    assert adaptive_learning_rate(1e-3, kl=0.001, desired_kl=0.008, min_lr=1e-6, max_lr=1e-2) == pytest.approx(1.5e-3)
    assert adaptive_learning_rate(1e-3, kl=0.008, desired_kl=0.008, min_lr=1e-6, max_lr=1e-2) == 1e-3
    mu = torch.tensor([[0.5, 1.6, -2.1]])
    assert float(bounds_loss(mu, 1.1)) == pytest.approx(0.5**2 + 1.0**2)


def test_anchor_kl_is_the_gaussian_kl_from_the_anchor_at_the_policys_std():
    mu, anchor_mu = torch.tensor([[0.1, 0.2], [0.0, -0.3]]), torch.tensor([[0.0, 0.2], [0.1, 0.0]])
    sigma = torch.tensor([0.1, 0.2])
    assert float(anchor_kl(mu, anchor_mu, sigma)) == pytest.approx((0.5 + (0.5 + 1.125)) / 2)
    torch.testing.assert_close(anchor_kl(mu, anchor_mu, sigma), gaussian_kl(anchor_mu, sigma.expand(2, 2), mu,
                                                                            sigma.expand(2, 2)).mean())


def test_resume_keeps_an_adapted_learning_rate_and_a_constant_schedule_takes_the_configs():
    policy = ActorCritic([3], 2, SMALL)
    adaptive = PPO(policy, PPOConfig(learning_rate=2e-5, lr_schedule="adaptive_kl"))
    adaptive._set_learning_rate(8e-6)  # as adapted by the run's updates
    saved = adaptive.state_dict()
    resumed = {schedule: PPO(policy, PPOConfig(learning_rate=4e-6, lr_schedule=schedule))
               for schedule in ("adaptive_kl", "constant")}
    for learner in resumed.values():
        learner.load_state_dict(saved)
    assert resumed["adaptive_kl"].learning_rate == 8e-6
    assert resumed["constant"].learning_rate == 4e-6
    assert [g["lr"] for g in resumed["constant"].optimizer.param_groups] == [4e-6]


def bandit_reward(actions: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return -(actions - target).square().sum(-1)


def test_ppo_learns_a_one_step_bandit():
    torch.manual_seed(0)
    obs_dim, action_dim, num_envs = 3, 2, 64
    target = torch.tensor([0.8, -0.6])
    policy = ActorCritic([obs_dim], action_dim, SMALL)
    ppo_cfg = PPOConfig(horizon=4, minibatch_size=64, num_epochs=4, learning_rate=3e-3, lr_schedule="adaptive_kl",
                        entropy_coef=0.0, critic_coef=1.0, max_grad_norm=1.0)
    ppo = PPO(policy, ppo_cfg)
    storage = RolloutStorage(ppo_cfg.horizon, num_envs, obs_dim, action_dim, None, "cpu")
    probe = torch.randn(256, obs_dim)

    def mean_reward() -> float:
        return float(bandit_reward(policy.act_deterministic(probe), target).mean())

    before = mean_reward()
    for iteration in range(30):
        storage.clear()
        for _ in range(ppo_cfg.horizon):
            obs = torch.randn(num_envs, obs_dim)
            actions, log_probs, values, mus = policy.act(obs)
            storage.add(obs=obs, actions=actions, log_probs=log_probs, values=values, mus=mus,
                        sigmas=policy.action_std(), rewards=bandit_reward(actions, target),
                        terminated=torch.ones(num_envs, dtype=torch.bool),
                        truncated=torch.zeros(num_envs, dtype=torch.bool), final_values=torch.zeros(num_envs))
        storage.compute_returns(torch.zeros(num_envs), ppo_cfg.gamma, ppo_cfg.gae_lambda)
        stats = ppo.update(storage, progress=iteration / 30)
        policy.update_normalizers(storage.obs)
    after = mean_reward()
    assert set(stats) == {"surrogate_loss", "value_loss", "bounds_loss", "entropy", "approx_kl", "clip_fraction",
                          "explained_variance", "learning_rate"}
    assert all(np.isfinite(v) for v in stats.values())
    assert before < -0.5 and after > before + 0.4 and after > -0.1, (before, after)


def test_the_logged_learning_rate_is_the_mean_over_the_updates_minibatches():
    """The adaptive rule moves the rate after every minibatch: with a KL target no step meets, each of the 4
    minibatches runs at 1/1.5 of the one before; the update reports their mean, and the next starts from the last."""
    torch.manual_seed(0)
    obs_dim, action_dim, num_envs, horizon = 3, 2, 16, 4
    policy = ActorCritic([obs_dim], action_dim, SMALL)
    config = PPOConfig(horizon=horizon, minibatch_size=num_envs, num_epochs=1, learning_rate=1e-3,
                       lr_schedule="adaptive_kl", desired_kl=1e-12, min_learning_rate=1e-9)
    storage = RolloutStorage(horizon, num_envs, obs_dim, action_dim, None, "cpu")
    for _ in range(horizon):
        obs = torch.randn(num_envs, obs_dim)
        actions, log_probs, values, mus = policy.act(obs)
        storage.add(obs=obs, actions=actions, log_probs=log_probs, values=values, mus=mus, sigmas=policy.action_std(),
                    rewards=torch.randn(num_envs), terminated=torch.zeros(num_envs, dtype=torch.bool),
                    truncated=torch.zeros(num_envs, dtype=torch.bool), final_values=torch.zeros(num_envs))
    storage.compute_returns(torch.zeros(num_envs), config.gamma, config.gae_lambda)
    ppo = PPO(policy, config)
    stats = ppo.update(storage, progress=0.0)
    assert stats["learning_rate"] == pytest.approx(1e-3 * sum(1.5**-k for k in range(4)) / 4)
    assert ppo.learning_rate == pytest.approx(1e-3 / 1.5**4)


def test_value_normalization_standardises_the_value_loss():
    """One minibatch, one epoch: the reported value loss is the critic's loss before its step, which with
    normalize_value compares values and returns standardised by the statistics of the rollout's values and returns
    (the rollout's clipped to +-5); the statistics round-trip through the learner's state and start afresh from a
    state saved without them."""
    torch.manual_seed(0)
    obs_dim, action_dim, num_envs, horizon = 3, 2, 16, 4
    policy = ActorCritic([obs_dim], action_dim, SMALL)
    config = PPOConfig(horizon=horizon, minibatch_size=num_envs * horizon, num_epochs=1, learning_rate=1e-4,
                       critic_coef=1.0, normalize_value=True)
    storage = RolloutStorage(horizon, num_envs, obs_dim, action_dim, None, "cpu")
    for _ in range(horizon):
        obs = torch.randn(num_envs, obs_dim)
        actions, log_probs, values, mus = policy.act(obs)
        rewards = 300.0 + 50.0 * torch.randn(num_envs)  # returns of hundreds, as a long-lived humanoid's
        rewards[0] = 1e5  # one return beyond 5 standard deviations: its target is clipped
        storage.add(obs=obs, actions=actions, log_probs=log_probs, values=values, mus=mus, sigmas=policy.action_std(),
                    rewards=rewards, terminated=torch.zeros(num_envs, dtype=torch.bool),
                    truncated=torch.zeros(num_envs, dtype=torch.bool), final_values=torch.zeros(num_envs))
    storage.compute_returns(torch.zeros(num_envs), config.gamma, config.gae_lambda)
    with torch.no_grad():
        predicted = policy.value(storage.obs).double().flatten()
    samples = torch.cat([storage.values.flatten(), storage.returns.flatten()]).double()
    mean, std = samples.mean(), (samples.var(unbiased=False) + 1e-5).sqrt()
    standardised_returns = ((storage.returns.flatten().double() - mean) / std).clamp(-5, 5)
    expected = ((predicted - mean) / std - standardised_returns).square().mean()
    assert standardised_returns.abs().max() == 5.0

    ppo = PPO(policy, config)
    stats = ppo.update(storage, progress=0.0)
    assert stats["value_loss"] == pytest.approx(float(expected), rel=1e-4)
    assert float(ppo.value_stats.mean) == pytest.approx(float(mean), rel=1e-9)
    assert float(ppo.value_stats.count) == 2 * num_envs * horizon
    unnormalised = PPO(ActorCritic([obs_dim], action_dim, SMALL), dataclasses.replace(config, normalize_value=False))
    assert unnormalised.update(storage, progress=0.0)["value_loss"] > 1e3 * stats["value_loss"]

    resumed = PPO(ActorCritic([obs_dim], action_dim, SMALL), config)
    resumed.load_state_dict(ppo.state_dict())
    assert torch.equal(resumed.value_stats.var, ppo.value_stats.var)
    fresh = PPO(ActorCritic([obs_dim], action_dim, SMALL), config)
    fresh.load_state_dict(unnormalised.state_dict())
    assert float(fresh.value_stats.count) == 0.0


def test_adam_decay_rates_are_the_configs_also_after_loading_a_state_saved_with_others():
    torch.manual_seed(0)
    policy = ActorCritic([5], 2, SMALL)
    default = PPO(policy, PPOConfig())
    policy(torch.randn(8, 5)).square().sum().backward()
    default.optimizer.step()
    saved = default.state_dict()
    equal = PPO(policy, PPOConfig(adam_betas=[0.99, 0.99]))
    assert equal.optimizer.param_groups[0]["betas"] == (0.99, 0.99)
    equal.load_state_dict(saved)
    assert equal.optimizer.param_groups[0]["betas"] == (0.99, 0.99)
    moments = [equal.optimizer.state[p]["exp_avg_sq"] for p in policy.parameters() if p in equal.optimizer.state]
    assert moments and any(m.abs().sum() > 0 for m in moments)  # the saved moments are kept


def test_amp_discriminator_separates_two_gaussians():
    torch.manual_seed(0)
    cfg = AMPConfig(num_steps=2, hidden=[32, 32], activation="relu", learning_rate=1e-3, grad_penalty=5.0,
                    logit_reg=0.01, weight_decay=1e-4, reward_scale=2.0, replay_size=500)
    amp = AMP(step_dim=3, config=cfg)
    replay = AMPReplayBuffer(cfg.replay_size, cfg.num_steps, 3, "cpu")

    def real(n):
        return torch.randn(n, 2, 3) * 0.5 + 1.0

    def fake(n):
        return torch.randn(n, 2, 3) * 0.5 - 1.0

    for _ in range(100):
        replay.add(fake(128))
        stats = amp.update(real(128), replay.sample(128, None))
    assert len(replay) == 500
    assert np.isfinite(float(stats["grad_penalty"])) and stats["grad_penalty"] >= 0
    reward_real, reward_fake = amp.reward(real(512)).mean(), amp.reward(fake(512)).mean()
    assert reward_real > 1.5 and reward_real > reward_fake + 1.0, (reward_real, reward_fake)
    assert stats["real_d"] > stats["fake_d"] + 1.0


def test_replay_buffer_keeps_the_newest_samples():
    buffer = AMPReplayBuffer(5, 1, 1, "cpu")
    buffer.add(torch.arange(3.0).reshape(3, 1, 1))
    buffer.add(torch.arange(3.0, 7.0).reshape(4, 1, 1))
    assert len(buffer) == 5 and sorted(buffer.data.flatten().tolist()) == [2.0, 3.0, 4.0, 5.0, 6.0]
    buffer.add(torch.arange(10.0, 18.0).reshape(8, 1, 1))
    assert sorted(buffer.data.flatten().tolist()) == [13.0, 14.0, 15.0, 16.0, 17.0]


def test_checkpoint_round_trip_with_policy_and_rng(tmp_path):
    torch.manual_seed(1)
    policy = ActorCritic([5], 2, SMALL)
    policy.update_normalizers(torch.randn(20, 5))
    random.seed(3)
    np.random.seed(4)
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"policy": policy.saved_state(), "rng": rng_state(), "iteration": 7})
    expected = (torch.rand(3), np.random.rand(3), random.random())

    loaded = load_checkpoint(path)
    restored = ActorCritic.from_saved_state(loaded["policy"])
    obs = torch.randn(4, 5)
    assert torch.equal(restored.act_deterministic(obs), policy.act_deterministic(obs))
    assert torch.equal(restored.value(obs), policy.value(obs))
    set_rng_state(loaded["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1]) and random.random() == expected[2]


def test_crash_while_saving_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"iteration": 1, "weights": torch.ones(3)})
    real_save = torch.save

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"iteration": 2, "weights": torch.zeros(3)})
    monkeypatch.setattr(torch, "save", real_save)

    def crashing_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", crashing_replace)
    with pytest.raises(OSError):
        save_checkpoint(path, {"iteration": 3, "weights": torch.zeros(3)})
    monkeypatch.undo()

    state = load_checkpoint(path)
    assert state["iteration"] == 1 and torch.equal(state["weights"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]


def test_truncated_or_missing_checkpoint_is_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.pt"
    save_checkpoint(path, {"weights": torch.randn(1000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserInputError, match="ckpt.pt is truncated or corrupt"):
        load_checkpoint(path)
    path.write_bytes(b"")
    with pytest.raises(UserInputError, match="ckpt.pt is truncated or corrupt"):
        load_checkpoint(path)
    with pytest.raises(UserInputError, match="missing.pt does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize("separate_critic", [False, True])
def test_widened_policy_is_bit_identical_for_any_new_inputs(separate_critic):
    torch.manual_seed(0)
    obs_dim, new = 13, 7
    # Sizes where one matrix product over the widened input [x | x_new] @ [W | 0]^T rounds differently
    # from x @ W^T on this CPU (batch 1), so the test fails without the per-group product.
    config = PolicyConfig(actor_hidden=[64, 32], critic_hidden=[48, 32], activation="silu", init_log_std=-0.5,
                          learn_log_std=True)
    prior = ActorCritic([obs_dim], 4, config, critic_obs_dims=[9] if separate_critic else None)
    prior.update_normalizers(torch.randn(100, obs_dim) * 3 + 1, torch.randn(100, 9) if separate_critic else None)
    widened = widen_policy_inputs(prior, new, num_new_critic_inputs=2 if separate_critic else 0)
    assert widened.obs_dims == (obs_dim, new)
    assert torch.equal(widened.actor_input_layer.weight[:, obs_dim:], torch.zeros(64, new))
    assert torch.equal(widened.obs_normalizer.mean[obs_dim:], torch.zeros(new, dtype=torch.float64))
    assert torch.equal(widened.obs_normalizer.var[obs_dim:], torch.ones(new, dtype=torch.float64))
    assert torch.equal(widened.obs_normalizer.count, prior.obs_normalizer.count)

    for batch in (1, 5, 257):
        obs = torch.randn(batch, obs_dim)
        obs_new = torch.cat([obs, torch.randn(batch, new) * 100], dim=1)
        critic_obs = torch.randn(batch, 9) if separate_critic else None
        critic_obs_new = torch.cat([critic_obs, torch.randn(batch, 2) * 100], 1) if separate_critic else None
        torch.manual_seed(5)
        actions, log_prob, value, mean = prior.act(obs, critic_obs)
        torch.manual_seed(5)
        actions_w, log_prob_w, value_w, mean_w = widened.act(obs_new, critic_obs_new)
        assert torch.equal(mean, mean_w) and torch.equal(actions, actions_w)
        assert torch.equal(value, value_w) and torch.equal(log_prob, log_prob_w)
        first = prior.actor_input_layer(prior.obs_normalizer(obs))
        assert torch.equal(first, widened.actor_input_layer(widened.obs_normalizer(obs_new)))

    rebuilt = ActorCritic.from_saved_state(widened.saved_state())
    assert rebuilt.actor_input_layer.in_splits == (obs_dim, new)
    assert torch.equal(rebuilt.act_deterministic(obs_new), mean_w)


def test_widened_hidden_layers_act_as_the_trained_policy_and_new_units_learn():
    torch.manual_seed(0)
    narrow = PolicyConfig(actor_hidden=[32, 16], critic_hidden=[24, 16], activation="silu", init_log_std=-1.0,
                          learn_log_std=False)
    trained = ActorCritic([11], 3, narrow)
    trained.update_normalizers(torch.randn(200, 11) * 2 + 1)
    with torch.no_grad():  # trained-looking outputs (a fresh head is near zero)
        trained.mu.weight.normal_()
        trained.value_head.weight.normal_()
    wide = ActorCritic([11], 3, dataclasses.replace(narrow, actor_hidden=[64, 40], critic_hidden=[24, 48]))
    changes = wide.load_to_continue(trained.saved_state())
    assert changes.reshaped
    assert changes.notes == ("actor_hidden [32, 16] -> [64, 40]", "critic_hidden [24, 16] -> [24, 48]")
    assert wide.actor_mlp[0].weight.shape == (64, 11) and wide.actor_mlp[2].weight.shape == (40, 64)
    assert torch.equal(wide.actor_mlp[2].weight[:16, 32:], torch.zeros(16, 32))  # old units ignore the new ones
    assert torch.equal(wide.mu.weight[:, 16:], torch.zeros(3, 24))
    assert wide.actor_mlp[2].weight[16:].std() > 0.01  # the new units keep their random initial weights
    obs = torch.randn(257, 11) * 3
    mean, value = trained.mean_and_value(obs)
    mean_w, value_w = wide.mean_and_value(obs)
    torch.testing.assert_close(mean_w, mean, rtol=0, atol=1e-6)
    torch.testing.assert_close(value_w, value, rtol=0, atol=1e-6)
    assert mean.abs().mean() > 0.1 and value.abs().mean() > 0.1

    log_prob, _, value, _ = wide.evaluate(obs, torch.randn(257, 3))
    (log_prob.mean() + value.square().mean()).backward()
    assert wide.mu.weight.grad[:, 16:].abs().sum() > 0  # the new units' outgoing weights get gradients at once
    assert wide.value_head.weight.grad[:, 16:].abs().sum() > 0

    for hidden in ([16, 16], [64, 40, 8]):  # narrower, or deeper: not a widening
        other = ActorCritic([11], 3, dataclasses.replace(narrow, actor_hidden=hidden))
        with pytest.raises(ValueError, match="differs from this policy's"):
            other.load_to_continue(trained.saved_state())
    other_inputs = ActorCritic([12], 3, dataclasses.replace(narrow, actor_hidden=[64, 40]))  # widened, but more inputs
    with pytest.raises(ValueError, match="differs from this policy's"):
        other_inputs.load_to_continue(trained.saved_state())
    same = ActorCritic([11], 3, narrow)
    unchanged = same.load_to_continue(trained.saved_state())
    assert unchanged.notes == () and not unchanged.reshaped


def test_unknown_activation_and_widening_arguments_are_clear_errors():
    with pytest.raises(UserInputError, match="unknown activation 'gelu'"):
        ActorCritic([3], 2, PolicyConfig(actor_hidden=[4], critic_hidden=[4], activation="gelu",
                                         init_log_std=-2.9, learn_log_std=False))
    policy = ActorCritic([3], 2, SMALL)
    with pytest.raises(UserInputError, match="at least one new input"):
        widen_policy_inputs(policy, 0)
    with pytest.raises(UserInputError, match="num_new_critic_inputs=2 is invalid"):
        widen_policy_inputs(policy, 1, num_new_critic_inputs=2)


def test_fixed_log_std_is_a_buffer_and_learned_one_a_parameter():
    fixed = ActorCritic([3], 2, PolicyConfig(actor_hidden=[4], critic_hidden=[4], activation="relu",
                                             init_log_std=-2.9, learn_log_std=False))
    learned = ActorCritic([3], 2, SMALL)
    assert "log_std" not in dict(fixed.named_parameters()) and "log_std" in dict(fixed.named_buffers())
    assert "log_std" in dict(learned.named_parameters())
    torch.testing.assert_close(fixed.action_std(), torch.full((2,), float(np.exp(-2.9))))
