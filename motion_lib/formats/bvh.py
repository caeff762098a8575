"""BVH (Biovision Hierarchy) motion files: parsing and forward kinematics.

A BVH file has a HIERARCHY section (one or more ROOT trees of JOINTs, each with an OFFSET from its
parent, an optional CHANNELS list, and End Sites) and a MOTION section (`Frames: N`,
`Frame Time: dt`, then N lines of C numbers, C = the total channel count in hierarchy order).

Conventions of the format, as read here
- Rotation channels are Euler angles in degrees, applied intrinsically in the order the channels
  are listed: `Zrotation Xrotation Yrotation` gives R = Rz(a) Rx(b) Ry(c), mapping the joint's
  frame to its parent's. A joint without rotation channels keeps the identity.
- A position channel gives that coordinate of the joint's translation from its parent, replacing
  the OFFSET coordinate (exporters write the root's full position there); coordinates without a
  channel keep the OFFSET.
- `Frame Time` is written rounded (0.0166667 for 60 fps); when an integer frame rate rounds to
  the written value at its printed precision and lies within 0.01 % of it, the frame time is
  taken as exactly 1/fps.
- The rest pose is every channel at zero: joints at their OFFSETs, every global rotation the identity.
- Units and up axis are whatever the file was written in; `forward_kinematics` takes an explicit
  `scale` to metres, and the caller decides the up axis (most mocap BVH files are y-up).
End Sites only end a chain; their offsets are checked but not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from motion_lib.checks import MAX_ANGLE_RAD, MAX_FPS, MAX_POSITION_M, MIN_FPS, one_line, require_duration, text
from motion_lib.errors import UserInputError

AXES = "XYZ"
MAX_DEPTH = 64
"""Deepest joint nesting accepted (a mocap skeleton with fingers is about 10 deep)."""
MAX_JOINTS = 1000
"""Most joints accepted in one file (a two-person mocap file with fingers has about 150)."""
MAX_FILE_UNITS = MAX_POSITION_M * 1000
"""|OFFSET| and |position channel| in file units: 1 km in millimetres."""
MAX_DEGREES = float(np.degrees(MAX_ANGLE_RAD))
"""|rotation channel|, degrees."""
CHANNEL_NAMES = tuple(f"{a}{kind}" for kind in ("position", "rotation") for a in AXES)
_CHANNEL_BY_LOWER = {name.lower(): name for name in CHANNEL_NAMES}


@dataclass(frozen=True)
class BvhMotion:
    """One parsed BVH file.

    Attributes:
        path: the file it was read from (for error messages).
        joint_names: (J,) joint names in file (depth-first) order; parents come before children.
        parents: (J,) parent index of each joint, -1 for a ROOT (a file may hold several roots).
        offsets: (J, 3) OFFSET of each joint from its parent, file units and axes.
        channels: (J,) channel names of each joint, in file order (e.g. ("Xposition", ..., "Yrotation")).
        frame_time: seconds per frame.
        values: (T, C) channel values per frame, columns in hierarchy order.
    """

    path: Path
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    frame_time: float
    values: np.ndarray

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_frames(self) -> int:
        return self.values.shape[0]

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def roots(self) -> tuple[int, ...]:
        """Indices of the ROOT joints, in file order."""
        return tuple(j for j, p in enumerate(self.parents) if p < 0)

    @cached_property
    def first_column(self) -> np.ndarray:
        """(J,) column of each joint's first channel in `values`."""
        counts = [len(c) for c in self.channels]
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)

    def subtree(self, root: int) -> tuple[int, ...]:
        """Indices of `root` and all joints below it, in file order."""
        inside = set()
        for j, p in enumerate(self.parents):
            if j == root or p in inside:
                inside.add(j)
        return tuple(sorted(inside))


def rest_positions(motion: BvhMotion, scale: float) -> np.ndarray:
    """(J, 3) joint positions in the rest pose (OFFSETs summed, roots at their OFFSET), times `scale`."""
    pos = np.zeros((motion.num_joints, 3))
    for j, p in enumerate(motion.parents):
        pos[j] = motion.offsets[j] if p < 0 else pos[p] + motion.offsets[j]
    return pos * scale


