"""Each world's furniture follows its clip: a table of every clip's slot poses, built once, looked up at resets.

The table holds, per clip of the motion library, the pose of each of the scene's furniture slots that puts the
clip's furniture in place (the scene's default furniture for a clip without any; unused slots parked:
`assistmimic/mjcf/furniture.py`). A reset looks the clips' rows up on the device and hands them to the backend, by
world id or through the reset mask, so placing furniture adds no host sync to a step.
"""

from __future__ import annotations

import numpy as np
import torch

from assistmimic.sim.backend import SimBackend
from motion_lib.motion_library import MotionLibrary


class FurnitureTable:
    """(C, S, 7) slot poses (position, rotation w x y z) of every clip of `library` in `backend`'s scene, on its device."""

    def __init__(self, backend: SimBackend, library: MotionLibrary):
        furniture = backend.furniture
        poses = np.stack([furniture.poses(items, f"clip '{name}'")
                          for name, items in zip(library.clip_names, library.clip_furniture)])
        self.backend = backend
        self.poses = torch.as_tensor(poses, dtype=torch.float32, device=backend.device)
        self.num_slots = len(furniture.slots)

    def place(self, env_ids: torch.Tensor, clip_ids: torch.Tensor) -> None:
        """Furnish the worlds `env_ids` (n,) for the clips `clip_ids` (n,)."""
        if self.num_slots:
            self.backend.place_furniture(env_ids, self.poses[clip_ids])

    def place_where(self, mask: torch.Tensor, clip_ids: torch.Tensor) -> None:
        """Furnish the worlds where the (N,) bool `mask` is set for their entries of `clip_ids` (N,)."""
        if self.num_slots:
            self.backend.place_furniture_where(mask, self.poses[clip_ids])
