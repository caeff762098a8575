"""PNG plots of a run: training curves from `metrics.jsonl` and per-clip outcomes from an `eval_clips.csv`.

Training curves: one figure per metric prefix (`episode/`, `rollout/`, `env/`, `ppo/`, `amp/`, `perf/`, then any
other), one panel per metric with one line per agent (the `agent<k>` part of a name: supporter = agent 0,
recipient = agent 1 in two-agent runs), over the iteration. Only scalar values are drawn; null gaps the line.
Figures are drawn off-screen by matplotlib's Agg canvas (no pyplot, no display).
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from motion_lib.clip import ROLES

GROUP_ORDER = ("episode", "rollout", "env", "ppo", "amp", "perf")
"""Metric prefixes in the order their figures appear (others follow alphabetically)."""
GROUP_TITLES = {
    "episode": "Finished episodes: returns (task, style, total), per-term reward sums, length",
    "rollout": "Per-step rewards and reward terms, averaged over the rollout",
    "env": "Environment: tracking error (m), contact, support force, torque, divergences",
    "ppo": "PPO updates", "amp": "AMP discriminators", "perf": "Throughput",
}
AGENT = re.compile(r"(^|/)agent(\d+)(/|$)")
"""The agent part of a metric name: a whole path segment "agent<k>"."""
COLUMNS = 4
"""Panels per row of a training-curve figure."""
COMPACT = FuncFormatter(lambda value, _: f"{value:.3g}")
"""Tick labels with 3 significant digits (keeps the fixed margins wide enough)."""
MAX_CLIPS = 100
"""Clips drawn in a per-clip chart (the first ones of the table)."""


def _series(key: str) -> tuple[str, int | None]:
    """(`key` without its `agent<k>` part, k) -- k None when the key names no agent."""
    match = AGENT.search(key)
    if match is None:
        return key, None
    joint = match.group(1) if match.group(3) else ""  # keep one "/" where the agent part sat between two
    return (key[:match.start()] + joint + key[match.end():]).strip("/"), int(match.group(2))


def _agent_label(agent: int | None, two_agents: bool) -> str:
    if agent is None:
        return "value"
    return ROLES[agent] if two_agents and agent < len(ROLES) else f"agent {agent}"


def plot_metrics(records: list[dict[str, Any]], out_dir: Path) -> list[Path]:
    """Training-curve PNGs of metrics records (one dict per iteration with "iteration") in `out_dir`, one per
    prefix (`<prefix>.png`); returns their paths (none without numeric metrics)."""
    iterations = [record["iteration"] for record in records]
    keys = sorted({k for r in records for k, v in r.items() if k != "iteration" and isinstance(v, (int, float))
                   and not isinstance(v, bool)})
    two_agents = any(_series(k)[1] == 1 for k in keys)
    groups: dict[str, dict[str, list[tuple[int | None, str]]]] = {}
    for key in keys:
        name, agent = _series(key)
        prefix, _, rest = name.partition("/")
        groups.setdefault(prefix, {}).setdefault(rest or prefix, []).append((agent, key))
    order = [g for g in GROUP_ORDER if g in groups] + sorted(set(groups) - set(GROUP_ORDER))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for prefix in order:
        panels = groups[prefix]
        rows = math.ceil(len(panels) / COLUMNS)
        columns = min(COLUMNS, len(panels))
        height = 2.4 * rows + 0.7
        fig = Figure(figsize=(3.6 * columns, height))
        axes = fig.subplots(rows, columns, squeeze=False, sharex=True)
        # Fixed margins: matplotlib's tight_layout doubles the time of these many-panel figures.
        fig.subplots_adjust(left=0.06, right=0.98, bottom=0.35 / height, top=1 - 0.7 / height, hspace=0.45, wspace=0.3)
        for ax, (title, lines) in zip(axes.flat, panels.items()):
            for agent, key in sorted(lines, key=lambda line: -1 if line[0] is None else line[0]):
                values = [_number(record.get(key)) for record in records]
                ax.plot(iterations, values, marker="." if len(iterations) < 30 else None,
                        label=_agent_label(agent, two_agents))
            ax.set_title(title, fontsize=9, y=1.0)  # a fixed position skips matplotlib's costly title placement
            ax.tick_params(labelsize=7)
            ax.yaxis.set_major_formatter(COMPACT)
            ax.yaxis.set_major_locator(MaxNLocator(4))
            ax.grid(alpha=0.3)
            if len(lines) > 1:
                ax.legend(fontsize=7)
        axes[0, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
        for index in range(len(panels), rows * columns):  # empty slots of the last row
            axes.flat[index].axis("off")
            axes.flat[index - columns].tick_params(labelbottom=True)  # shared x: the panel above shows the ticks
        fig.suptitle(f"{GROUP_TITLES.get(prefix, prefix)} (x: iteration)", fontsize=11)
        path = out_dir / f"{prefix}.png"
        fig.savefig(path, dpi=80)
        paths.append(path)
    return paths


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def plot_clip_outcomes(csv_path: Path, out_path: Path, label: str | None = None) -> Path:
    """A horizontal bar per row of an evaluation table (`eval_clips.csv` of `stage=eval`, or a table with its
    columns): the clip's MPJPE, green if the clip was tracked to its end, red if it failed (annotated with the
    reason and time), labelled with the clip (and the `policy` where the table names one, as distill's does);
    titled `label` (default: the file's name). Returns `out_path`."""
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    shown = rows[:MAX_CLIPS]
    successes = sum(row["success"] == "True" for row in rows)
    fig = Figure(figsize=(8, 1.2 + 0.3 * len(shown)))
    ax = fig.subplots()
    errors = [float(row["mpjpe_mm"]) for row in shown]
    colours = ["tab:green" if row["success"] == "True" else "tab:red" for row in shown]
    positions = range(len(shown))
    ax.barh(positions, errors, color=colours)
    ax.set_yticks(positions, [f"{row['clip']} ({row['policy']})" if row.get("policy") else row["clip"] for row in shown],
                  fontsize=8)
    ax.invert_yaxis()
    for y, (row, error) in enumerate(zip(shown, errors)):
        note = "tracked to the end" if row["success"] == "True" else \
            f"{row.get('failure') or 'failed'} at {row['failed_at_s']} s"
        ax.text(error, y, f" {note}", va="center", fontsize=7)
    ax.set_xlabel("MPJPE (mm)")
    ax.set_xlim(0, max(errors + [1.0]) * 1.6)
    more = f", first {len(shown)} shown" if len(rows) > len(shown) else ""
    ax.set_title(f"{label or csv_path.name}: {successes}/{len(rows)} clips succeeded{more} "
                 "(green: success, red: failure)", fontsize=9)
    fig.tight_layout()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=80)
    return out_path
