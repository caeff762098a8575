"""DAgger distillation (`distill/`, `stage=distill`): β schedule, batched experts, the aggregated buffer,
learning from two tiny experts, the evaluation table, resume, the fine-tune's phases and clear errors."""

import csv
import dataclasses
import itertools
import json
import math
from types import SimpleNamespace

import pytest
import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.config import AssistEnvConfig
from assistmimic.evaluation import evaluate_assist_clips
from assistmimic.rl.checkpoint import load_checkpoint, save_checkpoint
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig
from assistmimic.rl.logger import read_metrics
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_scene
from assistmimic.stages.config import DistillConfig, RunConfig
from assistmimic.stages.distill import run
from distill.buffer import AggregatedBuffer
from distill.config import BetaScheduleConfig, DAggerConfig, FineTuneConfig
from distill.experts import ExpertSet
from distill.finetune import FineTuneRunner
from distill.schedule import beta_at, check_beta_schedule
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips, write_clips
from motion_lib.motion_library import MotionLibrary
from motion_lib.roles import swap_persons
from tests.conftest import REPO, robot_config, standard_impairment
from tests.test_eval_assist import GRIP_ACTIONS, SMPL_DOFS, cut, policy, save_expert
from tests.test_run_cli import assert_one_clear_error, run_cli
from tests.test_track_stage import intergen_file

EXPERT_CLIPS = ("contact", "no_contact")


# --- the β schedule ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["linear", "exponential"])
def test_beta_is_exact_at_both_ends_and_falls_in_between(kind):
    cfg = BetaScheduleConfig(kind=kind, start=0.9, end=0.1, decay_iterations=7, rate=0.6)
    betas = [beta_at(i, cfg) for i in range(12)]
    assert betas[0] == 0.9 and betas[7] == 0.1 and betas[11] == 0.1 and beta_at(-3, cfg) == 0.9
    assert all(a > b for a, b in itertools.pairwise(betas[:8]))
    if kind == "linear":
        assert betas[3] == pytest.approx(0.9 - 0.8 * 3 / 7)
    else:  # 0.6^i rescaled: falls faster early than the linear schedule
        assert betas[1] < 0.9 - 0.8 / 7


@pytest.mark.parametrize("change, phrase", [({"kind": "cosine"}, "unknown stage.dagger.beta.kind"),
                                            ({"start": 1.5}, "probability"), ({"decay_iterations": 0}, "at least 1"),
                                            ({"kind": "exponential", "rate": 1.0}, "rate")])
def test_a_bad_beta_schedule_is_one_clear_error(change, phrase):
    with pytest.raises(UserInputError, match=phrase):
        check_beta_schedule(BetaScheduleConfig(**change))


# --- the aggregated buffer -----------------------------------------------------------------------------
def test_the_buffer_aggregates_until_full_then_replaces_the_oldest():
    buffer = AggregatedBuffer(5, obs_dim=2, action_dim=1)
    buffer.add(torch.arange(6.0).reshape(3, 2), torch.tensor([[0.0], [1.0], [2.0]]))
    assert buffer.size == 3 and torch.equal(buffer.newest_obs(2), torch.tensor([[2.0, 3.0], [4.0, 5.0]]))
    buffer.add(torch.full((4, 2), 9.0), torch.full((4, 1), 9.0))
    assert buffer.size == 5
    assert sorted(buffer.actions[:, 0].tolist()) == [2.0, 9.0, 9.0, 9.0, 9.0]  # labels 0 and 1 were the oldest
    obs, actions = buffer.sample(64, torch.Generator().manual_seed(0))
    assert obs.shape == (64, 2) and actions.shape == (64, 1)
    assert set(actions[:, 0].tolist()) == {2.0, 9.0}


# --- experts evaluated together ----------------------------------------------------------------------
def make_experts(folder, clips_path, obs_dims=None, names=EXPERT_CLIPS):
    """One tiny expert per clip of `names`: distinct random networks whose actions differ per expert."""
    torch.manual_seed(1)
    index = {}
    for k, name in enumerate(names):
        kwargs = {} if obs_dims is None else {"obs_dims": obs_dims}
        policies = [policy(zero=False, actions=SMPL_DOFS + GRIP_ACTIONS, **kwargs), policy(zero=False, **kwargs)]
        for net in policies:
            with torch.no_grad():
                net.mu.weight.mul_(2.0)
                net.mu.bias.fill_(0.05 if k % 2 else -0.05)
        (folder / name).mkdir(parents=True, exist_ok=True)
        save_expert(folder / name / "last.pt", clips_path, policies, clips=[name])
        index[name] = {"clips": [name], "checkpoint": f"{name}/last.pt"}
    (folder / "index.json").write_text(json.dumps(index))
    return folder


