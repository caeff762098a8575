"""Config schemas of the environments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assistmimic.limits import Limits, at_least, between, limits
from assistmimic.stored_config import from_stored
from motion_lib.errors import UserInputError


@dataclass
class RewardTerm:
    """One reward term of an agent: its weight and the params of its function (`assistmimic/envs/rewards.py`)."""

    weight: float = 0.0
    """Weight in the agent's reward; 0 switches the term off (it is then not computed)."""
    params: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the term's function (kernel sharpness, distances, thresholds): all of them, except those
    the function gives a default (params added later, which older checkpoints lack)."""

    @classmethod
    def of(cls, name: str, value: Any) -> RewardTerm:
        """A term given as a `RewardTerm` or as a mapping {weight, params} (a term added on the command line)."""
        if isinstance(value, RewardTerm):
            return value
        if not isinstance(value, Mapping) or set(value) - {"weight", "params"}:
            raise UserInputError(f"reward term '{name}' must be {{weight: <number>, params: {{...}}}}, got {value!r}")
        return cls(float(value.get("weight", 0.0)), dict(value.get("params") or {}))


def _tracking_rewards(power_weight: float = -0.0005) -> dict[str, RewardTerm]:
    """PHC's tracking terms as AssistMimic's code computes them: errors averaged over x, y, z and bodies, no power
    penalty in the first 3 steps after a reset (REFERENCE §1b)."""
    return {
        "body_pos": RewardTerm(0.5, {"sharpness": 100.0, "average_xyz": True}),
        "body_rot": RewardTerm(0.3, {"sharpness": 10.0}),
        "body_lin_vel": RewardTerm(0.1, {"sharpness": 0.1, "average_xyz": True}),
        "body_ang_vel": RewardTerm(0.1, {"sharpness": 0.1, "average_xyz": True}),
        "power": RewardTerm(power_weight, {"grace_steps": 3}),
    }


CORE_BODIES = ["Pelvis", "L_Hip", "R_Hip", "Torso", "Spine", "Chest", "Neck", "Head", "L_Thorax", "R_Thorax",
               "L_Shoulder", "R_Shoulder", "L_Knee", "R_Knee", "L_Ankle", "R_Ankle"]
"""AssistMimic's `reset_bodies`: no elbows, wrists, hands or toes."""


def _terminations() -> dict[str, dict[str, Any]]:
    """AssistMimic's rule: the mean error of the core bodies above 0.25 m, after the first step."""
    return {"mean_body_far": {"distance": 0.25, "bodies": list(CORE_BODIES), "grace_steps": 1}}


@dataclass
class RootAssistConfig:
    """A training aid (`envs/root_assist.py`, AssistMimic's `recipient_assist`): a PD wrench pulling the pelvis of
    each of `agents` toward its reference, its gains falling linearly to 0 over training. Evaluation never applies it."""

    agents: list[int] = field(default_factory=list, metadata=limits(item=Limits(min=0, max=1)))
    """Agents whose pelvis is held (0: the prior's person or the supporter, 1: the recipient); empty: off."""
    kp: float = field(default=1000.0, metadata=at_least(0.0))
    """Position gain (N/m); the public code's curriculum starts at 1000-3000."""
    kd: float = field(default=100.0, metadata=at_least(0.0))
    """Velocity gain (N·s/m)."""
    kp_rot: float = field(default=0.0, metadata=at_least(0.0))
    """Orientation gain (N·m/rad): holds the pelvis upright too (the public code has none)."""
    kd_rot: float = field(default=0.0, metadata=at_least(0.0))
    """Angular velocity gain (N·m·s/rad). The torque is held over a policy step and the pelvis alone is light: above
    about 20 the damping overshoots and worlds diverge (measured with 16 worlds: 0 at 20, 85 of 960 world-steps at 50)."""
    decay_start: int = field(default=200, metadata=at_least(0))
    """Training iteration at which the gains start to fall (public code: epoch 200)."""
    decay_iterations: int = field(default=1000, metadata=at_least(0))
    """Iterations over which they fall to 0 (public code: 1000)."""


