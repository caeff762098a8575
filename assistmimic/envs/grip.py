"""Grip actions: a person with a grip (`scene.grip`) has two more actions after its D PD actions, the grip commands of
its left and right hand (in [0, 1] after clamping by the backend: the fraction of `scene.grip.max_force_n` its palm
pulls the partner with)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from motion_lib.errors import UserInputError


def split_actions(actions: list[torch.Tensor], num_dofs: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per agent its actions (N, D + G_a), G_a = 2 with a grip else 0 (or only the D PD actions: grip 0), as PD
    actions (N, A, D) and grip commands (N, A, 2) (0 for agents without a grip), float32 and detached."""
    widths = [a.shape[-1] for a in actions]
    if any(width not in (num_dofs, num_dofs + 2) for width in widths):
        raise UserInputError(f"each agent's actions must be {num_dofs} PD actions, or those and 2 grip commands; "
                             f"got widths {widths}")
    pd = torch.stack([a[:, :num_dofs] for a in actions], dim=1)
    grip = torch.stack([F.pad(a[:, num_dofs:], (0, 2 - (a.shape[1] - num_dofs))) for a in actions], dim=1)
    return pd.detach().float(), grip.detach().float()
