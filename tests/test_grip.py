"""The grip (`scene.grip`): palms that hold only the partner, a limp forearm held against gravity, the support force's
sign, grip actions in the env and the widened prior, and the recipient-alone baseline of the evaluation."""

import math

import mujoco
import pytest
import torch

from assistmimic.envs.assist import AssistEnv, support_force_z
from assistmimic.envs.config import AssistEnvConfig
from assistmimic.mjcf.config import AgentPhysicsConfig, GripConfig, ImpairmentConfig, JointGroupRule, SceneConfig
from assistmimic.rl.config import PolicyConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.backend import PersonState
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips
from motion_lib.motion_library import MotionLibrary
from motion_lib.rotations import quat_to_matrix
from phc_prior.widening import widen_policy_outputs
from tests.conftest import REPO, build_backend
from tests.test_eval_assist import clips_file, evaluate, save_expert  # noqa: F401 (clips_file: a fixture)

LIMP_ARMS = ImpairmentConfig(recipient=AgentPhysicsConfig(
    rules=[JointGroupRule(["thorax", "shoulder", "elbow", "wrist", "hand"], kp_scale=0.0, kd_scale=0.05)]))
"""A recipient whose arms hang limp (no stiffness, a little damping): only a grip can hold them up."""


def collides(model: mujoco.MjModel, a: int, b: int) -> bool:
    """Geoms a and b can touch (MuJoCo's contype/conaffinity rule)."""
    return bool(model.geom_contype[a] & model.geom_conaffinity[b] or model.geom_contype[b] & model.geom_conaffinity[a])


def test_palms_can_touch_only_the_partner(backend_factory):
    backend = backend_factory(1, scene=SceneConfig(grip=GripConfig(agents=["supporter", "recipient"])))
    model = backend.model
    assert backend.grip_dims == (2, 2)
    for agent, (own, partner) in enumerate((("sup_", "rec_"), ("rec_", "sup_"))):
        for hand in ("L_Hand", "R_Hand"):
            palm = model.geom(f"{own}{hand}_grip_geom").id
            assert model.body_mass[model.geom_bodyid[palm]] == 0.0
            touches = {model.geom(g).name for g in range(model.ngeom) if collides(model, palm, g)}
            person = {model.geom(g).name for g in range(model.ngeom) if model.geom(g).name.startswith(partner)
                      and "_grip_" not in model.geom(g).name}
            assert touches == person  # not the floor, the furniture, its own body or the partner's palms


def test_no_grip_builds_no_palms_and_a_bad_role_is_one_clear_error(backend_factory):
    backend = backend_factory(1, scene=SceneConfig(grip=GripConfig(agents=[])))
    assert backend.grip_dims == (0, 0)
    assert not any(backend.model.actuator(i).name.endswith(("grip_L", "grip_R")) for i in range(backend.model.nu))
    assert backend.grip_force().abs().max() == 0.0 and backend.grip_command().shape == (1, 2, 2)
    with pytest.raises(UserInputError, match="unknown role"):
        backend_factory(1, scene=SceneConfig(grip=GripConfig(agents=["helper"])))


def forearm_under_hand(backend) -> tuple[PersonState, torch.Tensor]:
    """Every world: the supporter stands with its left arm raised a little; the recipient, turned by 90 degrees, has its
    right forearm 3 mm below the supporter's left hand. Returns the state and PD targets that hold the poses."""
    sk = backend.skeleton
    state = backend.person_state()
    state.joint_pos[:, 0, 3 * (sk.index("L_Shoulder") - 1)] = 0.15  # raise the supporter's left arm
    backend.reset_worlds(torch.arange(backend.num_envs), state)
    gap = 0.025 + 0.038 + 0.003  # hand and forearm capsule radii, 3 mm apart
    return place_recipient_forearm(backend, state, backend.body_state().pos[0, 0, sk.index("L_Hand")], -gap)


