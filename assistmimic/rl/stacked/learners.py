"""Per-expert learning on stacked networks: Adam with a learning rate per expert, per-expert gradient clipping,
StackedPPO, and stacked AMP with one replay buffer per expert (see `assistmimic.rl.stacked`)."""

from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.func import vmap
from torch.optim.adam import adam

from assistmimic.rl.amp import AMPReplayBuffer, Discriminator, style_reward
from assistmimic.rl.config import DEFAULT_ADAM_BETAS, AMPConfig, PPOConfig
from assistmimic.rl.generators import draw_device
from assistmimic.rl.optim import has_fused_adam
from assistmimic.rl.ppo import (
    LR_SCHEDULES,
    adaptive_learning_rate,
    bounds_loss,
    explained_variance,
    gaussian_kl,
    keeps_saved_learning_rate,
    linear_learning_rate,
    surrogate_loss,
    value_loss,
)
from assistmimic.rl.stacked.networks import (
    StackedActorCritic,
    StackedDiscriminator,
    merge_experts,
    per_expert_view,
    rollout_per_expert,
    split_experts,
)
from assistmimic.rl.storage import RolloutStorage
from motion_lib.errors import UserInputError


# --- optimisation ----------------------------------------------------------------------------------
class StackedAdam:
    """`torch.optim.Adam` (its default betas and eps, its arithmetic up to rounding) over stacked parameters with a
    learning rate per expert: `step(lr)`, lr (K,). The moments are per element, so each expert's are its own.

    A step runs torch's Adam kernel (fused where the device has one, see `assistmimic.rl.optim`) at learning rate 1
    on zeroed update buffers, then adds each expert's slice of the update times its learning rate: three passes
    over the parameters instead of a dozen small operations per tensor.
    """

    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(self, params: dict[str, nn.Parameter]):
        self.params = params
        self.state: dict[str, dict[str, Any]] = {}
        """Parameter name -> {"step": float32 tensor, "exp_avg", "exp_avg_sq": tensors shaped like the parameter}."""
        self._updates: dict[str, torch.Tensor] = {}
        """Per parameter, the buffer the Adam kernel writes the unit-rate update into (zero between steps; made at
        the first step, on the device the parameter has then)."""

    def zero_grad(self) -> None:
        for param in self.params.values():
            param.grad = None

    @torch.no_grad()
    def step(self, lr: torch.Tensor) -> None:
        """One Adam step of every parameter with a gradient; expert k's slices move with learning rate lr[k]."""
        names = [name for name, param in self.params.items() if param.grad is not None]
        if not names:
            return
        for name in names:
            param = self.params[name]
            self.state.setdefault(name, {"step": torch.zeros((), dtype=torch.float32, device=param.device),
                                         "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)})
            self._updates.setdefault(name, torch.zeros_like(param))
        params, states = [self.params[name] for name in names], [self.state[name] for name in names]
        adam([self._updates[name] for name in names], [param.grad for param in params],
             [state["exp_avg"] for state in states], [state["exp_avg_sq"] for state in states], [],
             [state["step"] for state in states], fused=True if has_fused_adam(params) else None, amsgrad=False,
             beta1=self.BETAS[0], beta2=self.BETAS[1], lr=1.0, weight_decay=0.0, eps=self.EPS, maximize=False)
        lr = lr.to(params[0].device, params[0].dtype)
        for name, param in zip(names, params):
            param.addcmul_(self._updates[name], per_expert_view(lr, param))
            self._updates[name].zero_()

    def state_dict(self) -> dict[str, dict[str, Any]]:
        return {name: {"step": int(state["step"]), "exp_avg": state["exp_avg"], "exp_avg_sq": state["exp_avg_sq"]}
                for name, state in self.state.items()}

    def load_state_dict(self, state: dict[str, dict[str, Any]]) -> None:
        self.state = {name: {"step": torch.tensor(float(saved["step"]), dtype=torch.float32,
                                                  device=self.params[name].device),
                             "exp_avg": saved["exp_avg"].to(self.params[name].device).clone(),
                             "exp_avg_sq": saved["exp_avg_sq"].to(self.params[name].device).clone()}
                      for name, saved in state.items()}

    def expert_state_dict(self, k: int, module: nn.Module, lr: float) -> dict[str, Any]:
        """The `torch.optim.Adam(module.parameters(), lr)` state_dict of expert k alone (`module`: expert k unstacked)."""
        optimizer = torch.optim.Adam(module.parameters(), lr=lr)
        for name, param in module.named_parameters():
            if name in self.state:
                state = self.state[name]
                optimizer.state[param] = {"step": torch.tensor(float(state["step"])),
                                          "exp_avg": state["exp_avg"][k].clone(),
                                          "exp_avg_sq": state["exp_avg_sq"][k].clone()}
        return optimizer.state_dict()


def clip_grad_norm_per_expert(params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """`torch.nn.utils.clip_grad_norm_` for each expert: scale expert k's gradient slices so that their joint
    2-norm is at most `max_norm`. Returns the (K,) norms before clipping."""
    grads = [param.grad for param in params if param.grad is not None]
    norms = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads]), dim=0)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for grad in grads:
        grad.mul_(per_expert_view(scale, grad))
    return norms


