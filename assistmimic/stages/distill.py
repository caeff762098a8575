"""`stage=distill experts=<stage=experts run_dir> [data=<clips>]`: DAgger from many experts into one
general two-agent student (supporter, recipient); optionally a PPO fine-tune; then one evaluation table.

Clips: `data=` (default: the clips file the experts were trained on). A clip with an expert (by name, from
`experts/index.json`) is a training clip unless `stage.held_out` names it; every other clip is held out and
only evaluated. The environment settings (observations, action semantics, rewards) are the experts'.

run_dir layout:
    last.pt, model_<i>.pt   the student after DAgger (`stage=eval` / `stage=track` load it), metrics.jsonl, tb/
    finetune/               the PPO fine-tune's run (with `stage.finetune.iterations` > 0)
    eval/distill_eval.csv   per clip: policy (student, expert), split (train, held_out), expert, stage=eval's columns
    eval/distill_eval_summary.csv   per policy and split: clips, success_rate, mpjpe_mm
    videos/<clip>.mp4       the student on its first training clip (`stage.video`; needs EGL or OSMesa)
`stage.resume=true` continues the DAgger phase from `last.pt` and the fine-tune from `finetune/last.pt`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.evaluation import assist_eval_env, policies_from_checkpoint, write_table
from assistmimic.rl.checkpoint import LAST_CHECKPOINT, training_checkpoints
from assistmimic.rl.logger import METRICS_FILE, read_metrics
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.factory import make_backend, make_scene
from assistmimic.stages.common import load_clips, require_setting, trained_clips_file
from assistmimic.stages.config import DistillConfig, EvalConfig, RunConfig
from assistmimic.stages.render import render_policy_video
from assistmimic.stages.scoring import eval_rules, eval_world
from assistmimic.stages.training import checkpoint_to_resume, train
from distill.dagger import DAggerTrainer
from distill.evaluation import compare_on_clips, format_table, summarize
from distill.experts import ExpertSet
from distill.finetune import FineTuneRunner
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary

TASK = "assist"
FINETUNE_DIR = "finetune"
EVAL_DIR = "eval"


def split_clips(clips: list[Clip], experts: ExpertSet, held_out: list[str], data: Path) -> tuple[list[Clip], list[Clip]]:
    """(training clips, held-out clips): a clip with an expert trains unless `held_out` names it."""
    names = {clip.name for clip in clips}
    unknown = sorted(set(held_out) - names)
    if unknown:
        raise UserInputError(f"stage.held_out names clip(s) not in {data}: {', '.join(unknown[:5])}")
    covered = set(experts.clip_names) - set(held_out)
    training = [clip for clip in clips if clip.name in covered]
    if not training:
        raise UserInputError(f"no clip of {data} has an expert in {experts.index} (the experts know "
                             f"{', '.join(experts.clip_names[:5])}); give the clips the experts were trained on with data=...")
    return training, [clip for clip in clips if clip.name not in covered]


def experts_data(cfg: RunConfig, experts: ExpertSet) -> tuple[Path, list[Clip]]:
    """The clips of `data=`, else of the file the experts were trained on."""
    data = cfg.data or trained_clips_file(experts.experts[0].metadata)
    if data is None:
        raise UserInputError(f"the experts' clips file {experts.experts[0].metadata.get('data')} is not here; give the "
                             f"clips with data=...")
    return load_clips(data, data, cfg.robot.name, persons=2)


def initial_students(env: AssistEnv, stage: DistillConfig, experts: ExpertSet) -> list[ActorCritic]:
    """Fresh networks of `stage.policy`, or the policies of `stage.student_init`; checked against the experts."""
    if stage.student_init is None:
        students = [ActorCritic(groups, dim, stage.policy) for groups, dim in zip(env.observation_groups, env.action_dims)]
    else:
        students, metadata = policies_from_checkpoint(Path(stage.student_init))
        if metadata.get("task") != TASK or len(students) != 2:
            raise UserInputError(f"stage.student_init={stage.student_init} is not a two-agent checkpoint "
                                 f"({len(students)} policies for the task {metadata.get('task', 'tracking')!r})")
        for student in students:
            student.train()
    experts.check_observations([sum(s.obs_dims) for s in students], [s.action_dim for s in students],
                               "the student" if stage.student_init is None else f"the student of {stage.student_init}")
    return students


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: DistillConfig = cfg.stage
    if cfg.max_iterations is not None:
        stage.dagger.iterations = cfg.max_iterations
    experts = ExpertSet.load(require_setting(cfg.experts, "experts", "experts=runs/experts/<run>"), cfg.robot.name)
    data, clips = experts_data(cfg, experts)
    training, held_out = split_clips(clips, experts, stage.held_out, data)
    print(f"distilling {len(experts.names)} expert(s) on {len(training)} clip(s); {len(held_out)} held-out clip(s)")
    _warn_scene(cfg, experts)
    env_config = experts.env_config
    torch.manual_seed(cfg.seed)
    backend = make_backend(make_scene(cfg.robot, cfg.scene, cfg.sim, cfg.impairment, training), cfg.sim,
                           cfg.num_envs or stage.num_envs)
    env = AssistEnv(backend, MotionLibrary(training, backend.device), env_config,
                    torch.Generator(device=backend.device).manual_seed(cfg.seed))
    students = initial_students(env, stage, experts)
    metadata = {"task": TASK, "env_config": dataclasses.asdict(env_config), "robot": cfg.robot.name, "data": str(data),
                "clips": [clip.name for clip in training], "held_out": [clip.name for clip in held_out],
                "experts": str(experts.index), "scene": dataclasses.asdict(cfg.scene),
                "impairment": dataclasses.asdict(cfg.impairment)}
    clip_experts = experts.clip_experts(env.library.clip_names)
    trainer = DAggerTrainer(env, students, experts, clip_experts, stage.dagger, run_dir, metadata, cfg.seed)
    if stage.resume and (checkpoint := checkpoint_to_resume(run_dir)) is not None:
        print(f"resumed DAgger from {checkpoint} at iteration {trainer.resume(checkpoint)}; {trainer.resume_note}")
    trainer.learn()
    summary = {"data": str(data), "experts": experts.names, "clips": metadata["clips"], "held_out": metadata["held_out"],
               "dagger_iterations": trainer.iteration, "env_steps": trainer.total_env_steps,
               "checkpoint": str(run_dir / LAST_CHECKPOINT), "final": (read_metrics(run_dir / METRICS_FILE) or [{}])[-1]}
    if stage.finetune.iterations > 0:
        summary["finetune"] = _finetune(cfg, stage, env, students, experts, clip_experts, metadata, run_dir / FINETUNE_DIR)
        summary["checkpoint"] = summary["finetune"]["checkpoint"]
    env.close()
    if stage.evaluate:
        summary["evaluation"] = evaluate_student(cfg, Path(summary["checkpoint"]), experts, training + held_out,
                                                 {clip.name for clip in held_out}, run_dir / EVAL_DIR)
    if stage.video:
        summary["video"] = render_policy_video(cfg, Path(summary["checkpoint"]), run_dir, data, training[0].name)
    print(f"student: {summary['checkpoint']}")
    return summary


def _finetune(cfg: RunConfig, stage: DistillConfig, env: AssistEnv, students: list[ActorCritic], experts: ExpertSet,
              clip_experts: torch.Tensor, metadata: dict, finetune_dir: Path) -> dict:
    """PPO on the distilled student (see `distill.finetune`); resumes from `finetune_dir/last.pt` with stage.resume."""
    stage.runner.seed = cfg.seed
    stage.runner.max_iterations = stage.finetune.iterations
    runner = FineTuneRunner(env, students, experts, clip_experts, stage.finetune, stage.ppo, stage.amp, stage.runner,
                            finetune_dir, metadata)
    resume = stage.resume and bool(training_checkpoints(finetune_dir))
    return train(runner, finetune_dir, resume, close_env=False)


def evaluate_student(cfg: RunConfig, checkpoint: Path, experts: ExpertSet, clips: list[Clip], held_out: set[str],
                     eval_dir: Path) -> dict:
    """The table of `distill.evaluation` for the student in `checkpoint`, written to `eval_dir`."""
    students, _ = policies_from_checkpoint(checkpoint)
    env = assist_eval_env(eval_world(cfg), experts.env_config, clips,
                          min(cfg.num_envs or cfg.stage.num_envs, len(clips) * len(experts.names)))
    rows = compare_on_clips(env, clips, students, experts, held_out, eval_rules(EvalConfig()))
    env.close()
    eval_dir.mkdir(parents=True, exist_ok=True)
    write_table(eval_dir / "distill_eval.csv", rows)
    table = summarize(rows)
    write_table(eval_dir / "distill_eval_summary.csv", table)
    print(format_table(table))
    return {"table": table, "per_clip": str(eval_dir / "distill_eval.csv")}


def _warn_scene(cfg: RunConfig, experts: ExpertSet) -> None:
    trained = experts.experts[0].metadata.get("scene")
    if trained and trained != dataclasses.asdict(cfg.scene):
        print(f"note: the experts were trained in the scene {trained.get('name', trained)}, this run uses "
              f"{cfg.scene.name}; pass scene=... to match")
