"""The two-agent assist task: contact reward, hand suppression, redirection, altruism, widening, smoke tests."""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest
import torch

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.assistive import HandLayout, near_hands, redirect_hand_targets
from assistmimic.envs.config import AssistEnvConfig, RewardTerm
from assistmimic.envs.registry import ENVIRONMENTS
from assistmimic.envs.rewards import contact, lift
from assistmimic.envs.step_context import Bodies, StepContext
from assistmimic.mjcf.config import SceneConfig
from assistmimic.rl.checkpoint import load_training_checkpoint
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.backend import BodyState
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_scene, make_single_person_scene
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import ExpertConfig
from assistmimic.stages.expert import initial_policies, prior_path
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary
from motion_lib.skeleton import get_skeleton
from tests.conftest import build_backend, robot_config, standard_impairment

SKELETON = get_skeleton("smpl")
LAYOUT = HandLayout.of(SKELETON)
B = SKELETON.num_bodies


@pytest.fixture(scope="module")
def assist_clips():
    return load_clips(None, "data/demo/assist.pkl", "smpl", persons=2)[1]


def make_env(clips, num_envs=4, **cfg) -> AssistEnv:
    backend = build_backend(num_envs, impairment=standard_impairment(), clips=clips)
    return AssistEnv(backend, MotionLibrary(clips), AssistEnvConfig(residual_actions=True, **cfg),
                     torch.Generator().manual_seed(0))


# --- contact facilitation ------------------------------------------------------------------------
def hand_forces(left_wrist_force: float, right_wrist_force: float = 0.0) -> torch.Tensor:
    """(1, H, 3) forces on the supporter's hand bodies (left wrist, left hand, right wrist, right hand)."""
    force = torch.zeros(1, 2 * LAYOUT.hands.shape[1], 3)
    force[0, 0, 2] = left_wrist_force
    force[0, LAYOUT.hands.shape[1], 2] = right_wrist_force
    return force


CONTACT = {"scale": 0.5, "decay": 2.5, "saturation_n": 1.0, "bonus": 0.05}


def contact_reward(distance: torch.Tensor, hand_force: torch.Tensor, contact_distance: float) -> torch.Tensor:
    """The supporter's `contact` term for wrist distances (N, 2) and hand forces (N, H, 3)."""
    n = distance.shape[0]
    ctx = StepContext(persons=[], targets=[], tracked=None, torque=torch.zeros(n, 2, 1), joint_vel=torch.zeros(n, 2, 1),
                      steps=torch.ones(n), hand_force=torch.stack([hand_force, hand_force], 1),
                      wrist_distance=torch.stack([distance, distance], 1),
                      near=near_hands(torch.stack([distance, distance], 1), contact_distance))
    return contact(ctx.agent(0), **CONTACT)


def test_contact_reward_rises_with_force_up_to_saturation_and_is_zero_beyond_the_distance():
    near_left = torch.tensor([[0.1, 1.0]])  # left wrist 0.1 m from the recipient, right wrist far
    rewards = [float(contact_reward(near_left, hand_forces(f, right_wrist_force=50.0), 0.4)) for f in
               (0.0, 0.2, 0.6, 1.0, 5.0, 200.0)]
    assert rewards[0] == pytest.approx(0.05)  # near but not touching: the proximity bonus only
    assert rewards[0] < rewards[1] < rewards[2] < rewards[3]  # grows with force ...
    assert rewards[3] == rewards[4] == rewards[5]  # ... and saturates at 1 N
    assert rewards[3] == pytest.approx(0.5 * math.exp(-2.5 * 0.1) + 0.05)
    # The far right hand earns nothing despite its 50 N; beyond 0.4 m nothing at all.
    assert float(contact_reward(torch.tensor([[0.41, 0.9]]), hand_forces(5.0, 5.0), 0.4)) == 0.0
    # Closer hands earn more for the same contact.
    closer = float(contact_reward(torch.tensor([[0.02, 1.0]]), hand_forces(5.0), 0.4))
    assert closer > rewards[4]


