"""`stage=expert [data=<two-person clips> stage.clips=[...]]`: train one two-agent expert (AssistMimic).

A supporter and an impaired recipient (`impairment=`) track the chosen clip(s) (one clip, or a cluster)
in the assist environment; each has its own policy, PPO learner and AMP discriminator, all updated on
the same rollouts (joint PPO; `stage.runner.sequential_period` for the sequential ablation). Both
policies start from the single-person prior `stage.prior` by zero-padded widening, so their first
actions are exactly the prior's (`stage.prior=null`: from scratch, the "no init" ablation).
Checkpoints go to `run_dir` (`model_<iteration>.pt`, `last.pt`, and `start.pt`: the policies before
training); `stage.resume=true` continues a run. With `stage.evaluate` (default) the start and the
trained expert are then scored on the trained clips by `stage=eval`'s rules (`eval_start/`, `eval/`), and with
`stage.video` (default) the trained expert is rendered on its first clip like `stage=render` (`videos/<clip>.mp4`;
a machine without EGL or OSMesa prints a warning instead).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.config import LEGACY_DEFAULTS
from assistmimic.evaluation import checkpoint_task, policies_from_checkpoint
from assistmimic.rl import distributed
from assistmimic.rl.checkpoint import LAST_CHECKPOINT, load_training_checkpoint, save_checkpoint
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.sim.factory import make_backend, make_scene
from assistmimic.stages.common import REPO_ROOT, command_line_chooses, load_clips
from assistmimic.stages.config import EvalConfig, ExpertConfig, RunConfig
from assistmimic.stages.render import render_policy_video
from assistmimic.stages.scoring import evaluate_assist_checkpoint
from assistmimic.stages.training import apply_run_overrides, train
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary, clips_digest
from phc_prior.widening import widened_prior

TASK = "assist"
"""The `metadata["task"]` of two-agent checkpoints."""
START_CHECKPOINT = "start.pt"
"""The policies before training (the widened prior), for comparison."""


def select_clips(clips: list[Clip], names: list[str], source: Path) -> list[Clip]:
    """The clips called `names`, in that order (all clips when `names` is empty)."""
    if not names:
        return clips
    by_name = {clip.name: clip for clip in clips}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise UserInputError(f"{source} has no clip(s) {', '.join(missing)}; it holds {', '.join(list(by_name)[:10])}")
    return [by_name[name] for name in names]


def prior_path(prior: str) -> Path:
    """A prior given relative to the working directory, else relative to the repository (the shipped one)."""
    path = Path(prior)
    return path if path.exists() or path.is_absolute() else REPO_ROOT / path


def prior_digest(prior: str | None) -> str | None:
    """The first 12 hex digits of the prior file's SHA-256 (which prior an expert started from, even where the file at
    the same path was replaced since); None without a prior or where its file is missing."""
    path = None if prior is None else prior_path(prior)
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def initial_policies(env: AssistEnv, stage: ExpertConfig, robot: str) -> list[ActorCritic]:
    """One policy per agent: the prior widened by the assistive inputs, or fresh networks without a prior."""
    if stage.prior is None:
        return [ActorCritic(groups, dim, stage.policy) for groups, dim in zip(env.observation_groups, env.action_dims)]
    return widened_prior(prior_path(stage.prior), robot, stage.env.residual_actions, env.observation_groups,
                         env.action_dims, list(env.backend.grip_dims), stage.grip_init)


ADOPTED_FROM_PRIOR = {"velocity_smoothing": "reference velocities smoothed by {:g} frames",
                      "velocity_feedforward": "velocity_feedforward={}"}
"""Env settings an expert takes from its prior: how the prior saw the reference and what its actions mean."""


def adopt_prior_env_settings(stage: ExpertConfig) -> None:
    """Give `stage.env` the `ADOPTED_FROM_PRIOR` settings its prior was trained with (its stored env config's; what a
    prior stored before a setting existed meant, `LEGACY_DEFAULTS` or the default), except those the command line
    chose: the widened prior then sees the reference and acts as it learned to. Says so in one line per setting
    this changes."""
    if stage.prior is None:
        return
    path = prior_path(stage.prior)
    if not path.is_file():
        return  # widened_prior names the missing file
    stored = (load_training_checkpoint(path).get("metadata") or {}).get("env_config") or {}
    for key, described in ADOPTED_FROM_PRIOR.items():
        if command_line_chooses(f"stage.env.{key}"):
            continue
        trained = stored.get(key, LEGACY_DEFAULTS.get(key, getattr(type(stage.env)(), key)))
        if trained != getattr(stage.env, key):
            print(f"the prior {stage.prior} was trained with {described.format(trained)}; the expert uses the same "
                  f"(pass stage.env.{key}=... to choose another)")
            stage.env = dataclasses.replace(stage.env, **{key: trained})


def expert_metadata(cfg: RunConfig, data: Path, clips: list[Clip]) -> dict[str, Any]:
    """What an expert's checkpoints carry as metadata (read by eval, render and distillation)."""
    stage: ExpertConfig = cfg.stage
    return {"task": TASK, "env_config": dataclasses.asdict(stage.env), "robot": cfg.robot.name, "data": str(data),
            "clips": [clip.name for clip in clips], "clips_digest": clips_digest(clips), "prior": stage.prior,
            "prior_sha256": prior_digest(stage.prior), "scene": dataclasses.asdict(cfg.scene), "impairment": dataclasses.asdict(cfg.impairment)}


