"""Episode statistics of a training rollout: what the trainers log under `episode/`, `rollout/` and `env/`."""

from __future__ import annotations

from collections import defaultdict

import torch

from assistmimic.rl import distributed


class EpisodeStatistics:
    """Per-world sums over the running episodes and, since the last `summary`, totals of the episodes that
    ended and per-step means. Quantities are per agent (N, A) under a name, env metrics per world (N,)."""

    def __init__(self, num_envs: int, num_agents: int, device: torch.device):
        self.num_agents = num_agents
        self.length = torch.zeros(num_envs, device=device)
        self.running: dict[str, torch.Tensor] = {}
        """name -> (N, A) sums over each world's current episode."""
        self._reset_totals(device)

    def _reset_totals(self, device: torch.device) -> None:
        self.finished_count = torch.zeros((), device=device)
        self.finished_length = torch.zeros((), device=device)
        self.finished: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(self.num_agents, device=device))
        self.step_sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros(self.num_agents, device=device))
        self.metric_sums: dict[str, torch.Tensor] = defaultdict(lambda: torch.zeros((), device=device))
        self.world_steps = 0

    def add(self, per_agent: dict[str, torch.Tensor], metrics: dict[str, torch.Tensor], done: torch.Tensor) -> None:
        """One step of every world; `done` (N,) marks the worlds whose episode ended with this step."""
        self.length += 1
        done_f = done.float()
        self.finished_count += done_f.sum()
        self.finished_length += (self.length * done_f).sum()
        self.length.masked_fill_(done, 0)
        for name, value in per_agent.items():
            running = self.running.setdefault(name, torch.zeros_like(value))
            running += value
            self.step_sums[name] += value.sum(0)
            self.finished[name] += (running * done_f[:, None]).sum(0)
            running.masked_fill_(done[:, None], 0.0)
        for name, value in metrics.items():
            self.metric_sums[name] += value.float().sum()
        self.world_steps += done.shape[0]

    def summary(self) -> dict[str, float]:
        """`episode/<name>/agent<a>`: mean sum over the episodes that ended (absent when none did);
        `rollout/<name>/agent<a>`: mean per step; `env/<metric>`: mean per step; `episode/length`, `episode/count`.
        Under torchrun every rank calls this together and gets the statistics of all ranks' worlds."""
        totals = distributed.sum_over_ranks({
            "count": self.finished_count, "length": self.finished_length,
            "world_steps": torch.tensor(float(self.world_steps), device=self.finished_count.device),
            **{f"finished/{name}": total for name, total in self.finished.items()},
            **{f"step/{name}": total for name, total in self.step_sums.items()},
            **{f"metric/{name}": total for name, total in self.metric_sums.items()}})
        count, world_steps = float(totals["count"]), float(totals["world_steps"])
        scalars = {"episode/count": count}
        if count > 0:
            scalars["episode/length"] = float(totals["length"]) / count
        for name in self.finished:
            for a in range(self.num_agents):
                if count > 0:
                    scalars[f"episode/{name}/agent{a}"] = float(totals[f"finished/{name}"][a]) / count
                scalars[f"rollout/{name}/agent{a}"] = float(totals[f"step/{name}"][a]) / world_steps
        for name in self.metric_sums:
            scalars[f"env/{name}"] = float(totals[f"metric/{name}"]) / world_steps
        self._reset_totals(self.length.device)
        return scalars
