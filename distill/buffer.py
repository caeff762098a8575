"""The aggregated DAgger dataset: observations visited by the β-mixture and the experts' actions there."""

from __future__ import annotations

import torch


class AggregatedBuffer:
    """A ring of at most `capacity` (observation, expert action) pairs of one agent; once full, new samples
    replace the oldest."""

    def __init__(self, capacity: int, obs_dim: int, action_dim: int, device: torch.device | str = "cpu"):
        self.capacity = int(capacity)
        self.obs = torch.zeros(self.capacity, obs_dim, device=device)
        self.actions = torch.zeros(self.capacity, action_dim, device=device)
        self.size = 0
        self._next = 0

    def add(self, obs: torch.Tensor, actions: torch.Tensor) -> None:
        """Append (n, obs_dim) observations and their (n, action_dim) expert actions."""
        n = obs.shape[0]
        if n > self.capacity:
            obs, actions, n = obs[-self.capacity:], actions[-self.capacity:], self.capacity
        slots = (self._next + torch.arange(n, device=self.obs.device)) % self.capacity
        self.obs[slots] = obs
        self.actions[slots] = actions
        self._next = (self._next + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch_size, obs_dim) observations and (batch_size, action_dim) actions drawn uniformly with replacement
        (`generator` on the buffer's device, or None)."""
        if self.size == 0:
            raise RuntimeError("the aggregated buffer is empty; add samples before sampling")
        idx = torch.randint(self.size, (batch_size,), generator=generator, device=self.obs.device)
        return self.obs[idx], self.actions[idx]

    def newest_obs(self, n: int) -> torch.Tensor:
        """(min(n, size), obs_dim) the observations added last."""
        n = min(n, self.size)
        return self.obs[(self._next - n + torch.arange(n, device=self.obs.device)) % self.capacity]
