"""Config schemas of the environments."""

from __future__ import annotations

from dataclasses import dataclass, field


def _tracking_reward_weights() -> dict[str, float]:
    return {"body_pos": 0.5, "body_rot": 0.3, "body_lin_vel": 0.1, "body_ang_vel": 0.1, "power": -0.0005}


@dataclass
class TrackingEnvConfig:
    rewards: dict[str, float] = field(default_factory=_tracking_reward_weights)
    """Weight of each tracking reward term (assistmimic/envs/rewards.py); 0 switches a term off."""
    termination_distance: float = 0.25
    """Training episodes end (terminated) when any body is farther than this from its reference (m)."""
    early_termination: bool = True
    """End episodes on the tracking error above; evaluation turns it off and applies the 0.5 m rule."""
    max_episode_steps: int = 300
    """Episodes are truncated after this many policy steps (or at the clip's end)."""
    amp_steps: int = 10
    """Policy steps in one AMP observation history."""
    random_start: bool = True
    """Reference state initialisation at a random time of the clip (else at its start)."""
    residual_actions: bool = False
    """PD target = reference hinge angles + scale * action (else PHC's absolute target = scale * action).
    Residual targets make a policy that outputs 0 follow the clip kinematically, so learning starts far
    faster; PHC checkpoints need False."""
    sync_free_resets: bool | None = None
    """Reset the ended worlds by mask: every step draws a new start for every world and keeps it where an
    episode ended, so a step never waits for the host (a GPU stays busy). False resets only the ended worlds,
    found by id (one host sync per step; less work, the better choice on a CPU). None: True on a GPU."""


def _supporter_reward_weights() -> dict[str, float]:
    return {**_tracking_reward_weights(), "contact": 1.0, "head_height": 0.1}


def _recipient_reward_weights() -> dict[str, float]:
    return {**_tracking_reward_weights(), "power": -0.001, "contact": 0.0, "head_height": 0.1}


@dataclass
class AssistEnvConfig(TrackingEnvConfig):
    """The two-person assist task (REFERENCE §1). `rewards` are the supporter's weights (agent 0)."""

    rewards: dict[str, float] = field(default_factory=_supporter_reward_weights)
    """Supporter's weight of each reward term: the tracking terms, `contact` (contact facilitation) and
    `head_height` (the recipient's head height, clamped to [0, 2] m); 0 switches a term off."""
    recipient_rewards: dict[str, float] = field(default_factory=_recipient_reward_weights)
    """Recipient's weight of each reward term (public code: a power penalty of 0.001 instead of 0.0005)."""
    altruism: float = 0.5
    """Supporter's task reward = (1 - altruism) * own + altruism * recipient's; the recipient keeps its own."""
    contact_facilitation: bool = True
    """Ablation switch: False drops the contact reward and keeps tracking the supporter's hands everywhere."""
    contact_distance: float = 0.4
    """A supporter wrist within this distance (m) of a recipient upper-body joint is 'near': its hand bodies
    leave the tracking terms and the termination check, and the contact reward applies."""
    redirection: bool = True
    """Ablation switch: dynamic reference redirection of the supporter's hand targets."""
    redirection_distance: float = 1.3
    """Redirection acts while the two roots are at most this far apart (m)."""
