"""End-to-end training throughput against the bare simulator, measured in the same run.

For each backend, person count (1: the single-person prior's task, 2: the two-agent assist task) and
batch size, two rates in world (policy) steps per second:
- bare: `backend.step` alone with precomputed random PD targets (the simulator, nothing else);
- end to end: `OnPolicyRunner` iterations of the stage's own settings (environment: reference sampling,
  forward kinematics, observations, rewards, resets; policy inference; PPO and AMP updates; logging),
  from the per-iteration timings in metrics.jsonl (median over the timed iterations, after one warm-up
  iteration), i.e. horizon x worlds / (collect + update seconds).
The ratio end-to-end / bare is the share of the simulator's rate that training keeps.

Where that share goes: the matrix-product FLOPs of one iteration's updates (PPO and AMP of every agent,
counted with torch's FLOP formulas), the rate they ran at, and the GEMM rate of this machine (a
2048 x 1024 x 256 product with the update's threads, measured in the run). "ceiling" is the ratio training
would reach if collection cost nothing beyond the simulator and the updates ran at that GEMM rate:
bare time / (bare time + update FLOPs / GEMM rate) per iteration. Where it is low, the networks' arithmetic,
not the code around the simulator, bounds the ratio on this machine.

"syncs/step": operations per collected step that make the host wait for a GPU (`HostSyncCounter`, counted
on any device over one more collection after the timed iterations): 0 with the GPU default of masked resets
(`stage.env.sync_free_resets`) on the Warp backend; resetting by id (the CPU default) makes 4 per step with
two agents (the ended worlds' ids, the reset's value check, each agent's timed-out worlds).

Usage:
    .venv/bin/python benchmarks/end_to_end.py [--backends cpu warp] [--persons 1 2] [--worlds 64 256]
        [--iterations 3] [--json out.json]
Each measurement runs in this process, one after another; settings come from configs/ (stage=prior for
one person, stage=expert for two) with `ppo.minibatch_size` set to a quarter of a rollout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry
from training_runs import (  # benchmarks/training_runs.py (this script's folder)
    make_env,
    run_main,
    stage_config,
    timed_iterations,
)

from assistmimic.envs.tracking import TrackingEnv
from assistmimic.host_syncs import HostSyncCounter
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import RunConfig, register_configs
from assistmimic.stages.expert import initial_policies

BARE_STEPS = 60
BARE_WARMUP = 10


def bare_rate(env: TrackingEnv) -> float:
    """World steps/s of `backend.step` alone, with random PD targets around the rest pose."""
    backend = env.backend
    generator = torch.Generator(device=backend.device).manual_seed(0)
    shape = (BARE_WARMUP + BARE_STEPS, backend.num_envs, backend.n_agents, backend.num_dofs)
    targets = 0.1 * torch.randn(shape, generator=generator, device=backend.device)
    backend.reset_to_default(torch.arange(backend.num_envs))
    for t in range(BARE_WARMUP):
        backend.step(targets[t])
    _synchronize(backend.device)
    start = time.perf_counter()
    for t in range(BARE_WARMUP, BARE_WARMUP + BARE_STEPS):
        backend.step(targets[t])
    _synchronize(backend.device)
    return BARE_STEPS * backend.num_envs / (time.perf_counter() - start)


def gemm_flops_per_s(device: torch.device, repeats: int = 20) -> float:
    """FLOP/s of a float32 2048 x 1024 x 256 matrix product on `device` (on a CPU with every core, as the
    updates run by default; best of 3)."""
    a, b = torch.randn(2048, 1024, device=device), torch.randn(1024, 256, device=device)
    previous = torch.get_num_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        a @ b
        best = float("inf")
        for _ in range(3):
            _synchronize(device)
            start = time.perf_counter()
            for _ in range(repeats):
                a @ b
            _synchronize(device)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    return 2 * 2048 * 1024 * 256 * repeats / best


class MatmulFlopCounter(TorchDispatchMode):
    """Counts the FLOPs of the matrix products run under it (forward and backward, also inside autograd.grad),
    with torch's FLOP formulas; torch's own FlopCounterMode tracks modules with hooks that autograd.grad refuses."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


def update_flops(runner: OnPolicyRunner) -> float:
    """Matrix-product FLOPs of one iteration's updates (PPO and AMP of every agent), on the runner's last rollout."""
    with MatmulFlopCounter() as counter:
        runner._update()
    return float(counter.flops)


def host_syncs_per_step(runner: OnPolicyRunner) -> float:
    """Operations per step of one more collection of `runner` that would make the host wait for a GPU."""
    stats = EpisodeStatistics(runner.env.num_envs, runner.env.num_agents, runner.device)
    obs = runner.env.reset()
    with HostSyncCounter() as syncs:
        runner._collect(obs, stats)
    return syncs.count / runner.ppo_config.horizon


