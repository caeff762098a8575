"""A prior distilled from priors (`stage=prior stage.distill.teacher=...`): each world labelled by its clip's family's
teacher (`distill.family_teachers`), the student learning their actions, checkpoints that stage=eval reads, resume."""

import json

import pytest
import torch

from assistmimic.rl.checkpoint import save_checkpoint
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.policy import ActorCritic
from distill.family_teachers import FamilyTeachers
from motion_lib.errors import UserInputError
from tests.test_prior_cli import PRIOR_TINY, iterations
from tests.test_run_cli import run_cli

SMALL = PolicyConfig(actor_hidden=[16], critic_hidden=[16], activation="elu", init_log_std=-1.0, learn_log_std=False)
ENV_CONFIG = {"residual_actions": True, "velocity_feedforward": False}


def save_prior(path, seed: int, obs_dim: int = 6, action_dim: int = 2, policies: int = 1,
               env_config: dict = ENV_CONFIG) -> ActorCritic:
    """A random single-person (or `policies`-agent) checkpoint at `path`; returns its first policy."""
    torch.manual_seed(seed)
    made = [ActorCritic([obs_dim], action_dim, SMALL) for _ in range(policies)]
    for policy in made:
        torch.nn.init.normal_(policy.mu.weight)  # actions that differ between seeds
    metadata = {"env_config": env_config} if policies == 1 else {"task": "assist", "env_config": env_config}
    save_checkpoint(path, {"policies": [policy.saved_state() for policy in made], "metadata": metadata})
    return made[0].eval()


def test_each_world_is_labelled_by_its_clips_familys_teacher(tmp_path):
    a, b = save_prior(tmp_path / "a.pt", 0), save_prior(tmp_path / "b.pt", 1)
    teachers = FamilyTeachers(str(tmp_path / "a.pt"), {"jump": str(tmp_path / "b.pt")}, ["jump", "other", "walk"])
    assert teachers.names == ["teacher", "jump"]
    clip_teachers = teachers.clip_teachers(torch.tensor([2, 0, 1, 0]))  # clips of walk, jump, other, jump
    assert clip_teachers.tolist() == [0, 1, 0, 1]
    obs = torch.randn(6, 6)
    worlds = clip_teachers[torch.tensor([0, 1, 1, 2, 3, 0])]
    labels = teachers.actions(0, obs, worlds)
    with torch.no_grad():
        expected = torch.where((worlds == 1)[:, None], b.action_mean(obs), a.action_mean(obs))
    torch.testing.assert_close(labels, expected)
    assert not torch.allclose(a.action_mean(obs), b.action_mean(obs))
    teachers.check_observations([6], [2], "the student")
    with pytest.raises(UserInputError, match="the teachers take 6 observations and give 2 actions, but the student"):
        teachers.check_observations([7], [2], "the student")


def test_teacher_mistakes_are_one_sentence(tmp_path):
    save_prior(tmp_path / "a.pt", 0)
    a = str(tmp_path / "a.pt")
    with pytest.raises(UserInputError, match="names the family hop, which no training clip has .*jump, walk"):
        FamilyTeachers(a, {"hop": a}, ["jump", "walk"])
    with pytest.raises(UserInputError, match="stage.distill.teacher=.*nowhere.pt does not exist"):
        FamilyTeachers(str(tmp_path / "nowhere.pt"), {}, ["walk"])
    save_prior(tmp_path / "pair.pt", 0, policies=2)
    with pytest.raises(UserInputError, match="family_teachers.walk=.*pair.pt is a two-agent checkpoint"):
        FamilyTeachers(a, {"walk": str(tmp_path / "pair.pt")}, ["walk"])
    save_prior(tmp_path / "wide.pt", 0, obs_dim=9)
    with pytest.raises(UserInputError, match="the teachers disagree: .* takes 6 .* the walk teacher 9 and 2"):
        FamilyTeachers(a, {"walk": str(tmp_path / "wide.pt")}, ["walk"])
    save_prior(tmp_path / "absolute.pt", 0, env_config={**ENV_CONFIG, "residual_actions": False})
    teachers = FamilyTeachers(a, {"walk": str(tmp_path / "absolute.pt")}, ["walk"])
    with pytest.raises(UserInputError, match="family_teachers.walk=.* trained with stage.env.residual_actions=False"):
        teachers.check_action_meaning(ENV_CONFIG)
    with pytest.raises(UserInputError, match="stage.distill.teacher=.* trained with stage.env.residual_actions=True"):
        teachers.check_action_meaning({**ENV_CONFIG, "residual_actions": False})


DISTILL_TINY = [*PRIOR_TINY, "stage.distill.dagger.horizon=8", "stage.distill.dagger.updates_per_iteration=30",
                "stage.distill.dagger.minibatch_size=64", "stage.distill.dagger.beta.decay_iterations=2",
                "stage.distill.dagger.learning_rate=3e-3"]


def test_a_prior_distilled_from_a_prior_learns_its_actions_resumes_and_evaluates(tmp_path):
    teacher_dir = tmp_path / "teacher"
    result = run_cli("stage=prior", "max_iterations=2", f"run_dir={teacher_dir}", *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "student"
    distill = ["stage=prior", f"run_dir={run_dir}", f"stage.distill.teacher={teacher_dir / 'last.pt'}", *DISTILL_TINY]
    result = run_cli(*distill, "max_iterations=6", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    errors = [record["dagger/action_error/agent0"] for record in records]
    assert errors[-1] < 0.5 * errors[0], errors  # a fresh student learns the teacher's actions
    assert records[0]["dagger/beta"] == 1.0 and records[-1]["dagger/beta"] == 0.0
    assert records[-1]["clip_draw_share/other"] == pytest.approx(1.0)  # the env's draw per family, as PPO logs it
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 6 and summary["teachers"] == {"teacher": str(teacher_dir / "last.pt")}
    result = run_cli(*distill, "max_iterations=7", "stage.resume=true", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert iterations(run_dir) == list(range(1, 8))
    assert f"resumed from {run_dir / 'model_6.pt'} at iteration 6" in result.stdout
    result = run_cli("stage=eval", f"checkpoint={run_dir / 'last.pt'}", f"run_dir={tmp_path / 'eval'}", "sim.nthread=1",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["clips"] == 3

    # A student that starts as its teacher labels its own actions: no error to learn.
    start_dir = tmp_path / "from_teacher"
    result = run_cli("stage=prior", f"run_dir={start_dir}", f"stage.distill.teacher={teacher_dir / 'last.pt'}",
                     f"stage.distill.student_init={teacher_dir / 'last.pt'}", *DISTILL_TINY, "max_iterations=1",
                     tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    first = json.loads((start_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert first["dagger/action_error/agent0"] == pytest.approx(0.0, abs=1e-10)


def test_distillation_mistakes_exit_2_with_one_sentence(tmp_path):
    save_prior(tmp_path / "a.pt", 0)
    result = run_cli("stage=prior", f"run_dir={tmp_path / 'r'}", f"stage.distill.student_init={tmp_path / 'a.pt'}",
                     *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 2 and "need stage.distill.teacher" in result.stderr, result.stderr
    result = run_cli("stage=prior", f"run_dir={tmp_path / 'r'}", f"stage.distill.teacher={tmp_path / 'a.pt'}",
                     f"+stage.distill.family_teachers.hop={tmp_path / 'a.pt'}", *PRIOR_TINY, tmp_path=tmp_path)
    assert result.returncode == 2 and "names the family hop, which no training clip has" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
