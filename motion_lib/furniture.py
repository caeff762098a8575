"""A clip's furniture as data: the chairs, beds and boxes its persons sit, lie or lean on.

Every item is a box standing on the floor (z = 0), in the clip's world frame:
    kind  "chair" | "bed" | "box"
    pos   (x, y): the centre of its footprint, metres
    yaw   rotation about +z, degrees (0: its x extent along world x; a chair's front faces its +x)
    size  (sx, sy, sz): full extents, metres; its top (a chair's seat, a bed's mattress) is at height sz
`Clip.furniture` lists them; a clip without furniture is played on the open floor, or among the `scene=`
group's furniture (`assistmimic/mjcf/furniture.py` puts each world's items into the simulator). Written
to files as plain records {"kind", "pos", "yaw", "size"} (`Furniture.record`, read back by `read_furniture`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from motion_lib.checks import MAX_POSITION_M, bounded_array, describe, text
from motion_lib.errors import UserInputError

KINDS = ("chair", "bed", "box")
"""Kinds of furniture; a kind only names the item (every item is a box of its own size)."""
DEFAULT_SIZES = {"chair": (0.4445, 0.508, 0.4318), "bed": (1.905, 0.9906, 0.42)}
"""Full extents (x, y, z) of the public AssistMimic furniture (REFERENCE §4): a chair 0.4445 m deep, 0.508 m wide
with its seat at 0.4318 m (17 in, a standard seat); a bed 1.905 m long, 0.9906 m wide, 0.42 m high."""
MAX_ITEMS = 8
"""Most furniture items one clip may hold."""
MAX_SIZE_M = 10.0
"""Largest extent of one item, metres."""
MAX_YAW_DEG = 360.0
"""Largest |yaw|, degrees."""
RECORD_KEYS = ("kind", "pos", "yaw", "size")


@dataclass(frozen=True)
class Furniture:
    """One box on the floor (see the module docstring); `checked` validates it."""

    kind: str
    pos: tuple[float, float]
    """(x, y) centre of the footprint, world frame (m)."""
    yaw: float
    """Rotation about +z (degrees)."""
    size: tuple[float, float, float]
    """Full extents (m); the top is at height size[2]."""

    @classmethod
    def checked(cls, kind: object, pos: object, yaw: object, size: object, where: object) -> Furniture:
        """An item from values of any source (a file, a config), each checked; one error naming `where`."""
        kind = text(kind, "kind", where)
        if kind not in KINDS:
            raise UserInputError(f"{where}: unknown kind '{kind}'; furniture kinds: {', '.join(KINDS)}")
        pos = bounded_array(pos, "pos", where, (2,), MAX_POSITION_M, " m")
        yaw = bounded_array(yaw, "yaw", where, (), MAX_YAW_DEG, " degrees")
        size = bounded_array(size, "size", where, (3,), MAX_SIZE_M, " m")
        if (size <= 0).any():
            raise UserInputError(f"{where}: size must be three positive extents in metres, got {size.tolist()}")
        return cls(kind, (float(pos[0]), float(pos[1])), float(yaw), (float(size[0]), float(size[1]), float(size[2])))

    def record(self) -> dict:
        """The item as plain data (what files store)."""
        return {"kind": self.kind, "pos": list(self.pos), "yaw": self.yaw, "size": list(self.size)}

    def mirrored(self) -> Furniture:
        """The item mirrored through the world x-z plane (y -> -y), as `families.transforms.mirror` mirrors persons."""
        return Furniture(self.kind, (self.pos[0], -self.pos[1]), -self.yaw, self.size)

    @property
    def quat(self) -> tuple[float, float, float, float]:
        """Rotation (w, x, y, z) of the item about +z by `yaw`."""
        half = math.radians(self.yaw) / 2
        return (math.cos(half), 0.0, 0.0, math.sin(half))


def read_furniture(value: object, where: object) -> list[Furniture]:
    """Items from a list of records {"kind", "pos", "yaw", "size"} (at most `MAX_ITEMS`), each checked."""
    if not isinstance(value, (list, tuple)):
        raise UserInputError(f"{where}: furniture must be a list of items, got {describe(value)}")
    if len(value) > MAX_ITEMS:
        raise UserInputError(f"{where}: furniture holds {len(value)} items; a clip holds at most {MAX_ITEMS}")
    items = []
    for i, record in enumerate(value):
        here = f"{where}, furniture[{i}]"
        if not isinstance(record, dict) or sorted(map(str, record)) != sorted(RECORD_KEYS):
            keys = sorted(map(str, record)) if isinstance(record, dict) else describe(record)
            raise UserInputError(f"{here}: must be a record with keys {', '.join(RECORD_KEYS)}, got {keys}")
        items.append(Furniture.checked(*(record[k] for k in RECORD_KEYS), here))
    return items


def check_furniture(items: object, where: object) -> list[Furniture]:
    """`items` if it is a list of at most `MAX_ITEMS` valid `Furniture`, else one error (`Clip.validate`)."""
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, Furniture) for item in items):
        raise UserInputError(f"{where}: furniture must be a list of Furniture items, got {describe(items)}")
    return read_furniture([item.record() for item in items], where)
