"""Furniture slots: each world of a batch gets its own clip's furniture, although all worlds share one MjModel.

The scene holds S slots, each a box geom on its own mocap body. A world puts an item into a slot by moving
that body (per-world mocap position and rotation: `SimBackend.place_furniture`); the slots it does not use
are parked `PARK_DEPTH` below the floor. A box's size is fixed in the model, so a slot holds items of one kind
and one footprint (x, y extents), and is as tall as the tallest of them: a lower item sinks into the floor
until its top is at its own height (furniture does not collide with the floor, and nothing reaches below it).

`furniture_slots` sizes the slots for the clips the worlds will play, the `scene=` group's furniture standing in
for a clip without any (`SceneFurniture.scenery`); `SceneFurniture.poses` assigns a clip's items to slots.
Limits: the footprint of an item is its slot's, so clips with many different footprints make many slots (all
parked in the worlds that do not use them); every item is a plain box (a chair has no back rest).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from assistmimic.mjcf.config import FurnitureConfig
from motion_lib.errors import UserInputError
from motion_lib.furniture import DEFAULT_SIZES, KINDS, Furniture

PARK_DEPTH = 2.0
"""An unused slot's box is parked with its top this far below the floor (m), under the world origin."""
FURNITURE_RGBA = "0.55 0.45 0.35 1"
FOOTPRINT_DECIMALS = 4
"""Footprints equal to this many decimals (0.1 mm) share slots."""


@dataclass(frozen=True)
class FurnitureSlot:
    """One mocap box of the scene: the items of one kind and footprint fit it."""

    kind: str
    size: tuple[float, float, float]
    """Full extents (m): the footprint of its items and the height of the tallest."""

    def fits(self, item: Furniture) -> bool:
        """`item` has this slot's kind and footprint and is no taller."""
        return item.kind == self.kind and _footprint(item) == _footprint(self) and item.size[2] <= self.size[2] + 1e-9

    def pose(self, item: Furniture) -> np.ndarray:
        """(7,) position (x, y, z) and rotation (w, x, y, z) of the slot's body that puts `item` in place: the box
        centre sunk so that its top is at the item's height."""
        return np.array([*item.pos, item.size[2] - self.size[2] / 2, *item.quat])

    def parked(self) -> np.ndarray:
        """(7,) the slot's pose when unused: `PARK_DEPTH` below the floor."""
        return np.array([0.0, 0.0, -PARK_DEPTH - self.size[2] / 2, 1.0, 0.0, 0.0, 0.0])


def _footprint(item: Furniture | FurnitureSlot) -> tuple[str, float, float]:
    return item.kind, round(item.size[0], FOOTPRINT_DECIMALS), round(item.size[1], FOOTPRINT_DECIMALS)


@dataclass(frozen=True)
class SceneFurniture:
    """A scene's furniture slots and the furniture of clips that have none."""

    slots: tuple[FurnitureSlot, ...] = ()
    default: tuple[Furniture, ...] = ()
    """The `scene=` group's furniture: a clip without furniture is played among it."""

    def scenery(self, items: Sequence[Furniture]) -> list[Furniture]:
        """The furniture of a world playing a clip with `items`: the clip's own, else the scene's default."""
        return list(items) or list(self.default)

    def poses(self, items: Sequence[Furniture], where: str) -> np.ndarray:
        """(S, 7) pose of every slot's body (position, rotation w x y z) putting `scenery(items)` in place, the
        other slots parked; one error naming `where` when the slots cannot hold them."""
        poses = [slot.parked() for slot in self.slots]
        free = list(range(len(self.slots)))
        for item in self.scenery(items):
            slot = next((s for s in free if self.slots[s].fits(item)), None)
            if slot is None:
                raise UserInputError(
                    f"{where} needs a {item.kind} of {item.size[0]:g} x {item.size[1]:g} x {item.size[2]:g} m, but "
                    f"the scene has no free furniture slot for it ({_describe(self.slots)}); build the scene with the "
                    "clips it plays: make_scene(..., clips=clips)")
            free.remove(slot)
            poses[slot] = self.slots[slot].pose(item)
        return np.stack(poses) if poses else np.zeros((0, 7))


def _describe(slots: Sequence[FurnitureSlot]) -> str:
    if not slots:
        return "it has none"
    return ", ".join(f"{s.kind} {s.size[0]:g} x {s.size[1]:g} m up to {s.size[2]:g} m" for s in slots)


def furniture_slots(sceneries: Iterable[Sequence[Furniture]]) -> tuple[FurnitureSlot, ...]:
    """The fewest slots that hold each of `sceneries` (per world, its list of items): per kind and footprint,
    as many slots as the scenery holding most such items, each as tall as the tallest such item."""
    counts, heights = Counter(), {}
    for items in sceneries:
        for key, count in Counter(_footprint(item) for item in items).items():
            counts[key] = max(counts[key], count)
        for item in items:
            heights[_footprint(item)] = max(heights.get(_footprint(item), 0.0), item.size[2])
    return tuple(FurnitureSlot(kind, (sx, sy, heights[(kind, sx, sy)]))
                 for (kind, sx, sy) in sorted(counts) for _ in range(counts[(kind, sx, sy)]))


def scene_furniture(configs: Sequence[FurnitureConfig], sceneries: Iterable[Sequence[Furniture]]) -> SceneFurniture:
    """Slots for the clips' `sceneries` (their furniture lists) among the `scene=` group's furniture `configs`."""
    default = tuple(configured_item(i, cfg) for i, cfg in enumerate(configs))
    return SceneFurniture(furniture_slots([list(items) or list(default) for items in sceneries] + [default]), default)


def configured_item(index: int, cfg: FurnitureConfig) -> Furniture:
    """The `scene=` group's item `index` (`furniture[index]` in errors); a chair or bed without `size` has its kind's."""
    where = f"furniture[{index}] ({cfg.kind})"
    if cfg.kind not in KINDS:
        raise UserInputError(f"furniture[{index}]: unknown kind '{cfg.kind}'; furniture kinds: {', '.join(KINDS)}")
    if cfg.size is None and cfg.kind not in DEFAULT_SIZES:
        raise UserInputError(f"{where}: give its size: [x, y, z] in metres (only {', '.join(DEFAULT_SIZES)} have one)")
    if len(cfg.pos) != 2:
        raise UserInputError(f"{where}: pos must be [x, y] on the floor, got {list(cfg.pos)}")
    size = DEFAULT_SIZES.get(cfg.kind) if cfg.size is None else list(cfg.size)
    return Furniture.checked(cfg.kind, list(cfg.pos), cfg.yaw, size, where)


def slot_bodies(furniture: SceneFurniture, world_bit: int) -> list[ET.Element]:
    """The slots as mocap bodies `furniture<i>` with a box geom `furniture<i>_<kind>` (colliding with the persons,
    not the floor: contype `world_bit`, conaffinity 0), placed with the scene's default furniture."""
    bodies = []
    for i, (slot, pose) in enumerate(zip(furniture.slots, furniture.poses(furniture.default, "the scene= group"))):
        body = ET.Element("body", name=f"furniture{i}", mocap="true", pos=" ".join(f"{v:.9g}" for v in pose[:3]),
                          quat=" ".join(f"{v:.9g}" for v in pose[3:]))
        ET.SubElement(body, "geom", name=f"furniture{i}_{slot.kind}", type="box",
                      size=" ".join(f"{s / 2:.9g}" for s in slot.size), contype=str(world_bit), conaffinity="0",
                      rgba=FURNITURE_RGBA)
        bodies.append(body)
    return bodies

