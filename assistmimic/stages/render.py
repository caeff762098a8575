"""`stage=render [checkpoint=<ckpt>] [data=<clips>] [stage.clip=<name>]`: an MP4 video of one clip.

With a checkpoint, its deterministic policies track the clip from the first frame in the simulator, as
`stage=eval` runs them (two-agent experts in the configured impaired scene, single-person priors alone;
the clip's furniture with it), and the reference is drawn as a
translucent green ghost (`stage.ghost`). Without one, the clip is played back kinematically (the persons
put in each frame's pose). Contact forces are drawn as arrows (`stage.contact_forces`). One frame per
policy step, up to the step before the clip's end (or `stage.max_seconds`), played at the control rate
unless `stage.fps` says otherwise. Rendering is offscreen and needs EGL or OSMesa (`MUJOCO_GL`, see
`assistmimic.viz.render`).

Writes `stage.output` (default `run_dir/videos/<clip>.mp4`) and summary.json (`video`, `clip`, `frames`,
`fps`, `task`, ...).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from assistmimic.envs.tracking import TrackingEnv
from assistmimic.evaluation import (
    TASKS,
    EvalWorld,
    assist_eval_env,
    check_policies,
    checkpoint_task,
    policies_from_checkpoint,
    tracking_eval_env,
    trained_assist_config,
)
from assistmimic.mjcf.humanoid import hinge_ranges
from assistmimic.mjcf.scene import SceneModel
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.backend import PersonState
from assistmimic.sim.factory import make_scene, make_single_person_scene
from assistmimic.stages.common import clips_path, trained_clips_file
from assistmimic.stages.config import RenderConfig, RunConfig
from assistmimic.stages.scoring import eval_world
from assistmimic.viz.playback import frame_count, kinematic_frames, policy_frames, reference_poses
from assistmimic.viz.render import RenderingUnavailable, SceneRenderer, write_mp4
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips
from motion_lib.motion_library import MotionLibrary

DEFAULT_DATA = {"assist": "data/demo/assist.pkl", "tracking": "data/demo/single.pkl"}
"""Clips rendered when neither `data=` nor the checkpoint's clips file is available (kinematic playback: assist's)."""
VIDEOS_DIR = "videos"


def run(cfg: RunConfig, run_dir: Path) -> dict:
    return render_video(cfg, run_dir)


def render_policy_video(cfg: RunConfig, checkpoint: Path, run_dir: Path, data: Path | None = None,
                        clip: str | None = None, output: Path | None = None) -> str | None:
    """`stage=render` of `checkpoint` with the default settings, to `output` (default `run_dir/videos/<clip>.mp4`; how
    `stage=expert`, `distill` and `track` end): clip `clip` of `data` (default: `cfg.data`, else the checkpoint's clips
    file; its first trained clip). Returns the video's path, or None after a one-line warning when this machine
    cannot render."""
    data = cfg.data if data is None else str(data)
    try:
        summary = render_video(dataclasses.replace(cfg, checkpoint=str(checkpoint), data=data, stage=RenderConfig(
            clip=clip, output=None if output is None else str(output))), run_dir)
    except RenderingUnavailable as err:
        print(f"warning: no video: {err}")
        return None
    return summary["video"]


def render_video(cfg: RunConfig, run_dir: Path) -> dict:
    """The stage: see the module docstring. Returns its summary."""
    stage: RenderConfig = cfg.stage
    _check_settings(stage)
    checkpoint = Path(cfg.checkpoint) if cfg.checkpoint else None
    policies, metadata, task = [], {}, None
    if checkpoint is not None:
        policies, metadata = policies_from_checkpoint(checkpoint)
        task = checkpoint_task(checkpoint, policies, metadata)
    data, clip = _clip(cfg, stage, metadata, task)
    world = eval_world(cfg, metadata, checkpoint)
    if len(clip.persons) == 2:
        scene = make_scene(cfg.robot, world.scene, cfg.sim, world.impairment, [clip])
    else:
        scene = make_single_person_scene(cfg.robot, world.scene, cfg.sim, [clip])
    output = Path(stage.output) if stage.output else run_dir / VIDEOS_DIR / f"{clip.name}.mp4"
    ghost = stage.ghost and checkpoint is not None
    start = time.perf_counter()
    renderer = SceneRenderer(scene, stage.width, stage.height, ghost=ghost, contact_forces=stage.contact_forces,
                             legend=stage.legend)
    renderer.show_furniture(scene.furniture.poses(clip.furniture, f"clip '{clip.name}'"))
    try:
        if checkpoint is None:
            dt, frames = _kinematic(cfg, stage, scene, clip, renderer)
        else:
            dt, frames = _tracked(world, stage, clip, renderer, checkpoint, policies, metadata, task, ghost)
        fps = stage.fps or 1.0 / dt
        written = write_mp4(output, frames, fps)
    finally:
        renderer.close()
    print(f"video: {output} ({written} frames, {written / fps:.1f} s at {fps:g} fps, "
          f"{'tracked by ' + str(checkpoint) if checkpoint else 'kinematic playback'})")
    return {"video": str(output), "clip": clip.name, "data": str(data),
            "checkpoint": None if checkpoint is None else str(checkpoint), "task": task or "kinematic",
            "frames": written, "fps": fps, "width": stage.width, "height": stage.height, "ghost": ghost,
            "contact_forces": stage.contact_forces, "seconds": round(time.perf_counter() - start, 1)}


def _check_settings(stage: RenderConfig) -> None:
    if stage.width < 16 or stage.height < 16 or stage.width % 2 or stage.height % 2:
        raise UserInputError(f"stage.width and stage.height must be even and at least 16 pixels, got "
                             f"{stage.width} x {stage.height}")
    if stage.fps is not None and stage.fps <= 0:
        raise UserInputError(f"stage.fps must be positive or null, got {stage.fps}")
    if stage.max_seconds is not None and stage.max_seconds <= 0:
        raise UserInputError(f"stage.max_seconds must be positive or null, got {stage.max_seconds}")


def _clip(cfg: RunConfig, stage: RenderConfig, metadata: dict, task: str | None) -> tuple[Path, Clip]:
    """The clip to render and its file: `data=`, else the checkpoint's clips file when it is still there, else
    the built-in demo clips; `stage.clip`, else the first of the checkpoint's clips in that file, else its first."""
    given = cfg.data or trained_clips_file(metadata)
    path = clips_path(given, DEFAULT_DATA[task or "assist"])
    clips = {clip.name: clip for clip in read_clips(path, cfg.robot.name)}
    name = stage.clip or next((n for n in metadata.get("clips") or [] if n in clips), next(iter(clips)))
    if name not in clips:
        raise UserInputError(f"{path} has no clip '{name}'; it holds {', '.join(list(clips)[:10])}")
    persons = len(clips[name].persons)
    if task is not None and persons != TASKS[task]:
        raise UserInputError(f"{path}: clip '{name}' holds {persons} person(s), but the checkpoint's {task} task "
                             f"needs {TASKS[task]}")
    return path, clips[name]