def axis_rotation_matrices(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by `degrees` (T,) about the frame's `axis` ("X", "Y" or "Z")."""
    angle = np.radians(degrees)
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][AXES.index(axis)]
    mats = np.zeros((angle.shape[0], 3, 3))
    mats[:, AXES.index(axis), AXES.index(axis)] = 1.0
    mats[:, i, i], mats[:, i, j], mats[:, j, i], mats[:, j, j] = c, -s, s, c
    return mats


def local_transforms(motion: BvhMotion) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame joint-to-parent transforms.

    Returns:
        translations: (T, J, 3) translation of each joint from its parent (file units).
        rotations: (T, J, 3, 3) joint frame to parent frame: the product of the joint's rotation
            channels in their listed order (intrinsic Euler angles).
    """
    frames = motion.num_frames
    translations = np.broadcast_to(motion.offsets, (frames, motion.num_joints, 3)).copy()
    rotations = np.broadcast_to(np.eye(3), (frames, motion.num_joints, 3, 3)).copy()
    for j, names in enumerate(motion.channels):
        for name, column in zip(names, motion.first_column[j] + np.arange(len(names))):
            if name.endswith("position"):
                translations[:, j, AXES.index(name[0])] = motion.values[:, column]
            else:
                rotations[:, j] = rotations[:, j] @ axis_rotation_matrices(name[0], motion.values[:, column])
    return translations, rotations


def forward_kinematics(motion: BvhMotion, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Global joint positions and rotations of every frame, in the file's world axes.

    Args:
        motion: the parsed file.
        scale: file units to the caller's units (e.g. 0.01 for a centimetre file read in metres).

    Returns:
        positions: (T, J, 3) joint positions, times `scale`.
        rotations: (T, J, 3, 3) joint-to-world rotation matrices (identity in the rest pose).
    """
    translations, rotations = local_transforms(motion)
    translations *= scale
    positions = translations.copy()
    for j, p in enumerate(motion.parents):
        if p >= 0:
            positions[:, j] = positions[:, p] + np.einsum("tab,tb->ta", rotations[:, p], translations[:, j])
            rotations[:, j] = rotations[:, p] @ rotations[:, j]
    return positions, rotations


# --- parsing -------------------------------------------------------------------------------------


class _Tokens:
    """The HIERARCHY section as a stream of (token, line number) pairs."""

    def __init__(self, path: Path, tokens: list[tuple[str, int]], end_line: int):
        self.path, self.tokens, self.pos, self.end_line = path, tokens, 0, end_line

    def error(self, message: str, line: int | None = None) -> UserInputError:
        return UserInputError(f"{self.path}, line {line or self.line}: {message}")

    @property
    def line(self) -> int:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else self.end_line

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def next(self, what: str) -> str:
        if self.pos >= len(self.tokens):
            raise self.error(f"hierarchy ends early, expected {what}")
        token = self.tokens[self.pos][0]
        self.pos += 1
        return token

    def expect(self, keyword: str) -> None:
        line = self.line
        token = self.next(f"'{keyword}'")
        if token.upper() != keyword.upper():
            raise self.error(f"expected '{keyword}', found {_quote(token)}", line)

    def number(self, what: str, kind=float):
        line = self.line
        token = self.next(what)
        try:
            value = kind(token)
        except ValueError:
            raise self.error(f"{what} must be a number, found {_quote(token)}", line) from None
        if kind is float and not abs(value) <= MAX_FILE_UNITS:  # also NaN
            raise self.error(f"{what} must be a finite number within ±{MAX_FILE_UNITS:g}, found {_quote(token)}", line)
        return value

    def rest_of_line(self, what: str) -> str:
        """The tokens left on the current line, up to an opening brace, joined by spaces."""
        line = self.line
        words = []
        while self.pos < len(self.tokens) and self.tokens[self.pos][1] == line and self.peek() != "{":
            words.append(self.next(what))
        if not words:
            raise self.error(f"missing {what}", line)
        return text(" ".join(words), what, f"{self.path}, line {line}")


class _Hierarchy:
    """Joints collected while parsing."""

    def __init__(self):
        self.names: list[str] = []
        self.parents: list[int] = []
        self.offsets: list[tuple[float, float, float] | None] = []
        self.channels: list[tuple[str, ...]] = []


def _quote(token: str) -> str:
    """A token of the file, quoted and shortened for an error message."""
    return repr(one_line(token, 40))


