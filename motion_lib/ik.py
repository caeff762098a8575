"""Inverse kinematics: a person's root and joint rotations from target body positions.

Position-only sources (InterGen, keypoints from a diffusion model) give joint centres, not
rotations; the clip format and the tracking policy need rotations. `fit_person_to_positions` finds
the motion of the skeleton (bone lengths its own) whose bodies come closest to the targets.

Method, all frames at once (no loop over frames):

1. Initial pose (`initial_pose`), top-down over the tree: the root is placed on the target pelvis
   (else on the targets' centroid) and turned by a Kabsch fit of the rest offsets of the nearest
   targeted bodies below it (hips and torso: yaw, pitch and roll); every other body turns its rest
   offsets towards the targets below it: the minimal rotation (swing) for one target, a Kabsch fit
   for several. Bodies with no target below them stay at rest.
2. Refinement by Adam (cosine learning-rate decay) with autograd through
   `ForwardKinematics.poses`. Parameters: root position (T, 3) and every body's rotation as a
   continuous 6D vector (T, B, 6) (the root's body-to-world, the others local-to-parent). Loss,
   summed over frames (positions in cm so the optimiser works in well-scaled units):

       Σ_k w_k |p_k − x_k|² / Σ_k w_k                                 targets (weighted mean)
     + smoothness · (mean_k |Δ²p_k|² + ROTATION_LEVER² · mean_b |Δ²r_b|²)   targets; all rotations
     + REST_WEIGHT · mean_j |r_j − r_rest|²                          joints (not the root)
     + HINGE_WEIGHT · mean_h |R_h a_h − a_h|²                        knees and elbows (`HINGE_AXES`)
     + TWIST_WEIGHT · mean_w (sin θ_w · a_w)²                        wrists: no turn about the forearm
     + FOOT_ROLL_WEIGHT · mean_f (G_f y)_z²                           ankles and toes: no roll (`FOOT_BODIES`)

   Δ² is the second difference over frames (per frame, not per second). The rest term is tiny: it
   only decides what the targets leave free (twist about a bone, hands or toes without a target). The hinge
   term keeps knees and elbows bending about their one axis, as the prior's clips bend them, which settles
   the twist of the thigh and upper arm wherever the limb is bent; the twist term keeps the wrists from turning
   about the forearm, which a hand's position cannot show; the foot term keeps each foot's left-right axis
   horizontal, so a foot stands on its sole.

6D rotations follow PyTorch3D's `matrix_to_rotation_6d`: the first two ROWS of the matrix, turned
back into a matrix by Gram–Schmidt (`rotation_6d_to_matrix`); InterGen and InterMask store theirs
this way.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from motion_lib.clip import PersonMotion
from motion_lib.formats.common import body_positions, rotations_to_wxyz
from motion_lib.kinematics import ForwardKinematics
from motion_lib.rotations import matrix_to_quat, quat_to_matrix
from motion_lib.skeleton import Skeleton

SMOOTHNESS = 0.3
"""Default weight of the temporal smoothness term (relative to the mean squared target error)."""
ROTATION_LEVER = 0.1
"""Metres per unit of 6D rotation change in the smoothness term (a body part ~10 cm long)."""
REST_WEIGHT = 1e-4
"""Weight of the pull towards the rest pose, in cm² per unit² of 6D distance: negligible against
any target, so it only settles directions the targets leave free."""
HINGE_AXES = {"L_Knee": (0.0, 1.0, 0.0), "R_Knee": (0.0, 1.0, 0.0),
              "L_Elbow": (0.0, 0.0, 1.0), "R_Elbow": (0.0, 0.0, 1.0)}
"""Joints that bend about one axis of the parent's body frame (knees about the left-right axis, elbows about the
vertical one in the T-pose), as the motion families and the clips the prior learns from bend them."""
HINGE_WEIGHT = 100.0
"""Weight of the pull of `HINGE_AXES` joints onto their axis, in cm² per unit² of |R a - a|² (a 10-degree tilt off
the axis costs about as much as 3 cm² of target error): so a bent knee's plane decides the thigh's twist, which
positions alone leave free."""
TWIST_AXES = {"L_Wrist": (0.0, 1.0, 0.0), "R_Wrist": (0.0, 1.0, 0.0)}
"""Joints kept from turning about their bone (the forearm's axis in the T-pose): a hand's position fixes its swing,
not the forearm's roll, on which the palm's way (and a grip) depends."""
TWIST_WEIGHT = 100.0
"""Weight of the pull of `TWIST_AXES` joints' turn about their axis to zero, in cm² per unit² of its sine: where
positions cannot show the turn, none rather than whatever the start left (20-28 degrees on the help-up demo, whose
own wrists turn up to 54). The help-up expert tracking that demo from its joint positions: MPJPE 75 -> 70 mm,
support force -88 -> +1 N (the clip itself: 75 mm, +58 N)."""
FOOT_BODIES = ("L_Ankle", "R_Ankle", "L_Toe", "R_Toe")
FOOT_ROLL_WEIGHT = 100.0
"""Weight of the pull of the feet's left-right axis onto the horizontal, in cm² per unit² of its vertical component
(a 10-degree roll costs about 3 cm²): an ankle and a toe fix a foot's direction, not its roll about it, and a foot
left rolled stands on its edge (position-only references of a standing person were then tracked 1 time in 3)."""
LEARNING_RATE = 0.01
"""Adam's initial step (cm-scaled root position and unitless 6D components alike)."""
FINAL_LR_FRACTION = 0.01
"""The cosine schedule ends at this fraction of the initial learning rate."""
CM = 100.0
"""Positions are optimised in centimetres."""
REST_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
"""The identity rotation as a 6D vector."""


def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) continuous 6D rotations -> (..., 3, 3) matrices: Gram–Schmidt on the two stored rows
    (PyTorch3D's convention); the third row is their cross product."""
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-2)