def end_to_end_rate(cfg: RunConfig, env: TrackingEnv, persons: int, iterations: int) -> dict[str, float]:
    """World steps/s of training iterations (median of `iterations` after one warm-up), the split, the FLOPs of
    one iteration's updates and the host syncs per collected step."""
    stage = cfg.stage
    samples = stage.ppo.horizon * env.num_envs
    ppo = dataclasses.replace(stage.ppo, minibatch_size=samples // 4)
    runner_cfg = dataclasses.replace(stage.runner, max_iterations=1 + iterations, save_interval=10**9,
                                     amp_batch_size=min(stage.runner.amp_batch_size, samples))
    if persons == 1:
        policies = [ActorCritic([env.obs_dims[0]], env.action_dims[0], stage.policy)]
    else:
        policies = initial_policies(env, stage, cfg.robot.name)
    runners = []

    def make_runner(run_dir: str) -> OnPolicyRunner:
        runners.append(OnPolicyRunner(env, policies, ppo, stage.amp, runner_cfg, run_dir, env.backend.device))
        return runners[-1]

    syncs = []
    timed = timed_iterations(make_runner, after=lambda runner: syncs.append(host_syncs_per_step(runner)))
    iteration_s = statistics.median(row["perf/iteration_s"] for row in timed)
    update_s = statistics.median(row["perf/update_s"] for row in timed)
    flops = update_flops(runners[0])
    return {
        "end_to_end_steps_per_s": samples / iteration_s,
        "collect_steps_per_s": statistics.median(row["perf/env_steps_per_s"] for row in timed),
        "update_share": statistics.median(row["perf/update_s"] / row["perf/iteration_s"] for row in timed),
        "update_gflop_per_iteration": flops / 1e9,
        "update_gflop_per_s": flops / 1e9 / update_s,
        "host_syncs_per_step": syncs[0],
    }


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", nargs="+", default=["cpu"], choices=["cpu", "warp"])
    parser.add_argument("--persons", nargs="+", type=int, default=[1, 2], choices=[1, 2])
    parser.add_argument("--worlds", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations after one warm-up")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. sim.nthread=16 robot=smplx")
    args = parser.parse_args()
    register_configs()
    gemm_gflop_per_s: dict[str, float] = {}
    rows = []
    print(f"{'backend':>7} {'persons':>7} {'worlds':>7} {'bare steps/s':>13} {'e2e steps/s':>12} {'ratio':>6} "
          f"{'collect steps/s':>16} {'update share':>13} {'update GFLOP':>13} {'at GFLOP/s':>11} {'ceiling':>8} "
          f"{'syncs/step':>11}")
    for backend in args.backends:
        for persons in args.persons:
            for num_envs in args.worlds:
                stage = "prior" if persons == 1 else "expert"
                cfg = stage_config([f"stage={stage}", f"sim={backend}", *args.overrides])
                if cfg.sim.torch_threads is not None:
                    torch.set_num_threads(cfg.sim.torch_threads)
                torch.manual_seed(cfg.seed)
                _, clips = load_clips(None, cfg.stage.default_data, cfg.robot.name, persons=persons)
                env = make_env(cfg, num_envs, clips)
                row = {"backend": backend, "persons": persons, "worlds": num_envs, "bare_steps_per_s": bare_rate(env),
                       **end_to_end_rate(cfg, env, persons, args.iterations)}
                row["ratio"] = row["end_to_end_steps_per_s"] / row["bare_steps_per_s"]
                device = env.backend.device
                if str(device) not in gemm_gflop_per_s:
                    gemm_gflop_per_s[str(device)] = gemm_flops_per_s(device) / 1e9
                    print(f"GEMM rate on {device}: {gemm_gflop_per_s[str(device)]:,.0f} GFLOP/s")
                bare_s = cfg.stage.ppo.horizon * num_envs / row["bare_steps_per_s"]
                row["ceiling"] = bare_s / (bare_s + row["update_gflop_per_iteration"] / gemm_gflop_per_s[str(device)])
                rows.append(row)
                print(f"{backend:>7} {persons:>7} {num_envs:>7} {row['bare_steps_per_s']:>13,.0f} "
                      f"{row['end_to_end_steps_per_s']:>12,.0f} {row['ratio']:>6.2f} "
                      f"{row['collect_steps_per_s']:>16,.0f} {row['update_share']:>13.2f} "
                      f"{row['update_gflop_per_iteration']:>13,.0f} {row['update_gflop_per_s']:>11,.0f} "
                      f"{row['ceiling']:>8.2f} {row['host_syncs_per_step']:>11.2f}", flush=True)
    info = {"torch": torch.__version__, "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
            "gemm_gflop_per_s": gemm_gflop_per_s, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    run_main(main)
