"""Config schemas of the learning core: the policy network, the PPO update and the AMP discriminator.

Defaults are AssistMimic's / PHC's numbers (REFERENCE §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PolicyConfig:
    actor_hidden: list[int] = field(default_factory=lambda: [2048, 1536, 1024, 1024, 512, 512])
    """Hidden layer sizes of the actor MLP (PHC's)."""
    critic_hidden: list[int] = field(default_factory=lambda: [2048, 1536, 1024, 1024, 512, 512])
    """Hidden layer sizes of the separate critic MLP."""
    activation: str = "silu"
    """Hidden-layer activation: "silu", "relu", "elu" or "tanh"."""
    init_log_std: float = -2.9
    """Initial log standard deviation of every action dimension."""
    learn_log_std: bool = False
    """Train the log standard deviation (a parameter); False keeps it fixed (a buffer), as PHC does."""


@dataclass
class PPOConfig:
    horizon: int = 32
    """Environment steps per environment in one rollout."""
    minibatch_size: int = 8192
    """Samples per gradient step; horizon x num_envs must be a multiple of it."""
    num_epochs: int = 6
    """Passes over the rollout per update (mini-epochs)."""
    learning_rate: float = 5e-6
    """Adam learning rate (the start value for the "linear" and "adaptive_kl" schedules)."""
    lr_schedule: str = "constant"
    """"constant", "linear" (decays to `min_learning_rate` over training) or "adaptive_kl"."""
    desired_kl: float = 0.008
    """Target KL of the "adaptive_kl" schedule: the rate is divided by 1.5 above 2x this, multiplied by 1.5 below 0.5x."""
    min_learning_rate: float = 1e-6
    """Lower bound of the "linear" and "adaptive_kl" schedules."""
    max_learning_rate: float = 1e-2
    """Upper bound of the "adaptive_kl" schedule."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    clip_ratio: float = 0.2
    """PPO clipping range of the probability ratio (and of the value change when `clip_value`)."""
    clip_value: bool = False
    """Clip the value prediction's change like the ratio (PHC: False)."""
    critic_coef: float = 5.0
    """Weight of the value loss; the loss term is 0.5 * critic_coef * (V - R)^2 as in rl_games."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""
    bounds_loss_coef: float = 10.0
    """Weight of the penalty on action means beyond +-`bounds_soft_limit`."""
    bounds_soft_limit: float = 1.1
    """|mean action| above which the bounds loss grows quadratically (rl_games: 1.1)."""
    max_grad_norm: float = 50.0
    """Gradient norm clipping threshold (PHC: 50)."""
    normalize_advantage: bool = True
    """Standardise advantages within each minibatch."""


@dataclass
class AMPConfig:
    num_steps: int = 10
    """Consecutive AMP observations the discriminator sees (flattened)."""
    hidden: list[int] = field(default_factory=lambda: [1024, 512])
    """Hidden layer sizes of the discriminator MLP."""
    activation: str = "relu"
    """Hidden-layer activation: "silu", "relu", "elu" or "tanh"."""
    learning_rate: float = 5e-6
    """Adam learning rate of the discriminator."""
    grad_penalty: float = 5.0
    """Weight of the gradient penalty on real samples, mean over samples of |grad_x D|^2."""
    logit_reg: float = 0.01
    """Weight of the squared weights of the last (logit) layer."""
    weight_decay: float = 1e-4
    """Weight of the squared weights of all discriminator layers."""
    reward_scale: float = 2.0
    """AMP reward = reward_scale * max(0, 1 - 0.25 * (D - 1)^2)."""
    replay_size: int = 200000
    """Capacity of the replay buffer of agent AMP observations."""