def place_recipient_forearm(backend, state: PersonState, point: torch.Tensor, height: float
                            ) -> tuple[PersonState, torch.Tensor]:
    """Every world: the recipient of `state`, turned by 90 degrees, with the middle of its right forearm `height` (m)
    above the world point `point` (3,). Returns the state and PD targets that hold the poses."""
    sk = backend.skeleton
    recipient = backend.body_state().pos[0, 1]
    forearm = 0.5 * (recipient[sk.index("R_Elbow")] + recipient[sk.index("R_Wrist")]) - recipient[0]
    forearm_local = quat_to_matrix(state.root_quat[0, 1]).T @ forearm
    turn = torch.tensor([math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)])
    state.root_pos[:, 1] = point - quat_to_matrix(turn) @ forearm_local + torch.tensor([0.0, 0.0, height])
    state.root_quat[:, 1] = turn
    backend.reset_worlds(torch.arange(backend.num_envs), state)
    return state, state.joint_pos.clone()


def forearm_height(backend) -> torch.Tensor:
    """(E,) height of the middle of the recipient's right forearm."""
    sk, pos = backend.skeleton, backend.body_state().pos
    return 0.5 * (pos[:, 1, sk.index("R_Elbow"), 2] + pos[:, 1, sk.index("R_Wrist"), 2])


def hold_forearm(backend, steps=30) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """World 0 grips with the supporter's left hand, world 1 does not: the forearm heights at the start (2,) and per
    step (steps, 2), the support forces (steps, 2) and the left grip's pulls (steps, 2, 3)."""
    _, targets = forearm_under_hand(backend)
    start = forearm_height(backend)
    grip = torch.zeros(2, 2, 2)
    grip[0, 0, 0] = 1.0
    heights, support, pull = [], [], []
    for _ in range(steps):
        assert not backend.step(targets, grip).any()
        heights.append(forearm_height(backend))
        support.append(support_force_z(backend.hand_contact_force()[:, 0, :, 2].sum(-1), backend.grip_force()))
        pull.append(backend.grip_force()[:, 0, 0])
    return start, torch.stack(heights), torch.stack(support), torch.stack(pull)


def test_a_grip_holds_a_limp_forearm_against_gravity_and_reads_as_upward_support(backend_factory):
    backend = backend_factory(2, impairment=LIMP_ARMS)
    start, heights, support, pull = hold_forearm(backend)
    held, dropped = heights[-1]
    assert held > start[0] - 0.3 and dropped < held - 0.1  # the held forearm follows the hand; the other one falls
    assert backend.grip_command()[:, 0, 0].tolist() == [1.0, 0.0]
    assert pull[-1, 0].norm() == pytest.approx(500.0, rel=1e-4) and pull[:, 1].abs().max() == 0.0
    # Net of the hand's contact and the grip's pull, the supporter carries part of the arm's weight: up, tens of N.
    assert 10.0 < support[-10:, 0].mean() < 100.0 and support[:, 1].abs().max() < 1.0


def test_the_whole_body_support_force_sees_a_forearm_resting_on_the_supporters_forearm(backend_factory):
    """World 0: the recipient's limp right forearm lies across the supporter's left forearm (no hand touches); world
    1: the recipient stands 3 m away. The hand sensors read nothing, the whole-body sensors read the arm's weight."""
    backend = backend_factory(2, impairment=LIMP_ARMS)
    sk, state = backend.skeleton, backend.person_state()
    backend.reset_worlds(torch.arange(2), state)
    supporter = backend.body_state().pos[0, 0]
    forearm = 0.5 * (supporter[sk.index("L_Elbow")] + supporter[sk.index("L_Wrist")])
    state, targets = place_recipient_forearm(backend, state, forearm, 0.09)  # capsules a few cm apart: it drops on
    state.root_pos[1, 1, 1] += 3.0
    backend.reset_worlds(torch.arange(2), state)
    hands, body = [], []
    for _ in range(15):
        backend.step(targets)
        hands.append(support_force_z(backend.hand_contact_force()[:, 0, :, 2].sum(-1), backend.grip_force()))
        body.append(backend.partner_contact_force())
    hands, body = torch.stack(hands), torch.stack(body)  # (steps, E), (steps, E, A, 3)
    assert body.shape == (15, 2, 2, 3) and hands.abs().max() == 0.0
    assert 15.0 < body[-5:, 0, 0, 2].mean() < 100.0  # up on the recipient: part of a limp arm's weight
    torch.testing.assert_close(body[:, :, 1], -body[:, :, 0])  # the recipient pushes the supporter down as much
    assert body[:, 1].abs().max() == 0.0


