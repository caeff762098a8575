"""Every environment the stages can build, by name: its class, config schema and persons per clip."""

from __future__ import annotations

from dataclasses import dataclass

from assistmimic.envs.assist import AssistEnv
from assistmimic.envs.config import AssistEnvConfig, TrackingEnvConfig
from assistmimic.envs.tracking import TrackingEnv


@dataclass(frozen=True)
class EnvSpec:
    env_class: type[TrackingEnv]
    config_class: type[TrackingEnvConfig]
    persons: int
    """Persons per clip and scene (1: the single-person prior's scene, 2: supporter and recipient)."""


ENVIRONMENTS = {
    "tracking": EnvSpec(TrackingEnv, TrackingEnvConfig, persons=1),
    "assist": EnvSpec(AssistEnv, AssistEnvConfig, persons=2),
}
