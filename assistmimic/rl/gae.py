"""Generalised advantage estimation with time-outs bootstrapped and terminations not."""

from __future__ import annotations

import torch


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, terminated: torch.Tensor,
                truncated: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns, all (T, N).

    next_values[t]: value of the state reached by step t (before any reset). On a termination it is
    not used; on a time-out it is bootstrapped, but the recursion stops at the episode boundary.
    """
    bootstrap = 1.0 - terminated.float()
    continues = 1.0 - (terminated | truncated).float()
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * bootstrap[t] * next_values[t] - values[t]
        running = delta + gamma * lam * continues[t] * running
        advantages[t] = running
    return advantages, advantages + values