def matrix_to_rotation_6d(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 6): the first two rows, flattened."""
    return m[..., :2, :].reshape(m.shape[:-2] + (6,))


def fit_person_to_positions(
    target_pos: np.ndarray,
    body_names: list[str],
    skeleton: Skeleton,
    *,
    init: PersonMotion | None = None,
    weights: np.ndarray | None = None,
    iterations: int = 200,
    smoothness: float = SMOOTHNESS,
    device: str | torch.device = "cpu",
) -> PersonMotion:
    """The skeleton's motion whose bodies best reach `target_pos` (least squares, see the module doc).

    Args:
        target_pos: (T, K, 3) target positions, z-up world, metres.
        body_names: (K,) the skeleton body each target belongs to (distinct names).
        skeleton: the body to fit; its bone lengths are kept, so targets from a differently sized
            body are met in the least-squares sense.
        init: starting motion (T frames); None: `initial_pose` from the targets.
        weights: (K,) non-negative weight per target; None: all 1.
        iterations: Adam steps (each one forward and backward pass over all frames).
        smoothness: weight of the second-difference penalty on the targeted bodies and all rotations.
        device: torch device of the optimisation.
    Returns:
        The fitted motion (T frames), float64 arrays, unit quaternions with w >= 0.
    """
    target_pos, weights, index = _check_targets(target_pos, body_names, skeleton, weights)
    start = initial_pose(target_pos, body_names, skeleton, weights) if init is None else init
    if start.root_pos.shape[0] != target_pos.shape[0]:
        raise ValueError(f"init has {start.root_pos.shape[0]} frames, the targets {target_pos.shape[0]}")
    dtype, device = torch.float32, torch.device(device)
    fk = ForwardKinematics(skeleton.with_offsets(skeleton.offsets * CM), device=device, dtype=dtype)
    quats = np.concatenate([start.root_rot[:, None], start.joint_rot], axis=1)  # (T, B, 4)
    rot6d = matrix_to_rotation_6d(quat_to_matrix(torch.as_tensor(quats, dtype=dtype, device=device)))
    rot6d.requires_grad_(True)
    root_cm = torch.as_tensor(start.root_pos * CM, dtype=dtype, device=device).requires_grad_(True)
    target_cm = torch.as_tensor(target_pos * CM, dtype=dtype, device=device)
    weight = torch.as_tensor(weights / weights.sum(), dtype=dtype, device=device)
    index = torch.as_tensor(index, device=device)
    rest = torch.as_tensor(REST_6D, dtype=dtype, device=device)
    hinges = [(skeleton.index(name) - 1, axis) for name, axis in HINGE_AXES.items() if name in skeleton.body_names]
    hinge_index = torch.as_tensor([j for j, _ in hinges], device=device, dtype=torch.long)
    hinge_axis = torch.as_tensor([axis for _, axis in hinges], dtype=dtype, device=device)  # (H, 3)
    feet = torch.as_tensor([skeleton.index(n) for n in FOOT_BODIES if n in skeleton.body_names], device=device,
                           dtype=torch.long)
    twists = [(skeleton.index(name) - 1, axis) for name, axis in TWIST_AXES.items() if name in skeleton.body_names]
    twist_index = torch.as_tensor([j for j, _ in twists], device=device, dtype=torch.long)
    twist_axis = torch.as_tensor([axis for _, axis in twists], dtype=dtype, device=device)  # (W, 3)

    def loss() -> torch.Tensor:
        pos, rot = fk.poses(root_cm, rotation_6d_to_matrix(rot6d[:, 0]), rotation_6d_to_matrix(rot6d[:, 1:]))
        total = (((pos[:, index] - target_cm) ** 2).sum(-1) * weight).sum()
        total = total + REST_WEIGHT * ((rot6d[:, 1:] - rest) ** 2).sum(-1).mean(-1).sum()
        if len(hinges):
            bent = rotation_6d_to_matrix(rot6d[:, 1:][:, hinge_index]) @ hinge_axis[..., None]  # (T, H, 3, 1)
            total = total + HINGE_WEIGHT * ((bent[..., 0] - hinge_axis) ** 2).sum(-1).mean(-1).sum()
        if len(twists):
            turned = rotation_6d_to_matrix(rot6d[:, 1:][:, twist_index])  # (T, W, 3, 3)
            skew = turned - turned.transpose(-1, -2)  # 2 sin(angle) [axis]x for a rotation
            sine = 0.5 * torch.stack((skew[..., 2, 1], skew[..., 0, 2], skew[..., 1, 0]), -1)  # (T, W, 3)
            total = total + TWIST_WEIGHT * ((sine * twist_axis).sum(-1) ** 2).mean(-1).sum()
        if len(feet):
            total = total + FOOT_ROLL_WEIGHT * (rot[:, feet, 2, 1] ** 2).mean(-1).sum()  # world z of each foot's y axis
        if smoothness > 0 and pos.shape[0] >= 3:
            pos_acc = pos[2:, index] - 2 * pos[1:-1, index] + pos[:-2, index]
            rot_acc = rot6d[2:] - 2 * rot6d[1:-1] + rot6d[:-2]
            total = total + smoothness * ((pos_acc ** 2).sum(-1).mean(-1).sum()
                                          + (ROTATION_LEVER * CM) ** 2 * (rot_acc ** 2).sum(-1).mean(-1).sum())
        return total

    optimizer = torch.optim.Adam([root_cm, rot6d], lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=max(iterations, 1), eta_min=LEARNING_RATE * FINAL_LR_FRACTION)
    for _ in range(iterations):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        quats = matrix_to_quat(rotation_6d_to_matrix(rot6d)).double().cpu().numpy()
        root_pos = root_cm.double().cpu().numpy() / CM
    return PersonMotion(root_pos=root_pos, root_rot=quats[:, 0], joint_rot=quats[:, 1:])


def fit_error(person: PersonMotion, target_pos: np.ndarray, body_names: list[str], skeleton: Skeleton) -> np.ndarray:
    """(T,) mean distance (metres) between the person's bodies `body_names` and `target_pos` (T, K, 3)."""
    pos = body_positions(person, skeleton)[:, skeleton.indices(body_names)]
    return np.linalg.norm(pos - np.asarray(target_pos, dtype=np.float64), axis=-1).mean(axis=1)