@pytest.fixture(scope="module")
def clips_path(tmp_path_factory):
    """Two cuts of the demo 'help up' with an expert each, and one cut no expert saw ('held')."""
    help_up = {c.name: c for c in read_clips(REPO / "data" / "demo" / "assist.pkl")}["help_up_from_floor"]
    path = tmp_path_factory.mktemp("distill_clips") / "clips.pkl"
    write_clips(path, [cut(help_up, 45, 75, "contact"), cut(help_up, 0, 20, "no_contact"), cut(help_up, 20, 45, "held")])
    return path


@pytest.fixture(scope="module")
def experts_dir(tmp_path_factory, clips_path):
    return make_experts(tmp_path_factory.mktemp("experts_run") / "experts", clips_path)


def test_batched_expert_actions_equal_each_experts_own(experts_dir):
    experts = ExpertSet.load(experts_dir.parent, "smpl")  # the run_dir is found as well as the folder
    assert experts.names == ["contact", "no_contact"] and experts.clip_names == ["contact", "no_contact"]
    assert experts.clip_experts(["held", "no_contact", "contact"]).tolist() == [-1, 1, 0]
    obs = torch.randn(9, experts.obs_dims[0])
    ids = torch.tensor([1, 0, 0, 1, 1, 1, 0, 1, 1])
    for agent in range(2):
        batched = experts.actions(agent, obs, ids)
        own = torch.stack([experts.experts[int(k)].policies[agent].action_mean(obs[i]) for i, k in enumerate(ids)])
        assert torch.allclose(batched, own, atol=1e-5)
        assert (batched[ids == 0].mean(0) - batched[ids == 1].mean(0)).abs().max() > 0.05  # the experts differ


# --- distillation end to end -------------------------------------------------------------------------
def distill_config(run_dir, experts, data, **stage):
    stage.setdefault("dagger", DAggerConfig(iterations=6, horizon=16, minibatch_size=256, updates_per_iteration=60,
                                            learning_rate=3e-3, save_interval=2,
                                            beta=BetaScheduleConfig(decay_iterations=3)))
    stage.setdefault("policy", PolicyConfig(actor_hidden=[128], critic_hidden=[32], mu_init_scale=1.0))
    return RunConfig(run_dir=str(run_dir), experts=str(experts), data=str(data), robot=robot_config(),
                     sim=SimConfig(nthread=2), impairment=standard_impairment(),
                     stage=DistillConfig(num_envs=8, **stage))


def distill(run_dir, experts, data, **stage):
    stage.setdefault("video", False)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run(distill_config(run_dir, experts, data, **stage), run_dir)


@pytest.fixture(scope="module")
def distilled(tmp_path_factory, experts_dir, clips_path):
    run_dir = tmp_path_factory.mktemp("distill_run")
    return run_dir, distill(run_dir, experts_dir, clips_path, video=True)


def test_the_students_action_error_against_each_expert_falls(distilled):
    run_dir, summary = distilled
    records = read_metrics(run_dir / "metrics.jsonl")
    assert [r["iteration"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["dagger/beta"] for r in records] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0, 0.0, 0.0])
    for name in EXPERT_CLIPS:  # one iteration's error on the states the student reaches is noisy at this size
        # (an iteration in which no world played the expert's clip logs no error for it)
        errors = [r[f"dagger/action_error/expert/{name}"] for r in records if f"dagger/action_error/expert/{name}" in r]
        assert len(errors) >= 4 and sum(errors[-3:]) / 3 < 0.5 * errors[0], (name, errors)
    for a in range(2):
        assert records[-1][f"dagger/loss/agent{a}"] < 0.25 * records[0][f"dagger/loss/agent{a}"]
    assert records[-1]["dagger/buffer_samples"] == 6 * 16 * 8
    assert summary["dagger_iterations"] == 6 and summary["clips"] == list(EXPERT_CLIPS) and summary["held_out"] == ["held"]
    # It ends with a video of the student on its first training clip (None on a machine without offscreen OpenGL).
    assert summary["video"] in (None, str(run_dir / "videos" / "contact.mp4"))


