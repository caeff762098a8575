"""Configured reward terms and termination rules, checked once and evaluated every step.

`RewardSet` holds one agent's active terms (weight != 0) with their params; `TerminationSet` the active
rules. Both check names and params against the functions' signatures when the env is built, so a misspelt
term, rule or param is one clear error at start-up. A param named `bodies` may list body names; they become
a tensor of canonical indices on the env's device.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from assistmimic.envs.rewards import REWARD_TERMS
from assistmimic.envs.step_context import AgentView
from assistmimic.envs.terminations import TERMINATIONS
from motion_lib.errors import UserInputError
from motion_lib.skeleton import Skeleton


def _checked_params(kind: str, name: str, fn: Callable, params: dict[str, Any], skeleton: Skeleton,
                    device: torch.device) -> dict[str, Any]:
    """`params` for `fn`, every parameter after the view given (one with a default may be left out: a param added
    later, which a checkpoint's saved config lacks); body names in `bodies` -> index tensor."""
    signature = list(inspect.signature(fn).parameters.values())[1:]
    expected = [p.name for p in signature]
    unknown = sorted(set(params) - set(expected))
    missing = [p.name for p in signature if p.name not in params and p.default is inspect.Parameter.empty]
    if unknown or missing:
        raise UserInputError(f"{kind} '{name}' takes the params {expected}; got unknown {unknown} and missing {missing}")
    params = dict(params)
    if "bodies" in params:
        try:
            params["bodies"] = torch.tensor([skeleton.index(b) if isinstance(b, str) else int(b) for b in params["bodies"]],
                                            device=device)
        except (KeyError, ValueError) as err:
            raise UserInputError(f"{kind} '{name}': unknown body in {list(params['bodies'])} ({err})") from err
    return params


class RewardSet:
    """One agent's active reward terms: {name: weight} and their params (see the module docstring)."""

    def __init__(self, terms: dict[str, Any], skeleton: Skeleton, device: torch.device):
        unknown = sorted(set(terms) - set(REWARD_TERMS))
        if unknown:
            raise UserInputError(f"unknown reward term(s) {unknown}; known terms: {', '.join(REWARD_TERMS)}")
        self.weights = {name: float(term.weight) for name, term in terms.items() if term.weight != 0.0}
        """{term: weight} of the active terms, in config order."""
        self.params = {name: _checked_params("reward term", name, REWARD_TERMS[name], dict(terms[name].params),
                                             skeleton, device) for name in self.weights}

    def terms(self, view: AgentView) -> dict[str, torch.Tensor]:
        """{name: (N,)} the active terms of `view`, unweighted."""
        return {name: REWARD_TERMS[name](view, **self.params[name]) for name in self.weights}

    def total(self, terms: dict[str, torch.Tensor], view: AgentView) -> torch.Tensor:
        """(N,) the weighted sum of the active `terms` of `view`."""
        total = torch.zeros_like(view.steps, dtype=torch.float32)
        for name, weight in self.weights.items():
            total += weight * terms[name]
        return total


class TerminationSet:
    """The active termination rules and their params; a rule's `distance` is applied times `distance_scale`."""

    def __init__(self, rules: dict[str, dict[str, Any]], skeleton: Skeleton, device: torch.device):
        unknown = sorted(set(rules) - set(TERMINATIONS))
        if unknown:
            raise UserInputError(f"unknown termination rule(s) {unknown}; known rules: {', '.join(TERMINATIONS)}")
        self.configured = {name: _checked_params("termination rule", name, TERMINATIONS[name], dict(params or {}),
                                                 skeleton, device) for name, params in rules.items()}
        """{rule: params} as configured."""
        self.set_distance_scale(1.0)

    def set_distance_scale(self, scale: float) -> None:
        """Apply every rule's `distance` times `scale` (the termination curriculum; 1: as configured)."""
        self.distance_scale = scale
        self.params = {name: {**params, "distance": params["distance"] * scale} if "distance" in params else params
                       for name, params in self.configured.items()}
        """{rule: params} as applied."""

    def __call__(self, views: list[AgentView]) -> torch.Tensor:
        """(N, A) bool: some rule fires for agent a (`views`: every agent's view of the step; an episode ends
        when any agent's does)."""
        fired = torch.zeros(views[0].steps.shape[0], len(views), dtype=torch.bool, device=views[0].steps.device)
        for a, view in enumerate(views):
            for name, params in self.params.items():
                fired[:, a] |= TERMINATIONS[name](view, **params)
        return fired
