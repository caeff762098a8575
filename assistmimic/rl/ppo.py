"""PPO update (clipped surrogate, value loss, rl_games' bounds loss, entropy bonus) with one Adam optimiser.

The loss of one minibatch is
    surrogate + 0.5 * critic_coef * value_loss - entropy_coef * entropy + bounds_loss_coef * bounds_loss
    (+ target_weight * target_loss, the squared error of the mean action to the storage's target actions,
     or + anchor_kl_coef * anchor_kl, the mean part of the KL from the Gaussian around those target actions, an
     anchor policy's means, to the policy: `anchor_kl`).
With `update_actor=False` only the value loss is optimised (a critic warm-up).
With `normalize_value` the value loss is that of values and returns standardised by running statistics (one
feature, updated from each rollout's values and returns before its update, as rl_games does).
The storage holds raw observations: update the policy's normalisers from a rollout after the
update that uses it, so the stored log-probabilities stay those of the normaliser they were taken with.
Under torchrun each rank runs the update on its own rollout: the gradients are averaged over the ranks before
clipping and each minibatch's KL is averaged before the adaptive learning-rate rule, so every rank takes the
same step (advantages are normalised per rank's minibatch).
The statistics are summed on the policy's device and read once per update (on a GPU, a read is a host sync).
"""

from __future__ import annotations

from collections import defaultdict

import torch

from assistmimic.rl import distributed
from assistmimic.rl.config import PPOConfig
from assistmimic.rl.normalizer import RunningMeanStd
from assistmimic.rl.optim import make_adam
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.storage import RolloutStorage
from motion_lib.errors import UserInputError

LR_SCHEDULES = ("constant", "linear", "adaptive_kl")


def surrogate_loss(log_probs: torch.Tensor, old_log_probs: torch.Tensor, advantages: torch.Tensor,
                   clip_ratio: float) -> torch.Tensor:
    """Negative clipped PPO objective, averaged."""
    ratio = torch.exp(log_probs - old_log_probs)
    clipped = ratio.clamp(1.0 - clip_ratio, 1.0 + clip_ratio)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, clip_range: float | None
               ) -> torch.Tensor:
    """Mean squared error to the returns; with `clip_range`, the worse of the clipped and unclipped prediction."""
    loss = (values - returns).square()
    if clip_range is not None:
        clipped = old_values + (values - old_values).clamp(-clip_range, clip_range)
        loss = torch.max(loss, (clipped - returns).square())
    return loss.mean()


def bounds_loss(mu: torch.Tensor, soft_limit: float) -> torch.Tensor:
    """Squared excess of the mean actions beyond +-soft_limit, summed over dimensions, averaged over samples."""
    excess = (mu - soft_limit).clamp(min=0.0) + (mu + soft_limit).clamp(max=0.0)
    return excess.square().sum(-1).mean()


def gaussian_kl(mu_old: torch.Tensor, sigma_old: torch.Tensor, mu_new: torch.Tensor, sigma_new: torch.Tensor
                ) -> torch.Tensor:
    """KL(old || new) of diagonal Gaussians, summed over the last dimension."""
    kl = (torch.log(sigma_new / sigma_old) + (sigma_old.square() + (mu_old - mu_new).square())
          / (2.0 * sigma_new.square()) - 0.5)
    return kl.sum(-1)


