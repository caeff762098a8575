"""The contract between environments and the runner (rsl_rl-style vector env, several agents).

An environment holds `num_envs` worlds with `num_agents` agents each (1 for the single-person prior,
2 for supporter + recipient). Each agent has its own policy, observation size and reward. Worlds whose
episode ended are reset inside `step`; the observation returned for them is the first one of the new
episode, and `final_obs` holds the last observation of the old one, so the runner can bootstrap
time-outs with the value of the true next state (and never terminations).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import torch


@dataclass
class StepResult:
    """What `VecEnv.step` returns. Lists are indexed by agent; N = num_envs."""

    obs: list[torch.Tensor]
    """Per agent (N, obs_dim[a]): observations after the step (after resets for ended worlds)."""
    rewards: torch.Tensor
    """(N, A) total reward of each agent for this step."""
    terminated: torch.Tensor
    """(N,) bool: the episode ended by failure (fall, tracking error): no bootstrap."""
    truncated: torch.Tensor
    """(N,) bool: the episode ended by time (clip end, episode length): bootstrap with final_obs."""
    final_obs: list[torch.Tensor]
    """Per agent (N, obs_dim[a]): the observation before the reset for ended worlds; equals obs elsewhere."""
    amp_obs: list[torch.Tensor] | None = None
    """Per agent (N, amp_steps, amp_dim): AMP histories ending at the new state, None without AMP."""
    reward_terms: dict[str, torch.Tensor] = field(default_factory=dict)
    """Named reward terms, each (N, A), before weighting (logged as per-term episode means)."""
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)
    """Other per-world quantities to log, each (N,) (e.g. mean body position error in metres)."""


class VecEnv(ABC):
    """A batch of worlds; see the module docstring."""

    num_envs: int
    num_agents: int
    obs_dims: list[int]
    """Observation size of each agent."""
    action_dims: list[int]
    """Action size of each agent (actions are in [-1, 1]-ish units, scaled to PD targets by the env)."""
    amp_step_dim: int | None
    """Size of one AMP observation step (None: the env gives no AMP observations)."""
    amp_steps: int
    """Number of steps in an AMP history."""
    sync_free: bool = False
    """`step` never waits for the host (a GPU stays busy); the runner then avoids host syncs too."""

    @abstractmethod
    def reset(self) -> list[torch.Tensor]:
        """Reset every world; per agent (N, obs_dim[a]) observations."""

    @abstractmethod
    def step(self, actions: list[torch.Tensor]) -> StepResult:
        """Advance every world one policy step with per-agent actions (N, action_dim[a])."""

    @abstractmethod
    def reference_amp_obs(self, n: int, generator: torch.Generator | None = None, agent: int = 0) -> torch.Tensor:
        """(n, amp_steps, amp_dim) AMP histories of agent `agent`'s reference motions (the discriminator's real data)."""

    def world_families(self) -> tuple[list[str], torch.Tensor] | None:
        """(family names, (N,) each world's index into them): the kind of motion each world tracks now, for settings
        given per family (the runner's `anchor_families`); None by default: the env does not know."""
        return None

    def set_training_iteration(self, iteration: int) -> None:
        """Training progress (completed iterations), for training aids that change over a run; ignored by default."""

    def training_scalars(self) -> dict[str, float]:
        """The env's training state to log after each iteration (e.g. how it draws clips); none by default."""
        return {}

    def training_state(self) -> dict:
        """What a training checkpoint keeps of the env so that a resumed run continues as it was (e.g. how it draws
        clips); nothing by default."""
        return {}

    def load_training_state(self, state: dict) -> str:
        """Continue from `training_state()` as saved in a checkpoint (`{}` for one saved without it). Returns what
        became of it, for the resume message."""
        return "no env state to restore"

    def close(self) -> None:
        """Release simulator resources."""
