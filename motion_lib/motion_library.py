"""Many clips on one device: reference body states at any (clip, time), fully vectorised.

At construction every frame of every clip goes through the skeleton's forward kinematics once;
per-frame body velocities come from forward differences within each clip (the last frame repeats
the one before), optionally smoothed in time by a Gaussian within each clip (`set_velocity_smoothing`; PHC's
motion library smooths with sigma 2 frames: a difference of noisy frames is noise over the frame time). `sample`
then only gathers two frames per query and interpolates: positions and velocities linearly, rotations by slerp.

Clips are drawn for training by their recent failure rates (`set_clip_sampling`, `record_outcomes`); a training
checkpoint keeps the rates (`sampling_state`, `load_sampling_state`) so that a resumed run draws as it did.

Every tensor lives on the library's device; `sample`, `sample_clip_ids` and `record_outcomes` run there
without a host sync. Per-clip sizes are also kept on the host (`clip_num_frames`, `clip_seconds`) for
loops and table layouts.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.kinematics import ForwardKinematics
from motion_lib.rotations import (
    matrix_to_quat,
    quat_conjugate,
    quat_mul,
    quat_slerp,
    quat_to_axis_angle,
    quat_to_matrix,
)
from motion_lib.skeleton import get_skeleton


def smooth_within_clips(values: torch.Tensor, first: torch.Tensor, last: torch.Tensor, sigma: float) -> torch.Tensor:
    """(F, ...) frame-concatenated `values` smoothed along frames by a Gaussian of `sigma` frames (truncated at 4 sigma),
    each frame only from its own clip's frames `first`..`last` (F,) (indices of its clip's first and last frame; the
    nearest frame repeats past them: scipy's `gaussian_filter1d(..., mode="nearest")`, as PHC). On the values' device,
    without a host sync; `sigma` 0: unchanged."""
    if sigma <= 0:
        return values
    radius = int(4.0 * sigma + 0.5)
    weights = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, device=values.device) / sigma) ** 2)
    weights = weights / weights.sum()
    index = torch.arange(values.shape[0], device=values.device)
    out = torch.zeros_like(values)
    for k in range(-radius, radius + 1):
        out += weights[k + radius] * values[torch.minimum(torch.maximum(index + k, first), last)]
    return out


@dataclass
class ReferenceState:
    """Reference body states for N queries of P persons (world frame)."""

    pos: torch.Tensor  # (N, P, B, 3) body origin positions
    quat: torch.Tensor  # (N, P, B, 4) body-to-world rotations (w, x, y, z)
    lin_vel: torch.Tensor  # (N, P, B, 3)
    ang_vel: torch.Tensor  # (N, P, B, 3)
    joint_rot: torch.Tensor  # (N, P, B-1, 4) local joint rotations (for resets)


class MotionLibrary:
    """Clips of the same skeleton and person count, stored frame-concatenated on `device`."""

    def __init__(self, clips: list[Clip], device: torch.device | str = "cpu", velocity_smoothing: float = 0.0):
        if not clips:
            raise UserInputError("the motion library needs at least one clip")
        for clip in clips:
            clip.validate()
        skeletons = {c.skeleton for c in clips}
        persons = {len(c.persons) for c in clips}
        if len(skeletons) > 1 or len(persons) > 1:
            raise UserInputError(
                f"all clips of a motion library must share one skeleton and person count; got skeletons {sorted(skeletons)} "
                f"and person counts {sorted(persons)}"
            )
        self.device = torch.device(device)
        self.skeleton = get_skeleton(clips[0].skeleton)
        self.num_persons = persons.pop()
        self.clip_names = [c.name for c in clips]
        self.clip_furniture = [list(c.furniture) for c in clips]
        """Each clip's furniture (`Clip.furniture`), on the host."""
        self.families = sorted({c.source.get("family", "other") for c in clips})
        """The motion families of the clips (`Clip.source["family"]` of generated clips; others are "other")."""
        self.clip_family = torch.tensor([self.families.index(c.source.get("family", "other")) for c in clips],
                                        device=self.device)
        """(C,) each clip's index into `families`."""
        frames = torch.tensor([c.num_frames for c in clips])
        self.clip_frames = frames.to(self.device)
        self.clip_start = (torch.cumsum(frames, 0) - frames).to(self.device)
        self.clip_fps = torch.tensor([c.fps for c in clips], dtype=torch.float32, device=self.device)
        self.clip_duration = (self.clip_frames - 1).float() / self.clip_fps
        self.clip_num_frames = [c.num_frames for c in clips]
        """Frames of each clip, on the host."""
        self.clip_seconds = ((frames - 1).float() / torch.tensor([c.fps for c in clips], dtype=torch.float32)).tolist()
        """Duration of each clip (s) on the host: the values of `clip_duration`."""
        self.failure_rate = torch.ones(len(clips), device=self.device)
        """(C,) each clip's recent share of episodes that failed (`record_outcomes`); 1 until it has been tried."""
        self.uniform_share, self.outcome_weight = 1.0, 0.1
        """See `set_clip_sampling`: uniform sampling until an environment sets its config's values."""
        self.clips_digest = clips_digest(clips)
        """Which clips, in which order (`clips_digest`): whether saved failure rates belong to this library."""

        def stack(key):
            return torch.as_tensor(np.concatenate([np.stack([getattr(p, key) for p in c.persons], 1) for c in clips]),
                                   dtype=torch.float32, device=self.device)

        root_pos, root_rot, joint_rot = stack("root_pos"), stack("root_rot"), stack("joint_rot")
        num_total, p = root_pos.shape[:2]
        fk = ForwardKinematics(self.skeleton, self.device)
        pos, rot = fk.poses(root_pos.reshape(-1, 3), quat_to_matrix(root_rot.reshape(-1, 4)),
                            quat_to_matrix(joint_rot.reshape(num_total * p, -1, 4)))
        body_pos = pos.reshape(num_total, p, -1, 3)
        body_quat = matrix_to_quat(rot).reshape(num_total, p, -1, 4)
        lin_vel, ang_vel = self._velocities(body_pos, body_quat, velocity_smoothing)
        # One (F, P, B, 13) tensor, so a query gathers each of its two frames once: pos, quat, lin, ang.
        self.frame_data = torch.cat([body_pos, body_quat, lin_vel, ang_vel], dim=-1).contiguous()
        self.joint_rot = joint_rot
        self.velocity_smoothing = velocity_smoothing
        """Standard deviation (frames) of the Gaussian the velocities are smoothed with (0: forward differences)."""

    @property
    def body_pos(self) -> torch.Tensor:
        """(F, P, B, 3) body positions of all frames of all clips, world frame."""
        return self.frame_data[..., 0:3]

    @property
    def body_quat(self) -> torch.Tensor:
        """(F, P, B, 4) body-to-world rotations (w, x, y, z)."""
        return self.frame_data[..., 3:7]

    @property
    def body_lin_vel(self) -> torch.Tensor:
        """(F, P, B, 3) body linear velocities, world frame."""
        return self.frame_data[..., 7:10]

    @property
    def body_ang_vel(self) -> torch.Tensor:
        """(F, P, B, 3) body angular velocities, world frame."""
        return self.frame_data[..., 10:13]

    def set_velocity_smoothing(self, sigma: float) -> None:
        """Make the body velocities the forward differences of every frame (the last frame of a clip repeats the one
        before) smoothed within each clip by a Gaussian of `sigma` frames (`smooth_within_clips`; 0: unsmoothed). An
        environment sets its config's value (`TrackingEnvConfig.velocity_smoothing`); the same value again does nothing."""
        if sigma == self.velocity_smoothing:
            return
        lin_vel, ang_vel = self._velocities(self.body_pos, self.body_quat, sigma)
        self.frame_data[..., 7:10], self.frame_data[..., 10:13] = lin_vel, ang_vel
        self.velocity_smoothing = sigma

    def clip_of_frame(self) -> torch.Tensor:
        """(F,) the clip of every frame row."""
        return torch.repeat_interleave(torch.arange(self.num_clips, device=self.device), self.clip_frames,
                                       output_size=sum(self.clip_num_frames))  # host list: no host sync

    def clip_bounds_of_frame(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(F,) and (F,): for every frame row the rows of its clip's first and last frames."""
        clip = self.clip_of_frame()
        first = self.clip_start[clip]
        return first, first + self.clip_frames[clip] - 1

    def _velocities(self, pos: torch.Tensor, quat: torch.Tensor, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward-difference linear and angular velocities of every frame (see `set_velocity_smoothing`)."""
        if sigma < 0:
            raise UserInputError(f"velocity smoothing must be at least 0 frames, got {sigma}")
        first, last = self.clip_bounds_of_frame()
        clip = self.clip_of_frame()
        index = torch.arange(pos.shape[0], device=self.device)
        this = torch.where(index == last, index - 1, index)
        fps = self.clip_fps[clip][:, None, None, None]
        lin_vel = (pos[this + 1] - pos[this]) * fps
        ang_vel = quat_to_axis_angle(quat_mul(quat[this + 1], quat_conjugate(quat[this]))) * fps
        return smooth_within_clips(lin_vel, first, last, sigma), smooth_within_clips(ang_vel, first, last, sigma)

    @property
    def num_clips(self) -> int:
        return len(self.clip_names)

    def to(self, device: torch.device | str) -> MotionLibrary:
        """This library with its tensors on `device`: self when already there, else a copy (whose failure
        counts then go their own way)."""
        device = torch.device(device)
        if device == self.device:
            return self
        moved = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(moved, name, value.to(device))
        moved.device = device
        return moved

    def frame_pairs(self, clip_ids: torch.Tensor, times: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For clips `clip_ids` (N,) at `times` (N,) seconds, clamped to each clip: the (N,) rows of the frames
        before and after (into every per-frame table of the library) and the (N,) interpolation weight."""
        clip_ids = clip_ids.to(self.device).long()
        times = times.to(self.device).float().clamp(min=0.0)
        times = torch.minimum(times, self.clip_duration[clip_ids])
        frame = times * self.clip_fps[clip_ids]
        f0 = torch.minimum(frame.floor().long(), self.clip_frames[clip_ids] - 1)
        f1 = torch.minimum(f0 + 1, self.clip_frames[clip_ids] - 1)
        return self.clip_start[clip_ids] + f0, self.clip_start[clip_ids] + f1, frame - f0.float()

    def sample(self, clip_ids: torch.Tensor, times: torch.Tensor) -> ReferenceState:
        """Reference states of clips `clip_ids` (N,) at `times` (N,) seconds, clamped to each clip."""
        i0, i1, alpha = self.frame_pairs(clip_ids, times)
        alpha = alpha[:, None, None, None]
        d0, d1 = self.frame_data[i0], self.frame_data[i1]
        lerped = torch.lerp(d0, d1, alpha)
        return ReferenceState(
            pos=lerped[..., 0:3], quat=quat_slerp(d0[..., 3:7], d1[..., 3:7], alpha),
            lin_vel=lerped[..., 7:10], ang_vel=lerped[..., 10:13],
            joint_rot=quat_slerp(self.joint_rot[i0], self.joint_rot[i1], alpha),
        )

    def set_clip_sampling(self, uniform_share: float, outcome_weight: float) -> None:
        """How training draws clips (`sampling_weights`): `uniform_share` of the probability spread evenly over the
        clips, the rest in proportion to each clip's failure rate; `outcome_weight` (0, 1]: how much one episode's
        outcome moves its clip's rate (an exponential average over about 1 / outcome_weight episodes). An environment
        sets its config's values (`TrackingEnvConfig.clip_sampling`)."""
        if not 0.0 <= uniform_share <= 1.0:
            raise UserInputError(f"clip sampling's uniform_share must lie in [0, 1], got {uniform_share}")
        if not 0.0 < outcome_weight <= 1.0:
            raise UserInputError(f"clip sampling's outcome_weight must lie in (0, 1], got {outcome_weight}")
        self.uniform_share, self.outcome_weight = uniform_share, outcome_weight

    def sampling_weights(self) -> torch.Tensor:
        """(C,) probabilities: `uniform_share` / C for every clip plus the rest shared in proportion to the clips'
        failure rates (evenly while no clip fails). Rates, not failure counts: a clip drawn more often does not
        gain weight by being drawn, so the draw cannot run away to the few clips that always fail (PHC weights by
        failures in evaluations where every clip is tried once; BeyondMimic mixes in a uniform share likewise)."""
        count = self.failure_rate.numel()
        total = self.failure_rate.sum()
        by_failure = torch.where(total > 0, self.failure_rate / total.clamp(min=1e-12),
                                 torch.full_like(self.failure_rate, 1.0 / count))
        return self.uniform_share / count + (1.0 - self.uniform_share) * by_failure

    def sample_clip_ids(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """(n,) clip ids drawn by `sampling_weights` (`generator` on the library's device, or None)."""
        if n == 1:  # torch.multinomial's draw of one sample, without its host-side checks
            return draw_one_per_row(self.sampling_weights()[None], generator)
        return torch.multinomial(self.sampling_weights(), n, replacement=True, generator=generator)

    def family_sampling(self) -> dict[str, tuple[float, float]]:
        """{family: (mean failure rate of its clips, its share of `sampling_weights`)} (one read from the device)."""
        count = len(self.families)
        clips = torch.zeros(count, device=self.device).index_add_(0, self.clip_family, torch.ones_like(self.failure_rate))
        rates = torch.zeros(count, device=self.device).index_add_(0, self.clip_family, self.failure_rate) / clips
        shares = torch.zeros(count, device=self.device).index_add_(0, self.clip_family, self.sampling_weights())
        return {family: (rate, share) for family, rate, share in zip(self.families, *torch.stack([rates, shares]).tolist())}

    def sampling_state(self) -> dict:
        """The clip-draw state a training checkpoint keeps: the clips' digest and their failure rates (C,), on the host."""
        return {"clips_digest": self.clips_digest, "failure_rate": self.failure_rate.to("cpu", copy=True)}

    def load_sampling_state(self, state: dict) -> bool:
        """Continue drawing clips from `sampling_state()`'s failure rates when they were saved for these very clips
        (same digest); otherwise (other clips, or an older checkpoint without the state) keep the fresh rates.
        Returns whether the rates were restored."""
        if state.get("clips_digest") != self.clips_digest:
            return False
        self.failure_rate.copy_(state["failure_rate"].to(self.device))
        return True

    def record_outcomes(self, clip_ids: torch.Tensor, ended: torch.Tensor, failed: torch.Tensor) -> None:
        """Move each clip's failure rate toward the outcomes of the episodes that `ended` (bool (N,)) on `clip_ids`
        (N,) this step, `failed` (bool (N,)) or not: a clip with n endings, k of them failures, keeps
        (1 - outcome_weight)^n of its rate and takes the rest from k / n."""
        ids = clip_ids.to(self.device).long()
        ended = ended.to(self.device).float()
        count = self.failure_rate.numel()
        endings = torch.zeros(count, device=self.device).index_add_(0, ids, ended)
        failures = torch.zeros(count, device=self.device).index_add_(0, ids, ended * failed.to(self.device).float())
        kept = (1.0 - self.outcome_weight) ** endings
        self.failure_rate.mul_(kept).add_((1.0 - kept) * failures / endings.clamp(min=1.0))


def clips_digest(clips: list[Clip]) -> str:
    """SHA-1 over the clips' names, frame rates and root tracks (every person), in order: equal for the same clip
    list, different when a clip is added, removed, reordered or regenerated differently."""
    digest = hashlib.sha1()
    for clip in clips:
        digest.update(f"{clip.name}|{clip.fps}|".encode())
        for person in clip.persons:
            digest.update(np.ascontiguousarray(person.root_pos, dtype=np.float32).tobytes())
    return digest.hexdigest()


def draw_one_per_row(weights: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n,) one column index per row of (n, k) non-negative weights, with probability proportional to the weight.

    The draw of `torch.multinomial(weights, 1)[:, 0]` (the same numbers from the same generator state: the
    Gumbel-max trick, argmax of w / Exp(1) noise, as torch computes it) without torch's host-side validity
    checks (`.item()`), which stall a GPU.
    """
    noise = torch.empty_like(weights).exponential_(1.0, generator=generator)
    return (weights / noise).argmax(-1)
