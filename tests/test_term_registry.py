"""Reward terms and termination rules as data: a new one is one decorated function plus one config line
(the README's example, run here), params are checked, and the rules and kernels do what their docstrings say."""

from __future__ import annotations

import pytest
import torch

from assistmimic.envs import rewards, terminations
from assistmimic.envs.config import RewardTerm, TrackingEnvConfig
from assistmimic.envs.rewards import REWARD_TERMS, reward_term
from assistmimic.envs.step_context import AgentView, Bodies, StepContext
from assistmimic.envs.term_set import TerminationSet
from assistmimic.envs.terminations import TERMINATIONS, termination_rule
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.mjcf.config import SceneConfig
from assistmimic.sim.config import SimConfig
from assistmimic.sim.factory import make_backend, make_single_person_scene
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips
from motion_lib.motion_library import MotionLibrary
from motion_lib.skeleton import get_skeleton
from tests.conftest import REPO, robot_config

SKELETON = get_skeleton("smpl")
B = SKELETON.num_bodies


def tracking_env(cfg: TrackingEnvConfig, num_envs: int = 2) -> TrackingEnv:
    sim = SimConfig(nthread=1)
    clips = read_clips(REPO / "data" / "demo" / "single.pkl")
    backend = make_backend(make_single_person_scene(robot_config(), SceneConfig(), sim, clips), sim, num_envs)
    return TrackingEnv(backend, MotionLibrary(clips), cfg,
                       torch.Generator().manual_seed(0))


@pytest.fixture
def registries():
    """Leave the registries as they were after a test registers its own term or rule."""
    saved = dict(REWARD_TERMS), dict(TERMINATIONS)
    yield
    REWARD_TERMS.clear(), REWARD_TERMS.update(saved[0])
    TERMINATIONS.clear(), TERMINATIONS.update(saved[1])


def test_a_new_reward_term_and_rule_are_one_function_and_one_config_line_each(registries):
    # The README's example ("Adding a reward term"):
    @reward_term
    def root_height(view: AgentView, sharpness: float) -> torch.Tensor:
        """exp(-k · Δz²) of the root height (m)."""
        return torch.exp(-sharpness * (view.body.pos[:, 0, 2] - view.target.pos[:, 0, 2]).square())

    @termination_rule
    def root_below(view: AgentView, height: float) -> torch.Tensor:
        """The root lower than `height` (m)."""
        return view.body.pos[:, 0, 2] < height

    cfg = TrackingEnvConfig(residual_actions=True)
    cfg.rewards["root_height"] = RewardTerm(0.1, {"sharpness": 20.0})
    cfg.terminations["root_below"] = {"height": 5.0}  # always fires: every episode ends at once
    env = tracking_env(cfg)
    env.reset()
    step = env.step([torch.zeros(2, env.action_dims[0])])
    assert "root_height" in step.reward_terms and step.terminated.all()
    expected = sum(w * step.reward_terms[name][:, 0] for name, w in env.weights[0].items())
    torch.testing.assert_close(step.rewards[:, 0], expected)
    assert (0 < step.reward_terms["root_height"]).all() and (step.reward_terms["root_height"] <= 1).all()
    env.close()


def test_terms_with_weight_zero_are_not_computed_and_bad_names_or_params_are_one_error(registries):
    calls = []

    @reward_term
    def counted(view: AgentView) -> torch.Tensor:
        calls.append(1)
        return torch.zeros_like(view.steps, dtype=torch.float32)

    cfg = TrackingEnvConfig()
    cfg.rewards["counted"] = RewardTerm(0.0)
    env = tracking_env(cfg)
    env.reset()
    step = env.step([torch.zeros(2, env.action_dims[0])])
    assert not calls and "counted" not in step.reward_terms
    env.close()
    for rewards_, rules, message in [
        ({"no_such_term": RewardTerm(1.0)}, None, "unknown reward term"),
        ({"body_pos": RewardTerm(0.5, {"sharpness": 100.0})}, None, r"missing \['average_xyz'\]"),
        ({"body_rot": RewardTerm(0.5, {"sharpness": 10.0, "k": 1})}, None, r"unknown \['k'\]"),
        (None, {"no_such_rule": {}}, "unknown termination rule"),
        (None, {"mean_body_far": {"distance": 0.25, "bodies": ["Nose"], "grace_steps": 1}}, "unknown body"),
    ]:
        cfg = TrackingEnvConfig()
        if rewards_ is not None:
            cfg.rewards = rewards_
        if rules is not None:
            cfg.terminations = rules
        with pytest.raises(UserInputError, match=message):
            tracking_env(cfg).close()


