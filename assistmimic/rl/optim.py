"""The Adam optimiser every learner here builds: torch's fused kernel where the parameters' device has one.

On a CPU the fused step is about 10x faster than torch's default per-tensor loop (0.4 vs 5 ms for a
one-million-parameter actor-critic on 2 cores), which matters with the dozens of small steps PPO and AMP take
per iteration. It computes Adam's update as the default does, up to floating-point rounding.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from assistmimic.rl.config import DEFAULT_ADAM_BETAS

FUSED_DEVICES = ("cpu", "cuda")
"""Device types with a fused Adam kernel in torch."""


def has_fused_adam(params: list[torch.Tensor]) -> bool:
    """Whether torch's fused Adam kernel can step `params`: some, all on a FUSED_DEVICES device."""
    return bool(params) and all(param.device.type in FUSED_DEVICES for param in params)


def make_adam(params: Iterable[torch.nn.Parameter], lr: float, betas: tuple[float, float] = DEFAULT_ADAM_BETAS
              ) -> torch.optim.Adam:
    """Adam over `params` with learning rate `lr` and moment decay rates `betas`, fused where `has_fused_adam`."""
    params = list(params)
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True if has_fused_adam(params) else None)
