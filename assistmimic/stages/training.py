"""What the training stages (prior, expert) share: resuming, running the runner, the summary.

Under torchrun every rank calls `train` with its own runner; all of them resume from the same checkpoint
(read before any rank trains, so before rank 0 writes the next one).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from assistmimic.rl import distributed
from assistmimic.rl.checkpoint import LAST_CHECKPOINT, resume_checkpoint
from assistmimic.rl.logger import METRICS_FILE, read_metrics
from assistmimic.rl.loop import TrainingLoop
from assistmimic.stages.config import RunConfig, TrainingConfig


def apply_run_overrides(cfg: RunConfig, stage: TrainingConfig) -> None:
    """The top-level `max_iterations=` and `seed` into the stage's runner settings."""
    if cfg.max_iterations is not None:
        stage.runner.max_iterations = cfg.max_iterations
    stage.runner.seed = cfg.seed


def checkpoint_to_resume(run_dir: Path) -> Path | None:
    """The checkpoint `stage.resume=true` continues from (`resume_checkpoint`); None, with a warning, where there is
    none (the run was stopped before its first save, or run_dir is new): training starts at iteration 0."""
    path = resume_checkpoint(run_dir)
    if path is None and distributed.is_main():
        print(f"warning: stage.resume=true but {run_dir} holds no readable checkpoint (the run stopped before its "
              "first save, or it is a new run_dir); training starts at iteration 0")
    return path


def train(runner: TrainingLoop, run_dir: Path, resume: bool, close_env: bool = True) -> dict:
    """`runner` (PPO's `OnPolicyRunner` or DAgger's `DAggerTrainer`): resume from the newest readable checkpoint in
    `run_dir` when asked (`resume_checkpoint`), train to the configured iteration, close the env (unless `close_env` is
    False). Returns the training part of the stage's summary (diverged worlds and contact-buffer overflows: of every
    rank)."""
    last = run_dir / LAST_CHECKPOINT
    if resume and (path := checkpoint_to_resume(run_dir)) is not None:
        runner.resume(path)
        distributed.barrier()
        if distributed.is_main():
            print(f"resumed from {path} at iteration {runner.iteration}; {runner.resume_note}")
    start = time.perf_counter()
    runner.learn()
    if close_env:
        runner.env.close()
    backend = runner.env.backend
    diverged, overflows = (int(distributed.all_reduce_sum(torch.tensor(count)))
                           for count in (backend.diverged_total, backend.overflow_total))
    if diverged and distributed.is_main():
        print(f"warning: {diverged} world(s) diverged during training (|qvel| above sim.max_joint_velocity, or NaN) "
              "and were reset (diverged_worlds in summary.json)")
    if overflows and distributed.is_main():
        print(f"warning: {overflows} world steps dropped contacts or constraint rows (full buffers); "
              "raise sim.nconmax / sim.njmax")
    return {
        "iterations": runner.iteration, "checkpoint": str(last), "seconds": round(time.perf_counter() - start, 1),
        "env_steps": runner.total_env_steps, "diverged_worlds": diverged, "contact_overflows": overflows,
        "final": (read_metrics(run_dir / METRICS_FILE) or [{}])[-1],
    }
