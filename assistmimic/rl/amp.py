"""Adversarial motion prior: a discriminator over `num_steps` consecutive AMP observations, its
least-squares GAN update (AMP, Peng et al. 2021) and the style reward it gives.

Real samples are reference transitions (from the motion library, passed in by the caller), fake
samples are the agent's. Loss, with D the discriminator output on normalised inputs z:
    0.5 * (mean (D(real) - 1)^2 + mean (D(fake) + 1)^2) + grad_penalty * mean |dD/dz (real)|^2
    + logit_reg * |W_logit|^2 + weight_decay * sum |W|^2
Reward: reward_scale * max(0, 1 - 0.25 * (D - 1)^2).
Under torchrun the discriminator's gradients are averaged over the ranks (and its normaliser merges every
rank's batch), so the ranks' discriminators stay identical.
"""

from __future__ import annotations

import torch
from torch import nn

from assistmimic.rl import distributed
from assistmimic.rl.config import AMPConfig
from assistmimic.rl.generators import draw_device
from assistmimic.rl.normalizer import RunningMeanStd
from assistmimic.rl.optim import make_adam
from assistmimic.rl.policy import build_mlp


class Discriminator(nn.Module):
    """Normaliser over the flattened history, MLP, one output."""

    def __init__(self, step_dim: int, config: AMPConfig):
        super().__init__()
        self.num_steps, self.step_dim = config.num_steps, step_dim
        self.normalizer = RunningMeanStd(config.num_steps * step_dim)
        self.mlp = build_mlp([config.num_steps * step_dim], config.hidden, config.activation)
        self.logit = nn.Linear(config.hidden[-1], 1)

    def flatten(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """(B, num_steps, step_dim) -> (B, num_steps * step_dim)."""
        if amp_obs.shape[1:] != (self.num_steps, self.step_dim):
            raise ValueError(f"AMP observations must have shape (B, {self.num_steps}, {self.step_dim}); "
                             f"got {tuple(amp_obs.shape)}")
        return amp_obs.reshape(amp_obs.shape[0], -1)

    def normalize(self, amp_obs: torch.Tensor) -> torch.Tensor:
        return self.normalizer(self.flatten(amp_obs))

    def logits_of_normalized(self, z: torch.Tensor) -> torch.Tensor:
        return self.logit(self.mlp(z)).squeeze(-1)

    def forward(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """Discriminator output D (B,) of raw AMP observations."""
        return self.logits_of_normalized(self.normalize(amp_obs))

    def weights(self) -> list[torch.Tensor]:
        return [m.weight for m in self.modules() if isinstance(m, nn.Linear)]


def style_reward(d: torch.Tensor, scale: float) -> torch.Tensor:
    """scale * max(0, 1 - 0.25 * (d - 1)^2): `scale` for d = 1 (looks real), 0 for d <= -1 (looks fake)."""
    return scale * (1.0 - 0.25 * (d - 1.0).square()).clamp(min=0.0)


class AMPReplayBuffer:
    """Ring buffer of the agent's AMP observations (B, num_steps, step_dim); the newest `capacity` are kept."""

    def __init__(self, capacity: int, num_steps: int, step_dim: int, device: torch.device | str):
        self.data = torch.zeros(capacity, num_steps, step_dim, device=device)
        self.capacity = capacity
        self.size = 0
        self.head = 0

    def __len__(self) -> int:
        return self.size

    def add(self, amp_obs: torch.Tensor) -> None:
        amp_obs = amp_obs[-self.capacity:]
        idx = (self.head + torch.arange(amp_obs.shape[0], device=self.data.device)) % self.capacity
        self.data[idx] = amp_obs.to(self.data.dtype)
        self.head = (self.head + amp_obs.shape[0]) % self.capacity
        self.size = min(self.size + amp_obs.shape[0], self.capacity)

    def sample(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        if self.size == 0:
            raise RuntimeError("the AMP replay buffer is empty")
        idx = torch.randint(self.size, (n,), generator=generator, device=draw_device(generator)).to(self.data.device)
        return self.data[idx]


class AMP:
    """The discriminator with its own Adam optimiser; independent of the environment."""

    def __init__(self, step_dim: int, config: AMPConfig):
        self.config = config
        self.discriminator = Discriminator(step_dim, config)
        self.optimizer = make_adam(self.discriminator.parameters(), config.learning_rate)

    def state_dict(self) -> dict:
        return {"discriminator": self.discriminator.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["optimizer"])

    @torch.no_grad()
    def reward(self, amp_obs: torch.Tensor) -> torch.Tensor:
        """Style reward (B,) of the agent's AMP observations."""
        return style_reward(self.discriminator(amp_obs), self.config.reward_scale)

    def update(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """One gradient step on reference (`real`) and agent (`fake`) AMP observations; returns the loss terms,
        0-dim tensors on the device (read them on the host once per iteration, not per step: a read waits for a GPU)."""
        cfg, disc = self.config, self.discriminator
        disc.normalizer.update(disc.flatten(torch.cat([real, fake])))
        z_real = disc.normalize(real).requires_grad_(True)
        d_real = disc.logits_of_normalized(z_real)
        d_fake = disc(fake)
        grad = torch.autograd.grad(d_real.sum(), z_real, create_graph=True)[0]
        terms = {
            "real_loss": (d_real - 1.0).square().mean(),
            "fake_loss": (d_fake + 1.0).square().mean(),
            "grad_penalty": grad.square().sum(-1).mean(),
            "logit_reg": disc.logit.weight.square().sum(),
            "weight_decay": sum(w.square().sum() for w in disc.weights()),
        }
        loss = (0.5 * (terms["real_loss"] + terms["fake_loss"]) + cfg.grad_penalty * terms["grad_penalty"]
                + cfg.logit_reg * terms["logit_reg"] + cfg.weight_decay * terms["weight_decay"])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(self.discriminator.parameters())
        self.optimizer.step()
        stats = {**terms, "loss": loss, "real_d": d_real.mean(), "fake_d": d_fake.mean()}
        return {name: value.detach() for name, value in stats.items()}