def test_the_student_tracks_an_experts_clip_better_than_the_untrained_student(distilled, clips_path):
    run_dir, _ = distilled
    state = load_checkpoint(run_dir / "last.pt")
    assert state["metadata"]["task"] == "assist" and state["iteration"] == 6
    trained = [ActorCritic.from_saved_state(saved).eval() for saved in state["policies"]]
    untrained = [ActorCritic.from_spec(saved["spec"]).eval() for saved in state["policies"]]
    cfg = distill_config(run_dir, "", clips_path)
    clips = [c for c in read_clips(clips_path) if c.name == "contact"]
    env = AssistEnv(make_backend(make_scene(cfg.robot, cfg.scene, cfg.sim, cfg.impairment), cfg.sim, 1),
                    MotionLibrary(clips), eval_env_config(state), torch.Generator().manual_seed(0))
    contact = torch.zeros(1, clips[0].num_frames, dtype=torch.bool)
    student_row, = evaluate_assist_clips(env, trained, [0], 0.5, 0.5, contact)
    untrained_row, = evaluate_assist_clips(env, untrained, [0], 0.5, 0.5, contact)
    env.close()
    def tracked_s(row):
        return row["frames"] / 30 if row["success"] else row["failed_at_s"]

    assert tracked_s(student_row) > tracked_s(untrained_row) + 0.2, (student_row, untrained_row)
    assert student_row["mpjpe_mm"] < 0.7 * untrained_row["mpjpe_mm"]


def eval_env_config(state) -> AssistEnvConfig:
    """The checkpoint's env settings as `stage=eval` uses them: every clip from its start, no early end."""
    return dataclasses.replace(AssistEnvConfig.from_dict(state["metadata"]["env_config"]), early_termination=False,
                               random_start=False, max_episode_steps=100)


def test_one_table_compares_student_and_experts_on_training_and_held_out_clips(distilled):
    run_dir, summary = distilled
    table = {(r["policy"], r["split"]): r for r in summary["evaluation"]["table"]}
    assert set(table) == {("student", "train"), ("student", "held_out"), ("expert", "train"), ("expert", "held_out")}
    assert table["student", "train"]["clips"] == 2 and table["student", "held_out"]["clips"] == 1
    for row in table.values():
        assert 0.0 <= row["success_rate"] <= 1.0 and 0.0 < row["mpjpe_mm"] < 500.0
    with open(run_dir / "eval" / "distill_eval.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 + 2 + 1  # student on all 3, each expert on its clip, the best expert on the held-out clip
    assert {(r["clip"], r["expert"]) for r in rows if r["policy"] == "expert" and r["split"] == "train"} == {
        ("contact", "contact"), ("no_contact", "no_contact")}
    held = [r for r in rows if r["policy"] == "expert" and r["split"] == "held_out"]
    assert held[0]["clip"] == "held" and held[0]["expert"] in EXPERT_CLIPS
    assert (run_dir / "eval" / "distill_eval_summary.csv").is_file()


def test_the_student_tracks_a_held_out_generated_clip_end_to_end(distilled, clips_path, tmp_path):
    run_dir, _ = distilled
    held = {c.name: c for c in read_clips(clips_path)}["held"]
    intergen_file(tmp_path / "generated.npy", swap_persons(held))  # a generator that lists the recipient first
    result = run_cli("stage=track", f"checkpoint={run_dir / 'last.pt'}", "source=intergen",
                     f"input={tmp_path / 'generated.npy'}", "sim.nthread=2", "stage.video=false", f"run_dir={tmp_path / 'track'}",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "track" / "summary.json").read_text())
    assert summary["clips"] == 1 and summary["roles"][0]["swapped"]
    assert 0.0 <= summary["success_rate"] <= 1.0 and 0.0 < summary["mpjpe_mm"] < 1000.0
    assert summary["per_clip"][0]["frames"] == held.num_frames


