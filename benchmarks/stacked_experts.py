"""K experts trained in one batch of worlds (`StackedRunner`, `stage=experts stage.batch_experts=K`) against the
same K experts trained one after another (an `OnPolicyRunner` each, on its own worlds), measured in the same run.

Both train K two-agent experts of `--worlds` worlds each with stage=expert's settings (configs/; Hydra overrides
accepted), expert k on demo clip k mod 2, from the shipped prior. The time compared is one training iteration of
all K experts (rollout, PPO and AMP updates, logging; the median of `--iterations` timed iterations after one
warm-up, from metrics.jsonl's perf/iteration_s): batched, one iteration of the batch; sequential, the sum over the
experts of one iteration each. Prints both, as seconds and world steps/s, and the speed-up sequential / batched.

Usage:
    .venv/bin/python benchmarks/stacked_experts.py [--experts 4] [--worlds 16] [--iterations 3] [overrides ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch
from training_runs import (  # benchmarks/training_runs.py (this script's folder)
    make_env,
    run_main,
    stage_config,
    timed_iterations,
)

from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.rl.stacked import StackedActorCritic, StackedRunner
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import register_configs
from assistmimic.stages.expert import initial_policies
from motion_lib.clip import Clip

PARTS = ("collect_s", "update_s", "iteration_s")


def iteration_seconds(make_runner: Callable[[str], OnPolicyRunner]) -> dict[str, float]:
    """Medians of perf/collect_s, update_s and iteration_s over a runner's timed iterations (the first one warms up)."""
    timed = timed_iterations(make_runner)
    return {part: statistics.median(row[f"perf/{part}"] for row in timed) for part in PARTS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experts", type=int, default=4)
    parser.add_argument("--worlds", type=int, default=16, help="worlds per expert")
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations after one warm-up")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of stage=expert, e.g. sim.nthread=16")
    args = parser.parse_args()
    register_configs()
    cfg = stage_config(["stage=expert", *args.overrides])
    if cfg.sim.torch_threads is not None:
        torch.set_num_threads(cfg.sim.torch_threads)
    stage, k, worlds = cfg.stage, args.experts, args.worlds
    runner_cfg = dataclasses.replace(stage.runner, max_iterations=1 + args.iterations, save_interval=10**9)
    _, clips = load_clips(None, stage.default_data, cfg.robot.name, persons=2)
    clip_of = [clips[e % len(clips)] for e in range(k)]

    def batched(run_dir: str) -> StackedRunner:
        env = make_env(cfg, k * worlds, clips)
        env.partition_worlds([[clips.index(clip)] for clip in clip_of])
        starts = [initial_policies(env, stage, cfg.robot.name) for _ in range(k)]
        policies = [StackedActorCritic([start[a] for start in starts], worlds) for a in range(env.num_agents)]
        return StackedRunner(env, policies, stage.ppo, stage.amp, runner_cfg, run_dir, env.backend.device)

    def alone(clip: Clip) -> Callable[[str], OnPolicyRunner]:
        def make(run_dir: str) -> OnPolicyRunner:
            env = make_env(cfg, worlds, [clip])
            return OnPolicyRunner(env, initial_policies(env, stage, cfg.robot.name), stage.ppo, stage.amp, runner_cfg,
                                  run_dir, env.backend.device)
        return make

    batched_s = iteration_seconds(batched)
    alone_s = [iteration_seconds(alone(clip)) for clip in clip_of]
    sequential_s = {part: sum(seconds[part] for seconds in alone_s) for part in PARTS}
    steps = stage.ppo.horizon * k * worlds
    print(f"{k} experts x {worlds} worlds, horizon {stage.ppo.horizon}, torch threads {torch.get_num_threads()}, "
          f"sim threads {cfg.sim.nthread or os.cpu_count()}, {torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}")
    print(f"seconds per iteration of all experts {'collect':>9} {'update':>9} {'total':>9} {'world steps/s':>14}")
    for name, seconds in (("batched", batched_s), ("sequential", sequential_s)):
        print(f"{name:>36} {seconds['collect_s']:>9.3f} {seconds['update_s']:>9.3f} {seconds['iteration_s']:>9.3f} "
              f"{steps / seconds['iteration_s']:>14,.0f}")
    print(f"speed-up sequential / batched: {sequential_s['iteration_s'] / batched_s['iteration_s']:.2f}x "
          f"(collect {sequential_s['collect_s'] / batched_s['collect_s']:.2f}x, "
          f"update {sequential_s['update_s'] / batched_s['update_s']:.2f}x)")

if __name__ == "__main__":
    run_main(main)