def initial_pose(
    target_pos: np.ndarray, body_names: list[str], skeleton: Skeleton, weights: np.ndarray | None = None
) -> PersonMotion:
    """A first guess for `fit_person_to_positions`, top-down over the tree (module doc, step 1).

    Args as in `fit_person_to_positions`; targets with weight 0 are ignored.
    """
    target_pos, weights, index = _check_targets(target_pos, body_names, skeleton, weights)
    frames, num_bodies = target_pos.shape[0], skeleton.num_bodies
    target_of = {b: k for k, b in enumerate(index) if weights[k] > 0}
    anchors = _anchors(skeleton, set(target_of))
    rest = skeleton.rest_positions  # rest pose: every body frame is aligned with the world

    def anchored(b: int) -> tuple[list[int], np.ndarray]:
        """Target indices of body b's anchors and their rest offsets (n, 3) from body b."""
        return [target_of[a] for a in anchors[b]], rest[anchors[b]] - rest[b]

    pos = np.zeros((frames, num_bodies, 3))
    glob = np.zeros((frames, num_bodies, 3, 3))
    ks, rest_vec = anchored(0)
    if 0 in target_of:
        pos[:, 0] = target_pos[:, target_of[0]]
        glob[:, 0] = _orient(np.tile(np.eye(3), (frames, 1, 1)), rest_vec, target_pos[:, ks] - pos[:, None, 0], weights[ks])
    else:  # free root: match the anchors' centroid and orientation
        glob[:, 0], pos[:, 0] = _root_from_anchors(rest_vec, target_pos[:, ks], weights[ks])
    for b in range(1, num_bodies):  # canonical (depth-first) order: a parent comes before its children
        parent = skeleton.parents[b]
        pos[:, b] = pos[:, parent] + glob[:, parent] @ skeleton.offsets[b]
        origin = target_pos[:, target_of[b]] if b in target_of else pos[:, b]
        ks, rest_vec = anchored(b)
        glob[:, b] = _orient(glob[:, parent], rest_vec, target_pos[:, ks] - origin[:, None], weights[ks])
    root_rot = Rotation.from_matrix(glob[:, 0])
    parents = np.asarray(skeleton.parents[1:])
    local = Rotation.from_matrix((np.swapaxes(glob[:, parents], -1, -2) @ glob[:, 1:]).reshape(-1, 3, 3))
    return PersonMotion(root_pos=pos[:, 0], root_rot=rotations_to_wxyz(root_rot, (frames,)),
                        joint_rot=rotations_to_wxyz(local, (frames, num_bodies - 1)))


