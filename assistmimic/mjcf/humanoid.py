"""MJCF for one SMPL / SMPL-X humanoid, built from a `motion_lib.skeleton.Skeleton`.

Each non-root body gets three hinges (x, y, z: intrinsic XYZ, matching the skeleton's FK) and one
PD position actuator per hinge; the root is a free joint. Names carry a per-person prefix:
body `{prefix}{Body}`, hinge and actuator `{prefix}{Body}_{x|y|z}`, free joint `{prefix}root`.

Why these physics choices (REFERENCE §3): MuJoCo's PD is explicit in the position error, so the
stiff PHC gains (up to kp = 1000) need joint armature 0.1 to stay stable at dt = 1/120 s (0.02
blew up within 0.01 s); the actuator's velocity gain kv is integrated implicitly by `implicitfast`,
which is what keeps the kd term from destabilising light distal bodies such as fingers.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np

from motion_lib.errors import UserInputError
from motion_lib.skeleton import ANKLE_ABOVE_SOLE, CAPSULE_RADIUS, HEAD_RADIUS, TOE_ABOVE_SOLE, Skeleton

AXES = ("x", "y", "z")

# Joint ranges in degrees for the LEFT side (and the midline), per group and hinge axis x, y, z.
# z-up body frames: x forward, y left, z up. The right side mirrors the sagittal plane (y -> -y),
# which negates and swaps the x and z ranges and keeps y. Ranges are generous on purpose: mocap
# poses outside them would be clamped by the simulator and become untrackable.
JOINT_RANGES_DEG = {
    "hip": ((-60, 100), (-160, 70), (-90, 90)),
    "knee": ((-40, 40), (-10, 170), (-50, 50)),
    "ankle": ((-50, 50), (-70, 80), (-50, 50)),
    "toe": ((-40, 40), (-70, 70), (-30, 30)),
    "torso": ((-50, 50), (-50, 90), (-60, 60)),
    "spine": ((-50, 50), (-50, 90), (-60, 60)),
    "chest": ((-50, 50), (-50, 90), (-60, 60)),
    "neck": ((-60, 60), (-70, 90), (-90, 90)),
    "head": ((-60, 60), (-70, 90), (-90, 90)),
    "thorax": ((-45, 45), (-45, 45), (-45, 45)),
    "shoulder": ((-140, 140), (-140, 140), (-160, 90)),
    "elbow": ((-70, 70), (-150, 150), (-165, 30)),
    "wrist": ((-90, 90), (-120, 120), (-90, 90)),
    "hand": ((-60, 60), (-60, 60), (-60, 60)),
    "finger": ((-110, 30), (-40, 40), (-40, 40)),
}

FOOT_HALF_WIDTH = 0.045


@dataclass(frozen=True)
class GeomSpec:
    """One collision shape in its body's frame."""

    kind: str  # "capsule" | "sphere" | "box"
    size: tuple[float, ...]  # capsule: (radius,); sphere: (radius,); box: half sizes (3)
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)  # sphere/box centre
    fromto: tuple[float, ...] | None = None  # capsule end points (6)

    @property
    def volume(self) -> float:
        if self.kind == "box":
            return 8.0 * float(np.prod(self.size))
        r = self.size[0]
        sphere = 4.0 / 3.0 * math.pi * r**3
        if self.kind == "sphere":
            return sphere
        length = float(np.linalg.norm(np.subtract(self.fromto[3:], self.fromto[:3])))
        return math.pi * r**2 * length + sphere


@dataclass(frozen=True)
class JointGains:
    """PD gains and effort limit of one actuated body (applied to its three hinges)."""

    kp: float
    kd: float
    effort_limit: float


def joint_range_rad(group: str, side: str) -> np.ndarray:
    """(3, 2) lower/upper limits in radians for hinges x, y, z of a body in `group` on `side` ("L", "R" or "")."""
    ranges = np.radians(np.array(JOINT_RANGES_DEG[group], dtype=np.float64))
    if side == "R":
        ranges[[0, 2]] = -ranges[[0, 2], ::-1]
    return ranges


def hinge_ranges(skeleton: Skeleton) -> np.ndarray:
    """(D, 2) lower/upper limits (rad) of every hinge, canonical order (x, y, z per non-root body)."""
    return np.concatenate([
        joint_range_rad(skeleton.groups[b], name[0] if name[:2] in ("L_", "R_") else "")
        for b, name in enumerate(skeleton.body_names) if b > 0
    ])


def pd_action_scale(skeleton: Skeleton) -> np.ndarray:
    """(D,) PHC's action scale per hinge: PD target = scale * action, scale = min(1.2 max|limit|, pi)."""
    return np.minimum(1.2 * np.abs(hinge_ranges(skeleton)).max(axis=1), np.pi)


def _capsule_between(a, b, radius) -> GeomSpec:
    a, b = np.asarray(a, float), np.asarray(b, float)
    length = np.linalg.norm(b - a)
    if length <= 2 * radius + 1e-3:
        return GeomSpec("sphere", (radius,), pos=tuple((a + b) / 2))
    direction = (b - a) / length
    return GeomSpec("capsule", (radius,), fromto=tuple(a + direction * radius) + tuple(b - direction * radius))


