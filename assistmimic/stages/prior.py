"""`stage=prior [data=<single-person clips>]`: train the single-person tracking prior (PHC-style tracking with
PPO, `phc_prior.training`) on the clips of `data=`, else on `stage.families.clips` generated motion-family clips
(`phc_prior.data`), else on the built-in demo clips.

Checkpoints go to `run_dir` (`model_<iteration>.pt`, `last.pt`); `stage.resume=true` with the same
`run_dir` continues a run. Evaluate with `stage=eval checkpoint=<run_dir>/last.pt`.
"""

from __future__ import annotations

from pathlib import Path

from assistmimic.rl.threads import core_share
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import PriorConfig, RunConfig
from assistmimic.stages.training import apply_run_overrides, train
from phc_prior.data import generated_clips
from phc_prior.training import prior_runner

PARALLEL_FROM = 64
"""Generated sets of fewer clips are made in this process (`FamiliesConfig.workers` 0): a worker takes seconds to start."""


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: PriorConfig = cfg.stage
    apply_run_overrides(cfg, stage)
    if cfg.data or not stage.families.clips:
        data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=1)
    else:
        families = stage.families
        workers = families.workers or (core_share() if families.clips >= PARALLEL_FROM else 1)
        data, clips = generated_clips(families.clips, families.seed, families.mix, cfg.robot.name,
                                      families.subject_scale_share, workers)
    runner = prior_runner(clips, data, cfg.robot, cfg.scene, cfg.sim, num_envs=cfg.num_envs or stage.num_envs,
                          seed=cfg.seed, env=stage.env, policy=stage.policy, ppo=stage.ppo, amp=stage.amp,
                          runner=stage.runner, run_dir=run_dir)
    return {"data": str(data), "clips": len(clips), **train(runner, run_dir, stage.resume)}
