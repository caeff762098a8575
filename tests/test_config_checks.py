"""Bad config values, unknown stages, options and keys, and short overrides a stage does not read: one sentence and
exit code 2 at compose time, before any run folder is made."""

from __future__ import annotations

import dataclasses
import types
import typing

import pytest
from hydra import compose, initialize_config_dir

from assistmimic.config_checks import CONFIG_DIR, check_command_line, check_config
from assistmimic.limits import LIMITS, Limits
from assistmimic.stages.config import STAGE_SCHEMAS, RunConfig, register_configs
from motion_lib.errors import UserInputError
from tests.test_run_cli import run_cli

register_configs()


def composed(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def problem(overrides: list[str]) -> str:
    """The sentence `check_command_line` or `check_config` gives for `overrides`."""
    with pytest.raises(UserInputError) as caught:
        check_command_line(overrides)
        check_config(composed(overrides), overrides)
    return str(caught.value)


@pytest.mark.parametrize(("overrides", "sentence"), [
    (["stage=prior", "num_envs=0"], "num_envs=0 is not allowed: it must be >= 1"),
    (["stage=prior", "max_iterations=-3"], "max_iterations=-3 is not allowed: it must be >= 1"),
    (["stage=render", "num_envs=4"], "num_envs=4 does nothing in stage=render; only stage=bench, stage=prior"),
    (["stage=eval", "max_iterations=5"], "max_iterations=5 does nothing in stage=eval; only stage=prior"),
    (["stage=prior", "stage.ppo.horizon=0"], "stage.ppo.horizon=0 is not allowed: it must be >= 1"),
    (["stage=prior", "stage.ppo.learning_rate=-0.001"],
     "stage.ppo.learning_rate=-0.001 is not allowed: it must be > 0"),
    (["stage=prior", "stage.amp.learning_rate=-1e-5"], "stage.amp.learning_rate=-1e-05 is not allowed: it must be > 0"),
    (["stage=prior", "stage.amp.replay_size=-5"], "stage.amp.replay_size=-5 is not allowed: it must be >= 1"),
    (["stage=expert", "stage.ppo.minibatch_size=-1"], "stage.ppo.minibatch_size=-1 is not allowed: it must be >= 1"),
    (["stage=prior", "stage.ppo.num_epochs=0"], "stage.ppo.num_epochs=0 is not allowed: it must be >= 1"),
    (["stage=prior", "stage.ppo.adam_betas=[0.9,1.0]"],
     "stage.ppo.adam_betas=[0.9, 1.0] is not allowed: it must be a list of 2 items, each >= 0 and < 1"),
    (["stage=prior", "stage.policy.actor_hidden=[0]"],
     "stage.policy.actor_hidden=[0] is not allowed: it must be a list of at least 1 item(s), each >= 1"),
    (["sim.max_joint_velocity=-1"], "sim.max_joint_velocity=-1.0 is not allowed: it must be > 0"),
    (["sim.torch_threads=0"], "sim.torch_threads=0 is not allowed: it must be >= 1"),
    (["stage=eval", "stage.action_noise=-1"], "stage.action_noise=-1.0 is not allowed: it must be >= 0"),
    (["stage=prior", "stage.ppo.gamma=1.5"], "stage.ppo.gamma=1.5 is not allowed: it must be between 0 and 1"),
    (["stage=prior", "stage.ppo.clip_ratio=nan"],
     "stage.ppo.clip_ratio=nan is not allowed: it must be a finite number"),
    (["stage=expert", "stage.env.altruism=inf"], "stage.env.altruism=inf is not allowed: it must be between 0 and 1"),
    (["stage=prior", "stage.env.termination_curriculum.distance_scale=0.5"],
     "stage.env.termination_curriculum.distance_scale=0.5 is not allowed: it must be >= 1"),
    (["stage=expert", "stage.env.contact_distance=nan"], "stage.env.contact_distance=nan is not allowed: it must be a finite number"),
    (["stage=bench", "stage.batch_sizes=[]"],
     "stage.batch_sizes=[] is not allowed: it must be a list of at least 1 item(s)"),
    (["stage=experts", "stage.n_jobs=0"], "stage.n_jobs=0 is not allowed: it must be >= -1 and not 0"),
    (["stage=distill", "stage.dagger.beta.rate=1"],
     "stage.dagger.beta.rate=1.0 is not allowed: it must be > 0 and < 1"),
    (["scene=chair", "scene.furniture.0.size=[1,2]"],
     "scene.furniture[0].size=[1.0, 2.0] is not allowed: it must be a list of 3 items, each > 0"),
    (["stage=prior", "+stage.no_such_key=1"],
     "stage.no_such_key is not a setting; the settings of stage are: num_envs"),
    (["stage=prior", "stage.no_such_key=1"], "stage.no_such_key is not a setting; the settings of stage are: num_envs"),
    (["+foo=1"], "foo is not a setting; the top-level settings are: run_dir, seed"),
    (["stage=nope"], "stage=nope is unknown; stage is one of: bench, convert, distill, eval, expert, experts, inspect, "
                     "prior, render, track"),
    (["robot=smpl_x"], "robot=smpl_x is unknown; robot is one of: smpl, smplx"),
    (["stage=prior", "stage.ppo.horizon=abc"], "stage.ppo.horizon=abc is not allowed: Value 'abc' of type 'str' could "
                                               "not be converted to Integer"),
    (["stage=prior", "stage.ppo.horizon=[1,"], "cannot read the override 'stage.ppo.horizon=[1,'"),
])
def test_a_bad_value_or_name_is_one_sentence_naming_it(overrides, sentence):
    message = problem(overrides)
    assert message.startswith(sentence) and "\n" not in message and "_schema" not in message


def test_good_configs_pass():
    for overrides in (["stage=prior", "num_envs=8", "max_iterations=2"], ["stage=bench", "num_envs=3"],
                      ["stage=render"], ["stage=expert", "~stage.env.terminations.mean_body_far",
                       "+stage.env.terminations.far={distance: 0.3}"]):
        check_command_line(overrides)
        check_config(composed(overrides), overrides)


def test_the_prior_overrides_only_the_power_weight_and_the_experts_keep_assistmimics():
    """The prior's yaml lowers the power penalty (README "Shipped prior") and keeps every other tracking term as
    the env defaults give it; the experts keep AssistMimic's 0.0005 / 0.001."""
    prior = composed(["stage=prior"]).stage.env.rewards
    expert = composed(["stage=expert"]).stage.env
    assert prior.power.weight == -0.0001 and prior.power.params.grace_steps == 3
    assert {k: v for k, v in prior.items() if k != "power"} == {k: v for k, v in expert.rewards.items()
                                                                 if k in prior and k != "power"}
    assert expert.rewards.power.weight == -0.0005 and expert.recipient_rewards.power.weight == -0.001


def test_limits_say_what_they_allow():
    assert Limits(min=1).describe() == ">= 1" and not Limits(min=1).allows(0) and Limits(min=1).allows(None)
    assert Limits(above=0, max=1).describe() == "> 0 and <= 1" and Limits(above=0, max=1).allows(1.0)
    assert Limits(length=2).describe() == "a list of 2 items" and not Limits(length=2).allows([1.0])
    assert Limits(item=Limits(min=0)).describe() == "a list of items each >= 0"


UNBOUNDED = {
    "PolicyConfig.init_log_std", "RunnerConfig.task_reward_weight", "RunnerConfig.amp_reward_weight",
    "RobotConfig.betas", "FurnitureConfig.yaw",
}
"""Numeric and list fields any finite value of which is fine."""
def schema_fields(schema: type, seen: set[type]) -> typing.Iterator[tuple[str, typing.Any, dataclasses.Field]]:
    """("Class.field", type hint, field) of `schema` and of every schema below it."""
    if schema in seen:
        return
    seen.add(schema)
    hints = typing.get_type_hints(schema)
    for f in dataclasses.fields(schema):
        hint = hints[f.name]
        yield f"{schema.__name__}.{f.name}", hint, f
        nested = (a for arg in typing.get_args(hint) for a in typing.get_args(arg))
        for inner in (hint, *typing.get_args(hint), *nested):
            if dataclasses.is_dataclass(inner):
                yield from schema_fields(inner, seen)


def is_numeric(hint) -> bool:
    """A number, or a list of numbers (optional or not)."""
    args = set(typing.get_args(hint)) - {type(None)} if isinstance(hint, types.UnionType) else {hint}
    return any(arg in (int, float) or (typing.get_origin(arg) is list and is_numeric(typing.get_args(arg)[0]))
               for arg in args)


def test_every_numeric_and_list_field_declares_its_limits():
    seen: set[type] = set()
    fields = [item for schema in (RunConfig, *STAGE_SCHEMAS.values()) for item in schema_fields(schema, seen)]
    unlimited = {name for name, hint, f in fields if is_numeric(hint) and LIMITS not in f.metadata}
    assert unlimited == UNBOUNDED


@pytest.mark.parametrize(("overrides", "sentence"), [
    (["num_envs=0"], "error: num_envs=0 is not allowed: it must be >= 1"),
    (["stage=nope"], "error: stage=nope is unknown; stage is one of: bench, convert"),
    (["stage=prior", "+stage.no_such_key=1"], "error: stage.no_such_key is not a setting"),
    (["stage=prior", "stage.ppo.horizon=0"], "error: stage.ppo.horizon=0 is not allowed"),
])
def test_the_command_line_says_it_in_one_line_and_makes_no_folder(tmp_path, overrides, sentence):
    result = run_cli(*overrides, f"run_dir={tmp_path / 'run'}", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith(sentence) and result.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_a_folder_or_a_corrupt_file_given_as_checkpoint(tmp_path):
    result = run_cli("stage=eval", f"checkpoint={tmp_path}", f"run_dir={tmp_path / 'run'}", tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr == f"error: checkpoint {tmp_path} is a folder; give a checkpoint " \
                                                       f"file, e.g. {tmp_path / 'last.pt'}\n"
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    result = run_cli("stage=eval", f"checkpoint={tmp_path / 'bad.pt'}", f"run_dir={tmp_path / 'run'}",
                     tmp_path=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "weights_only" not in result.stderr
    assert "bad.pt is corrupt" in result.stderr and not (tmp_path / "run").exists()
