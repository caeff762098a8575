"""`stage=prior [data=<single-person clips>]`: train the single-person tracking prior (PHC-style tracking with
PPO, `phc_prior.training`) on the clips of `data=`, else on `stage.families.clips` generated motion-family clips
(`phc_prior.data`), else on the built-in demo clips.

With `stage.distill.teacher=<prior checkpoint>` the prior is distilled by DAgger instead of trained by PPO: each world
labelled by that prior, or by the checkpoint `stage.distill.family_teachers` gives its clip's motion family
(`phc_prior.distillation`); `stage.distill.dagger.*` sets the regression, `max_iterations=` its iterations.

Checkpoints go to `run_dir` (`model_<iteration>.pt`, `last.pt`); `stage.resume=true` with the same
`run_dir` continues a run. Evaluate with `stage=eval checkpoint=<run_dir>/last.pt`.
"""

from __future__ import annotations

from pathlib import Path

from assistmimic.rl.threads import core_share
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import PriorConfig, RunConfig
from assistmimic.stages.training import apply_run_overrides, train
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from phc_prior.data import generated_clips
from phc_prior.distillation import prior_dagger
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
    num_envs = cfg.num_envs or stage.num_envs
    if stage.distill.teacher is not None:
        return {"data": str(data), "clips": len(clips), **_distill(cfg, stage, clips, data, num_envs, run_dir)}
    if stage.distill.family_teachers or stage.distill.student_init is not None:
        raise UserInputError("stage.distill.family_teachers and student_init need stage.distill.teacher (the prior "
                             "labelling the other families' worlds)")
    runner = prior_runner(clips, data, cfg.robot, cfg.scene, cfg.sim, num_envs=num_envs,
                          seed=cfg.seed, env=stage.env, policy=stage.policy, ppo=stage.ppo, amp=stage.amp,
                          runner=stage.runner, run_dir=run_dir)
    return {"data": str(data), "clips": len(clips), **train(runner, run_dir, stage.resume)}


def _distill(cfg: RunConfig, stage: PriorConfig, clips: list[Clip], data: str | Path, num_envs: int,
             run_dir: Path) -> dict:
    """The DAgger distillation of `stage.distill` (resumed with `stage.resume`), and its summary."""
    distill = stage.distill
    if cfg.max_iterations is not None:
        distill.dagger.iterations = cfg.max_iterations
    trainer = prior_dagger(clips, data, cfg.robot, cfg.scene, cfg.sim, num_envs=num_envs, seed=cfg.seed, env=stage.env,
                           policy=stage.policy, teacher=distill.teacher, family_teachers=dict(distill.family_teachers),
                           student_init=distill.student_init, dagger=distill.dagger, run_dir=run_dir)
    return {**train(trainer, run_dir, stage.resume), "teachers": trainer.metadata["teachers"]}