def _parse_joint(tokens: _Tokens, joints: _Hierarchy, parent: int, depth: int = 0) -> None:
    """A ROOT or JOINT block nested `depth` joints deep; the keyword has been read."""
    if depth >= MAX_DEPTH:
        raise tokens.error(f"the hierarchy nests joints more than {MAX_DEPTH} deep")
    if len(joints.names) >= MAX_JOINTS:
        raise tokens.error(f"the hierarchy holds more than {MAX_JOINTS} joints")
    index = len(joints.names)
    joints.names.append(tokens.rest_of_line("joint name"))
    joints.parents.append(parent)
    joints.offsets.append(None)
    joints.channels.append(())
    tokens.expect("{")
    while True:
        line = tokens.line
        keyword = tokens.next("'}'")
        upper = keyword.upper()
        if upper == "OFFSET":
            joints.offsets[index] = tuple(tokens.number(f"OFFSET of joint '{joints.names[index]}'") for _ in range(3))
        elif upper == "CHANNELS":
            joints.channels[index] = _parse_channels(tokens, joints.names[index])
        elif upper == "JOINT":
            _parse_joint(tokens, joints, index, depth + 1)
        elif upper == "END":
            tokens.expect("Site")
            tokens.expect("{")
            tokens.expect("OFFSET")
            for _ in range(3):
                tokens.number(f"End Site OFFSET of joint '{joints.names[index]}'")
            tokens.expect("}")
        elif keyword == "}":
            break
        else:
            raise tokens.error(f"unexpected {_quote(keyword)} in joint '{joints.names[index]}'", line)
    if joints.offsets[index] is None:
        raise tokens.error(f"joint '{joints.names[index]}' has no OFFSET", line)


def _parse_channels(tokens: _Tokens, joint: str) -> tuple[str, ...]:
    count = tokens.number(f"channel count of joint '{joint}'", int)
    if not 0 <= count <= 6:
        raise tokens.error(f"joint '{joint}' declares {count} channels; a joint has 0 to 6")
    names = []
    for _ in range(count):
        line = tokens.line
        token = tokens.next(f"a channel name of joint '{joint}'")
        name = _CHANNEL_BY_LOWER.get(token.lower())
        if name is None:
            raise tokens.error(f"unknown channel name {_quote(token)} of joint '{joint}'; expected one of {', '.join(CHANNEL_NAMES)}", line)
        if name in names:
            raise tokens.error(f"channel '{name}' repeated in joint '{joint}'", line)
        names.append(name)
    return tuple(names)


def _exact_frame_time(text: str, frame_time: float) -> float:
    """1/n for the integer frame rate n within 0.01 % of 1/`frame_time` whose frame time, rounded
    to the decimals of `text`, is `frame_time`; else `frame_time` (also when `text` is not plain decimal)."""
    if "." not in text or not text.replace(".", "", 1).isdigit():
        return frame_time
    half_step = 0.5 * 10.0 ** -len(text.split(".")[1])
    rate = round(1.0 / frame_time)
    close = rate > 0 and abs(rate * frame_time - 1.0) < 1e-4
    return 1.0 / rate if close and abs(1.0 / rate - frame_time) <= half_step * (1 + 1e-9) else frame_time


def _header_value(path: Path, lines: list[str], index: int, label: str, kind):
    """The value after `label` (e.g. "Frames:") on line `index` (0-based)."""
    if index >= len(lines):
        raise UserInputError(f"{path}, line {index + 1}: file ends before '{label}'")
    text = lines[index].strip()
    if not text.lower().startswith(label.lower()):
        raise UserInputError(f"{path}, line {index + 1}: expected '{label} <value>', found {_quote(text)}")
    token = text[len(label):].strip()
    try:
        value = kind(token)
    except ValueError:
        raise UserInputError(f"{path}, line {index + 1}: '{label}' must be followed by a number, found {_quote(token)}") from None
    return value