def test_a_grip_out_of_reach_changes_nothing(backend_factory):
    backend = backend_factory(2, scene=SceneConfig(spacing=3.0))
    grip = torch.zeros(2, 2, 2)
    grip[0] = 1.0  # world 0: every hand grips, with nothing of the partner in reach
    for _ in range(10):
        backend.step(torch.zeros(2, 2, backend.num_dofs), grip)
    assert backend.grip_force().abs().max() == 0.0
    state = backend.person_state()
    assert torch.equal(state.joint_pos[0], state.joint_pos[1]) and torch.equal(state.root_pos[0], state.root_pos[1])
    with pytest.raises(UserInputError, match="grip must have shape"):
        backend.step(torch.zeros(2, 2, backend.num_dofs), torch.zeros(2, 2))


def test_support_force_counts_contact_and_grips_with_up_positive():
    contact = torch.tensor([-30.0])  # the supporter's bodies press the recipient down
    grip = torch.zeros(1, 2, 2, 3)
    grip[0, 0, 0, 2] = 50.0  # the supporter's left grip pulls the recipient up
    grip[0, 1, 1, 2] = -5.0  # the recipient's right grip pulls the supporter down, so itself up
    assert support_force_z(contact, grip).tolist() == [25.0]


def test_grip_actions_follow_the_pd_actions_in_the_env(backend_factory):
    clips = read_clips(REPO / "data" / "demo" / "assist.pkl")
    env = AssistEnv(backend_factory(2, clips=clips), MotionLibrary(clips), AssistEnvConfig(residual_actions=True),
                    torch.Generator().manual_seed(0))
    assert env.action_dims == [71, 69]
    env.reset()
    supporter = torch.zeros(2, 71)
    supporter[:, 69] = 0.4  # left grip
    supporter[:, 70] = 3.0  # right grip, clamped to 1
    result = env.step([supporter, torch.zeros(2, 69)])
    assert env.backend.grip_command()[:, 0].flatten().tolist() == pytest.approx([0.4, 1.0] * 2)
    assert result.metrics["supporter_grip_L"].tolist() == pytest.approx([0.4, 0.4])
    env.step([torch.zeros(2, 69), torch.zeros(2, 69)])  # the PD actions alone: no grip
    assert env.backend.grip_command().abs().max() == 0.0
    with pytest.raises(UserInputError, match="69 PD actions, or those and 2 grip commands"):
        env.step([torch.zeros(2, 70), torch.zeros(2, 69)])


@pytest.mark.parametrize("separate_critic", [False, True])
def test_widened_outputs_keep_the_prior_actions_and_start_the_grip_at_its_bias(separate_critic):
    config = PolicyConfig(actor_hidden=[16, 8], critic_hidden=[8], init_log_std=-2.0)
    prior = ActorCritic((10, 3), 5, config, (12,) if separate_critic else None)
    with torch.no_grad():
        prior.mu.bias.uniform_(-1, 1)
    widened = widen_policy_outputs(prior, 2, bias=0.25)
    obs = torch.randn(7, 13)
    critic_obs = torch.randn(7, 12) if separate_critic else None
    assert torch.equal(widened.act_deterministic(obs)[:, :5], prior.act_deterministic(obs))
    assert torch.equal(widened.act_deterministic(obs)[:, 5:], torch.full((7, 2), 0.25))
    assert torch.equal(widened.value(obs, critic_obs), prior.value(obs, critic_obs))
    assert torch.equal(widened.action_std()[:5], prior.action_std())
    assert widened.action_std()[5:].tolist() == pytest.approx([math.exp(-2.0)] * 2)
    with pytest.raises(UserInputError, match="at least one new action"):
        widen_policy_outputs(prior, 0, bias=0.0)


