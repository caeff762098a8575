"""`stage=experts`: one expert per clip or cluster, sharding, skipping finished and resuming unfinished experts,
failures recorded, index.json and experts.csv; the training itself is a fake (`experts._train_one`)."""

import csv
import json

import pytest
import torch
from joblib import parallel_config
from omegaconf import OmegaConf

from assistmimic.stages import experts
from assistmimic.stages.config import ExpertsConfig, RunConfig
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import write_clips
from tests.test_motion_library import two_person_clip
from tests.test_run_cli import assert_one_clear_error, run_cli

SHARD_VARIABLES = ["RANK", "WORLD_SIZE", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                   "SLURM_ARRAY_TASK_STEP"]


@pytest.fixture(autouse=True)
def no_shard_environment(monkeypatch):
    for name in SHARD_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clips_file(tmp_path):
    path = tmp_path / "clips.pkl"
    write_clips(path, [two_person_clip(name, frames=12) for name in ("c_clip", "a_clip", "b_clip")])
    return path


@pytest.fixture
def trained(monkeypatch):
    """Replace the training by a fake that writes last.pt; returns the calls {name: config} (`fail`: names to fail)."""
    calls = {}

    def fake_train(cfg, run_dir):
        calls[run_dir.name] = cfg
        if run_dir.name in fake_train.fail:
            raise fake_train.fail[run_dir.name]
        torch.save({"iteration": 3}, run_dir / "last.pt")
        return {"iterations": 3, "checkpoint": str(run_dir / "last.pt"), "clips": cfg.stage.clips}

    fake_train.fail = {}
    fake_train.calls = calls
    monkeypatch.setattr(experts, "_train_one", fake_train)
    return fake_train


def config(data, **stage) -> RunConfig:
    return RunConfig(data=str(data), stage=ExpertsConfig(**stage))


def test_one_expert_per_clip_with_index_table_and_expert_configs(tmp_path, clips_file, trained):
    summary = experts.run(config(clips_file), tmp_path / "run")
    assert summary["experts_total"] == summary["experts_in_shard"] == 3
    assert summary["trained"] == ["a_clip", "b_clip", "c_clip"] and summary["skipped"] == [] and summary["failed"] == {}
    expert_dir = tmp_path / "run" / "experts" / "a_clip"
    assert summary["experts"]["a_clip"]["checkpoint"] == str(expert_dir / "last.pt")
    cfg = trained.calls["a_clip"]
    assert cfg.stage.name == "expert" and cfg.stage.clips == ["a_clip"] and cfg.stage.resume is False
    assert cfg.data == str(clips_file.resolve()) and cfg.run_dir == str(expert_dir) and cfg.sim.nthread is None
    saved = OmegaConf.load(expert_dir / "config.yaml")
    assert saved.stage.clips == ["a_clip"] and saved.stage.name == "expert" and saved.run_dir == str(expert_dir)
    assert json.loads((expert_dir / "summary.json").read_text())["finished"] is True
    index = json.loads((tmp_path / "run" / "experts" / "index.json").read_text())
    assert index == {name: {"clips": [name], "checkpoint": f"{name}/last.pt"} for name in ("a_clip", "b_clip", "c_clip")}
    rows = list(csv.DictReader((tmp_path / "run" / "experts.csv").open()))
    assert [(r["group"], r["status"], r["iterations"]) for r in rows] == [
        ("a_clip", "finished", "3"), ("b_clip", "finished", "3"), ("c_clip", "finished", "3")]
    assert rows[0]["checkpoint"] == str(expert_dir / "last.pt")


def test_clusters_file_and_clip_filter(tmp_path, clips_file, trained):
    clusters = tmp_path / "clusters.json"
    clusters.write_text(json.dumps({"help": ["a_clip", "b_clip"], "rise": ["c_clip"]}))
    summary = experts.run(config(clips_file, clusters=str(clusters), clips=["b_clip"]), tmp_path / "run")
    assert summary["trained"] == ["help"] and summary["experts_total"] == 1
    assert trained.calls["help"].stage.clips == ["a_clip", "b_clip"]
    summary = experts.run(config(clips_file, clusters=str(clusters)), tmp_path / "run")
    assert summary["trained"] == ["rise"] and summary["skipped"] == ["help"]
    index = json.loads((tmp_path / "run" / "experts" / "index.json").read_text())
    assert index["help"]["clips"] == ["a_clip", "b_clip"] and index["rise"]["checkpoint"] == "rise/last.pt"
    clusters.write_text(json.dumps({"help": ["a_clip"]}))
    with pytest.raises(UserInputError, match="holds an expert of clips a_clip, b_clip"):
        experts.run(config(clips_file, clusters=str(clusters)), tmp_path / "run")


