"""Stacked networks of K experts: the world/expert layout, stacked modules (policies, discriminators, normalisers)
evaluated with one vmap over functional_call, and unstacking of one expert (see `assistmimic.rl.stacked`)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import torch
from torch import nn
from torch.distributions import Normal
from torch.func import functional_call, vmap

from assistmimic.rl.amp import Discriminator
from assistmimic.rl.normalizer import RunningMeanStd, batch_moments, merge_moments
from assistmimic.rl.policy import ActorCritic, ContinueChanges, gaussian
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


def per_expert_view(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
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
        batch_mean, batch_var = batch_moments(x)
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

    def load_to_continue(self, saved: dict[str, Any]) -> ContinueChanges:
        """Load `saved` (`saved_state()` of a stack of this architecture) to train on, as `ActorCritic.load_to_continue`
        but with nothing allowed to change (the experts' std included); raises ValueError when the architectures
        differ."""
        if saved["spec"] != self.spec():
            raise ValueError(f"the architecture {saved['spec']} differs from this stack's {self.spec()}")
        self.load_state_dict(saved["state_dict"])
        return ContinueChanges()

    def expert(self, k: int) -> ActorCritic:
        """Expert k as an ordinary policy (a copy with exactly its weights and normaliser statistics)."""
        return self.load_expert_into(k, ActorCritic.from_spec(self.expert_spec))

    # --- per expert (K, B, ...) ---------------------------------------------------------------------
    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean actions (K, B, action_dim) and values (K, B) of raw observations (K, B, obs_dim)."""
        return self.call(("mean_and_value",), obs)[0]

    def normalized_obs(self, obs: torch.Tensor) -> torch.Tensor:
        """(K, B, obs_dim) raw observations, obs[k] normalised by expert k's statistics."""
        return self.call(("normalized_inputs",), obs)[0][0]

    def expert_std(self) -> torch.Tensor:
        """(K, action_dim) each expert's action standard deviation."""
        return self.log_std.exp()

    def distribution(self, mean: torch.Tensor) -> Normal:
        """The action distribution of mean actions (K, B, action_dim)."""
        return gaussian(mean, self.expert_std()[:, None].expand_as(mean))

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
        return self._evaluate_mean_and_value(self(split_experts(obs, self.num_experts)), actions)

    def evaluate_normalized(self, features: torch.Tensor, actions: torch.Tensor
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`evaluate` of (N, obs_dim) rows of what `normalized_obs` gives (StackedPPO normalises a rollout once)."""
        per_expert = split_experts(features, self.num_experts)
        return self._evaluate_mean_and_value(self.call(("mean_and_value_of_normalized",), per_expert, per_expert)[0],
                                             actions)

    def _evaluate_mean_and_value(self, mean_and_value: tuple[torch.Tensor, torch.Tensor], actions: torch.Tensor
                                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, values = mean_and_value
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