def anchor_kl(mu: torch.Tensor, anchor_mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Mean over samples of sum over action dimensions of (mu - anchor_mu)^2 / (2 sigma^2): KL(anchor || policy) of
    Gaussians of the policy's std `sigma` (action_dim,) around the anchor's and the policy's means (B, action_dim)."""
    return ((mu - anchor_mu).square() / (2.0 * sigma.square())).sum(-1).mean()


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """() 1 - Var(returns - values) / Var(returns) on the values' device (no host read); nan when the returns
    are constant."""
    var_returns = returns.var()
    return torch.where(var_returns > 0, 1.0 - (returns - values).var() / var_returns, torch.nan)


def linear_learning_rate(start: float, end: float, progress: float) -> float:
    """`start` at progress 0, falling linearly to `end` at progress 1."""
    return start + (end - start) * min(max(progress, 0.0), 1.0)


def adaptive_learning_rate(lr: float, kl: float, desired_kl: float, min_lr: float, max_lr: float) -> float:
    """rl_games' adaptive rule: /1.5 when kl > 2 desired, x1.5 when kl < desired / 2, within [min_lr, max_lr]."""
    if kl > 2.0 * desired_kl:
        return max(lr / 1.5, min_lr)
    if kl < 0.5 * desired_kl:
        return min(lr * 1.5, max_lr)
    return lr


def keeps_saved_learning_rate(config: PPOConfig) -> bool:
    """Whether a resume goes on from the saved learning rate: only the "adaptive_kl" schedule's rate is state;
    "constant" takes the run's `learning_rate` (a resume may change it) and "linear" recomputes it every update."""
    return config.lr_schedule == "adaptive_kl"


class PPO:
    """One optimiser over the policy's parameters (actor, critic and a learned log-std)."""

    def __init__(self, policy: ActorCritic, config: PPOConfig):
        if config.lr_schedule not in LR_SCHEDULES:
            raise UserInputError(f"unknown lr_schedule {config.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        self.policy = policy
        self.config = config
        self.learning_rate = config.learning_rate
        self.optimizer = make_adam(policy.parameters(), config.learning_rate, tuple(config.adam_betas))
        self.value_stats = (RunningMeanStd(1).to(next(policy.parameters()).device) if config.normalize_value
                            else None)
        """Running mean and variance of the rollouts' values and returns (`normalize_value`), else None."""

    def state_dict(self) -> dict:
        state = {"optimizer": self.optimizer.state_dict(), "learning_rate": self.learning_rate}
        if self.value_stats is not None:
            state["value_stats"] = self.value_stats.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict`; value statistics missing from it (a run saved without `normalize_value`) start
        afresh from the next rollout; the learning rate is the saved one where `keeps_saved_learning_rate`."""
        self.optimizer.load_state_dict(state["optimizer"])
        for group in self.optimizer.param_groups:  # this run's decay rates, not the saved ones
            group["betas"] = tuple(self.config.adam_betas)
        kept = keeps_saved_learning_rate(self.config)
        self._set_learning_rate(state["learning_rate"] if kept else self.config.learning_rate)
        if self.value_stats is not None and "value_stats" in state:
            self.value_stats.load_state_dict(state["value_stats"])

    def num_minibatches(self, num_samples: int) -> int:
        if num_samples % self.config.minibatch_size:
            raise UserInputError(f"a rollout of {num_samples} samples (horizon x num_envs) does not split into "
                                 f"minibatches of {self.config.minibatch_size}; make it a multiple")
        return num_samples // self.config.minibatch_size

    def update(self, storage: RolloutStorage, progress: float, update_actor: bool = True,
               target_weight: float = 0.0, anchor_kl_coef: float | None = None,
               generator: torch.Generator | None = None
               ) -> dict[str, float]:
        """Optimise on a rollout with returns computed; `progress` in [0, 1] is the fraction of training done.
        `update_actor=False`: only the critic learns. `target_weight` > 0 (needs a storage with target
        actions): add the regression of the mean action onto them. `anchor_kl_coef` not None (the same storage, its
        targets an anchor policy's means): log `anchor_kl` from them and add it x the coefficient to the loss (0: only
        logged, how far the policy has moved from the anchor). `generator` orders the minibatches (None:
        torch's default one).

        Returns the mean losses, approximate KL, clip fraction and learning rate over all minibatches (the
        "adaptive_kl" rule moves the rate after every minibatch) and the rollout's explained variance.
        """
        cfg = self.config
        if cfg.lr_schedule == "linear":
            self._set_learning_rate(linear_learning_rate(cfg.learning_rate, cfg.min_learning_rate, progress))
        sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros((), device=storage.obs.device))
        count = 0
        params = [p for p in self.policy.parameters() if p.requires_grad]
        with torch.no_grad():  # the normalisers stay fixed during an update: normalise the rollout once
            features, critic_features = self.policy.normalized_inputs(storage.obs, storage.critic_obs)
        if self.value_stats is not None:  # one merge (one all-reduce under torchrun) of both sample sets
            self.value_stats.update(torch.cat([storage.values.reshape(-1, 1), storage.returns.reshape(-1, 1)]))
        shared = critic_features is features
        for batch in storage.minibatches(self.num_minibatches(storage.num_samples), cfg.num_epochs, generator,
                                         obs=features, critic_obs=None if shared else critic_features):
            log_probs, entropy, values, mu = self.policy.evaluate_normalized(
                batch.obs, batch.obs if shared else batch.critic_obs, batch.actions)
            advantages = batch.advantages
            if cfg.normalize_advantage:
                advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
            losses = {
                "surrogate_loss": surrogate_loss(log_probs, batch.log_probs, advantages, cfg.clip_ratio),
                "value_loss": value_loss(*self._value_loss_inputs(values, batch.values, batch.returns),
                                         cfg.clip_ratio if cfg.clip_value else None),
                "bounds_loss": bounds_loss(mu, cfg.bounds_soft_limit),
                "entropy": entropy.mean(),
            }
            loss = 0.5 * cfg.critic_coef * losses["value_loss"]
            if update_actor:
                loss = loss + (losses["surrogate_loss"] - cfg.entropy_coef * losses["entropy"]
                               + cfg.bounds_loss_coef * losses["bounds_loss"])
            if (target_weight > 0.0 or anchor_kl_coef is not None) and batch.target_actions is None:
                raise ValueError("target_weight > 0 or an anchor_kl_coef needs a storage built with target_actions=True")
            if target_weight > 0.0:
                losses["target_loss"] = (mu - batch.target_actions).square().mean()
                loss = loss + target_weight * losses["target_loss"]
            if anchor_kl_coef is not None:
                losses["anchor_kl"] = anchor_kl(mu, batch.target_actions, self.policy.action_std())
                if anchor_kl_coef > 0.0:
                    loss = loss + anchor_kl_coef * losses["anchor_kl"]
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            distributed.average_gradients(params)
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            self.optimizer.step()
            sums["learning_rate"] += self.learning_rate

            with torch.no_grad():
                sigma = self.policy.action_std().expand_as(mu)
                kl = gaussian_kl(batch.mus, batch.sigmas, mu, sigma).mean()
                ratio = torch.exp(log_probs - batch.log_probs)
                sums["clip_fraction"] += ((ratio - 1.0).abs() > cfg.clip_ratio).float().mean()
            sums["approx_kl"] += kl
            for name, value in losses.items():
                sums[name] += value.detach()
            count += 1
            if cfg.lr_schedule == "adaptive_kl":  # the one host sync per minibatch, and only with this schedule
                self._set_learning_rate(adaptive_learning_rate(
                    self.learning_rate, float(distributed.all_reduce_mean(kl)), cfg.desired_kl,
                    cfg.min_learning_rate, cfg.max_learning_rate))
        means = torch.stack([*(total / count for total in sums.values()),
                             explained_variance(storage.values, storage.returns)])
        return dict(zip([*sums, "explained_variance"], means.tolist()))  # the update's one host read

    def _value_loss_inputs(self, values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The critic's values, the rollout's values and the returns (B,) as the value loss compares them: unchanged,
        or with `normalize_value` standardised (the rollout's and the returns clipped to +-5, as rl_games does)."""
        if self.value_stats is None:
            return values, old_values, returns
        stats = self.value_stats
        return (stats(values[:, None], clip=False)[:, 0], stats(old_values[:, None])[:, 0],
                stats(returns[:, None])[:, 0])

    def _set_learning_rate(self, lr: float) -> None:
        self.learning_rate = lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
