"""End-to-end training throughput against the bare simulator, measured in the same run.

For each backend, person count (1: the single-person prior's task, 2: the two-agent assist task) and
batch size, two rates in world (policy) steps per second:
- bare: `backend.step` alone with precomputed random PD targets (the simulator, nothing else);
- end to end: `OnPolicyRunner` iterations of the stage's own settings (environment: reference sampling,
  forward kinematics, observations, rewards, resets; policy inference; PPO and AMP updates; logging),
  from the per-iteration timings in metrics.jsonl (median over the timed iterations, after one warm-up
  iteration), i.e. horizon x worlds / (collect + update seconds).
The ratio end-to-end / bare is the share of the simulator's rate that training keeps.

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
from training_runs import make_env, stage_config, timed_iterations  # benchmarks/training_runs.py (this script's folder)

from assistmimic.config import RunConfig, register_configs
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.stages.common import load_clips
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


def end_to_end_rate(cfg: RunConfig, env: TrackingEnv, persons: int, iterations: int) -> dict[str, float]:
    """World steps/s of training iterations (median of `iterations` after one warm-up) and the split."""
    stage = cfg.stage
    samples = stage.ppo.horizon * env.num_envs
    ppo = dataclasses.replace(stage.ppo, minibatch_size=samples // 4)
    runner_cfg = dataclasses.replace(stage.runner, max_iterations=1 + iterations, save_interval=10**9,
                                     amp_batch_size=min(stage.runner.amp_batch_size, samples))
    if persons == 1:
        policies = [ActorCritic([env.obs_dims[0]], env.action_dims[0], stage.policy)]
    else:
        policies = initial_policies(env, stage, cfg.robot.name)
    timed = timed_iterations(lambda run_dir: OnPolicyRunner(env, policies, ppo, stage.amp, runner_cfg, run_dir,
                                                            env.backend.device))
    iteration_s = statistics.median(row["perf/iteration_s"] for row in timed)
    return {
        "end_to_end_steps_per_s": samples / iteration_s,
        "collect_steps_per_s": statistics.median(row["perf/env_steps_per_s"] for row in timed),
        "update_share": statistics.median(row["perf/update_s"] / row["perf/iteration_s"] for row in timed),
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
    rows = []
    print(f"{'backend':>7} {'persons':>7} {'worlds':>7} {'bare steps/s':>13} {'e2e steps/s':>12} {'ratio':>6} "
          f"{'collect steps/s':>16} {'update share':>13}")
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
                rows.append(row)
                print(f"{backend:>7} {persons:>7} {num_envs:>7} {row['bare_steps_per_s']:>13,.0f} "
                      f"{row['end_to_end_steps_per_s']:>12,.0f} {row['ratio']:>6.2f} "
                      f"{row['collect_steps_per_s']:>16,.0f} {row['update_share']:>13.2f}", flush=True)
    info = {"torch": torch.__version__, "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