def place_state(env: AssistEnv, recipient_offset: torch.Tensor) -> tuple[BodyState, list[Bodies]]:
    """The simulated state after reset, with the recipient's bodies moved by `recipient_offset` (3,), and the
    reference = the unmoved simulated bodies (so every body tracks perfectly unless moved)."""
    env.reset()
    state = env.backend.body_state()
    reference = [Bodies.simulated(state, a) for a in range(2)]
    pos = state.pos.clone()
    pos[:, 1] += recipient_offset
    return BodyState(pos, state.rot, state.lin_vel, state.ang_vel), reference


def step_terms(env: AssistEnv, state: BodyState, targets: list[Bodies]) -> tuple[StepContext, dict, torch.Tensor]:
    """The step context of `state` against exactly `targets` (redirection off), the supporter's reward terms and
    (N, A) whether the termination rules fire for each agent."""
    env.cfg.redirection = False
    ctx = env.task.context(state, targets, torch.full((state.pos.shape[0],), 10))
    return ctx, env.reward_sets[0].terms(ctx.agent(0)), env.terminations([ctx.agent(0), ctx.agent(1)])


def test_hand_tracking_terms_are_suppressed_only_near_the_partner(assist_clips):
    env = make_env(assist_clips, num_envs=1)
    state, reference = place_state(env, torch.zeros(3))
    sup = state.pos[0, 0]
    # Put the recipient's chest 0.1 m from the supporter's left wrist, then pull the left hand's targets 0.3 m away.
    chest = SKELETON.index("Chest")
    pos = state.pos.clone()
    pos[0, 1] += sup[LAYOUT.wrists[0]] + torch.tensor([0.1, 0.0, 0.0]) - pos[0, 1, chest]
    near_state = BodyState(pos, state.rot, state.lin_vel, state.ang_vel)
    moved = reference[0].pos.clone()
    moved[:, LAYOUT.hands[0]] += torch.tensor([0.0, 0.0, 0.3])
    targets = [Bodies(moved, reference[0].rot, reference[0].lin_vel, reference[0].ang_vel), reference[1]]
    near, near_terms, near_ended = step_terms(env, near_state, targets)
    not_hands = torch.ones(B, dtype=torch.bool)
    not_hands[LAYOUT.hands.reshape(-1)] = False
    assert near.tracked[0, 0, LAYOUT.hands[0]].eq(0).all() and near.tracked[0, 0, not_hands].eq(1).all()
    assert near.tracked[0, 1].eq(1).all()  # the recipient tracks every body
    assert near_terms["body_pos"][0] == pytest.approx(1.0, abs=1e-6)  # the displaced hand does not count
    assert not near_ended.any()  # nor does it end the episode
    far_pos = pos.clone()
    far_pos[0, 1] += torch.tensor([3.0, 0.0, 0.0])
    far_state = BodyState(far_pos, state.rot, state.lin_vel, state.ang_vel)
    far, far_terms, far_ended = step_terms(env, far_state, targets)
    assert far.tracked.eq(1).all()
    assert far_terms["body_pos"][0] < 0.95
    assert far_ended[0].tolist() == [False, True]  # the recipient, 3 m off its reference, ends it; not the supporter
    # The ablation switch keeps tracking the hands everywhere.
    env.cfg.contact_facilitation = False
    assert step_terms(env, near_state, targets)[1]["body_pos"][0] == pytest.approx(float(far_terms["body_pos"][0]))
    env.close()


