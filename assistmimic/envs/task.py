"""The task a `TrackingEnv` holds: what each agent tracks, which bodies count, how rewards mix, what else
each agent observes. `TrackingTask` is plain motion tracking (PHC): every agent follows its person of the
clip, every body counts, rewards are each agent's own, nothing is observed beyond the prior's observation.
The two-person assist task (`assistmimic/envs/assist.py`) is the other one.
"""

from __future__ import annotations

import torch

from assistmimic.envs.config import RewardTerm, TrackingEnvConfig
from assistmimic.envs.step_context import Bodies, StepContext
from assistmimic.sim.backend import BodyState, SimBackend


class TrackingTask:
    """Plain motion tracking (see the module docstring)."""

    extra_observation_sizes: tuple[int, ...] = ()
    """Sizes of the observation parts the task appends to each agent's prior observation."""

    def __init__(self, backend: SimBackend):
        self.backend = backend
        self.head = backend.skeleton.index("Head")

    def reward_configs(self, cfg: TrackingEnvConfig, num_agents: int) -> list[dict[str, RewardTerm]]:
        """Per agent, its configured reward terms (every agent: `cfg.rewards`)."""
        return [{name: RewardTerm.of(name, term) for name, term in cfg.rewards.items()}] * num_agents

    def targets(self, state: BodyState, reference: list[Bodies]) -> list[Bodies]:
        """Per agent, what it tracks given the simulated `state` and the clip's `reference`: the reference."""
        return reference

    def context(self, state: BodyState, reference: list[Bodies], steps: torch.Tensor) -> StepContext:
        """The step's shared quantities (every body tracked)."""
        return StepContext(persons=[Bodies.simulated(state, a) for a in range(self.backend.n_agents)],
                           targets=reference, tracked=None, torque=self.backend.actuator_torque(),
                           joint_vel=self.backend.joint_vel(), steps=steps, head=self.head)

    def mix_rewards(self, own: torch.Tensor) -> torch.Tensor:
        """(N, A) the rewards the agents optimise, from their (N, A) own weighted terms: their own."""
        return own

    def metrics(self, state: BodyState, ctx: StepContext, reference: list[Bodies]) -> dict[str, torch.Tensor]:
        """Extra per-world (N,) quantities to log: none."""
        return {}

    def observations(self, state: BodyState, env_ids: torch.Tensor | None) -> list[torch.Tensor]:
        """Per agent, the parts appended to its prior observation (`state` already holds only `env_ids`'
        worlds when given): none."""
        return [state.pos.new_zeros(state.pos.shape[0], 0)] * self.backend.n_agents
