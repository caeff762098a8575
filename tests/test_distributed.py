"""Data-parallel training over torchrun's processes (CPU, gloo, 2 ranks): averaged PPO and AMP gradients equal
the full-batch ones, pooled normaliser and episode statistics equal those of all worlds together, and
`torchrun run.py stage=prior` trains, checkpoints once and resumes on every rank (the resume is marked slow:
two torchrun launches, ~45 s on 2 cores)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from assistmimic.rl import distributed
from assistmimic.rl.amp import AMP
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.logger import read_metrics
from assistmimic.rl.normalizer import RunningMeanStd
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.ppo import PPO
from assistmimic.rl.storage import RolloutStorage
from motion_lib.errors import UserInputError
from tests.conftest import REPO
from tests.test_prior_cli import PRIOR_TINY as TINY, iterations

WORLD = 2
HORIZON, NUM_ENVS, OBS_DIM, ACTION_DIM = 4, 16, 5, 3
"""The full batch: HORIZON x NUM_ENVS samples; rank r holds worlds [r * 8, (r + 1) * 8)."""
POLICY = PolicyConfig(actor_hidden=[16, 16], critic_hidden=[16, 16], activation="elu", init_log_std=-0.5,
                      learn_log_std=True)
AMP_CONFIG = AMPConfig(num_steps=2, hidden=[16], activation="relu", learning_rate=1e-3, grad_penalty=5.0,
                       logit_reg=0.01, weight_decay=1e-4, reward_scale=2.0, replay_size=64)
NORMALIZER_ROWS = [(10, 30), (0, 7)]
"""Rows of each rank's batch, per normaliser update: unequal counts, and an empty batch."""


def ppo_config(minibatch_size: int) -> PPOConfig:
    """One epoch of one minibatch, constant learning rate, no advantage normalisation, an active gradient clip."""
    return PPOConfig(horizon=HORIZON, minibatch_size=minibatch_size, num_epochs=1, learning_rate=1e-2,
                     lr_schedule="constant", normalize_advantage=False, max_grad_norm=0.05)


def initial_policy(seed: int) -> ActorCritic:
    torch.manual_seed(seed)
    return ActorCritic([OBS_DIM], ACTION_DIM, POLICY)


def rollout(worlds: slice) -> RolloutStorage:
    """A fixed rollout of the seed-0 policy (the same numbers in every process), restricted to `worlds`."""
    g = torch.Generator().manual_seed(7)
    policy = initial_policy(0)
    obs = torch.randn(HORIZON, NUM_ENVS, OBS_DIM, generator=g) * 2.0 + 0.5
    with torch.no_grad():
        mus = policy.action_mean(obs)
        sigmas = policy.action_std().expand_as(mus)
        actions = mus + sigmas * torch.randn(mus.shape, generator=g)
        full = {"obs": obs, "mus": mus, "sigmas": sigmas, "actions": actions,
                "log_probs": policy.distribution(mus).log_prob(actions).sum(-1), "values": policy.value(obs),
                "advantages": torch.randn(HORIZON, NUM_ENVS, generator=g),
                "returns": torch.randn(HORIZON, NUM_ENVS, generator=g)}
    n = len(range(NUM_ENVS)[worlds])
    storage = RolloutStorage(HORIZON, n, OBS_DIM, ACTION_DIM, None, "cpu")
    for name, value in full.items():
        setattr(storage, name, value[:, worlds].clone())
    storage.step, storage.returns_ready = HORIZON, True
    return storage


