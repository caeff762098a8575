"""Batched rotation helpers in torch. Quaternions are (w, x, y, z), as in MuJoCo.

scipy.spatial.transform covers numpy code (readers, tests); these run on any torch device inside
the training step, where scipy cannot. Every function broadcasts over leading dimensions.
"""

from __future__ import annotations

import torch


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit quaternions (w, x, y, z) -> (..., 3, 3) rotation matrices."""
    w, x, y, z = q.unbind(-1)
    two = 2.0
    m = torch.stack(
        (
            1 - two * (y * y + z * z), two * (x * y - w * z), two * (x * z + w * y),
            two * (x * y + w * z), 1 - two * (x * x + z * z), two * (y * z - w * x),
            two * (x * z - w * y), two * (y * z + w * x), 1 - two * (x * x + y * y),
        ),
        dim=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (w, x, y, z) with w >= 0.

    Uses the numerically best of the four Shepperd candidates per matrix.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    candidates = torch.stack(
        (
            torch.stack((1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01), -1),
            torch.stack((m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20), -1),
            torch.stack((m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21), -1),
            torch.stack((m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22), -1),
        ),
        dim=-2,
    )  # (..., 4 candidates, 4); candidate k has component k equal to 4 q_k^2
    best = torch.stack(
        (1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), -1
    ).argmax(-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(best.shape + (1, 4))).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def euler_xyz_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """(..., 3) intrinsic x-then-y-then-z angles (three stacked hinges) -> (..., 3, 3): Rx @ Ry @ Rz."""
    a, b, c = angles.unbind(-1)
    ca, sa, cb, sb, cc, sc = a.cos(), a.sin(), b.cos(), b.sin(), c.cos(), c.sin()
    m = torch.stack(
        (
            cb * cc, -cb * sc, sb,
            ca * sc + sa * sb * cc, ca * cc - sa * sb * sc, -sa * cb,
            sa * sc - ca * sb * cc, sa * cc + ca * sb * sc, ca * cb,
        ),
        dim=-1,
    )
    return m.reshape(angles.shape[:-1] + (3, 3))


def euler_xyz_rate_to_angular_velocity(angles: torch.Tensor, rates: torch.Tensor) -> torch.Tensor:
    """Angular velocity of three stacked x, y, z hinges, in the frame before the first hinge.

    angles, rates: (..., 3) hinge angles and their time derivatives. Returns (..., 3):
    w = ex * da + Rx(a) ey * db + Rx(a) Ry(b) ez * dc.
    """
    a, b, _ = angles.unbind(-1)
    da, db, dc = rates.unbind(-1)
    ca, sa, cb, sb = a.cos(), a.sin(), b.cos(), b.sin()
    return torch.stack((da + sb * dc, ca * db - sa * cb * dc, sa * db + ca * cb * dc), dim=-1)


def quat_mul(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Hamilton product q1 * q2 of (..., 4) quaternions (w, x, y, z)."""
    w1, x1, y1, z1 = q1.unbind(-1)
    w2, x2, y2, z2 = q2.unbind(-1)
    return torch.stack(
        (
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ),
        dim=-1,
    )


def quat_rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate (..., 3) vectors by (..., 4) unit quaternions (w, x, y, z)."""
    w, xyz = q[..., :1], q[..., 1:]
    t = 2.0 * torch.cross(xyz, v, dim=-1)
    return v + w * t + torch.cross(xyz, t, dim=-1)


def quat_conjugate(q: torch.Tensor) -> torch.Tensor:
    """Inverse of (..., 4) unit quaternions."""
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)  # (no host-made sign tensor: a copy to the device is a sync)


def quat_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) unit quaternions -> (..., 3) rotation vectors (axis * angle, angle in [0, pi])."""
    q = torch.where(q[..., :1] < 0, -q, q)
    sin_half = q[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, q[..., :1])
    # angle / sin(angle / 2) -> 2 as the angle -> 0
    scale = torch.where(sin_half > 1e-8, angle / sin_half.clamp_min(1e-8), torch.full_like(angle, 2.0))
    return q[..., 1:] * scale


def quat_slerp(q0: torch.Tensor, q1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of (..., 4) unit quaternions at fractions t (..., 1), shortest arc."""
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = q1 * torch.where(dot < 0, -1.0, 1.0)  # per-quaternion sign: cheaper than a full-size where
    theta = torch.acos(dot.abs().clamp(max=1.0))
    inv_sin = 1.0 / torch.sin(theta).clamp_min(1e-6)
    small = theta < 1e-6
    w0 = torch.where(small, 1.0 - t, torch.sin((1.0 - t) * theta) * inv_sin)
    w1 = torch.where(small, t, torch.sin(t * theta) * inv_sin)
    q = w0 * q0 + w1 * q1
    return q * torch.rsqrt((q * q).sum(-1, keepdim=True))  # (faster than .norm on CPU for a last dim of 4)


def matrix_to_euler_xyz(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations -> (..., 3) intrinsic x, y, z angles with m = Rx @ Ry @ Rz (hinge angles).

    The inverse of `euler_xyz_to_matrix` for y in (-pi/2, pi/2).
    """
    y = torch.asin(m[..., 0, 2].clamp(-1.0, 1.0))
    x = torch.atan2(-m[..., 1, 2], m[..., 2, 2])
    z = torch.atan2(-m[..., 0, 1], m[..., 0, 0])
    return torch.stack((x, y, z), dim=-1)
