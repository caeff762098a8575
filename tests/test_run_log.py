"""run.log holds what a run printed and how it ended; a failed run says so in summary.json or leaves no folder."""

from __future__ import annotations

import io
import json
import sys

import pytest

from assistmimic.run_log import _Tee, record_failure, run_log
from motion_lib.errors import UserInputError
from tests.test_run_cli import run_cli

BENCH = ["stage=bench", "stage.batch_sizes=[2]", "stage.policy_steps=2", "stage.warmup_steps=0", "sim.nthread=1"]


def test_a_progress_bar_is_logged_as_its_last_state_and_lines_as_they_are():
    console, log = io.StringIO(), io.StringIO()
    tee = _Tee(console, log)
    tee.write("first line\n  0%| 0/2\r 50%| 1/2")
    tee.write("\r100%| 2/2\nlast, unfinished")
    tee.finish()
    assert log.getvalue() == "first line\n100%| 2/2\nlast, unfinished\n"
    assert console.getvalue().startswith("first line\n  0%| 0/2\r 50%|")


def test_run_log_copies_stdout_and_stderr_and_appends(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["run.py", "stage=bench"])
    for word in ("one", "two"):
        with run_log(tmp_path):
            print(f"out {word}")
            print(f"err {word}", file=sys.stderr)
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert [line for line in lines if not line.startswith("---")] == ["out one", "err one", "out two", "err two"]
    assert lines[0].endswith("run.py stage=bench") and len(lines) == 6


def test_a_failure_is_recorded_in_summary_and_log(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("{}\n")
    log = io.StringIO()
    try:
        raise RuntimeError("simulation exploded\nmore detail")
    except RuntimeError as err:
        record_failure(tmp_path, "prior", err, log, created=True)
    assert json.loads((tmp_path / "summary.json").read_text()) == {
        "stage": "prior", "status": "failed", "error": "RuntimeError: simulation exploded"}
    assert log.getvalue().startswith("Traceback (most recent call last)") and "simulation exploded" in log.getvalue()
    record_failure(tmp_path, "prior", KeyboardInterrupt(), log, created=True)
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize("created", [True, False])
def test_a_run_that_wrote_nothing_leaves_no_folder_it_made(tmp_path, created):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("stage: {}\n")
    log = io.StringIO()
    record_failure(run_dir, "eval", UserInputError("this stage needs checkpoint=..."), log, created=created)
    assert run_dir.exists() is not created
    if not created:
        assert json.loads((run_dir / "summary.json").read_text())["error"] == "this stage needs checkpoint=..."
        assert log.getvalue() == "error: this stage needs checkpoint=...\n"


def test_the_command_line_run_logs_and_failures(tmp_path):
    run_dir = tmp_path / "bench"
    result = run_cli(*BENCH, f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    log = (run_dir / "run.log").read_text()
    assert "run.py stage=bench" in log.splitlines()[0] and f"results: {run_dir / 'summary.json'}" in log
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "finished"
    assert not (run_dir / ".hydra").exists() and not (tmp_path / "run.log").exists()

    result = run_cli("stage=eval", f"run_dir={tmp_path / 'new'}", tmp_path=tmp_path)
    assert result.returncode == 2 and not (tmp_path / "new").exists()

    result = run_cli("stage=eval", f"checkpoint={tmp_path / 'missing.pt'}", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 2
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "missing.pt" in summary["error"]
    assert (run_dir / "run.log").read_text().splitlines()[-1] == f"error: {summary['error']}"
