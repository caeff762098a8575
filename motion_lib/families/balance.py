"""Whole-body balance of generated motion: the zero-moment point (ZMP) kept on the feet.

A body standing on its feet can only be pushed by the floor from inside its support polygon, so its centre of mass
c (T, 3) moves as c_xy - c_z / (g + c̈_z) · c̈_xy = p, the ZMP p inside that polygon (rotational inertia ignored).
A generator that moves the pelvis at a steady speed breaks this: the swinging leg speeds the centre of mass up while
it lies behind the stance foot and slows it while it lies ahead, the reverse of an inverted pendulum, and a tracker
has to fight the reference to stay up. `balanced_com` finds the nearest centre-of-mass track whose ZMP stays on the
feet (and that moves at constant horizontal velocity while no foot touches); the generator then moves the pelvis by
the difference. The support polygon is that of every point on the floor (`_support_points`): the soles, and a knee,
buttock or hand down on it (kneeling). Masses are the humanoid's: uniform density over the clip statistics'
capsules (`CapsuleModel`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.linalg import solve_banded
from scipy.spatial import ConvexHull, QhullError

from motion_lib.clip import PersonMotion
from motion_lib.capsules import CapsuleModel
from motion_lib.families.checks import sole_corners
from motion_lib.families.common import GRAVITY
from motion_lib.families.feet import place_feet
from motion_lib.formats.common import body_positions, global_rotations, wxyz_to_rotations
from motion_lib.keyframes.animate import FPS
from motion_lib.skeleton import Skeleton

SUPPORT_HEIGHT = 0.03
"""A sole corner or capsule bottom this close to the floor (metres) bears weight."""
PASSES = 3
"""Times `balanced_person` moves the pelvis by the centre of mass's distance from its balanced track: the planted
legs stay, so the centre of mass moves less than the pelvis, and each pass closes most of what is left."""


def centre_of_mass(positions: np.ndarray, skel: Skeleton) -> np.ndarray:
    """(T, 3) centre of mass of the bodies at `positions` (T, B, 3): every capsule of `CapsuleModel` weighs by its
    volume, at its midpoint."""
    capsules = CapsuleModel.of(skel)
    a, b = capsules.segments(positions, skel)
    length = np.linalg.norm(b - a, axis=-1)  # (T, C)
    volume = np.pi * capsules.radius**2 * (length + 4.0 / 3.0 * capsules.radius)
    return ((a + b) / 2 * volume[..., None]).sum(1) / volume.sum(1)[:, None]


def zero_moment_point(com: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2) ZMP of a point mass moving along `com` (T, 3) sampled at `fps`."""
    acc = np.gradient(np.gradient(com, axis=0), axis=0) * fps**2
    return com[:, :2] - (com[:, 2] / (GRAVITY + acc[:, 2]))[:, None] * acc[:, :2]


