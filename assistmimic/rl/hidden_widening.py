"""Function-preserving widening of a policy's hidden layers: more units per layer, the same depth.

A trained policy continued with more capacity starts from a new policy's state (random initial weights of the wider
shapes) into which the trained weights are copied. In every Linear layer of an MLP chain (hidden layers, then the head:
`mu` or `value_head`), the old units' rows keep their trained weights and get zero weights from the new units of the
layer below; the new units' rows keep their random initial weights. The head's weights from new units are zero, so the
new units contribute exactly 0.0 to the means and values: the widened policy acts as the trained one, and gradients
reach the new units' outgoing weights from the first update (Net2Net-style widening with zero outgoing weights).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# The Linear layers of each chain in a policy's state dict (Linear layers at even indices of the Sequential).
CHAINS = {"actor_hidden": ("actor_mlp", "mu"), "critic_hidden": ("critic_mlp", "value_head")}


def is_widening(old_hidden: Sequence[int], new_hidden: Sequence[int]) -> bool:
    """Whether `new_hidden` widens `old_hidden`: the same depth, no layer narrower, at least one wider."""
    return (len(old_hidden) == len(new_hidden) and all(n >= o for o, n in zip(old_hidden, new_hidden))
            and list(old_hidden) != list(new_hidden))


def _layer_names(mlp: str, head: str, depth: int) -> list[str]:
    return [f"{mlp}.{2 * i}" for i in range(depth)] + [head]


def widen_chain(trained: dict[str, torch.Tensor], fresh: dict[str, torch.Tensor], mlp: str, head: str,
                depth: int) -> dict[str, torch.Tensor]:
    """The weights and biases of the chain `mlp` (`depth` hidden layers) then `head` in `fresh`'s wider shapes:
    `trained`'s values in the old rows and columns, zeros where an old row reads a new unit, `fresh`'s random
    initial values in the new rows. Keys as in a state dict ("actor_mlp.0.weight", ..., "mu.bias")."""
    widened = {}
    for name in _layer_names(mlp, head, depth):
        old_weight, old_bias = trained[f"{name}.weight"], trained[f"{name}.bias"]
        weight, bias = fresh[f"{name}.weight"].clone(), fresh[f"{name}.bias"].clone()
        rows, cols = old_weight.shape
        weight[:rows, :cols] = old_weight
        weight[:rows, cols:] = 0.0
        bias[:rows] = old_bias
        widened[f"{name}.weight"], widened[f"{name}.bias"] = weight, bias
    return widened
