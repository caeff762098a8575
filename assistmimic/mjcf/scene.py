"""The two-person scene: supporter and recipient humanoids, a floor, furniture slots, sensors.

Furniture: mocap boxes each world moves into its clip's places (`assistmimic/mjcf/furniture.py`), sized for the
clips the scene is built for.

Collision bits: 1 = world (floor, furniture), 2 = supporter, 4 = recipient. A person's geoms have
`contype` = own bit and `conaffinity` = world | partner (if `partner_collision`) | own (if
`self_collision`), so each pair is enabled exactly by the config switches.

Sensors (all reported in the world frame as the force the first object applies to the second):
- `{prefix}hand_{Body}`: each hand/finger body of a person against the partner's whole body;
- `{prefix}foot_{Body}`: each foot body against the floor;
- `{prefix}{Body}_{axis}_frc`: each actuator's applied torque.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from assistmimic.mjcf.config import AgentPhysicsConfig, RobotConfig, SceneConfig
from assistmimic.mjcf.furniture import SceneFurniture, scene_furniture, slot_bodies
from assistmimic.mjcf.humanoid import JointGains, build_person, skeleton_volume
from assistmimic.sim.config import SimConfig
from motion_lib.clip import ROLES
from motion_lib.errors import UserInputError
from motion_lib.furniture import Furniture
from motion_lib.skeleton import LOWER_BODY_GROUPS, Skeleton

AGENT_PREFIXES = ("sup_", "rec_")
AGENT_COLORS = ((0.20, 0.45, 0.85, 1.0), (0.90, 0.50, 0.15, 1.0))
WORLD_BIT, AGENT_BITS = 1, (2, 4)


@dataclass(frozen=True)
class SceneModel:
    """A compiled-ready scene and the names a backend needs to find its parts."""

    xml: str
    skeleton: Skeleton
    prefixes: tuple[str, ...]
    hand_bodies: tuple[str, ...]
    """Hand/finger body names (without prefix) that carry partner-contact sensors, in canonical order."""
    foot_bodies: tuple[str, ...]
    """Foot body names (without prefix) that carry floor-contact sensors."""
    furniture: SceneFurniture
    """The furniture slots (mocap bodies `furniture<i>`, in order) and the furniture of clips that have none."""


def joint_gains(skeleton: Skeleton, robot: RobotConfig, physics: AgentPhysicsConfig) -> list[JointGains]:
    """(B-1) PD gains and effort limits per non-root body after the agent's per-group rules."""
    known_groups = set(skeleton.groups[1:])
    missing = sorted(known_groups - set(robot.pd_gains))
    if missing:
        raise UserInputError(f"robot.pd_gains has no [kp, kd] for joint group(s) {', '.join(missing)}")
    gains = {}
    for group in known_groups:
        kp_kd = list(robot.pd_gains[group])
        if len(kp_kd) != 2:
            raise UserInputError(f"robot.pd_gains.{group} must be [kp, kd], got {kp_kd}")
        gains[group] = JointGains(float(kp_kd[0]), float(kp_kd[1]), float(robot.effort_limit))
    for i, rule in enumerate(physics.rules):
        for group in _expand_groups(rule.groups, known_groups, i):
            g = gains[group]
            effort = g.effort_limit if rule.effort_limit is None else float(rule.effort_limit)
            if effort <= 0:
                raise UserInputError(f"impairment rule {i}: effort_limit must be positive, got {effort}")
            gains[group] = JointGains(g.kp * rule.kp_scale, g.kd * rule.kd_scale, effort)
    return [gains[group] for group in skeleton.groups[1:]]


def _expand_groups(groups, known_groups, rule_index) -> list[str]:
    expanded = []
    for group in groups:
        if group == "lower":
            expanded += [g for g in LOWER_BODY_GROUPS if g in known_groups]
        elif group == "upper":
            expanded += [g for g in known_groups if g not in LOWER_BODY_GROUPS]
        elif group in known_groups:
            expanded.append(group)
        else:
            raise UserInputError(
                f"impairment rule {rule_index}: unknown joint group '{group}'; "
                f"known: lower, upper, {', '.join(sorted(known_groups))}"
            )
    return expanded