@dataclass
class TerminationCurriculumConfig:
    """A training aid: every termination rule's `distance` widened `distance_scale` times at first, narrowing linearly
    to the configured distance between the training iterations `decay_start` and `decay_start + decay_iterations`.
    The configured rule ends an episode as soon as the body is that far behind, so a policy never practises catching
    up with a reference it has fallen behind (e.g. one that accelerates from standing); a wider rule lets it, and
    the narrowing brings back the precise tracking the rule asks for. Evaluation always judges by the configured
    distances."""

    distance_scale: float = field(default=1.0, metadata=at_least(1.0))
    """Factor on the rules' distances until `decay_start` (1: off)."""
    decay_start: int = field(default=0, metadata=at_least(0))
    """Training iteration at which the factor starts to fall toward 1."""
    decay_iterations: int = field(default=0, metadata=at_least(0))
    """Iterations over which it falls to 1 (0: at once)."""


@dataclass
class ClipSamplingConfig:
    """How training draws the clip of each new episode (`MotionLibrary.set_clip_sampling`): a uniform share, the rest
    in proportion to each clip's recent failure rate, so hard clips are practised more without the draw running
    away to the few that always fail. Evaluation tries every clip once and does not draw."""

    uniform_share: float = field(default=0.2, metadata=between(0.0, 1.0))
    """Share of the probability spread evenly over the clips (1: uniform sampling)."""
    outcome_weight: float = field(default=0.1, metadata=limits(above=0.0, max=1.0))
    """How much one episode's outcome moves its clip's failure rate (an average over about 1 / this many episodes)."""


@dataclass
class TrackingEnvConfig:
    rewards: dict[str, Any] = field(default_factory=_tracking_rewards)
    """Each reward term's weight and params, a `RewardTerm` {weight, params} (`assistmimic/envs/rewards.py`); weight 0
    switches a term off. (Typed Any so that a term can be added on the command line: `+stage.env.rewards.x={...}`.)"""
    terminations: dict[str, dict[str, Any]] = field(default_factory=_terminations)
    """Active termination rules and their params (`assistmimic/envs/terminations.py`): an episode ends
    (terminated) when any fires for any agent. Remove one with `~stage.env.terminations.<rule>`."""
    termination_curriculum: TerminationCurriculumConfig = field(default_factory=TerminationCurriculumConfig)
    """Training aid: the rules' distances widened at first and narrowed to the configured ones over training."""
    early_termination: bool = True
    """Apply `terminations`; evaluation turns them off and applies its own rules."""
    max_episode_steps: int = field(default=300, metadata=at_least(1))
    """Episodes are truncated after this many policy steps (or at the clip's end)."""
    amp_steps: int = field(default=10, metadata=at_least(1))
    """Policy steps in one AMP observation history."""
    random_start: bool = True
    """Reference state initialisation at a random time of the clip (else at its start)."""
    first_frame_share: float = field(default=0.0, metadata=between(0, 1))
    """With `random_start`, this share of episodes starts at the clip's first frame instead, as evaluation does
    (DeepMimic's hybrid state initialisation): a random start mid-clip begins on the reference, so only episodes from
    the first frame practise the whole of a clip's opening, e.g. accelerating from standing without falling behind."""
    residual_actions: bool = False
    """PD target = reference hinge angles + scale * action (else PHC's absolute target = scale * action).
    Residual targets make a policy that outputs 0 follow the clip kinematically, so learning starts far
    faster; PHC checkpoints need False."""
    velocity_feedforward: bool = False
    """With `residual_actions`: the PD targets lead the reference by each hinge's kd/kp (0.1 s with PHC's gains) times
    the reference's hinge speed, so that a policy outputting 0 applies kp (q_ref - q) + kd (qdot_ref - qdot), tracking
    the reference's joint speeds too, instead of kp (q_ref - q) - kd qdot, whose damping drags every moving joint
    toward rest (PHC and AssistMimic: target speed 0; the policy has to learn that lead itself)."""
    root_assist: RootAssistConfig = field(default_factory=RootAssistConfig)
    """Training aid: a decaying PD wrench on the pelvis of chosen agents (off unless `root_assist.agents` is set)."""
    velocity_smoothing: float = field(default=2.0, metadata=at_least(0.0))
    """Standard deviation (frames) of the Gaussian that smooths the reference velocities (bodies and the hinge speeds a
    reset starts from) within each clip, as PHC's motion library (2); 0: forward differences. A checkpoint's stored
    config without this key is from before it existed and is read with 0, as it was trained."""
    clip_sampling: ClipSamplingConfig = field(default_factory=ClipSamplingConfig)
    """How each new episode's clip is drawn (by recent failure rates, with a uniform share)."""
    sync_free_resets: bool | None = None
    """Reset the ended worlds by mask: every step draws a new start for every world and keeps it where an
    episode ended, so a step never waits for the host (a GPU stays busy). False resets only the ended worlds,
    found by id (one host sync per step; less work, the better choice on a CPU). None: True on a GPU."""

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "the config"):
        """The config stored as a plain dict (`dataclasses.asdict`, e.g. a checkpoint's metadata), checked against
        the schema: unknown keys or wrong types are one error naming `where`. Settings added since keep what
        configs stored before them meant (`LEGACY_DEFAULTS`)."""
        return from_stored(cls, {**LEGACY_DEFAULTS, **raw}, where, "env_config")


