"""Config schemas of the learning core: the policy network, the PPO update and the AMP discriminator.

Defaults are AssistMimic's / PHC's numbers (REFERENCE §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistmimic.limits import Limits, above, at_least, between, each_at_least, limits

DEFAULT_ADAM_BETAS = (0.9, 0.999)
"""torch's Adam decay rates of the first and second moments."""


@dataclass
class PolicyConfig:
    actor_hidden: list[int] = field(default_factory=lambda: [2048, 1536, 1024, 1024, 512, 512],
                                    metadata=each_at_least(1, min_items=1))
    """Hidden layer sizes of the actor MLP (PHC's)."""
    critic_hidden: list[int] = field(default_factory=lambda: [2048, 1536, 1024, 1024, 512, 512],
                                     metadata=each_at_least(1, min_items=1))
    """Hidden layer sizes of the separate critic MLP."""
    activation: str = "silu"
    """Hidden-layer activation: "silu", "relu", "elu" or "tanh"."""
    init_log_std: float = -2.9
    """Initial log standard deviation of every action dimension. With a fixed std (`learn_log_std` False) a resumed
    run may change it: the exploration noise then becomes exp(init_log_std) from the first iteration on."""
    learn_log_std: bool = False
    """Train the log standard deviation (a parameter); False keeps it fixed (a buffer), as PHC does."""
    mu_init_scale: float = field(default=1.0, metadata=at_least(0))
    """Scale of the action-mean layer's initial weights (its bias starts at 0); e.g. 0.01 starts with actions near 0."""


@dataclass
class PPOConfig:
    horizon: int = field(default=32, metadata=at_least(1))
    """Environment steps per environment in one rollout."""
    minibatch_size: int = field(default=8192, metadata=at_least(1))
    """Samples per gradient step; horizon x num_envs must be a multiple of it."""
    num_epochs: int = field(default=6, metadata=at_least(1))
    """Passes over the rollout per update (mini-epochs)."""
    learning_rate: float = field(default=5e-6, metadata=above(0))
    """Adam learning rate (the start value for the "linear" and "adaptive_kl" schedules)."""
    lr_schedule: str = "constant"
    """"constant", "linear" (decays to `min_learning_rate` over training) or "adaptive_kl"."""
    desired_kl: float = field(default=0.008, metadata=above(0))
    """Target KL of the "adaptive_kl" schedule: the rate is divided by 1.5 above 2x this, multiplied by 1.5 below 0.5x."""
    min_learning_rate: float = field(default=1e-6, metadata=at_least(0))
    """Lower bound of the "linear" and "adaptive_kl" schedules."""
    max_learning_rate: float = field(default=1e-2, metadata=above(0))
    """Upper bound of the "adaptive_kl" schedule."""
    gamma: float = field(default=0.99, metadata=between(0, 1))
    """Discount factor."""
    gae_lambda: float = field(default=0.95, metadata=between(0, 1))
    """GAE lambda."""
    clip_ratio: float = field(default=0.2, metadata=above(0))
    """PPO clipping range of the probability ratio (and of the value change when `clip_value`)."""
    clip_value: bool = False
    """Clip the value prediction's change like the ratio (PHC: False)."""
    critic_coef: float = field(default=5.0, metadata=at_least(0))
    """Weight of the value loss; the loss term is 0.5 * critic_coef * (V - R)^2 as in rl_games."""
    entropy_coef: float = field(default=0.0, metadata=at_least(0))
    """Weight of the entropy bonus."""
    bounds_loss_coef: float = field(default=10.0, metadata=at_least(0))
    """Weight of the penalty on action means beyond +-`bounds_soft_limit`."""
    bounds_soft_limit: float = field(default=1.1, metadata=above(0))
    """|mean action| above which the bounds loss grows quadratically (rl_games: 1.1)."""
    max_grad_norm: float = field(default=50.0, metadata=above(0))
    """Gradient norm clipping threshold (PHC: 50)."""
    adam_betas: list[float] = field(default_factory=lambda: list(DEFAULT_ADAM_BETAS),
                                    metadata=limits(length=2, item=Limits(min=0.0, below=1.0)))
    """Adam's decay rates of its first and second moments (torch's defaults, `DEFAULT_ADAM_BETAS`). Equal ones (e.g. [0.99, 0.99]) keep a
    step's size bounded when the gradients' scale changes suddenly (Dohare et al. 2023, "Overcoming policy collapse in
    deep reinforcement learning"); may be changed when a run resumes (the moments are kept)."""
    normalize_advantage: bool = True
    """Standardise advantages within each minibatch."""
    normalize_value: bool = False
    """rl_games' normalize_value (PHC and AssistMimic: True): the value loss compares the critic's values with the
    returns both standardised by running statistics of the rollouts' values and returns (targets clipped to +-5), so
    the critic's gradient does not grow with the returns and does not outweigh the actor's under `max_grad_norm`.
    The critic still outputs reward units (GAE reads them unchanged). Not for batched experts."""