# --- redirection -----------------------------------------------------------------------------
def test_redirection_moves_the_hand_targets_with_a_displaced_recipient(assist_clips):
    env = make_env(assist_clips, num_envs=2)
    shift = torch.tensor([0.12, -0.05, 0.03])
    state, reference = place_state(env, shift)
    redirected = env.task.redirected(state, reference, env.task.roots_close(state))
    hands = LAYOUT.hands.reshape(-1)
    others = torch.ones(B, dtype=torch.bool)
    others[hands] = False
    close = (state.pos[:, 0, 0] - state.pos[:, 1, 0]).norm(dim=-1) <= 1.3
    assert close.all()  # the demo clips start with the two persons close together
    torch.testing.assert_close(redirected[0].pos[:, hands], reference[0].pos[:, hands] + shift)
    torch.testing.assert_close(redirected[0].pos[:, others], reference[0].pos[:, others])
    torch.testing.assert_close(redirected[1].pos, reference[1].pos)  # the recipient's targets never change
    env.cfg.redirection = False
    unredirected = env.task.redirected(state, reference, env.task.roots_close(state))
    torch.testing.assert_close(unredirected[0].pos, reference[0].pos)
    env.close()


def test_redirection_follows_the_nearest_recipient_joint_per_hand_and_only_when_close():
    ref_sup, ref_rec = torch.zeros(2, B, 3), torch.zeros(2, B, 3)
    ref_rec[:, :] = torch.tensor([5.0, 5.0, 5.0])  # all recipient joints far ...
    ref_rec[:, SKELETON.index("L_Shoulder")] = torch.tensor([0.1, 0.0, 0.0])  # ... but one near both wrists
    sim_rec = ref_rec.clone()
    sim_rec[:, SKELETON.index("L_Shoulder")] += torch.tensor([0.0, 0.0, 0.2])  # it sits 0.2 m higher in simulation
    out = redirect_hand_targets(ref_sup, ref_rec, sim_rec, torch.tensor([True, False]), LAYOUT)
    assert torch.allclose(out[0, LAYOUT.hands.reshape(-1), 2], torch.tensor(0.2))
    assert out[0].abs().sum() == pytest.approx(0.2 * LAYOUT.hands.numel())
    assert out[1].abs().sum() == 0  # not active: unchanged


# --- rewards --------------------------------------------------------------------------------
def test_supporter_reward_is_half_its_own_plus_half_the_recipients(assist_clips):
    env = make_env(assist_clips)
    env.reset()
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        result = env.step([0.1 * torch.randn(4, 69, generator=gen) for _ in range(2)])
    own = [sum(w * result.reward_terms[name][:, a] for name, w in env.weights[a].items()) for a in range(2)]
    torch.testing.assert_close(result.rewards[:, 0], 0.5 * own[0] + 0.5 * own[1])
    torch.testing.assert_close(result.rewards[:, 1], own[1])
    assert env.weights[1]["power"] == -0.001 and env.weights[0]["power"] == -0.0005 and "contact" not in env.weights[1]
    assert set(result.reward_terms) == {"body_pos", "body_rot", "body_lin_vel", "body_ang_vel", "power", "contact",
                                        "lift", "head_height"}
    # lift: the upward support force over 200 N, in [0, 1] (pressing down earns 0); the supporter's term alone
    torch.testing.assert_close(result.reward_terms["lift"][:, 0], (result.metrics["support_force_z_n"] / 200.0).clamp(0, 1))
    assert (result.reward_terms["lift"][:, 1] == 0).all()
    head = env.backend.body_state().pos[:, 1, SKELETON.index("Head"), 2]
    assert (result.reward_terms["head_height"][:, 0] <= 2.0).all()
    assert ((result.reward_terms["head_height"][~result.terminated & ~result.truncated, 1]
             - head[~result.terminated & ~result.truncated].clamp(0, 2)).abs() < 1e-6).all()
    env.close()


def test_lift_pays_for_holding_up_and_charges_pressing_as_configured():
    view = SimpleNamespace(support_force_z=torch.tensor([-400.0, -50.0, 0.0, 50.0, 400.0]))
    torch.testing.assert_close(lift(view, 200.0, 0.0), torch.tensor([0.0, 0.0, 0.0, 0.25, 1.0]))
    torch.testing.assert_close(lift(view, 200.0, 1.0), torch.tensor([-1.0, -0.25, 0.0, 0.25, 1.0]))


