"""Sync-free training steps: the host-sync counter, masked resets equal to resets by id, and training on the
Warp backend (Warp's CPU device) that would not make the host wait for a GPU within an iteration: one expert's
collection and updates, and the collection of experts trained in one batch."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from assistmimic.envs.registry import ENVIRONMENTS
from assistmimic.host_syncs import HostSyncCounter
from assistmimic.mjcf.config import ImpairmentConfig, SceneConfig
from assistmimic.rl.config import AMPConfig, PolicyConfig, PPOConfig, RunnerConfig
from assistmimic.rl.episode_stats import EpisodeStatistics
from assistmimic.rl.policy import ActorCritic
from assistmimic.rl.runner import OnPolicyRunner
from assistmimic.rl.stacked import StackedActorCritic, StackedRunner
from assistmimic.sim.backend import PersonState
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_single_person_scene
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary
from tests.conftest import build_backend, robot_config
from tests.test_device_placement import clips_for


def count_syncs(work) -> HostSyncCounter:
    with HostSyncCounter() as syncs:
        work()
    return syncs


# --- the counter --------------------------------------------------------------------------------
def test_the_counter_sees_what_syncs_a_gpu_and_nothing_else():
    x, ids, weights = torch.linspace(-1.0, 1.0, 6), torch.arange(3), torch.arange(1.0, 7.0)
    mask = x > 0
    syncing = {
        "item": lambda: x.sum().item(), "bool": lambda: bool(mask.any()), "float": lambda: float(x[0]),
        "nonzero": lambda: mask.nonzero(), "where(mask)": lambda: torch.where(mask), "mask index": lambda: x[mask],
        "mask assignment": lambda: x.__setitem__(mask, 0.0), "unique": lambda: ids.unique(),
        "repeat_interleave": lambda: torch.repeat_interleave(ids, ids), "equal": lambda: torch.equal(x, x),
        "multinomial of one": lambda: torch.multinomial(weights, 1),
    }
    quiet = {
        "id index": lambda: x[ids], "id assignment": lambda: x.__setitem__(ids, 1.0),
        "where(mask, a, b)": lambda: torch.where(mask, x, 0.0), "masked_fill": lambda: x.masked_fill(mask, 0.0),
        "sized repeat_interleave": lambda: torch.repeat_interleave(ids, ids, output_size=3),
        "multinomial with replacement": lambda: torch.multinomial(weights, 4, replacement=True),
    }
    assert {name: count_syncs(work).count for name, work in syncing.items()} == dict.fromkeys(syncing, 1)
    assert {name: count_syncs(work).count for name, work in quiet.items()} == dict.fromkeys(quiet, 0)


# --- masked resets ------------------------------------------------------------------------------
def make_env(name: str, num_envs: int, sync_free: bool, **sim_kwargs):
    spec = ENVIRONMENTS[name]
    if spec.persons == 1:
        sim = SimConfig(nthread=1, **sim_kwargs)
        backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim), sim, num_envs)
    else:
        backend = build_backend(num_envs, impairment=ImpairmentConfig(), **sim_kwargs)
    cfg = spec.config_class(residual_actions=True, random_start=False, max_episode_steps=4, sync_free_resets=sync_free)
    return spec.env_class(backend, MotionLibrary(clips_for(spec.persons)[:1]), cfg, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_masked_resets_give_the_steps_of_resets_by_id(name):
    """One clip from its start, so both ways draw the same starts: every step's results must agree, through
    time-outs (world 0 follows the clip and times out every 4 steps) and failures (worlds 1 and 2 get large
    random actions and fall over)."""
    envs = [make_env(name, 3, sync_free) for sync_free in (True, False)]
    for env in envs:
        env.reset()
    generator, scale = torch.Generator().manual_seed(1), torch.tensor([[0.0], [3.0], [3.0]])
    terminated, truncated = torch.zeros(3), torch.zeros(3)
    for _ in range(10):
        actions = [scale * torch.randn(3, d, generator=generator) for d in envs[0].action_dims]
        masked, by_id = (env.step(actions) for env in envs)
        for field in ("rewards", "terminated", "truncated", "obs", "final_obs", "amp_obs", "reward_terms", "metrics"):
            torch.testing.assert_close(getattr(masked, field), getattr(by_id, field), rtol=1e-5, atol=1e-5, msg=field)
        terminated, truncated = terminated + by_id.terminated, truncated + by_id.truncated
    for attribute in ("clip_ids", "times", "steps", "amp_history"):
        torch.testing.assert_close(getattr(envs[0], attribute), getattr(envs[1], attribute), msg=attribute)
    assert truncated[0] == 2 and terminated[0] == 0 and (terminated[1:] >= 3).all()  # both kinds of reset happened
    for env in envs:
        env.close()


@pytest.mark.parametrize("backend", ["cpu", "warp"])
def test_reset_where_sets_the_masked_worlds_as_reset_worlds_does(backend):
    if backend == "warp":
        pytest.importorskip("mujoco_warp", reason="mujoco_warp is not installed (pip install -e \".[gpu]\")")
    kwargs = {"backend": "warp", "device": "cpu", "solver": "Newton"} if backend == "warp" else {}
    masked, by_id = (build_backend(3, **kwargs) for _ in range(2))
    for sim in (masked, by_id):
        for _ in range(3):
            sim.step(0.2 * torch.ones(3, 2, sim.num_dofs))
    state = masked.person_state()
    new = PersonState(**{f.name: getattr(state, f.name).roll(1, dims=0) for f in dataclasses.fields(state)})
    nan_rows = PersonState(**{f.name: torch.where(torch.tensor([True, False, True])[:, None, None], float("nan"),
                                                  getattr(new, f.name)) for f in dataclasses.fields(new)})
    masked.reset_where(torch.tensor([False, True, False]), nan_rows)  # the rows of unmasked worlds are ignored
    by_id.reset_worlds(torch.tensor([1]), new.select(torch.tensor([1])))
    for _ in range(2):
        for a, b in zip(masked.generalized_state(), by_id.generalized_state()):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
        torch.testing.assert_close(masked.actuator_torque(), by_id.actuator_torque(), rtol=0, atol=1e-3)
        for sim in (masked, by_id):
            sim.step(torch.zeros(3, 2, sim.num_dofs))
    with pytest.raises(UserInputError, match=r"reset mask must be a bool tensor of shape \(3,\)"):
        masked.reset_where(torch.tensor([0, 1, 0]), new)
    with pytest.raises(UserInputError, match="reset state 'joint_vel' must have shape"):
        masked.reset_where(torch.tensor([False, True, False]), dataclasses.replace(new, joint_vel=new.joint_vel[:2]))
    for sim in (masked, by_id):
        sim.close()


# --- a training collection ----------------------------------------------------------------------
def training_syncs(tmp_path, sync_free: bool) -> tuple[HostSyncCounter, float, HostSyncCounter]:
    """Host syncs of one 6-step collection of a runner on the assist env (Warp backend on Warp's CPU device), how
    many episodes ended in it, and the host syncs of the PPO and AMP updates that follow (one job after another:
    a dispatch mode sees only its own thread)."""
    env = make_env("assist", 4, sync_free, backend="warp", device="cpu", solver="Newton")
    torch.manual_seed(0)
    policies = [ActorCritic(env.observation_groups[a], env.action_dims[a], PolicyConfig(actor_hidden=[32], critic_hidden=[32]))
                for a in range(2)]
    runner = OnPolicyRunner(env, policies, PPOConfig(horizon=6, minibatch_size=12), AMPConfig(),
                            RunnerConfig(max_iterations=1, amp_batch_size=12, parallel_updates=False), tmp_path, env.device)
    stats = EpisodeStatistics(env.num_envs, env.num_agents, env.device)
    obs = env.reset()
    env.reference_amp_obs(1)  # builds the AMP reference table once, from host-side clip lengths
    collection = count_syncs(lambda: runner._collect(obs, stats))
    episodes = stats.summary()["episode/count"]
    update = count_syncs(runner._update)
    env.close()
    return collection, episodes, update


def test_sync_free_training_never_waits_for_the_host_within_an_iteration(tmp_path):
    """No sync in the collection's steps, none in the update's minibatches and AMP steps (their statistics stay
    on the device and are read once per job with `.tolist()`, which the counter cannot see on a CPU)."""
    pytest.importorskip("mujoco_warp", reason="mujoco_warp is not installed (pip install -e \".[gpu]\")")
    collection, episodes, update = training_syncs(tmp_path / "sync_free", sync_free=True)
    assert collection.count == 0, dict(collection.ops)
    assert update.count == 0, dict(update.ops)
    assert episodes >= 4  # every world timed out once (max_episode_steps=4) and was reset
    by_id, _, _ = training_syncs(tmp_path / "by_id", sync_free=False)
    assert by_id.ops["aten.nonzero"] >= 6  # the counter sees this loop's syncs: the ended worlds' ids, every step


def test_a_sync_free_collection_of_experts_in_one_batch_never_waits_for_the_host(tmp_path):
    """Two stacked experts, each on its own block of two worlds (`stage.batch_experts`'s runner)."""
    pytest.importorskip("mujoco_warp", reason="mujoco_warp is not installed (pip install -e \".[gpu]\")")
    env = make_env("assist", 4, True, backend="warp", device="cpu", solver="Newton")
    env.partition_worlds([[0], [0]])
    torch.manual_seed(0)
    small = PolicyConfig(actor_hidden=[32], critic_hidden=[32])
    policies = [StackedActorCritic([ActorCritic(env.observation_groups[a], env.action_dims[a], small) for _ in range(2)], 2)
                for a in range(2)]
    runner = StackedRunner(env, policies, PPOConfig(horizon=6, minibatch_size=6), AMPConfig(),
                           RunnerConfig(max_iterations=1, amp_batch_size=12), tmp_path, env.device)
    stats = EpisodeStatistics(env.num_envs, env.num_agents, env.device)
    obs = env.reset()
    syncs = count_syncs(lambda: runner._collect(obs, stats))
    assert syncs.count == 0, dict(syncs.ops)
    assert stats.summary()["episode/count"] >= 4
    env.close()
