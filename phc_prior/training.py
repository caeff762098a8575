"""Training the single-person tracking prior (PHC-style).

One unimpaired humanoid per world tracks clips of the motion library (reference-state initialisation,
the env's termination rules) with PPO and, when `runner.amp_enabled`, an AMP discriminator (the CPU recipe
and PHC's are in `configs/stage/prior.yaml`).
Checkpoints carry the env config, the robot and the clips file, which `stage=eval` and the experts'
widening (`widening.widened_prior`) check.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from assistmimic.envs.config import TrackingEnvConfig
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.mjcf.config import RobotConfig, SceneConfig
from assistmimic.rl import distributed
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_single_person_scene
from motion_lib.clip import Clip
from motion_lib.motion_library import MotionLibrary


def prior_runner(clips: list[Clip], data: str | Path, robot: RobotConfig, scene: SceneConfig, sim: SimConfig, *,
                 num_envs: int, seed: int, env: TrackingEnvConfig, policy: PolicyConfig, ppo: PPOConfig,
                 amp: AMPConfig, runner: RunnerConfig, run_dir: Path) -> OnPolicyRunner:
    """The prior's runner, ready to learn: `num_envs` single-person worlds (seeded per torchrun rank) tracking
    `clips` (from `data`: a file or a description) with the task settings `env`, and a fresh policy of `policy` trained by PPO
    (`ppo`) and AMP (`amp`) as `runner` says, saving to `run_dir`."""
    torch.manual_seed(seed)
    backend = make_backend(make_single_person_scene(robot, scene, sim, clips), sim, num_envs)
    generator = torch.Generator(device=backend.device).manual_seed(seed + distributed.rank())
    tracking = TrackingEnv(backend, MotionLibrary(clips, backend.device), env, generator)
    actor_critic = ActorCritic([tracking.obs_dims[0]], tracking.action_dims[0], policy)
    metadata = {"env_config": dataclasses.asdict(env), "robot": robot.name, "data": str(data)}
    return OnPolicyRunner(tracking, [actor_critic], ppo, amp, runner, run_dir, backend.device, metadata)
