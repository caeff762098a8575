"""Batched forward kinematics of a `Skeleton` in torch, on any device.

The loop runs over tree depth (9 levels for SMPL), never over bodies or batch entries: each level
computes all its bodies at once. The same code turns simulator joint angles into body states
(`assistmimic` backends) and clip rotations into reference body states (the motion library).
"""

from __future__ import annotations

import torch

from motion_lib.rotations import euler_xyz_rate_to_angular_velocity, euler_xyz_to_matrix, quat_to_matrix
from motion_lib.skeleton import Skeleton


class ForwardKinematics:
    """Global body poses (and velocities) from root pose and per-joint local rotations.

    All positions are world-frame metres; rotations are body-to-world matrices. Work is done one
    tree level at a time: a level's parents all sit in the level before it, so each level gathers
    from the previous level's small tensor, and the levels are concatenated and put back into
    canonical order once at the end (no in-place writes, so autograd works through it).
    """

    def __init__(self, skeleton: Skeleton, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.skeleton = skeleton
        self.device = torch.device(device)
        self.dtype = dtype
        offsets = torch.as_tensor(skeleton.offsets, dtype=dtype, device=self.device)  # (B, 3)
        depth = skeleton.depth
        order = [0]
        self.levels = []  # per depth >= 1: (slice of the level in level order, parent position in previous level, offsets)
        previous, start = [0], 0
        for d in range(1, int(depth.max()) + 1):
            bodies = [int(b) for b in (depth == d).nonzero()[0]]
            local_parent = [previous.index(skeleton.parents[b]) for b in bodies]
            self.levels.append((
                slice(start, start + len(bodies)),
                torch.as_tensor(local_parent, device=self.device),
                offsets[bodies][:, None, None, :],  # (k, 1, 1, 3): broadcasts over N and rows
            ))
            order += bodies
            previous, start = bodies, start + len(bodies)
        self.joints_in_level_order = torch.as_tensor(order[1:], device=self.device) - 1
        self.to_canonical = torch.as_tensor(order, device=self.device).argsort()  # level order -> canonical

    def _to_canonical(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """Concatenate per-level (k, N, ...) tensors and return them as (N, B, ...) in canonical order."""
        return torch.cat(levels, dim=0).index_select(0, self.to_canonical).transpose(0, 1)

    def poses(
        self, root_pos: torch.Tensor, root_rot: torch.Tensor, local_rot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Global body positions and rotation matrices.

        Args:
            root_pos: (N, 3) root position, world frame.
            root_rot: (N, 3, 3) root rotation matrix, body-to-world.
            local_rot: (N, B-1, 3, 3) rotation of each non-root body relative to its parent,
                in canonical order without the root.
        Returns:
            pos: (N, B, 3) world positions of the joints (body origins).
            rot: (N, B, 3, 3) body-to-world rotation matrices.
        """
        # Bodies first and in level order: each level is a contiguous slice, parent gathers copy whole blocks.
        local_rot = local_rot.transpose(0, 1).index_select(0, self.joints_in_level_order)
        pos, rot = [root_pos[None]], [root_rot[None]]
        for level, parent, offset in self.levels:
            parent_rot = rot[-1].index_select(0, parent)
            pos.append(pos[-1].index_select(0, parent) + (parent_rot * offset).sum(-1))
            rot.append(parent_rot @ local_rot[level])
        return self._to_canonical(pos), self._to_canonical(rot)

    def from_generalized(
        self, qpos_root: torch.Tensor, joint_angles: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Body poses from simulator-style coordinates.

        Args:
            qpos_root: (N, 7) root position and quaternion (w, x, y, z), world frame.
            joint_angles: (N, 3*(B-1)) hinge angles, three per joint (x, y, z), canonical order.
        Returns:
            (pos (N, B, 3), rot (N, B, 3, 3)) as in `poses`.
        """
        local = euler_xyz_to_matrix(joint_angles.reshape(joint_angles.shape[0], -1, 3))
        return self.poses(qpos_root[:, :3], quat_to_matrix(qpos_root[:, 3:7]), local)

    def states_from_generalized(
        self, qpos_root: torch.Tensor, joint_angles: torch.Tensor, qvel_root: torch.Tensor, joint_vel: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Body poses and velocities from generalized coordinates (MuJoCo's free-joint convention).

        Args:
            qpos_root: (N, 7) root position and quaternion (w, x, y, z), world frame.
            joint_angles, joint_vel: (N, 3*(B-1)) hinge angles (x, y, z per joint) and their rates.
            qvel_root: (N, 6) root origin velocity in the world frame, then root angular
                velocity in the root's own frame (free joint qvel).
        Returns:
            pos (N, B, 3), rot (N, B, 3, 3) as in `poses`;
            lin_vel (N, B, 3): velocity of each body origin, world frame;
            ang_vel (N, B, 3): angular velocity of each body, world frame.
        """
        n = joint_angles.shape[0]
        order = self.joints_in_level_order  # bodies first and in level order: each level is a contiguous slice
        angles = joint_angles.reshape(n, -1, 3).transpose(0, 1).index_select(0, order)  # (B-1, N, 3)
        local_rot = euler_xyz_to_matrix(angles)
        local_omega = euler_xyz_rate_to_angular_velocity(angles, joint_vel.reshape(n, -1, 3).transpose(0, 1).index_select(0, order))
        root_rot = quat_to_matrix(qpos_root[:, 3:7])
        pos, rot = [qpos_root[None, :, :3]], [root_rot[None]]
        lin = [qvel_root[None, :, :3]]
        ang = [(root_rot * qvel_root[:, None, 3:]).sum(-1)[None]]
        for level, parent, offset in self.levels:
            parent_rot, parent_ang = rot[-1].index_select(0, parent), ang[-1].index_select(0, parent)
            bone = (parent_rot * offset).sum(-1)
            pos.append(pos[-1].index_select(0, parent) + bone)
            rot.append(parent_rot @ local_rot[level])
            lin.append(lin[-1].index_select(0, parent) + torch.linalg.cross(parent_ang, bone))
            ang.append(parent_ang + (parent_rot * local_omega[level, :, None, :]).sum(-1))
        return tuple(self._to_canonical(x) for x in (pos, rot, lin, ang))
