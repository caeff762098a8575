"""A fixed, seeded rollout of both environments, recorded term by term (the reference for
`test_env_rollout_unchanged.py`). `python -m tests.env_rollout_record` rewrites `tests/data/env_rollout.pt`;
do that only when a change of behaviour is intended, and say so in the commit.

The record pins the environments' default settings; rewrite it when they change on purpose. It holds values, not
bit patterns: another CPU or a newer numpy, torch or MuJoCo rounds differently (about 1e-7 relative at the reset,
amplified to about 1e-3 by contacts over 40 steps), so the test compares within `RELATIVE_TOLERANCE`, which a change
of behaviour (a reward weight, a term, a termination, an observation's layout) exceeds many times over.
"""

from __future__ import annotations

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
SKETCH_SIZE = 16
# Largest normwise relative difference between machines measured on this record: 8e-4 (a reward term, step 17).
RELATIVE_TOLERANCE = 1e-2


def sketch(t: torch.Tensor) -> torch.Tensor:
    """[worlds, SKETCH_SIZE] float64 random projections of each world's flattened tensor [worlds, ...]: compact to
    store, and any change of a value, its place or its world moves them (the projection is seeded by the width)."""
    flat = t.detach().double().reshape(t.shape[0], -1)
    projection = torch.randn(flat.shape[1], SKETCH_SIZE, dtype=torch.float64,
                             generator=torch.Generator().manual_seed(flat.shape[1]))
    return flat @ projection


def rollout(kind: str, env_factory, steps: int = STEPS) -> dict:
    """{"reset_obs": [obs per agent], "steps": [{name: value}]} of a seeded rollout of `steps` steps: rewards,
    per-term rewards, terminations, truncations, metrics and sketches of the observations (`sketch`)."""
    torch.manual_seed(0)
    env = env_factory(kind)
    obs = env.reset()
    actions_gen = torch.Generator().manual_seed(1)
    record = {"reset_obs": [o.clone() for o in obs], "steps": []}
    for _ in range(steps):
        actions = [0.3 * torch.randn(env.num_envs, d, generator=actions_gen) for d in env.action_dims]
        step = env.step(actions)
        record["steps"].append({
            "rewards": step.rewards.clone(),
            "terms": {k: v.clone() for k, v in step.reward_terms.items()},
            "terminated": step.terminated.clone(),
            "truncated": step.truncated.clone(),
            "metrics": {k: v.clone() for k, v in step.metrics.items()},
            "obs": [sketch(o) for o in step.obs],
            "final_obs": [sketch(o) for o in step.final_obs],
            "amp_obs": [sketch(o) for o in step.amp_obs],
        })
    env.close()
    return record


def relative_difference(got: torch.Tensor, expected: torch.Tensor) -> float:
    """Normwise relative difference ||got - expected|| / ||expected|| (absolute where the expected norm is tiny)."""
    got, expected = got.double(), expected.double()
    return ((got - expected).norm() / expected.norm().clamp_min(1e-6)).item()


def make_env(kind: str, **config):
    """The tracking env on the single-person demo clips or the assist env on the two-person ones, 3 worlds; `config`
    overrides fields of the env's default config."""
    from assistmimic.envs.registry import ENVIRONMENTS
    spec = ENVIRONMENTS[kind]
    clips = read_clips(REPO / "data" / "demo" / ("single.pkl" if spec.persons == 1 else "assist.pkl"))
    if spec.persons == 2:
        backend = build_backend(WORLDS, impairment=standard_impairment(), clips=clips)
    else:
        sim = SimConfig(nthread=1)
        backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim, clips), sim, WORLDS)
    return spec.env_class(backend, MotionLibrary(clips), spec.config_class(residual_actions=True, **config),
                          torch.Generator().manual_seed(0))


if __name__ == "__main__":
    RECORD.parent.mkdir(exist_ok=True)
    torch.set_num_threads(1)
    torch.save({kind: rollout(kind, make_env) for kind in ("tracking", "assist")}, RECORD)
    print(f"wrote {RECORD}")
