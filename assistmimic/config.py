"""Typed config schemas, registered in Hydra's ConfigStore.

Each YAML file under `configs/<group>/` is validated against the schema named in its defaults
list, so a misspelt key or a value of the wrong type is an error at start-up, not a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore

from assistmimic.envs.config import TrackingEnvConfig
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig


@dataclass
class RobotConfig:
    name: str = "smpl"
    """Skeleton of both persons: "smpl" (24 bodies, 69 DoF) or "smplx" (52 bodies, 153 DoF)."""
    body_model_path: Optional[str] = None
    """Your own SMPL/SMPL-X model file (.pkl or .npz) to take the body shape from; None: built-in neutral skeleton."""
    betas: list[float] = field(default_factory=list)
    """Shape coefficients applied with `body_model_path` (empty: mean shape)."""
    total_mass: float = 70.0
    """Mass of one unimpaired person (kg); a uniform density is chosen to reach it."""
    armature: float = 0.1
    """Joint armature (kg m^2); 0.1 keeps the stiff PD stable at dt = 1/120 s."""
    pd_gains: dict[str, list[float]] = field(default_factory=dict)
    """Joint group -> [kp, kd] (PHC's values, REFERENCE §2)."""
    effort_limit: float = 500.0
    """Default absolute torque limit of every actuator (N m)."""


@dataclass
class JointGroupRule:
    groups: list[str] = field(default_factory=list)
    """Joint groups this rule changes, e.g. [hip, knee, ankle, toe]; "upper" and "lower" are shorthands."""
    kp_scale: float = 1.0
    """Factor on the stiffness of these joints."""
    kd_scale: float = 1.0
    """Factor on the damping of these joints."""
    effort_limit: Optional[float] = None
    """Absolute torque limit for these joints (N m); None keeps the robot's."""


@dataclass
class AgentPhysicsConfig:
    mass_scale: float = 1.0
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
    """"bed" or "chair" (sizes from REFERENCE §4), or "box" with an explicit `size`."""
    pos: list[float] = field(default_factory=lambda: [0.0, 0.0])
    """Centre of the footprint on the floor (x, y) in metres."""
    yaw: float = 0.0
    """Rotation about z in degrees."""
    size: Optional[list[float]] = None
    """Full extents (x, y, z) in metres; None uses the kind's default."""


@dataclass
class SceneConfig:
    furniture: list[FurnitureConfig] = field(default_factory=list)
    """Static boxes on the floor (bed, chair)."""
    self_collision: bool = False
    """Collide a person's own non-adjacent bodies (slower; parent-child pairs never collide)."""
    partner_collision: bool = True
    """Collide the two persons with each other (needed for any physical assistance)."""
    friction: float = 1.0
    """Sliding friction of all geoms."""
    spacing: float = 1.0
    """Initial distance between the two roots along x (m); they face each other."""


@dataclass
class SimConfig:
    backend: str = "cpu"
    """Simulator backend: "cpu" (mujoco.rollout threads); "warp" (GPU) is planned."""
    physics_dt: float = 1.0 / 120.0
    """Physics time step (s)."""
    substeps: int = 4
    """Physics steps per policy step (4 at 120 Hz gives a 30 Hz policy)."""
    nthread: Optional[int] = None
    """Simulation threads; None uses every core."""
    solver: str = "PGS"
    """MuJoCo constraint solver: PGS (fastest on CPU here), CG or Newton."""
    iterations: int = 20
    """Constraint solver iterations."""
    max_joint_velocity: float = 100.0
    """A world whose |qvel| exceeds this (rad/s or m/s), or holds NaN, counts as diverged and is reset."""
    torch_threads: Optional[int] = 1
    """torch intra-op threads for the whole run; 1 leaves the cores to MuJoCo's threads (faster on a small CPU), None: torch's default."""


@dataclass
class BenchConfig:
    name: str = "bench"
    batch_sizes: list[int] = field(default_factory=lambda: [64, 256])
    """Numbers of two-person worlds to measure."""
    policy_steps: int = 60
    """Timed policy steps per batch size (after warm-up)."""
    warmup_steps: int = 5
    """Untimed policy steps before timing."""
    action_noise: float = 0.1
    """Std of the random PD-target offsets around the rest pose (rad)."""
    seed: int = 0


@dataclass
class ConvertConfig:
    name: str = "convert"
    fps: float = 30.0
    """Frame rate of the written clips (sources are resampled to it)."""
    fix_floor: bool = True
    """Shift each clip so the lowest point of its first frames touches z = 0."""
    actions: list[int] = field(default_factory=list)
    """Inter-X: keep only these action ids (35 = "Help up"); empty keeps all."""
    split: Optional[str] = None
    """Inter-X: keep only the ids of splits/<split>.txt (train, val, test)."""
    supporter: int = 0
    """Which person of a two-person file is the supporter when the file does not say (0: first / P1, 1: second)."""
    up: Optional[str] = None
    """Up axis of position-only sources ("y" or "z"); null: the format's default."""
    source_fps: Optional[float] = None
    """Frame rate of sources that store none (keypoints) or to override a file's; null: the file's or format's."""


@dataclass
class InspectConfig:
    name: str = "inspect"
    png_clip: Optional[str] = None
    """Name of a clip to draw (the first clip when only png_frame is set)."""
    png_frame: Optional[int] = None
    """Frame to draw as a PNG stick figure in the run folder; null draws nothing unless png_clip is set (then frame 0)."""


@dataclass
class PriorConfig:
    name: str = "prior"
    default_data: str = "data/demo/single.pkl"
    """Clips used when the run gives no `data=` (the built-in single-person demo clips)."""
    num_envs: int = 64
    """Parallel single-person worlds (the top-level `num_envs=` overrides it)."""
    resume: bool = False
    """Continue the run in `run_dir` from its `last.pt` (iteration, optimiser, normalisers, RNG)."""
    env: TrackingEnvConfig = field(default_factory=TrackingEnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    amp: AMPConfig = field(default_factory=AMPConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)


@dataclass
class EvalConfig:
    name: str = "eval"
    default_data: str = "data/demo/single.pkl"
    """Clips used when the run gives no `data=`."""
    num_envs: int = 64
    """Clips evaluated in parallel (one world per clip; more clips run in batches)."""
    failure_distance: float = 0.5
    """A clip fails when the mean body position error exceeds this (m) at any frame (PHC's rule)."""


@dataclass
class RunConfig:
    run_dir: str = "runs/${stage.name}/${now:%Y%m%d-%H%M%S}"
    """Where a stage writes its results (summary.json, logs, checkpoints)."""
    seed: int = 0
    num_envs: Optional[int] = None
    """Short override of the number of parallel worlds for training stages."""
    max_iterations: Optional[int] = None
    """Short override of the number of training iterations."""
    data: Optional[str] = None
    """Motion clips (a PHC/AssistMimic pickle) for stages that read clips: inspect, prior, expert, ..."""
    source: Optional[str] = None
    """stage=convert: the input format (interx, hhi, phc, amass, intergen, intermask, keypoints)."""
    input: Optional[str] = None
    """stage=convert: the file or folder to read."""
    output: Optional[str] = None
    """stage=convert: the pickle to write."""
    checkpoint: Optional[str] = None
    """stage=eval: the checkpoint to evaluate (a `model_<iteration>.pt` / `last.pt` of a training run)."""
    robot: RobotConfig = field(default_factory=RobotConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    impairment: ImpairmentConfig = field(default_factory=ImpairmentConfig)
    stage: Any = None


def register_configs() -> None:
    """Register the schemas so YAML files can name them in their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(group="robot", name="robot_schema", node=RobotConfig)
    cs.store(group="sim", name="sim_schema", node=SimConfig)
    cs.store(group="scene", name="scene_schema", node=SceneConfig)
    cs.store(group="impairment", name="impairment_schema", node=ImpairmentConfig)
    cs.store(group="stage", name="bench_schema", node=BenchConfig)
    cs.store(group="stage", name="convert_schema", node=ConvertConfig)
    cs.store(group="stage", name="inspect_schema", node=InspectConfig)
    cs.store(group="stage", name="prior_schema", node=PriorConfig)
    cs.store(group="stage", name="eval_schema", node=EvalConfig)
