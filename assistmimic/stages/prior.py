"""`stage=prior [data=<single-person clips>]`: train the single-person tracking prior (PHC-style).

One humanoid per world tracks clips of the motion library (reference-state initialisation, early
termination at 0.25 m) with PPO and, by default, an AMP discriminator; reward = 0.5 task + 0.5 style.
Checkpoints go to `run_dir` (`model_<iteration>.pt`, `last.pt`); `stage.resume=true` with the same
`run_dir` continues a run. Evaluate with `stage=eval checkpoint=<run_dir>/last.pt`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from assistmimic.envs.tracking import TrackingEnv
from assistmimic.rl import distributed
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.sim.factory import make_backend, make_single_person_scene
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import PriorConfig, RunConfig
from assistmimic.stages.training import apply_run_overrides, train
from motion_lib.motion_library import MotionLibrary


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: PriorConfig = cfg.stage
    apply_run_overrides(cfg, stage)
    data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=1)
    torch.manual_seed(cfg.seed)
    backend = make_backend(make_single_person_scene(cfg.robot, cfg.scene, cfg.sim), cfg.sim, cfg.num_envs or stage.num_envs)
    generator = torch.Generator(device=backend.device).manual_seed(cfg.seed + distributed.rank())
    env = TrackingEnv(backend, MotionLibrary(clips, backend.device), stage.env, generator)
    policy = ActorCritic([env.obs_dims[0]], env.action_dims[0], stage.policy)
    metadata = {"env_config": dataclasses.asdict(stage.env), "robot": cfg.robot.name, "data": str(data)}
    runner = OnPolicyRunner(env, [policy], stage.ppo, stage.amp, stage.runner, run_dir, backend.device, metadata)
    return {"data": str(data), "clips": len(clips), **train(runner, run_dir, stage.resume)}
