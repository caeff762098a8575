"""Simulator states from reference motion: what reference state initialisation resets worlds to."""

from __future__ import annotations

import itertools
import math

import torch

from assistmimic.sim.backend import PersonState
from motion_lib.motion_library import MotionLibrary, smooth_within_clips
from motion_lib.rotations import euler_xyz_to_matrix, matrix_to_euler_xyz, quat_to_matrix


def hinge_angles(joint_rot: torch.Tensor) -> torch.Tensor:
    """(..., B-1, 4) local joint quaternions -> (..., 3(B-1)) hinge angles (x, y, z per joint), the triple with
    |y| <= pi/2 (`euler_triples` gives the other one too)."""
    first = matrix_to_euler_xyz(quat_to_matrix(joint_rot))
    return first.reshape(*first.shape[:-2], -1)


def euler_triples(joint_rot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both x-y-z angle triples of every rotation, (..., 3(B-1)) each: (x, y, z) with |y| <= pi/2 and
    (x + pi, pi - y, z + pi), wrapped. Deep bends (a knee or hip beyond 90 degrees) need the second."""
    first = hinge_angles(joint_rot)
    second = first.clone()
    second[..., 0::3] += math.pi
    second[..., 1::3] = math.pi - first[..., 1::3]
    second[..., 2::3] += math.pi
    return first, _wrap(second)


def _wrap(angles: torch.Tensor) -> torch.Tensor:
    """Angles wrapped to [-pi, pi)."""
    return torch.remainder(angles + math.pi, 2 * math.pi) - math.pi


def _range_violation(angles: torch.Tensor, ranges: torch.Tensor) -> torch.Tensor:
    """(..., J) how far each joint's three hinge angles (..., 3J) lie outside `ranges` (3J, 2), summed (rad)."""
    excess = (ranges[:, 0] - angles).clamp(min=0) + (angles - ranges[:, 1]).clamp(min=0)
    return excess.reshape(*excess.shape[:-1], -1, 3).sum(-1)


DAMPING = 1e-3
"""Weight of staying near the previous frame's angles against matching the rotation (rad² per rad²): it only
decides where the rotation leaves the angles free (at 90 degrees of y, only x ± z is determined)."""
RANGE_WEIGHT = 1.0
"""Weight of staying within the joint ranges against matching the rotation (rad² per rad²). As large as the
rotation's own weight: a path passing near 90 degrees of y leaves on the branch that lies in range (measured on
the demo clips: the hips of a seated person end within range instead of 0.9 rad outside), and where the clip
itself leaves a range the target stays about halfway (the simulated joint stops at its limit anyway)."""
CENTRING = 1e-3
"""Weight of small x and z angles (rad² per rad²; y, never free, is not pulled). Near 90 degrees of y the rotation
fixes only x ± z; without a pull the angles follow the motion along that free direction (x and z growing together)
at up to 85 rad/s. With it they slide toward zero while free, and a hip that flexes through 90 degrees continues on
the branch that stays within range."""


def _hinge_jacobian(angles: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) angular velocity (parent frame) per unit rate of each of three stacked x, y, z hinges."""
    a, b, _ = angles.unbind(-1)
    ca, sa, cb, sb = a.cos(), a.sin(), b.cos(), b.sin()
    one, zero = torch.ones_like(a), torch.zeros_like(a)
    return torch.stack([torch.stack([one, zero, zero], -1), torch.stack([zero, ca, sa], -1),
                        torch.stack([sb, -sa * cb, ca * cb], -1)], dim=-1)


def _rotation_residual(angles: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(..., J, 3) sin(θ) times the axis of the rotation from R(`angles`) (..., J, 3) to `target` (..., J, 3, 3)."""
    m = target @ euler_xyz_to_matrix(angles).transpose(-1, -2)
    return 0.5 * torch.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]],
                             -1)


