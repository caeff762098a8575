"""Motion-prior initialisation: append new observation inputs (and new actions) to a trained policy without changing it.

The first actor and critic layers become [W | 0] (zero columns for the new inputs, at the end), the
normaliser gets mean 0, var 1 for them (count kept), everything else is copied. Because the first
layers sum one product per input group (`SplitInputLinear`), the widened policy's means, values and,
under the same random state, sampled actions are bit-identical to the prior's for any new inputs.
New actions (the grip commands of `scene.grip`) are new rows of the action-mean layer: zero weights and a
chosen bias, so they start at that constant and the prior's actions keep their means exactly.
`widened_prior` starts the experts' policies this way from a prior checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import torch

from assistmimic.rl.checkpoint import load_training_checkpoint
from assistmimic.rl.policy import ActorCritic
from motion_lib.errors import UserInputError


def _zero_columns(weight: torch.Tensor, num_new: int) -> torch.Tensor:
    return torch.cat([weight, weight.new_zeros(weight.shape[0], num_new)], dim=1)


def _extend_normalizer(state: dict[str, torch.Tensor], prefix: str, num_new: int) -> None:
    mean, var = state[f"{prefix}.mean"], state[f"{prefix}.var"]
    state[f"{prefix}.mean"] = torch.cat([mean, mean.new_zeros(num_new)])
    state[f"{prefix}.var"] = torch.cat([var, var.new_ones(num_new)])


def widen_policy_inputs(policy: ActorCritic, num_new_inputs: int, num_new_critic_inputs: int = 0) -> ActorCritic:
    """A new policy whose observation has `num_new_inputs` more entries at the end, acting exactly as `policy`.

    A critic that reads the actor observation widens with it; a critic with its own observation widens
    by `num_new_critic_inputs` (0 keeps it as is).
    """
    if num_new_inputs < 1:
        raise UserInputError(f"widening needs at least one new input; got num_new_inputs={num_new_inputs}")
    if num_new_critic_inputs < 0 or (num_new_critic_inputs and not policy.has_critic_obs):
        raise UserInputError(f"num_new_critic_inputs={num_new_critic_inputs} is invalid: it must be >= 0, and 0 "
                             "when the critic reads the actor observation (it then widens with it)")
    shared = not policy.has_critic_obs
    new_critic = num_new_inputs if shared else num_new_critic_inputs
    critic_dims = None if shared else policy.critic_obs_dims + ((new_critic,) if new_critic else ())
    widened = ActorCritic(policy.obs_dims + (num_new_inputs,), policy.action_dim, policy.config, critic_dims)

    state = {name: value.clone() for name, value in policy.state_dict().items()}
    state["actor_mlp.0.weight"] = _zero_columns(state["actor_mlp.0.weight"], num_new_inputs)
    _extend_normalizer(state, "obs_normalizer", num_new_inputs)
    if new_critic:
        state["critic_mlp.0.weight"] = _zero_columns(state["critic_mlp.0.weight"], new_critic)
    if new_critic and not shared:
        _extend_normalizer(state, "critic_obs_normalizer", new_critic)
    widened.load_state_dict(state)
    return widened.to(policy.log_std.device)


def widen_policy_outputs(policy: ActorCritic, num_new_actions: int, bias: float) -> ActorCritic:
    """A new policy with `num_new_actions` more actions at the end whose means start at `bias` (zero rows of the
    action-mean layer with that bias) and whose log std is the policy config's `init_log_std`; the other actions'
    means and stds, and the values, are exactly the policy's."""
    if num_new_actions < 1:
        raise UserInputError(f"widening the actions needs at least one new action; got num_new_actions={num_new_actions}")
    critic_dims = policy.critic_obs_dims if policy.has_critic_obs else None
    widened = ActorCritic(policy.obs_dims, policy.action_dim + num_new_actions, policy.config, critic_dims)
    state = {name: value.clone() for name, value in policy.state_dict().items()}
    weight, mu_bias = state["mu.weight"], state["mu.bias"]
    state["mu.weight"] = torch.cat([weight, weight.new_zeros(num_new_actions, weight.shape[1])])
    state["mu.bias"] = torch.cat([mu_bias, mu_bias.new_full((num_new_actions,), bias)])
    log_std = state["log_std"]
    state["log_std"] = torch.cat([log_std, log_std.new_full((num_new_actions,), policy.config.init_log_std)])
    widened.load_state_dict(state)
    return widened.to(policy.log_std.device)


def widened_prior(path: Path, robot: str, residual_actions: bool, observation_groups: list[tuple[int, ...]],
                  action_dims: list[int], grip_dims: list[int], grip_bias: float) -> list[ActorCritic]:
    """One policy per agent from the prior in `path`, widened by the agent's assistive inputs (its second
    observation group) and by its `grip_dims` grip actions (means starting at `grip_bias`), after checking the prior
    against the run: one policy, trained for `robot`, with the same action semantics (`residual_actions`), and the
    sizes of each agent's tracking part (`action_dims` counts the grip actions)."""
    state = load_training_checkpoint(path)
    metadata = state.get("metadata") or {}
    if len(state["policies"]) != 1:
        raise UserInputError(f"{path}: a prior holds one policy, this checkpoint holds {len(state['policies'])}")
    if metadata.get("robot", robot) != robot:
        raise UserInputError(f"{path}: the prior was trained for the {metadata['robot']} robot, this run uses {robot}")
    trained_residual = (metadata.get("env_config") or {}).get("residual_actions", False)
    if trained_residual != residual_actions:
        raise UserInputError(f"{path}: the prior was trained with residual_actions={trained_residual}; "
                             f"set stage.env.residual_actions={str(trained_residual).lower()} to start from it")
    policies = []
    for groups, action_dim, grips in zip(observation_groups, action_dims, grip_dims):
        prior = ActorCritic.from_saved_state(state["policies"][0])
        if prior.obs_dims != groups[:1] or prior.action_dim != action_dim - grips:
            raise UserInputError(f"{path}: the prior takes {sum(prior.obs_dims)} observations and gives {prior.action_dim} "
                                 f"actions; this robot's tracking part has {groups[0]} and {action_dim - grips}")
        policy = widen_policy_inputs(prior, groups[1])
        policies.append(widen_policy_outputs(policy, grips, grip_bias) if grips else policy)
    return policies
