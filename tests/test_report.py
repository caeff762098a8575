"""Plots of a run's metrics and evaluations, and the run's report.html (links only to files that exist)."""

import csv
import json
import math
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import imageio.v3 as iio
import numpy as np

from assistmimic.stages import report
from assistmimic.viz import plots
from assistmimic.viz.report import write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVAL_COLUMNS = ["clip", "frames", "success", "failed_at_s", "mpjpe_mm", "failure"]


def metrics_records(iterations=5):
    """Records like a two-agent run's metrics.jsonl: per-agent returns and terms, a null value, a shared metric."""
    records = []
    for i in range(1, iterations + 1):
        records.append({"iteration": i, "episode/length": 10.0 + i, "episode/reward/agent0": math.sin(i),
                        "episode/reward/agent1": math.cos(i), "episode/terms/body_pos/agent0": 0.1 * i,
                        "episode/terms/body_pos/agent1": 0.2 * i, "env/body_pos_error_m": 0.5 / i,
                        "ppo/agent0/value_loss": None if i == 2 else 1.0 / i, "perf/samples_per_s": 700.0})
    return records


def write_run(run_dir: Path) -> Path:
    """A run folder as a training stage with evaluation and a video leaves it."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text("stage:\n  name: expert\nseed: 0\n")
    (run_dir / "summary.json").write_text(json.dumps({"stage": "expert", "iterations": 5, "evaluation": {
        "trained": {"success_rate": 0.5, "per_clip": [{"clip": "a"}]}}}))
    lines = "".join(json.dumps(record) + "\n" for record in metrics_records())
    (run_dir / "metrics.jsonl").write_text(lines + '{"iteration": 6, "cut')  # a line cut short by a crash
    (run_dir / "eval").mkdir()
    with open(run_dir / "eval" / "eval_clips.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVAL_COLUMNS)
        writer.writerow(["help up", 166, True, "", 80.5, ""])
        writer.writerow(["rise", 150, False, 1.2, 420.0, "recipient_fell"])
    (run_dir / "videos").mkdir()
    (run_dir / "videos" / "help up.mp4").write_bytes(b"\x00")
    return run_dir


def assert_png_with_content(path: Path, min_colours=4):
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = iio.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) >= min_colours


class Links(HTMLParser):
    """Every href and src of a page."""

    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        self.links += [value for name, value in attrs if name in ("href", "src")]


def test_training_curves_one_png_per_prefix_with_a_line_per_agent(tmp_path):
    paths = plots.plot_metrics(metrics_records(), tmp_path)
    assert [p.name for p in paths] == ["episode.png", "env.png", "ppo.png", "perf.png"]
    for path in paths:
        assert_png_with_content(path)


def test_agent_names_are_taken_out_of_metric_names():
    assert plots._series("episode/reward/agent1") == ("episode/reward", 1)
    assert plots._series("ppo/agent0/value_loss") == ("ppo/value_loss", 0)
    assert plots._series("env/body_pos_error_m") == ("env/body_pos_error_m", None)


def test_clip_outcome_chart(tmp_path):
    run_dir = write_run(tmp_path / "run")
    path = plots.plot_clip_outcomes(run_dir / "eval" / "eval_clips.csv", tmp_path / "clips.png")
    assert_png_with_content(path)
    image = iio.imread(path).astype(int)
    # green (success) and red (failure) bars
    assert ((image[..., 1] > image[..., 0] + 40) & (image[..., 1] > image[..., 2] + 40)).sum() > 100
    assert ((image[..., 0] > image[..., 1] + 80) & (image[..., 0] > image[..., 2] + 80)).sum() > 100


def test_report_links_only_files_that_exist(tmp_path):
    run_dir = write_run(tmp_path / "run")
    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    page = path.read_text()
    parser = Links()
    parser.feed(page)
    links = [unquote(link) for link in parser.links]
    assert links and all((run_dir / link).is_file() for link in links), links
    assert {"videos/help up.mp4", "eval/eval_clips.csv", "plots/eval_eval_clips.png", "plots/episode.png",
            "metrics.jsonl", "config.yaml", "summary.json"} <= set(links)
    assert "<video" in page and "success_rate" in page and "seed: 0" in page
    assert "iteration 5" in page  # the first/last metrics table (the cut last line is skipped)


def test_tables_scroll_inside_the_page_and_long_results_wrap(tmp_path):
    page = write_report(write_run(tmp_path / "run")).read_text()
    style = page[page.index("<style>"):page.index("</style>")]
    assert ".scroll{overflow-x:auto" in style and "table.wrap td{overflow-wrap:anywhere}" in style
    assert page.count("<table") == page.count("<div class='scroll'><table") >= 3
    assert "<div class='scroll'><table class=wrap><tr><th>summary.json" in page


def test_track_and_distill_tables_are_charted_too(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "eval").mkdir(parents=True)
    with open(run_dir / "track_clips.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EVAL_COLUMNS)
        writer.writerow(["sample_0", 36, True, "", 90.0, ""])
    with open(run_dir / "eval" / "distill_eval.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["policy", "split", "expert", *EVAL_COLUMNS])
        writer.writerow(["student", "train", "", "help up", 166, True, "", 80.5, ""])
        writer.writerow(["expert", "train", "help up", "help up", 166, False, 2.1, 300.0, "supporter_error"])
    parser = Links()
    parser.feed(write_report(run_dir).read_text())
    assert {"track_clips.csv", "plots/track_clips.png", "eval/distill_eval.csv", "plots/eval_distill_eval.png"} <= {
        unquote(link) for link in parser.links}
    assert_png_with_content(run_dir / "plots" / "eval_distill_eval.png")


def test_report_of_a_run_without_metrics_or_summary(tmp_path):
    page = write_report(tmp_path).read_text()
    assert "wrote no summary.json" in page and "<img" not in page


def test_a_failing_plot_is_a_note_and_a_warning_line(tmp_path, monkeypatch, capsys):
    run_dir = write_run(tmp_path / "run")

    def broken(*args):
        raise ValueError("no fonts")

    monkeypatch.setattr(plots, "plot_metrics", broken)
    page = write_report(run_dir).read_text()
    assert "plotting failed: ValueError: no fonts" in page
    assert capsys.readouterr().out == "warning: plotting failed: ValueError: no fonts\n"


def test_a_stage_prints_its_report_and_survives_a_broken_one(tmp_path, monkeypatch, capsys):
    run_dir = write_run(tmp_path / "run")
    report(run_dir)
    assert capsys.readouterr().out == f"report: {run_dir / 'report.html'}\n"

    def broken(run_dir):
        raise OSError("disk full")

    monkeypatch.setattr("assistmimic.stages.write_report", broken)
    report(run_dir)
    assert capsys.readouterr().out == "warning: no report.html (OSError: disk full)\n"


def test_only_numeric_metrics_are_plotted(tmp_path):
    assert plots.plot_metrics([{"iteration": 1, "a/b": True, "c": "text", "d": None}], tmp_path) == []
