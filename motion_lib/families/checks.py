"""Plausibility measurements of a single-person clip, from its forward kinematics.

- Foot contacts: each sole corner (the humanoid's foot and toe boxes) is in contact while it is
  within `CONTACT_HEIGHT` of the floor. A planted point must stay put: over each contact run, the
  frames inside it (the first and last `CONTACT_EDGE` frames dropped, where a foot touches down or
  lifts off) must lie within a small horizontal distance of each other (`foot_slide`).
- Floor: the lowest point of the body (capsules of the clip statistics and the sole corners).
- Joint ranges: how far each joint rotation is from the nearest one the humanoid's x-y-z hinges reach
  within their ranges (`hinge_ranges`): candidate triples clamped into the ranges, the smallest error.
- Teleporting: root speed and the per-frame rotation of every joint.
- Twist over a planted foot: how far the pelvis faces away from a foot on the floor (`planted_twist`); a person
  turning further steps or pivots the foot.
"""

from __future__ import annotations

import numpy as np
import torch

from motion_lib.clip import Clip, PersonMotion
from motion_lib.capsules import lowest_capsule_bottom
from motion_lib.families.common import true_runs
from motion_lib.families.feet import sole_points
from motion_lib.formats.common import body_positions, global_rotations, wxyz_to_rotations
from motion_lib.rotations import euler_xyz_to_matrix, matrix_to_euler_xyz, quat_to_matrix
from motion_lib.skeleton import Skeleton, get_skeleton

CONTACT_HEIGHT = 0.02
"""A sole corner this close to the floor (metres) is in contact."""
CONTACT_EDGE = 2
"""Frames at each end of a contact run that may still move (touch-down, lift-off)."""