def _kinematic(cfg: RunConfig, stage: RenderConfig, scene: SceneModel, clip: Clip, renderer: SceneRenderer):
    """(dt, frames) of the clip's poses at every policy step."""
    dt = cfg.sim.physics_dt * cfg.sim.substeps
    library = MotionLibrary([clip])
    count = frame_count(float(library.clip_duration[0]), dt, stage.max_seconds)
    ranges = torch.as_tensor(hinge_ranges(scene.skeleton), dtype=torch.float32)
    return dt, kinematic_frames(renderer, reference_poses(library, 0, dt, count, ranges))


def _tracked(world: EvalWorld, stage: RenderConfig, clip: Clip, renderer: SceneRenderer, checkpoint: Path,
             policies: list[ActorCritic], metadata: dict, task: str, ghost: bool):
    """(dt, frames) of the policies tracking the clip in one simulated world of `world` (closed when the frames are
    done)."""
    env = _environment(world, task, clip, metadata, checkpoint)
    try:
        check_policies(checkpoint, policies, env, task)
    except UserInputError:
        env.close()
        raise
    policies = [policy.to(env.device) for policy in policies]
    count = frame_count(env.library.clip_seconds[0], env.dt, stage.max_seconds)
    ghosts = None
    if ghost:  # drawn from the host
        poses = reference_poses(env.library, 0, env.dt, count, env.hinge_ranges)
        ghosts = PersonState(**{field.name: getattr(poses, field.name).cpu() for field in dataclasses.fields(poses)})

    def frames():
        try:
            yield from policy_frames(renderer, env, policies, 0, count, ghosts)
        finally:
            env.close()

    return env.dt, frames()


def _environment(world: EvalWorld, task: str, clip: Clip, metadata: dict, checkpoint: Path) -> TrackingEnv:
    """One world of `world` for the checkpoint's task, as `stage=eval` builds it: the action semantics the policies
    were trained with, the clip from its first frame, no early termination."""
    if task == "assist":
        return assist_eval_env(world, trained_assist_config(checkpoint, metadata), [clip], 1)
    return tracking_eval_env(world, metadata, [clip], 1)
