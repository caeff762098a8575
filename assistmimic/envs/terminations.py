"""Termination rules: pure functions `rule(view, **params) -> (N,) bool` of one agent's view of a step.

The env config lists the active rules with their params (`terminations: {rule: {param: value}}`); a world's
episode ends (terminated, not bootstrapped) when any rule fires for any agent. Bodies with weight 0 in the
view's `tracked` (a supporter hand near the partner) never count. Shapes: N worlds, B bodies.

A new rule is one function here decorated with `@termination_rule`, and one line in the config.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from assistmimic.envs.step_context import AgentView

TerminationRule = Callable[..., torch.Tensor]
TERMINATIONS: dict[str, TerminationRule] = {}
"""Every termination rule by the name configs use (the function's name)."""


def termination_rule(fn: TerminationRule) -> TerminationRule:
    """Register `fn(view, **params) -> (N,) bool` as the termination rule named like the function."""
    TERMINATIONS[fn.__name__] = fn
    return fn


def _body_distance(view: AgentView) -> torch.Tensor:
    """(N, B) distance of each simulated body from its target (m)."""
    return (view.body.pos - view.target.pos).norm(dim=-1)


@termination_rule
def any_body_far(view: AgentView, distance: float) -> torch.Tensor:
    """Any tracked body farther than `distance` (m) from its target (PHC's paper)."""
    far = _body_distance(view) > distance
    if view.tracked is not None:
        far = far & (view.tracked > 0)
    return far.any(-1)


@termination_rule
def mean_body_far(view: AgentView, distance: float, bodies: torch.Tensor, grace_steps: int) -> torch.Tensor:
    """The mean distance over the bodies `bodies` ((K,) canonical indices; config: body names, AssistMimic's 16
    core bodies without the limbs' ends) farther than `distance` (m) from their targets, only after the first
    `grace_steps` steps of an episode (AssistMimic's and PHC's code: mean over `reset_bodies`, `progress_buf > 1`)."""
    per_body = _body_distance(view)[:, bodies]
    weight = None if view.tracked is None else (view.tracked[:, bodies] > 0).float()
    mean = per_body.mean(-1) if weight is None else (per_body * weight).sum(-1) / weight.sum(-1).clamp(min=1.0)
    return (mean > distance) & (view.steps > grace_steps)

