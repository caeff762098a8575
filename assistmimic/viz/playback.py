"""Frames of a clip played back: kinematically (the clip's poses), or tracked by policies in the simulator.

Frame k shows time k·dt from the clip's start (dt: the policy step), k = 0 .. count - 1.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from assistmimic.envs.reference_state import HingeTable, reference_person_state
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.backend import PersonState
from assistmimic.viz.render import SceneRenderer
from motion_lib.motion_library import MotionLibrary


def frame_count(duration: float, dt: float, max_seconds: float | None) -> int:
    """Frames of a clip of `duration` s at step `dt`: every policy step before the clip's end (the step at which
    tracking truncates), at most `max_seconds` worth, at least one."""
    count = int(duration / dt + 1e-6)
    if max_seconds is not None:
        count = min(count, int(max_seconds / dt + 1e-6))
    return max(count, 1)


def reference_poses(library: MotionLibrary, clip_id: int, dt: float, count: int, ranges: torch.Tensor) -> PersonState:
    """The clip's poses at times k·dt, k < count: a PersonState of shape (count, P, ·), hinge angles continuous
    in time and within `ranges` (D, 2)."""
    times = torch.arange(count, dtype=torch.float32) * dt
    return reference_person_state(library, HingeTable(library, ranges), torch.full((count,), clip_id, dtype=torch.long),
                                  times)


def kinematic_frames(renderer: SceneRenderer, poses: PersonState) -> Iterator[np.ndarray]:
    """One frame per row of `poses` (the persons placed in each pose, at rest)."""
    for k in range(poses.root_pos.shape[0]):
        renderer.show_pose(poses, k)
        yield renderer.render()


@torch.no_grad()
def policy_frames(renderer: SceneRenderer, env: TrackingEnv, policies: list[ActorCritic], clip_id: int,
                  count: int, ghosts: PersonState | None) -> Iterator[np.ndarray]:
    """`count` frames of env's world 0 (a `CpuBackend` world) tracking clip `clip_id` from its start with the
    deterministic policies (every world tracks the same clip); `ghosts` (count, P, ·): the reference drawn
    as the ghost, None: no ghost. `count` must not pass the clip's end (`frame_count`)."""
    obs = env.start_clips(torch.full((env.num_envs,), clip_id, dtype=torch.long))
    for k in range(count):
        if k:
            obs = env.step([policy.act_deterministic(o) for policy, o in zip(policies, obs)]).obs
        renderer.show_world(*env.backend.world_state(0))
        if ghosts is not None:
            renderer.show_ghost(ghosts, k)
        yield renderer.render()
