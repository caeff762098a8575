"""Reward terms of the tracking tasks (PHC, REFERENCE §2). Each term is a pure function returning (N,).

A term's weight comes from config (`env.rewards`); weight 0 switches it off. Errors average over the
tracked bodies: all of them, or those with weight 1 in an optional (N, B) `body_weight` (the assist
task drops a supporter hand near the partner from its tracking terms). Shapes: N persons, B bodies,
D hinges.
"""

from __future__ import annotations

import torch


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


def body_pos_reward(pos_w, ref_pos_w, sharpness: float = 100.0, body_weight=None) -> torch.Tensor:
    """exp(-k · mean_b |Δp|²)."""
    return torch.exp(-sharpness * body_mean((pos_w - ref_pos_w).square().sum(-1), body_weight))


def body_rot_reward(rot_w, ref_rot_w, sharpness: float = 10.0, body_weight=None) -> torch.Tensor:
    """exp(-k · mean_b Δθ²)."""
    return torch.exp(-sharpness * body_mean(rotation_angle(ref_rot_w, rot_w).square(), body_weight))


def body_lin_vel_reward(lin_vel_w, ref_lin_vel_w, sharpness: float = 0.1, body_weight=None) -> torch.Tensor:
    """exp(-k · mean_b |Δv|²)."""
    return torch.exp(-sharpness * body_mean((lin_vel_w - ref_lin_vel_w).square().sum(-1), body_weight))


def body_ang_vel_reward(ang_vel_w, ref_ang_vel_w, sharpness: float = 0.1, body_weight=None) -> torch.Tensor:
    """exp(-k · mean_b |Δω|²)."""
    return torch.exp(-sharpness * body_mean((ang_vel_w - ref_ang_vel_w).square().sum(-1), body_weight))


def power(torque: torch.Tensor, joint_vel: torch.Tensor) -> torch.Tensor:
    """Σ_d |τ_d · q̇_d| (W) for (N, D) torques and hinge velocities; weighted negatively."""
    return (torque * joint_vel).abs().sum(-1)


def tracking_terms(body, ref, torque: torch.Tensor, joint_vel: torch.Tensor,
                   body_weight: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """All tracking terms for persons with body states `body` and reference `ref`.

    `body` and `ref` have fields pos (N, B, 3), rot (N, B, 3, 3), lin_vel, ang_vel (N, B, 3); torque and
    joint_vel are (N, D); `body_weight` (N, B) selects the tracked bodies (None: all). Returns
    {term name: (N,)}; names match the keys of `env.rewards`.
    """
    return {
        "body_pos": body_pos_reward(body.pos, ref.pos, body_weight=body_weight),
        "body_rot": body_rot_reward(body.rot, ref.rot, body_weight=body_weight),
        "body_lin_vel": body_lin_vel_reward(body.lin_vel, ref.lin_vel, body_weight=body_weight),
        "body_ang_vel": body_ang_vel_reward(body.ang_vel, ref.ang_vel, body_weight=body_weight),
        "power": power(torque, joint_vel),
    }
