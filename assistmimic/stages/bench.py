"""`stage=bench`: two-person policy steps per second through the backend, against bare `mujoco.rollout`.

Both loops start from the same standing state and apply the same random PD targets (rest pose +
Gaussian noise), `sim.substeps` physics steps per policy step. The backend loop also reads what an
environment reads every step (body states by forward kinematics, contact forces, torques), so the
ratio is the backend's real overhead. Each measurement is repeated and the best kept.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import mujoco
import numpy as np
import torch
from mujoco import rollout
from tqdm import tqdm

from assistmimic.sim.cpu_backend import CpuBackend
from assistmimic.sim.factory import make_backend, make_scene
from assistmimic.stages.config import BenchConfig, RunConfig
from motion_lib.errors import UserInputError

REPEATS = 3


def _time_backend(backend, targets: torch.Tensor, warmup: int) -> float:
    for t in range(warmup):
        backend.step(targets[t])
    start = time.perf_counter()
    for t in range(warmup, targets.shape[0]):
        backend.step(targets[t])
        backend.body_state()
        backend.hand_contact_force()
        backend.foot_contact_force()
        backend.actuator_torque()
    return time.perf_counter() - start


def _time_bare(backend: CpuBackend, controls: np.ndarray, warmup: int) -> float:
    """The same rollouts with nothing around them: preallocated arrays, state carried forward."""
    model, num_envs, substeps = backend.model, backend.num_envs, backend.substeps
    state = np.tile(backend.default_state, (num_envs, 1))
    state_out = np.empty((num_envs, substeps, state.shape[1]))
    sensor_out = np.empty((num_envs, substeps, model.nsensordata))
    datas = [mujoco.MjData(model) for _ in range(max(1, backend.nthread))]
    models = [model] * num_envs
    with rollout.Rollout(nthread=backend.nthread) as pool:
        for t in range(controls.shape[0]):
            if t == warmup:
                start = time.perf_counter()
            pool.rollout(models, datas, state, controls[t], nstep=substeps, state=state_out,
                         sensordata=sensor_out, skip_checks=True)
            state[:] = state_out[:, -1]
    return time.perf_counter() - start


def measure(cfg: RunConfig, num_envs: int, bench: BenchConfig) -> dict[str, float]:
    """Rates for one batch size (two-person worlds)."""
    scene = make_scene(cfg.robot, cfg.scene, cfg.sim, cfg.impairment)
    backend = make_backend(scene, cfg.sim, num_envs)
    if not isinstance(backend, CpuBackend):
        raise UserInputError("stage=bench compares against bare mujoco.rollout and needs sim.backend=cpu")
    total = bench.warmup_steps + bench.policy_steps
    generator = torch.Generator().manual_seed(bench.seed)
    targets = bench.action_noise * torch.randn((total, num_envs, 2, backend.num_dofs), generator=generator)
    controls = np.zeros((total, num_envs, backend.substeps, backend.model.nu))
    controls[..., backend.layout.actuator.reshape(-1)] = targets.reshape(total, num_envs, 1, -1).double().numpy()
    timed_steps = bench.policy_steps * num_envs
    backend_s, bare_s = [], []
    for _ in range(REPEATS):
        backend.reset_to_default(torch.arange(num_envs))
        backend_s.append(_time_backend(backend, targets, bench.warmup_steps))
        bare_s.append(_time_bare(backend, controls, bench.warmup_steps))
    result = {
        "policy_steps_per_s": timed_steps / min(backend_s),
        "bare_policy_steps_per_s": timed_steps / min(bare_s),
        "physics_steps_per_s": timed_steps * backend.substeps / min(backend_s),
        "diverged_worlds": backend.diverged_total,
        "nthread": backend.nthread,
    }
    result["ratio_to_bare"] = result["policy_steps_per_s"] / result["bare_policy_steps_per_s"]
    backend.close()
    return result


def run(cfg: RunConfig, run_dir: Path) -> dict:
    bench: BenchConfig = cfg.stage
    batch_sizes = [cfg.num_envs] if cfg.num_envs is not None else list(bench.batch_sizes)
    if not batch_sizes or min(batch_sizes) < 1:
        raise UserInputError(f"the number of worlds must be a positive integer, got {batch_sizes} (num_envs / stage.batch_sizes)")
    if bench.policy_steps < 1 or bench.warmup_steps < 0:
        raise UserInputError("stage.policy_steps must be >= 1 and stage.warmup_steps >= 0")
    per_batch = {}
    print(f"{'worlds':>7} {'backend steps/s':>16} {'bare steps/s':>13} {'ratio':>6}   (two-person policy steps, "
          f"{cfg.sim.substeps} physics steps each, robot={cfg.robot.name})")
    for num_envs in tqdm(batch_sizes, desc="bench", leave=False):
        r = measure(cfg, num_envs, bench)
        per_batch[str(num_envs)] = r
        tqdm.write(f"{num_envs:>7} {r['policy_steps_per_s']:>16,.0f} {r['bare_policy_steps_per_s']:>13,.0f} "
                   f"{r['ratio_to_bare']:>6.2f}")
    headline = per_batch[str(max(batch_sizes))]
    return {
        "policy_steps_per_s": headline["policy_steps_per_s"],
        "bare_policy_steps_per_s": headline["bare_policy_steps_per_s"],
        "ratio_to_bare": headline["ratio_to_bare"],
        "headline_num_envs": max(batch_sizes),
        "per_batch_size": per_batch,
        "robot": cfg.robot.name,
        "mujoco_version": mujoco.__version__,
        "torch_version": torch.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
