"""Config schema of the simulator (group sim/): time step, solver and backend settings.

A plain dataclass: the stages' config module (`stages/config.py`) registers it as the config group sim/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistmimic.limits import above, at_least


@dataclass
class SimConfig:
    backend: str = "cpu"
    """Simulator backend: "cpu" (mujoco.rollout threads) or "warp" (mujoco_warp batched worlds on a GPU; CG/Newton solver only)."""
    device: str | None = None
    """warp: Warp device ("cuda:0", "cpu"); None: cuda:$LOCAL_RANK when Warp sees a GPU, else cpu. The cpu backend ignores it."""
    physics_dt: float = field(default=1.0 / 120.0, metadata=above(0))
    """Physics time step (s)."""
    substeps: int = field(default=4, metadata=at_least(1))
    """Physics steps per policy step (4 at 120 Hz gives a 30 Hz policy)."""
    nthread: int | None = field(default=None, metadata=at_least(1))
    """Simulation threads; None uses every core."""
    solver: str = "PGS"
    """MuJoCo constraint solver: PGS (fastest on CPU here), CG or Newton."""
    iterations: int = field(default=20, metadata=at_least(1))
    """Constraint solver iterations."""
    max_joint_velocity: float = field(default=100.0, metadata=above(0))
    """A world whose |qvel| exceeds this (rad/s or m/s), or holds NaN, counts as diverged and is reset."""
    nconmax: int | None = field(default=None, metadata=at_least(1))
    """warp: contacts allocated per world (pooled over all worlds); None: 3x those of the settled standing scene, at least 64."""
    njmax: int | None = field(default=None, metadata=at_least(1))
    """warp: constraint rows per world (a hard per-world cap); None: rows for nconmax contacts plus every limited joint."""
    graph_capture: bool = True
    """warp: replay the physics substeps of a policy step as one Warp graph (CUDA graph; on the CPU a launch list)."""
    torch_threads: int | None = field(default=1, metadata=at_least(1))
    """torch intra-op threads for the whole run; 1 leaves the cores to MuJoCo's threads (faster on a small CPU), None: torch's default."""
