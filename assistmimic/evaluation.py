"""Scoring policies on clips: every clip tracked from its first frame by the deterministic policies, with
PHC's success rule and errors per clip. `stage=eval`, `stage=track`, `stage=expert`, `stage=render` and
`distill` score through it.

A checkpoint's metadata names its task: single-person priors (no `task`, "tracking") or two-agent experts
("assist"). A clip fails when the mean body position error (of either agent) exceeds `failure_distance`
(0.5 m) at any frame (REFERENCE §2); two-agent clips also fail when the recipient falls (head
`fall_head_drop` below the reference's head). Success rate = fraction of clips tracked to their last
frame. MPJPE is the mean body position error over all frames (global, and root-relative), in millimetres.

Two-agent scoring also reports per agent MPJPE, the failure's reason, and over the reference's contact
phase (policy step t <-> reference time t·dt; only steps before a failure count): the fraction of steps
with simulated hand contact (`contact_rate`), the mean vertical support force (`support_force_z_n`: the supporter's
hand contacts and grips, + = up, what the `lift` reward sees; `whole_body_support_force_z_n`: every contact between
the two bodies, forearms and chest too, and the grips) and the supporter's mean grip command per hand (`grip_L`,
`grip_R`); the peak
actuator torque; and how far the recipient's pelvis rose: its highest height minus its start (`recipient_lift_m`),
beside the reference's (`reference_lift_m`). With `EvalRules.robustness` it scores again with the recipient heavier
and weaker; with `EvalRules.passive_supporter` the supporter does not act (`PassiveSupporter`): the recipient-alone
baseline that shows what the supporter adds.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.config import (LEGACY_DEFAULTS, AssistEnvConfig, RootAssistConfig, TerminationCurriculumConfig,
                                     TrackingEnvConfig)
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.mjcf.config import ImpairmentConfig, RobotConfig, SceneConfig
from assistmimic.rl.checkpoint import load_training_checkpoint
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_scene, make_single_person_scene
from motion_lib.clip import ROLES, Clip
from motion_lib.clip_stats import hand_contact, surface_gaps
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary

TASKS = {"tracking": 1, "assist": 2}
"""Tasks a checkpoint's metadata can name, with their number of policies."""
DONE_CHECK_STEPS = 30
"""`track_clips` checks whether every world has finished (a host sync) once per this many steps."""


def policies_from_checkpoint(path: Path) -> tuple[list[ActorCritic], dict]:
    """The per-agent policies saved in a training checkpoint, in evaluation mode, and its metadata."""
    state = load_training_checkpoint(path)
    policies = [ActorCritic.from_saved_state(saved) for saved in state["policies"]]
    for policy in policies:
        policy.eval()
    return policies, state.get("metadata") or {}


def checkpoint_task(checkpoint: Path, policies: list[ActorCritic], metadata: dict) -> str:
    """The task named in a checkpoint's metadata ("tracking" when it names none, like priors), checked
    against the number of policies it holds."""
    task = metadata.get("task", "tracking")  # priors' metadata names no task
    if task not in TASKS:
        raise UserInputError(f"{checkpoint}: unknown task '{task}' in its metadata; stage=eval evaluates "
                             f"{' and '.join(TASKS)} checkpoints")
    if len(policies) != TASKS[task]:
        raise UserInputError(f"{checkpoint}: holds {len(policies)} policies, but its {task} task needs {TASKS[task]}")
    return task


def check_policies(checkpoint: Path, policies: list[ActorCritic], env: TrackingEnv, task: str) -> None:
    """Each agent's policy takes the env's observation and gives its actions."""
    for agent, policy in enumerate(policies):
        who = "the policy" if len(policies) == 1 else f"the {ROLES[agent]} policy"
        if sum(policy.obs_dims) != env.obs_dims[agent] or policy.action_dim != env.action_dims[agent]:
            raise UserInputError(f"{checkpoint}: {who} takes {sum(policy.obs_dims)} observations and gives "
                                 f"{policy.action_dim} actions; this robot's {task} task has {env.obs_dims[agent]} "
                                 f"and {env.action_dims[agent]}")