def _objective(angles: torch.Tensor, previous: torch.Tensor, target: torch.Tensor,
               ranges: torch.Tensor) -> torch.Tensor:
    """(..., J) what `_closest_angles` minimises, with the rotation's error as its angle θ (rad)."""
    m = target @ euler_xyz_to_matrix(angles).transpose(-1, -2)
    theta = torch.arccos(((m.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1.0, 1.0))
    outside = angles - torch.clamp(angles, ranges[..., 0], ranges[..., 1])
    return (theta**2 + DAMPING * ((angles - previous) ** 2).sum(-1) + RANGE_WEIGHT * (outside**2).sum(-1)
            + CENTRING * (angles[..., 0::2] ** 2).sum(-1))


def _closest_angles(start: torch.Tensor, previous: torch.Tensor, target: torch.Tensor, ranges: torch.Tensor,
                    iterations: int = 4) -> torch.Tensor:
    """(..., J, 3) hinge angles of the rotations `target` (..., J, 3, 3) near `previous` (..., J, 3) (the frame
    before) and within `ranges` (J, 3, 2): Gauss-Newton steps from `start` (..., J, 3) on
    |log(target · R(angles)ᵀ)|² + DAMPING · |angles - previous|² + RANGE_WEIGHT · |angles - clamp(angles, ranges)|²
    + CENTRING · (x² + z²)."""
    angles = start
    eye = torch.eye(3, device=start.device)
    centring = CENTRING * (torch.arange(3, device=start.device) != 1).float()  # (3,): on x and z, not y
    for _ in range(iterations):
        error = _rotation_residual(angles, target)
        jac = _hinge_jacobian(angles)
        outside = (angles < ranges[..., 0]) | (angles > ranges[..., 1])
        lhs = (jac.transpose(-1, -2) @ jac + DAMPING * eye + torch.diag(centring)
               + torch.diag_embed(RANGE_WEIGHT * outside.float()))
        rhs = ((jac.transpose(-1, -2) @ error[..., None])[..., 0] + DAMPING * (previous - angles) - centring * angles
               + RANGE_WEIGHT * (torch.clamp(angles, ranges[..., 0], ranges[..., 1]) - angles))
        angles = angles + torch.linalg.solve(lhs, rhs)
    return angles


def continuous_hinge_angles(joint_rot: torch.Tensor, clip_frames: list[int], ranges: torch.Tensor) -> torch.Tensor:
    """(F, P, 3J) hinge angles of every frame of frame-concatenated clips, continuous in time and within the ranges.

    joint_rot: (F, P, J, 4) local joint quaternions; clip_frames: frames per clip (host list, summing to F);
    ranges: (3J, 2). The first frame of a clip takes, per joint, the x-y-z triple (`euler_triples`) that violates
    the ranges less. Every later frame takes, per joint, the best of three candidates by `_objective`: the frame
    before moved to the nearest angles that give its rotation (`_closest_angles`), and each of its own two triples
    so refined. Per-frame triples jump: near 90 degrees of y the two swap roles and x and z alone are ill-defined
    (only x ± z is), so x and z flip by up to pi; following the motion does not, and wins while it stays exact. A
    flexion that passes near (not through) 90 degrees leaves the followed branch only by turning x and z half a
    turn together, which runs into their limits (a hip sitting down on the floor: 40-60 degrees off its
    rotation); there the in-range triple wins, and x and z switch branch in one frame, a turn about the nearly
    shared x-z axis that moves the limb by no more than the error it removes.
    """
    first, second = euler_triples(joint_rot)  # (F, P, 3J) each
    rotations = quat_to_matrix(joint_rot)  # (F, P, J, 3, 3)
    joint_ranges = ranges.reshape(-1, 3, 2)
    first_rows = [0, *itertools.accumulate(clip_frames)][:-1]  # host lists: no host sync on a GPU
    starts = torch.tensor(first_rows, device=joint_rot.device)
    use_second = _range_violation(second[starts], ranges) < _range_violation(first[starts], ranges) - 1e-6
    chosen = torch.empty_like(first)
    chosen[starts] = torch.where(use_second.repeat_interleave(3, dim=-1), second[starts], first[starts])
    for k in range(1, max(clip_frames)):
        rows = torch.tensor([start + k for start, n in zip(first_rows, clip_frames) if n > k], device=joint_rot.device)
        shape = chosen[rows].shape
        previous = chosen[rows - 1].reshape(*shape[:-1], -1, 3)
        target = rotations[rows]
        candidates = torch.stack([_closest_angles(start.reshape(previous.shape), previous, target, joint_ranges)
                                  for start in (previous, first[rows], second[rows])])  # (3, n, P, J, 3)
        best = _objective(candidates, previous, target, joint_ranges).argmin(0)  # (n, P, J)
        chosen[rows] = torch.gather(candidates, 0, best[None, ..., None].expand(1, *previous.shape))[0].reshape(shape)
    return chosen


BRANCH_SWITCH = 1.0
"""A joint whose hinges turn by more than this (rad) from one frame to the next has switched branch
(`continuous_hinge_angles`)."""


def hinge_steps(angles: torch.Tensor, joint_rot: torch.Tensor, ranges: torch.Tensor) -> torch.Tensor:
    """(F-1, P, 3J) the change of the hinge angles `angles` (F, P, 3J) from each frame to the next, on one branch:
    where a joint switches branch, the later frame's angles less the earlier frame's rotation (`joint_rot`
    (F, P, J, 4)) expressed nearest them, not the half turn of x and z the switch makes (the limb barely moves)."""
    later = angles[1:].reshape(*joint_rot[1:].shape[:-1], 3)  # (F-1, P, J, 3)
    step = later - angles[:-1].reshape(later.shape)
    switched = step.abs().amax(-1, keepdim=True) > BRANCH_SWITCH  # (F-1, P, J, 1)
    earlier = _closest_angles(later, later, quat_to_matrix(joint_rot[:-1]), ranges.reshape(-1, 3, 2))
    step = torch.where(switched, later - earlier, step)
    return step.reshape(angles[1:].shape)


class HingeTable:
    """Hinge angles and speeds of every frame of a motion library's clips, computed once
    (`continuous_hinge_angles`), interpolated like the library's body states."""

    def __init__(self, library: MotionLibrary, ranges: torch.Tensor):
        self.library = library
        angles = continuous_hinge_angles(library.joint_rot, library.clip_num_frames, ranges)
        frames = library.clip_num_frames  # host list: no host sync on a GPU
        clip_of_frame = torch.tensor([c for c, n in enumerate(frames) for _ in range(n)], device=angles.device)
        speed = torch.zeros_like(angles)
        speed[:-1] = hinge_steps(angles, library.joint_rot, ranges) * library.clip_fps[clip_of_frame[:-1], None, None]
        last = torch.tensor([end - 1 for end in itertools.accumulate(frames)], device=angles.device)
        speed[last] = torch.where((library.clip_frames > 1)[:, None, None], speed[(last - 1).clamp(min=0)], 0.0)
        speed = smooth_within_clips(speed, *library.clip_bounds_of_frame(), library.velocity_smoothing)
        self.table = torch.cat([angles, speed], dim=-1)
        """(F, P, 2D) per frame the hinge angles (rad) and their forward-difference speeds (rad/s, on one branch:
        `hinge_steps`; the last frame of a clip repeats the one before; smoothed within each clip as the library's
        body velocities are)."""

    def sample(self, clip_ids: torch.Tensor, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, P, D) hinge angles and (N, P, D) hinge speeds of clips `clip_ids` (N,) at `times` (N,)."""
        i0, i1, alpha = self.library.frame_pairs(clip_ids, times)
        row = torch.lerp(self.table[i0], self.table[i1], alpha[:, None, None])
        half = row.shape[-1] // 2
        return row[..., :half], row[..., half:]


def reference_person_state(library: MotionLibrary, hinges: HingeTable, clip_ids: torch.Tensor,
                           times: torch.Tensor) -> PersonState:
    """The reference pose and velocities of every person of clips `clip_ids` (n,) at `times` (n,): root and
    body states from the library, hinge angles and speeds from `hinges`. A PersonState of shape (n, P, ·) on
    the library's device."""
    clip_ids, times = clip_ids.to(library.device), times.to(library.device)
    now = library.sample(clip_ids, times)
    joint_pos, joint_vel = hinges.sample(clip_ids, times)
    return PersonState(
        root_pos=now.pos[:, :, 0], root_quat=now.quat[:, :, 0], joint_pos=joint_pos,
        root_lin_vel=now.lin_vel[:, :, 0], root_ang_vel=now.ang_vel[:, :, 0], joint_vel=joint_vel,
    )