def sole_corners(person: PersonMotion, skel: Skeleton, positions: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Foot side -> (T, 6, 3) world positions of its sole corners (4 of the foot box, 2 of the toe tip)."""
    positions = body_positions(person, skel) if positions is None else positions
    rotations = global_rotations(person, skel)
    out = {}
    for side in "LR":
        foot, tip = sole_points(skel, side)
        corners = []
        for body, points in ((f"{side}_Ankle", foot), (f"{side}_Toe", tip)):
            b = skel.index(body)
            rot = wxyz_to_rotations(rotations[:, b])
            corners += [positions[:, b] + rot.apply(p) for p in points]
        out[side] = np.stack(corners, axis=1)
    return out


def contact_runs(height: np.ndarray, limit: float = CONTACT_HEIGHT) -> list[tuple[int, int]]:
    """Maximal runs [start, end) of frames with `height` (T,) below `limit`."""
    return true_runs(height < limit)


def foot_slide(points: np.ndarray, limit: float = CONTACT_HEIGHT, edge: int = CONTACT_EDGE) -> float:
    """The largest horizontal distance (metres) between two positions of one point (T, 3) inside any contact run."""
    worst = 0.0
    for start, end in contact_runs(points[:, 2], limit):
        inside = points[start + edge:max(end - edge, start + edge), :2]
        if len(inside) >= 2:
            worst = max(worst, float(np.linalg.norm(inside[:, None] - inside[None], axis=-1).max()))
    return worst


def max_foot_slide(person: PersonMotion, skel: Skeleton, positions: np.ndarray | None = None) -> float:
    """The worst `foot_slide` over all sole corners of both feet."""
    return max(foot_slide(c[:, k]) for c in sole_corners(person, skel, positions).values() for k in range(c.shape[1]))


def lowest_surface(person: PersonMotion, skel: Skeleton, positions: np.ndarray | None = None) -> np.ndarray:
    """(T,) height of the lowest body surface point: capsule bottoms (`capsules.lowest_capsule_bottom`) and the sole
    corners."""
    positions = body_positions(person, skel) if positions is None else positions
    soles = np.concatenate(list(sole_corners(person, skel, positions).values()), axis=1)[..., 2].min(axis=1)
    return np.minimum(lowest_capsule_bottom(positions, skel), soles)


def heading_yaw(rotations: np.ndarray) -> np.ndarray:
    """(T,) the yaw (radians) of the x axis of world rotations (T, 4) wxyz: where a pelvis or a foot faces."""
    x_axis = wxyz_to_rotations(rotations).apply([1.0, 0.0, 0.0])
    return np.arctan2(x_axis[:, 1], x_axis[:, 0])


def planted_twist(person: PersonMotion, skel: Skeleton) -> float:
    """The largest yaw (degrees) between the pelvis and a foot whose sole corners all touch the floor."""
    rotations = global_rotations(person, skel)
    pelvis = heading_yaw(rotations[:, 0])
    worst = 0.0
    for side, corners in sole_corners(person, skel).items():
        flat = (corners[:, :4, 2] < CONTACT_HEIGHT).all(axis=1)  # the foot box's four corners
        if flat.any():
            twist = np.angle(np.exp(1j * (heading_yaw(rotations[:, skel.index(f"{side}_Ankle")]) - pelvis)))
            worst = max(worst, float(np.degrees(np.abs(twist[flat])).max()))
    return worst


def _euler_candidates(joint_rot: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
    """(3, T, J, 3) x-y-z triples for local rotations (T, J, 4), and their (T, J, 3, 3) matrices:
    the two exact triples and, for near y = +-90 degrees (where only x +- z is defined), the first
    with its twist split evenly between x and z."""
    matrix = quat_to_matrix(torch.as_tensor(joint_rot, dtype=torch.float64))
    first = matrix_to_euler_xyz(matrix).numpy()
    second = np.stack([first[..., 0] + np.pi, np.pi - first[..., 1], first[..., 2] + np.pi], -1)
    second = np.remainder(second + np.pi, 2 * np.pi) - np.pi
    sign = np.sign(np.sin(first[..., 1]))
    total = first[..., 0] + sign * first[..., 2]
    balanced = np.stack([total / 2, first[..., 1], sign * total / 2], -1)
    return np.stack([first, second, balanced]), matrix


def range_excess(joint_rot: np.ndarray, ranges: np.ndarray, steps: int = 60) -> np.ndarray:
    """(T, B-1) how far (radians, geodesic) each joint rotation is from the nearest rotation the
    humanoid's three hinges reach within `ranges` (3(B-1), 2); 0 = within range. A rotation one of
    whose exact triples is in range is 0; for the others each candidate triple, clamped into the
    ranges, is refined by projected gradient steps on the matrix error (near y = +-90 degrees clamping
    alone overstates the distance), and the closest result counts."""
    candidates, matrix = _euler_candidates(joint_rot)
    low, high = ranges[:, 0].reshape(-1, 3), ranges[:, 1].reshape(-1, 3)
    inside = ((candidates[:2] >= low - 1e-9) & (candidates[:2] <= high + 1e-9)).all(-1).any(0)  # (T, J)
    excess = np.zeros(inside.shape)
    if inside.all():
        return excess
    frame, joint = np.nonzero(~inside)
    lo, hi = torch.as_tensor(low[joint]), torch.as_tensor(high[joint])
    target = matrix[frame, joint]  # (n, 3, 3)
    angles = torch.as_tensor(candidates[:, frame, joint]).clamp(lo, hi).requires_grad_(True)  # (3, n, 3)
    for _ in range(steps):
        loss = ((euler_xyz_to_matrix(angles) - target) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, angles)
        with torch.no_grad():
            angles -= 0.2 * grad
            angles.copy_(angles.clamp(lo, hi))
    with torch.no_grad():
        cos = ((euler_xyz_to_matrix(angles) * target).sum(dim=(-1, -2)) - 1.0) / 2.0  # trace(A^T B) = 1 + 2 cos
        excess[frame, joint] = torch.arccos(cos.clamp(-1.0, 1.0)).amin(dim=0).numpy()
    return excess


def range_violation(joint_rot: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """(B-1,) the worst `range_excess` of each joint over the clip (radians)."""
    return range_excess(joint_rot, ranges).max(axis=0)


def joint_speed(person: PersonMotion, fps: float) -> np.ndarray:
    """(T-1, B-1) rotation speed of every joint between consecutive frames (rad/s)."""
    frames, joints = person.joint_rot.shape[:2]
    step = wxyz_to_rotations(person.joint_rot[:-1]).inv() * wxyz_to_rotations(person.joint_rot[1:])
    return step.magnitude().reshape(frames - 1, joints) * fps


def root_speed(person: PersonMotion, fps: float) -> np.ndarray:
    """(T-1,) root (pelvis) speed (m/s)."""
    return np.linalg.norm(np.diff(person.root_pos, axis=0), axis=-1) * fps


def summary(clip: Clip, ranges: np.ndarray) -> dict[str, float]:
    """The worst value of every measurement over the clip's persons."""
    skel = get_skeleton(clip.skeleton)
    out = {"foot_slide_m": 0.0, "lowest_m": np.inf, "range_excess_rad": 0.0, "root_speed": 0.0, "joint_speed": 0.0}
    for person in clip.persons:
        positions = body_positions(person, skel)
        out["foot_slide_m"] = max(out["foot_slide_m"], max_foot_slide(person, skel, positions))
        out["lowest_m"] = min(out["lowest_m"], float(lowest_surface(person, skel, positions).min()))
        out["range_excess_rad"] = max(out["range_excess_rad"], float(range_violation(person.joint_rot, ranges).max()))
        out["root_speed"] = max(out["root_speed"], float(root_speed(person, clip.fps).max()))
        out["joint_speed"] = max(out["joint_speed"], float(joint_speed(person, clip.fps).max()))
    return out
