"""`stage=eval` on two-agent (expert) checkpoints: per-agent errors, failure reasons, contact, robustness."""

import csv
import dataclasses
import json

import pytest
import torch

from assistmimic.envs.config import AssistEnvConfig
from assistmimic.evaluation import _assist_line, with_action_noise
from assistmimic.mjcf.config import GripConfig
from assistmimic.rl.checkpoint import save_checkpoint
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.config import SimConfig
from assistmimic.stages.config import EvalConfig, RunConfig
from assistmimic.stages.eval import run
from motion_lib.clip import Clip, PersonMotion
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips, write_clips
from tests.conftest import REPO, robot_config, standard_impairment
from tests.test_run_cli import run_cli

SMPL_PRIOR_OBS, SMPL_ASSIST_OBS, SMPL_DOFS = 934, 525, 69
GRIP_ACTIONS = 2
"""The supporter's grip commands after its PD actions (the default `scene.grip`)."""


def cut(clip: Clip, start: int, stop: int, name: str) -> Clip:
    """Frames start..stop-1 of a two-person clip."""
    return Clip(name, clip.fps, clip.skeleton,
                [PersonMotion(p.root_pos[start:stop], p.root_rot[start:stop], p.joint_rot[start:stop]) for p in clip.persons])


@pytest.fixture(scope="module")
def clips_file(tmp_path_factory):
    """Two short cuts of the demo 'help up': one inside the reference's hand-contact phase (from frame 51), one before it."""
    help_up = {c.name: c for c in read_clips(REPO / "data" / "demo" / "assist.pkl")}["help_up_from_floor"]
    path = tmp_path_factory.mktemp("clips") / "help_up.pkl"
    write_clips(path, [cut(help_up, 45, 75, "contact"), cut(help_up, 0, 20, "no_contact")])
    return path


@pytest.fixture(scope="module")
def chair_file(tmp_path_factory):
    """Rising from a chair, evaluated in an open scene (no chair): the recipient falls."""
    rise = {c.name: c for c in read_clips(REPO / "data" / "demo" / "assist.pkl")}["support_rise_from_chair"]
    path = tmp_path_factory.mktemp("chair") / "rise.pkl"
    write_clips(path, [cut(rise, 0, 40, "rise")])
    return path


def policy(obs_dims=(SMPL_PRIOR_OBS, SMPL_ASSIST_OBS), zero=True, actions=SMPL_DOFS) -> ActorCritic:
    """A small untrained policy; `zero`: its actions are exactly 0."""
    net = ActorCritic(obs_dims, actions, PolicyConfig(actor_hidden=[32], critic_hidden=[32], init_log_std=-2.9,
                                                       mu_init_scale=0.01))
    if zero:
        with torch.no_grad():
            net.mu.weight.zero_()
    return net


def save_expert(path, clips_path, policies=None, **metadata):
    """An expert checkpoint as `stage=expert` writes it (residual actions, so zero actions follow the clip)."""
    policies = policies or [policy(actions=SMPL_DOFS + GRIP_ACTIONS), policy()]
    meta = {"task": "assist", "env_config": dataclasses.asdict(AssistEnvConfig(residual_actions=True)), "robot": "smpl",
            "data": str(clips_path), "clips": ["contact", "no_contact"], **metadata}
    save_checkpoint(path, {"iteration": 1, "policies": [p.saved_state() for p in policies], "metadata": meta})
    return path


