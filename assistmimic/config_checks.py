"""Checks of a run's config as it is composed, before any stage runs or any folder is made; each problem is one
sentence (a UserInputError: exit code 2 in run.py) naming the key, the value and what is allowed.

- `check_command_line` composes the config of the command line's overrides as run.py will, so that what Hydra
  rejects (an unknown stage or group option, an unknown key, a value of the wrong type, an override it cannot
  read) is one sentence listing the valid choices (without the internal `*_schema` entries);
- `check_config` checks the composed config: keys added with `+` must be settings of their schema, every value
  within the `Limits` its schema field declares (`assistmimic.limits`), every float finite, and the top-level
  short overrides (`num_envs=`, `max_iterations=`) only given to a stage that reads them.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from assistmimic.limits import LIMITS
from assistmimic.stages.config import STAGE_SCHEMAS
from motion_lib.errors import UserInputError

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
SHORT_OVERRIDES = ("num_envs", "max_iterations")


def check_command_line(overrides: list[str]) -> None:
    """Compose the config of `overrides` (run.py's arguments) as run.py does; what Hydra rejects becomes one
    sentence. Arguments with Hydra flags (`--cfg`, `-m`, ...) are left to Hydra."""
    if any(argument.startswith("-") for argument in overrides):
        return
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as err:
        raise UserInputError(_hydra_sentence(err, overrides)) from None


def _hydra_sentence(err: Exception, overrides: list[str]) -> str:
    """One sentence for what Hydra or OmegaConf rejected while composing."""
    cause = err.__cause__
    if isinstance(err, MissingConfigException) and err.missing_cfg_file and "/" in err.missing_cfg_file:
        group, option = err.missing_cfg_file.split("/", 1)
        options = [name for name in err.options or [] if not name.endswith("_schema")]
        return f"{group}={option} is unknown; {group} is one of: {', '.join(options)}"
    if isinstance(cause, (ConfigKeyError, ConfigAttributeError)) and dataclasses.is_dataclass(cause.object_type):
        return _unknown_key(cause.full_key, cause.object_type)
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        given = next((o for o in overrides if o.lstrip("+~").split("=", 1)[0] == cause.full_key), cause.full_key)
        return f"{given} is not allowed: {_first_line(cause)}"
    if isinstance(err, OverrideParseException):
        return f"cannot read the override {err.override!r}: {_first_line(err)}"
    return _first_line(err)


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(err).__name__


def _unknown_key(full_key: str, schema: type) -> str:
    """The sentence for a key that `schema` (a dataclass) does not have."""
    parent = full_key.rpartition(".")[0]
    where = f"the settings of {parent}" if parent else "the top-level settings"
    return f"{full_key} is not a setting; {where} are: {', '.join(f.name for f in dataclasses.fields(schema))}"


def check_config(cfg: DictConfig, overrides: list[str]) -> None:
    """Check a composed run config (see the module docstring); `overrides`: the command line's (Hydra's task
    overrides), to find the keys added with `+`."""
    _check_added_keys(cfg, overrides)
    try:
        typed = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise UserInputError(f"the config is incomplete or inconsistent: {_first_line(err)}") from None
    _check_values(typed, "")
    _check_short_overrides(typed)


def _check_added_keys(cfg: DictConfig, overrides: list[str]) -> None:
    """A key added with `+`/`++` must be a setting of its schema (a dict setting, e.g. reward terms, takes any)."""
    for override in OverridesParser.create().parse_overrides(overrides):
        if not (override.is_add() or override.is_force_add()) or override.key_or_group in _groups():
            continue
        parent_key, _, name = override.key_or_group.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        schema = OmegaConf.get_type(parent) if isinstance(parent, DictConfig) else None
        if dataclasses.is_dataclass(schema) and name not in {f.name for f in dataclasses.fields(schema)}:
            raise UserInputError(_unknown_key(override.key_or_group, schema))


def _groups() -> set[str]:
    """The config groups: the folders of configs/."""
    return {path.name for path in CONFIG_DIR.iterdir() if path.is_dir()}


def _check_values(value: Any, key: str) -> None:
    """Every field within its declared limits and every float finite, in `value` and below it."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            item, item_key = getattr(value, f.name), f"{key}.{f.name}" if key else f.name
            limits = f.metadata.get(LIMITS)
            if limits is not None and not limits.allows(item):
                raise UserInputError(f"{item_key}={item} is not allowed: it must be {limits.describe()}")
            _check_values(item, item_key)
    elif isinstance(value, dict):
        for name, item in value.items():
            _check_values(item, f"{key}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{key}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise UserInputError(f"{key}={value} is not allowed: it must be a finite number")


def _check_short_overrides(cfg: Any) -> None:
    """`num_envs=` and `max_iterations=` only for a stage that reads them (never silently ignored)."""
    for name in SHORT_OVERRIDES:
        value = getattr(cfg, name)
        if value is not None and name not in type(cfg.stage).short_overrides:
            readers = [stage for stage, schema in STAGE_SCHEMAS.items() if name in schema.short_overrides]
            raise UserInputError(f"{name}={value} does nothing in stage={cfg.stage.name}; only stage="
                                 f"{', stage='.join(readers)} read it")
