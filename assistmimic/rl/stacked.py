"""Several experts trained in one process on one batch of worlds: stacked networks, per-expert PPO and AMP, the runner.

How K experts map onto worlds and tensors (everything below follows from these three rules):
- worlds: a batch of N = K * M worlds in expert-major blocks; expert k owns worlds k*M ... (k+1)*M - 1,
  which only ever play expert k's clips (`TrackingEnv.partition_worlds`). A per-world tensor (N, ...) is
  the per-expert tensor (K, M, ...) by a reshape (`split_experts`), no gather.
- weights: a stacked module holds the K experts' tensors under the names of one expert's module (`ActorCritic`,
  `Discriminator`), each with a leading K dimension: expert k is slice k (`unstacked(k)` gives it back as an
  ordinary module). `torch.func.functional_call` under `torch.vmap` over K evaluates every expert on its own
  block in one batched call (equal to the experts' own outputs up to float rounding of the batched products).
- learning: every loss term is a mean over one expert's own samples, (K,), and the loss back-propagated is
  their sum, so the gradient of expert k's slice is exactly its own. Minibatches take the same number of
  samples of every expert (the same shuffled positions in each expert's rollout), advantages are normalised
  per expert, gradient norms are clipped per expert (the norm over expert k's slices), and Adam's state is
  per element with a learning rate per expert (K,), so the adaptive-KL schedule follows each expert's own KL.
  One stacked step therefore equals K independent `PPO` / `AMP` steps (up to float rounding).
Each expert keeps the settings it would have alone: `ppo.minibatch_size` and `runner.amp_batch_size` samples
per step, `amp.replay_size` replayed AMP histories. `StackedRunner.expert_checkpoint_state(k)` writes expert k
in the format of `OnPolicyRunner`'s checkpoints, so later stages read it like a `stage=expert` run's (and
`stage=expert stage.resume=true` can continue it alone). A batch runs in one process: under torchrun,
`stage=experts` gives each process its own experts instead of splitting a batch's worlds.
"""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.distributions import Normal
from torch.func import functional_call, vmap

from assistmimic.envs.base import StepResult
from assistmimic.rl.amp import AMPReplayBuffer, Discriminator, style_reward
from assistmimic.rl.config import AMPConfig, PPOConfig
from assistmimic.rl.normalizer import RunningMeanStd, merge_moments
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.ppo import (
    LR_SCHEDULES,
    adaptive_learning_rate,
    bounds_loss,
    explained_variance,
    gaussian_kl,
    linear_learning_rate,
    surrogate_loss,
    value_loss,
)
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.rl.storage import RolloutStorage
from motion_lib.errors import UserInputError


