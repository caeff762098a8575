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
