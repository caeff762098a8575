"""Random streams of the updates: where a draw with a generator happens, and one stream per agent's update.

Each agent's update draws its minibatch order, replay samples and reference samples from its own generator,
seeded from torch's default generator when the update starts; so the agents' updates give the same results
whether they run one after another or in parallel threads, and a resumed run (which restores the default
generator) draws the same streams.
"""

from __future__ import annotations

import torch


def draw_device(generator: torch.Generator | None) -> torch.device:
    """Where a random draw with `generator` happens: on its device, or on the CPU for torch's default one."""
    return torch.device("cpu") if generator is None else generator.device


def update_generators(count: int, device: torch.device | str) -> list[torch.Generator]:
    """`count` generators on `device`, seeded from torch's default generator (one draw of it)."""
    seeds = torch.randint(2**62, (count,)).tolist()
    return [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
