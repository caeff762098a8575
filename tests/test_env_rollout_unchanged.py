"""Both environments reproduce a recorded seeded rollout exactly: rewards and every reward term,
terminations, truncations, metrics and observations (`tests/env_rollout_record.py` made the record)."""

from __future__ import annotations

import pytest
import torch

from tests.env_rollout_record import RECORD, make_env, rollout


@pytest.mark.parametrize("kind", ["tracking", "assist"])
def test_rollout_matches_the_record(kind):
    expected = torch.load(RECORD, weights_only=False)[kind]
    got = rollout(kind, make_env)
    assert got["reset_obs"] == expected["reset_obs"]
    for i, (g, e) in enumerate(zip(got["steps"], expected["steps"], strict=True)):
        assert g["terms"].keys() == e["terms"].keys(), f"step {i}: reward terms"
        for name in e["terms"]:
            torch.testing.assert_close(g["terms"][name], e["terms"][name], rtol=0, atol=0, msg=f"step {i}: term {name}")
        torch.testing.assert_close(g["rewards"], e["rewards"], rtol=0, atol=0, msg=f"step {i}: rewards")
        assert g["terminated"].equal(e["terminated"]), f"step {i}: terminated"
        assert g["truncated"].equal(e["truncated"]), f"step {i}: truncated"
        for name in e["metrics"]:
            torch.testing.assert_close(g["metrics"][name], e["metrics"][name], rtol=0, atol=0, msg=f"step {i}: {name}")
        assert g["obs_sum"] == e["obs_sum"], f"step {i}: observation sums"
        for key in ("obs", "final_obs", "amp_obs"):
            assert g[key] == e[key], f"step {i}: {key}"