def build_scene(
    skeleton: Skeleton,
    robot: RobotConfig,
    scene: SceneConfig,
    sim: SimConfig,
    physics: tuple[AgentPhysicsConfig, ...],
    sceneries: Sequence[Sequence[Furniture]] = (),
) -> SceneModel:
    """The MJCF of a supporter (agent 0) and a recipient (agent 1) facing each other, or, with one
    entry in `physics`, of one person standing at the origin (the single-person prior's scene), with
    furniture slots for the clips whose furniture lists are `sceneries` (none: the scene's own furniture)."""
    if len(physics) not in (1, 2):
        raise UserInputError(f"a scene holds 1 or 2 persons, got {len(physics)}")
    prefixes = AGENT_PREFIXES[: len(physics)]
    if sim.physics_dt <= 0:
        raise UserInputError(f"sim.physics_dt must be positive, got {sim.physics_dt}")
    if sim.solver not in ("PGS", "CG", "Newton"):
        raise UserInputError(f"sim.solver must be PGS, CG or Newton, got '{sim.solver}'")
    root = ET.Element("mujoco", model=f"assist_{skeleton.name}")
    ET.SubElement(root, "compiler", angle="radian", autolimits="true")
    ET.SubElement(root, "option", timestep=f"{sim.physics_dt:.8g}", integrator="implicitfast",
                  solver=sim.solver, iterations=str(sim.iterations))
    ET.SubElement(root, "default").append(ET.Element("geom", friction=f"{scene.friction:.6g} 0.005 0.0001"))
    asset = ET.SubElement(root, "asset")
    ET.SubElement(asset, "texture", name="grid", type="2d", builtin="checker", width="512", height="512",
                  rgb1="0.82 0.82 0.82", rgb2="0.68 0.68 0.68")
    ET.SubElement(asset, "material", name="grid", texture="grid", texrepeat="8 8", reflectance="0.1")
    world = ET.SubElement(root, "worldbody")
    ET.SubElement(world, "light", name="top", pos="0 0 4", dir="0 0 -1", directional="true")
    ET.SubElement(world, "geom", name="floor", type="plane", size="20 20 0.1", material="grid",
                  contype=str(WORLD_BIT), conaffinity="0")
    furniture = scene_furniture(scene.furniture, sceneries)
    world.extend(slot_bodies(furniture, WORLD_BIT))

    volume = skeleton_volume(skeleton)
    actuators = ET.SubElement(root, "actuator")
    sensors = ET.SubElement(root, "sensor")
    height = skeleton.standing_root_height + 0.002
    for agent, (prefix, role) in enumerate(zip(prefixes, ROLES)):
        agent_physics = physics[agent]
        if agent_physics.mass_scale <= 0:
            raise UserInputError(f"impairment.{role}.mass_scale must be positive, got {agent_physics.mass_scale}")
        own, partner = AGENT_BITS[agent], AGENT_BITS[1 - agent]
        conaffinity = WORLD_BIT | (partner if scene.partner_collision else 0) | (own if scene.self_collision else 0)
        body, person_actuators = build_person(
            skeleton, prefix, joint_gains(skeleton, robot, agent_physics),
            density=robot.total_mass * agent_physics.mass_scale / volume,
            root_pos=(0.0 if len(prefixes) == 1 else (-0.5 if agent == 0 else 0.5) * scene.spacing, 0.0, height),
            root_yaw=0.0 if agent == 0 else math.pi,
            contype=own, conaffinity=conaffinity, armature=robot.armature, rgba=AGENT_COLORS[agent],
        )
        world.append(body)
        actuators.extend(person_actuators)
        for act in person_actuators:
            ET.SubElement(sensors, "actuatorfrc", name=f"{act.get('name')}_frc", actuator=act.get("name"))

    hand_bodies = skeleton.hand_body_names("L") + skeleton.hand_body_names("R") if len(prefixes) == 2 else ()
    root_name = skeleton.body_names[0]
    for agent, prefix in enumerate(prefixes):
        partner_prefix = AGENT_PREFIXES[1 - agent]
        for name in hand_bodies:
            ET.SubElement(sensors, "contact", name=f"{prefix}hand_{name}", body1=f"{prefix}{name}",
                          subtree2=f"{partner_prefix}{root_name}", data="force", reduce="netforce", num="1")
        for name in skeleton.foot_body_names:
            ET.SubElement(sensors, "contact", name=f"{prefix}foot_{name}", body1=f"{prefix}{name}",
                          geom2="floor", data="force", reduce="netforce", num="1")
    if scene.self_collision:
        _exclude_near_pairs(root, skeleton, prefixes)
    ET.indent(root)
    return SceneModel(
        xml=ET.tostring(root, encoding="unicode"),
        skeleton=skeleton,
        prefixes=prefixes,
        hand_bodies=hand_bodies,
        foot_bodies=skeleton.foot_body_names,
        furniture=furniture,
    )


def _exclude_near_pairs(root: ET.Element, skeleton: Skeleton, prefixes: tuple[str, ...]) -> None:
    """Exclude self-contacts between bodies at most two joints apart (siblings, grandparents).

    Their capsules overlap at the joints by construction; MuJoCo already skips parent-child pairs.
    """
    contact = ET.SubElement(root, "contact")
    parents = skeleton.parents
    pairs = set()
    for b in range(skeleton.num_bodies):
        p = parents[b]
        if p < 0:
            continue
        if parents[p] >= 0:
            pairs.add((parents[p], b))
        for sibling in skeleton.children[p]:
            if sibling != b:
                pairs.add(tuple(sorted((b, sibling))))
    for prefix in prefixes:
        for a, b in sorted(pairs):
            ET.SubElement(contact, "exclude", body1=f"{prefix}{skeleton.body_names[a]}",
                          body2=f"{prefix}{skeleton.body_names[b]}")