def amp_batches(rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    real = torch.randn(32, 2, 4, generator=g)
    fake = torch.randn(32, 2, 4, generator=g) * 1.5 + 1.0
    return real[rows], fake[rows]


def normalizer_batch(update: int, rank: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(100 * update + rank)
    return torch.randn(NORMALIZER_ROWS[update][rank], OBS_DIM, generator=g) * (rank + 1) + 3.0 * rank


def episode_steps(rank: int) -> list[tuple[dict, dict, torch.Tensor]]:
    """Three steps of 4 worlds and 2 agents for `EpisodeStatistics.add`."""
    g = torch.Generator().manual_seed(50 + rank)
    return [({"reward": torch.randn(4, 2, generator=g)}, {"speed": torch.rand(4, generator=g)},
             torch.rand(4, generator=g) < 0.5) for _ in range(3)]


def summarize(steps_by_rank: list[list[tuple[dict, dict, torch.Tensor]]]) -> dict[str, float]:
    """The summary of one EpisodeStatistics over the worlds of all given ranks side by side."""
    stats = EpisodeStatistics(4 * len(steps_by_rank), 2, torch.device("cpu"))
    for steps in zip(*steps_by_rank):
        stats.add({"reward": torch.cat([s[0]["reward"] for s in steps])},
                  {"speed": torch.cat([s[1]["speed"] for s in steps])}, torch.cat([s[2] for s in steps]))
    return stats.summary()


def worker(rank: int, port: int, out_dir: str) -> None:
    """One rank of the two-process checks; writes what it ended with to out_dir/rank<rank>.pt. A failing check ends
    the process with its error (spawn stops the other rank); a passing one ends at `distributed.finish`."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    assert distributed.init_from_env() and distributed.init_from_env()  # idempotent
    half = slice(rank * NUM_ENVS // WORLD, (rank + 1) * NUM_ENVS // WORLD)
    policy = initial_policy(rank)  # different on each rank until broadcast
    distributed.broadcast_modules([policy])
    stats = PPO(policy, ppo_config(HORIZON * NUM_ENVS // WORLD)).update(rollout(half), 0.0)

    torch.manual_seed(11 + rank)
    amp = AMP(4, AMP_CONFIG)
    distributed.broadcast_modules([amp.discriminator])
    amp.update(*amp_batches(slice(rank * 16, (rank + 1) * 16)))

    normalizer = RunningMeanStd(OBS_DIM)
    for update in range(len(NORMALIZER_ROWS)):
        normalizer.update(normalizer_batch(update, rank))

    episodes = EpisodeStatistics(4, 2, torch.device("cpu"))
    for per_agent, metrics, done in episode_steps(rank):
        episodes.add(per_agent, metrics, done)

    result = {"policy": clone(policy.state_dict()), "grads": {n: p.grad for n, p in policy.named_parameters()},
              "kl": stats["approx_kl"], "amp": amp.discriminator.state_dict(),
              "amp_grads": {n: p.grad for n, p in amp.discriminator.named_parameters()},
              "normalizer": normalizer.state_dict(), "episodes": episodes.summary(),
              "scalars": distributed.average_scalars({"x": float(rank), "y": 2.0}),
              "env_steps": int(distributed.all_reduce_sum(torch.tensor(10 * (rank + 1))))}
    distributed.check_same_on_every_rank([policy, amp.discriminator, normalizer], "the test's modules")
    if rank == 1:
        with torch.no_grad():
            policy.mu.bias.add_(1e-6)
    with pytest.raises(RuntimeError) as mismatch:
        distributed.check_same_on_every_rank([policy], "the policies")
    result["mismatch"] = str(mismatch.value)
    torch.save(result, Path(out_dir) / f"rank{rank}.pt")
    distributed.finish()  # ends this process (exit code 0) once both ranks got here


def clone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in state.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_close(actual: dict, expected: dict, **tolerance) -> None:
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        torch.testing.assert_close(actual[name], value, **tolerance, msg=name)


def test_two_ranks_take_the_full_batch_step_and_pool_their_statistics(tmp_path):
    mp.spawn(worker, args=(free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(WORLD)]

    policy = initial_policy(0)
    full_stats = PPO(policy, ppo_config(HORIZON * NUM_ENVS)).update(rollout(slice(None)), 0.0)
    torch.manual_seed(11)
    amp = AMP(4, AMP_CONFIG)
    amp.update(*amp_batches(slice(None)))
    normalizer = RunningMeanStd(OBS_DIM)
    for update in range(len(NORMALIZER_ROWS)):
        normalizer.update(torch.cat([normalizer_batch(update, r) for r in range(WORLD)]))

    for result in ranks:
        assert_close(result["grads"], {n: p.grad for n, p in policy.named_parameters()}, rtol=1e-5, atol=1e-7)
        assert_close(result["policy"], policy.state_dict(), rtol=1e-5, atol=1e-6)
        assert result["kl"] == pytest.approx(full_stats["approx_kl"], rel=1e-5)
        assert_close(result["amp_grads"], {n: p.grad for n, p in amp.discriminator.named_parameters()},
                     rtol=1e-5, atol=1e-7)
        assert_close(result["amp"], amp.discriminator.state_dict(), rtol=1e-5, atol=1e-6)
        assert_close(result["normalizer"], normalizer.state_dict(), rtol=1e-10, atol=1e-10)
        assert result["episodes"] == pytest.approx(summarize([episode_steps(r) for r in range(WORLD)]))
        assert result["scalars"] == {"x": 0.5, "y": 2.0} and result["env_steps"] == 30
        assert "rank(s) [1] from rank 0" in result["mismatch"]
    assert_close(ranks[0]["policy"], ranks[1]["policy"], rtol=0, atol=0)  # bit-identical ranks
    assert_close(ranks[0]["amp"], ranks[1]["amp"], rtol=0, atol=0)


def test_a_single_process_has_no_process_group_and_the_helpers_pass_values_through(monkeypatch):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.init_from_env()
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    value = torch.randn(3)
    assert distributed.all_reduce_mean(value) is value
    mean, var = torch.randn(3, dtype=torch.float64), torch.rand(3, dtype=torch.float64)
    assert distributed.pooled_moments(mean, var, 4) == (mean, var, 4)


@pytest.mark.parametrize("env, message", [
    ({"WORLD_SIZE": "2"}, "RANK is not"),
    ({"WORLD_SIZE": "two"}, "WORLD_SIZE='two' is not an integer"),
    ({"WORLD_SIZE": "0"}, "WORLD_SIZE=0 must be at least 1"),
    ({"RANK": "1"}, "RANK=1 does not fit a single process"),
    ({"WORLD_SIZE": "2", "RANK": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"},
     "need 0 <= RANK < WORLD_SIZE"),
    ({"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0", "MASTER_PORT": "1"}, "MASTER_ADDR is not"),
])
def test_an_inconsistent_torchrun_environment_is_one_clear_error(monkeypatch, env, message):
    for name in distributed.TORCHRUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UserInputError, match=message):
        distributed.init_from_env()


def test_single_process_stages_refuse_torchrun(tmp_path):
    env = {**os.environ, "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}
    result = subprocess.run([sys.executable, str(REPO / "run.py"), "stage=eval", f"run_dir={tmp_path / 'e'}"],
                            check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "stage=eval runs in one process, but WORLD_SIZE=2; torchrun runs stage=prior and stage=expert" \
        in result.stderr


def torchrun(*overrides, tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD}",
               str(REPO / "run.py"), *overrides]
    return subprocess.run(command, check=False, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


STEPS_PER_ITERATION = 8 * 8 * WORLD
"""TINY's horizon x num_envs per rank x ranks."""


@pytest.fixture(scope="module")
def torchrun_prior(tmp_path_factory):
    """A two-iteration `stage=prior` run under torchrun with two ranks: (its run_dir, the finished process)."""
    tmp_path = tmp_path_factory.mktemp("torchrun")
    run_dir = tmp_path / "prior"
    return run_dir, torchrun("stage=prior", "max_iterations=2", f"run_dir={run_dir}", *TINY, tmp_path=tmp_path)


def test_torchrun_prior_trains_one_policy_over_two_ranks_and_rank_0_writes_once(torchrun_prior):
    run_dir, result = torchrun_prior
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("results:") == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 2 and summary["env_steps"] == 2 * STEPS_PER_ITERATION
    assert iterations(run_dir) == [1, 2]
    assert read_metrics(run_dir / "metrics.jsonl")[-1]["perf/total_env_steps"] == 2 * STEPS_PER_ITERATION
    assert len(list((run_dir / "tb").iterdir())) == 1
    assert sorted(p.name for p in run_dir.glob("*.pt")) == ["last.pt", "model_1.pt", "model_2.pt"]
    # Each save checked that the ranks' weights are bit-identical (a RuntimeError and a failed run otherwise)
    # and kept every rank's own random state.
    saved = torch.load(run_dir / "last.pt", weights_only=True)
    first, second = saved["rng_by_rank"]
    assert torch.equal(first["torch"], saved["rng"]["torch"]) and not torch.equal(first["torch"], second["torch"])


@pytest.mark.slow
def test_torchrun_prior_resumes_on_both_ranks(torchrun_prior, tmp_path):
    trained, result = torchrun_prior
    assert result.returncode == 0, result.stderr
    run_dir = tmp_path / "prior"
    shutil.copytree(trained, run_dir)
    result = torchrun("stage=prior", "max_iterations=3", "stage.resume=true", f"run_dir={run_dir}", *TINY,
                      tmp_path=tmp_path)
    # A rank that did not resume would run other iterations than rank 0 and fail the weight check.
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("resumed from") == 1
    assert iterations(run_dir) == [1, 2, 3]
    saved = torch.load(run_dir / "last.pt", weights_only=True)
    assert saved["iteration"] == 3 and saved["total_env_steps"] == 3 * STEPS_PER_ITERATION
