"""Build an ActorCritic from an rl_games / PHC checkpoint (REFERENCE §2), and write it as a prior file that
`stage=expert stage.prior=<file>` starts from (`import_prior`).

Keys read from the checkpoint's `model` dict:
    running_mean_std.{running_mean, running_var, count}   observation normaliser
    a2c_network.sigma                                     log-std per action dimension
    a2c_network.actor_mlp.{0,2,4,..}.{weight,bias}        actor hidden layers, and
    a2c_network.mu.{weight,bias}                          the mean layer
  or, PHC's PNN variant, a2c_network.pnn.actors.0.{0,2,..,2k}.{weight,bias} (column 0; its last layer is mu)
    a2c_network.critic_mlp.*, a2c_network.value.*         the separate critic (optional)
    value_mean_std.{running_mean, running_var}            value normaliser (optional; folded into the value layer)

Hidden sizes come from the weights. Without a critic in the checkpoint, the critic gets the actor's
hidden sizes, a fresh initialisation and a zero value layer (values start at 0). With a value
normaliser, its de-normalisation v * sqrt(var + 1e-5) + mean is folded into the value layer (rl_games
also clips v to +-5 first; the folded layer does not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from assistmimic.rl.checkpoint import load_checkpoint, save_checkpoint
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.normalizer import EPSILON
from assistmimic.rl.policy import ActorCritic
from motion_lib.errors import UserInputError

NORMALIZER = "running_mean_std"
VALUE_NORMALIZER = "value_mean_std"
NET = "a2c_network"
PNN_ACTOR = f"{NET}.pnn.actors.0."


def _linear_stack(model: Mapping[str, torch.Tensor], prefix: str, source: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of the Linear layers of an nn.Sequential saved under `prefix`, at indices 0, 2, 4, ..."""
    indices = set()
    for key in model:
        if key.startswith(prefix):
            match = re.fullmatch(r"(\d+)\.(weight|bias)", key[len(prefix):])
            if match is None or int(match.group(1)) % 2:
                raise UserInputError(f"{source}: unsupported layer {key!r} (only Linear layers at even indices "
                                     "with activations between them can be imported)")
            indices.add(int(match.group(1)))
    expected = list(range(0, 2 * len(indices), 2))
    missing = [f"{prefix}{i}.{p}" for i in expected for p in ("weight", "bias") if f"{prefix}{i}.{p}" not in model]
    if sorted(indices) != expected or missing:
        raise UserInputError(f"{source}: the layers under {prefix!r} are not Linear layers at indices "
                             f"{expected}; found indices {sorted(indices)}, missing keys {missing}")
    return [(model[f"{prefix}{i}.weight"], model[f"{prefix}{i}.bias"]) for i in expected]


def _check_chain(layers: list[tuple[torch.Tensor, torch.Tensor]], input_dim: int, output_dim: int, what: str,
                 source: str) -> None:
    """Each layer's input size is the previous one's output size; the first reads `input_dim`, the last gives `output_dim`."""
    sizes = [input_dim] + [w.shape[0] for w, _ in layers]
    for (weight, bias), size_in, size_out in zip(layers, sizes[:-1], sizes[1:]):
        if weight.dim() != 2 or weight.shape[1] != size_in or bias.shape != (size_out,):
            raise UserInputError(f"{source}: inconsistent {what} layer shapes: weight {tuple(weight.shape)} and bias "
                                 f"{tuple(bias.shape)} where the input has {size_in} entries")
    if sizes[-1] != output_dim:
        raise UserInputError(f"{source}: the {what} gives {sizes[-1]} outputs, expected {output_dim}")


def _require(model: Mapping[str, Any], keys: list[str], source: str) -> None:
    missing = [k for k in keys if k not in model]
    if missing:
        raise UserInputError(f"{source} is not an rl_games/PHC policy checkpoint: missing keys {missing}")


def _check_shape(key: str, tensor: torch.Tensor, expected: tuple[int, ...], source: str) -> None:
    if tuple(tensor.shape) != expected:
        raise UserInputError(f"{source}: {key} has shape {tuple(tensor.shape)}, expected {expected}")


def _actor_layers(model: Mapping[str, torch.Tensor], source: str) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The actor's hidden layers followed by its mean layer."""
    if any(key.startswith(PNN_ACTOR) for key in model):
        layers = _linear_stack(model, PNN_ACTOR, source)
        if len(layers) < 2:
            raise UserInputError(f"{source}: the PNN actor {PNN_ACTOR!r} needs a hidden layer before its mean layer")
        return layers
    _require(model, [f"{NET}.actor_mlp.0.weight", f"{NET}.mu.weight", f"{NET}.mu.bias"], source)
    return _linear_stack(model, f"{NET}.actor_mlp.", source) + [(model[f"{NET}.mu.weight"], model[f"{NET}.mu.bias"])]


