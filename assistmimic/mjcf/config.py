"""Config schemas of the robot, the scene and the impairment: what the MJCF builders read.

Plain dataclasses: the stages' config module (`stages/config.py`) registers them as the config
groups robot/, scene/ and impairment/, so each YAML file is checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistmimic.limits import Limits, above, at_least, limits


@dataclass
class RobotConfig:
    name: str = "smpl"
    """Skeleton of both persons: "smpl" (24 bodies, 69 DoF) or "smplx" (52 bodies, 153 DoF)."""
    body_model_path: str | None = None
    """Your own SMPL/SMPL-X model file (.pkl or .npz) to take the body shape from; None: built-in neutral skeleton."""
    betas: list[float] = field(default_factory=list)
    """Shape coefficients applied with `body_model_path` (empty: mean shape)."""
    total_mass: float = field(default=70.0, metadata=above(0))
    """Mass of one unimpaired person (kg); a uniform density is chosen to reach it."""
    armature: float = field(default=0.1, metadata=at_least(0))
    """Joint armature (kg m^2); 0.1 keeps the stiff PD stable at dt = 1/120 s."""
    pd_gains: dict[str, list[float]] = field(default_factory=dict)
    """Joint group -> [kp, kd] (PHC's values, REFERENCE §2)."""
    effort_limit: float = field(default=500.0, metadata=above(0))
    """Default absolute torque limit of every actuator (N m)."""


@dataclass
class JointGroupRule:
    groups: list[str] = field(default_factory=list)
    """Joint groups this rule changes, e.g. [hip, knee, ankle, toe]; "upper" and "lower" are shorthands."""
    kp_scale: float = field(default=1.0, metadata=at_least(0))
    """Factor on the stiffness of these joints."""
    kd_scale: float = field(default=1.0, metadata=at_least(0))
    """Factor on the damping of these joints."""
    effort_limit: float | None = field(default=None, metadata=above(0))
    """Absolute torque limit for these joints (N m); None keeps the robot's."""


@dataclass
class AgentPhysicsConfig:
    mass_scale: float = field(default=1.0, metadata=above(0))
    """Factor on this person's total mass."""
    rules: list[JointGroupRule] = field(default_factory=list)
    """Per-joint-group changes, applied in order (a later rule wins for the same group)."""


@dataclass
class ImpairmentConfig:
    supporter: AgentPhysicsConfig = field(default_factory=AgentPhysicsConfig)
    recipient: AgentPhysicsConfig = field(default_factory=AgentPhysicsConfig)


@dataclass
class FurnitureConfig:
    kind: str = "chair"
    """"bed" or "chair" (sizes: `motion_lib.furniture.DEFAULT_SIZES`, REFERENCE §4), or "box" with an explicit `size`."""
    pos: list[float] = field(default_factory=lambda: [0.0, 0.0], metadata=limits(length=2))
    """Centre of the footprint on the floor (x, y) in metres."""
    yaw: float = 0.0
    """Rotation about z in degrees."""
    size: list[float] | None = field(default=None, metadata=limits(length=3, item=Limits(above=0)))
    """Full extents (x, y, z) in metres; None uses the kind's default."""


@dataclass
class GripConfig:
    agents: list[str] = field(default_factory=lambda: ["supporter"])
    """Roles whose two hands can hold the partner (one grip action per hand): [supporter], [supporter, recipient]
    (the recipient holds the supporter's forearms too), or [] (no grip: hands can only push; the ablation)."""
    max_force_n: float = field(default=500.0, metadata=above(0))
    """Adhesion force (N) of one hand at grip command 1; a command g in [0, 1] pulls with g x this."""
    reach_m: float = field(default=0.02, metadata=above(0))
    """A hand holds whatever part of the partner lies within this distance (m) of its surface."""


@dataclass
class SceneConfig:
    furniture: list[FurnitureConfig] = field(default_factory=list)
    """Furniture of the clips that bring none of their own (`Clip.furniture`); a clip with furniture plays among its own only."""
    self_collision: bool = False
    """Collide a person's own non-adjacent bodies (slower; parent-child pairs never collide)."""
    partner_collision: bool = True
    """Collide the two persons with each other (needed for any physical assistance)."""
    friction: float = field(default=1.0, metadata=at_least(0))
    """Sliding friction of all geoms."""
    spacing: float = field(default=1.0, metadata=at_least(0))
    """Initial distance between the two roots along x (m); they face each other."""
    grip: GripConfig = field(default_factory=GripConfig)
    """Which persons' hands can hold the partner (adhesion actuators on their palms) and how strongly."""
