"""`report.html` of a run directory: what the run did, on one page, with relative links (the folder can be moved).

Gathers what the run wrote: the headline numbers of `summary.json`, its videos (`videos/*.mp4`, and the
`video` of the summary), the per-clip evaluation charts and tables (`CLIP_TABLES` in the run folder or
one level below, e.g. `eval/`), the training curves of `metrics.jsonl` with a table of first and last
values, other PNG figures of the run folder, the resolved `config.yaml` and the full summary. The plots go
to `plots/`. A plot that fails is left out with a note (the report is written anyway).
"""

from __future__ import annotations

import csv
import functools
import html
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from assistmimic.rl.logger import METRICS_FILE, read_metrics
from assistmimic.run_files import atomic_write_bytes

REPORT_FILE = "report.html"
PLOTS_DIR = "plots"
CLIP_TABLES = ("eval_clips*.csv", "track_clips*.csv", "distill_eval.csv")
"""Per-clip evaluation tables (one row per clip, `stage=eval`'s columns): eval's (also under expert's `eval/`),
track's, and distill's (whose rows also name the `policy`: student or expert)."""
MAX_TABLE_ROWS = 50
"""Rows of an evaluation table shown in the report (the CSV file has them all)."""
STYLE = """body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}
.note{color:#a33}.scroll{overflow-x:auto;max-width:100%}table.wrap td{overflow-wrap:anywhere}"""
"""Tables scroll sideways inside the page instead of widening it; the long values of the results table (paths) wrap."""


def write_report(run_dir: Path) -> Path:
    """Make the plots and write `run_dir/report.html` (see the module docstring); returns its path."""
    summary = _json(run_dir / "summary.json")
    title = f"{summary.get('stage', 'run')}: {run_dir.resolve().name}"
    parts = [f"<h1>{html.escape(title)}</h1>", _headline(summary)]
    parts += _videos(run_dir, summary)
    parts += _evaluations(run_dir)
    parts += _training(run_dir)
    parts += _figures(run_dir)
    parts += _files(run_dir)
    page = (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    path = run_dir / REPORT_FILE
    atomic_write_bytes(path, page.encode())
    return path


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


def _link(path: Path, run_dir: Path) -> str:
    """The URL of `path` relative to the report."""
    return quote(Path(os.path.relpath(path, run_dir)).as_posix())


def _scalars(value: Any, prefix: str = "") -> dict[str, Any]:
    """The scalar leaves of nested dicts as {"a.b.c": value}; lists are left out (per-clip rows, ...)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_scalars(item, f"{prefix}{key}."))
        return out
    return {} if isinstance(value, list) else {prefix.rstrip("."): value}


def _format(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(header: list[str], rows: list[list[Any]], wrap: bool = False) -> str:
    """An HTML table in a box that scrolls sideways when it is wider than the page; `wrap`: long values wrap."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_format(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<div class='scroll'><table{' class=wrap' if wrap else ''}><tr>{head}</tr>{body}</table></div>"


def _headline(summary: dict[str, Any]) -> str:
    """The summary's scalar results (without the `final` metrics, shown with the training curves)."""
    rows = [[key, value] for key, value in _scalars({k: v for k, v in summary.items() if k != "final"}).items()]
    if not rows:
        return "<p class='note'>This run wrote no summary.json.</p>"
    return f"<h2>Results</h2>{_table(['summary.json', 'value'], rows, wrap=True)}"


def _videos(run_dir: Path, summary: dict[str, Any]) -> list[str]:
    videos = sorted((run_dir / "videos").glob("*.mp4"))
    named = summary.get("video")
    if named and Path(named).is_file() and Path(named).resolve() not in {v.resolve() for v in videos}:
        videos.append(Path(named))
    if not videos:
        return []
    parts = ["<h2>Videos</h2>"]
    for video in videos:
        link = _link(video, run_dir)
        parts.append(f"<p>{html.escape(video.name)} (<a href='{link}'>file</a>)<br>"
                     f"<video controls muted width='640' src='{link}'></video></p>")
    return parts


def _evaluations(run_dir: Path) -> list[str]:
    tables = [table for folder in ("", "*/") for pattern in CLIP_TABLES for table in sorted(run_dir.glob(folder + pattern))]
    if not tables:
        return []
    parts = ["<h2>Evaluation per clip</h2>"]
    for table in tables:
        name = table.relative_to(run_dir).as_posix()
        parts.append(f"<h3>{html.escape(name)} (<a href='{_link(table, run_dir)}'>CSV</a>)</h3>")
        chart = run_dir / PLOTS_DIR / (name.removesuffix(".csv").replace("/", "_") + ".png")
        parts.append(_plot(functools.partial(_clip_chart, table, chart, name), run_dir))
        with open(table, newline="") as handle:
            rows = list(csv.reader(handle))
        parts.append(_table(rows[0], rows[1:MAX_TABLE_ROWS + 1]) if rows else "")
    return parts


def _clip_chart(table: Path, chart: Path, label: str) -> list[Path]:
    from assistmimic.viz.plots import plot_clip_outcomes  # matplotlib only for runs with something to plot

    return [plot_clip_outcomes(table, chart, label)]


def _training(run_dir: Path) -> list[str]:
    metrics = run_dir / METRICS_FILE
    records = read_metrics(metrics) if metrics.is_file() else []
    if not records:
        return []

    def curves() -> list[Path]:
        from assistmimic.viz.plots import plot_metrics

        return plot_metrics(records, run_dir / PLOTS_DIR)

    first, last = records[0], records[-1]
    keys = sorted({k for r in records for k in r if k != "iteration"})
    rows = [[key, first.get(key, ""), last.get(key, "")] for key in keys]
    link = f"<a href='{_link(metrics, run_dir)}'>{METRICS_FILE}</a>"
    return [f"<h2>Training ({len(records)} logged iterations, {link})</h2>",
            _plot(curves, run_dir),
            "<details><summary>First and last values of every metric</summary>"
            + _table(["metric", f"iteration {first['iteration']}", f"iteration {last['iteration']}"], rows)
            + "</details>"]


def _plot(make, run_dir: Path) -> str:
    """<img> tags of the PNGs `make()` writes, or a note (and a one-line warning) when plotting fails."""
    try:
        paths = make()
    except Exception as err:  # noqa: BLE001 (a plot must never cost the report, or the finished stage)
        message = f"plotting failed: {type(err).__name__}: {err}"
        print(f"warning: {message}")
        return f"<p class='note'>{html.escape(message)}</p>"
    return "\n".join(f"<p><img src='{_link(p, run_dir)}' alt='{html.escape(p.name)}'></p>" for p in paths)


def _figures(run_dir: Path) -> list[str]:
    """PNGs the stage itself wrote into the run folder (e.g. `stage=inspect`'s stick figure)."""
    images = sorted(run_dir.glob("*.png"))
    if not images:
        return []
    return ["<h2>Figures</h2>"] + [f"<p>{html.escape(p.name)}<br><img src='{_link(p, run_dir)}' "
                                   f"alt='{html.escape(p.name)}'></p>" for p in images]


def _files(run_dir: Path) -> list[str]:
    parts = []
    for name, label in (("config.yaml", "Resolved config"), ("summary.json", "Full summary")):
        path = run_dir / name
        if path.is_file():
            parts.append(f"<details><summary>{label} (<a href='{_link(path, run_dir)}'>{name}</a>)</summary>"
                         f"<pre>{html.escape(path.read_text())}</pre></details>")
    return parts
