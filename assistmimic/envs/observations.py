"""Observation functions of the tracking tasks (PHC's layout, REFERENCE §2). Pure functions of body states.

Frames: `_w` world, `_h` the heading frame of a person (world frame turned by the root's yaw only, so
observations do not depend on where the person stands or faces). Rotations enter as 6D vectors (the
first two columns of the rotation matrix). Shapes: N persons (worlds), B bodies.
"""

from __future__ import annotations

import torch


def heading_inverse(root_rot_w: torch.Tensor) -> torch.Tensor:
    """(N, 3, 3) rotation from the world into the heading frame, from root rotations (N, 3, 3)."""
    yaw = torch.atan2(root_rot_w[:, 1, 0], root_rot_w[:, 0, 0])
    cos, sin, zero, one = torch.cos(yaw), torch.sin(yaw), torch.zeros_like(yaw), torch.ones_like(yaw)
    return torch.stack([cos, sin, zero, -sin, cos, zero, zero, zero, one], dim=-1).reshape(-1, 3, 3)


def to_6d(rot: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 6): the first two columns."""
    return rot[..., :2].transpose(-1, -2).reshape(*rot.shape[:-2], 6)


def rotate(heading_inv: torch.Tensor, v_w: torch.Tensor) -> torch.Tensor:
    """(N, ..., 3) world vectors -> heading frame, with heading_inv (N, 3, 3)."""
    shape = v_w.shape
    return (v_w.reshape(shape[0], -1, 3) @ heading_inv.transpose(1, 2)).reshape(shape)


def rotate_matrices(heading_inv: torch.Tensor, rot_w: torch.Tensor) -> torch.Tensor:
    """(N, B, 3, 3) body-to-world rotations -> body-to-heading rotations."""
    return heading_inv[:, None] @ rot_w


def self_observation(pos_w, rot_w, lin_vel_w, ang_vel_w) -> torch.Tensor:
    """A person's own state in its heading frame (358 values for SMPL).

    Args: body positions (N, B, 3), rotation matrices (N, B, 3, 3), linear and angular velocities
    (N, B, 3), world frame. Returns (N, 1 + 3(B-1) + 6B + 3B + 3B): root height, body positions
    relative to the root (root excluded), body rotations (6D), linear and angular velocities.
    """
    n = pos_w.shape[0]
    heading_inv = heading_inverse(rot_w[:, 0])
    return torch.cat([
        pos_w[:, 0, 2:3],
        rotate(heading_inv, pos_w[:, 1:] - pos_w[:, :1]).reshape(n, -1),
        to_6d(rotate_matrices(heading_inv, rot_w)).reshape(n, -1),
        rotate(heading_inv, lin_vel_w).reshape(n, -1),
        rotate(heading_inv, ang_vel_w).reshape(n, -1),
    ], dim=-1)


def tracking_observation(pos_w, rot_w, lin_vel_w, ang_vel_w, ref_pos_w, ref_rot_w, ref_lin_vel_w, ref_ang_vel_w
                         ) -> torch.Tensor:
    """The reference relative to the person, per body, in the person's heading frame (24·B values).

    Per body: position difference (3), rotation difference ref·sim⁻¹ (6D), linear and angular velocity
    differences (3 + 3), reference position relative to the person's root (3), reference rotation (6D).
    Inputs as in `self_observation` for the person and the reference. Returns (N, 24 B).
    """
    n = pos_w.shape[0]
    heading_inv = heading_inverse(rot_w[:, 0])
    heading = heading_inv.transpose(1, 2)[:, None]
    rot_diff_h = heading_inv[:, None] @ (ref_rot_w @ rot_w.transpose(-1, -2)) @ heading
    per_body = torch.cat([
        rotate(heading_inv, ref_pos_w - pos_w),
        to_6d(rot_diff_h),
        rotate(heading_inv, ref_lin_vel_w - lin_vel_w),
        rotate(heading_inv, ref_ang_vel_w - ang_vel_w),
        rotate(heading_inv, ref_pos_w - pos_w[:, :1]),
        to_6d(rotate_matrices(heading_inv, ref_rot_w)),
    ], dim=-1)
    return per_body.reshape(n, -1)


def amp_features(pos_w, rot_w, lin_vel_w, ang_vel_w) -> torch.Tensor:
    """One AMP observation step: what a motion looks like, independent of position and facing.

    Root height (1), root rotation in the heading frame (6D: the tilt), root linear and angular velocity
    in the heading frame (3 + 3), body positions relative to the root in the heading frame (3(B-1)).
    Inputs as in `self_observation`; returns (N, 13 + 3(B-1)) (82 for SMPL).
    """
    n = pos_w.shape[0]
    heading_inv = heading_inverse(rot_w[:, 0])
    return torch.cat([
        pos_w[:, 0, 2:3],
        to_6d(heading_inv @ rot_w[:, 0]),
        rotate(heading_inv, lin_vel_w[:, 0]),
        rotate(heading_inv, ang_vel_w[:, 0]),
        rotate(heading_inv, pos_w[:, 1:] - pos_w[:, :1]).reshape(n, -1),
    ], dim=-1)