def trained_assist_config(checkpoint: Path, metadata: dict) -> AssistEnvConfig:
    """The env config the two-agent checkpoint was trained with (its action semantics, rewards, ...)."""
    if "env_config" not in metadata:
        raise UserInputError(f"{checkpoint}: its metadata holds no env_config of the assist task")
    return AssistEnvConfig.from_dict(metadata["env_config"], str(checkpoint))


@dataclasses.dataclass(frozen=True)
class FailureRule:
    """An episode fails at the first step where step metric `metric` exceeds `threshold`; `reason` names it."""

    reason: str
    metric: str
    threshold: float


@dataclasses.dataclass(frozen=True)
class Measures:
    """What `track_clips` records of each episode (names of `StepResult.metrics`)."""

    rules: tuple[FailureRule, ...]
    """Failure rules in order of precedence (a divergence of the simulation fails too: "diverged")."""
    sums: tuple[str, ...]
    """Metrics summed over the episode's steps."""
    peaks: tuple[str, ...]
    """Metrics maximised over the episode's steps."""
    phase_sums: tuple[str, ...] = ()
    """Metrics summed over the steps of the phase (see `track_clips`) before the failure."""


@dataclasses.dataclass
class Episodes:
    """Per world (n,), what `track_clips` measured."""

    frames: torch.Tensor
    """(n,) frames of each world's clip."""
    failed_at: torch.Tensor
    """(n,) policy step of the first failure, -1: none."""
    reasons: list[str | None]
    """Name of the failure of each world, None: success."""
    steps: torch.Tensor
    """(n,) policy steps tracked (to the clip's end, or a divergence)."""
    sums: dict[str, torch.Tensor]
    """Metric -> (n,) its sum over the steps tracked."""
    peaks: dict[str, torch.Tensor]
    """Metric -> (n,) its maximum over the steps tracked (0 when it stayed below)."""
    phase_steps: torch.Tensor
    """(n,) steps of the phase before the failure."""
    phase_sums: dict[str, torch.Tensor]
    """Metric -> (n,) its sum over the phase steps before the failure."""