def summary_start(metadata: dict[str, Any]) -> dict[str, Any]:
    """The first entries of an expert's summary, from its checkpoints' `metadata` (`expert_metadata`): the data, its
    clips and their digest, the prior and its digest."""
    return {key: metadata[key] for key in ("data", "clips", "clips_digest", "prior", "prior_sha256")}


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: ExpertConfig = cfg.stage
    apply_run_overrides(cfg, stage)
    adopt_prior_env_settings(stage)
    data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=2)
    clips = select_clips(clips, stage.clips or (stage.default_clips if cfg.data is None else []), data)
    torch.manual_seed(cfg.seed)
    backend = make_backend(make_scene(cfg.robot, cfg.scene, cfg.sim, cfg.impairment, clips), cfg.sim,
                           cfg.num_envs or stage.num_envs)
    generator = torch.Generator(device=backend.device).manual_seed(cfg.seed + distributed.rank())
    env = AssistEnv(backend, MotionLibrary(clips, backend.device), stage.env, generator)
    policies = initial_policies(env, stage, cfg.robot.name)
    metadata = expert_metadata(cfg, data, clips)
    start_checkpoint = run_dir / START_CHECKPOINT
    if not start_checkpoint.exists():
        save_checkpoint(start_checkpoint, {"iteration": 0, "policies": [p.saved_state() for p in policies], "metadata": metadata})
    runner = OnPolicyRunner(env, policies, stage.ppo, stage.amp, stage.runner, run_dir, backend.device, metadata)
    summary = {**summary_start(metadata), **train(runner, run_dir, stage.resume)}
    summary.update(evaluate_and_render(cfg, run_dir))
    if stage.evaluate:
        before, after = summary["evaluation"]["start"], summary["evaluation"]["trained"]
        alone = summary["evaluation"]["recipient_alone"]
        print(f"success rate {before['success_rate']:.2f} -> {after['success_rate']:.2f}, MPJPE "
              f"{before['mpjpe_mm']:.0f} -> {after['mpjpe_mm']:.0f} mm (start -> trained; per clip in {run_dir / 'eval'}); "
              f"recipient alone (supporter passive): success rate {alone['success_rate']:.2f}, "
              f"recipient lift {alone['recipient_lift_m']:.2f} m vs {after['recipient_lift_m']:.2f} m with the supporter")
        if "shipped" in summary["evaluation"]:
            shipped = summary["evaluation"]["shipped"]
            print(f"the shipped expert of this clip (stage.shipped_experts): success rate {shipped['success_rate']:.2f} "
                  f"({shipped['success_rate_training_rule']:.2f} by the training rule), recipient lift "
                  f"{shipped['recipient_lift_m']:.2f} m (eval_shipped/, videos/*_shipped.mp4)")
    return summary


