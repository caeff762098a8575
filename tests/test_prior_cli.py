"""`stage=prior` trains, checkpoints and resumes; `stage=eval` scores a checkpoint per clip."""

import json
import os
import subprocess
import sys

import pytest
import torch

from assistmimic.rl.checkpoint import (POLICY_FILE_KEYS, average_policies, checkpoint_path, export_policies,
                                       model_checkpoint_iterations, save_checkpoint)
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.policy import ActorCritic
from motion_lib.errors import UserInputError
from tests.conftest import REPO
from tests.test_run_cli import run_cli

TINY = ["num_envs=8", "stage.ppo.horizon=8", "stage.ppo.minibatch_size=32", "stage.ppo.num_epochs=2",
        "stage.policy.actor_hidden=[32,32]", "stage.policy.critic_hidden=[32,32]", "stage.amp.hidden=[32]",
        "stage.runner.amp_batch_size=32", "stage.runner.amp_updates_per_iteration=2", "stage.runner.save_interval=1",
        "sim.nthread=1"]
PRIOR_TINY = [*TINY, "stage.families.clips=0"]
"""TINY for stage=prior on the built-in demo clips (without it the prior generates its motion-family clips)."""


def iterations(run_dir):
    return [json.loads(line)["iteration"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_prior_trains_resumes_and_evaluates(tmp_path):
    run_dir = tmp_path / "prior"
    result = run_cli("stage=prior", "max_iterations=2", f"run_dir={run_dir}", *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 2 and summary["clips"] == 3 and summary["env_steps"] == 2 * 8 * 8
    assert iterations(run_dir) == [1, 2]
    saved = torch.load(run_dir / "last.pt", weights_only=True)
    assert saved["iteration"] == 2
    assert saved["env"]["clip_sampling"]["failure_rate"].shape == (3,)  # the draw continues on resume
    result = run_cli("stage=prior", "max_iterations=3", "stage.resume=true", f"run_dir={run_dir}", *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert iterations(run_dir) == [1, 2, 3]
    assert "resumed from" in result.stdout and "clip failure rates restored" in result.stdout

    # A run continued from an average of checkpoints: their policies with the last one's training state.
    soup_dir = tmp_path / "from_average"
    soup_dir.mkdir()
    exported = export_policies([run_dir / "model_2.pt", run_dir / "model_3.pt"], soup_dir / "model_3.pt",
                               resumable=True)
    assert exported["iteration"] == 3 and {"ppo", "rng", "env"} <= set(exported)
    assert torch.equal(exported["policies"][0]["state_dict"]["mu.weight"],
                       average_policies([torch.load(run_dir / f"model_{i}.pt", weights_only=True)["policies"]
                                         for i in (2, 3)], ["2", "3"])[0]["state_dict"]["mu.weight"])
    result = run_cli("stage=prior", "max_iterations=4", "stage.resume=true", f"run_dir={soup_dir}", *PRIOR_TINY,
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert iterations(soup_dir) == [4] and f"resumed from {soup_dir / 'model_3.pt'}" in result.stdout

    shipped = tmp_path / "prior.pt"  # the policies only, as a prior is shipped
    exported = export_policies(run_dir / "last.pt", shipped)
    assert exported["iteration"] == 3 and "optimizers" not in torch.load(shipped, weights_only=True)
    assert shipped.stat().st_size < (run_dir / "last.pt").stat().st_size

    # PPO continued from policies without a training state (as a DAgger student): another checkpoint's state with them.
    student_dir = tmp_path / "from_student"
    student_dir.mkdir()
    student = export_policies(run_dir / "model_1.pt", tmp_path / "student.pt")
    exported = export_policies(tmp_path / "student.pt", student_dir / "model_3.pt", state_from=run_dir / "model_3.pt")
    assert exported["iteration"] == 3 and {"ppo", "rng", "env"} <= set(exported)
    exported_mu = exported["policies"][0]["state_dict"]["mu.weight"]
    assert torch.equal(exported_mu, student["policies"][0]["state_dict"]["mu.weight"])
    runner_mu = torch.load(run_dir / "model_3.pt", weights_only=True)["policies"][0]["state_dict"]["mu.weight"]
    assert not torch.equal(exported_mu, runner_mu)
    assert exported["metadata"]["policies_from"] == [str(tmp_path / "student.pt")]
    result = run_cli("stage=prior", "max_iterations=4", "stage.resume=true", f"run_dir={student_dir}", *PRIOR_TINY,
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert iterations(student_dir) == [4]
    with pytest.raises(UserInputError, match="student.pt holds no training state .* as the state to resume from"):
        export_policies(run_dir / "model_3.pt", tmp_path / "x.pt", state_from=tmp_path / "student.pt")
    eval_dir = tmp_path / "eval"
    result = run_cli("stage=eval", f"checkpoint={shipped}", f"run_dir={eval_dir}", "sim.nthread=1",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((eval_dir / "summary.json").read_text())
    assert summary["clips"] == 3 and 0.0 <= summary["success_rate"] <= 1.0
    assert {row["clip"] for row in summary["per_clip"]} == {"stand", "step", "sit_down_stand_up"}
    assert all(row["mpjpe_mm"] > 0 for row in summary["per_clip"])
    tracked = [row["mpjpe_mm"] for row in summary["per_clip"] if row["success"]]
    assert summary["clips_tracked"] == len(tracked)
    assert summary["mpjpe_tracked_mm"] == (pytest.approx(sum(tracked) / len(tracked)) if tracked else None)
    assert "over the" in result.stdout or "no clip tracked" in result.stdout
    assert (eval_dir / "eval_clips.csv").read_text().count("\n") == 4


def test_without_data_the_prior_trains_on_generated_motion_families(tmp_path):
    run_dir = tmp_path / "families"
    result = run_cli("stage=prior", "max_iterations=1", f"run_dir={run_dir}", "stage.families.clips=3",
                     "stage.families.mix='walk=1,stand=1'", *TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["clips"] == 3 and summary["data"] == "motion families (3 clips, seed 0, mix walk=1,stand=1)"
    assert torch.load(run_dir / "last.pt", weights_only=True)["metadata"]["data"] == summary["data"]
    # Shipped, it names a clips file eval and render can use without data= and keeps what it was trained on.
    exported = export_policies(run_dir / "last.pt", tmp_path / "prior.pt", data="data/demo/single.pkl")
    assert exported["metadata"]["data"] == "data/demo/single.pkl" and exported["metadata"]["trained_on"] == summary["data"]
    assert torch.load(tmp_path / "prior.pt", weights_only=True)["metadata"] == exported["metadata"]


def saved_policy_file(path, iteration, hidden, scale, agents=1):
    """A checkpoint file holding `agents` small policies whose weights are all `scale`."""
    policies = []
    for _ in range(agents):
        policy = ActorCritic([4], 2, PolicyConfig(actor_hidden=hidden, critic_hidden=hidden))
        with torch.no_grad():
            for tensor in policy.state_dict().values():
                if tensor.is_floating_point():
                    tensor.fill_(scale)
            policy.obs_normalizer.count.fill_(100.0 * iteration)
        policies.append(policy.saved_state())
    save_checkpoint(path, {"iteration": iteration, "policies": policies, "metadata": {"data": "clips.pkl"}})
    return path


def test_exporting_several_checkpoints_averages_their_policies(tmp_path):
    files = [saved_policy_file(tmp_path / f"model_{i}.pt", i, [8], float(i)) for i in (10, 20, 60)]
    exported = export_policies(files, tmp_path / "avg.pt")
    (policy,) = torch.load(tmp_path / "avg.pt", weights_only=True)["policies"]
    state = policy["state_dict"]
    assert torch.equal(state["actor_mlp.0.weight"], torch.full_like(state["actor_mlp.0.weight"], 30.0))
    assert torch.equal(state["obs_normalizer.mean"], torch.full((4,), 30.0))
    assert state["obs_normalizer.count"].item() == 6000.0  # the last one's samples
    assert exported["iteration"] == 60 and exported["metadata"]["averaged_iterations"] == [10, 20, 60]
    ActorCritic.from_saved_state(policy)  # loads as one policy
    other = saved_policy_file(tmp_path / "model_90.pt", 90, [8], 90.0)  # an average with another run, weighted 2:1
    soup = export_policies([tmp_path / "avg.pt", tmp_path / "avg.pt", other], tmp_path / "soup.pt")
    assert torch.equal(soup["policies"][0]["state_dict"]["actor_mlp.0.weight"],
                       torch.full_like(state["actor_mlp.0.weight"], 50.0))
    assert soup["metadata"]["averaged_iterations"] == [[10, 20, 60], [10, 20, 60], 90]
    with pytest.raises(UserInputError, match="has another architecture or configuration than in .*model_10.pt"):
        export_policies([files[0], saved_policy_file(tmp_path / "wide.pt", 70, [16], 1.0)], tmp_path / "x.pt")
    with pytest.raises(UserInputError, match="holds 2 policies and .*model_10.pt 1"):
        export_policies([files[0], saved_policy_file(tmp_path / "two.pt", 70, [8], 1.0, agents=2)], tmp_path / "x.pt")
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "export_policy.py"), str(files[0]),
                             str(tmp_path / "wide.pt"), str(tmp_path / "x.pt")], capture_output=True, text=True)
    assert result.returncode == 2 and "another architecture" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.pt").exists()
    with pytest.raises(UserInputError, match="avg.pt holds no training state"):  # resumable needs a runner's file last
        export_policies([files[0], tmp_path / "avg.pt"], tmp_path / "x.pt", resumable=True)


def test_bad_prior_and_eval_input_is_one_sentence(tmp_path):
    result = run_cli("stage=prior", f"data={REPO / 'data/demo/assist.pkl'}", f"run_dir={tmp_path / 'p'}", *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 2 and "needs 1-person clips" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("stage=eval", f"run_dir={tmp_path / 'e'}", tmp_path=tmp_path)
    assert result.returncode == 2 and "needs checkpoint=" in result.stderr
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    result = run_cli("stage=eval", f"checkpoint={tmp_path / 'broken.pt'}", f"run_dir={tmp_path / 'e2'}", tmp_path=tmp_path)
    assert result.returncode == 2 and "broken.pt" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_short_cpu_run_lengthens_episodes_and_lowers_tracking_error(tmp_path):
    run_dir = tmp_path / "learn"
    result = run_cli("stage=prior", "max_iterations=40", "stage.families.clips=0", "num_envs=64", "stage.ppo.minibatch_size=512",
                     "stage.runner.save_interval=40",
                     f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    first = sum(line["episode/length"] for line in lines[:5]) / 5
    last = sum(line["episode/length"] for line in lines[-5:]) / 5
    assert last > 1.15 * first


def test_the_shipped_prior_tracks_standing_where_an_untrained_policy_falls():
    from assistmimic.envs.config import TrackingEnvConfig
    from assistmimic.envs.tracking import TrackingEnv
    from assistmimic.evaluation import evaluate_clips, policies_from_checkpoint
    from assistmimic.mjcf.config import SceneConfig
    from assistmimic.rl.policy import ActorCritic
    from assistmimic.sim.config import SimConfig
    from assistmimic.sim.factory import make_backend, make_single_person_scene
    from motion_lib.formats.phc import read_clips
    from motion_lib.motion_library import MotionLibrary
    from tests.conftest import robot_config

    (trained,), metadata = policies_from_checkpoint(REPO / "data" / "prior" / "smpl_prior_cpu.pt")
    assert metadata["env_config"]["residual_actions"]
    stand = [c for c in read_clips(REPO / "data" / "demo" / "single.pkl") if c.name == "stand"]
    sim = SimConfig(nthread=1)
    backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim), sim, 1)
    env = TrackingEnv(backend, MotionLibrary(stand), TrackingEnvConfig(
        early_termination=False, random_start=False, residual_actions=True, max_episode_steps=200))
    (row,) = evaluate_clips(env, [trained], [0], failure_distance=0.5)
    assert row["success"] and row["success_training_rule"] and row["mpjpe_mm"] < 50
    torch.manual_seed(0)
    untrained = ActorCritic(trained.obs_dims, trained.action_dim, trained.config).eval()
    (row,) = evaluate_clips(env, [untrained], [0], failure_distance=0.5)
    assert not row["success"] and not row["success_training_rule"]
    # The two columns are separate rules: with a 10 m evaluation rule the fall still breaks the training rule.
    (row,) = evaluate_clips(env, [untrained], [0], failure_distance=10.0)
    assert row["success"] and not row["success_training_rule"]
    env.close()


def test_a_checkpoint_trained_on_generated_families_names_no_clips_file(tmp_path):
    """Its metadata's `data` describes the families (longer than a file name may be): render and eval fall back to
    their default clips instead of failing on it."""
    from assistmimic.stages.common import trained_clips_file

    described = "motion families (500 clips, seed 0, mix " + ",".join(f"family{i}=1.5" for i in range(40)) + ")"
    assert len(described) > 255 and trained_clips_file({"data": described}) is None
    assert trained_clips_file({}) is None and trained_clips_file({"data": str(tmp_path / "gone.pkl")}) is None
    clips = tmp_path / "clips.pkl"
    clips.write_bytes(b"")
    assert trained_clips_file({"data": str(clips)}) == str(clips)


def test_the_shipped_prior_is_distilled_from_the_committed_teachers():
    """`data/prior/smpl_prior_cpu.pt` is the student of `data/prior/long_jump_distill_run/cmd.sh`: its metadata names
    the committed teachers it was distilled from (the prior before for every family but the jumps for distance) and the
    ten checkpoints averaged; its weights are not theirs. The prior before (`distill_run/student.pt`) is in turn the
    student of `distill_run/cmd.sh`, of its two committed teachers."""
    prior = REPO / "data" / "prior"
    shipped = torch.load(prior / "smpl_prior_cpu.pt", weights_only=True)
    long_jump = "data/prior/long_jump_run/average_18270_18540.pt"
    assert shipped["metadata"]["teachers"] == {"teacher": "data/prior/distill_run/student.pt",
                                               "broad_jump": long_jump, "long_jump": long_jump}
    assert shipped["metadata"]["student_init"] == "data/prior/distill_run/student.pt"
    before = torch.load(prior / "distill_run" / "student.pt", weights_only=True)
    assert before["metadata"]["teachers"] == {"teacher": "data/prior/distill_run/teacher.pt",
                                              "broad_jump": "data/prior/broad_jump_run/average_15720_15990.pt"}
    for student in (shipped, before):
        assert student["metadata"]["averaged_iterations"] == list(range(210, 301, 10))
        for path in student["metadata"]["teachers"].values():
            teacher = torch.load(REPO / path, weights_only=True)
            assert not torch.equal(teacher["policies"][0]["state_dict"]["mu.weight"],
                                   student["policies"][0]["state_dict"]["mu.weight"])
        assert student.keys() == {"iteration", "total_env_steps", "policies", "metadata"}


def test_the_distillations_teacher_is_the_average_of_the_committed_parts():
    """`data/prior/distill_run/teacher.pt` (the prior shipped before the forty-fourth session) is what
    `scripts/export_policy.py` makes of the parts committed in `data/prior/shipped_run/` and
    `data/prior/run_endings_run/` (`shipped_run/cmd.sh`, steps 3 and 4): the first run's full checkpoint once (so
    continuing that run continues one part) and the other run's averaged checkpoints twice, averaged 1:1 with the
    averaged checkpoints of its continuation on runs that stop and turn back."""
    run_dir = REPO / "data" / "prior" / "shipped_run"
    (iteration,) = model_checkpoint_iterations(run_dir)
    (other_path,) = run_dir.glob("average_*.pt")
    (endings_path,) = (REPO / "data" / "prior" / "run_endings_run").glob("average_*.pt")
    shipped = torch.load(REPO / "data" / "prior" / "distill_run" / "teacher.pt", weights_only=True)
    saved = torch.load(checkpoint_path(run_dir, iteration), weights_only=True)
    other, endings = (torch.load(path, weights_only=True) for path in (other_path, endings_path))
    other_iterations, endings_iterations = (part["metadata"]["averaged_iterations"] for part in (other, endings))
    assert len(other_iterations) == len(endings_iterations) == 10
    assert shipped["metadata"]["averaged_iterations"] == [[iteration, other_iterations, other_iterations],
                                                          endings_iterations]
    before = average_policies([saved["policies"], other["policies"], other["policies"]], ["a", "b", "b"])
    (expected,) = average_policies([before, endings["policies"]], ["before", "endings"])
    (shipped_policy,) = shipped["policies"]
    assert shipped_policy["state_dict"].keys() == expected["state_dict"].keys()
    for name, tensor in expected["state_dict"].items():
        assert torch.equal(shipped_policy["state_dict"][name], tensor), name
    # The run's file holds what resuming needs (PPO and optimiser state, random state); the shipped one only the
    # policies.
    assert {"ppo", "rng"} <= saved.keys() and shipped.keys() == {key for key in POLICY_FILE_KEYS if key in other}


@pytest.mark.slow
def test_the_gpu_script_continues_the_shipped_run_exports_and_scores_it(tmp_path):
    """`scripts/gpu_prior.sh` on a CPU with a tiny batch (about 1.5 minutes): the shipped run resumed from its
    checkpoint, stopped at its time budget with the iteration saved, exported and scored into OUT."""
    (shipped,) = model_checkpoint_iterations(REPO / "data" / "prior" / "shipped_run")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "RUN_DIR": str(tmp_path / "run"), "SCORES_DIR": str(tmp_path / "scores"),
           "WHEELS": "none", "SIM": "cpu", "NUM_ENVS": "8", "MINIBATCH": "128", "EPOCHS": "1", "CLIPS": "10",
           "TRAIN_SECONDS": "40", "SCORE_SECONDS": "120"}
    result = subprocess.run(["bash", str(REPO / "scripts" / "gpu_prior.sh")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    log = (out / "train.log").read_text()
    assert "resumed from" in log and "exploration std" not in log  # the shipped run's std, unchanged
    trained = torch.load(out / "last.pt", weights_only=False)
    exported = torch.load(out / "prior.pt", weights_only=False)
    assert trained["iteration"] > shipped and exported["iteration"] == trained["iteration"] and "ppo" not in exported
    assert "**builtin**" in (out / "scores.log").read_text()


def test_the_gpu_script_without_an_output_folder_is_one_sentence():
    env = {key: value for key, value in os.environ.items() if key != "OUT"}
    result = subprocess.run(["bash", str(REPO / "scripts" / "gpu_prior.sh")], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error: set OUT") and result.stderr.count("\n") == 1


def test_the_continuation_recipe_without_its_three_arguments_is_one_sentence():
    result = subprocess.run(["bash", str(REPO / "data" / "prior" / "continue_recipe.sh"), "runs/prior_x"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: continue_recipe.sh takes RUN_DIR FAMILIES_SEED MIX, got 1 argument(s)\n"