def evaluate(run_dir, checkpoint, data=None, **stage):
    """`stage=eval` called directly (as `run_stage` does, after making the run folder)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg = RunConfig(run_dir=str(run_dir), checkpoint=str(checkpoint), data=None if data is None else str(data),
                    robot=robot_config(), sim=SimConfig(nthread=1), impairment=standard_impairment(),
                    stage=EvalConfig(**stage))
    return run(cfg, run_dir)


def table(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_zero_residual_actions_track_both_agents_with_contact_and_a_robustness_sweep(tmp_path, clips_file):
    summary = evaluate(tmp_path, save_expert(tmp_path / "expert.pt", clips_file), robustness=True)
    json.dumps(summary, allow_nan=False)
    assert summary["task"] == "assist" and summary["data"] == str(clips_file) and summary["clips"] == 2
    rows = {row["clip"]: row for row in summary["per_clip"]}
    assert set(rows) == {"contact", "no_contact"}
    for row in rows.values():
        assert row["success"] and row["failure"] is None and row["failed_at_s"] is None
        assert 0 < row["supporter_mpjpe_mm"] < 100 and 0 < row["recipient_mpjpe_mm"] < 100
        assert row["mpjpe_mm"] == pytest.approx((row["supporter_mpjpe_mm"] + row["recipient_mpjpe_mm"]) / 2, rel=1e-5)
        assert row["max_error_m"] < 0.25 and row["peak_torque_nm"] > 0
    assert summary["success_rate"] == 1.0
    assert summary["mpjpe_mm"] == pytest.approx((rows["contact"]["mpjpe_mm"] + rows["no_contact"]["mpjpe_mm"]) / 2)
    assert summary["clips_tracked"] == 2 and summary["mpjpe_tracked_mm"] == pytest.approx(summary["mpjpe_mm"])
    # Steps 6..29 of the contact cut are the reference's contact phase; the other cut has none.
    assert rows["contact"]["contact_steps"] == 24 and 0.0 < rows["contact"]["contact_rate"] <= 1.0
    assert rows["contact"]["support_force_z_n"] != 0.0 and rows["contact"]["whole_body_support_force_z_n"] != 0.0
    assert rows["no_contact"]["contact_steps"] == 0
    assert rows["no_contact"]["contact_rate"] is None and rows["no_contact"]["support_force_z_n"] is None
    assert rows["no_contact"]["whole_body_support_force_z_n"] is None
    assert summary["clips_with_contact"] == 1 and summary["contact_rate"] == rows["contact"]["contact_rate"]
    assert summary["peak_torque_nm"] == max(row["peak_torque_nm"] for row in rows.values())

    robust = summary["robustness"]
    assert robust["recipient_mass_scale"] == 1.5 and robust["recipient_gain_scale"] == 0.5
    assert robust["clips"] == 2 and 0.0 <= robust["success_rate"] <= 1.0 and len(robust["per_clip"]) == 2
    assert 0.0 <= robust["contact_rate"] <= 1.0
    # A heavier, weaker recipient sags further from the clip than the nominal one; the supporter is unchanged
    # before the two touch.
    assert robust["recipient_mpjpe_mm"] > 1.2 * summary["recipient_mpjpe_mm"]
    robust_rows = {row["clip"]: row for row in robust["per_clip"]}
    assert robust_rows["no_contact"]["supporter_mpjpe_mm"] == pytest.approx(rows["no_contact"]["supporter_mpjpe_mm"], rel=1e-3)

    nominal_csv, robust_csv = table(tmp_path / "eval_clips.csv"), table(tmp_path / "eval_clips_robustness.csv")
    assert [r["clip"] for r in nominal_csv] == ["contact", "no_contact"] and len(robust_csv) == 2
    assert nominal_csv[1]["contact_rate"] == "" and float(nominal_csv[0]["contact_rate"]) == pytest.approx(
        rows["contact"]["contact_rate"], rel=1e-3)


def test_the_trained_clips_are_the_default_and_data_overrides_them(tmp_path, clips_file, chair_file):
    checkpoint = save_expert(tmp_path / "expert.pt", clips_file, clips=["no_contact"])
    summary = evaluate(tmp_path / "trained", checkpoint)
    assert [row["clip"] for row in summary["per_clip"]] == ["no_contact"] and "robustness" not in summary
    assert not (tmp_path / "trained" / "eval_clips_robustness.csv").exists()
    summary = evaluate(tmp_path / "data", checkpoint, data=chair_file)
    assert [row["clip"] for row in summary["per_clip"]] == ["rise"]


def test_a_falling_recipient_fails_with_the_reason_that_fired_first(tmp_path, clips_file, chair_file):
    checkpoint = save_expert(tmp_path / "expert.pt", clips_file)
    (fell,) = evaluate(tmp_path / "a", checkpoint, data=chair_file, fall_head_drop=0.1)["per_clip"]
    assert not fell["success"] and fell["failure"] == "recipient_fell" and 0 < fell["failed_at_s"] < 39 / 30
    # Steps from the failure on do not count towards contact: it fell before the reference's contact phase (frame 24).
    assert fell["failed_at_s"] < 24 / 30 and fell["contact_rate"] is None
    failed = evaluate(tmp_path / "b", checkpoint, data=chair_file, fall_head_drop=10.0)
    (error,) = failed["per_clip"]
    assert not error["success"] and error["failure"] == "recipient_error" and error["failed_at_s"] > fell["failed_at_s"]
    assert error["recipient_mpjpe_mm"] > 3 * error["supporter_mpjpe_mm"]
    assert failed["clips_tracked"] == 0 and failed["mpjpe_tracked_mm"] is None and failed["mpjpe_mm"] > 0


def test_bad_two_agent_input_is_one_clear_error(tmp_path, clips_file):
    expert = save_expert(tmp_path / "expert.pt", clips_file)
    with pytest.raises(UserInputError, match="needs 2-person clips, but stand"):
        evaluate(tmp_path, expert, data=REPO / "data" / "demo" / "single.pkl")
    narrow = save_expert(tmp_path / "narrow.pt", clips_file,
                         policies=[policy(actions=SMPL_DOFS + GRIP_ACTIONS), policy((SMPL_PRIOR_OBS,))])
    with pytest.raises(UserInputError, match="the recipient policy takes 934 observations and gives 69 actions; "
                                             "this robot's assist task has 1459 and 69"):
        evaluate(tmp_path, narrow)
    single = save_expert(tmp_path / "single.pt", clips_file, policies=[policy()])
    with pytest.raises(UserInputError, match="holds 1 policies, but its assist task needs 2"):
        evaluate(tmp_path, single)
    with pytest.raises(UserInputError, match="robust_mass_scale and stage.robust_gain_scale must be positive"):
        evaluate(tmp_path, expert, robustness=True, robust_gain_scale=0.0)
    dance = save_expert(tmp_path / "dance.pt", clips_file, task="dance")
    result = run_cli("stage=eval", f"checkpoint={dance}", f"run_dir={tmp_path / 'cli'}", tmp_path=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "unknown task 'dance' in its metadata; stage=eval evaluates tracking and assist checkpoints" in result.stderr


def test_the_command_line_writes_the_robustness_summary(tmp_path, clips_file):
    run_dir = tmp_path / "eval"
    result = run_cli("stage=eval", f"checkpoint={save_expert(tmp_path / 'expert.pt', clips_file)}", f"run_dir={run_dir}",
                     "stage.robustness=true", "stage.robust_mass_scale=2.0", "sim.nthread=1", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stage"] == "eval" and summary["clips"] == 2 and summary["robustness"]["recipient_mass_scale"] == 2.0
    assert "robustness (recipient 2x mass, 0.5x PD gains): success rate" in result.stdout
    assert (run_dir / "eval_clips_robustness.csv").exists()


def test_the_printed_line_says_what_the_contact_rate_measures():
    summary = {"success_rate": 1.0, "success_rate_training_rule": 0.5, "clips": 2, "mpjpe_mm": 50.0, "supporter_mpjpe_mm": 40.0, "recipient_mpjpe_mm": 60.0,
               "contact_rate": 0.0, "clips_with_contact": 1, "support_force_z_n": 0.0,
               "whole_body_support_force_z_n": -12.5, "peak_torque_nm": 120.0,
               "recipient_lift_m": 0.1, "reference_lift_m": 0.8, "mpjpe_tracked_mm": 45.0, "clips_tracked": 1}
    line = _assist_line(summary)
    assert "(supporter 40.0, recipient 60.0; 45.0 mm over the 1 tracked)" in line
    assert "(supporter 40.0, recipient 60.0; no clip tracked)" in _assist_line(
        {**summary, "mpjpe_tracked_mm": None, "clips_tracked": 0})
    assert "hand contact in 0.0% of the reference's contact steps (1 clip(s) with a contact phase)" in line
    assert "success rate 1.000 over 2 clip(s) (0.500 by the training's termination rule)" in line
    assert "support force 0.0 N (whole body -12.5 N)" in line
    assert "no clip has a contact phase" in _assist_line({**summary, "contact_rate": None, "clips_with_contact": 0,
                                                          "support_force_z_n": None,
                                                          "whole_body_support_force_z_n": None})


LIMP = {"supporter": {"mass_scale": 1.0, "rules": []},
        "recipient": {"mass_scale": 1.0, "rules": [{"groups": ["lower", "upper"], "effort_limit": 1.0}]}}
"""An impairment stored in a checkpoint's metadata: a recipient whose joints give 1 N m at most (it collapses)."""