# --- the layout ------------------------------------------------------------------------------------
def split_experts(x: torch.Tensor, num_experts: int) -> torch.Tensor:
    """(K * B, ...) rows in expert-major blocks -> (K, B, ...)."""
    return x.reshape(num_experts, x.shape[0] // num_experts, *x.shape[1:])


def merge_experts(x: torch.Tensor) -> torch.Tensor:
    """(K, B, ...) -> (K * B, ...), the inverse of `split_experts`."""
    return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def rollout_per_expert(x: torch.Tensor, num_experts: int) -> torch.Tensor:
    """A rollout tensor (T, N, ...) -> (K, T * M, ...): expert k's samples, ordered as its own storage would flatten them."""
    blocks = x.reshape(x.shape[0], num_experts, x.shape[1] // num_experts, *x.shape[2:]).transpose(0, 1)
    return blocks.reshape(num_experts, -1, *x.shape[2:])


def _per_expert_view(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """x (K,) shaped to broadcast over `like` (K, ...)."""
    return x.reshape(-1, *[1] * (like.dim() - 1))


# --- stacked modules -------------------------------------------------------------------------------
class StackedRunningMeanStd(nn.Module):
    """K `RunningMeanStd` statistics: buffers mean, var (K, dim) and count (K,) (registered by `_stack_into`)."""

    @property
    def dim(self) -> int:
        return self.mean.shape[-1]

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Merge expert k's samples x[k] (K, S, dim) into expert k's statistics."""
        batch_var, batch_mean = torch.var_mean(x.to(torch.float64), dim=1, unbiased=False)
        mean, var, count = merge_moments(self.mean, self.var, self.count[:, None], batch_mean, batch_var, x.shape[1])
        self.mean.copy_(mean)
        self.var.copy_(var)
        self.count.copy_(count[:, 0])


def _stack_into(owner: nn.Module, modules: list[nn.Module]) -> None:
    """Give `owner` the parameters, buffers and (recursively) children of modules[0], each tensor the stack of the
    modules' tensors of that name; a RunningMeanStd child becomes a StackedRunningMeanStd."""
    first = modules[0]
    for name, param in first.named_parameters(recurse=False):
        stacked = torch.stack([module.get_parameter(name) for module in modules]).detach().clone()
        owner.register_parameter(name, nn.Parameter(stacked, requires_grad=param.requires_grad))
    for name, _ in first.named_buffers(recurse=False):
        owner.register_buffer(name, torch.stack([module.get_buffer(name) for module in modules]).clone())
    for name, child in first.named_children():
        container = StackedRunningMeanStd() if isinstance(child, RunningMeanStd) else nn.Module()
        owner.add_module(name, container)
        _stack_into(container, [module.get_submodule(name) for module in modules])


class _Methods(nn.Module):
    """Calls methods of the wrapped module on the same inputs: what `functional_call` evaluates per expert."""

    def __init__(self, module: nn.Module, methods: tuple[str, ...]):
        super().__init__()
        self.module, self.methods = module, methods

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self.module, method)(*inputs) for method in self.methods)


class StackedModule(nn.Module):
    """K modules of one architecture as one module with the same parameter and buffer names, each tensor the stack
    of the K modules' ones (leading dimension K). Not callable as the original: `call` evaluates it."""

    def __init__(self, modules: list[nn.Module]):
        super().__init__()
        if not modules:
            raise UserInputError("stacking needs at least one expert")
        shapes = [{name: tuple(t.shape) for name, t in module.state_dict().items()} for module in modules]
        for k, expert_shapes in enumerate(shapes[1:], start=1):
            if expert_shapes != shapes[0]:
                raise UserInputError(f"experts trained in one batch need one architecture, but expert {k}'s tensors "
                                     f"differ from expert 0's; give every expert the same networks")
        self.num_experts = len(modules)
        _stack_into(self, modules)
        self._template = (copy.deepcopy(modules[0]).to("meta"),)
        """Expert 0's module without data: the code `call` runs with each expert's tensors (a tuple: not a child)."""

    def call(self, methods: tuple[str, ...], *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Expert k's module's `methods` on inputs[k], for every k in one vmapped call: inputs and outputs (K, ...)."""
        wrapper = _Methods(self._template[0], methods)
        state = {f"module.{name}": tensor for name, tensor in itertools.chain(self.named_parameters(), self.named_buffers())}
        return vmap(lambda expert_state, *x: functional_call(wrapper, expert_state, x))(state, *inputs)

    def load_expert_into(self, k: int, module: nn.Module) -> nn.Module:
        """`module` (of the experts' architecture) with expert k's tensors, on this module's device."""
        module.load_state_dict({name: tensor[k] for name, tensor in self.state_dict().items()})
        return module.to(next(itertools.chain(self.parameters(), self.buffers())).device)


class StackedActorCritic(StackedModule):
    """K `ActorCritic`s of one architecture acting on K blocks of `worlds_per_expert` worlds; what the runner calls
    on a policy takes and gives per-world tensors (N = K * M rows, expert-major), `forward` takes (K, B, ...)."""

    def __init__(self, experts: list[ActorCritic], worlds_per_expert: int):
        if worlds_per_expert < 1:
            raise UserInputError(f"each expert needs at least one world; got worlds_per_expert={worlds_per_expert}")
        specs = [expert.spec() for expert in experts]
        for k, spec in enumerate(specs[1:], start=1):
            if spec != specs[0]:
                raise UserInputError(f"experts trained in one batch need one architecture; expert {k} has {spec}, "
                                     f"expert 0 has {specs[0]}")
        if experts and experts[0].has_critic_obs:
            raise UserInputError("stacked experts need critics that read the actor observation")
        super().__init__(experts)
        self.expert_spec = specs[0]
        self.obs_dims, self.action_dim = experts[0].obs_dims, experts[0].action_dim
        self.worlds_per_expert = worlds_per_expert

    has_critic_obs = False

    def spec(self) -> dict[str, Any]:
        """The number of experts and one expert's architecture (the block size is not part of it)."""
        return {"num_experts": self.num_experts, "expert": self.expert_spec}

    def saved_state(self) -> dict[str, Any]:
        return {"spec": self.spec(), "state_dict": self.state_dict()}

    def expert(self, k: int) -> ActorCritic:
        """Expert k as an ordinary policy (a copy with exactly its weights and normaliser statistics)."""
        return self.load_expert_into(k, ActorCritic.from_spec(self.expert_spec))

    # --- per expert (K, B, ...) ---------------------------------------------------------------------
    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean actions (K, B, action_dim) and values (K, B) of raw observations (K, B, obs_dim)."""
        return self.call(("action_mean", "value"), obs)

    def expert_std(self) -> torch.Tensor:
        """(K, action_dim) each expert's action standard deviation."""
        return self.log_std.exp()

    def distribution(self, mean: torch.Tensor) -> Normal:
        """The action distribution of mean actions (K, B, action_dim)."""
        return Normal(mean, self.expert_std()[:, None].expand_as(mean))

    # --- per world (N, ...), as the runner calls a policy -------------------------------------------
    def action_std(self) -> torch.Tensor:
        """(K * worlds_per_expert, action_dim) the standard deviation of each world's expert."""
        return self.expert_std().repeat_interleave(self.worlds_per_expert, dim=0)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, critic_obs: None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """As `ActorCritic.act` for obs (N, obs_dim): sampled actions, their log-probabilities, values, mean actions."""
        mean, values = self(split_experts(obs, self.num_experts))
        dist = self.distribution(mean)
        actions = dist.sample()
        return (merge_experts(actions), merge_experts(dist.log_prob(actions).sum(-1)), merge_experts(values),
                merge_experts(mean))

    def value(self, obs: torch.Tensor, critic_obs: None = None) -> torch.Tensor:
        """(N,) values of obs (N, obs_dim)."""
        return merge_experts(self.call(("value",), split_experts(obs, self.num_experts))[0])

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor, critic_obs: None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """As `ActorCritic.evaluate` for (N, ...) rows in expert-major blocks, with gradients."""
        mean, values = self(split_experts(obs, self.num_experts))
        dist = self.distribution(mean)
        log_probs = dist.log_prob(split_experts(actions, self.num_experts)).sum(-1)
        return merge_experts(log_probs), merge_experts(dist.entropy().sum(-1)), merge_experts(values), merge_experts(mean)

    def update_normalizers(self, obs: torch.Tensor, critic_obs: None = None) -> None:
        """Merge raw observations (..., N, obs_dim), e.g. a rollout (T, N, obs_dim), into each expert's statistics
        from its own worlds."""
        self.obs_normalizer.update(rollout_per_expert(obs.reshape(-1, *obs.shape[-2:]), self.num_experts))


class StackedDiscriminator(StackedModule):
    """K AMP `Discriminator`s of one architecture; every method takes and gives (K, B, ...) tensors."""

    def __init__(self, discriminators: list[Discriminator]):
        super().__init__(discriminators)
        self.num_steps, self.step_dim = discriminators[0].num_steps, discriminators[0].step_dim

    def flatten(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """(K, B, num_steps, step_dim) -> (K, B, num_steps * step_dim)."""
        return amp_obs.reshape(*amp_obs.shape[:2], -1)

    def normalize(self, amp_obs: torch.Tensor) -> torch.Tensor:
        return self.call(("normalize",), amp_obs)[0]

    def logits_of_normalized(self, z: torch.Tensor) -> torch.Tensor:
        return self.call(("logits_of_normalized",), z)[0]

    def forward(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """Discriminator outputs D (K, B) of raw AMP observations (K, B, num_steps, step_dim)."""
        return self.call(("forward",), amp_obs)[0]

    def weights(self) -> list[torch.Tensor]:
        """The stacked weights of every linear layer (those `Discriminator.weights` lists)."""
        return [param for name, param in self.named_parameters() if name.endswith("weight")]


# --- optimisation ----------------------------------------------------------------------------------
class StackedAdam:
    """`torch.optim.Adam` (its default betas and eps, its arithmetic) over stacked parameters with a learning rate
    per expert: `step(lr)`, lr (K,). The moments are per element, so each expert's are its own."""

    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(self, params: dict[str, nn.Parameter]):
        self.params = params
        self.state: dict[str, dict[str, Any]] = {}
        """Parameter name -> {"step": int, "exp_avg", "exp_avg_sq": tensors shaped like the parameter}."""

    def zero_grad(self) -> None:
        for param in self.params.values():
            param.grad = None

    @torch.no_grad()
    def step(self, lr: torch.Tensor) -> None:
        """One Adam step of every parameter with a gradient; expert k's slices move with learning rate lr[k]."""
        beta1, beta2 = self.BETAS
        lr = lr.to(next(iter(self.params.values())).device)
        for name, param in self.params.items():
            if param.grad is None:
                continue
            state = self.state.setdefault(name, {"step": 0, "exp_avg": torch.zeros_like(param),
                                                 "exp_avg_sq": torch.zeros_like(param)})
            state["step"] += 1
            state["exp_avg"].lerp_(param.grad, 1 - beta1)
            state["exp_avg_sq"].mul_(beta2).addcmul_(param.grad, param.grad, value=1 - beta2)
            step_size = (lr / (1 - beta1 ** state["step"])).to(param.dtype)
            denom = (state["exp_avg_sq"].sqrt() / (1 - beta2 ** state["step"]) ** 0.5).add_(self.EPS)
            param.addcdiv_(state["exp_avg"] * -_per_expert_view(step_size, param), denom)

    def state_dict(self) -> dict[str, dict[str, Any]]:
        return {name: dict(state) for name, state in self.state.items()}

    def load_state_dict(self, state: dict[str, dict[str, Any]]) -> None:
        self.state = {name: {"step": int(saved["step"]),
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
        grad.mul_(_per_expert_view(scale, grad))
    return norms


class StackedPPO:
    """`PPO` of the K experts of a StackedActorCritic (same losses and settings per expert; see the module docstring).

    `minibatch_size` counts one expert's samples, so a gradient step uses K * minibatch_size samples.
    """

    def __init__(self, policy: StackedActorCritic, config: PPOConfig):
        if config.lr_schedule not in LR_SCHEDULES:
            raise UserInputError(f"unknown lr_schedule {config.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        self.policy, self.config = policy, config
        self.learning_rate = torch.full((policy.num_experts,), config.learning_rate, dtype=torch.float64)
        """(K,) each expert's current learning rate."""
        self.optimizer = StackedAdam(dict(policy.named_parameters()))

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "learning_rate": self.learning_rate.clone()}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.learning_rate = state["learning_rate"].clone()

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

    def update(self, storage: RolloutStorage, progress: float, update_actor: bool = True) -> dict[str, float]:
        """`PPO.update` of every expert on its own part of the rollout. Returns the statistics `PPO.update` returns,
        each averaged over the experts, plus `approx_kl_max` (the largest expert's mean KL) and `grad_norm`."""
        cfg, policy, k = self.config, self.policy, self.policy.num_experts
        if cfg.lr_schedule == "linear":
            self.learning_rate.fill_(linear_learning_rate(cfg.learning_rate, cfg.min_learning_rate, progress))
        samples = {name: rollout_per_expert(getattr(storage, name), k) for name in
                   ("obs", "actions", "log_probs", "values", "advantages", "returns", "mus", "sigmas")}
        per_expert = samples["obs"].shape[1]
        num_minibatches = self.num_minibatches(storage.num_samples)
        params = [param for param in policy.parameters() if param.requires_grad]
        sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(k, device=samples["obs"].device))
        for _ in range(cfg.num_epochs):
            order = torch.randperm(per_expert, device="cpu").to(samples["obs"].device)  # the same positions for all
            for idx in order.chunk(num_minibatches):
                batch = {name: x[:, idx] for name, x in samples.items()}
                log_probs, entropy, values, mu = (split_experts(x, k) for x in policy.evaluate(
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
        means = {name: total / steps for name, total in sums.items()}
        stats = {name: float(mean.mean()) for name, mean in means.items()}
        stats["approx_kl_max"] = float(means["approx_kl"].max())
        values, returns = (rollout_per_expert(getattr(storage, name), k) for name in ("values", "returns"))
        stats["explained_variance"] = float(torch.tensor([explained_variance(v, r) for v, r in zip(values, returns)]
                                                         ).nanmean())
        stats["learning_rate"] = float(self.learning_rate.mean())
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

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        """One step of every discriminator on its reference (`real`) and agent (`fake`) histories, both
        (K, B, num_steps, step_dim). Returns the loss terms averaged over the experts."""
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
        stats = {name: float(value.detach().mean()) for name, value in terms.items()}
        stats.update(loss=float(loss.detach().mean()), real_d=float(d_real.detach().mean()),
                     fake_d=float(d_fake.detach().mean()))
        return stats


# --- the runner ------------------------------------------------------------------------------------
class StackedRunner(OnPolicyRunner):
    """`OnPolicyRunner` of K experts in one batch: every agent's policy is a StackedActorCritic over the env's
    K clip groups (`TrackingEnv.partition_worlds`), learnt by StackedPPO, with a StackedAMP and StackedReplayBuffer.

    Logged besides the runner's usual scalars (over all worlds): `expert<k>/rollout_reward/agent<a>` (mean reward
    per step of expert k's worlds) and `expert<k>/episode_length` (world steps per ended episode in its worlds).
    """

    def __init__(self, env, policies: list[StackedActorCritic], *args, **kwargs):
        if not all(isinstance(policy, StackedActorCritic) for policy in policies):
            raise UserInputError("a StackedRunner trains StackedActorCritic policies")
        self.num_experts = policies[0].num_experts if policies else 1
        for a, policy in enumerate(policies):
            if policy.num_experts != self.num_experts:
                raise UserInputError(f"agent {a}'s policy stacks {policy.num_experts} experts, agent 0's "
                                     f"{self.num_experts}; every agent needs one policy per expert")
            if policy.num_experts * policy.worlds_per_expert != env.num_envs:
                raise UserInputError(f"{policy.num_experts} experts of {policy.worlds_per_expert} worlds need "
                                     f"{policy.num_experts * policy.worlds_per_expert} worlds; the env has {env.num_envs}")
        if self.num_experts > 1 and getattr(env, "num_groups", 1) != self.num_experts:
            raise UserInputError(f"the env's worlds must be split into {self.num_experts} clip groups, one per expert "
                                 "(TrackingEnv.partition_worlds)")
        super().__init__(env, policies, *args, **kwargs)

    def _make_learner(self, policy: StackedActorCritic) -> StackedPPO:
        return StackedPPO(policy, self.ppo_config)

    def _make_discriminator(self) -> tuple[StackedAMP, StackedReplayBuffer]:
        amp = StackedAMP(self.num_experts, self.env.amp_step_dim, self.amp_config)
        amp.discriminator.to(self.device)
        replay = StackedReplayBuffer(self.num_experts, self.amp_config.replay_size, self.amp_config.num_steps,
                                     self.env.amp_step_dim, self.device)
        return amp, replay

    def _real_amp_obs(self, agent: int) -> torch.Tensor:
        """(K, amp_batch_size, ...) reference histories of each expert's own clips."""
        return self.env.reference_amp_obs_per_group(self.config.amp_batch_size, None, agent=agent)

    @staticmethod
    def _final_values(policy: StackedActorCritic, step: StepResult, agent: int) -> torch.Tensor:
        """Critic values of `final_obs` where the episode timed out, 0 elsewhere (all worlds evaluated: the
        stacked policy takes whole blocks)."""
        if not bool(step.truncated.any()):
            return torch.zeros(step.truncated.shape[0], device=step.truncated.device)
        return torch.where(step.truncated, policy.value(step.final_obs[agent]), 0.0)

    def _update(self) -> dict[str, float]:
        scalars = super()._update()
        k = self.num_experts
        ends = rollout_per_expert(self.storages[0].terminated | self.storages[0].truncated, k).sum(1).tolist()
        per_expert_steps = self.storages[0].num_samples // k
        for a, storage in enumerate(self.storages):
            for expert, reward in enumerate(rollout_per_expert(storage.rewards, k).mean(1).tolist()):
                scalars[f"expert{expert}/rollout_reward/agent{a}"] = reward
        for expert, count in enumerate(ends):
            if count:
                scalars[f"expert{expert}/episode_length"] = per_expert_steps / count
        return scalars

    def expert_checkpoint_state(self, k: int, metadata: dict[str, Any]) -> dict[str, Any]:
        """Expert k alone in the format of `OnPolicyRunner.checkpoint_state` (policies, PPO and AMP state of its
        slices; its share of the env steps; `metadata` as its own), as of the last completed iteration."""
        state = self.checkpoint_state()
        state.update(
            total_env_steps=self.total_env_steps // self.num_experts,
            policies=[policy.expert(k).saved_state() for policy in self.policies],
            ppo=[learner.expert_state_dict(k) for learner in self.learners],
            amp=[amp.expert_state_dict(k) for amp in self.discriminators] if self.amp_enabled else None,
            metadata=metadata,
        )
        return state
