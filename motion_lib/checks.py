"""Checks of values read from files, shared by every reader and by `Clip.validate`.

A reader checks what it reads before converting it: shapes, dtypes, finite values and plausible
ranges (positions, angles, speeds, frame rates, durations, text). Every failure is one
`UserInputError` sentence `"<where>: <field> <problem>"`, where `where` names the file (and the entry
inside it, e.g. `"motions.pkl ['walk_caregiver']"`). The limits are generous bounds for human motion:
values beyond them are broken files (a unit mix-up, a flipped byte), not motion.
"""

from __future__ import annotations

import math

import numpy as np

from motion_lib.errors import UserInputError

MAX_POSITION_M = 1e3
"""|coordinate| of any position, metres."""
MAX_SPEED_M_S = 100.0
"""Speed of any position between two frames, metres per second (people stay far below 15 m/s)."""
MAX_BODY_SPAN_M = 4.0
"""Extent of one person's keypoints in one frame, metres (a body lying with arms overhead spans ~2.5 m)."""
MAX_ANGLE_RAD = 1e3
"""|angle| of an axis-angle vector or Euler angle, radians (unwrapped angles stay far below)."""
MAX_ROTATION_6D = 1e3
"""|value| of a continuous 6D rotation (two rows of a rotation matrix, unit length when exact)."""
MAX_BETA = 100.0
"""|body shape coefficient| (betas are in standard deviations; datasets stay within ±5)."""
MIN_FPS, MAX_FPS = 1.0, 1000.0
"""Plausible frame rates, frames per second."""
MAX_DURATION_S = 3600.0
"""Longest clip, seconds."""
MIN_FRAMES = 2
"""Shortest clip, frames (one frame has no motion)."""
MAX_TEXT_CHARS = 256
"""Longest name or label (gender, joint name, clip key), characters."""
REAL_KINDS = "iuf"
"""numpy dtype kinds of real numbers: signed and unsigned integers, floats (not bool or complex)."""


def one_line(text: object, limit: int = 200) -> str:
    """`text` as one line of at most `limit` characters (for quoting foreign error messages)."""
    words = " ".join(str(text).split())
    return words if len(words) <= limit else words[: limit - 3] + "..."


def describe(value: object) -> str:
    """A short description of a value read from a file, safe to put in an error message."""
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, (bool, np.bool_)) or value is None:
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return repr(int(value)) if abs(int(value)) < 10**15 else f"an integer of {int(value).bit_length()} bits"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, (str, bytes)):
        return one_line(repr(value[:60]) + ("..." if len(value) > 60 else ""))
    return f"a {type(value).__name__}"


def printable(value: object) -> str:
    """`value` itself when it is valid printable text of at most `MAX_TEXT_CHARS` characters, else its
    ASCII repr shortened: a name safe to print and to put in a message."""
    if isinstance(value, str) and len(value) <= MAX_TEXT_CHARS and value.isprintable():
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
    return one_line(ascii(value), 80)


def real_array(value: object, what: str, where: object, shape: tuple | None = None) -> np.ndarray:
    """`value` as a float64 array of real numbers with `shape` (None entries: any size), else one error.

    Bool, complex, text and object arrays are refused; values are not yet checked for range.
    """
    if not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except (ValueError, TypeError, RecursionError, OverflowError):
            raise UserInputError(f"{where}: {what} must be an array of numbers, got {describe(value)}") from None
    if value.dtype.kind not in REAL_KINDS:
        raise UserInputError(f"{where}: {what} must hold real numbers, got {describe(value)}")
    if shape is not None and (value.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, value.shape))):
        expected = ", ".join("T" if s is None else str(s) for s in shape)
        raise UserInputError(f"{where}: {what} has shape {value.shape}, expected ({expected})")
    with np.errstate(over="ignore", invalid="ignore"):  # float128 beyond float64 becomes inf, found below
        return value.astype(np.float64)


def require_bounded(array: np.ndarray, limit: float, what: str, where: object, unit: str = "") -> np.ndarray:
    """`array` if every value is finite and within ±`limit`, else an error naming the first bad frames (axis 0)."""
    rows = array.reshape(array.shape[0], int(np.prod(array.shape[1:]))) if array.ndim > 1 else array.reshape(-1, 1)
    place = "frame(s)" if array.ndim > 1 else "index(es)"
    bad = ~np.isfinite(rows).all(axis=1)
    if bad.any():
        raise UserInputError(f"{where}: {what} has NaN/inf at {place} {np.flatnonzero(bad)[:5].tolist()}")
    big = (np.abs(rows) > limit).any(axis=1)
    if big.any():
        raise UserInputError(
            f"{where}: {what} has values up to {np.abs(rows).max():.3g}{unit} (at {place} {np.flatnonzero(big)[:5].tolist()}); "
            f"plausible values lie within ±{limit:g}{unit}")
    return array


def bounded_array(value: object, what: str, where: object, shape: tuple | None, limit: float, unit: str = "") -> np.ndarray:
    """`real_array` then `require_bounded`: a float64 array of `shape`, finite and within ±`limit`."""
    return require_bounded(real_array(value, what, where, shape), limit, what, where, unit)


