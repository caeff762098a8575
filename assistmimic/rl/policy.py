"""Actor-critic policy: observation normaliser, actor MLP -> Gaussian mean, log-std, separate critic MLP -> value.

The layout mirrors rl_games' separate actor-critic (`actor_mlp` of Linear/activation pairs, then `mu`;
`critic_mlp`, then `value_head`), so an rl_games/PHC checkpoint maps onto it key by key.

The observation is a concatenation of groups (`obs_dims`): a fresh policy has one group; widening
(`phc_prior/widening.py`) appends one. The first layer of each MLP is a `SplitInputLinear` that sums one
product per group, so zero columns added for a new group contribute exactly 0.0 and the widened
policy's outputs are bit-identical to the prior's (one matrix product over the widened input would
round differently).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.hidden_widening import CHAINS, is_widening, widen_chain
from assistmimic.rl.normalizer import RunningMeanStd
from motion_lib.errors import UserInputError

ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU, "silu": nn.SiLU, "tanh": nn.Tanh}


def make_activation(name: str) -> nn.Module:
    """The activation module called `name` (see ACTIVATIONS)."""
    if name not in ACTIVATIONS:
        raise UserInputError(f"unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}")
    return ACTIVATIONS[name]()


def gaussian(mean: torch.Tensor, std: torch.Tensor) -> Normal:
    """The diagonal Gaussian over actions, without torch's argument validation: its checks read a value back on
    the host (three GPU syncs per agent and step while acting)."""
    return Normal(mean, std, validate_args=False)


class SplitInputLinear(nn.Linear):
    """A Linear layer whose input is a concatenation of groups of sizes `in_splits`.

    Same parameters (`weight`, `bias`) and same function as nn.Linear; with several groups the product
    is taken per group and summed, so a group whose weight columns are zero adds exactly 0.0.
    """

    def __init__(self, in_splits: Sequence[int], out_features: int):
        super().__init__(sum(in_splits), out_features)
        self.in_splits = tuple(int(s) for s in in_splits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.in_splits) == 1:
            return F.linear(x, self.weight, self.bias)
        xs = torch.split(x, self.in_splits, dim=-1)
        ws = torch.split(self.weight, self.in_splits, dim=1)
        out = F.linear(xs[0].contiguous(), ws[0].contiguous(), self.bias)
        for x_group, w_group in zip(xs[1:], ws[1:]):
            out = out + F.linear(x_group.contiguous(), w_group.contiguous())
        return out


def build_mlp(in_splits: Sequence[int], hidden: Sequence[int], activation: str) -> nn.Sequential:
    """Linear/activation pairs (Linear layers at even indices, as rl_games); the first is a SplitInputLinear."""
    if not hidden:
        raise UserInputError("an MLP needs at least one hidden layer; got an empty list of hidden sizes")
    layers: list[nn.Module] = [SplitInputLinear(in_splits, hidden[0]), make_activation(activation)]
    for size_in, size_out in itertools.pairwise(hidden):
        layers += [nn.Linear(size_in, size_out), make_activation(activation)]
    return nn.Sequential(*layers)


@dataclasses.dataclass(frozen=True)
class ContinueChanges:
    """What `ActorCritic.load_to_continue` changed in a saved policy: `notes` ("actor_hidden [512, 256] ->
    [1024, 512]"), and whether parameter shapes changed (`reshaped`: optimiser moments saved with it no longer fit)."""

    notes: tuple[str, ...] = ()
    reshaped: bool = False


class ActorCritic(nn.Module):
    """Gaussian policy with a state-independent log-std and a separate critic.

    obs_dims: sizes of the groups the actor observation is made of (their sum is the observation size).
    critic_obs_dims: the same for a separate critic observation with its own normaliser; None: the
        critic reads the actor observation (through the same normaliser).
    """

    def __init__(self, obs_dims: Sequence[int], action_dim: int, config: PolicyConfig,
                 critic_obs_dims: Sequence[int] | None = None):
        super().__init__()
        self.obs_dims = tuple(int(d) for d in obs_dims)
        self.critic_obs_dims = None if critic_obs_dims is None else tuple(int(d) for d in critic_obs_dims)
        self.action_dim = int(action_dim)
        self.config = config
        self.obs_normalizer = RunningMeanStd(sum(self.obs_dims))
        if self.critic_obs_dims is not None:
            self.critic_obs_normalizer = RunningMeanStd(sum(self.critic_obs_dims))
        self.actor_mlp = build_mlp(self.obs_dims, config.actor_hidden, config.activation)
        self.mu = nn.Linear(config.actor_hidden[-1], self.action_dim)
        with torch.no_grad():
            self.mu.weight.mul_(config.mu_init_scale)
            self.mu.bias.zero_()
        self.critic_mlp = build_mlp(self.critic_obs_dims or self.obs_dims, config.critic_hidden, config.activation)
        self.value_head = nn.Linear(config.critic_hidden[-1], 1)
        log_std = torch.full((self.action_dim,), float(config.init_log_std))
        if config.learn_log_std:
            self.log_std = nn.Parameter(log_std)
        else:
            self.register_buffer("log_std", log_std)

    # --- saving -------------------------------------------------------------------------------
    def spec(self) -> dict[str, Any]:
        """Everything needed to rebuild this architecture (plain Python values)."""
        return {"obs_dims": list(self.obs_dims), "action_dim": self.action_dim,
                "critic_obs_dims": None if self.critic_obs_dims is None else list(self.critic_obs_dims),
                "config": dataclasses.asdict(self.config)}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> ActorCritic:
        return cls(spec["obs_dims"], spec["action_dim"], PolicyConfig(**spec["config"]), spec["critic_obs_dims"])

    def saved_state(self) -> dict[str, Any]:
        """Architecture and weights together: `ActorCritic.from_saved_state` rebuilds this policy."""
        return {"spec": self.spec(), "state_dict": self.state_dict()}

    @classmethod
    def from_saved_state(cls, saved: dict[str, Any]) -> ActorCritic:
        policy = cls.from_spec(saved["spec"])
        policy.load_state_dict(saved["state_dict"])
        return policy

    def load_to_continue(self, saved: dict[str, Any]) -> ContinueChanges:
        """Load `saved` (`saved_state()` of a policy of this architecture) to train on. Two settings may differ: a fixed
        exploration std (`learn_log_std` False in both) is set to this policy's `init_log_std`, and hidden layers this
        policy widens (`actor_hidden` / `critic_hidden` of the same depth, no layer narrower) are widened without
        changing what the policy does (`hidden_widening`). Returns what changed; raises ValueError when anything else
        differs."""
        old, new = saved["spec"]["config"], self.spec()["config"]
        fixed_std = not old["learn_log_std"] and not new["learn_log_std"]
        std_changed = fixed_std and old["init_log_std"] != new["init_log_std"]
        widened = [key for key in CHAINS if is_widening(old[key], new[key])]
        carried = {**old, **{key: new[key] for key in widened}}
        if std_changed:
            carried["init_log_std"] = new["init_log_std"]
        if {**saved["spec"], "config": carried} != self.spec():
            raise ValueError(f"the architecture {saved['spec']} differs from this policy's {self.spec()}")
        notes, state = [], saved["state_dict"]
        if std_changed:
            notes.append(f"fixed exploration std exp({old['init_log_std']}) -> exp({new['init_log_std']})")
            state = {**state, "log_std": self.log_std.clone()}
        fresh = self.state_dict()
        for key in widened:
            notes.append(f"{key} {old[key]} -> {new[key]}")
            state = {**state, **widen_chain(state, fresh, *CHAINS[key], len(new[key]))}
        self.load_state_dict(state)
        return ContinueChanges(tuple(notes), reshaped=bool(widened))

    # --- layers reached by widening -------------------------------------------------------------
    @property
    def actor_input_layer(self) -> SplitInputLinear:
        return self.actor_mlp[0]

    @property
    def critic_input_layer(self) -> SplitInputLinear:
        return self.critic_mlp[0]

    @property
    def has_critic_obs(self) -> bool:
        """Whether the critic reads its own observation (`critic_obs` must then be passed)."""
        return self.critic_obs_dims is not None

    # --- forward ---------------------------------------------------------------------------------
    def update_normalizers(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None) -> None:
        """Merge a batch of raw observations into the running statistics."""
        self.obs_normalizer.update(obs)
        if self.has_critic_obs:
            self.critic_obs_normalizer.update(self._checked_critic_obs(critic_obs))

    def normalized_inputs(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None
                          ) -> tuple[torch.Tensor, torch.Tensor]:
        """The actor's and the critic's normalised inputs of raw observations (one tensor twice when the critic
        reads the actor observation): what the `..._normalized` methods take."""
        features = self.obs_normalizer(obs)
        return features, self._critic_features(obs, critic_obs, features)

    def action_mean(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mu(self.actor_mlp(self.obs_normalizer(obs)))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action (what `torch.func.functional_call` over stacked policies evaluates)."""
        return self.action_mean(obs)

    def action_std(self) -> torch.Tensor:
        """Standard deviation per action dimension, (action_dim,)."""
        return self.log_std.exp()

    def value(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None) -> torch.Tensor:
        """Critic value (...,) of raw observations."""
        return self._value_of_normalized(self._critic_features(obs, critic_obs))

    def mean_and_value(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean action (..., action_dim) and value (...,) of raw observations, normalising the actor's once."""
        return self.mean_and_value_of_normalized(*self.normalized_inputs(obs, critic_obs))

    def mean_and_value_of_normalized(self, features: torch.Tensor, critic_features: torch.Tensor
                                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """`mean_and_value` of the inputs `normalized_inputs` gives."""
        return self.mu(self.actor_mlp(features)), self._value_of_normalized(critic_features)

    def distribution(self, mean: torch.Tensor) -> Normal:
        return gaussian(mean, self.action_std().expand_as(mean))

    @torch.no_grad()
    def act(self, obs: torch.Tensor, critic_obs: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sampled actions, their log-probability (summed over dimensions), the value and the mean action."""
        mean, value = self.mean_and_value(obs, critic_obs)
        dist = self.distribution(mean)
        actions = dist.sample()
        return actions, dist.log_prob(actions).sum(-1), value, mean

    @torch.no_grad()
    def act_deterministic(self, obs: torch.Tensor) -> torch.Tensor:
        """The mean action."""
        return self.action_mean(obs)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor, critic_obs: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probability of `actions`, entropy (both summed over dimensions), value and mean action, with gradients."""
        return self.evaluate_normalized(*self.normalized_inputs(obs, critic_obs), actions)

    def evaluate_normalized(self, features: torch.Tensor, critic_features: torch.Tensor, actions: torch.Tensor
                            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """`evaluate` of the inputs `normalized_inputs` gives (PPO normalises a rollout once per update)."""
        mean, value = self.mean_and_value_of_normalized(features, critic_features)
        dist = self.distribution(mean)
        return dist.log_prob(actions).sum(-1), dist.entropy().sum(-1), value, mean

    def _value_of_normalized(self, critic_features: torch.Tensor) -> torch.Tensor:
        return self.value_head(self.critic_mlp(critic_features)).squeeze(-1)

    def _critic_features(self, obs: torch.Tensor, critic_obs: torch.Tensor | None,
                         actor_features: torch.Tensor | None = None) -> torch.Tensor:
        """The critic's normalised input: of `critic_obs` when the critic has its own observation, else of `obs`
        (`actor_features` when already normalised)."""
        if self.has_critic_obs:
            return self.critic_obs_normalizer(self._checked_critic_obs(critic_obs))
        if critic_obs is not None:
            raise ValueError("this policy's critic reads the actor observation; do not pass critic_obs")
        return self.obs_normalizer(obs) if actor_features is None else actor_features

    def _checked_critic_obs(self, critic_obs: torch.Tensor | None) -> torch.Tensor:
        if critic_obs is None:
            raise ValueError("this policy's critic reads its own observation; pass critic_obs")
        return critic_obs
