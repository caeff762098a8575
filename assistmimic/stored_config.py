"""Configs stored as plain dicts (`dataclasses.asdict`, e.g. in a checkpoint's metadata), read back against their
schema."""

from __future__ import annotations

from typing import Any, TypeVar

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from motion_lib.errors import UserInputError

Schema = TypeVar("Schema")


def from_stored(schema: type[Schema], raw: dict[str, Any], where: str, what: str) -> Schema:
    """`raw` as an instance of the dataclass `schema`; unknown keys or wrong types are one error naming `where` (e.g.
    the checkpoint) and `what` (the stored entry, e.g. "env_config")."""
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), raw))
    except OmegaConfBaseException as err:
        reason = str(err).splitlines()[0]
        raise UserInputError(f"{where}: its {what} does not fit {schema.__name__} ({reason})") from err