def require_frames(frames: int, where: object) -> int:
    """`frames` if the clip has at least `MIN_FRAMES` frames, else one error."""
    if frames < MIN_FRAMES:
        raise UserInputError(f"{where}: needs at least {MIN_FRAMES} frames, got {frames}")
    return frames


def frame_rate(value: object, what: str, where: object) -> float:
    """One real number between `MIN_FPS` and `MAX_FPS` (a scalar or a one-element array), else one error."""
    array = value if isinstance(value, np.ndarray) else None
    if array is None and isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        array = np.asarray(value)
    if array is None or array.size != 1 or array.dtype.kind not in REAL_KINDS:
        raise UserInputError(f"{where}: {what} must be one number, got {describe(value)}")
    with np.errstate(over="ignore", invalid="ignore"):
        fps = float(array.reshape(-1)[0])
    if not MIN_FPS <= fps <= MAX_FPS:  # also NaN
        raise UserInputError(f"{where}: {what} must be between {MIN_FPS:g} and {MAX_FPS:g} frames per second, got {fps:.6g}")
    return fps


def require_duration(frames: int, fps: float, where: object) -> None:
    """One error when `frames` at `fps` last longer than `MAX_DURATION_S`."""
    if frames - 1 > MAX_DURATION_S * fps:  # exact for any int, however large
        raise UserInputError(f"{where}: {describe(frames)} frames at {fps:g} fps last longer than {MAX_DURATION_S:g} s, "
                             "the longest clip accepted")


def require_speed(positions: np.ndarray, fps: float, what: str, where: object) -> None:
    """One error when a position (..., 3) moves faster than `MAX_SPEED_M_S` between two frames (axis 0)."""
    if positions.shape[0] < 2:
        return
    steps = np.linalg.norm(np.diff(positions, axis=0), axis=-1).reshape(positions.shape[0] - 1, -1).max(axis=1)
    fast = np.flatnonzero(steps * fps > MAX_SPEED_M_S)
    if fast.size:
        raise UserInputError(
            f"{where}: {what} moves {steps[fast[0]] * fps:.3g} m/s between frames {fast[0]} and {fast[0] + 1}; "
            f"plausible speeds stay below {MAX_SPEED_M_S:g} m/s")


def text(value: object, what: str, where: object) -> str:
    """One string (str, bytes, or a one-element numpy string array) as valid UTF-8 text of at most
    `MAX_TEXT_CHARS` printable characters, else one error."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "SU":
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise UserInputError(f"{where}: {what} is not valid UTF-8 text: {describe(value)}") from None
    if not isinstance(value, str):
        raise UserInputError(f"{where}: {what} must be one string, got {describe(value)}")
    value = str(value)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UserInputError(f"{where}: {what} is not valid UTF-8 text (it holds lone surrogates)") from None
    if len(value) > MAX_TEXT_CHARS or not value.isprintable():
        raise UserInputError(f"{where}: {what} must be at most {MAX_TEXT_CHARS} printable characters, got {describe(value)}")
    return value


def plain_finite(value: object, what: str, where: object, depth: int = 0) -> None:
    """One error unless `value` is plain data (dict with str keys, list, tuple, str, bytes, bool, int,
    None, finite float, numpy scalar or finite numeric array) nested at most 20 levels: what a clip's
    `source` may hold so that the written pickle is finite and loads with `motion_lib.safe_pickle`."""
    if depth > 20:
        raise UserInputError(f"{where}: {what} is nested more than 20 levels deep")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UserInputError(f"{where}: {what} has a key that is not a string: {describe(key)}")
            plain_finite(item, f"{what}[{key!r}]", where, depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            plain_finite(item, f"{what}[{index}]", where, depth + 1)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise UserInputError(f"{where}: {what} is {value}, not a finite number")
    elif isinstance(value, np.ndarray):
        if value.dtype.kind not in REAL_KINDS + "bSU" or (value.dtype.kind == "f" and not np.isfinite(value).all()):
            raise UserInputError(f"{where}: {what} must be a finite numeric array, got {describe(value)}")
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UserInputError(f"{where}: {what} is not valid UTF-8 text (it holds lone surrogates)") from None
    elif not isinstance(value, (bytes, bool, int, np.integer, np.bool_)) and value is not None:
        raise UserInputError(f"{where}: {what} must be plain data, got {describe(value)}")


def require_body_span(positions: np.ndarray, what: str, where: object) -> None:
    """One error when one person's points (T, P, K, 3) spread over more than `MAX_BODY_SPAN_M` in a frame."""
    span = (positions.max(axis=2) - positions.min(axis=2)).max(axis=-1)  # (T, P)
    wide = np.argwhere(span > MAX_BODY_SPAN_M)
    if wide.size:
        frame, person = wide[0]
        raise UserInputError(
            f"{where}: {what} of person {person} spread over {span[frame, person]:.3g} m in frame {frame}; "
            f"one body spans at most {MAX_BODY_SPAN_M:g} m (are the positions in metres?)")
