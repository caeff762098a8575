"""Schedules of the training aids: a value that falls linearly over a span of training iterations."""

from __future__ import annotations


def linear_decay(iteration: int, start: int, iterations: int) -> float:
    """1 before iteration `start`, 0 from `start + iterations` on, linear between (a step down at `start` when
    `iterations` is 0)."""
    if iterations <= 0:
        return 1.0 if iteration < start else 0.0
    return min(1.0, max(0.0, 1.0 - (iteration - start) / iterations))