def test_an_expert_is_scored_with_the_impairment_it_was_trained_with_unless_the_command_line_chooses(tmp_path,
                                                                                                    clips_file, capsys):
    as_run = evaluate(tmp_path / "standard", save_expert(tmp_path / "standard.pt", clips_file))
    limp = save_expert(tmp_path / "limp.pt", clips_file, impairment=LIMP)
    as_trained = evaluate(tmp_path / "limp", limp)  # the run's config says impairment=standard
    evaluate(tmp_path / "limp_again", limp)
    assert capsys.readouterr().out.count("limp.pt is scored with the impairment it was trained with") == 1  # once
    assert as_run["recipient_mpjpe_mm"] < 100
    assert as_trained["recipient_mpjpe_mm"] > 2 * as_run["recipient_mpjpe_mm"]
    assert as_run["success_rate"] == 1.0 and as_trained["success_rate"] == 0.0
    broken = save_expert(tmp_path / "broken.pt", clips_file, impairment={"recipient": {"mass": 2}})
    with pytest.raises(UserInputError, match="broken.pt: its impairment does not fit ImpairmentConfig"):
        evaluate(tmp_path / "broken", broken)

    stored = run_cli("stage=eval", f"checkpoint={limp}", f"run_dir={tmp_path / 'cli'}", "sim.nthread=1",
                     tmp_path=tmp_path)
    chosen = run_cli("stage=eval", f"checkpoint={limp}", f"run_dir={tmp_path / 'cli_chosen'}", "impairment=standard",
                     "sim.nthread=1", tmp_path=tmp_path)
    assert stored.returncode == 0 and chosen.returncode == 0, stored.stderr + chosen.stderr
    assert "limp.pt is scored with the impairment it was trained with (recipient mass x1; lower/upper: kp x1, kd x1, " \
           "effort 1 N m); pass impairment=... to choose another" in stored.stdout
    assert "scored with the impairment" not in chosen.stdout
    scores = {name: json.loads((tmp_path / name / "summary.json").read_text()) for name in ("cli", "cli_chosen")}
    assert scores["cli"]["recipient_mpjpe_mm"] == pytest.approx(as_trained["recipient_mpjpe_mm"], rel=1e-3)
    assert scores["cli_chosen"]["recipient_mpjpe_mm"] == pytest.approx(as_run["recipient_mpjpe_mm"], rel=1e-3)