def test_observation_layout_and_config_errors(assist_clips):
    env = make_env(assist_clips)
    obs = env.reset()
    assert env.observation_groups == [(934, 525), (934, 525)] and [o.shape for o in obs] == [(4, 1459)] * 2
    assert (obs[0][:, -1] == 0).all() and (obs[1][:, -1] == 1).all()  # the role flag
    env.close()
    with pytest.raises(UserInputError, match="altruism"):
        make_env(assist_clips, altruism=1.5)
    with pytest.raises(UserInputError, match="unknown reward term"):
        make_env(assist_clips, recipient_rewards={"hugs": RewardTerm(1.0)})
    with pytest.raises(UserInputError, match="'contact' takes the params"):
        make_env(assist_clips, rewards={"contact": RewardTerm(1.0, {"scale": 0.5})})
    # A param with a default may be left out (a checkpoint saved before it existed); one without may not.
    make_env(assist_clips, rewards={"lift": RewardTerm(0.5, {"saturation_n": 200.0})}).close()
    with pytest.raises(UserInputError, match=r"'lift' takes the params.*missing \['saturation_n'\]"):
        make_env(assist_clips, rewards={"lift": RewardTerm(0.5, {"pressing_weight": 1.0})})
    sim = SimConfig(nthread=1)
    single = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim), sim, 2)
    with pytest.raises(UserInputError, match="two-person scene"):
        AssistEnv(single, MotionLibrary(assist_clips), AssistEnvConfig())
    single.close()


# --- motion-prior initialisation ---------------------------------------------------------------
def test_widened_prior_acts_exactly_like_the_prior(assist_clips):
    env = make_env(assist_clips)
    obs = env.reset()
    stage = ExpertConfig(env=AssistEnvConfig(residual_actions=True))
    policies = initial_policies(env, stage, "smpl")
    prior_policy = ActorCritic.from_saved_state(load_training_checkpoint(prior_path(stage.prior))["policies"][0])
    for a in range(2):  # the supporter's two grip actions come after the prior's (tests/test_grip.py)
        assert torch.equal(policies[a].act_deterministic(obs[a])[:, :69], prior_policy.act_deterministic(obs[a][:, :934]))
    torch.manual_seed(3)
    widened = policies[1].act(obs[1])[0]
    torch.manual_seed(3)
    assert torch.equal(widened, prior_policy.act(obs[1][:, :934])[0])
    assert policies[0] is not policies[1]
    stage.env.residual_actions = False
    with pytest.raises(UserInputError, match="residual_actions=true"):
        initial_policies(env, stage, "smpl")
    env.close()


def test_final_observation_of_a_timed_out_pair_is_the_one_it_had_without_the_reset(assist_clips):
    """The ended worlds are observed alone before their reset: their assistive part (partner, hand forces) too."""
    timed_out_env, going_on_env = (make_env(assist_clips, num_envs=3, early_termination=False, random_start=False,
                                            max_episode_steps=steps) for steps in (4, 10))
    for env in (timed_out_env, going_on_env):
        env.reset()
    for _ in range(4):
        actions = [torch.full((3, 69), 0.1), torch.full((3, 69), -0.1)]
        timed_out, going_on = (env.step(actions) for env in (timed_out_env, going_on_env))
    assert timed_out.truncated.all() and not going_on.truncated.any()
    for a in range(2):
        torch.testing.assert_close(timed_out.final_obs[a], going_on.obs[a], rtol=0, atol=1e-5)
    timed_out_env.close()
    going_on_env.close()


