"""The progress bar and the training summary report the worlds that diverged."""

import json

from assistmimic.rl.logger import RunLogger, diverged_worlds
from tests.test_prior_cli import PRIOR_TINY
from tests.test_run_cli import run_cli


def test_the_progress_bar_counts_the_diverged_worlds_once_there_are_any(tmp_path):
    logger = RunLogger(tmp_path, 0, 3)
    logger.advance("len 10.0", diverged_worlds({"env/diverged": 0.0}, 64))
    assert logger.progress_bar.postfix == "len 10.0"
    logger.advance("len 10.0", diverged_worlds({"env/diverged": 2 / 64}, 64))
    logger.advance("len 10.0", diverged_worlds({"env/diverged": 1 / 64}, 64))
    assert logger.progress_bar.postfix == "len 10.0 diverged 3"
    logger.close()
    assert diverged_worlds({"episode/length": 3.0}, 64) == 0


def test_a_training_run_with_diverging_worlds_says_so(tmp_path):
    run_dir = tmp_path / "prior"
    result = run_cli("stage=prior", "max_iterations=1", "sim.max_joint_velocity=0.001", f"run_dir={run_dir}",
                     *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    diverged = json.loads((run_dir / "summary.json").read_text())["diverged_worlds"]
    assert diverged > 0
    assert f"diverged {diverged}" in result.stderr  # the progress bar
    assert f"warning: {diverged} world(s) diverged during training" in result.stdout
    assert f"warning: {diverged} world(s) diverged" in (run_dir / "run.log").read_text()