LEGACY_DEFAULTS = {"velocity_smoothing": 0.0}
"""Env settings whose meaning for a config stored before they existed differs from their default: such a checkpoint was
trained without the feature (unsmoothed reference velocities)."""


_CONTACT_PARAMS = {"scale": 0.5, "decay": 2.5, "saturation_n": 1.0, "bonus": 0.05}


def _supporter_rewards() -> dict[str, RewardTerm]:
    return {**_tracking_rewards(), "contact": RewardTerm(1.0, dict(_CONTACT_PARAMS)),
            "lift": RewardTerm(0.5, {"saturation_n": 200.0, "pressing_weight": 0.0}),
            "head_height": RewardTerm(1.0, {"max_height": 2.0})}


def _recipient_rewards() -> dict[str, RewardTerm]:
    return {**_tracking_rewards(power_weight=-0.001), "contact": RewardTerm(0.0, dict(_CONTACT_PARAMS)),
            "head_height": RewardTerm(1.0, {"max_height": 2.0})}


@dataclass
class AssistEnvConfig(TrackingEnvConfig):
    """The two-person assist task (REFERENCE §1). `rewards` are the supporter's weights (agent 0)."""

    rewards: dict[str, Any] = field(default_factory=_supporter_rewards)
    """Supporter's reward terms: the tracking terms, `contact` (contact facilitation), `lift` (the upward force its
    hands and grips put on the recipient; not in AssistMimic, whose contact term pays for pressing as much as for
    lifting) and `head_height` (the recipient's head height, clamped); weight 0 switches a term off."""
    recipient_rewards: dict[str, Any] = field(default_factory=_recipient_rewards)
    """Recipient's reward terms (public code: a power penalty of 0.001 instead of 0.0005)."""
    altruism: float = field(default=0.5, metadata=between(0.0, 1.0))
    """Supporter's task reward = (1 - altruism) * own + altruism * recipient's; the recipient keeps its own."""
    contact_facilitation: bool = True
    """Ablation switch: False drops the `contact` and `lift` terms and keeps tracking the supporter's hands everywhere."""
    contact_distance: float = field(default=0.4, metadata=at_least(0.0))
    """A supporter wrist within this distance (m) of a recipient upper-body joint is 'near': its hand bodies
    leave the tracking terms and the termination check, and the contact reward applies."""
    redirection: bool = True
    """Ablation switch: dynamic reference redirection of the supporter's hand targets."""
    redirection_distance: float = field(default=1.3, metadata=at_least(0.0))
    """Redirection acts while the two roots are at most this far apart (m)."""
