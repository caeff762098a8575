"""A prior distilled from priors: DAgger (`distill.dagger`) in the prior's single-person tracking env, each world
labelled by the teacher of its clip's motion family (`distill.family_teachers`).

The use: a prior continued on a new motion family by PPO learns it slowly and loses some of what it tracked
(`benchmarks/RESULTS.md`, forty-third section); distilled from the prior it started from (every other family) and the
continuation (the new family), a student that starts as the former has only the new family to learn, by regression.
Checkpoints (`model_<iteration>.pt`, `last.pt`) hold the student as a prior's checkpoints do (`stage=eval`,
`benchmarks/prior_scores.py`, the experts' `stage.prior` and `scripts/export_policy.py` read them), with the optimiser
and the DAgger state; `stage.resume=true` continues a run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from assistmimic.envs.config import TrackingEnvConfig
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.mjcf.config import RobotConfig, SceneConfig
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_single_person_scene
from distill.config import DAggerConfig
from distill.dagger import DAggerTrainer
from distill.family_teachers import FamilyTeachers, load_prior
from motion_lib.clip import Clip
from motion_lib.motion_library import MotionLibrary


def initial_student(env: TrackingEnv, policy: PolicyConfig, student_init: str | None) -> ActorCritic:
    """A fresh network of `policy`, or the prior of the checkpoint `student_init`, in training mode."""
    if student_init is None:
        return ActorCritic([env.obs_dims[0]], env.action_dims[0], policy)
    return load_prior(student_init, "stage.distill.student_init")[0].train()


def prior_dagger(clips: list[Clip], data: str | Path, robot: RobotConfig, scene: SceneConfig, sim: SimConfig, *,
                 num_envs: int, seed: int, env: TrackingEnvConfig, policy: PolicyConfig, teacher: str,
                 family_teachers: dict[str, str], student_init: str | None, dagger: DAggerConfig,
                 run_dir: Path) -> DAggerTrainer:
    """The distillation, ready to learn: `num_envs` single-person worlds tracking `clips` (from `data`) with the task
    settings `env` (those the teachers were trained with), each labelled by `teacher` or, for the families of
    `family_teachers`, by their checkpoint; the student starts as `student_init` (None: a fresh `policy` network) and
    learns as `dagger` says, saving to `run_dir`."""
    torch.manual_seed(seed)
    backend = make_backend(make_single_person_scene(robot, scene, sim, clips), sim, num_envs)
    library = MotionLibrary(clips, backend.device)
    tracking = TrackingEnv(backend, library, env, torch.Generator(device=backend.device).manual_seed(seed))
    teachers = FamilyTeachers(teacher, family_teachers, library.families)
    teachers.check_action_meaning(dataclasses.asdict(env))
    student = initial_student(tracking, policy, student_init)
    metadata = {"env_config": dataclasses.asdict(env), "robot": robot.name, "data": str(data),
                "teachers": {"teacher": teacher, **family_teachers}, "student_init": student_init}
    return DAggerTrainer(tracking, [student], teachers, teachers.clip_teachers(library.clip_family), dagger, run_dir,
                         metadata, seed)
