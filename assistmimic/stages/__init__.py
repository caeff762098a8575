"""Stages runnable as `python run.py stage=<name>`; each returns the dict written to summary.json.

Under torchrun (WORLD_SIZE > 1) `stage=prior` and `stage=expert` train one policy set over all the processes
(`assistmimic.rl.distributed`): every rank runs the stage on its own worlds in rank 0's run_dir, rank 0 alone
writes config.yaml, summary.json and report.html and prints, and ranks other than 0 skip the stage's
rank-0-only outputs (`DATA_PARALLEL_STAGES`). `stage=experts` shards whole experts over the processes by
itself; every other stage runs in one process only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from assistmimic.rl import distributed
from assistmimic.run_files import atomic_write_bytes, write_json
from assistmimic.run_log import record_failure, run_log
from assistmimic.stages.config import RunConfig
from assistmimic.viz.report import write_report
from motion_lib.errors import UserInputError

STAGES = {
    "bench": "assistmimic.stages.bench",
    "convert": "assistmimic.stages.convert",
    "inspect": "assistmimic.stages.inspect",
    "prior": "assistmimic.stages.prior",
    "eval": "assistmimic.stages.eval",
    "experts": "assistmimic.stages.experts",
    "expert": "assistmimic.stages.expert",
    "render": "assistmimic.stages.render",
    "distill": "assistmimic.stages.distill",
    "track": "assistmimic.stages.track",
}

DATA_PARALLEL_STAGES = {"prior": (), "expert": ("evaluate", "video")}
"""Stages that torchrun runs data-parallel, with the stage switches that ranks other than 0 turn off (rank 0
evaluates and renders the trained policies)."""
SHARDED_STAGES = ("experts",)
"""Stages that split their work over torchrun's processes themselves (RANK/WORLD_SIZE), without a process group."""


def stage_function(name: str) -> Callable[[RunConfig, Path], dict[str, Any]]:
    if name not in STAGES:
        raise UserInputError(f"unknown stage '{name}'; available stages: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[name]).run


def run_stage(cfg: DictConfig) -> Path:
    """Run the configured stage in `cfg.run_dir`, save the resolved config and summary.json, and return the run_dir
    (under torchrun: data-parallel, see the module docstring, and every rank's process ends once all finished:
    `distributed.finish`; a single process returns)."""
    name = cfg.stage.name
    run = stage_function(name)
    world = distributed.requested_world_size()
    if world > 1 and name not in DATA_PARALLEL_STAGES and name not in SHARDED_STAGES:
        raise UserInputError(f"stage={name} runs in one process, but WORLD_SIZE={world}; torchrun runs "
                             f"{_stage_list(DATA_PARALLEL_STAGES)} (data-parallel training) and "
                             f"{_stage_list(SHARDED_STAGES)} (whole experts sharded over the processes)")
    if name not in DATA_PARALLEL_STAGES:
        return _run_in_process(cfg, run, Path(cfg.run_dir))
    distributed.init_from_env()
    run_dir = Path(distributed.broadcast_object(cfg.run_dir))  # a timestamped default may differ between ranks
    finished = _run_in_process(cfg, run, run_dir, DATA_PARALLEL_STAGES[name])
    if distributed.is_distributed():
        distributed.finish()  # every rank's process ends here
    return finished


def _stage_list(names: Iterable[str]) -> str:
    return " and ".join(f"stage={name}" for name in names)


def _run_in_process(cfg: DictConfig, run: Callable[[RunConfig, Path], dict[str, Any]], run_dir: Path,
                    rank_zero_switches: tuple[str, ...] = ()) -> Path:
    """This process's part of the stage in `run_dir`; rank 0 (or a single process) writes the run's files: config.yaml,
    run.log (`assistmimic.run_log`) and summary.json, `status: finished` with the stage's results, or failed
    with the error."""
    typed: RunConfig = OmegaConf.to_object(cfg)
    if not distributed.is_main():
        typed.run_dir = str(run_dir)
        for switch in rank_zero_switches:
            setattr(typed.stage, switch, False)
        _run_stage(typed, run, run_dir)
        return run_dir
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())
    with run_log(run_dir) as log:
        try:
            summary = _run_stage(typed, run, run_dir)
        except (Exception, KeyboardInterrupt) as err:
            record_failure(run_dir, cfg.stage.name, err, log, created)
            raise
        write_json(run_dir / "summary.json", {"stage": cfg.stage.name, "status": "finished", **summary})
        print(f"results: {run_dir / 'summary.json'}")
        report(run_dir)
    return run_dir


def _run_stage(typed: RunConfig, run: Callable[[RunConfig, Path], dict[str, Any]], run_dir: Path) -> dict[str, Any]:
    """The stage's results, run with the configured torch threads."""
    if typed.sim.torch_threads is not None:
        torch.set_num_threads(typed.sim.torch_threads)
    return run(typed, run_dir)


def report(run_dir: Path) -> None:
    """Write `run_dir/report.html` (plots, videos, results) and print its path; a failure is one warning line,
    never the finished stage's failure."""
    try:
        path = write_report(run_dir)
    except Exception as err:  # noqa: BLE001 (the results are written; a failing report must not undo that)
        print(f"warning: no report.html ({type(err).__name__}: {err})")
        return
    print(f"report: {path}")