def test_distillation_resumes_where_it_stopped(tmp_path, experts_dir, clips_path):
    short = DAggerConfig(iterations=2, horizon=8, minibatch_size=64, updates_per_iteration=5, save_interval=1)
    distill(tmp_path, experts_dir, clips_path, dagger=short, evaluate=False)
    longer = DAggerConfig(iterations=4, horizon=8, minibatch_size=64, updates_per_iteration=5, save_interval=1)
    summary = distill(tmp_path, experts_dir, clips_path, dagger=longer, evaluate=False, resume=True)
    assert summary["dagger_iterations"] == 4 and summary["env_steps"] == 4 * 8 * 8
    assert [r["iteration"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2, 3, 4]
    assert sorted(p.name for p in tmp_path.glob("model_*.pt")) == ["model_2.pt", "model_3.pt", "model_4.pt"]
    assert load_checkpoint(tmp_path / "model_4.pt")["env"]["clip_sampling"]["failure_rate"].shape == (len(EXPERT_CLIPS),)


def test_the_fine_tune_waits_for_the_critic_then_decays_the_expert_loss(tmp_path, experts_dir, clips_path):
    fine_tune = {"dagger": DAggerConfig(iterations=1, horizon=8, minibatch_size=64, updates_per_iteration=5),
                 "ppo": PPOConfig(horizon=8, minibatch_size=32, num_epochs=1, learning_rate=1e-3),
                 "amp": AMPConfig(hidden=[16], replay_size=512), "evaluate": False,
                 "runner": RunnerConfig(amp_batch_size=32, amp_updates_per_iteration=1, save_interval=10)}
    waiting = distill(tmp_path / "wait", experts_dir, clips_path, finetune=FineTuneConfig(iterations=2, explained_variance=2.0),
                      **fine_tune)
    before = load_checkpoint(tmp_path / "wait" / "last.pt")["policies"]
    after = load_checkpoint(tmp_path / "wait" / "finetune" / "last.pt")
    assert waiting["checkpoint"].endswith("finetune/last.pt") and after["actor_since"] == [None, None]
    for old, new in zip(before, after["policies"]):  # only the critic learned
        assert torch.equal(old["state_dict"]["mu.weight"], new["state_dict"]["mu.weight"])
        assert not torch.equal(old["state_dict"]["value_head.weight"], new["state_dict"]["value_head.weight"])

    distill(tmp_path / "learn", experts_dir, clips_path,
            finetune=FineTuneConfig(iterations=3, explained_variance=-math.inf, expert_loss_iterations=2), **fine_tune)
    records = read_metrics(tmp_path / "learn" / "finetune" / "metrics.jsonl")
    assert [r["finetune/expert_loss_weight/agent0"] for r in records] == [1.0, 0.5, 0.0]
    assert all(r["finetune/actor_learning/agent1"] == 1.0 for r in records)
    assert records[0]["ppo/agent0/target_loss"] > 0


# --- bad input ---------------------------------------------------------------------------------------
def test_bad_experts_are_one_clear_error(tmp_path, experts_dir, clips_path):
    empty = tmp_path / "empty_run"
    empty.mkdir()
    with pytest.raises(UserInputError, match="holds no index.json"):
        distill(tmp_path / "a", empty, clips_path)
    missing = make_experts(tmp_path / "missing" / "experts", clips_path)
    (missing / "contact" / "last.pt").unlink()
    with pytest.raises(UserInputError, match="checkpoint .* of expert 'contact' does not exist"):
        distill(tmp_path / "b", missing, clips_path)
    odd = make_experts(tmp_path / "odd" / "experts", clips_path)
    save_expert(odd / "no_contact" / "last.pt", clips_path,
                [policy(obs_dims=(934, 100), actions=SMPL_DOFS + GRIP_ACTIONS), policy(obs_dims=(934, 100))],
                clips=["no_contact"])
    with pytest.raises(UserInputError, match="experts 'contact' and 'no_contact' disagree"):
        distill(tmp_path / "c", odd, clips_path)
    led = make_experts(tmp_path / "led" / "experts", clips_path)
    save_expert(led / "no_contact" / "last.pt", clips_path, clips=["no_contact"],
                env_config=dataclasses.asdict(AssistEnvConfig(residual_actions=True, velocity_feedforward=True)))
    with pytest.raises(UserInputError, match="'contact' and 'no_contact' disagree on velocity_feedforward"):
        distill(tmp_path / "e", led, clips_path)
    narrow = tmp_path / "narrow.pt"
    save_checkpoint(narrow, {"iteration": 1, "metadata": {"task": "assist"},
                             "policies": [ActorCritic((934,), SMPL_DOFS, PolicyConfig(actor_hidden=[8], critic_hidden=[8])).saved_state()] * 2})
    with pytest.raises(UserInputError, match="observations.*the student of .*narrow.pt has 934"):
        distill(tmp_path / "d", experts_dir, clips_path, student_init=str(narrow))


def test_the_command_line_needs_experts_and_names_held_out_clips_it_has(tmp_path, experts_dir, clips_path):
    assert_one_clear_error(run_cli("stage=distill", f"run_dir={tmp_path / 'r'}", tmp_path=tmp_path), "experts=")
    assert_one_clear_error(run_cli("stage=distill", f"experts={experts_dir}", f"data={clips_path}",
                                   "stage.held_out=[nope]", f"run_dir={tmp_path / 'r'}", tmp_path=tmp_path),
                           "stage.held_out names clip(s) not in", "nope")


def test_the_fine_tune_takes_no_anchor_checkpoint(tmp_path):
    """Its action targets are the experts' actions; an anchor would need the same slot."""
    with pytest.raises(UserInputError, match="anchor_checkpoint is not available here: the fine-tune already holds"):
        FineTuneRunner(SimpleNamespace(device="cpu"), [], None, None, FineTuneConfig(), PPOConfig(), AMPConfig(),
                       RunnerConfig(anchor_checkpoint=str(tmp_path / "prior.pt")), tmp_path, {})