def test_a_no_grip_expert_is_scored_in_the_no_grip_scene_it_was_trained_in(tmp_path, clips_file):
    """A grip adds one action per gripping hand: the `scene.grip.agents=[]` ablation's expert, scored from a run whose
    config has the default grip, gets the grip it was trained with from its metadata, not a shape error."""
    no_grip_policies = [policy(actions=SMPL_DOFS), policy()]
    unrecorded = save_expert(tmp_path / "unrecorded.pt", clips_file, policies=no_grip_policies)
    with pytest.raises(UserInputError, match="gives 69 actions; this robot's assist task has 1459 and 71"):
        evaluate(tmp_path / "unrecorded", unrecorded)
    recorded = save_expert(tmp_path / "no_grip.pt", clips_file, policies=no_grip_policies,
                           scene={"grip": dataclasses.asdict(GripConfig(agents=[]))})
    summary = evaluate(tmp_path / "no_grip", recorded)
    assert summary["success_rate"] == 1.0 and summary["grip_L"] == summary["grip_R"] == 0.0


def test_action_noise_scores_the_policies_acting_with_their_exploration_noise(tmp_path, clips_file):
    net = policy(zero=False)
    obs = torch.randn(4000, SMPL_PRIOR_OBS + SMPL_ASSIST_OBS)
    assert with_action_noise([net], 0.0, 0, "cpu") == [net]
    noisy = with_action_noise([net], 0.5, 3, "cpu")[0].act_deterministic(obs)
    noise = noisy - net.act_deterministic(obs)
    assert noise.std().item() == pytest.approx(0.5 * float(torch.tensor(-2.9).exp()), rel=0.02)
    assert torch.equal(noisy, with_action_noise([net], 0.5, 3, "cpu")[0].act_deterministic(obs))  # seeded

    expert = save_expert(tmp_path / "expert.pt", clips_file)
    mean = evaluate(tmp_path / "mean", expert)
    shaken, again = (evaluate(tmp_path / name, expert, action_noise=1.0) for name in ("shaken", "again"))
    errors = [[row["mpjpe_mm"] for row in summary["per_clip"]] for summary in (mean, shaken, again)]
    assert errors[1] == errors[2] and all(a != b for a, b in zip(errors[0], errors[1]))
