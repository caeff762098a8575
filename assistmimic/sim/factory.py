"""Build the scene and the simulator backend named in the config."""

from __future__ import annotations

from collections.abc import Sequence

from assistmimic.mjcf.config import AgentPhysicsConfig, ImpairmentConfig, RobotConfig, SceneConfig
from assistmimic.mjcf.scene import SceneModel, build_scene
from assistmimic.sim.backend import SimBackend
from assistmimic.sim.config import SimConfig
from motion_lib.body_model import skeleton_from_body_model
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.skeleton import Skeleton, get_skeleton

BACKENDS = ("cpu", "warp")


def make_skeleton(robot: RobotConfig) -> Skeleton:
    """The built-in skeleton, or its shape from the user's own SMPL/SMPL-X model file."""
    skeleton = get_skeleton(robot.name)
    if robot.body_model_path:
        skeleton = skeleton_from_body_model(skeleton, robot.body_model_path, list(robot.betas))
    return skeleton


def make_scene(robot: RobotConfig, scene: SceneConfig, sim: SimConfig, impairment: ImpairmentConfig,
               clips: Sequence[Clip] = ()) -> SceneModel:
    """The two-person MJCF scene described by the config groups, with furniture slots for `clips` (the clips its
    worlds will play; none: slots for the scene group's furniture alone)."""
    return build_scene(make_skeleton(robot), robot, scene, sim, (impairment.supporter, impairment.recipient),
                       [clip.furniture for clip in clips])


def make_single_person_scene(robot: RobotConfig, scene: SceneConfig, sim: SimConfig,
                             clips: Sequence[Clip] = ()) -> SceneModel:
    """One unimpaired person (the single-person tracking prior's scene), with furniture slots for `clips` as `make_scene`."""
    return build_scene(make_skeleton(robot), robot, scene, sim, (AgentPhysicsConfig(),), [clip.furniture for clip in clips])


def make_backend(scene: SceneModel, sim: SimConfig, num_envs: int) -> SimBackend:
    """A backend with `num_envs` worlds of `scene`."""
    if sim.backend == "cpu":
        from assistmimic.sim.cpu_backend import CpuBackend

        return CpuBackend(scene, num_envs, substeps=sim.substeps, nthread=sim.nthread,
                          max_joint_velocity=sim.max_joint_velocity)
    if sim.backend == "warp":
        try:
            from assistmimic.sim.warp_backend import WarpBackend
        except ImportError as error:
            if error.name not in ("warp", "mujoco_warp"):
                raise
            raise UserInputError("sim.backend=warp needs mujoco-warp and warp-lang, which are not installed; "
                                 'install them with pip install -e ".[gpu]"') from None
        return WarpBackend(scene, num_envs, substeps=sim.substeps, device=sim.device, nconmax=sim.nconmax,
                           njmax=sim.njmax, graph_capture=sim.graph_capture, max_joint_velocity=sim.max_joint_velocity)
    raise UserInputError(f"unknown sim.backend '{sim.backend}'; available: {', '.join(BACKENDS)}")