def _check_targets(
    target_pos: np.ndarray, body_names: list[str], skeleton: Skeleton, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Validated (target_pos float64 (T, K, 3), weights (K,), body indices (K,))."""
    target_pos = np.asarray(target_pos, dtype=np.float64)
    names = list(body_names)
    if target_pos.ndim != 3 or target_pos.shape[1:] != (len(names), 3) or target_pos.shape[0] < 1:
        raise ValueError(f"target_pos has shape {target_pos.shape}, expected (T, {len(names)}, 3)")
    if not np.isfinite(target_pos).all():
        raise ValueError("target_pos holds NaN/inf")
    if len(set(names)) != len(names):
        raise ValueError(f"body_names has duplicates: {names}")
    index = skeleton.indices(names)
    weights = np.ones(len(names)) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(names),) or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be {len(names)} non-negative numbers, not all zero")
    return target_pos, weights, index


def _anchors(skeleton: Skeleton, targeted: set[int]) -> list[list[int]]:
    """For each body, the targeted bodies below it with no targeted body in between."""

    def frontier(b: int) -> list[int]:
        return [c for child in skeleton.children[b] for c in ([child] if child in targeted else frontier(child))]

    return [frontier(b) for b in range(skeleton.num_bodies)]


def _orient(parent_rot: np.ndarray, rest_vec: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, 3, 3) body-to-world rotation of a body turning its rest offsets `rest_vec` (n, 3) towards
    `dst` (T, n, 3): the parent's rotation `parent_rot` (T, 3, 3) for n = 0, plus the smallest turn
    for n = 1, a Kabsch fit for n >= 2."""
    if len(weights) == 0:
        return parent_rot
    if len(weights) == 1:
        return _swing(parent_rot @ rest_vec[0], dst[:, 0]) @ parent_rot
    return _kabsch(rest_vec, dst, weights)


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, 3, 3) the smallest rotations taking directions a (T, 3) to directions b (T, 3)."""
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis, axis=-1)
    cos = (a * b).sum(-1)
    # opposite directions: any axis perpendicular to a
    perpendicular = np.cross(a, np.eye(3)[np.abs(a).argmin(-1)])
    axis = np.where((sin < 1e-9 * (np.abs(cos) + 1e-12))[:, None], perpendicular, axis)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-12)
    return Rotation.from_rotvec(axis * np.arctan2(sin, cos)[:, None]).as_matrix()


def _kabsch(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations R minimising Σ_i w_i |R src_i − dst_i|²; src (n, 3), dst (T, n, 3)."""
    h = np.einsum("n,ni,tnj->tij", weights, src, dst)
    u, _, vt = np.linalg.svd(h)
    v, ut = np.swapaxes(vt, -1, -2), np.swapaxes(u, -1, -2)
    flip = np.ones((h.shape[0], 3))
    flip[:, 2] = np.sign(np.linalg.det(v @ ut))
    return (v * flip[:, None, :]) @ ut


def _root_from_anchors(rest_vec: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root rotation (T, 3, 3) and position (T, 3) of an untargeted root from the targets below it
    (rest offsets `rest_vec` (n, 3) from the root, targets `dst` (T, n, 3)): the weighted centroids
    coincide; the orientation is a Kabsch fit with three or more anchors, else upright as at rest."""
    w = weights / weights.sum()
    src_c = w @ rest_vec
    dst_c = np.einsum("n,tnj->tj", w, dst)
    frames = dst.shape[0]
    rot = (_kabsch(rest_vec - src_c, dst - dst_c[:, None], w) if len(w) >= 3
           else np.tile(np.eye(3), (frames, 1, 1)))
    return rot, dst_c - rot @ src_c

