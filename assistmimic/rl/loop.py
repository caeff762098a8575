"""The iteration loop the trainers share (PPO's `OnPolicyRunner`, distillation's `DAggerTrainer`).

One iteration: `_collect` a rollout without gradients, then `_learn` from it; the iteration is then complete:
its random state is kept for the checkpoint, its scalars are logged (every `log_interval` iterations and the
last), the progress bar advances, and a checkpoint is written every `save_interval` iterations and after the
last. Ctrl-C while learning, logging or saving takes effect once the iteration is complete; Ctrl-C during
collection saves the last completed iteration (if not saved yet), closes the logger and re-raises. Under
torchrun rank 0 alone logs and writes checkpoints.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from assistmimic.envs.base import VecEnv
from assistmimic.rl import distributed
from assistmimic.rl.checkpoint import delete_checkpoints_after, rng_state, save_iteration_checkpoint
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.logger import NullLogger, RunLogger, diverged_worlds


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C and `kill` (and job schedulers, which send SIGTERM before they kill): both stop training after the
iteration under way, with its checkpoint saved."""


@contextlib.contextmanager
def deferred_keyboard_interrupt() -> Iterator[None]:
    """Ctrl-C or SIGTERM inside the block raises KeyboardInterrupt when the block ends (only the main thread receives
    signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise KeyboardInterrupt


@dataclass(frozen=True)
class Schedule:
    """How long a trainer runs and how often it logs and saves."""

    max_iterations: int
    """`learn` ends after this iteration."""
    steps_per_iteration: int
    """Policy steps each world collects per iteration."""
    log_interval: int
    """Scalars are logged every this many iterations (and after the last)."""
    save_interval: int
    """A checkpoint is written every this many iterations (and after the last)."""
    keep_checkpoints: int
    """Model files kept in run_dir (older ones are deleted)."""


class TrainingLoop(ABC):
    """Collect, learn, log and save, iteration after iteration (see the module docstring).

    A trainer sets `env`, `run_dir` and `device` (where the env's tensors are), calls `super().__init__()` once
    its random streams are seeded (their state then is iteration 0's) and gives the steps below.
    """

    env: VecEnv
    run_dir: Path
    device: torch.device

    def __init__(self) -> None:
        self.iteration = 0
        """Completed iterations."""
        self.total_env_steps = 0
        """World steps collected over the whole run (resumes included)."""
        self._saved_iteration = 0
        self._rng_after_iteration = self._rng_state()
        self.resume_note = ""
        """What a trainer's `resume` made of the env's saved training state (`VecEnv.load_training_state`)."""

    # --- what a trainer gives ----------------------------------------------------------------------
    @property
    @abstractmethod
    def schedule(self) -> Schedule:
        """The run's length and its log and save intervals (read when `learn` starts)."""

    @abstractmethod
    def _collect(self, obs: list[torch.Tensor], stats: EpisodeStatistics) -> tuple[list[torch.Tensor], dict[str, float]]:
        """One iteration's rollout from the observations `obs`, its steps added to `stats`; the observations
        after it and the rollout's own scalars."""

    @abstractmethod
    def _learn(self) -> dict[str, float]:
        """Learn from the rollout just collected; the update's scalars."""

    @abstractmethod
    def _iteration_scalars(self, rollout: dict[str, float], learned: dict[str, float], episodes: dict[str, float],
                           collect_s: float, update_s: float, world_steps: int) -> dict[str, float]:
        """What a completed iteration logs: its rollout's, update's and episode scalars, and performance numbers
        (`world_steps`: world steps collected in the iteration, over every rank)."""

    @abstractmethod
    def _progress(self, scalars: dict[str, float]) -> str:
        """The text beside the progress bar after an iteration with these scalars."""

    @abstractmethod
    def checkpoint_state(self) -> dict[str, Any]:
        """Everything `resume` restores, as of the last completed iteration."""

    @abstractmethod
    def resume(self, path: str | Path) -> int:
        """Continue from the checkpoint `path` of this setup (setting `resume_note`); the iteration it holds."""

    def _rng_state(self) -> dict[str, Any]:
        """The random state of a completed iteration that its checkpoint holds."""
        return rng_state()

    def _state_to_save(self, every_rank: bool) -> dict[str, Any]:
        """What `_save` writes (see there for `every_rank`): `checkpoint_state()`."""
        return self.checkpoint_state()

    # --- the loop ----------------------------------------------------------------------------------
    def learn(self) -> None:
        """Train from `self.iteration` to the schedule's `max_iterations`. Logged metrics and model files of later
        iterations in run_dir (from an abandoned continuation) are dropped first (by rank 0 under torchrun)."""
        schedule = self.schedule
        if distributed.is_main():
            delete_checkpoints_after(self.run_dir, self.iteration)
            logger: RunLogger | NullLogger = RunLogger(self.run_dir, self.iteration, schedule.max_iterations)
        else:
            logger = NullLogger()
        try:
            obs = self.env.reset()
            stats = EpisodeStatistics(self.env.num_envs, self.env.num_agents, self.device)
            while self.iteration < schedule.max_iterations:
                self.env.set_training_iteration(self.iteration)
                start = time.perf_counter()
                obs, rollout = self._collect(obs, stats)
                self._synchronize()
                collect_s = time.perf_counter() - start
                with deferred_keyboard_interrupt():
                    start = time.perf_counter()
                    learned = self._learn()
                    self._synchronize()
                    update_s = time.perf_counter() - start
                    self.iteration += 1
                    self._rng_after_iteration = self._rng_state()
                    self._finish_iteration(logger, schedule, rollout, learned, stats.summary(), collect_s, update_s)
        except KeyboardInterrupt:
            if self.iteration > self._saved_iteration:
                self._save(every_rank=False)
            raise
        finally:
            logger.close()

    def _finish_iteration(self, logger: RunLogger | NullLogger, schedule: Schedule, rollout: dict[str, float],
                          learned: dict[str, float], episodes: dict[str, float], collect_s: float,
                          update_s: float) -> None:
        """Log the completed iteration as the schedule says, advance the progress bar, save as the schedule says."""
        world_steps = schedule.steps_per_iteration * self.env.num_envs * distributed.world_size()
        scalars = self._iteration_scalars(rollout, learned, episodes, collect_s, update_s, world_steps)
        last = self.iteration == schedule.max_iterations
        if self.iteration % schedule.log_interval == 0 or last:
            logger.write(self.iteration, scalars)
        logger.advance(self._progress(scalars), diverged_worlds(scalars, world_steps))
        if self.iteration % schedule.save_interval == 0 or last:
            self._save()

    def _synchronize(self) -> None:
        """Wait for queued GPU work so that the timings are true."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _save(self, every_rank: bool = True) -> None:
        """Write model_<iteration>.pt and last.pt; delete the oldest model files.

        Under torchrun rank 0 writes. `every_rank`: all ranks call this at the same iteration (a trainer may then
        gather from them what it saves); False (Ctrl-C, the other ranks may be elsewhere): rank 0 writes what it
        holds.
        """
        state = self._state_to_save(every_rank)
        if distributed.is_main():
            save_iteration_checkpoint(self.run_dir, self.iteration, state, self.schedule.keep_checkpoints)
        self._saved_iteration = self.iteration