class StackedPPO:
    """`PPO` of the K experts of a StackedActorCritic (same losses and settings per expert; see the module docstring).

    `minibatch_size` counts one expert's samples, so a gradient step uses K * minibatch_size samples.
    """

    def __init__(self, policy: StackedActorCritic, config: PPOConfig):
        if config.lr_schedule not in LR_SCHEDULES:
            raise UserInputError(f"unknown lr_schedule {config.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        if config.normalize_value:
            raise UserInputError("ppo.normalize_value is not supported by batched experts; use "
                                 "stage.batch_experts=1 or stage.ppo.normalize_value=false")
        if tuple(config.adam_betas) != DEFAULT_ADAM_BETAS:
            raise UserInputError(f"ppo.adam_betas={list(config.adam_betas)} is not supported by batched experts (their "
                                 f"Adam uses torch's defaults, {list(DEFAULT_ADAM_BETAS)}); use stage.batch_experts=1")
        self.policy, self.config = policy, config
        self.learning_rate = torch.full((policy.num_experts,), config.learning_rate, dtype=torch.float64)
        """(K,) each expert's current learning rate."""
        self.optimizer = StackedAdam(dict(policy.named_parameters()))

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "learning_rate": self.learning_rate.clone()}

    def load_state_dict(self, state: dict) -> None:
        """As `PPO.load_state_dict`: the saved rates where `keeps_saved_learning_rate`, else the run's."""
        self.optimizer.load_state_dict(state["optimizer"])
        if keeps_saved_learning_rate(self.config):
            self.learning_rate = state["learning_rate"].clone()
        else:
            self.learning_rate.fill_(self.config.learning_rate)

    def expert_state_dict(self, k: int) -> dict:
        """Expert k's learner state in `PPO.state_dict`'s format."""
        lr = float(self.learning_rate[k])
        return {"optimizer": self.optimizer.expert_state_dict(k, self.policy.expert(k), lr), "learning_rate": lr}

    def num_minibatches(self, num_samples: int) -> int:
        """Minibatches per epoch for a rollout of `num_samples` samples of all experts together."""
        per_expert = num_samples // self.policy.num_experts
        if per_expert % self.config.minibatch_size:
            raise UserInputError(f"each expert's rollout of {per_expert} samples (horizon x worlds per expert) does not "
                                 f"split into minibatches of {self.config.minibatch_size}; make it a multiple")
        return per_expert // self.config.minibatch_size

    def update(self, storage: RolloutStorage, progress: float, update_actor: bool = True,
               generator: torch.Generator | None = None) -> dict[str, float]:
        """`PPO.update` of every expert on its own part of the rollout (`generator` orders the minibatches). Returns
        the statistics `PPO.update` returns, each averaged over the experts (the learning rate over the experts and
        the minibatches), plus `approx_kl_max` (the largest expert's mean KL) and `grad_norm`."""
        cfg, policy, k = self.config, self.policy, self.policy.num_experts
        if cfg.lr_schedule == "linear":
            self.learning_rate.fill_(linear_learning_rate(cfg.learning_rate, cfg.min_learning_rate, progress))
        samples = {name: rollout_per_expert(getattr(storage, name), k) for name in
                   ("obs", "actions", "log_probs", "values", "advantages", "returns", "mus", "sigmas")}
        with torch.no_grad():  # the normalisers stay fixed during an update: normalise the rollout once
            samples["obs"] = policy.normalized_obs(samples["obs"])
        per_expert = samples["obs"].shape[1]
        num_minibatches = self.num_minibatches(storage.num_samples)
        params = [param for param in policy.parameters() if param.requires_grad]
        sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(k, device=samples["obs"].device))
        rates_used = torch.zeros(k, dtype=torch.float64)  # a host tensor, as the rates are
        for _ in range(cfg.num_epochs):
            order = torch.randperm(per_expert, generator=generator,  # the same positions for all experts
                                   device=draw_device(generator)).to(samples["obs"].device)
            for idx in order.chunk(num_minibatches):
                batch = {name: x[:, idx] for name, x in samples.items()}
                log_probs, entropy, values, mu = (split_experts(x, k) for x in policy.evaluate_normalized(
                    merge_experts(batch["obs"]), merge_experts(batch["actions"])))
                advantages = batch["advantages"]
                if cfg.normalize_advantage:
                    advantages = ((advantages - advantages.mean(1, keepdim=True))
                                  / (advantages.std(1, keepdim=True) + 1e-8))
                losses = {  # (K,) each: every expert's mean over its own samples
                    "surrogate_loss": vmap(partial(surrogate_loss, clip_ratio=cfg.clip_ratio))(
                        log_probs, batch["log_probs"], advantages),
                    "value_loss": vmap(partial(value_loss, clip_range=cfg.clip_ratio if cfg.clip_value else None))(
                        values, batch["values"], batch["returns"]),
                    "bounds_loss": vmap(partial(bounds_loss, soft_limit=cfg.bounds_soft_limit))(mu),
                    "entropy": entropy.mean(1),
                }
                loss = 0.5 * cfg.critic_coef * losses["value_loss"]
                if update_actor:
                    loss = loss + (losses["surrogate_loss"] - cfg.entropy_coef * losses["entropy"]
                                   + cfg.bounds_loss_coef * losses["bounds_loss"])
                self.optimizer.zero_grad()
                loss.sum().backward()
                sums["grad_norm"] += clip_grad_norm_per_expert(params, cfg.max_grad_norm)
                self.optimizer.step(self.learning_rate)
                rates_used += self.learning_rate

                with torch.no_grad():
                    sigma = policy.expert_std()[:, None].expand_as(mu)
                    kl = gaussian_kl(batch["mus"], batch["sigmas"], mu, sigma).mean(1)
                    ratio = torch.exp(log_probs - batch["log_probs"])
                    sums["clip_fraction"] += ((ratio - 1.0).abs() > cfg.clip_ratio).float().mean(1)
                sums["approx_kl"] += kl
                for name, value in losses.items():
                    sums[name] += value.detach()
                if cfg.lr_schedule == "adaptive_kl":
                    self.learning_rate = torch.tensor(
                        [adaptive_learning_rate(lr, expert_kl, cfg.desired_kl, cfg.min_learning_rate,
                                                cfg.max_learning_rate)
                         for lr, expert_kl in zip(self.learning_rate.tolist(), kl.tolist())], dtype=torch.float64)
        steps = cfg.num_epochs * num_minibatches
        means = {name: total / steps for name, total in sums.items()}  # (K,) each
        values, returns = (rollout_per_expert(getattr(storage, name), k) for name in ("values", "returns"))
        explained = torch.stack([explained_variance(v, r) for v, r in zip(values, returns)])
        summary = torch.stack([*(mean.mean() for mean in means.values()), means["approx_kl"].max(), explained.nanmean()])
        stats = dict(zip([*means, "approx_kl_max", "explained_variance"], summary.tolist()))  # the update's one host read
        stats["learning_rate"] = float(rates_used.mean()) / steps
        return stats


