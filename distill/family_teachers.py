"""Single-person priors that label the worlds of a prior distillation (`stage=prior stage.distill.teacher=...`),
one teacher per motion family.

Every world is labelled by `teacher`'s mean actions, except those tracking a clip of a family named in
`family_teachers`, which that family's checkpoint labels: e.g. the shipped prior for every family and a
continuation of it that learnt standing broad jumps for `broad_jump`. `FamilyTeachers` gives `DAggerTrainer` what
`ExpertSet` gives it for two-agent experts (`names`, `actions`, `check_observations`, `to`), for one agent.
"""

from __future__ import annotations

from pathlib import Path

import torch

from assistmimic.evaluation import checkpoint_task, policies_from_checkpoint
from assistmimic.rl.policy import ActorCritic
from distill.experts import ACTION_MEANING
from motion_lib.errors import UserInputError


def load_prior(path: str, setting: str) -> tuple[ActorCritic, dict]:
    """The policy of the single-person prior checkpoint `path` (given by `setting`, named in errors), in evaluation
    mode, and the env settings it was trained with (its metadata's `env_config`, {} where it saved none)."""
    if not Path(path).is_file():
        raise UserInputError(f"{setting}={path} does not exist; give a prior checkpoint (model_<it>.pt or exported)")
    policies, metadata = policies_from_checkpoint(Path(path))
    if checkpoint_task(Path(path), policies, metadata) != "tracking":
        raise UserInputError(f"{setting}={path} is a two-agent checkpoint; give a single-person prior")
    return policies[0], metadata.get("env_config") or {}


class FamilyTeachers:
    """Per motion family, the prior whose mean actions label its worlds; see the module docstring.

    families: the motion families of the training clips (`MotionLibrary.families`); every key of `family_teachers`
    must be one of them.
    """

    def __init__(self, teacher: str, family_teachers: dict[str, str], families: list[str]):
        unknown = sorted(set(family_teachers) - set(families))
        if unknown:
            raise UserInputError(f"stage.distill.family_teachers names the famil{'ies' if len(unknown) > 1 else 'y'} "
                                 f"{', '.join(unknown)}, which no training clip has (the clips' families: "
                                 f"{', '.join(families)})")
        chosen = sorted(family_teachers)
        self.names = ["teacher", *chosen]
        """The teachers: "teacher" (every other family), then the families of `family_teachers`."""
        settings = ["stage.distill.teacher", *(f"stage.distill.family_teachers.{f}" for f in chosen)]
        paths = [teacher, *(family_teachers[f] for f in chosen)]
        loaded = [load_prior(path, setting) for path, setting in zip(paths, settings)]
        self.policies = [policy.requires_grad_(False) for policy, _ in loaded]
        self.sources = [f"{setting}={path}" for setting, path in zip(settings, paths)]
        """The setting and file of each teacher (for errors)."""
        self.env_configs = [env_config for _, env_config in loaded]
        """The env settings each teacher was trained with."""
        self.family_teacher = torch.tensor([chosen.index(f) + 1 if f in family_teachers else 0 for f in families])
        """(F,) the teacher index of each family of `families`."""
        first = self.policies[0]
        for name, policy in zip(self.names[1:], self.policies[1:]):
            if sum(policy.obs_dims) != sum(first.obs_dims) or policy.action_dim != first.action_dim:
                raise UserInputError(f"the teachers disagree: stage.distill.teacher takes {sum(first.obs_dims)} "
                                     f"observations and gives {first.action_dim} actions, the {name} teacher "
                                     f"{sum(policy.obs_dims)} and {policy.action_dim}; give priors of one robot")
        self.obs_dims, self.action_dims = [sum(first.obs_dims)], [first.action_dim]

    def check_action_meaning(self, env_config: dict) -> None:
        """One clear sentence where a teacher was trained with actions that mean another thing (`ACTION_MEANING`:
        residual or absolute PD targets, led or not) than in `env_config` (the run's env settings as a dict)."""
        for source, trained in zip(self.sources, self.env_configs):
            for key, default in ACTION_MEANING.items():
                if trained.get(key, default) != env_config[key]:
                    raise UserInputError(f"{source} was trained with stage.env.{key}={trained.get(key, default)}, "
                                         f"this run has {env_config[key]}; set stage.env.{key} as its teachers had it")

    def clip_teachers(self, clip_family: torch.Tensor) -> torch.Tensor:
        """(C,) the teacher index of each clip, from (C,) each clip's family index (`MotionLibrary.clip_family`)."""
        return self.family_teacher.to(clip_family.device)[clip_family]

    def to(self, device: torch.device | str) -> FamilyTeachers:
        for policy in self.policies:
            policy.to(device)
        return self

    def check_observations(self, obs_dims: list[int], action_dims: list[int], who: str) -> None:
        """One clear sentence when `who` (the student, the env) has one agent of other sizes than the teachers'."""
        if obs_dims != self.obs_dims or action_dims != self.action_dims:
            raise UserInputError(f"the teachers take {self.obs_dims[0]} observations and give {self.action_dims[0]} "
                                 f"actions, but {who} has {obs_dims} and {action_dims}; teachers and student must be "
                                 "single-person priors of one robot and observation layout")

    def actions(self, agent: int, obs: torch.Tensor, teacher_ids: torch.Tensor) -> torch.Tensor:
        """(N, action_dim) mean actions of each world's teacher `teacher_ids` (N,) on `obs` (N, obs_dim); `agent` is 0
        (one agent). Each teacher runs on its own worlds only (one host sync per teacher)."""
        out = obs.new_empty(obs.shape[0], self.action_dims[agent])
        for k, policy in enumerate(self.policies):
            worlds = (teacher_ids == k).nonzero().squeeze(-1)
            out[worlds] = policy.action_mean(obs[worlds])
        return out
