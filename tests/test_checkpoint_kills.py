"""A run killed at any instant resumes from its newest complete checkpoint, with continuous metrics and no
temporary files left; `last.pt` is a second name of the newest model file, not a second copy."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistmimic.rl.checkpoint import load_checkpoint, resume_checkpoint, save_iteration_checkpoint
from tests.conftest import REPO
from tests.test_prior_cli import PRIOR_TINY as TINY
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.stages.training import checkpoint_to_resume
from tests.test_runner import PPO_CONFIG, PointMassEnv, iterations, runner_config

SMALL_POLICY = PolicyConfig(actor_hidden=[16], critic_hidden=[16], activation="elu", init_log_std=-0.5,
                            learn_log_std=True)
SMALL_PPO = dataclasses.replace(PPO_CONFIG, horizon=4, minibatch_size=64, num_epochs=1)


class Killed(BaseException):
    """What the simulated kill raises (no handler of the project catches it)."""


class KillSwitch:
    """Counts the file-system calls of a save (fsync, rename, link, unlink) and kills the process at call `at`:
    from then on every such call does nothing, so no clean-up runs, as after a real kill -9.
    `renamed`: the names that os.replace completed before the kill."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, at: int | None):
        self.at, self.calls, self.dead, self.renamed = at, 0, False, []
        for owner, name in ((os, "fsync"), (os, "replace"), (os, "link"), (Path, "unlink")):
            monkeypatch.setattr(owner, name, self._wrap(getattr(owner, name), name))

    def _wrap(self, real, name):
        def call(*args, **kwargs):
            if self.dead:
                return None
            self.calls += 1
            if self.calls == self.at:
                self.dead = True
                raise Killed(f"killed at {name} (call {self.calls})")
            result = real(*args, **kwargs)
            if name == "replace":
                self.renamed.append(Path(args[1]).name)
            return result
        return call


def make_runner(run_dir: Path) -> OnPolicyRunner:
    """Two iterations of a small policy on the point-mass env, saved after each one, one model file kept."""
    return OnPolicyRunner(PointMassEnv(1, num_envs=16), [ActorCritic([6], 2, SMALL_POLICY)], SMALL_PPO, None,
                          runner_config(max_iterations=2, save_interval=1, keep_checkpoints=1), run_dir, "cpu")


def temp_files(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".") and p.is_file())


def train_until_killed(run_dir: Path, monkeypatch: pytest.MonkeyPatch, at: int | None) -> KillSwitch:
    """Two iterations saved after each one, killed at file-system call `at` (None: never)."""
    with monkeypatch.context() as patch:
        switch = KillSwitch(patch, at)
        runner = make_runner(run_dir)
        try:
            runner.learn()
        except Killed:
            pass
    return switch


def calls_of_a_full_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    return train_until_killed(tmp_path / "full", monkeypatch, at=None).calls


def test_a_kill_at_any_file_system_call_of_the_saves_resumes_from_the_newest_complete_one(tmp_path, monkeypatch):
    total = calls_of_a_full_run(tmp_path, monkeypatch)
    assert total == 11  # per save: fsync, rename, link, rename of last.pt, unlink of the link; then one deletion
    for at in range(1, total + 1):
        run_dir = tmp_path / f"kill{at}"
        switch = train_until_killed(run_dir, monkeypatch, at)
        assert switch.dead
        saved = [int(name[len("model_"):-len(".pt")]) for name in switch.renamed if name.startswith("model_")]
        if not saved:
            assert resume_checkpoint(run_dir) is None and temp_files(run_dir) == [], at
            continue
        path = resume_checkpoint(run_dir)
        assert temp_files(run_dir) == [], at
        resumed = make_runner(run_dir)
        assert resumed.resume(path) == max(saved), at
        assert load_checkpoint(run_dir / "last.pt")["iteration"] == max(saved), at
        resumed.learn()
        assert iterations(run_dir) == [1, 2], at
        assert load_checkpoint(run_dir / "last.pt")["iteration"] == 2
        assert os.path.samefile(run_dir / "last.pt", run_dir / "model_2.pt")
        assert temp_files(run_dir) == [], at


