"""What the training benchmarks share: a stage's config from configs/, an environment on the backend's device,
the timed iterations of a runner (from its metrics.jsonl, after one warm-up iteration), and a main that ends a
bad input with one sentence.

Import it after the benchmark has set OMP_WAIT_POLICY and put the repository on sys.path.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.rl.logger import METRICS_FILE, read_metrics
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.sim.factory import make_backend, make_scene, make_single_person_scene
from assistmimic.stages.config import RunConfig, register_configs
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError, exit_with
from motion_lib.motion_library import MotionLibrary

REPO = Path(__file__).resolve().parents[1]


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's `main`; a bad size or override ends it with one sentence (exit status 2), no traceback."""
    try:
        main()
    except (UserInputError, HydraException) as error:
        exit_with(error)


def stage_config(overrides: list[str]) -> RunConfig:
    """The typed run config composed from configs/ with Hydra `overrides` (e.g. ["stage=expert", "sim=warp"])."""
    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        return OmegaConf.to_object(compose(config_name="config", overrides=overrides))


def make_env(cfg: RunConfig, num_envs: int, clips: list[Clip]) -> TrackingEnv:
    """`num_envs` worlds of `clips` with the stage's env settings: the single-person tracking env for
    one-person clips, the assist env for two; library and generator on the backend's device."""
    if len(clips[0].persons) == 1:
        scene, env_class = make_single_person_scene(cfg.robot, cfg.scene, cfg.sim, clips), TrackingEnv
    else:
        scene, env_class = make_scene(cfg.robot, cfg.scene, cfg.sim, cfg.impairment, clips), AssistEnv
    backend = make_backend(scene, cfg.sim, num_envs)
    return env_class(backend, MotionLibrary(clips, backend.device), cfg.stage.env,
                     torch.Generator(device=backend.device).manual_seed(cfg.seed))


def timed_iterations(make_runner: Callable[[str], OnPolicyRunner],
                     after: Callable[[OnPolicyRunner], None] | None = None) -> list[dict[str, float]]:
    """metrics.jsonl rows of the iterations after the first (a warm-up) of the runner `make_runner(run_dir)`
    builds in a temporary run_dir; then `after(runner)` (when given) and its env is closed."""
    with tempfile.TemporaryDirectory() as run_dir:
        runner = make_runner(run_dir)
        runner.learn()
        if after is not None:
            after(runner)
        runner.env.close()
        return read_metrics(Path(run_dir) / METRICS_FILE)[1:]
