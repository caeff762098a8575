"""Reward terms: pure functions `term(view, **params) -> (N,)` of one agent's view of a step, in a registry.

Each agent's config lists `{term: {weight, params}}` (`envs/config.py`, `RewardTerm`); a term with weight 0
is never computed, every active term is logged per agent. Kernel sharpness, distances and thresholds are
params in config, never defaults here. Tracking errors average over the tracked bodies: all of them, or
those with weight 1 in the view's (N, B) `tracked` (the assist task drops a supporter hand near the partner).
Shapes: N worlds, B bodies, D hinges, H hand bodies.

A new term is one function here decorated with `@reward_term`, and one line in an agent's config.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from assistmimic.envs.assistive import touching
from assistmimic.envs.step_context import AgentView


# --- kernels ---------------------------------------------------------------------------------------
def body_pos_error(pos_w: torch.Tensor, ref_pos_w: torch.Tensor) -> torch.Tensor:
    """(N,) mean body position error (metres) between (N, B, 3) positions."""
    return (pos_w - ref_pos_w).norm(dim=-1).mean(-1)


def rotation_angle(rot_a: torch.Tensor, rot_b: torch.Tensor) -> torch.Tensor:
    """(N, B) angle (rad) of rot_a · rot_bᵀ for (N, B, 3, 3) rotation matrices."""
    trace = (rot_a * rot_b).sum(dim=(-1, -2))  # trace(A Bᵀ)
    return torch.acos(((trace - 1.0) / 2.0).clamp(-1.0, 1.0))


def body_mean(per_body: torch.Tensor, body_weight: torch.Tensor | None = None) -> torch.Tensor:
    """(N,) mean of (N, B) values over the bodies, weighted by `body_weight` (N, B) when given."""
    if body_weight is None:
        return per_body.mean(-1)
    return (per_body * body_weight).sum(-1) / body_weight.sum(-1).clamp(min=1e-6)


def squared_error(a: torch.Tensor, b: torch.Tensor, average_xyz: bool) -> torch.Tensor:
    """(N, B) squared error of (N, B, 3) vectors, summed over x, y, z or (PHC's code) averaged over them."""
    square = (a - b).square()
    return square.mean(-1) if average_xyz else square.sum(-1)


# --- terms -----------------------------------------------------------------------------------------
RewardTerm = Callable[..., torch.Tensor]
REWARD_TERMS: dict[str, RewardTerm] = {}
"""Every reward term by the name configs use (the function's name)."""


def reward_term(fn: RewardTerm) -> RewardTerm:
    """Register `fn(view, **params) -> (N,)` as the reward term named like the function."""
    REWARD_TERMS[fn.__name__] = fn
    return fn


@reward_term
def body_pos(view: AgentView, sharpness: float, average_xyz: bool) -> torch.Tensor:
    """exp(-k · mean_b |Δp|²) of body positions (m)."""
    return torch.exp(-sharpness * body_mean(squared_error(view.body.pos, view.target.pos, average_xyz), view.tracked))


@reward_term
def body_rot(view: AgentView, sharpness: float) -> torch.Tensor:
    """exp(-k · mean_b Δθ²) of body rotation angles (rad)."""
    return torch.exp(-sharpness * body_mean(rotation_angle(view.target.rot, view.body.rot).square(), view.tracked))


@reward_term
def body_lin_vel(view: AgentView, sharpness: float, average_xyz: bool) -> torch.Tensor:
    """exp(-k · mean_b |Δv|²) of body linear velocities (m/s)."""
    error = squared_error(view.body.lin_vel, view.target.lin_vel, average_xyz)
    return torch.exp(-sharpness * body_mean(error, view.tracked))


@reward_term
def body_ang_vel(view: AgentView, sharpness: float, average_xyz: bool) -> torch.Tensor:
    """exp(-k · mean_b |Δω|²) of body angular velocities (rad/s)."""
    error = squared_error(view.body.ang_vel, view.target.ang_vel, average_xyz)
    return torch.exp(-sharpness * body_mean(error, view.tracked))


@reward_term
def power(view: AgentView, grace_steps: int) -> torch.Tensor:
    """Σ_d |τ_d · q̇_d| (W), weighted negatively; 0 in the first `grace_steps` steps of an episode (the reset's
    transient is not the policy's doing; PHC's code: 3)."""
    watts = (view.torque * view.joint_vel).abs().sum(-1)
    return watts if grace_steps <= 0 else torch.where(view.steps > grace_steps, watts, torch.zeros_like(watts))


@reward_term
def contact(view: AgentView, scale: float, decay: float, saturation_n: float, bonus: float) -> torch.Tensor:
    """Contact facilitation (AssistMimic), summed over the agent's hands. Per hand whose wrist is near the
    partner (distance d, `AgentView.near`): scale · exp(-decay · d) · Σ_k c_k · min(exp(|F_k| - saturation_n), 1)
    + bonus, with F_k the force hand body k applies to the partner and c_k = 1 when it touches: a sparse part
    (touching at all) that grows with force and saturates at `saturation_n` per body. Zero for a hand not near."""
    distance, force = view.wrist_distance, view.hand_force
    magnitude = force.norm(dim=-1).reshape(distance.shape[0], 2, -1)  # (N, 2, K)
    in_contact = touching(force).reshape(magnitude.shape).float()
    quality = (in_contact * torch.exp(magnitude - saturation_n).clamp(max=1.0)).sum(-1)
    per_hand = scale * torch.exp(-decay * distance) * quality + bonus
    return torch.where(view.near, per_hand, torch.zeros_like(per_hand)).sum(-1)


@reward_term
def lift(view: AgentView, saturation_n: float, pressing_weight: float = 0.0) -> torch.Tensor:
    """F_up / `saturation_n` within [-1, 1], with F_up the vertical force (N, + = up) the supporter's hands and grips
    put on the recipient (`support_force_z`); pressing (F_up < 0) counts `pressing_weight` times (0: holding and
    lifting pay, pressing earns nothing; 1: pressing costs as much as lifting pays)."""
    share = (view.support_force_z / saturation_n).clamp(-1.0, 1.0)
    return torch.where(share > 0, share, pressing_weight * share)


@reward_term
def head_height(view: AgentView, max_height: float) -> torch.Tensor:
    """The recipient's head height (m), clamped to [0, max_height] (AssistMimic: both agents, 2 m)."""
    return view.recipient.pos[:, view.ctx.head, 2].clamp(0.0, max_height)

