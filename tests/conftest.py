"""Shared fixtures: configs as the YAML files define them, and small scenes/backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from assistmimic.mjcf.config import AgentPhysicsConfig, ImpairmentConfig, JointGroupRule, RobotConfig, SceneConfig
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_scene

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small tensors run best on one torch thread (as the stages do: sim.torch_threads = 1), and far
    faster than two when the two cores are shared with MuJoCo's threads or another process."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def robot_config(name: str = "smpl", **overrides) -> RobotConfig:
    """The robot config of configs/robot/<name>.yaml as a typed object, with `overrides` applied."""
    raw = yaml.safe_load((REPO / "configs" / "robot" / f"{name}.yaml").read_text())
    raw.pop("defaults")
    return RobotConfig(**{**raw, **overrides})


def standard_impairment() -> ImpairmentConfig:
    return ImpairmentConfig(
        recipient=AgentPhysicsConfig(mass_scale=0.7, rules=[JointGroupRule(["lower"], 0.5, 0.5, 80.0)])
    )


def build_backend(num_envs=2, robot="smpl", scene=None, impairment=None, nthread=1, clips=(), **sim_kwargs):
    """A CPU backend of `num_envs` two-person worlds, with furniture slots for `clips`."""
    sim = SimConfig(nthread=nthread, **sim_kwargs)
    scene_model = make_scene(robot_config(robot), scene or SceneConfig(), sim, impairment or ImpairmentConfig(), clips)
    return make_backend(scene_model, sim, num_envs)


@pytest.fixture
def backend_factory():
    created = []

    def factory(*args, **kwargs):
        backend = build_backend(*args, **kwargs)
        created.append(backend)
        return backend

    yield factory
    for backend in created:
        backend.close()
