"""Config schemas of the stages and of the whole run, and their registration in Hydra's ConfigStore.

Each YAML file under `configs/<group>/` is validated against the schema named in its defaults
list, so a misspelt key or a value of the wrong type is an error at start-up, not a silent default.
The other groups' schemas live with the code that reads them (robot, scene, impairment:
`assistmimic.mjcf.config`; sim: `assistmimic.sim.config`); they are registered here, in the one place
that imports Hydra's ConfigStore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from hydra.core.config_store import ConfigStore

from assistmimic.envs.config import AssistEnvConfig, TrackingEnvConfig
from assistmimic.limits import above, at_least, between, each_at_least, limits
from assistmimic.mjcf.config import ImpairmentConfig, RobotConfig, SceneConfig
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig
from assistmimic.sim.config import SimConfig
from distill.config import DAggerConfig, FineTuneConfig
from motion_lib.checks import MAX_DURATION_S


@dataclass
class BenchConfig:
    name: str = "bench"
    short_overrides: ClassVar[tuple[str, ...]] = ("num_envs",)
    """The top-level short overrides (`num_envs=`, `max_iterations=`) this stage reads; the others are an error."""
    batch_sizes: list[int] = field(default_factory=lambda: [64, 256], metadata=each_at_least(1, min_items=1))
    """Numbers of two-person worlds to measure."""
    policy_steps: int = field(default=60, metadata=at_least(1))
    """Timed policy steps per batch size (after warm-up)."""
    warmup_steps: int = field(default=5, metadata=at_least(0))
    """Untimed policy steps before timing."""
    action_noise: float = field(default=0.1, metadata=at_least(0))
    """Std of the random PD-target offsets around the rest pose (rad)."""
    seed: int = field(default=0, metadata=between(0, 2**32 - 1))


@dataclass
class ConvertConfig:
    name: str = "convert"
    short_overrides: ClassVar[tuple[str, ...]] = ()
    """The top-level short overrides (`num_envs=`, `max_iterations=`) this stage reads; the others are an error."""
    fps: float = field(default=30.0, metadata=above(0))
    """Frame rate of the written clips (sources are resampled to it)."""
    fix_floor: bool = True
    """Shift each clip so the lowest point of its first frames touches z = 0."""
    fit_subject_scale: bool = True
    """Measure each captured person's size from their planted feet and rescale the root travel to the skeleton's, so
    the feet do not slide (`motion_lib.subject_scale`; clips within 3 % of the skeleton's size are kept as read)."""
    place_seats: bool = True
    """Put the standard chair (or bed) under a person who sits (or lies) on one the capture does not show (at their
    lowest, still, the centre of mass off the feet; `motion_lib.seats.seats_from_motion`); clips that bring furniture
    keep theirs."""
    treadmill_to_ground: bool = True
    """Give a one-person capture on a treadmill (planted feet carried backwards together, the root in place) the
    belt's travel, so it walks or runs over the ground (`motion_lib.treadmill`); capture on the ground is kept."""
    actions: list[int] = field(default_factory=list, metadata=each_at_least(0))
    """Inter-X: keep only these action ids (35 = "Help up"); empty keeps all."""
    split: str | None = None
    """Inter-X: keep only the ids of splits/<split>.txt (train, val, test)."""
    supporter: int = field(default=0, metadata=between(0, 1))
    """Which person of a two-person file is the supporter when the file does not say (0: first / P1, 1: second)."""
    up: str | None = None
    """Up axis of position-only sources ("y" or "z"); null: the format's default."""
    source_fps: float | None = field(default=None, metadata=above(0))
    """Frame rate of sources that store none (keypoints) or to override a file's; null: the file's or format's."""
    loop_seconds: float | None = field(default=None, metadata=limits(above=0.0, max=MAX_DURATION_S))
    """DeepMimic: repeat each looping clip (`"Loop": "wrap"`: one cycle of a walk or run) to at least this many
    seconds, the root carried on by each cycle's travel as DeepMimic plays it; null keeps the one cycle."""


@dataclass
class InspectConfig:
    name: str = "inspect"
    short_overrides: ClassVar[tuple[str, ...]] = ()
    """The top-level short overrides (`num_envs=`, `max_iterations=`) this stage reads; the others are an error."""
    png_clip: str | None = None
    """Name of a clip to draw (the first clip when only png_frame is set)."""
    png_frame: int | None = field(default=None, metadata=at_least(0))
    """Frame to draw as a PNG stick figure in the run folder; null draws nothing unless png_clip is set (then frame 0)."""


@dataclass
class TrainingConfig:
    """What every training stage (prior, expert, experts) configures."""

    short_overrides: ClassVar[tuple[str, ...]] = ("num_envs", "max_iterations")
    """The top-level short overrides (`num_envs=`, `max_iterations=`) this stage reads; the others are an error."""
    num_envs: int = field(default=64, metadata=at_least(1))
    """Parallel worlds (the top-level `num_envs=` overrides it)."""
    resume: bool = False
    """Continue the run in `run_dir` from its `last.pt` (iteration, optimiser, normalisers, RNG)."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    amp: AMPConfig = field(default_factory=AMPConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)


@dataclass
class FamiliesConfig:
    """Generated motion (`motion_lib.families`) the prior trains on when the run gives no `data=`."""

    clips: int = field(default=300, metadata=at_least(0))
    """Clips to generate; 0 trains on `default_data` (the built-in demo clips) instead."""
    seed: int = field(default=0, metadata=between(0, 2**32 - 1))
    """Seed of the generated set (the same seed gives the same clips)."""
    mix: str | None = None
    """Family weights, e.g. "walk=3,run=1" (only the families named); null: every family's default weight."""
    subject_scale_share: float = field(default=0.0, metadata=between(0, 1))
    """Share of the clips (those without furniture) converted as from a subject of another size, 0.88-1.14x the
    skeleton's (`motion_lib.families.transforms.with_subject_scale`): the feet slide as in real motion capture of other
    people, which the readers copy onto the one skeleton. 0 keeps the set as before the option existed."""
    workers: int = field(default=0, metadata=at_least(0))
    """Processes that make the clips (the same clips however many): 0: this process's share of the cores
    (`threads.core_share`), one for fewer than `stages.prior.PARALLEL_FROM` clips (a process takes seconds to start); n: n."""


@dataclass
class PriorDistillConfig:
    """A prior trained by DAgger from prior checkpoints (`phc_prior.distillation`) instead of by PPO."""

    teacher: str | None = None
    """A prior checkpoint whose mean actions label every world (but those of `family_teachers`); null: PPO."""
    family_teachers: dict[str, str] = field(default_factory=dict)
    """{motion family: prior checkpoint}: the worlds tracking a clip of that family are labelled by that checkpoint
    instead (e.g. a continuation that learnt the family); set with `+stage.distill.family_teachers.<family>=<path>`."""
    student_init: str | None = None
    """A prior checkpoint the student starts from (e.g. `teacher`: only its families' gaps to learn); null: fresh
    networks of `stage.policy`."""
    dagger: DAggerConfig = field(default_factory=DAggerConfig)


@dataclass
class PriorConfig(TrainingConfig):
    name: str = "prior"
    default_data: str = "data/demo/single.pkl"
    """Clips used when the run gives no `data=` and `families.clips` is 0 (the built-in single-person demo clips)."""
    families: FamiliesConfig = field(default_factory=FamiliesConfig)
    env: TrackingEnvConfig = field(default_factory=TrackingEnvConfig)
    distill: PriorDistillConfig = field(default_factory=PriorDistillConfig)


@dataclass
class ExpertConfig(TrainingConfig):
    name: str = "expert"
    default_data: str = "data/demo/assist.pkl"
    """Clips used when the run gives no `data=` (the built-in two-person demo clips)."""
    default_clips: list[str] = field(default_factory=lambda: ["support_rise_from_chair"])
    """Clips of `default_data` trained on when the run gives no `data=`."""
    clips: list[str] = field(default_factory=list)
    """Names of the clips of `data=` to train on (one clip, or a cluster); empty: every clip of the file."""
    prior: str | None = "data/prior/smpl_prior_cpu.pt"
    """Prior checkpoint both policies start from (zero-widened first layer); null trains from scratch (the "no init" ablation)
    with the networks of `policy` (with a prior, the prior's architecture is used)."""
    grip_init: float = field(default=0.0, metadata=limits(min=0, max=1))
    """With a prior: the initial mean of the grip actions (`scene.grip`), the bias of their new zero-weight rows; the
    grip command is the action clamped to [0, 1], so 0 starts with open hands and e.g. 0.5 with half the grip force."""
    evaluate: bool = True
    """After training, score the start (`start.pt`) and the trained expert on its clips like `stage=eval` (in `eval_start/`, `eval/`)."""
    video: bool = True
    """After training, render the trained expert on its first clip to `videos/<clip>.mp4` like `stage=render` (needs EGL or OSMesa)."""
    shipped_experts: str | None = "data/experts"
    """Folder of shipped experts (`<clip>.pt`): when it holds one for the run's first clip, that expert is scored too
    (`eval_shipped/`) and rendered beside the run's own (`videos/<clip>_shipped.mp4`), showing what a longer run
    reaches; null: never."""
    env: AssistEnvConfig = field(default_factory=AssistEnvConfig)


@dataclass
class ExpertsConfig(ExpertConfig):
    name: str = "experts"
    video: bool = False
    """Render each trained expert on its first clip (off by default: about 15 s per expert on a small CPU)."""
    clusters: str | None = None
    """JSON file {cluster name: [clip names]}: one expert per cluster; null: one expert per clip of `data=`."""
    n_jobs: int = field(default=1, metadata=limits(min=-1, exclude=(0,)))
    """Experts (with `batch_experts` > 1: batches of experts) trained at once in separate local processes (joblib);
    -1: one per core."""
    batch_experts: int = field(default=1, metadata=at_least(1))
    """Experts trained together in one process on one batch of worlds (`assistmimic/rl/stacked/`): each keeps its
    own `num_envs` worlds (the top-level `num_envs=` or this stage's; a batch steps batch_experts x num_envs worlds),
    playing only its clips, and its own networks, optimisers and discriminators, so it learns as it would alone.
    1: each expert trains alone, as `stage=expert`."""
    shard_index: int | None = field(default=None, metadata=at_least(0))
    """This job's shard of the experts (expert k goes to shard k mod num_shards); null: from the environment
    (RANK / SLURM_ARRAY_TASK_ID), else 0."""
    num_shards: int | None = field(default=None, metadata=at_least(1))
    """Number of shards; null: from the environment (WORLD_SIZE / SLURM_ARRAY_TASK_COUNT), else 1."""


@dataclass
class DistillConfig(TrainingConfig):
    """`stage=distill`: DAgger from the experts of `experts=` into one student pair; `policy` is the student's
    networks, `ppo`/`amp`/`runner` the optional fine-tune's settings (`finetune.iterations` > 0)."""

    name: str = "distill"
    held_out: list[str] = field(default_factory=list)
    """Clips of `data=` left out of distillation although an expert has them (clips without an expert are held out anyway)."""
    student_init: str | None = None
    """A two-agent checkpoint (a previous student, an expert) the student starts from; null: fresh networks of `policy`."""
    evaluate: bool = True
    """After training, score the student and the experts on the training and held-out clips (`eval/`)."""
    video: bool = True
    """Render the student on its first training clip to `videos/<clip>.mp4` like `stage=render` (needs EGL or OSMesa)."""
    dagger: DAggerConfig = field(default_factory=DAggerConfig)
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)


