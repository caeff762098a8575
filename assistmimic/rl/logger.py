"""Training scalars to three places: a tqdm progress bar, TensorBoard event files (`run_dir/tb`) and
`run_dir/metrics.jsonl` (one JSON object per logged iteration with `iteration` and every scalar, flushed at once).
The progress bar also counts the worlds that diverged (and were reset) since the run started.

A run that starts (or resumes) at iteration k first drops what was logged after k: the JSONL lines are
rewritten atomically and TensorBoard purges its events from step k + 1, so the metrics continue
without duplicates.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from assistmimic.run_files import atomic_write_bytes

METRICS_FILE = "metrics.jsonl"
TENSORBOARD_DIR = "tb"


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file; a line cut short by a crash is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def diverged_worlds(scalars: dict[str, float], world_steps: int) -> int:
    """Worlds reset for divergence in an iteration of `world_steps` world steps: its mean `env/diverged` (per world
    step) times the steps; 0 for an env without that metric."""
    return round(scalars["env/diverged"] * world_steps) if "env/diverged" in scalars else 0


def truncate_metrics(path: str | Path, last_iteration: int) -> None:
    """Atomically drop the records of iterations after `last_iteration` (and unreadable lines)."""
    path = Path(path)
    if not path.is_file():
        return
    kept = [record for record in read_metrics(path) if record["iteration"] <= last_iteration]
    atomic_write_bytes(path, "".join(json.dumps(record) + "\n" for record in kept).encode())


class RunLogger:
    """Progress bar, TensorBoard and metrics.jsonl of one training run starting after `start_iteration`."""

    def __init__(self, run_dir: str | Path, start_iteration: int, max_iterations: int):
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = run_dir / METRICS_FILE
        truncate_metrics(self.metrics_path, start_iteration)
        self.metrics_file = self.metrics_path.open("a")
        self.writer = SummaryWriter(str(run_dir / TENSORBOARD_DIR), purge_step=start_iteration + 1)
        self.progress_bar = tqdm(total=max_iterations, initial=start_iteration, unit="it", dynamic_ncols=True)
        self.diverged = 0
        """Worlds that diverged since this logger started."""

    def write(self, iteration: int, scalars: dict[str, float]) -> None:
        """One JSONL line (non-finite values written as null) and one TensorBoard point per scalar."""
        record = {"iteration": iteration}
        record.update({name: value if math.isfinite(value) else None for name, value in scalars.items()})
        self.metrics_file.write(json.dumps(record) + "\n")
        self.metrics_file.flush()
        for name, value in scalars.items():
            self.writer.add_scalar(name, value, iteration)

    def advance(self, postfix: str, diverged: int) -> None:
        """Move the progress bar one iteration on, showing `postfix` beside it and, once any world diverged, how many
        did (`diverged`: this iteration's)."""
        self.diverged += diverged
        if self.diverged:
            postfix += f" diverged {self.diverged}"
        self.progress_bar.set_postfix_str(postfix, refresh=False)
        self.progress_bar.update(1)

    def close(self) -> None:
        self.progress_bar.close()
        self.writer.close()
        self.metrics_file.close()


class NullLogger:
    """`RunLogger`'s interface, logging nothing: what ranks other than 0 use under torchrun (rank 0 logs)."""

    def write(self, iteration: int, scalars: dict[str, float]) -> None:
        """Nothing."""

    def advance(self, postfix: str, diverged: int) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""