@pytest.mark.parametrize("settings, environment, expected", [
    ({"shard_index": 1, "num_shards": 2}, {}, ["b_clip"]),
    ({}, {"RANK": "0", "WORLD_SIZE": "2"}, ["a_clip", "c_clip"]),
    ({}, {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"}, ["c_clip"]),
    ({}, {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "2"}, ["b_clip"]),
])
def test_sharding_picks_every_num_shards_th_expert(tmp_path, clips_file, trained, monkeypatch, settings, environment,
                                                     expected):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    summary = experts.run(config(clips_file, **settings), tmp_path / "run")
    assert summary["trained"] == expected and sorted(trained.calls) == expected
    assert summary["experts_total"] == 3 and summary["experts_in_shard"] == len(expected)


def test_shards_sharing_a_folder_merge_their_index(tmp_path, clips_file, trained):
    for index in (1, 0):
        experts.run(config(clips_file, shard_index=index, num_shards=2), tmp_path / "run")
    assert sorted(json.loads((tmp_path / "run" / "experts" / "index.json").read_text())) == ["a_clip", "b_clip", "c_clip"]


def test_finished_experts_are_skipped_and_unfinished_ones_resume(tmp_path, clips_file, trained):
    run_dir = tmp_path / "run"
    experts.run(config(clips_file, clips=["a_clip"]), run_dir)
    (run_dir / "experts" / "b_clip").mkdir(parents=True)
    torch.save({"iteration": 1}, run_dir / "experts" / "b_clip" / "last.pt")  # interrupted before finishing
    trained.calls.clear()
    summary = experts.run(config(clips_file), run_dir)
    assert summary["skipped"] == ["a_clip"] and summary["resumed"] == ["b_clip"]
    assert summary["trained"] == ["b_clip", "c_clip"] and sorted(trained.calls) == ["b_clip", "c_clip"]
    assert trained.calls["b_clip"].stage.resume is True and trained.calls["c_clip"].stage.resume is False
    trained.calls.clear()
    summary = experts.run(config(clips_file), run_dir)
    assert summary["skipped"] == ["a_clip", "b_clip", "c_clip"] and summary["trained"] == [] and not trained.calls


def test_a_failing_expert_is_reported_while_the_others_finish(tmp_path, clips_file, trained):
    trained.fail = {"b_clip": RuntimeError("simulation diverged\nmore detail"), "c_clip": UserInputError("bad clip")}
    summary = experts.run(config(clips_file), tmp_path / "run")
    assert summary["trained"] == ["a_clip"]
    assert summary["failed"] == {"b_clip": "RuntimeError: simulation diverged", "c_clip": "bad clip"}
    recorded = json.loads((tmp_path / "run" / "experts" / "b_clip" / "summary.json").read_text())
    assert recorded["finished"] is False and "Traceback" in recorded["traceback"]
    assert list(json.loads((tmp_path / "run" / "experts" / "index.json").read_text())) == ["a_clip"]
    rows = list(csv.DictReader((tmp_path / "run" / "experts.csv").open()))
    assert [r["status"] for r in rows] == ["finished", "failed", "failed"]
    trained.fail = {}
    summary = experts.run(config(clips_file), tmp_path / "run")
    assert summary["trained"] == ["b_clip", "c_clip"] and summary["failed"] == {}


def test_ctrl_c_stops_after_the_running_expert_and_keeps_the_records(tmp_path, clips_file, trained):
    trained.fail = {"b_clip": KeyboardInterrupt()}
    with pytest.raises(KeyboardInterrupt):
        experts.run(config(clips_file), tmp_path / "run")
    assert list(json.loads((tmp_path / "run" / "experts" / "index.json").read_text())) == ["a_clip"]
    assert "c_clip" not in trained.calls


def test_parallel_experts_share_the_cores(tmp_path, clips_file, trained):
    with parallel_config(backend="threading"):  # threads see the fake; real runs use loky processes
        summary = experts.run(config(clips_file, n_jobs=2), tmp_path / "run")
    assert summary["trained"] == ["a_clip", "b_clip", "c_clip"]
    assert all(cfg.sim.nthread >= 1 for cfg in trained.calls.values())


@pytest.mark.parametrize("clusters, message", [
    ('{"help": ["a_clip", "nope"]}', "clip(s) nope are not in"),
    ('{"help": ["a_clip",', "not valid JSON"),
    ("{}", "expected a non-empty JSON object"),
    ('{"help": []}', "cluster 'help' must be a non-empty list"),
    ('{"../up": ["a_clip"]}', "cluster name '../up' cannot name a folder"),
])
def test_bad_clusters_file_is_one_clear_error(tmp_path, clips_file, trained, clusters, message):
    path = tmp_path / "clusters.json"
    path.write_text(clusters)
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        experts.run(config(clips_file, clusters=str(path)), tmp_path / "run")
    assert not trained.calls


@pytest.mark.parametrize("settings, environment, message", [
    ({"shard_index": 2, "num_shards": 2}, {}, "shard 2 of 2"),
    ({"shard_index": 0}, {}, "set both stage.shard_index and stage.num_shards"),
    ({}, {"RANK": "1"}, "WORLD_SIZE is not set"),
    ({}, {"RANK": "one", "WORLD_SIZE": "2"}, "RANK='one' is not an integer"),
    ({}, {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "3"}, "shard 5 of 3"),
    ({"n_jobs": 0}, {}, "stage.n_jobs must be >= 1"),
    ({"clips": ["nope"]}, {}, "stage.clips names clip(s) not in"),
    ({"clusters": "missing.json"}, {}, "missing.json does not exist"),
])
def test_bad_settings_are_one_clear_error(tmp_path, clips_file, trained, monkeypatch, settings, environment, message):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        experts.run(config(clips_file, **settings), tmp_path / "run")
    assert not trained.calls


def test_command_line_reports_a_bad_clusters_file_in_one_sentence(tmp_path, clips_file):
    (tmp_path / "clusters.json").write_text('{"help": ["a_clip", "nope"]}')
    result = run_cli("stage=experts", f"data={clips_file}", "stage.clusters=clusters.json", f"run_dir={tmp_path / 'run'}",
                     tmp_path=tmp_path)
    assert_one_clear_error(result, "clip(s) nope are not in")