@dataclass
class EvalConfig:
    name: str = "eval"
    short_overrides: ClassVar[tuple[str, ...]] = ("num_envs",)
    """The top-level short overrides (`num_envs=`, `max_iterations=`) this stage reads; the others are an error."""
    default_data: str = "data/demo/single.pkl"
    """Clips used when the run gives no `data=` and the checkpoint names none (single-person priors)."""
    num_envs: int = field(default=64, metadata=at_least(1))
    """Clips evaluated in parallel (one world per clip; more clips run in batches)."""
    failure_distance: float = field(default=0.5, metadata=above(0))
    """A clip fails when the mean body position error (of either agent) exceeds this (m) at any frame (PHC's rule)."""
    fall_head_drop: float = field(default=0.5, metadata=above(0))
    """Two-agent checkpoints: a clip also fails when the recipient's head is this far (m) below the reference's head."""
    robustness: bool = False
    """Two-agent checkpoints: also evaluate with the recipient at `robust_mass_scale` x mass and `robust_gain_scale` x PD gains."""
    robust_mass_scale: float = field(default=1.5, metadata=above(0))
    """Recipient mass factor of the robustness sweep."""
    robust_gain_scale: float = field(default=0.5, metadata=above(0))
    """Recipient kp and kd factor of the robustness sweep."""
    action_noise: float = field(default=0.0, metadata=at_least(0))
    """Scale of the policies' exploration noise added to their mean actions (seeded by `seed`): 0 scores the mean
    actions (PHC's and AssistMimic's evaluation), 1 as they acted in training. A diagnostic: a clip tracked with
    noise but not without it is one the mean policy gets stuck on."""
    supporter: str = "policy"
    """Two-agent checkpoints: "policy" (the checkpoint's supporter) or "passive" (the recipient-alone baseline: the
    supporter's actions are all 0, so it does not grip and its PD targets are 0, with residual actions the reference's
    hinge angles)."""