def _parse_frames(path: Path, lines: list[str], first: int, declared: int, channels: list[str]) -> np.ndarray:
    """(declared, C) values of the C `channels` from the frame lines starting at line index `first`, finite
    and plausible: rotations within ±`MAX_DEGREES`, positions within ±`MAX_FILE_UNITS`."""
    num_channels = len(channels)
    rows, row_lines = [], []
    for index in range(first, len(lines)):
        parts = lines[index].split()
        if not parts:
            continue
        if len(rows) == declared:
            raise UserInputError(f"{path}, line {index + 1}: more frame lines than 'Frames: {declared}' declares")
        if len(parts) != num_channels:
            raise UserInputError(
                f"{path}, line {index + 1}: frame {len(rows)} has {len(parts)} values, expected {num_channels} "
                f"(one per channel; truncated line?)")
        rows.append(parts)
        row_lines.append(index + 1)
    if len(rows) < declared:
        raise UserInputError(
            f"{path}, line {len(lines)}: truncated file: 'Frames: {declared}' but only {len(rows)} frame lines found")
    try:
        values = np.array(rows, dtype=np.float64).reshape(declared, num_channels)
    except ValueError:
        line, token = next((line, t) for parts, line in zip(rows, row_lines) for t in parts if not _is_number(t))
        raise UserInputError(f"{path}, line {line}: non-numeric value {_quote(token)}") from None
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise UserInputError(f"{path}, line {row_lines[int(np.flatnonzero(bad)[0])]}: NaN/inf value in the frame data")
    limits = np.array([MAX_DEGREES if name.endswith("rotation") else MAX_FILE_UNITS for name in channels])
    big = np.abs(values) > limits
    if big.any():
        frame, column = (int(i) for i in np.argwhere(big)[0])
        unit = "degrees" if channels[column].endswith("rotation") else "file units"
        raise UserInputError(f"{path}, line {row_lines[frame]}: channel {column} ({channels[column]}) is "
                             f"{values[frame, column]:.3g}; plausible values lie within ±{limits[column]:g} {unit}")
    return values


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_bvh(path: Path) -> BvhMotion:
    """Parse a BVH file; every problem is a `UserInputError` naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        raise UserInputError(f"{path}: cannot read the file ({err.strerror})") from None
    motion_index = next((i for i, line in enumerate(lines) if line.strip().upper() == "MOTION"), None)
    if motion_index is None:
        raise UserInputError(f"{path}, line {len(lines)}: missing MOTION section (truncated file?)")
    tokens = _Tokens(path, [(t, i + 1) for i, line in enumerate(lines[:motion_index]) for t in line.split()],
                     motion_index + 1)
    tokens.expect("HIERARCHY")
    joints = _Hierarchy()
    while tokens.peek() is not None:
        line = tokens.line
        keyword = tokens.next("ROOT")
        if keyword.upper() != "ROOT":
            raise tokens.error(f"expected 'ROOT' or 'MOTION', found '{keyword}'", line)
        _parse_joint(tokens, joints, -1)
    if not joints.names:
        raise tokens.error("the hierarchy has no ROOT joint")
    num_channels = sum(len(c) for c in joints.channels)
    if num_channels == 0:
        raise tokens.error("the hierarchy declares no CHANNELS")

    declared = _header_value(path, lines, motion_index + 1, "Frames:", int)
    frame_time = _header_value(path, lines, motion_index + 2, "Frame Time:", float)
    if declared < 1:
        raise UserInputError(f"{path}, line {motion_index + 2}: 'Frames:' must be at least 1, got {declared}")
    if not 1.0 / MAX_FPS <= frame_time <= 1.0 / MIN_FPS:  # also NaN
        raise UserInputError(f"{path}, line {motion_index + 3}: 'Frame Time:' must be between {1.0 / MAX_FPS:g} and "
                             f"{1.0 / MIN_FPS:g} seconds ({MIN_FPS:g} to {MAX_FPS:g} fps), got {frame_time:.6g}")
    frame_time = _exact_frame_time(lines[motion_index + 2].split(":", 1)[1].strip(), frame_time)
    require_duration(declared, 1.0 / frame_time, f"{path}, line {motion_index + 2}")
    values = _parse_frames(path, lines, motion_index + 3, declared, [name for c in joints.channels for name in c])
    return BvhMotion(
        path=path,
        joint_names=tuple(joints.names),
        parents=tuple(joints.parents),
        offsets=np.array(joints.offsets, dtype=np.float64),
        channels=tuple(joints.channels),
        frame_time=float(frame_time),
        values=values,
    )
