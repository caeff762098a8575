"""Stages runnable as `python run.py stage=<name>`; each returns the dict written to summary.json."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from assistmimic.config import RunConfig
from assistmimic.run_files import atomic_write_bytes, write_json
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


def stage_function(name: str) -> Callable[[RunConfig, Path], dict[str, Any]]:
    if name not in STAGES:
        raise UserInputError(f"unknown stage '{name}'; available stages: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[name]).run


def run_stage(cfg: DictConfig) -> Path:
    """Run the configured stage in `cfg.run_dir`, save the resolved config and summary.json."""
    run = stage_function(cfg.stage.name)
    run_dir = Path(cfg.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(run_dir / "config.yaml", OmegaConf.to_yaml(cfg, resolve=True).encode())
    typed: RunConfig = OmegaConf.to_object(cfg)
    if typed.sim.torch_threads is not None:
        if typed.sim.torch_threads < 1:
            raise UserInputError(f"sim.torch_threads must be >= 1 or null, got {typed.sim.torch_threads}")
        torch.set_num_threads(typed.sim.torch_threads)
    summary = run(typed, run_dir)
    write_json(run_dir / "summary.json", {"stage": cfg.stage.name, **summary})
    print(f"results: {run_dir / 'summary.json'}")
    report(run_dir)
    return run_dir


def report(run_dir: Path) -> None:
    """Write `run_dir/report.html` (plots, videos, results) and print its path; a failure is one warning line,
    never the finished stage's failure."""
    try:
        path = write_report(run_dir)
    except Exception as err:  # noqa: BLE001 (the results are written; a failing report must not undo that)
        print(f"warning: no report.html ({type(err).__name__}: {err})")
        return
    print(f"report: {path}")