@dataclass
class TrackConfig(EvalConfig):
    """stage=track: read new two-person clips (`source=`, `input=`), assign roles, score a two-agent checkpoint on
    them with `stage=eval`'s rules (failure_distance, fall_head_drop, num_envs, robustness; default_data is unused)."""

    name: str = "track"
    roles: str = "auto"
    """Who is the supporter: "auto" (the person whose head is lower over the first second is the recipient),
    "as_is" (the first person read is the supporter), "swapped" (the second one is)."""
    fps: float = field(default=30.0, metadata=above(0))
    """Frame rate the clips are resampled to (the policy's 30 Hz)."""
    fix_floor: bool = True
    """Shift each clip so the lowest point of its first frames touches z = 0."""
    fit_subject_scale: bool = True
    """Measure each captured person's size from their planted feet and rescale the root travel to the skeleton's, so
    the feet do not slide (`motion_lib.subject_scale`; clips within 3 % of the skeleton's size are kept as read)."""
    place_seats: bool = True
    """Put the standard chair (or bed) under a person who sits (or lies) on one the capture does not show (at their
    lowest, still, the centre of mass off the feet; `motion_lib.seats.seats_from_motion`); clips that bring furniture
    keep theirs."""
    up: str | None = None
    """Up axis of position-only sources ("y" or "z"); null: the format's default."""
    source_fps: float | None = field(default=None, metadata=above(0))
    """Frame rate of sources that store none (keypoints) or to override a file's; null: the file's or format's."""
    actions: list[int] = field(default_factory=list, metadata=each_at_least(0))
    """Inter-X: track only these action ids (35 = "Help up"); empty keeps all."""
    split: str | None = None
    """Inter-X: track only the ids of splits/<split>.txt (e.g. test: clips no expert was trained on)."""
    video: bool = True
    """Render the policy tracking the first clip to `videos/<clip>.mp4` like `stage=render` (needs EGL or OSMesa)."""


