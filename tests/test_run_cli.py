"""The command line: `python run.py stage=bench` writes its summary; bad input ends in one clear sentence."""

import json
import subprocess
import sys

from tests.conftest import REPO


def run_cli(*overrides, tmp_path):
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), *overrides], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )


def test_bench_stage_writes_summary_and_config(tmp_path):
    run_dir = tmp_path / "bench"
    result = run_cli("stage=bench", "stage.batch_sizes=[2,4]", "stage.policy_steps=3", "stage.warmup_steps=1",
                     "sim.nthread=1", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stage"] == "bench" and summary["headline_num_envs"] == 4
    assert summary["policy_steps_per_s"] > 0 and summary["bare_policy_steps_per_s"] > 0
    assert set(summary["per_batch_size"]) == {"2", "4"}
    assert 0.0 < summary["ratio_to_bare"] < 2.0
    assert "robot:" in (run_dir / "config.yaml").read_text()


def test_num_envs_short_override(tmp_path):
    run_dir = tmp_path / "b"
    result = run_cli("stage=bench", "num_envs=3", "stage.policy_steps=2", "stage.warmup_steps=0", "sim.nthread=1",
                     f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((run_dir / "summary.json").read_text())["headline_num_envs"] == 3


def assert_one_clear_error(result, *phrases):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_bad_input_ends_in_one_clear_sentence(tmp_path):
    assert_one_clear_error(run_cli("stage=bench", "num_envs=0", f"run_dir={tmp_path}/a", tmp_path=tmp_path),
                           "num_envs=0 is not allowed: it must be >= 1")
    assert_one_clear_error(run_cli("stage=bench", "robot.name=robot9", f"run_dir={tmp_path}/b", tmp_path=tmp_path),
                           "unknown robot 'robot9'")
    assert_one_clear_error(run_cli("stage=bench", "robot=robot9", tmp_path=tmp_path), "robot9")
    assert_one_clear_error(run_cli("stage=nope", tmp_path=tmp_path), "nope")
    assert_one_clear_error(run_cli("stage=bench", "sim.backend=quantum", f"run_dir={tmp_path}/c", tmp_path=tmp_path),
                           "unknown sim.backend 'quantum'")
    assert_one_clear_error(
        run_cli("stage=bench", "+scene.furniture=[{kind: sofa}]", f"run_dir={tmp_path}/d", tmp_path=tmp_path),
        "unknown kind 'sofa'")
    assert_one_clear_error(
        run_cli("stage=bench", "robot.body_model_path=/no/such/SMPL_NEUTRAL.pkl", f"run_dir={tmp_path}/e",
                tmp_path=tmp_path), "/no/such/SMPL_NEUTRAL.pkl does not exist")