def test_the_recipient_alone_baseline_scores_without_the_supporter(tmp_path, clips_file):  # noqa: F811
    from tests.test_eval_assist import GRIP_ACTIONS, SMPL_DOFS, policy

    pushing = policy(actions=SMPL_DOFS + GRIP_ACTIONS, zero=False)  # a supporter whose actions are not 0
    with torch.no_grad():
        pushing.mu.bias.fill_(0.3)
    checkpoint = save_expert(tmp_path / "expert.pt", clips_file, policies=[pushing, policy()])
    acting = evaluate(tmp_path / "acting", checkpoint)
    alone = evaluate(tmp_path / "alone", checkpoint, supporter="passive")
    rows = {row["clip"]: row for row in alone["per_clip"]}
    assert rows["contact"]["grip_L"] == 0.0 and rows["contact"]["grip_R"] == 0.0
    assert acting["per_clip"][0]["grip_L"] == pytest.approx(0.3, abs=0.02)
    # Zero residual actions follow the clip: the passive supporter tracks it far better than the pushing one.
    assert alone["supporter_mpjpe_mm"] < 0.5 * acting["supporter_mpjpe_mm"]
    for row in alone["per_clip"]:
        assert row["reference_lift_m"] >= 0.0 and row["recipient_lift_m"] is not None
    with pytest.raises(UserInputError, match="stage.supporter must be one of policy, passive"):
        evaluate(tmp_path / "bad", checkpoint, supporter="absent")


def test_the_recipient_alone_is_judged_on_the_recipient_only(clips_file):  # noqa: F811
    """A supporter that falls ends the two-agent score, but not the recipient-alone baseline's: there only the
    recipient's failure rules and termination rules count."""
    from assistmimic.evaluation import EvalWorld, assist_eval_env, evaluate_assist_clips
    from assistmimic.sim.config import SimConfig
    from tests.conftest import robot_config, standard_impairment
    from tests.test_eval_assist import GRIP_ACTIONS, SMPL_DOFS, policy

    torch.manual_seed(0)  # how the supporter falls depends on its random weights; it must not fall onto the recipient
    falling = policy(actions=SMPL_DOFS + GRIP_ACTIONS, zero=False)  # 1 rad off every joint's reference angle
    with torch.no_grad():
        falling.mu.bias.fill_(1.0)
    world = EvalWorld(robot=robot_config(), scene=SceneConfig(), sim=SimConfig(nthread=1),
                      impairment=standard_impairment(), seed=0)
    clips = [c for c in read_clips(clips_file) if c.name == "no_contact"]
    env = assist_eval_env(world, AssistEnvConfig(residual_actions=True), clips, 1)
    no_phase = torch.zeros(1, clips[0].num_frames, dtype=torch.bool)
    both, = evaluate_assist_clips(env, [falling, policy()], [0], 0.5, 0.5, no_phase)
    recipient, = evaluate_assist_clips(env, [falling, policy()], [0], 0.5, 0.5, no_phase, judged=("recipient",))
    env.close()
    assert both["failure"] == "supporter_error" and not both["success"] and not both["success_training_rule"]
    assert recipient["failure"] is None and recipient["success"] and recipient["success_training_rule"]
    assert recipient["supporter_mpjpe_mm"] > 200 and recipient["recipient_mpjpe_mm"] < 100