def test_a_kill_during_the_first_link_of_last_pt_resumes_from_model_1(tmp_path, monkeypatch):
    """The reported case: model_1.pt complete, last.pt not yet there, its temporary link left behind."""
    switch = train_until_killed(tmp_path, monkeypatch, at=4)  # the model's fsync and rename, the link, last.pt's rename
    assert switch.renamed == ["model_1.pt"]
    assert not (tmp_path / "last.pt").exists() and len(temp_files(tmp_path)) == 1
    assert resume_checkpoint(tmp_path) == tmp_path / "model_1.pt"
    assert os.path.samefile(tmp_path / "last.pt", tmp_path / "model_1.pt") and temp_files(tmp_path) == []


def test_a_run_killed_before_its_first_save_starts_again_with_a_warning(tmp_path, capsys):
    (tmp_path / ".model_1.pt.abcd1234").write_bytes(b"half")
    assert checkpoint_to_resume(tmp_path) is None and temp_files(tmp_path) == []
    assert "holds no readable checkpoint (the run stopped before its first save" in capsys.readouterr().out


def test_last_pt_is_the_newest_model_file_under_a_second_name(tmp_path):
    make_runner(tmp_path).learn()
    assert os.path.samefile(tmp_path / "last.pt", tmp_path / "model_2.pt")
    assert os.stat(tmp_path / "last.pt").st_nlink == 2


def test_a_file_system_without_hard_links_gets_a_copy(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    save_iteration_checkpoint(tmp_path, 1, {"iteration": 1}, keep=2)
    assert load_checkpoint(tmp_path / "last.pt") == {"iteration": 1}
    assert not os.path.samefile(tmp_path / "last.pt", tmp_path / "model_1.pt") and temp_files(tmp_path) == []


def test_a_truncated_newest_checkpoint_is_skipped_with_a_warning(tmp_path, capsys):
    for iteration in (1, 2):
        save_iteration_checkpoint(tmp_path, iteration, {"iteration": iteration}, keep=2)
    (tmp_path / "model_2.pt").unlink()
    (tmp_path / "model_2.pt").write_bytes(b"PK\x03\x04 cut short")  # last.pt still names the old (good) file
    (tmp_path / "last.pt").unlink()
    (tmp_path / ".model_3.pt.abcd1234").write_bytes(b"half")
    assert resume_checkpoint(tmp_path) == tmp_path / "model_1.pt"
    warning = capsys.readouterr().err
    assert warning.startswith("warning: skipping") and "model_2.pt is truncated or corrupt" in warning
    assert load_checkpoint(tmp_path / "last.pt") == {"iteration": 1} and temp_files(tmp_path) == []


def wait_for(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_stage_prior_killed_with_sigkill_resumes_with_continuous_metrics(tmp_path):
    run_dir = tmp_path / "prior"
    tiny = [o for o in TINY if not o.startswith("num_envs=")] + ["num_envs=4"]
    command = [sys.executable, str(REPO / "run.py"), "stage=prior", f"run_dir={run_dir}", *tiny]
    process = subprocess.Popen([*command, "max_iterations=1000"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (run_dir / "model_2.pt").exists() or process.poll() is not None, timeout=90)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    newest = max(int(p.stem.split("_")[1]) for p in run_dir.glob("model_*.pt"))
    result = subprocess.run([*command, f"max_iterations={newest + 1}", "stage.resume=true"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"at iteration {newest}" in result.stdout
    records = [json.loads(line)["iteration"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records == list(range(1, newest + 2))
    assert load_checkpoint(run_dir / "last.pt")["iteration"] == newest + 1
    assert temp_files(run_dir) == []


def test_stage_prior_stopped_with_sigterm_saves_says_interrupted_and_resumes(tmp_path):
    """SIGTERM (kill, job schedulers) stops a run like Ctrl-C: after the iteration under way, checkpoint saved."""
    run_dir = tmp_path / "prior"
    tiny = [o for o in TINY if not o.startswith("num_envs=")] + ["num_envs=4"]
    command = [sys.executable, str(REPO / "run.py"), "stage=prior", f"run_dir={run_dir}", *tiny]
    process = subprocess.Popen([*command, "max_iterations=1000"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (run_dir / "model_2.pt").exists() or process.poll() is not None, timeout=90)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in stderr
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
    last = load_checkpoint(run_dir / "last.pt")["iteration"]
    records = [json.loads(line)["iteration"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert last >= 2 and records == list(range(1, last + 1)) and temp_files(run_dir) == []