@dataclass
class RenderConfig:
    """stage=render: an MP4 of one clip, tracked by a checkpoint's policies (`checkpoint=`) or played back kinematically."""

    name: str = "render"
    short_overrides: ClassVar[tuple[str, ...]] = ()
    """The top-level short overrides (`num_envs=`, `max_iterations=`) this stage reads; the others are an error."""
    clip: str | None = None
    """Name of the clip to render; null: the checkpoint's first trained clip, else the first clip of the file."""
    ghost: bool = True
    """With a checkpoint: also draw the reference pose as a translucent green copy (the "ghost")."""
    contact_forces: bool = True
    """Draw contact points (yellow) and contact forces as red arrows (4 mm per newton)."""
    legend: bool = True
    """Draw a small key of the colours (supporter, recipient, reference ghost, contact force) in the top-left corner."""
    width: int = field(default=640, metadata=at_least(16))
    """Video width in pixels (even)."""
    height: int = field(default=480, metadata=at_least(16))
    """Video height in pixels (even)."""
    fps: float | None = field(default=None, metadata=above(0))
    """Frames per second of the video (one frame per policy step); null: the control rate, i.e. real time."""
    max_seconds: float | None = field(default=None, metadata=above(0))
    """Render at most this many seconds of the clip; null: all of it."""
    output: str | None = None
    """The MP4 file to write; null: run_dir/videos/<clip>.mp4."""