def evaluate_and_render(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """What follows an expert's training in `run_dir`, as `stage.evaluate` and `stage.video` ask: the start and
    the trained checkpoints scored (`eval_start/`, `eval/`), the trained recipient alone (its supporter passive: the
    baseline that shows what the supporter adds, `eval_recipient_alone/`) and a video of the trained expert; the
    summary's "evaluation" and "video" entries."""
    stage: ExpertConfig = cfg.stage
    summary: dict[str, Any] = {}
    if stage.evaluate:
        summary["evaluation"] = {
            name: evaluate_checkpoint(cfg, run_dir / checkpoint, run_dir / folder, supporter)
            for name, checkpoint, folder, supporter in (
                ("start", START_CHECKPOINT, "eval_start", "policy"), ("trained", LAST_CHECKPOINT, "eval", "policy"),
                ("recipient_alone", LAST_CHECKPOINT, "eval_recipient_alone", "passive"))}
    if stage.video:
        summary["video"] = render_policy_video(cfg, run_dir / LAST_CHECKPOINT, run_dir)
    shipped = shipped_expert(stage, run_dir / LAST_CHECKPOINT) if stage.evaluate or stage.video else None
    if shipped is not None and stage.evaluate:
        summary["evaluation"]["shipped"] = evaluate_checkpoint(cfg, shipped, run_dir / "eval_shipped")
    if shipped is not None and stage.video:
        video = run_dir / "videos" / f"{shipped.stem}_shipped.mp4"
        summary["video_shipped"] = render_policy_video(cfg, shipped, run_dir, output=video)
    return summary


def shipped_expert(stage: ExpertConfig, trained: Path) -> Path | None:
    """The shipped expert (`stage.shipped_experts/<clip>.pt`) of the first clip the checkpoint `trained` was trained
    on, or None (no folder configured, no expert shipped for that clip, or one whose policies' inputs and outputs
    differ from the run's, e.g. a run without the grip: it could not act in the run's scene; said in one line)."""
    if stage.shipped_experts is None:
        return None
    trained_policies, metadata = policies_from_checkpoint(trained)
    path = Path(stage.shipped_experts) / f"{metadata['clips'][0]}.pt"
    if not path.is_file():
        return None
    shipped_dims = [io_dims(p) for p in policies_from_checkpoint(path)[0]]
    trained_dims = [io_dims(p) for p in trained_policies]
    if shipped_dims != trained_dims:
        print(f"the shipped expert {path} is not scored beside this run: its policies' observations and actions "
              f"{shipped_dims} differ from the run's {trained_dims} (another grip, robot or observation setting)")
        return None
    return path


def io_dims(policy: ActorCritic) -> tuple[int, int]:
    """A policy's (observation, action) sizes."""
    return sum(policy.obs_dims), policy.action_dim


def evaluate_checkpoint(cfg: RunConfig, checkpoint: Path, eval_dir: Path, supporter: str = "policy") -> dict:
    """`stage=eval` of a two-agent checkpoint on the clips it was trained on, with `stage.supporter=<supporter>`,
    written to `eval_dir`."""
    eval_dir.mkdir(parents=True, exist_ok=True)
    eval_cfg = dataclasses.replace(cfg, data=None, num_envs=None, stage=EvalConfig(supporter=supporter))
    policies, metadata = policies_from_checkpoint(checkpoint)
    checkpoint_task(checkpoint, policies, metadata)
    summary = evaluate_assist_checkpoint(eval_cfg, checkpoint, policies, metadata, eval_dir)
    return {key: value for key, value in summary.items() if key != "per_clip"}