def body_geoms(skeleton: Skeleton, b: int) -> list[GeomSpec]:
    """Collision shapes of body `b`: capsules along bones, boxes for the feet, a sphere for the head."""
    name, group = skeleton.body_names[b], skeleton.groups[b]
    children = skeleton.children[b]
    offset_of = lambda child_name: skeleton.offsets[skeleton.index(child_name)]
    side = name[0] if name[:2] in ("L_", "R_") else ""
    if group == "pelvis":
        return [_capsule_between(0.6 * offset_of("L_Hip"), 0.6 * offset_of("R_Hip"), CAPSULE_RADIUS["pelvis"])]
    if group == "chest":
        return [_capsule_between(0.8 * offset_of("L_Thorax"), 0.8 * offset_of("R_Thorax"), CAPSULE_RADIUS["chest"])]
    if group == "head":
        return [GeomSpec("sphere", (HEAD_RADIUS,), pos=(0.02, 0.0, 0.09))]
    if group == "ankle":
        toe = offset_of(f"{side}_Toe")
        heel_x = -0.05
        half_z = (ANKLE_ABOVE_SOLE - 0.02) / 2
        return [GeomSpec(
            "box", ((toe[0] - heel_x) / 2, FOOT_HALF_WIDTH, half_z),
            pos=((toe[0] + heel_x) / 2, toe[1] / 2, -ANKLE_ABOVE_SOLE + half_z),
        )]
    if group == "toe":
        return [GeomSpec("box", (0.03, FOOT_HALF_WIDTH, TOE_ABOVE_SOLE / 2), pos=(0.03, 0.0, -TOE_ABOVE_SOLE / 2))]
    radius = CAPSULE_RADIUS[group]
    if group == "wrist" and len(children) > 1:  # SMPL-X palm: towards the middle finger's knuckle
        return [_capsule_between((0, 0, 0), 0.85 * offset_of(f"{side}_Middle1"), radius)]
    if children:
        return [_capsule_between((0, 0, 0), skeleton.offsets[children[0]], radius)]
    # A leaf (SMPL hand, last finger segment): continue the parent's bone direction.
    bone = skeleton.offsets[b]
    length = 0.07 if group == "hand" else 0.8 * float(np.linalg.norm(bone))
    return [_capsule_between((0, 0, 0), bone / np.linalg.norm(bone) * (length + 2 * radius), radius)]


def skeleton_volume(skeleton: Skeleton) -> float:
    """Total collision-shape volume of one person (m^3); density = mass / volume."""
    return sum(g.volume for b in range(skeleton.num_bodies) for g in body_geoms(skeleton, b))


def _fmt(values) -> str:
    return " ".join(f"{float(v):.6g}" for v in np.ravel(values))


def build_person(
    skeleton: Skeleton,
    prefix: str,
    gains: list[JointGains],
    density: float,
    root_pos: tuple[float, float, float],
    root_yaw: float,
    contype: int,
    conaffinity: int,
    armature: float,
    rgba: tuple[float, float, float, float],
) -> tuple[ET.Element, list[ET.Element]]:
    """One humanoid as an MJCF body tree plus its actuators.

    Args:
        gains: (B-1) per non-root body in canonical order.
        root_pos, root_yaw: initial root position (m) and heading (rad) in the world.
        contype, conaffinity: collision bit masks for all of this person's geoms.
    Returns:
        (root <body> element, list of <position> actuator elements in canonical DoF order).
    """
    if len(gains) != skeleton.num_joints:
        raise UserInputError(f"expected gains for {skeleton.num_joints} joints, got {len(gains)}")
    elements: list[ET.Element] = []
    actuators: list[ET.Element] = []
    for b, name in enumerate(skeleton.body_names):
        parent = skeleton.parents[b]
        if parent < 0:
            half = root_yaw / 2
            body = ET.Element("body", name=f"{prefix}{name}", pos=_fmt(root_pos),
                              quat=_fmt((math.cos(half), 0, 0, math.sin(half))))
            ET.SubElement(body, "freejoint", name=f"{prefix}root")
        else:
            body = ET.SubElement(elements[parent], "body", name=f"{prefix}{name}", pos=_fmt(skeleton.offsets[b]))
            side = name[0] if name[:2] in ("L_", "R_") else ""
            limits = joint_range_rad(skeleton.groups[b], side)
            g = gains[b - 1]
            for axis_index, axis in enumerate(AXES):
                joint_name = f"{prefix}{name}_{axis}"
                ET.SubElement(body, "joint", name=joint_name, type="hinge",
                              axis=_fmt(np.eye(3)[axis_index]), range=_fmt(limits[axis_index]),
                              armature=f"{armature:.6g}")
                actuators.append(ET.Element(
                    "position", name=joint_name, joint=joint_name, kp=f"{g.kp:.6g}", kv=f"{g.kd:.6g}",
                    forcelimited="true", forcerange=_fmt((-g.effort_limit, g.effort_limit)),
                ))
        for k, geom in enumerate(body_geoms(skeleton, b)):
            attrs = {"name": f"{prefix}{name}_geom{k}", "type": geom.kind, "size": _fmt(geom.size),
                     "density": f"{density:.6g}", "contype": str(contype), "conaffinity": str(conaffinity),
                     "rgba": _fmt(rgba)}
            if geom.fromto is not None:
                attrs["fromto"] = _fmt(geom.fromto)
            else:
                attrs["pos"] = _fmt(geom.pos)
            ET.SubElement(body, "geom", **attrs)
        elements.append(body)
    return elements[0], actuators