# --- AMP -------------------------------------------------------------------------------------------
class StackedReplayBuffer(AMPReplayBuffer):
    """K replay buffers of `capacity` AMP histories each, one per expert, filled from each expert's own worlds.
    Every expert adds the same number of histories per step, so one ring (capacity, K, num_steps, step_dim)
    with one head serves all of them."""

    def __init__(self, num_experts: int, capacity: int, num_steps: int, step_dim: int, device: torch.device | str):
        # Not AMPReplayBuffer.__init__: its ring has no expert dimension (and would be allocated for nothing).
        self.data = torch.zeros(capacity, num_experts, num_steps, step_dim, device=device)
        self.capacity, self.size, self.head = capacity, 0, 0
        self.num_experts = num_experts

    def add(self, amp_obs: torch.Tensor) -> None:
        """The AMP histories (N, num_steps, step_dim) of all worlds, expert-major."""
        super().add(split_experts(amp_obs, self.num_experts).transpose(0, 1))

    def sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """(K, n, num_steps, step_dim): n histories of each expert's own."""
        return super().sample(n, generator).transpose(0, 1)


class StackedAMP:
    """`AMP` of K experts: their discriminators stacked, updated in one batched step in which each expert's loss
    (the terms of `AMP.update`, on its own real and fake data) gives exactly its own gradient."""

    def __init__(self, num_experts: int, step_dim: int, config: AMPConfig):
        self.config = config
        self.discriminator = StackedDiscriminator([Discriminator(step_dim, config) for _ in range(num_experts)])
        self.optimizer = StackedAdam(dict(self.discriminator.named_parameters()))
        self.learning_rate = torch.full((num_experts,), config.learning_rate, dtype=torch.float64)

    def state_dict(self) -> dict:
        return {"discriminator": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["optimizer"])

    def expert_state_dict(self, k: int) -> dict:
        """Expert k's discriminator and optimiser in `AMP.state_dict`'s format."""
        disc = self.discriminator.load_expert_into(k, Discriminator(self.discriminator.step_dim, self.config))
        return {"discriminator": disc.state_dict(),
                "optimizer": self.optimizer.expert_state_dict(k, disc, self.config.learning_rate)}

    @torch.no_grad()
    def reward(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """Style rewards (N,) of the AMP histories (N, num_steps, step_dim) of all worlds, each by its expert's discriminator."""
        d = self.discriminator(split_experts(amp_obs, self.discriminator.num_experts))
        return merge_experts(style_reward(d, self.config.reward_scale))

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One step of every discriminator on its reference (`real`) and agent (`fake`) histories, both
        (K, B, num_steps, step_dim). Returns the loss terms averaged over the experts, 0-dim tensors on the
        device (as `AMP.update`)."""
        cfg, disc = self.config, self.discriminator
        disc.normalizer.update(disc.flatten(torch.cat([real, fake], dim=1)))
        z_real = disc.normalize(real).requires_grad_(True)
        d_real = disc.logits_of_normalized(z_real)
        d_fake = disc(fake)
        grad = torch.autograd.grad(d_real.sum(), z_real, create_graph=True)[0]
        terms = {  # (K,) each
            "real_loss": (d_real - 1.0).square().mean(1),
            "fake_loss": (d_fake + 1.0).square().mean(1),
            "grad_penalty": grad.square().sum(-1).mean(1),
            "logit_reg": disc.logit.weight.square().flatten(1).sum(1),
            "weight_decay": sum(w.square().flatten(1).sum(1) for w in disc.weights()),
        }
        loss = (0.5 * (terms["real_loss"] + terms["fake_loss"]) + cfg.grad_penalty * terms["grad_penalty"]
                + cfg.logit_reg * terms["logit_reg"] + cfg.weight_decay * terms["weight_decay"])
        self.optimizer.zero_grad()
        loss.sum().backward()
        self.optimizer.step(self.learning_rate)
        stats = {**terms, "loss": loss, "real_d": d_real, "fake_d": d_fake}
        return {name: value.detach().mean() for name, value in stats.items()}
