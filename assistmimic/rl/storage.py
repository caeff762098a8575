"""Fixed-size rollout buffer (horizon x num_envs) and shuffled minibatches over it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from assistmimic.rl.gae import compute_gae
from assistmimic.rl.generators import draw_device


@dataclass
class Minibatch:
    """Flat samples (B, ...) for one gradient step."""

    obs: torch.Tensor
    critic_obs: torch.Tensor | None
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    mus: torch.Tensor
    sigmas: torch.Tensor
    target_actions: torch.Tensor | None = None
    """Actions the mean action is regressed toward (e.g. a teacher's), when the storage keeps them."""


class RolloutStorage:
    """One rollout of `horizon` steps of `num_envs` environments.

    Fill it with `add` once per step, call `compute_returns` with the values of the observations after
    the last step, read `minibatches`, then `clear` it for the next rollout.
    """

    def __init__(self, horizon: int, num_envs: int, obs_dim: int, action_dim: int,
                 critic_obs_dim: int | None, device: torch.device | str, target_actions: bool = False):
        self.horizon, self.num_envs = horizon, num_envs

        def zeros(*shape, dtype=torch.float32):
            return torch.zeros(horizon, num_envs, *shape, dtype=dtype, device=device)

        self.obs = zeros(obs_dim)
        self.critic_obs = None if critic_obs_dim is None else zeros(critic_obs_dim)
        self.actions = zeros(action_dim)
        self.log_probs = zeros()
        self.values = zeros()
        self.mus = zeros(action_dim)
        self.sigmas = zeros(action_dim)
        self.target_actions = zeros(action_dim) if target_actions else None
        """Per step, actions the policy's mean is regressed toward (only with `target_actions=True`)."""
        self.rewards = zeros()
        self.terminated = zeros(dtype=torch.bool)
        self.truncated = zeros(dtype=torch.bool)
        self.final_values = zeros()
        """Value of the true next state (before reset) where the episode timed out; unused elsewhere."""
        self.advantages = zeros()
        self.returns = zeros()
        self.step = 0
        self.returns_ready = False

    @property
    def num_samples(self) -> int:
        return self.horizon * self.num_envs

    def add(self, *, obs: torch.Tensor, actions: torch.Tensor, log_probs: torch.Tensor, values: torch.Tensor,
            mus: torch.Tensor, sigmas: torch.Tensor, rewards: torch.Tensor, terminated: torch.Tensor,
            truncated: torch.Tensor, final_values: torch.Tensor, critic_obs: torch.Tensor | None = None,
            target_actions: torch.Tensor | None = None) -> None:
        """Record one environment step of every environment."""
        if self.step >= self.horizon:
            raise RuntimeError(f"rollout storage is full ({self.horizon} steps); clear it first")
        if (critic_obs is None) != (self.critic_obs is None):
            raise ValueError("pass critic_obs exactly when the storage was built with critic_obs_dim")
        if (target_actions is None) != (self.target_actions is None):
            raise ValueError("pass target_actions exactly when the storage was built with target_actions=True")
        t = self.step
        self.obs[t] = obs
        if critic_obs is not None:
            self.critic_obs[t] = critic_obs
        if target_actions is not None:
            self.target_actions[t] = target_actions
        self.actions[t] = actions
        self.log_probs[t] = log_probs
        self.values[t] = values
        self.mus[t] = mus
        self.sigmas[t] = sigmas.expand_as(mus)
        self.rewards[t] = rewards
        self.terminated[t] = terminated
        self.truncated[t] = truncated
        self.final_values[t] = final_values
        self.step += 1

    def compute_returns(self, last_values: torch.Tensor, gamma: float, lam: float) -> None:
        """GAE advantages and returns of the full rollout; `last_values` (N,) are the values after the last step."""
        if self.step != self.horizon:
            raise RuntimeError(f"rollout holds {self.step} of {self.horizon} steps; fill it before computing returns")
        next_values = torch.cat([self.values[1:], last_values.unsqueeze(0)])
        next_values = torch.where(self.truncated, self.final_values, next_values)
        self.advantages, self.returns = compute_gae(self.rewards, self.values, next_values, self.terminated,
                                                    self.truncated, gamma, lam)
        self.returns_ready = True

    def clear(self) -> None:
        self.step = 0
        self.returns_ready = False

    def minibatches(self, num_minibatches: int, epochs: int, generator: torch.Generator | None,
                    obs: torch.Tensor | None = None, critic_obs: torch.Tensor | None = None) -> Iterator[Minibatch]:
        """`epochs` passes, each over a fresh permutation of all samples cut into `num_minibatches` equal parts.
        `obs`, `critic_obs` (horizon, num_envs, ...): cut these instead of the stored observations (e.g. the stored
        ones normalised once for a whole update)."""
        if not self.returns_ready:
            raise RuntimeError("call compute_returns before reading minibatches")
        if self.num_samples % num_minibatches:
            raise ValueError(f"{self.num_samples} samples do not split into {num_minibatches} equal minibatches")
        size = self.num_samples // num_minibatches

        def flat(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(self.num_samples, *x.shape[2:])

        data = {name: flat(getattr(self, name)) for name in
                ("actions", "log_probs", "values", "advantages", "returns", "mus", "sigmas")}
        data["obs"] = flat(self.obs if obs is None else obs)
        critic_obs = self.critic_obs if critic_obs is None else critic_obs
        optional = {"critic_obs": None if critic_obs is None else flat(critic_obs),
                    "target_actions": None if self.target_actions is None else flat(self.target_actions)}
        for _ in range(epochs):
            order = torch.randperm(self.num_samples, generator=generator, device=draw_device(generator)).to(self.obs.device)
            for start in range(0, self.num_samples, size):
                idx = order[start:start + size]
                yield Minibatch(**{name: x[idx] for name, x in data.items()},
                                **{name: None if x is None else x[idx] for name, x in optional.items()})
