"""Allowed values of numeric and list config fields, declared on the schema field they limit:

    horizon: int = field(default=32, metadata=at_least(1))
    actor_hidden: list[int] = field(default_factory=lambda: [512, 512], metadata=each_at_least(1, min_items=1))

`assistmimic.config_checks` reads them (and requires every float anywhere in a config to be finite) when a run's
config is composed. This module imports neither Hydra nor any schema, so every schema module can use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

LIMITS = "limits"
"""The key of a field's metadata that holds its `Limits`."""


@dataclass(frozen=True)
class Limits:
    """What a value may be: bounds (`min`/`max` inclusive, `above`/`below` exclusive) and values it may not take
    (`exclude`); for a list, its length (`length`, `min_items`) and `item`, the limits of each item. None
    (a null optional setting) is always allowed."""

    min: float | None = None
    above: float | None = None
    max: float | None = None
    below: float | None = None
    exclude: tuple[float, ...] = ()
    item: Limits | None = None
    min_items: int | None = None
    length: int | None = None

    def allows(self, value: Any) -> bool:
        """Whether `value` (a number, a list, or None) is within these limits."""
        if value is None:
            return True
        if isinstance(value, (list, tuple)):
            return ((self.length is None or len(value) == self.length)
                    and (self.min_items is None or len(value) >= self.min_items)
                    and (self.item is None or all(self.item.allows(item) for item in value)))
        return not ((self.min is not None and value < self.min) or (self.above is not None and value <= self.above)
                    or (self.max is not None and value > self.max) or (self.below is not None and value >= self.below)
                    or value in self.exclude)

    def describe(self) -> str:
        """What is allowed, to complete "it must be ...", e.g. ">= 1", "between 0 and 1", "a list of 2 items"."""
        if self.item is None and self.length is None and self.min_items is None:
            return self._describe_number()
        count = (f" of {self.length} items" if self.length is not None
                 else f" of at least {self.min_items} item(s)" if self.min_items is not None else " of items")
        each = "" if self.item is None else f"{',' if count != ' of items' else ''} each {self.item.describe()}"
        return f"a list{count}{each}"

    def _describe_number(self) -> str:
        if self.min is not None and self.max is not None:
            text = f"between {_number(self.min)} and {_number(self.max)}"
        else:
            bounds = [(">=", self.min), (">", self.above), ("<=", self.max), ("<", self.below)]
            text = " and ".join(f"{sign} {_number(bound)}" for sign, bound in bounds if bound is not None) or "a number"
        return text + "".join(f" and not {_number(value)}" for value in self.exclude)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) and not math.isinf(value) else str(value)


def limits(**bounds: Any) -> dict[str, Limits]:
    """Field metadata with these `Limits`."""
    return {LIMITS: Limits(**bounds)}


def at_least(low: float) -> dict[str, Limits]:
    """Field metadata: the value is >= `low`."""
    return limits(min=low)


def above(low: float) -> dict[str, Limits]:
    """Field metadata: the value is > `low`."""
    return limits(above=low)


def between(low: float, high: float) -> dict[str, Limits]:
    """Field metadata: `low` <= value <= `high`."""
    return limits(min=low, max=high)


def each_at_least(low: float, min_items: int | None = None) -> dict[str, Limits]:
    """Field metadata of a list: every item is >= `low` (and the list has at least `min_items` items)."""
    return limits(item=Limits(min=low), min_items=min_items)
