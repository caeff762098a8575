"""Both environments reproduce a recorded seeded rollout: rewards and every reward term, metrics and observations
within `RELATIVE_TOLERANCE` (floating-point differences between machines), terminations and truncations exactly
(`tests/env_rollout_record.py` made the record)."""

from __future__ import annotations

import pytest
import torch

from assistmimic.envs.config import RewardTerm, TrackingEnvConfig
from tests.env_rollout_record import RECORD, RELATIVE_TOLERANCE, make_env, relative_difference, rollout


def assert_near(got: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    assert got.shape == expected.shape, f"{what}: shape {tuple(got.shape)} against {tuple(expected.shape)}"
    difference = relative_difference(got, expected)
    assert difference <= RELATIVE_TOLERANCE, f"{what}: relative difference {difference:.2e} > {RELATIVE_TOLERANCE}"


@pytest.mark.parametrize("kind", ["tracking", "assist"])
def test_rollout_matches_the_record(kind):
    expected = torch.load(RECORD, weights_only=False)[kind]
    got = rollout(kind, make_env)
    for agent, (g, e) in enumerate(zip(got["reset_obs"], expected["reset_obs"], strict=True)):
        assert_near(g, e, f"reset observation of agent {agent}")
    for i, (g, e) in enumerate(zip(got["steps"], expected["steps"], strict=True)):
        assert g["terms"].keys() == e["terms"].keys(), f"step {i}: reward terms"
        assert g["metrics"].keys() == e["metrics"].keys(), f"step {i}: metrics"
        for name in e["terms"]:
            assert_near(g["terms"][name], e["terms"][name], f"step {i}: term {name}")
        assert_near(g["rewards"], e["rewards"], f"step {i}: rewards")
        assert g["terminated"].equal(e["terminated"]), f"step {i}: terminated"
        assert g["truncated"].equal(e["truncated"]), f"step {i}: truncated"
        for name in e["metrics"]:
            assert_near(g["metrics"][name], e["metrics"][name], f"step {i}: {name}")
        for key in ("obs", "final_obs", "amp_obs"):
            for agent, (go, eo) in enumerate(zip(g[key], e[key], strict=True)):
                assert_near(go, eo, f"step {i}: {key} of agent {agent}")


def test_the_comparison_catches_a_five_percent_sharper_reward_kernel():
    """The same rollout with the body-rotation kernel 5% sharper: that term moves about 9% at the first step, past the
    tolerance, so the comparison still fails on a change of behaviour far smaller than a refactoring's slip."""
    rewards = TrackingEnvConfig().rewards
    term = rewards["body_rot"]
    rewards["body_rot"] = RewardTerm(term.weight, {**term.params, "sharpness": 1.05 * term.params["sharpness"]})

    expected = torch.load(RECORD, weights_only=False)["tracking"]["steps"][0]["terms"]["body_rot"]
    got = rollout("tracking", lambda kind: make_env(kind, rewards=rewards), steps=1)["steps"][0]["terms"]["body_rot"]
    assert relative_difference(got, expected) > RELATIVE_TOLERANCE
