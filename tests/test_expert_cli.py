"""`stage=expert` trains a two-agent expert from the widened prior (or from scratch), resumes, evaluates."""

import hashlib
import json

import pytest
import torch

from tests.conftest import REPO
from tests.test_prior_cli import TINY, iterations
from tests.test_run_cli import run_cli


def test_expert_trains_from_the_prior_resumes_and_evaluates(tmp_path):
    run_dir = tmp_path / "expert"
    result = run_cli("stage=expert", "max_iterations=2", f"run_dir={run_dir}", "stage.video=false", *TINY,
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 2 and summary["clips"] == ["support_rise_from_chair"]
    saved = torch.load(run_dir / "last.pt", weights_only=True)
    assert len(saved["policies"]) == 2 and saved["metadata"]["task"] == "assist"
    shipped = hashlib.sha256((REPO / "data/prior/smpl_prior_cpu.pt").read_bytes()).hexdigest()[:12]
    assert saved["metadata"]["prior_sha256"] == summary["prior_sha256"] == shipped
    assert saved["metadata"]["env_config"]["residual_actions"] is True
    # The expert sees the reference velocities as its prior was trained to (unsmoothed for a prior stored before
    # the setting existed).
    prior_env = torch.load(REPO / "data/prior/smpl_prior_cpu.pt", weights_only=True)["metadata"]["env_config"]
    assert saved["metadata"]["env_config"]["velocity_smoothing"] == prior_env.get("velocity_smoothing", 0.0)
    # Both policies are the prior's networks with the assistive inputs appended.
    assert [p["spec"]["obs_dims"] for p in saved["policies"]] == [[934, 525], [934, 525]]
    start = torch.load(run_dir / "start.pt", weights_only=True)
    assert start["iteration"] == 0 and not torch.equal(start["policies"][0]["state_dict"]["actor_mlp.0.weight"],
                                                       saved["policies"][0]["state_dict"]["actor_mlp.0.weight"])
    for name in ("start", "trained"):
        scores = summary["evaluation"][name]
        assert 0.0 <= scores["success_rate"] <= 1.0 and scores["supporter_mpjpe_mm"] > 0 and scores["clips"] == 1
    assert (run_dir / "eval" / "eval_clips.csv").exists() and (run_dir / "eval_start" / "eval_clips.csv").exists()
    assert "start -> trained" in result.stdout
    # Per-term episode sums of both agents are logged.
    record = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"rollout/terms/contact/agent0", "rollout/terms/head_height/agent1", "env/hand_contact"} <= record.keys()
    # The recipe holds the recipient's pelvis at first (the root assist; training/expert.yaml).
    assert record["env/root_assist_force_n"] > 0

    result = run_cli("stage=expert", "max_iterations=3", "stage.resume=true", "stage.evaluate=false",
                     "stage.video=false", f"run_dir={run_dir}", *TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert iterations(run_dir) == [1, 2, 3] and "resumed from" in result.stdout

    # A shipped expert of the clip is scored beside the run's own: here the run's start, so the scores agree.
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "support_rise_from_chair.pt").write_bytes((run_dir / "start.pt").read_bytes())
    result = run_cli("stage=expert", "max_iterations=3", "stage.resume=true", "stage.video=false",
                     f"stage.shipped_experts={shipped}", f"run_dir={run_dir}", *TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    scores = json.loads((run_dir / "summary.json").read_text())["evaluation"]
    assert scores["shipped"]["mpjpe_mm"] == pytest.approx(scores["start"]["mpjpe_mm"])
    assert "the shipped expert of this clip" in result.stdout and (run_dir / "eval_shipped" / "eval_clips.csv").exists()


def test_ablation_switches_train_from_scratch_without_redirection_contact_reward_or_joint_updates(tmp_path):
    run_dir = tmp_path / "ablation"
    result = run_cli("stage=expert", "max_iterations=2", f"run_dir={run_dir}", "stage.prior=null",
                     "stage.env.redirection=false", "stage.env.contact_facilitation=false",
                     "stage.runner.sequential_period=1", "stage.evaluate=false", "stage.video=false",
                     f"data={REPO / 'data/demo/assist.pkl'}", "stage.clips=[support_rise_from_chair]", "scene=chair",
                     *TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = torch.load(run_dir / "last.pt", weights_only=True)
    env_config = saved["metadata"]["env_config"]
    assert env_config["redirection"] is False and env_config["contact_facilitation"] is False
    assert saved["metadata"]["prior"] is None and saved["metadata"]["prior_sha256"] is None
    assert saved["metadata"]["clips"] == ["support_rise_from_chair"]
    assert saved["policies"][0]["spec"]["config"]["actor_hidden"] == [32, 32]
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    # Sequential training: agent 0 learns in iteration 1, agent 1 in iteration 2.
    assert "ppo/agent0/value_loss" in records[0] and "ppo/agent1/value_loss" not in records[0]
    assert "ppo/agent1/value_loss" in records[1] and "ppo/agent0/value_loss" not in records[1]
    # Without contact facilitation the contact term weighs 0: it is not computed, so not logged.
    assert not any("terms/contact/" in key for r in records for key in r)


def test_bad_expert_input_is_one_sentence(tmp_path):
    result = run_cli("stage=expert", f"data={REPO / 'data/demo/single.pkl'}", f"run_dir={tmp_path / 'a'}", *TINY,
                     tmp_path=tmp_path)
    assert result.returncode == 2 and "needs 2-person clips" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("stage=expert", f"data={REPO / 'data/demo/assist.pkl'}", "stage.clips=[dance]",
                     f"run_dir={tmp_path / 'b'}", *TINY, tmp_path=tmp_path)
    assert result.returncode == 2 and "no clip(s) dance" in result.stderr
    result = run_cli("stage=expert", "stage.env.residual_actions=false", f"run_dir={tmp_path / 'c'}", *TINY,
                     tmp_path=tmp_path)
    assert result.returncode == 2 and "residual_actions=true" in result.stderr
    result = run_cli("stage=expert", "stage.prior=missing.pt", f"run_dir={tmp_path / 'd'}", *TINY, tmp_path=tmp_path)
    assert result.returncode == 2 and "missing.pt" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_expert_training_from_the_prior_tracks_longer_and_earns_more(tmp_path):
    """15 iterations (about 90 s on 2 cores): episodes (0.25 m termination) last far longer than the
    widened prior's and both agents' returns rise (benchmarks/RESULTS.md has the 100-iteration run)."""
    run_dir = tmp_path / "learn"
    result = run_cli("stage=expert", "max_iterations=15", "stage.evaluate=false", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first, last = records[:3], records[-3:]

    def mean(rows, key):
        return sum(r[key] for r in rows) / len(rows)

    assert mean(last, "episode/length") > 1.8 * mean(first, "episode/length")
    for agent in (0, 1):
        assert mean(last, f"episode/reward/agent{agent}") > mean(first, f"episode/reward/agent{agent}") + 1.0


def test_a_run_without_the_grip_trains_scores_and_skips_the_shipped_expert_that_grips(tmp_path):
    """The shipped chair expert acts with the grip (71 supporter actions); a no-grip run (69) cannot score it in its
    scene, so it says so and finishes instead of failing after training."""
    run_dir = tmp_path / "no_grip"
    result = run_cli("stage=expert", "max_iterations=1", f"run_dir={run_dir}", "stage.video=false", "scene.grip.agents=[]",
                     f"stage.shipped_experts={REPO / 'data' / 'experts'}", *TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "is not scored beside this run" in result.stdout and "[(1459, 71), (1459, 69)]" in result.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "finished" and "shipped" not in summary["evaluation"]
    assert {"start", "trained", "recipient_alone"} <= summary["evaluation"].keys()


def test_an_expert_adopts_its_priors_reference_settings(tmp_path):
    from assistmimic.stages.config import ExpertConfig
    from assistmimic.stages.expert import adopt_prior_env_settings

    # {}: a prior from before both settings (unsmoothed velocities, no feed-forward)
    for stored, smoothing, feedforward in (({"velocity_smoothing": 1.5, "velocity_feedforward": True}, 1.5, True),
                                           ({}, 0.0, False)):
        prior = tmp_path / "prior.pt"
        torch.save({"iteration": 1, "policies": [], "metadata": {"env_config": {"residual_actions": True, **stored}}}, prior)
        stage = ExpertConfig(prior=str(prior))
        assert stage.env.velocity_smoothing == 2.0 and stage.env.velocity_feedforward is False
        adopt_prior_env_settings(stage)
        assert stage.env.velocity_smoothing == smoothing and stage.env.velocity_feedforward is feedforward
