"""A fixed, seeded rollout of both environments, recorded term by term (the reference for
`test_env_rollout_unchanged.py`). `python -m tests.env_rollout_record` rewrites `tests/data/env_rollout.pt`;
do that only when a change of behaviour is intended, and say so in the commit.

The record pins the environments' default settings; rewrite it when they change on purpose.
"""

from __future__ import annotations

import hashlib

import torch

from assistmimic.mjcf.config import SceneConfig
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_single_person_scene
from motion_lib.formats.phc import read_clips
from motion_lib.motion_library import MotionLibrary
from tests.conftest import REPO, build_backend, robot_config, standard_impairment

RECORD = REPO / "tests" / "data" / "env_rollout.pt"
STEPS = 40
WORLDS = 3


def digest(t: torch.Tensor) -> str:
    """sha256 of a tensor's bytes (exact equality, compact to store)."""
    return hashlib.sha256(t.detach().contiguous().cpu().numpy().tobytes()).hexdigest()


def rollout(kind: str, env_factory) -> dict:
    """{step: {name: value}} of a seeded rollout: rewards, per-term rewards, terminations, truncations,
    metrics (exact tensors) and observations (digests plus float64 sums, for a readable failure)."""
    torch.manual_seed(0)
    env = env_factory(kind)
    obs = env.reset()
    actions_gen = torch.Generator().manual_seed(1)
    record = {"reset_obs": [digest(o) for o in obs], "steps": []}
    for _ in range(STEPS):
        actions = [0.3 * torch.randn(env.num_envs, d, generator=actions_gen) for d in env.action_dims]
        step = env.step(actions)
        record["steps"].append({
            "rewards": step.rewards.clone(),
            "terms": {k: v.clone() for k, v in step.reward_terms.items()},
            "terminated": step.terminated.clone(),
            "truncated": step.truncated.clone(),
            "metrics": {k: v.clone() for k, v in step.metrics.items()},
            "obs": [digest(o) for o in step.obs],
            "obs_sum": [o.double().sum().item() for o in step.obs],
            "final_obs": [digest(o) for o in step.final_obs],
            "amp_obs": [digest(o) for o in step.amp_obs],
        })
    env.close()
    return record


def make_env(kind: str):
    """The tracking env on the single-person demo clips or the assist env on the two-person ones, 3 worlds."""
    from assistmimic.envs.registry import ENVIRONMENTS
    spec = ENVIRONMENTS[kind]
    clips = read_clips(REPO / "data" / "demo" / ("single.pkl" if spec.persons == 1 else "assist.pkl"))
    if spec.persons == 2:
        backend = build_backend(WORLDS, impairment=standard_impairment(), clips=clips)
    else:
        sim = SimConfig(nthread=1)
        backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim, clips), sim, WORLDS)
    return spec.env_class(backend, MotionLibrary(clips), spec.config_class(residual_actions=True),
                          torch.Generator().manual_seed(0))


if __name__ == "__main__":
    RECORD.parent.mkdir(exist_ok=True)
    torch.set_num_threads(1)
    torch.save({kind: rollout(kind, make_env) for kind in ("tracking", "assist")}, RECORD)
    print(f"wrote {RECORD}")
