"""A stick-figure picture of one clip frame (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from motion_lib.clip import ROLES, Clip
from motion_lib.errors import UserInputError
from motion_lib.formats.common import body_positions
from motion_lib.skeleton import get_skeleton

PERSON_COLOURS = ("tab:blue", "tab:red")  # supporter, recipient


def draw_frame(clip: Clip, frame: int, path: str | Path) -> Path:
    """Save a 3D stick figure of `clip` at `frame` (bones, joints, a floor grid) to the PNG `path`."""
    if not 0 <= frame < clip.num_frames:
        raise UserInputError(f"clip '{clip.name}' has frames 0..{clip.num_frames - 1}; cannot draw frame {frame}")
    skeleton = get_skeleton(clip.skeleton)
    positions = [body_positions(p, skeleton)[frame] for p in clip.persons]  # each (B, 3)
    figure = plt.figure(figsize=(6, 6))
    axes = figure.add_subplot(projection="3d")
    for person, pos in enumerate(positions):
        label = ROLES[person] if len(positions) == 2 else "person"
        for child, parent in enumerate(skeleton.parents):
            if parent >= 0:
                axes.plot(*pos[[parent, child]].T, color=PERSON_COLOURS[person], linewidth=2)
        axes.scatter(*pos.T, color=PERSON_COLOURS[person], s=8, label=label)
    everything = np.concatenate(positions)
    centre, half = everything.mean(axis=0), max(np.ptp(everything, axis=0).max() / 2, 1.0)
    grid = np.linspace(-half, half, 5)
    for g in grid:
        axes.plot(centre[0] + grid[[0, -1]], [centre[1] + g] * 2, [0, 0], color="0.8", linewidth=0.5)
        axes.plot([centre[0] + g] * 2, centre[1] + grid[[0, -1]], [0, 0], color="0.8", linewidth=0.5)
    axes.set(xlim=(centre[0] - half, centre[0] + half), ylim=(centre[1] - half, centre[1] + half), zlim=(0, 2 * half),
             xlabel="x (m)", ylabel="y (m)", zlabel="z (m)", title=f"{clip.name}  frame {frame} ({frame / clip.fps:.2f} s)")
    axes.legend(loc="upper left")
    path = Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
