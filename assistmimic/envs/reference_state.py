"""Simulator states from reference motion: what reference state initialisation resets worlds to."""

from __future__ import annotations

import math

import torch

from assistmimic.sim.backend import PersonState
from motion_lib.motion_library import MotionLibrary
from motion_lib.rotations import matrix_to_euler_xyz, quat_to_matrix


def hinge_angles(joint_rot: torch.Tensor, ranges: torch.Tensor | None = None) -> torch.Tensor:
    """(..., B-1, 4) local joint quaternions -> (..., 3(B-1)) hinge angles (x, y, z per joint).

    Every rotation has two x-y-z angle triples: (x, y, z) with |y| <= pi/2 and (x + pi, pi - y, z + pi).
    Deep bends (a knee or hip beyond 90 degrees) need the second; given the hinge `ranges` (3(B-1), 2),
    the triple that violates the ranges less is taken, else the first.
    """
    first = matrix_to_euler_xyz(quat_to_matrix(joint_rot))
    first = first.reshape(*first.shape[:-2], -1)
    if ranges is None:
        return first
    second = first.clone()  # (x + pi, pi - y, z + pi), without a host-made offset tensor
    second[..., 0::3] += math.pi
    second[..., 1::3] = math.pi - first[..., 1::3]
    second[..., 2::3] += math.pi
    second = torch.remainder(second + math.pi, 2 * math.pi) - math.pi

    def violation(angles: torch.Tensor) -> torch.Tensor:  # per joint, summed over its three hinges
        low, high = ranges[:, 0], ranges[:, 1]
        excess = (low - angles).clamp(min=0) + (angles - high).clamp(min=0)
        return excess.reshape(*excess.shape[:-1], -1, 3).sum(-1)

    use_second = (violation(second) < violation(first) - 1e-6).repeat_interleave(3, dim=-1)
    return torch.where(use_second, second, first)


def reference_person_state(library: MotionLibrary, clip_ids: torch.Tensor, times: torch.Tensor, dt: float,
                           ranges: torch.Tensor | None = None) -> PersonState:
    """The reference pose and velocities of every person of clips `clip_ids` (n,) at `times` (n,).

    Root and body velocities come from the library; hinge velocities from the hinge angles at t and
    t + dt (wrapped to (-pi, pi]); `ranges` (D, 2) picks hinge angles within the joint ranges (see
    `hinge_angles`). Returns a PersonState of shape (n, P, ·) on the library's device.
    """
    clip_ids, times = clip_ids.to(library.device), times.to(library.device)
    now = library.sample(clip_ids, times)
    later = library.sample(clip_ids, times + dt)
    joint_pos = hinge_angles(now.joint_rot, ranges)
    step = torch.remainder(hinge_angles(later.joint_rot, ranges) - joint_pos + math.pi, 2 * math.pi) - math.pi
    at_end = times + dt > library.clip_duration[clip_ids]
    joint_vel = torch.where(at_end[:, None, None], torch.zeros_like(step), step / dt)
    return PersonState(
        root_pos=now.pos[:, :, 0], root_quat=now.quat[:, :, 0], joint_pos=joint_pos,
        root_lin_vel=now.lin_vel[:, :, 0], root_ang_vel=now.ang_vel[:, :, 0], joint_vel=joint_vel,
    )
