"""rl_games / PHC checkpoint import: the imported policy computes what the original networks compute."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import torch
from torch import nn

from motion_lib.errors import UserInputError
from phc_prior.rl_games_import import import_rl_games_checkpoint
from tests.conftest import REPO

OBS, ACT, HIDDEN = 11, 5, [32, 24, 16]


def sequential(sizes: list[int], final_activation: bool) -> nn.Sequential:
    """Linear layers at even indices with SiLU between (rl_games' actor_mlp layout)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def prefixed(module: nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.clone() for k, v in module.state_dict().items()}


def reference_networks(seed=0):
    torch.manual_seed(seed)
    nets = {"actor": sequential([OBS, *HIDDEN], True), "mu": nn.Linear(HIDDEN[-1], ACT),
            "critic": sequential([OBS, 20, 12], True), "value": nn.Linear(12, 1)}
    stats = {"running_mean": torch.randn(OBS, dtype=torch.float64),
             "running_var": torch.rand(OBS, dtype=torch.float64) * 4 + 0.1,
             "count": torch.tensor(12345.0, dtype=torch.float64)}
    return nets, stats


def rl_games_model(nets, stats, pnn=False) -> dict[str, torch.Tensor]:
    model = {f"running_mean_std.{k}": v for k, v in stats.items()}
    model["a2c_network.sigma"] = torch.full((ACT,), -2.9)
    if pnn:
        column0 = nn.Sequential(*nets["actor"], nets["mu"])
        model.update(prefixed(column0, "a2c_network.pnn.actors.0"))
        model.update(prefixed(sequential([OBS, *HIDDEN, ACT], False), "a2c_network.pnn.actors.1"))
    else:
        model.update(prefixed(nets["actor"], "a2c_network.actor_mlp"))
        model.update(prefixed(nets["mu"], "a2c_network.mu"))
    model.update(prefixed(nets["critic"], "a2c_network.critic_mlp"))
    model.update(prefixed(nets["value"], "a2c_network.value"))
    return model


def normalized(obs, stats):
    return ((obs - stats["running_mean"].float()) / torch.sqrt(stats["running_var"].float() + 1e-5)).clamp(-5, 5)


@pytest.mark.parametrize("pnn", [False, True])
def test_imported_policy_matches_the_reference_networks(tmp_path, pnn):
    nets, stats = reference_networks()
    path = tmp_path / "phc.pth"
    torch.save({"model": rl_games_model(nets, stats, pnn), "epoch": 3, "frame": 100}, path)
    policy = import_rl_games_checkpoint(path, activation="silu", learn_log_std=False)

    assert policy.config.actor_hidden == HIDDEN and policy.config.critic_hidden == [20, 12]
    assert "log_std" in dict(policy.named_buffers())
    torch.testing.assert_close(policy.action_std(), torch.full((ACT,), -2.9).exp())
    assert float(policy.obs_normalizer.count) == 12345.0
    obs = torch.randn(64, OBS) * 3
    with torch.no_grad():
        z = normalized(obs, stats)
        expected_mean = nets["mu"](nets["actor"](z))
        expected_value = nets["value"](nets["critic"](z)).squeeze(-1)
    torch.testing.assert_close(policy.act_deterministic(obs), expected_mean, rtol=0, atol=1e-6)
    torch.testing.assert_close(policy.value(obs).detach(), expected_value, rtol=0, atol=1e-6)


def test_value_normalizer_is_folded_into_the_value_layer():
    nets, stats = reference_networks()
    model = rl_games_model(nets, stats)
    model["value_mean_std.running_mean"] = torch.tensor([3.0], dtype=torch.float64)
    model["value_mean_std.running_var"] = torch.tensor([4.0], dtype=torch.float64)
    model["value_mean_std.count"] = torch.tensor(10.0, dtype=torch.float64)
    policy = import_rl_games_checkpoint({"model": model}, activation="silu", learn_log_std=True)
    obs = torch.randn(16, OBS)
    with torch.no_grad():
        v = nets["value"](nets["critic"](normalized(obs, stats))).squeeze(-1)
    torch.testing.assert_close(policy.value(obs).detach(), v * (4.0 + 1e-5) ** 0.5 + 3.0, rtol=0, atol=1e-5)
    assert "log_std" in dict(policy.named_parameters())


def test_checkpoint_without_critic_gets_a_zero_value_head():
    nets, stats = reference_networks()
    model = {k: v for k, v in rl_games_model(nets, stats).items()
             if not k.startswith(("a2c_network.critic_mlp", "a2c_network.value"))}
    policy = import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)
    assert policy.config.critic_hidden == HIDDEN
    assert torch.equal(policy.value(torch.randn(8, OBS)), torch.zeros(8))


def test_missing_keys_are_listed_with_the_file(tmp_path):
    nets, stats = reference_networks()
    model = rl_games_model(nets, stats)
    del model["a2c_network.mu.weight"], model["running_mean_std.count"]
    path = tmp_path / "broken.pth"
    torch.save({"model": model, "epoch": 3}, path)
    with pytest.raises(UserInputError, match=r"broken\.pth.*running_mean_std\.count") as info:
        import_rl_games_checkpoint(path, activation="silu", learn_log_std=False)
    assert "running_mean_std.count" in str(info.value)
    model["running_mean_std.count"] = stats["count"]
    with pytest.raises(UserInputError, match=r"missing keys \['a2c_network\.mu\.weight'\]"):
        import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)


def test_inconsistent_shapes_and_layers_are_clear_errors():
    nets, stats = reference_networks()
    model = rl_games_model(nets, stats)
    model["running_mean_std.running_mean"] = torch.zeros(OBS + 1, dtype=torch.float64)
    with pytest.raises(UserInputError, match="running_var has shape"):
        import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)

    model = rl_games_model(nets, stats)
    model["a2c_network.mu.weight"] = torch.zeros(ACT, HIDDEN[-1] + 1)
    with pytest.raises(UserInputError, match="inconsistent actor layer shapes"):
        import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)

    model = rl_games_model(nets, stats)
    model["a2c_network.actor_mlp.1.weight"] = torch.ones(HIDDEN[0])
    with pytest.raises(UserInputError, match="unsupported layer 'a2c_network.actor_mlp.1.weight'"):
        import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)

    model = rl_games_model(nets, stats)
    del model["a2c_network.actor_mlp.2.bias"]
    with pytest.raises(UserInputError, match=r"missing keys \['a2c_network\.actor_mlp\.2\.bias'\]"):
        import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)

    model = rl_games_model(nets, stats)
    del model["a2c_network.value.bias"]
    with pytest.raises(UserInputError, match=r"missing keys \['a2c_network\.value\.bias'\]"):
        import_rl_games_checkpoint(model, activation="silu", learn_log_std=False)


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / "phc.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(UserInputError, match="phc.pth is truncated or corrupt"):
        import_rl_games_checkpoint(path, activation="silu", learn_log_std=False)


def test_the_import_script_says_what_is_wrong_in_one_sentence_with_exit_2(tmp_path):
    path = tmp_path / "phc.pth"
    path.write_bytes(b"not a checkpoint")
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "import_phc_prior.py"), str(path),
                             str(tmp_path / "prior.pt")], capture_output=True, text=True)
    assert result.returncode == 2 and "phc.pth is truncated or corrupt" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "prior.pt").exists()