def nearest_in_polygon(point: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """(2,) the point of the convex hull of `corners` (K, 2) nearest to `point` (2,) (itself when inside)."""
    try:
        hull = corners[ConvexHull(corners).vertices]
    except QhullError:  # fewer than 3 corners, or all on a line: the nearest point of their segments
        hull = corners
    else:
        edges = np.roll(hull, -1, axis=0) - hull
        if np.all(edges[:, 0] * (point[1] - hull[:, 1]) - edges[:, 1] * (point[0] - hull[:, 0]) >= 0):
            return point  # counter-clockwise hull with the point left of every edge
    if len(hull) == 1:
        return hull[0]
    starts, ends = hull, np.roll(hull, -1, axis=0)
    along = ends - starts
    s = np.clip(((point - starts) * along).sum(-1) / np.maximum((along**2).sum(-1), 1e-12), 0.0, 1.0)
    candidates = starts + s[:, None] * along
    return candidates[np.argmin(np.linalg.norm(candidates - point, axis=-1))]


def balanced_com(com: np.ndarray, support: np.ndarray, fps: float) -> np.ndarray:
    """(T, 2) the horizontal centre-of-mass track nearest `com` (T, 3) whose ZMP lies in the support polygon of the
    points `support` (T, K, 3) that touch the floor (sole corners, `_support_points`), and that moves at constant
    velocity while none does.

    The ZMP of `com` is moved into each frame's polygon (where it is outside) and the track solved from
    c - k c̈ = p (k = c_z / (g + c̈_z)) on supported frames and c̈ = 0 in flight, with the first and last frames
    kept: a linear two-point boundary problem, tridiagonal in c. Where no ZMP had to move, the track is `com`'s."""
    frames, dt2 = len(com), 1.0 / fps**2
    acc_z = np.gradient(np.gradient(com[:, 2])) * fps**2
    k = com[:, 2] / (GRAVITY + acc_z)
    zmp = zero_moment_point(com, fps)
    touching = support[..., 2] < SUPPORT_HEIGHT
    bands, rhs = np.zeros((3, frames)), np.zeros((frames, 2))  # rows of the (upper, diagonal, lower) band
    for i in range(1, frames - 1):
        if touching[i].any():
            # c_i - k_i (c_{i+1} - 2 c_i + c_{i-1}) / dt² = p_i
            upper, diagonal, lower = -k[i] / dt2, 1.0 + 2.0 * k[i] / dt2, -k[i] / dt2
            rhs[i] = nearest_in_polygon(zmp[i], support[i, touching[i], :2])
        else:  # flight: c_{i+1} - 2 c_i + c_{i-1} = 0
            upper, diagonal, lower = 1.0, -2.0, 1.0
        bands[0, i + 1], bands[1, i], bands[2, i - 1] = upper, diagonal, lower
    bands[1, 0] = bands[1, -1] = 1.0
    rhs[0], rhs[-1] = com[0, :2], com[-1, :2]
    return solve_banded((1, 1), bands, rhs)


def _support_points(person: PersonMotion, skel: Skeleton, positions: np.ndarray) -> np.ndarray:
    """(T, K, 3) the points that can bear weight: the sole corners of both feet (`checks.sole_corners`) and the ends
    of every capsule above the shins (thighs, pelvis, trunk, arms, hands), each at the bottom of its capsule, so
    a knee, a buttock or a hand down on the floor widens the support polygon (kneeling, sitting on the floor)."""
    soles = np.concatenate(list(sole_corners(person, skel, positions).values()), axis=1)
    capsules = CapsuleModel.of(skel)
    above_shins = ~np.isin(np.asarray(skel.groups)[capsules.body], ("knee", "ankle", "toe"))
    a, b = capsules.segments(positions, skel)
    ends = np.concatenate([a[:, above_shins], b[:, above_shins]], axis=1)
    ends[..., 2] -= np.tile(capsules.radius[above_shins], 2)
    return np.concatenate([soles, ends], axis=1)


def _outside_support(point: np.ndarray, support: np.ndarray, missing: float) -> np.ndarray:
    """(T,) how far (metres) each frame's `point` (T, 2) lies outside the support polygon of the points of `support`
    (T, K, 3) on the floor (`SUPPORT_HEIGHT`); `missing` on frames where none touches."""
    touching = support[..., 2] < SUPPORT_HEIGHT
    return np.array([np.linalg.norm(point[i] - nearest_in_polygon(point[i], support[i, touching[i], :2]))
                     if touching[i].any() else missing for i in range(len(point))])


def zmp_outside_support(person: PersonMotion, skel: Skeleton, fps: float) -> np.ndarray:
    """(T,) how far (metres) the ZMP of `person` lies outside the support polygon of its points on the floor
    (`_support_points`); NaN on frames where none touches."""
    positions = body_positions(person, skel)
    zmp = zero_moment_point(centre_of_mass(positions, skel), fps)
    return _outside_support(zmp, _support_points(person, skel, positions), np.nan)


def com_outside_support(person: PersonMotion, skel: Skeleton) -> np.ndarray:
    """(T,) how far (metres) the centre of mass of `person` lies outside the support polygon of its points on the floor
    (`_support_points`), seen from above: what holds a still body up if not its own points on the floor (a seat);
    +inf on frames where none touches."""
    positions = body_positions(person, skel)
    return _outside_support(centre_of_mass(positions, skel)[:, :2], _support_points(person, skel, positions), np.inf)


def balanced_person(body: Callable[[np.ndarray], PersonMotion], root_xy: np.ndarray, skel: Skeleton,
                    passes: int = PASSES) -> PersonMotion:
    """`body(root_xy)`, the person a generator builds on the horizontal pelvis track `root_xy` (T, 2) (at `FPS`,
    legs placed on its feet), with that track moved `passes` times so that the centre of mass follows
    `balanced_com`."""
    person = body(root_xy)
    for _ in range(passes):
        positions = body_positions(person, skel)
        com = centre_of_mass(positions, skel)
        root_xy = root_xy + balanced_com(com, _support_points(person, skel, positions), FPS) - com[:, :2]
        person = body(root_xy)
    return person


def rebalanced(person: PersonMotion, skel: Skeleton, passes: int = PASSES, keep_knees: bool = False) -> PersonMotion:
    """`person` (a generated clip's, at `FPS`, its feet turned by yaw and pitch alone, as the generators place them)
    balanced, or balanced again after a change of its timing (a time warp scales every acceleration by the speed
    squared): the pelvis moved along the floor as `balanced_person` does, the legs re-placed on the feet where they
    were (`place_feet`; `keep_knees`: each knee pointing where it points now, away from its hip, instead of
    where `place_feet` would point it: a generator that placed the knees itself)."""
    positions, rotations = body_positions(person, skel), global_rotations(person, skel)
    feet = {}
    poles = {side: positions[:, skel.index(f"{side}_Knee")] - positions[:, skel.index(f"{side}_Hip")]
             for side in "LR"} if keep_knees else None
    for side in "LR":
        yaw, pitch, _ = wxyz_to_rotations(rotations[:, skel.index(f"{side}_Ankle")]).as_euler("ZYX").T
        toe = wxyz_to_rotations(person.joint_rot[:, skel.index(f"{side}_Toe") - 1]).as_rotvec()[:, 1]
        feet[side] = (positions[:, skel.index(f"{side}_Ankle")], yaw, pitch, toe)

    def body(root_xy: np.ndarray) -> PersonMotion:
        root = np.column_stack([root_xy, person.root_pos[:, 2]])
        return place_feet(PersonMotion(root, person.root_rot, person.joint_rot), skel, feet, poles)  # IK copies joint_rot

    return balanced_person(body, person.root_pos[:, :2], skel, passes)