@torch.no_grad()
def track_clips(env: TrackingEnv, policies: list[ActorCritic], clip_ids: list[int], measures: Measures,
                phase: torch.Tensor | None = None) -> Episodes:
    """Track clips `clip_ids` from their start in env's worlds (one clip per world; the batch is padded
    with its last clip). `phase` (len(clip_ids), S) bool marks the policy steps (column t: step t) whose
    `measures.phase_sums` count; None: no phase. Runs on the env's device (the policies must be there); the
    results come to the host once, at the end."""
    n, device = env.num_envs, env.device
    padded = clip_ids + [clip_ids[-1]] * (n - len(clip_ids))
    obs = env.start_clips(torch.tensor(padded, device=device))
    frames = torch.tensor([env.library.clip_num_frames[c] for c in padded])
    horizon = int(frames.max())
    in_phase = torch.zeros(n, horizon, dtype=torch.bool, device=device)
    if phase is not None:
        in_phase[:len(clip_ids)] = phase[:, :horizon].to(device)
    active = torch.ones(n, dtype=torch.bool, device=device)
    failed_at = torch.full((n,), -1, dtype=torch.long, device=device)
    reason = torch.full((n,), -1, dtype=torch.long, device=device)
    steps, phase_steps = torch.zeros(n, dtype=torch.long, device=device), torch.zeros(n, dtype=torch.long, device=device)
    sums = {name: torch.zeros(n, device=device) for name in measures.sums}
    peaks = {name: torch.zeros(n, device=device) for name in measures.peaks}
    phase_sums = {name: torch.zeros(n, device=device) for name in measures.phase_sums}
    for t in range(1, horizon):
        result = env.step([policy.act_deterministic(o) for policy, o in zip(policies, obs)])
        metrics = result.metrics
        for name in sums:
            sums[name] += torch.where(active, metrics[name], 0.0)
        peaks = {name: torch.where(active, torch.maximum(peak, metrics[name]), peak) for name, peak in peaks.items()}
        steps += active.long()
        fired = torch.stack([metrics[rule.metric] > rule.threshold for rule in measures.rules] + [result.terminated], dim=1)
        fails = active & fired.any(1) & (failed_at < 0)
        failed_at = torch.where(fails, t, failed_at)
        reason = torch.where(fails, fired.int().argmax(1), reason)  # the first rule that fired
        counted = active & (failed_at < 0) & in_phase[:, t]
        phase_steps += counted.long()
        for name in phase_sums:
            phase_sums[name] += torch.where(counted, metrics[name], 0.0)
        active &= ~(result.terminated | result.truncated)
        if t % DONE_CHECK_STEPS == 0 and not active.any():  # (steps past the end change nothing measured)
            break
        obs = result.obs
    names = [rule.reason for rule in measures.rules] + ["diverged"]

    def host(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {name: value.cpu() for name, value in values.items()}

    return Episodes(frames=frames, failed_at=failed_at.cpu(), reasons=[names[r] if r >= 0 else None for r in reason.tolist()],
                    steps=steps.cpu(), sums=host(sums), peaks=host(peaks), phase_steps=phase_steps.cpu(),
                    phase_sums=host(phase_sums))


def _outcome(env: TrackingEnv, episodes: Episodes, i: int, clip_id: int) -> dict:
    """The first columns of world i's row: clip, frames, success, failed_at_s."""
    failed_at = int(episodes.failed_at[i])
    return {"clip": env.library.clip_names[clip_id], "frames": int(episodes.frames[i]), "success": failed_at < 0,
            "failed_at_s": None if failed_at < 0 else round(failed_at * env.dt, 3)}


def evaluate_clips(env: TrackingEnv, policies: list[ActorCritic], clip_ids: list[int], failure_distance: float) -> list[dict]:
    """Single-person tracking of clips `clip_ids` (see `track_clips`). Returns per clip: frames,
    success, MPJPE (global, local), max error."""
    measures = Measures(rules=(FailureRule("body_error", "body_pos_error_m", failure_distance),),
                        sums=("body_pos_error_m", "body_pos_error_local_m"),
                        peaks=("body_pos_error_m", "termination_rule_fired"))
    episodes = track_clips(env, policies, clip_ids, measures)
    return [_tracking_columns(env, episodes, i, clip_id) for i, clip_id in enumerate(clip_ids)]


SUPPORT_FORCES = ("support_force_z_n", "whole_body_support_force_z_n")
"""The two support-force measures of `AssistTask.metrics`, averaged over the contact phase."""


def evaluate_assist_clips(env: AssistEnv, policies: list[ActorCritic], clip_ids: list[int], failure_distance: float,
                          fall_head_drop: float, contact: torch.Tensor, judged: tuple[str, ...] = ROLES) -> list[dict]:
    """Two-agent tracking of clips `clip_ids` (see `track_clips`); `contact` (len(clip_ids), S) bool: the
    reference's hand-contact phase per policy step. Success and failure are judged on the roles `judged` (both;
    the recipient-alone baseline judges only the recipient, since its passive supporter is not tracking anything).
    Returns per clip: frames, success and the failure's reason, MPJPE (mean and per agent, local), max error, the
    contact phase's steps, contact rate, mean vertical support force and the supporter's mean grip per hand over
    them (None without any), peak torque, the recipient's and the reference's pelvis lift (m)."""
    rules = tuple(rule for role in judged for rule in role_failure_rules(role, failure_distance, fall_head_drop))
    fired = "termination_rule_fired" if set(judged) == set(ROLES) else f"{judged[0]}_termination_rule_fired"
    errors = ("body_pos_error_m", *(f"{role}_body_pos_error_m" for role in ROLES))
    pelvis = ("recipient_pelvis_height_m", "reference_pelvis_height_m")
    measures = Measures(rules=rules, sums=(*errors, "body_pos_error_local_m"),
                        peaks=("body_pos_error_m", "peak_torque_nm", fired, *pelvis),
                        phase_sums=("hand_contact", *SUPPORT_FORCES, "supporter_grip_L", "supporter_grip_R"))
    episodes = track_clips(env, policies, clip_ids, measures, contact)
    start = recipient_start_height(env, clip_ids)
    rows = []
    for i, clip_id in enumerate(clip_ids):
        rows.append({
            **_tracking_columns(env, episodes, i, clip_id, fired), "failure": episodes.reasons[i],
            **{f"{role}_mpjpe_mm": _mean_mm(episodes, f"{role}_body_pos_error_m", i) for role in ROLES},
            "contact_steps": int(episodes.phase_steps[i]), "contact_rate": _phase_mean(episodes, "hand_contact", i),
            **{force: _phase_mean(episodes, force, i) for force in SUPPORT_FORCES},
            **{f"grip_{side}": _phase_mean(episodes, f"supporter_grip_{side}", i) for side in "LR"},
            "peak_torque_nm": float(episodes.peaks["peak_torque_nm"][i]),
            "recipient_lift_m": float(episodes.peaks["recipient_pelvis_height_m"][i] - start[i]),
            "reference_lift_m": float(episodes.peaks["reference_pelvis_height_m"][i] - start[i]),
        })
    return rows


def role_failure_rules(role: str, distance: float, head_drop: float) -> tuple[FailureRule, ...]:
    """The evaluation's failure rules of `role`: its mean body error beyond `distance` (m), and for the recipient
    also a fall (head more than `head_drop` m below the reference's)."""
    rules = (FailureRule(f"{role}_error", f"{role}_body_pos_error_m", distance),)
    if role == "recipient":
        rules += (FailureRule("recipient_fell", "recipient_head_drop_m", head_drop),)
    return rules


def recipient_start_height(env: AssistEnv, clip_ids: list[int]) -> torch.Tensor:
    """(n,) the recipient's pelvis height (m) at the first frame of clips `clip_ids` (where each episode starts)."""
    ids = torch.tensor(clip_ids, device=env.device)
    return env.library.sample(ids, torch.zeros(len(clip_ids), device=env.device)).pos[:, 1, 0, 2].cpu()


def _tracking_columns(env: TrackingEnv, episodes: Episodes, i: int, clip_id: int,
                      fired: str = "termination_rule_fired") -> dict:
    """World i's outcome under the evaluation's rules (`success`, PHC's 0.5 m rule) and under the training's
    termination rules (`success_training_rule`: no rule fired before the clip's last frame, AssistMimic's success;
    `fired` names the metric of the rules judged), MPJPE (global, root-relative; mean over agents) and largest
    mean body error."""
    return {**_outcome(env, episodes, i, clip_id),
            "success_training_rule": float(episodes.peaks[fired][i]) < 0.5,
            "mpjpe_mm": _mean_mm(episodes, "body_pos_error_m", i),
            "mpjpe_local_mm": _mean_mm(episodes, "body_pos_error_local_m", i),
            "max_error_m": float(episodes.peaks["body_pos_error_m"][i])}


def _mean_mm(episodes: Episodes, name: str, i: int) -> float:
    """World i's mean of metric `name` (metres) over its tracked steps, in millimetres."""
    return 1000 * float(episodes.sums[name][i]) / max(int(episodes.steps[i]), 1)


def _phase_mean(episodes: Episodes, name: str, i: int) -> float | None:
    """World i's mean of metric `name` over its phase steps before the failure; None without any."""
    steps = int(episodes.phase_steps[i])
    return float(episodes.phase_sums[name][i]) / steps if steps else None


def contact_phase(clip: Clip, dt: float, steps: int) -> torch.Tensor:
    """(steps,) bool: at policy step t (reference time t·dt, nearest frame) a supporter hand of the
    reference touches the recipient (`clip_stats.hand_contact`)."""
    contact = hand_contact(clip, surface_gaps(clip))
    frames = np.minimum(np.rint(np.arange(steps) * dt * clip.fps).astype(int), clip.num_frames - 1)
    return torch.from_numpy(contact[frames])


def in_batches(num_clips: int, num_envs: int, evaluate: Callable[[list[int]], list[dict]], desc: str) -> list[dict]:
    """Rows of every clip, evaluated `num_envs` clips at a time."""
    batches = [list(range(i, min(i + num_envs, num_clips))) for i in range(0, num_clips, num_envs)]
    return [row for batch in tqdm(batches, desc=desc, unit="batch") for row in evaluate(batch)]


@dataclasses.dataclass(frozen=True)
class EvalWorld:
    """The simulated world policies are scored in: a run's robot, scene, simulator and recipient impairment
    (single-person priors are scored unimpaired), and the seed of its random generator."""

    robot: RobotConfig
    scene: SceneConfig
    sim: SimConfig
    impairment: ImpairmentConfig
    seed: int


@dataclasses.dataclass(frozen=True)
class EvalRules:
    """How two-agent policies are scored (`stage=eval`'s settings of the same names)."""

    failure_distance: float
    """A clip fails when the mean body position error of either agent exceeds this (m) at any frame."""
    fall_head_drop: float
    """A clip also fails when the recipient's head is this far (m) below the reference's head."""
    robustness: bool
    """Score once more with the recipient at `robust_mass_scale` x mass and `robust_gain_scale` x PD gains."""
    robust_mass_scale: float
    """Recipient mass factor of the robustness sweep."""
    robust_gain_scale: float
    """Recipient kp and kd factor of the robustness sweep."""
    passive_supporter: bool = False
    """Replace the supporter's policy by `PassiveSupporter` (the recipient-alone baseline)."""
    action_noise: float = 0.0
    """`NoisyActions`' scale of the policies' exploration noise (0: their mean actions)."""


class NoisyActions:
    """A policy's mean action plus `scale` times its exploration noise (std `policy.action_std()`), drawn from
    `generator`: scoring a policy the way it acted in training (scale 1) or anywhere between (`stage.action_noise`)."""

    def __init__(self, policy: ActorCritic, scale: float, generator: torch.Generator):
        self.policy, self.scale, self.generator = policy, scale, generator

    def act_deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        """(N, action_dim) actions for the observations (N, obs_dim)."""
        mean = self.policy.act_deterministic(obs)
        noise = torch.randn(mean.shape, generator=self.generator, device=mean.device, dtype=mean.dtype)
        return mean + self.scale * self.policy.action_std() * noise


def with_action_noise(policies: list[ActorCritic], scale: float, seed: int, device) -> list:
    """`policies` as they are (scale 0) or acting with `scale` x their exploration noise (`NoisyActions`), seeded."""
    if scale == 0.0:
        return policies
    generator = torch.Generator(device=device).manual_seed(seed)
    return [NoisyActions(policy, scale, generator) for policy in policies]


class PassiveSupporter:
    """A supporter that does not act: all its actions 0, so no grip, and PD targets of 0 (with residual actions:
    the reference's hinge angles, played open loop, without the policy's corrections)."""

    def __init__(self, action_dim: int):
        self.action_dim = action_dim

    def act_deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        """(N, action_dim) zeros for the observations (N, obs_dim)."""
        return obs.new_zeros(obs.shape[0], self.action_dim)


def tracking_eval_env(world: EvalWorld, metadata: dict, clips: list[Clip], num_envs: int,
                      root_assist: RootAssistConfig | None = None) -> TrackingEnv:
    """`num_envs` worlds of one unimpaired person for scoring a single-person prior (with its checkpoint's
    `metadata`) on `clips`: every clip from its first frame to its last, with no early termination. Scoring never
    holds the pelvis; `root_assist` (with a `decay_start` past the clips' ends) does, for the held-pelvis diagnostic
    (`benchmarks/held_pelvis.py`)."""
    backend = make_backend(make_single_person_scene(world.robot, world.scene, world.sim, clips), world.sim, num_envs)
    # The action semantics and the reference velocities must be the ones the policy was trained with (PHC's absolute
    # targets unless saved otherwise; unsmoothed velocities for checkpoints from before the setting).
    trained = metadata.get("env_config") or {}
    env_cfg = TrackingEnvConfig(early_termination=False, random_start=False,
                                max_episode_steps=max(c.num_frames for c in clips) + 1,
                                residual_actions=trained.get("residual_actions", False),
                                velocity_feedforward=trained.get("velocity_feedforward", False),
                                velocity_smoothing=trained.get("velocity_smoothing", LEGACY_DEFAULTS["velocity_smoothing"]),
                                root_assist=root_assist or RootAssistConfig())
    return TrackingEnv(backend, MotionLibrary(clips, backend.device), env_cfg,
                       torch.Generator(device=backend.device).manual_seed(world.seed))


def assist_eval_env(world: EvalWorld, trained: AssistEnvConfig, clips: list[Clip], num_envs: int) -> AssistEnv:
    """`num_envs` worlds of the impaired two-person scene of `world` for scoring policies trained with `trained`
    on `clips`: every clip from its first frame to its last, with no early termination."""
    backend = make_backend(make_scene(world.robot, world.scene, world.sim, world.impairment, clips), world.sim, num_envs)
    env_cfg = dataclasses.replace(trained, early_termination=False, random_start=False, root_assist=RootAssistConfig(),
                                  termination_curriculum=TerminationCurriculumConfig(),
                                  max_episode_steps=max(c.num_frames for c in clips) + 1)
    return AssistEnv(backend, MotionLibrary(clips, backend.device), env_cfg,
                     torch.Generator(device=backend.device).manual_seed(world.seed))


def evaluate_assist(world: EvalWorld, rules: EvalRules, checkpoint: Path, policies: list[ActorCritic], metadata: dict,
                    clips: list[Clip], num_envs: int, run_dir: Path, table: str, desc: str) -> dict:
    """Score two-agent `policies` (from `checkpoint`, with its `metadata`) on two-person `clips` in the impaired
    scene of `world`, `num_envs` clips at a time (at most all of them), by `rules`; with `rules.robustness`, once
    more with the recipient heavier and weaker. Writes `<table>.csv` (and `<table>_robustness.csv`) to `run_dir`,
    shows progress as `desc`, prints one line per sweep and returns `_assist_summary`'s dict (plus `robustness`)."""
    if rules.robustness and min(rules.robust_mass_scale, rules.robust_gain_scale) <= 0:
        raise UserInputError(f"stage.robust_mass_scale and stage.robust_gain_scale must be positive, got "
                             f"{rules.robust_mass_scale} and {rules.robust_gain_scale}")
    num_envs = min(num_envs, len(clips))
    env = assist_eval_env(world, trained_assist_config(checkpoint, metadata), clips, num_envs)
    check_policies(checkpoint, policies, env, "assist")
    policies = with_action_noise([policy.to(env.device) for policy in policies], rules.action_noise, world.seed,
                                 env.device)
    judged = ROLES
    if rules.passive_supporter:
        policies[0] = PassiveSupporter(env.action_dims[0])
        judged = ("recipient",)
    horizon = max(c.num_frames for c in clips)
    contact = torch.stack([contact_phase(clip, env.dt, horizon) for clip in clips])

    def evaluate(batch: list[int]) -> list[dict]:
        return evaluate_assist_clips(env, policies, batch, rules.failure_distance, rules.fall_head_drop, contact[batch],
                                     judged)

    rows = in_batches(len(clips), num_envs, evaluate, desc)
    write_table(run_dir / f"{table}.csv", rows)
    summary = _assist_summary(rows)
    print(_assist_line(summary))
    if rules.robustness:
        gain = _recipient_scale(num_envs, rules.robust_gain_scale, env.device)
        env.backend.set_world_params(torch.arange(num_envs, device=env.device),
                                     _recipient_scale(num_envs, rules.robust_mass_scale, env.device), gain, gain)
        robust_rows = in_batches(len(clips), num_envs, evaluate, "robustness")
        write_table(run_dir / f"{table}_robustness.csv", robust_rows)
        summary["robustness"] = {"recipient_mass_scale": rules.robust_mass_scale,
                                 "recipient_gain_scale": rules.robust_gain_scale, **_assist_summary(robust_rows)}
        print(f"robustness (recipient {rules.robust_mass_scale:g}x mass, {rules.robust_gain_scale:g}x PD gains): "
              + _assist_line(summary["robustness"]))
    env.close()
    return summary


def _recipient_scale(num_envs: int, factor: float, device: torch.device) -> torch.Tensor:
    """(num_envs, 2) per-world, per-agent scales on `device`: 1 for the supporter, `factor` for the recipient."""
    return torch.tensor([[1.0, factor]], device=device).expand(num_envs, 2)


def mean_of(rows: list[dict], key: str) -> float | None:
    """The mean of column `key` over the `rows` that have a value there (not None); None where none has."""
    values = [r[key] for r in rows if r[key] is not None]
    return sum(values) / len(values) if values else None


def tracked_clip_errors(rows: list[dict]) -> dict:
    """MPJPE (global and root-relative, mm) over the clips tracked to their end by the 0.5 m rule alone (PHC's
    "succ" figures; the all-clip means count the frames after a failure, when the body lies on the floor while
    the reference moves on), with their count."""
    tracked = [r for r in rows if r["success"]]
    return {"clips_tracked": len(tracked), "mpjpe_tracked_mm": mean_of(tracked, "mpjpe_mm"),
            "mpjpe_local_tracked_mm": mean_of(tracked, "mpjpe_local_mm")}


def _assist_summary(rows: list[dict]) -> dict:
    """Overall numbers of two-agent rows: rates and errors averaged over clips (contact and support force
    over the clips with contact-phase steps), the peak torque of all clips."""
    return {"clips": len(rows), "success_rate": sum(r["success"] for r in rows) / len(rows),
            "success_rate_training_rule": sum(r["success_training_rule"] for r in rows) / len(rows),
            "mpjpe_mm": mean_of(rows, "mpjpe_mm"),
            **{f"{role}_mpjpe_mm": mean_of(rows, f"{role}_mpjpe_mm") for role in ROLES},
            "mpjpe_local_mm": mean_of(rows, "mpjpe_local_mm"), **tracked_clip_errors(rows),
            "clips_with_contact": sum(r["contact_rate"] is not None for r in rows),
            "contact_rate": mean_of(rows, "contact_rate"), **{force: mean_of(rows, force) for force in SUPPORT_FORCES},
            "grip_L": mean_of(rows, "grip_L"), "grip_R": mean_of(rows, "grip_R"),
            "recipient_lift_m": mean_of(rows, "recipient_lift_m"), "reference_lift_m": mean_of(rows, "reference_lift_m"),
            "peak_torque_nm": max(r["peak_torque_nm"] for r in rows),
            "per_clip": rows}


def _assist_line(summary: dict) -> str:
    """One printed line of an `_assist_summary`."""
    def number(key: str, spec: str) -> str:
        return "n/a" if summary[key] is None else format(summary[key], spec)

    return (f"success rate {summary['success_rate']:.3f} over {summary['clips']} clip(s) "
            f"({summary['success_rate_training_rule']:.3f} by the training's termination rule); MPJPE {summary['mpjpe_mm']:.1f} mm "
            f"(supporter {summary['supporter_mpjpe_mm']:.1f}, recipient {summary['recipient_mpjpe_mm']:.1f}; "
            f"{_tracked_text(summary)}); "
            f"{_contact_text(summary)}; "
            f"support force {number('support_force_z_n', '.1f')} N (whole body "
            f"{number('whole_body_support_force_z_n', '.1f')} N); recipient lift {summary['recipient_lift_m']:.2f} m "
            f"(reference {summary['reference_lift_m']:.2f} m); peak torque {summary['peak_torque_nm']:.0f} N m")


def _tracked_text(summary: dict) -> str:
    """The tracked-clip part of `_assist_line`: MPJPE over the clips tracked to their end, or that none was."""
    if summary["mpjpe_tracked_mm"] is None:
        return "no clip tracked"
    return f"{summary['mpjpe_tracked_mm']:.1f} mm over the {summary['clips_tracked']} tracked"


def _contact_text(summary: dict) -> str:
    """The contact part of `_assist_line`: how many of the reference's contact steps had simulated hand contact."""
    if summary["contact_rate"] is None:
        return "no clip has a contact phase"
    return (f"hand contact in {summary['contact_rate']:.1%} of the reference's contact steps "
            f"({summary['clips_with_contact']} clip(s) with a contact phase)")


def write_table(path: Path, rows: list[dict]) -> None:
    """`rows` as a CSV file, one column per key of the first row (floats to 4 significant digits)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.4g}" if isinstance(v, float) and not math.isnan(v) else v) for k, v in row.items()})