@dataclass
class AMPConfig:
    num_steps: int = field(default=10, metadata=at_least(1))
    """Consecutive AMP observations the discriminator sees (flattened)."""
    hidden: list[int] = field(default_factory=lambda: [1024, 512], metadata=each_at_least(1, min_items=1))
    """Hidden layer sizes of the discriminator MLP."""
    activation: str = "relu"
    """Hidden-layer activation: "silu", "relu", "elu" or "tanh"."""
    learning_rate: float = field(default=5e-6, metadata=above(0))
    """Adam learning rate of the discriminator."""
    grad_penalty: float = field(default=5.0, metadata=at_least(0))
    """Weight of the gradient penalty on real samples, mean over samples of |grad_x D|^2."""
    logit_reg: float = field(default=0.01, metadata=at_least(0))
    """Weight of the squared weights of the last (logit) layer."""
    weight_decay: float = field(default=1e-4, metadata=at_least(0))
    """Weight of the squared weights of all discriminator layers."""
    reward_scale: float = field(default=2.0, metadata=at_least(0))
    """AMP reward = reward_scale * max(0, 1 - 0.25 * (D - 1)^2)."""
    replay_size: int = field(default=200000, metadata=at_least(1))
    """Capacity of the replay buffer of agent AMP observations."""


@dataclass
class RunnerConfig:
    max_iterations: int = field(default=10000, metadata=at_least(1))
    """Training iterations (rollout + updates) of the run; a resumed run continues up to this number."""
    save_interval: int = field(default=100, metadata=at_least(1))
    """Write a checkpoint `model_<iteration>.pt` every this many iterations (and after the last one)."""
    keep_checkpoints: int = field(default=5, metadata=at_least(1))
    """How many of the newest `model_<iteration>.pt` files to keep (older ones are deleted); `last.pt` always holds the newest."""
    log_interval: int = field(default=1, metadata=at_least(1))
    """Write the scalars to metrics.jsonl and TensorBoard every this many iterations (and after the last one)."""
    task_reward_weight: float = 0.5
    """Weight of the environment's (task) reward in the reward PPO optimises: w_task * task + w_amp * style."""
    amp_reward_weight: float = 0.5
    """Weight of the AMP style reward in that sum (unused while AMP is off)."""
    anchor_checkpoint: str | None = None
    """A checkpoint whose policies (one per agent, with their own normalisers, frozen) the trained policies are held
    near: each PPO update adds `anchor_kl_coef` x the mean part of KL(anchor || policy) at the rollout's observations,
    sum over action dimensions of (mean - anchor mean)^2 / (2 std^2). For a continuation that should keep what it
    starts from (the prior's continuations drift off in pose: `benchmarks/RESULTS.md`, thirty-fourth section). None: off."""
    anchor_families: dict[str, str] = field(default_factory=dict)
    """{motion family: checkpoint}: worlds tracking a clip of that family (`VecEnv.world_families`, e.g. the generated
    clips' `broad_jump`) are held near that checkpoint's policies instead of `anchor_checkpoint`'s, by the same
    `anchor_kl_coef`: a continuation that keeps its start on every other family and is taught one family by a
    specialist (a run continued on that family). Needs `anchor_checkpoint`; empty: one anchor for every world."""
    anchor_kl_coef: float = field(default=0.0, metadata=at_least(0))
    """Weight of that KL in the loss (with normalised advantages the surrogate's changes per update are of the order
    of the update's KL, about 0.01); needs `anchor_checkpoint`. 0 with a checkpoint: the KL is only logged
    (`ppo/agent<a>/anchor_kl`), how far a run moves from that checkpoint."""
    amp_enabled: bool = True
    """Train an AMP discriminator per agent and add its style reward; off anyway when the env gives no AMP observations."""
    amp_batch_size: int = field(default=4096, metadata=at_least(1))
    """Reference (real) and agent (fake) AMP histories in each discriminator step (PHC's amp_minibatch_size)."""
    amp_updates_per_iteration: int = field(default=24, metadata=at_least(1))
    """Discriminator steps per iteration (PHC/AssistMimic take one per PPO minibatch: 6 epochs x 4 minibatches)."""
    sequential_period: int = field(default=0, metadata=at_least(0))
    """0: joint training (every agent learns every iteration). k > 0: sequential training (an ablation): agents
    take turns of k iterations, starting with agent 0; the others act with frozen policies and discriminators."""
    update_threads: int | None = field(default=0, metadata=at_least(0))
    """torch threads for the updates when training on the CPU (the cores the simulator used while collecting are
    idle then): 0: the cores of this process's share (os.cpu_count() / LOCAL_WORLD_SIZE under torchrun); None: leave
    torch's setting (`sim.torch_threads`) alone; n: n threads. Collection always runs with `sim.torch_threads`."""
    parallel_updates: bool = True
    """On a CPU, run the update jobs (each agent's PPO update and its AMP steps) in parallel threads, the update
    threads shared out among them: on 2 cores about 1.5-2x faster than one job after another with both cores (one
    small network's update does not keep two cores busy). Results are identical either way for the same threads
    per job. Off under torchrun, on a GPU, and with one update thread."""
    seed: int = field(default=0, metadata=between(0, 2**32 - 1))
    """Seed of torch, numpy and Python's `random`, set when the runner is built; resuming restores the saved state instead."""