# --- every registered environment ---------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(ENVIRONMENTS))
def test_every_environment_creates_resets_and_steps_without_nan(name):
    spec = ENVIRONMENTS[name]
    sim = SimConfig(nthread=1)
    if spec.persons == 1:
        clips = load_clips(None, "data/demo/single.pkl", "smpl", persons=1)[1]
        scene = make_single_person_scene(robot_config(), SceneConfig(), sim, clips)
    else:
        clips = load_clips(None, "data/demo/assist.pkl", "smpl", persons=2)[1]
        scene = make_scene(robot_config(), SceneConfig(), sim, standard_impairment(), clips)
    env = spec.env_class(make_backend(scene, sim, 3), MotionLibrary(clips), spec.config_class(),
                         torch.Generator().manual_seed(0))
    obs = env.reset()
    assert [o.shape for o in obs] == [(3, d) for d in env.obs_dims]
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        result = env.step([torch.randn(3, d, generator=gen) for d in env.action_dims])
        for tensor in [*result.obs, *result.final_obs, result.rewards, *result.reward_terms.values(), *result.amp_obs]:
            assert torch.isfinite(tensor).all()
        assert result.rewards.shape == (3, env.num_agents)
    env.close()


def test_a_phc_checkpoint_becomes_a_prior_the_experts_start_from(assist_clips, tmp_path):
    from phc_prior.rl_games_import import import_prior
    from tests.test_rl_import import prefixed, sequential

    torch.manual_seed(0)
    model = {"running_mean_std.running_mean": torch.randn(934, dtype=torch.float64),
             "running_mean_std.running_var": torch.rand(934, dtype=torch.float64) + 0.5,
             "running_mean_std.count": torch.tensor(1e6, dtype=torch.float64), "a2c_network.sigma": torch.full((69,), -2.9)}
    model.update(prefixed(sequential([934, 32], True), "a2c_network.actor_mlp"))
    model.update(prefixed(torch.nn.Linear(32, 69), "a2c_network.mu"))
    model.update(prefixed(sequential([934, 16], True), "a2c_network.critic_mlp"))
    model.update(prefixed(torch.nn.Linear(16, 1), "a2c_network.value"))
    torch.save({"model": model, "epoch": 1}, tmp_path / "phc.pth")
    import_prior(tmp_path / "phc.pth", tmp_path / "prior.pt", "smpl")

    env = make_env(assist_clips)
    obs = env.reset()
    stage = ExpertConfig(prior=str(tmp_path / "prior.pt"), env=AssistEnvConfig(residual_actions=False))
    policies = initial_policies(env, stage, "smpl")
    imported = ActorCritic.from_saved_state(load_training_checkpoint(tmp_path / "prior.pt")["policies"][0])
    assert torch.equal(policies[1].act_deterministic(obs[1]), imported.act_deterministic(obs[1][:, :934]))
    stage.env.residual_actions = True  # PHC's absolute targets
    with pytest.raises(UserInputError, match="residual_actions=false"):
        initial_policies(env, stage, "smpl")
    env.close()


def test_partitioned_worlds_only_play_their_groups_clips(assist_clips):
    clips = assist_clips + [dataclasses.replace(assist_clips[0], name="third")]
    env = make_env(clips, num_envs=6, max_episode_steps=2)
    env.partition_worlds([[0], [1, 2]])
    assert env.num_groups == 2 and env.world_group.tolist() == [0, 0, 0, 1, 1, 1]
    env.reset()
    seen = set()
    for _ in range(6):  # episodes of 2 steps: every world restarts several times
        env.step([torch.zeros(6, d) for d in env.action_dims])
        assert (env.clip_ids[:3] == 0).all() and set(env.clip_ids[3:].tolist()) <= {1, 2}
        seen |= set(env.clip_ids[3:].tolist())
    assert seen == {1, 2}
    real = env.reference_amp_obs_per_group(5, torch.Generator().manual_seed(0), agent=1)
    assert real.shape == (2, 5, env.amp_steps, env.amp_step_dim) and torch.isfinite(real).all()
    table, start, steps = env._amp_table
    first_clip_rows = table[start[0]:start[0] + steps[0], 1]
    assert all((first_clip_rows == history[0]).all(-1).any() for history in real[0])  # group 0 draws from clip 0 only
    with pytest.raises(UserInputError, match="equal clip groups"):
        env.partition_worlds([[0], [1], [2], [0]])
    with pytest.raises(UserInputError, match="clip ids"):
        env.partition_worlds([[0], [99]])
