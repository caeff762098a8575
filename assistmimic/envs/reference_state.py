"""Simulator states from reference motion: what reference state initialisation resets worlds to."""

from __future__ import annotations

import math

import torch

from assistmimic.sim.backend import PersonState
from motion_lib.motion_library import MotionLibrary
from motion_lib.rotations import matrix_to_euler_xyz, quat_to_matrix


def hinge_angles(joint_rot: torch.Tensor) -> torch.Tensor:
    """(..., B-1, 4) local joint quaternions -> (..., 3(B-1)) hinge angles (x, y, z per joint)."""
    angles = matrix_to_euler_xyz(quat_to_matrix(joint_rot))
    return angles.reshape(*angles.shape[:-2], -1)


def reference_person_state(library: MotionLibrary, clip_ids: torch.Tensor, times: torch.Tensor, dt: float
                           ) -> PersonState:
    """The reference pose and velocities of every person of clips `clip_ids` (n,) at `times` (n,).

    Root and body velocities come from the library; hinge velocities from the hinge angles at t and
    t + dt (wrapped to (-pi, pi]). Returns a PersonState of shape (n, P, ·).
    """
    now = library.sample(clip_ids, times)
    later = library.sample(clip_ids, times + dt)
    joint_pos = hinge_angles(now.joint_rot)
    step = torch.remainder(hinge_angles(later.joint_rot) - joint_pos + math.pi, 2 * math.pi) - math.pi
    at_end = (times + dt > library.clip_duration[clip_ids.to(library.device)]).to(joint_pos.device)
    joint_vel = torch.where(at_end[:, None, None], torch.zeros_like(step), step / dt)
    return PersonState(
        root_pos=now.pos[:, :, 0], root_quat=now.quat[:, :, 0], joint_pos=joint_pos,
        root_lin_vel=now.lin_vel[:, :, 0], root_ang_vel=now.ang_vel[:, :, 0], joint_vel=joint_vel,
    )
