"""β: the probability that a world follows its expert in a DAgger iteration (Ross et al. 2011's mixture)."""

from __future__ import annotations

import math

from distill.config import BetaScheduleConfig
from motion_lib.errors import UserInputError

KINDS = ("linear", "exponential")


def check_beta_schedule(cfg: BetaScheduleConfig) -> None:
    """One clear sentence for a schedule that cannot be followed."""
    if cfg.kind not in KINDS:
        raise UserInputError(f"unknown stage.dagger.beta.kind {cfg.kind!r}; choose one of {', '.join(KINDS)}")
    for name in ("start", "end"):
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise UserInputError(f"stage.dagger.beta.{name} is a probability and must lie in [0, 1], got {value}")
    if cfg.decay_iterations < 1:
        raise UserInputError(f"stage.dagger.beta.decay_iterations must be at least 1, got {cfg.decay_iterations}")
    if cfg.kind == "exponential" and not 0.0 < cfg.rate < 1.0:
        raise UserInputError(f"stage.dagger.beta.rate must lie in (0, 1) for the exponential kind, got {cfg.rate}")


def beta_at(iteration: int, cfg: BetaScheduleConfig) -> float:
    """β of DAgger iteration `iteration` (0-based): exactly `start` at 0 and exactly `end` from
    `decay_iterations` on; in between, linear, or `rate`^i rescaled to meet both ends."""
    progress = min(max(iteration, 0), cfg.decay_iterations)
    if progress == 0:
        return cfg.start
    if progress == cfg.decay_iterations:
        return cfg.end
    if cfg.kind == "linear":
        fraction = progress / cfg.decay_iterations
    else:
        final = math.pow(cfg.rate, cfg.decay_iterations)
        fraction = (1.0 - math.pow(cfg.rate, progress)) / (1.0 - final)
    return cfg.start + (cfg.end - cfg.start) * fraction