@dataclass
class RunConfig:
    run_dir: str = "runs/${stage.name}/${now:%Y%m%d-%H%M%S}"
    """Where a stage writes its results (summary.json, logs, checkpoints)."""
    seed: int = field(default=0, metadata=between(0, 2**32 - 1))
    num_envs: int | None = field(default=None, metadata=at_least(1))
    """Short override of the number of parallel worlds for training stages."""
    max_iterations: int | None = field(default=None, metadata=at_least(1))
    """Short override of the number of training iterations."""
    data: str | None = None
    """Motion clips (a PHC/AssistMimic pickle) for stages that read clips: inspect, prior, expert, ..."""
    source: str | None = None
    """stage=convert, track: the input format (interx, hhi, phc, amass, intergen, intermask, keypoints, bvh, deepmimic)."""
    input: str | None = None
    """stage=convert, track: the file or folder to read."""
    output: str | None = None
    """stage=convert: the pickle to write."""
    checkpoint: str | None = None
    """stage=eval, track, render: the checkpoint to score or render (a `model_<iteration>.pt` / `last.pt` of a run)."""
    experts: str | None = None
    """stage=distill: the experts to distil (a `stage=experts` run_dir, its `experts/` folder or its `index.json`)."""
    robot: RobotConfig = field(default_factory=RobotConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    impairment: ImpairmentConfig = field(default_factory=ImpairmentConfig)
    stage: Any = None


STAGE_SCHEMAS = {"bench": BenchConfig, "convert": ConvertConfig, "inspect": InspectConfig, "prior": PriorConfig,
                 "eval": EvalConfig, "expert": ExpertConfig, "experts": ExpertsConfig, "render": RenderConfig,
                 "distill": DistillConfig, "track": TrackConfig}
"""Each stage's schema, registered as `stage/<name>_schema`."""


def register_configs() -> None:
    """Register the schemas so YAML files can name them in their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunConfig)
    cs.store(group="robot", name="robot_schema", node=RobotConfig)
    cs.store(group="sim", name="sim_schema", node=SimConfig)
    cs.store(group="scene", name="scene_schema", node=SceneConfig)
    cs.store(group="impairment", name="impairment_schema", node=ImpairmentConfig)
    for name, schema in STAGE_SCHEMAS.items():
        cs.store(group="stage", name=f"{name}_schema", node=schema)
