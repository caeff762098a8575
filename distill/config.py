"""Settings of DAgger distillation (`stage=distill`): the β schedule, the regression, the PPO fine-tune."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistmimic.limits import above, at_least, between, limits


@dataclass
class BetaScheduleConfig:
    kind: str = "linear"
    """"linear" or "exponential" decay of β from `start` to `end` over `decay_iterations`; β = `end` after."""
    start: float = field(default=1.0, metadata=between(0, 1))
    """β of the first iteration (1: every world follows its expert)."""
    end: float = field(default=0.0, metadata=between(0, 1))
    """β from iteration `decay_iterations` on (0: the student acts alone)."""
    decay_iterations: int = field(default=20, metadata=at_least(1))
    """Iterations over which β goes from `start` to `end`."""
    rate: float = field(default=0.8, metadata=limits(above=0, below=1))
    """Per-iteration factor of the "exponential" kind (0 < rate < 1); the curve is rescaled to end exactly at `end`."""


@dataclass
class DAggerConfig:
    iterations: int = field(default=40, metadata=at_least(1))
    """DAgger iterations (rollout, labelling, regression); the top-level `max_iterations=` overrides it."""
    horizon: int = field(default=32, metadata=at_least(1))
    """Environment steps per world in one iteration's rollout."""
    buffer_size: int = field(default=50000, metadata=at_least(1))
    """Aggregated samples kept per agent (the oldest are replaced once full)."""
    updates_per_iteration: int = field(default=40, metadata=at_least(1))
    """Regression steps per agent per iteration, each on a minibatch drawn from the whole aggregated buffer."""
    minibatch_size: int = field(default=1024, metadata=at_least(1))
    """Samples per regression step."""
    learning_rate: float = field(default=1.0e-3, metadata=above(0))
    """Adam learning rate of the student's action regression."""
    max_grad_norm: float = field(default=1.0, metadata=above(0))
    """Gradient norm clipping of a regression step."""
    save_interval: int = field(default=10, metadata=at_least(1))
    """Write a checkpoint every this many iterations (and after the last one)."""
    keep_checkpoints: int = field(default=3, metadata=at_least(1))
    """How many of the newest `model_<iteration>.pt` files to keep."""
    beta: BetaScheduleConfig = field(default_factory=BetaScheduleConfig)


@dataclass
class FineTuneConfig:
    iterations: int = field(default=0, metadata=at_least(0))
    """PPO iterations on the student after DAgger (in `run_dir/finetune`); 0: no fine-tune."""
    explained_variance: float = field(default=0.5, metadata=limits(max=1))
    """The actor starts learning once its critic's explained variance on a rollout reaches this; until then
    only the critic learns (a fresh critic's noisy advantages would undo the distilled actor)."""
    expert_loss_weight: float = field(default=1.0, metadata=at_least(0))
    """Weight of the squared error to the experts' actions added to the actor's PPO loss when it starts learning."""
    expert_loss_iterations: int = field(default=20, metadata=at_least(1))
    """The expert loss's weight falls linearly to 0 over this many iterations of actor learning."""
