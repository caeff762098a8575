"""The two-person scene: supporter and recipient humanoids, a floor, furniture slots, sensors.

Furniture: mocap boxes each world moves into its clip's places (`assistmimic/mjcf/furniture.py`), sized for the
clips the scene is built for.

Collision bits: 1 = world (floor, furniture), 2 = supporter, 4 = recipient. A person's geoms have
`contype` = own bit and `conaffinity` = world | partner (if `partner_collision`) | own (if
`self_collision`), so each pair is enabled exactly by the config switches.

Sensors (all reported in the world frame as the force the first object applies to the second):
- `{prefix}hand_{Body}`: each hand/finger body of a person against the partner's whole body;
- `{prefix}foot_{Body}`: each foot body against the floor;
- `{prefix}{Body}_{axis}_frc`: each actuator's applied torque;
- `{prefix}grip_{L|R}_frc`, `{prefix}grip_{L|R}_contact`: a grip's pull (N) and whether and along which normal its
  palm touches the partner (the nearest contact).

Grip (`scene.grip`): each hand of a gripping person carries a palm, a massless child body `{prefix}{Hand}_grip` whose
geom is the hand's capsule 1.5 cm thinner, colliding only with the partner (contype 0, conaffinity = partner bit), with
margin 0 and gap = reach + 1.5 cm (MuJoCo >= 3.11: a contact is found below margin + gap, enters the constraint solver
below margin): its contacts are found while the hand's surface is within `reach_m` of the partner, and enter the
solver only if the hand's own capsule sinks 1.5 cm into the partner (the hand's capsule does the pushing), so a palm
changes nothing until it pulls. An `<adhesion>` actuator `{prefix}grip_{L|R}` on the palm (ctrl in [0, 1], gain
`max_force_n`) pulls the partner towards it along the contact normals (at 500 N the hand's capsule sinks about 8 mm);
hands cannot stick to the floor, furniture or their own body.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistmimic.mjcf.config import AgentPhysicsConfig, GripConfig, RobotConfig, SceneConfig
from assistmimic.mjcf.furniture import SceneFurniture, scene_furniture, slot_bodies
from assistmimic.mjcf.humanoid import JointGains, body_geoms, build_person, skeleton_volume
from assistmimic.sim.config import SimConfig
from motion_lib.clip import ROLES
from motion_lib.errors import UserInputError
from motion_lib.furniture import Furniture
from motion_lib.skeleton import LOWER_BODY_GROUPS, Skeleton

AGENT_PREFIXES = ("sup_", "rec_")
AGENT_COLORS = ((0.20, 0.45, 0.85, 1.0), (0.90, 0.50, 0.15, 1.0))
WORLD_BIT, AGENT_BITS = 1, (2, 4)
GRIP_SIDES = ("L", "R")
PALM_INSET = 0.015
"""How much thinner (m) a palm's capsule is than its hand's, so that only the hand's capsule ever presses."""


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
    grip_dims: tuple[int, ...] = ()
    """Per person its grip actions: 2 (left, right hand) for a person with a grip, else 0."""


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

    grip_dims = _add_grips(root, skeleton, prefixes, scene) if len(prefixes) == 2 else (0,)
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
        if len(prefixes) == 2:
            ET.SubElement(sensors, "contact", name=f"{prefix}partner", subtree1=f"{prefix}{root_name}",
                          subtree2=f"{partner_prefix}{root_name}", data="force", reduce="netforce", num="1")
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
        grip_dims=grip_dims,
    )


def grip_body(skeleton: Skeleton, side: str) -> str:
    """The body (without prefix) whose capsule is the palm of hand `side` ("L" or "R"): the hand (SMPL), else the
    wrist (SMPL-X, whose wrist capsule runs towards the middle finger)."""
    names = skeleton.hand_body_names(side)
    return next((name for name in names if skeleton.groups[skeleton.index(name)] == "hand"), names[0])


def _add_grips(root: ET.Element, skeleton: Skeleton, prefixes: tuple[str, ...], scene: SceneConfig) -> tuple[int, ...]:
    """Palms, adhesion actuators and grip sensors (module docstring) on both hands of the persons `scene.grip.agents`
    names; returns each person's number of grip actions (2 or 0)."""
    grip: GripConfig = scene.grip
    unknown = sorted(set(grip.agents) - set(ROLES))
    if unknown:
        raise UserInputError(f"scene.grip.agents names unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
    actuators, sensors = root.find("actuator"), root.find("sensor")
    for agent, (prefix, role) in enumerate(zip(prefixes, ROLES)):
        if role not in grip.agents:
            continue
        partner_bit = AGENT_BITS[1 - agent] if scene.partner_collision else 0
        for side in GRIP_SIDES:
            hand = grip_body(skeleton, side)
            palm = ET.SubElement(root.find(f".//body[@name='{prefix}{hand}']"), "body", name=f"{prefix}{hand}_grip")
            _palm_geom(palm, body_geoms(skeleton, skeleton.index(hand))[0], f"{prefix}{hand}_grip_geom", partner_bit,
                       grip.reach_m + PALM_INSET)
            name = f"{prefix}grip_{side}"
            ET.SubElement(actuators, "adhesion", name=name, body=palm.get("name"), ctrlrange="0 1",
                          gain=f"{grip.max_force_n:.6g}")
            ET.SubElement(sensors, "actuatorfrc", name=f"{name}_frc", actuator=name)
            ET.SubElement(sensors, "contact", name=f"{name}_contact", body1=palm.get("name"),
                          subtree2=f"{AGENT_PREFIXES[1 - agent]}{skeleton.body_names[0]}", data="found normal",
                          reduce="mindist", num="1")
    return tuple(2 if role in grip.agents else 0 for role in ROLES[:len(prefixes)])


def _palm_geom(body: ET.Element, hand_geom, name: str, partner_bit: int, detection: float) -> None:
    """The palm's massless, invisible geom: the hand's shape `PALM_INSET` thinner, touching only the partner, its
    contacts found within `detection` (m) and kept out of the constraint solver unless it penetrates (margin 0)."""
    geom = replace(hand_geom, size=(hand_geom.size[0] - PALM_INSET,))

    def numbers(values) -> str:
        return " ".join(f"{float(v):.6g}" for v in values)

    attrs = {"name": name, "type": geom.kind, "size": numbers(geom.size), "mass": "0", "contype": "0",
             "conaffinity": str(partner_bit), "margin": "0", "gap": f"{detection:.6g}",
             "rgba": "0 0 0 0", "group": "3"}
    if geom.fromto is not None:
        attrs["fromto"] = numbers(geom.fromto)
    else:
        attrs["pos"] = numbers(geom.pos)
    ET.SubElement(body, "geom", **attrs)


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