# --- the rules and kernels themselves ------------------------------------------------------------------
def view_of(sim_pos: torch.Tensor, ref_pos: torch.Tensor, steps: int, tracked: torch.Tensor | None = None) -> AgentView:
    """A one-person view with (N, B, 3) simulated and target positions (rotations and velocities equal)."""
    n = sim_pos.shape[0]
    rot, zero = torch.eye(3).expand(n, B, 3, 3), torch.zeros(n, B, 3)
    ctx = StepContext(persons=[Bodies(sim_pos, rot, zero, zero)], targets=[Bodies(ref_pos, rot, zero, zero)],
                      tracked=None if tracked is None else tracked[:, None], torque=torch.ones(n, 1, 69),
                      joint_vel=torch.ones(n, 1, 69), steps=torch.full((n,), steps))
    return ctx.agent(0)


CORE = ["Pelvis", "L_Hip", "R_Hip", "Torso", "Spine", "Chest", "Neck", "Head", "L_Thorax", "R_Thorax",
        "L_Shoulder", "R_Shoulder", "L_Knee", "R_Knee", "L_Ankle", "R_Ankle"]


def test_mean_rule_ignores_the_limbs_ends_and_the_first_steps_while_the_any_rule_does_not():
    core = torch.tensor([SKELETON.index(b) for b in CORE])
    ref = torch.zeros(1, B, 3)
    hand_off = ref.clone()
    hand_off[0, SKELETON.index("L_Hand")] = torch.tensor([0.0, 0.0, 0.6])  # one hand 0.6 m off
    assert terminations.any_body_far(view_of(hand_off, ref, 5), distance=0.25)
    assert not terminations.mean_body_far(view_of(hand_off, ref, 5), distance=0.25, bodies=core, grace_steps=1)
    all_off = ref + torch.tensor([0.0, 0.0, 0.3])  # every body 0.3 m off: the mean too
    assert terminations.mean_body_far(view_of(all_off, ref, 2), distance=0.25, bodies=core, grace_steps=1)
    assert not terminations.mean_body_far(view_of(all_off, ref, 1), distance=0.25, bodies=core, grace_steps=1)
    # A body with weight 0 (a supporter hand near the partner) never counts.
    tracked = torch.ones(1, B)
    tracked[0, SKELETON.index("L_Hand")] = 0
    assert not terminations.any_body_far(view_of(hand_off, ref, 5, tracked), distance=0.25)


def test_the_termination_curriculum_widens_every_rules_distance_and_leaves_other_params():
    rules = TerminationSet({"mean_body_far": {"distance": 0.25, "bodies": CORE, "grace_steps": 1},
                            "any_body_far": {"distance": 0.25}}, SKELETON, torch.device("cpu"))
    ref = torch.zeros(1, B, 3)
    views = [view_of(ref + torch.tensor([0.0, 0.0, 0.3]), ref, 5)]  # every body 0.3 m off
    assert rules(views).all()
    rules.set_distance_scale(2.0)  # 0.5 m: not yet
    assert not rules(views).any()
    assert rules.params["mean_body_far"]["distance"] == 0.5 and rules.params["mean_body_far"]["grace_steps"] == 1
    assert rules.configured["mean_body_far"]["distance"] == 0.25
    rules.set_distance_scale(1.0)
    assert rules(views).all()


def test_kernels_average_or_sum_over_xyz_and_power_has_a_grace_period():
    ref = torch.zeros(1, B, 3)
    sim = ref + torch.tensor([0.1, 0.0, 0.0])  # every body 0.1 m off along x: squared error 0.01
    summed = rewards.body_pos(view_of(sim, ref, 5), sharpness=100.0, average_xyz=False)
    averaged = rewards.body_pos(view_of(sim, ref, 5), sharpness=100.0, average_xyz=True)
    assert float(summed) == pytest.approx(torch.exp(torch.tensor(-1.0)).item())
    assert float(averaged) == pytest.approx(torch.exp(torch.tensor(-1.0 / 3.0)).item())
    assert float(rewards.power(view_of(sim, ref, 3), grace_steps=3)) == 0.0
    assert float(rewards.power(view_of(sim, ref, 4), grace_steps=3)) == 69.0


def test_a_term_added_on_the_command_line_composes_and_builds():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from assistmimic.stages.config import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = OmegaConf.to_object(compose(config_name="config", overrides=[
            "stage=prior", "+stage.env.rewards.head_height={weight: 0.0, params: {max_height: 2.0}}",
            "stage.env.rewards.body_pos.params.sharpness=50"]))
    assert cfg.stage.env.rewards["head_height"] == {"weight": 0.0, "params": {"max_height": 2.0}}
    env = tracking_env(cfg.stage.env)
    assert env.reward_sets[0].params["body_pos"]["sharpness"] == 50 and "head_height" not in env.weights[0]
    env.close()
    cfg.stage.env.rewards["head_height"] = {"wait": 1.0}
    with pytest.raises(UserInputError, match="must be"):
        tracking_env(cfg.stage.env)