def _critic_layers(model: Mapping[str, torch.Tensor], source: str) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """The critic's hidden layers followed by its value layer (with any value normaliser folded in), or None."""
    if not any(key.startswith(f"{NET}.critic_mlp.") for key in model):
        return None
    _require(model, [f"{NET}.value.weight", f"{NET}.value.bias"], source)
    weight, bias = model[f"{NET}.value.weight"], model[f"{NET}.value.bias"]
    if f"{VALUE_NORMALIZER}.running_mean" in model:
        _require(model, [f"{VALUE_NORMALIZER}.running_var"], source)
        mean = model[f"{VALUE_NORMALIZER}.running_mean"].to(weight.dtype)
        std = torch.sqrt(model[f"{VALUE_NORMALIZER}.running_var"].to(weight.dtype) + EPSILON)
        weight, bias = weight * std, bias * std + mean
    return _linear_stack(model, f"{NET}.critic_mlp.", source) + [(weight, bias)]


def import_rl_games_checkpoint(source: str | Path | Mapping[str, Any], *, activation: str,
                               learn_log_std: bool) -> ActorCritic:
    """An ActorCritic computing what the rl_games/PHC policy in `source` computes.

    source: a checkpoint file (loaded with full unpickling, as rl_games saves more than tensors:
        import only files you trust), a loaded checkpoint dict with a `model` entry, or that `model` dict.
    activation: the hidden-layer activation the checkpoint was trained with (PHC: "silu").
    learn_log_std: whether the imported log-std is trained further.
    """
    if isinstance(source, (str, Path)):
        name = f"checkpoint file {source}"
        checkpoint = load_checkpoint(source, weights_only=False)
    else:
        name, checkpoint = "the given checkpoint dict", source
    model = checkpoint.get("model", checkpoint)
    _require(model, [f"{NORMALIZER}.running_mean", f"{NORMALIZER}.running_var", f"{NORMALIZER}.count",
                     f"{NET}.sigma"], name)
    obs_mean = model[f"{NORMALIZER}.running_mean"]
    log_std = model[f"{NET}.sigma"]
    obs_dim, action_dim = obs_mean.shape[0], log_std.shape[0]
    actor = _actor_layers(model, name)
    critic = _critic_layers(model, name)

    _check_shape(f"{NORMALIZER}.running_var", model[f"{NORMALIZER}.running_var"], (obs_dim,), name)
    _check_chain(actor, obs_dim, action_dim, "actor", name)
    actor_hidden = [w.shape[0] for w, _ in actor[:-1]]
    critic_hidden = actor_hidden if critic is None else [w.shape[0] for w, _ in critic[:-1]]
    if critic is not None:
        _check_chain(critic, obs_dim, 1, "critic", name)

    config = PolicyConfig(actor_hidden=actor_hidden, critic_hidden=critic_hidden, activation=activation,
                          init_log_std=float(log_std.float().mean()), learn_log_std=learn_log_std)
    policy = ActorCritic([obs_dim], action_dim, config)
    state = policy.state_dict()
    state["obs_normalizer.mean"] = obs_mean
    state["obs_normalizer.var"] = model[f"{NORMALIZER}.running_var"]
    state["obs_normalizer.count"] = model[f"{NORMALIZER}.count"].reshape(())
    state["log_std"] = log_std
    for i, (weight, bias) in enumerate(actor[:-1]):
        state[f"actor_mlp.{2 * i}.weight"], state[f"actor_mlp.{2 * i}.bias"] = weight, bias
    state["mu.weight"], state["mu.bias"] = actor[-1]
    if critic is None:
        state["value_head.weight"] = torch.zeros_like(state["value_head.weight"])
        state["value_head.bias"] = torch.zeros_like(state["value_head.bias"])
    else:
        for i, (weight, bias) in enumerate(critic[:-1]):
            state[f"critic_mlp.{2 * i}.weight"], state[f"critic_mlp.{2 * i}.bias"] = weight, bias
        state["value_head.weight"], state["value_head.bias"] = critic[-1]
    policy.load_state_dict(state)
    return policy


def import_prior(source: Path, output: Path, robot: str) -> dict:
    """Write the imported policy as a one-policy checkpoint with the metadata the expert stage checks. PHC
    policies output absolute PD targets (`residual_actions` false) through SiLU layers, with a fixed log-std."""
    policy = import_rl_games_checkpoint(source, activation="silu", learn_log_std=False)
    state = {"iteration": 0, "policies": [policy.saved_state()],
             "metadata": {"robot": robot, "env_config": {"residual_actions": False}, "imported_from": str(source)}}
    save_checkpoint(output, state)
    return state
