"""Seeded fuzzing of every reader (issue 20): malformed variants of tiny valid files, read the way
`stage=convert` reads them, must each end in a `UserInputError` of one line naming the file, or in a
clip that passes `Clip.validate` and whose PHC entries are finite.

The variants come from small seed files built here (never dataset files): truncation and byte flips,
wrong shapes and dtypes, missing and extra keys, NaN/Inf/huge values, empty and one-frame clips,
extreme frame rates, non-UTF-8 and overlong strings, hostile pickles (that would create a marker file),
broken BVH hierarchies. A run is seeded, so a failure names a variant that can be replayed:
`python scripts/fuzz_readers.py --formats <name> --seed <seed> --variants <n>` runs the same fuzzer
longer, with the full IK fit (the suite fits position-only formats by IK's initial pose alone, skipping
the Adam refinement: every check under test runs before it).
"""

from __future__ import annotations

import functools
import io
import json
import os
import pickle
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pytest

from motion_lib import ik
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats import SOURCES, keypoints, source_items
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import Y_UP_TO_Z_UP
from motion_lib.formats.phc import clip_entries, read_clips
from motion_lib.skeleton import SMPL_JOINT_NAMES, get_skeleton
from tests.test_run_cli import run_cli

SMPL = get_skeleton("smpl")
SUITE_VARIANTS = 1000
"""Variants per format in the default suite."""
SUITE_SEED = 20
SUITE_WRITER_CHECKS = 25
"""Accepted clips per format whose PHC entries (what `convert` writes) are checked in the suite."""
FRAMES = 4
"""Frames of the seed files (Inter-X's, at 120 fps: 8)."""
SPECIAL = (np.nan, np.inf, -np.inf, 1e300, -1.7e308, 1.7e308, 1e160, 1e20, -1e20, 5e3, 1e-300)
FPS_VALUES = (1e-9, 1e-3, 0.0, -30.0, np.nan, np.inf, 1e9, 1e300, 0.999, 1000.5, 1.0, 1000.0, 24.0, 29.97, 120.0)
BAD_TEXT = (b"\xff\xfe\xfd", b"caf\xe9", "\ud800", "a\x00b", "x" * 5000, "", "line\nbreak", "neutral")


# --- seeds and variants ----------------------------------------------------------------------------


@dataclass
class Variant:
    """One input tree: relative path -> bytes; `target` is the file changed (an error must name it or,
    for a clip read from several files, their folder); clips in `intact` must still load, clips in
    `skip` are not read (untouched clips of a file of several, which `intact` samples)."""

    label: str
    files: dict[str, bytes]
    target: str
    intact: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()


class Call:
    """Pickles as the call `func(*args)`, made by whatever unpickles it."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def Evil(marker: Path) -> Call:  # noqa: N802 -- reads as the hostile object it makes
    """An object whose unpickling would run `touch marker` through os.system."""
    return Call(os.system, f"touch {marker}")


def npz_bytes(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def joblib_bytes(value, compress=0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(value, buffer, compress=compress)
    return buffer.getvalue()


def rest_positions(count=22) -> np.ndarray:
    """(count, 3) z-up rest positions of the first `count` SMPL joints, standing on the floor."""
    positions = SMPL.rest_positions[SMPL.indices(SMPL_JOINT_NAMES[:count])] + [0.0, 0.0, 0.95]
    return positions


def moving(points: np.ndarray, frames: int, rng) -> np.ndarray:
    """(frames, *points.shape) points drifting 1 cm per frame plus a little noise."""
    drift = np.arange(frames)[:, None] * [0.01, 0.0, 0.0]
    return points[None] + drift.reshape((frames,) + (1,) * (points.ndim - 1) + (3,)) + rng.normal(0, 0.002, (frames,) + points.shape)


def hostile_pickles(marker: Path) -> list[bytes]:
    """Pickles that would create `marker` (os.system; via eval; via numpy's own runstring) or build
    huge arrays through numpy's constructor, if anything but the restricted unpickler loaded them."""
    from numpy.testing._private.utils import runstring

    touch = f"open({str(marker)!r}, 'w').close()"
    calls = [Evil(marker), Call(eval, touch), Call(runstring, touch, {}), Call(np.ndarray, (1_400_000_000,)),
             Call((getattr(np, "_core", None) or np.core).multiarray._reconstruct, np.ndarray, (1_400_000_000,), b"b")]
    return [pickle.dumps({"a": call}, protocol=p) for call in calls for p in (0, 2, 4)]


def mutate_bytes(rng, data: bytes) -> tuple[str, bytes]:
    """Truncate, flip, insert, delete or zero bytes of `data`."""
    data = bytearray(data)
    size = max(len(data), 1)
    kind = rng.integers(6)
    at = int(rng.integers(size))
    if kind == 0:
        return f"truncated at {at}", bytes(data[:at])
    if kind == 1:
        flips = rng.integers(1, 9)
        for _ in range(flips):
            data[int(rng.integers(len(data)))] ^= int(rng.integers(1, 256))
        return f"{flips} byte flip(s)", bytes(data)
    if kind == 2:
        return f"random bytes inserted at {at}", bytes(data[:at] + rng.bytes(int(rng.integers(1, 64))) + data[at:])
    if kind == 3:
        return f"bytes deleted at {at}", bytes(data[:at] + data[at + int(rng.integers(1, 64)):])
    if kind == 4:
        return f"bytes zeroed at {at}", bytes(data[:at] + bytes(16) + data[at + 16:])
    return "empty file", b""


def weird_array(rng, array: np.ndarray) -> tuple[str, object]:
    """`array` with a broken shape, dtype or values (or, sometimes, small harmless noise)."""
    a = np.asarray(array)
    a = a if a.ndim else a.reshape(1)
    with np.errstate(over="ignore", invalid="ignore"):
        values = a.astype(np.float64) if a.dtype.kind in "biuf" else np.zeros(a.shape)
    choices: list[tuple[str, Callable[[], object]]] = [
        ("no frames", lambda: a[:0]),
        ("one frame", lambda: a[:1]),
        ("transposed", lambda: a.T),
        ("extra axis", lambda: a[None]),
        ("flattened", lambda: a.reshape(-1)),
        ("one value wider", lambda: np.concatenate([a, a[..., :1]], axis=-1)),
        ("scalar", lambda: np.array(1.0)),
        ("bool", lambda: values.astype(bool)),
        ("complex", lambda: values.astype(np.complex128)),
        ("text", lambda: values.astype(str)),
        ("non-UTF-8 bytes", lambda: np.full(a.shape, b"\xff\xfe", dtype="S2")),
        ("uint64 max", lambda: np.full(a.shape, np.iinfo(np.uint64).max, dtype=np.uint64)),
        ("float16", lambda: values.astype(np.float16)),
        ("longdouble 1e4000", lambda: np.full(a.shape, np.longdouble("1e4000"))),
        ("datetime", lambda: np.zeros(a.shape, dtype="datetime64[s]")),
        ("structured", lambda: np.zeros(a.shape, dtype=[("x", "f8"), ("y", "i4")])),
        ("object", lambda: np.array([None, 1.0], dtype=object)),
        ("scaled", lambda: values * rng.choice([1e20, 1e160, 1e300, -1e3, 1e-300, 100.0])),
        ("noise", lambda: values + rng.normal(0, 0.005, values.shape)),
        ("frames tripled", lambda: np.concatenate([a, a, a])),
    ]
    if values.size:
        choices += [("special value", lambda: _with_special(rng, values))] * 6
    label, make = choices[int(rng.integers(len(choices)))]
    with np.errstate(over="ignore", invalid="ignore"):
        return label, make()


def embed(array: np.ndarray, index: tuple, part) -> object:
    """`array` with `array[index] = part` when `part` is real numbers of that shape, else `part` alone."""
    part = np.asarray(part)
    if part.dtype.kind not in "biuf" or part.shape != array[index].shape:
        return part
    array = array.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        array[index] = part
    return array


def _with_special(rng, values: np.ndarray) -> np.ndarray:
    values = values.copy()
    values.flat[int(rng.integers(values.size))] = rng.choice(SPECIAL)
    return values


def weird_fps(rng) -> tuple[str, object]:
    choice = int(rng.integers(len(FPS_VALUES) + 3))
    if choice < len(FPS_VALUES):
        return f"fps {FPS_VALUES[choice]}", np.array(FPS_VALUES[choice])
    return "fps of another type", [np.array("30"), np.array([30.0, 30.0]), np.array(30, dtype=np.int8)][choice - len(FPS_VALUES)]


def weird_text(rng) -> tuple[str, object]:
    value = BAD_TEXT[int(rng.integers(len(BAD_TEXT)))]
    return f"text {value[:12]!r}", np.array(value)


def mutate_arrays(rng, arrays: dict, fps_keys=(), text_keys=()) -> tuple[str, dict]:
    """One to three changes to a dict of arrays: a key dropped or added, a value broken."""
    arrays, labels = dict(arrays), []
    for _ in range(int(rng.integers(1, 4))):
        key = list(arrays)[int(rng.integers(len(arrays)))] if arrays else "x"
        kind = rng.integers(10)
        if kind == 0:
            arrays.pop(key, None)
            labels.append(f"{key} dropped")
        elif kind == 1:
            arrays["extra"] = rng.normal(size=(3, 2))
            labels.append("extra key")
        elif key in fps_keys:
            label, arrays[key] = weird_fps(rng)
            labels.append(f"{key}: {label}")
        elif key in text_keys:
            label, arrays[key] = weird_text(rng)
            labels.append(f"{key}: {label}")
        else:
            label, arrays[key] = weird_array(rng, arrays[key])
            labels.append(f"{key}: {label}")
    return ", ".join(labels), arrays


def foreign_file(rng, marker: Path) -> tuple[str, bytes]:
    """Another kind of file under the expected name: an .npy, an .npz, text, a hostile pickle."""
    options = [
        ("an .npy array", npy_bytes(np.zeros((FRAMES, 3)))),
        ("an .npz archive", npz_bytes({"a": np.zeros(3)})),
        ("a text file", b"HIERARCHY\nROOT Hips\n"),
        ("an .npy of objects", npy_bytes(np.array([Evil(marker)], dtype=object))),
        ("an .npy with a huge declared shape", npy_bytes(np.zeros(3)).replace(b"(3,)", b"(10000000000000,)")),
    ] + [("a hostile pickle", data) for data in hostile_pickles(marker)]
    return options[int(rng.integers(len(options)))]


class Fuzzer:
    """A reader's seed files and how to break them; subclasses give `seed` and `mutate`."""

    source: str
    input: str
    """What is given to the reader, relative to the variant's folder ("" = the folder)."""
    several_files = False
    """A clip read from several files: an error may name the clip's folder instead of the file."""

    def __init__(self, marker: Path):
        self.marker = marker
        self.seed_files = self.seed()

    def seed(self) -> dict[str, bytes]:
        raise NotImplementedError

    def mutate(self, rng) -> Variant:
        raise NotImplementedError

    def variant(self, rng) -> Variant:
        """A byte-level change, another kind of file, or the format's own mutation."""
        kind = rng.random()
        target = self.targets()[int(rng.integers(len(self.targets())))]
        if kind < 0.2:
            label, data = mutate_bytes(rng, self.seed_files[target])
        elif kind < 0.27:
            label, data = foreign_file(rng, self.marker)
        else:
            return self.mutate(rng)
        return Variant(f"{target}: {label}", {**self.seed_files, target: data}, target)

    def targets(self) -> list[str]:
        return list(self.seed_files)


class AmassFuzzer(Fuzzer):
    source, input = "amass", "clip.npz"

    def arrays(self) -> dict:
        rng = np.random.default_rng(1)
        poses = rng.uniform(-0.2, 0.2, (FRAMES, 72))
        poses[:, :3] = (np.pi / 2, 0.0, 0.0)
        return {"poses": poses, "trans": moving(np.array([0.0, 0.0, 1.2]), FRAMES, rng),
                "betas": rng.normal(size=10), "gender": np.array("male"), "mocap_framerate": np.array(30.0)}

    def seed(self):
        return {"clip.npz": npz_bytes(self.arrays())}

    def mutate(self, rng):
        label, arrays = mutate_arrays(rng, self.arrays(), fps_keys=("mocap_framerate",), text_keys=("gender",))
        return Variant(label, {"clip.npz": npz_bytes(arrays)}, "clip.npz")


class InterxFuzzer(Fuzzer):
    source, input, several_files = "interx", "", True
    CLIP = "motions/G001T000A035R000"

    def person(self, x: float) -> dict:
        rng = np.random.default_rng(int(10 * x) + 2)
        frames = 2 * FRAMES
        return {"root_orient": np.tile([0.0, np.pi / 2, 0.0], (frames, 1)), "pose_body": rng.uniform(-0.1, 0.1, (frames, 21, 3)),
                "pose_lhand": np.zeros((frames, 15, 3)), "pose_rhand": np.zeros((frames, 15, 3)),
                "trans": moving(np.array([x, 1.15, 0.0]), frames, rng), "betas": rng.normal(size=(1, 10)),
                "gender": np.array("neutral")}

    def seed(self):
        return {f"{self.CLIP}/P1.npz": npz_bytes(self.person(0.0)), f"{self.CLIP}/P2.npz": npz_bytes(self.person(1.0)),
                "annots/interaction_order.pkl": pickle.dumps({"G001T000A035R000": 1, "G009T000A035R000": 0}, protocol=2)}

    def mutate(self, rng):
        if rng.random() < 0.3:
            label, data = self.order(rng)
            return Variant(label, {**self.seed_files, "annots/interaction_order.pkl": data}, "annots/interaction_order.pkl")
        person = "P1" if rng.random() < 0.5 else "P2"
        label, arrays = mutate_arrays(rng, self.person(0.0 if person == "P1" else 1.0), text_keys=("gender",))
        target = f"{self.CLIP}/{person}.npz"
        return Variant(f"{person}: {label}", {**self.seed_files, target: npz_bytes(arrays)}, target)

    def order(self, rng) -> tuple[str, bytes]:
        """A broken interaction order: a hostile pickle, another structure, a flipped length byte."""
        values = [2, "0", np.nan, np.array([1]), None, -1, 1.5, {"a": 1}, [0]]
        choice, hostile = int(rng.integers(4)), hostile_pickles(self.marker)
        if choice == 0:
            return "order: hostile pickle", hostile[int(rng.integers(len(hostile)))]
        if choice == 1:
            value = values[int(rng.integers(len(values)))]
            return f"order value {value!r}", pickle.dumps({"G001T000A035R000": value}, protocol=2)
        if choice == 2:
            data = bytearray(self.seed_files["annots/interaction_order.pkl"])
            data[data.index(b"X") + 4] = 0x7F  # the high length byte of the first key: 2 GB of string
            return "order: flipped length byte", bytes(data)
        other = [[1, 2], "text", {1: 0}, np.zeros(3)][int(rng.integers(4))]
        return f"order: a {type(other).__name__}", pickle.dumps(other, protocol=4)


class PhcFuzzer(Fuzzer):
    source, input = "phc", "motions.pkl"

    def entries(self) -> dict:
        rng = np.random.default_rng(3)
        quat = np.zeros((FRAMES, 24, 4))
        quat[..., 3] = 1.0
        walk = {"pose_aa": rng.uniform(-0.1, 0.1, (FRAMES, 72)), "root_trans_offset": moving(np.array([0.0, 0.0, 0.95]), FRAMES, rng),
                "beta": np.zeros(16), "gender": "neutral", "fps": 30, "source": {"format": "demo", "note": "seed"}}
        pair = {"pose_quat_global": quat, "root_trans_offset": moving(np.array([0.0, 0.0, 0.95]), FRAMES, rng),
                "trans_orig": np.zeros((FRAMES, 3)), "fps": np.float64(30.0)}
        return {"walk": walk, "help_caregiver": pair, "help_recipient": {**pair, "root_trans_offset": pair["root_trans_offset"] + [1, 0, 0]}}

    def seed(self):
        return {"motions.pkl": joblib_bytes(self.entries())}

    def mutate(self, rng):
        entries, kind = self.entries(), rng.random()
        if kind < 0.55:  # one entry broken: the other clip must still load
            key = list(entries)[int(rng.integers(3))]
            label, entries[key] = self.broken_entry(rng, entries[key])
            other = ("help",) if key == "walk" else ("walk",)
            return Variant(f"[{key}] {label}", {"motions.pkl": pickled(rng, entries)}, "motions.pkl", *self.sample(rng, other))
        if kind < 0.75:
            key = [5, (1, 2), b"walk2", None, "\ud800", "x\ny", "y" * 5000, "walk_caregiver", "lone_recipient", 2.5][int(rng.integers(10))]
            entries[key] = entries["walk"]
            return Variant(f"key {key!r:.20}", {"motions.pkl": pickled(rng, entries)}, "motions.pkl", *self.sample(rng, ("walk", "help")))
        if kind < 0.85:
            return Variant("compressed", {"motions.pkl": joblib_bytes(entries, compress=int(rng.integers(1, 4)))}, "motions.pkl", ("walk", "help"))
        data = [[], {}, "text", np.zeros(3), _deeply_nested(5000), joblib_bytes(entries)][int(rng.integers(6))]
        return Variant("top-level structure", {"motions.pkl": data if isinstance(data, bytes) else joblib_bytes(data)}, "motions.pkl")

    @staticmethod
    def sample(rng, untouched: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(intact, skip): a quarter of the variants check that the untouched clips still load, the
        others skip them (reading every clip of every variant would double the time)."""
        return (untouched, ()) if rng.random() < 0.25 else ((), untouched)

    def broken_entry(self, rng, entry: dict) -> tuple[str, object]:
        kind = rng.random()
        if kind < 0.1:
            return "not a dict", [None, [1, 2], "entry", np.zeros(4), Evil(self.marker)][int(rng.integers(5))]
        if kind < 0.2:
            label, value = weird_fps(rng)
            return label, {**entry, "fps": value}
        if kind < 0.3:
            source = [{"x": np.nan}, {"x": Evil(self.marker)}, {1: "a"}, "text", {"x": [[[[1.0e400]]]]}][int(rng.integers(5))]
            return "source metadata", {**entry, "source": source}
        label, arrays = mutate_arrays(rng, {k: v for k, v in entry.items() if isinstance(v, np.ndarray)})
        return label, {**{k: v for k, v in entry.items() if not isinstance(v, np.ndarray)}, **arrays}


@functools.lru_cache(maxsize=None)
def nested_bvh(depth: int) -> str:
    """A BVH whose root has a chain of `depth` nested joints (too deep for recursive parsing)."""
    lines = ["HIERARCHY", "ROOT Hips", "{", "OFFSET 0 0 0", "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"]
    for i in range(depth):
        lines += [f"JOINT Link{i}", "{", "OFFSET 0 1 0", "CHANNELS 3 Zrotation Xrotation Yrotation"]
    lines += ["End Site", "{", "OFFSET 0 1 0", "}"] + ["}"] * (depth + 1)
    lines += ["MOTION", "Frames: 2", "Frame Time: 0.0333333"] + [" ".join(["0"] * (6 + 3 * depth))] * 2
    return "\n".join(lines) + "\n"


def pickled(rng, value) -> bytes:
    """`value` as a joblib file (a third of the time, as PHC writes them) or a plain pickle (faster to make)."""
    return joblib_bytes(value) if rng.random() < 0.33 else pickle.dumps(value, protocol=int(rng.choice([2, 4, 5])))


def _deeply_nested(depth: int) -> bytes:
    """A pickle of `depth` nested lists (too deep for recursive code)."""
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


class HhiFuzzer(Fuzzer):
    source, input, several_files = "hhi", "", True
    JOINTS = [("Hips", None, (0, 0, 0)), ("Spine", "Hips", (0, 10, 0)), ("Head", "Spine", (0, 50, 0)),
              ("LeftUpLeg", "Hips", (9, -8, 0)), ("LeftLeg", "LeftUpLeg", (0, -42, 0)), ("LeftFoot", "LeftLeg", (0, -42, 0)),
              ("RightUpLeg", "Hips", (-9, -8, 0)), ("RightLeg", "RightUpLeg", (0, -42, 0)), ("RightFoot", "RightLeg", (0, -42, 0))]
    FILES = ("AA-RM/AACG_RMCR_Take1_CG.bvh", "AA-RM/AACG_RMCR_Take1_CR.bvh")

    def bvh(self, x: float, joints=None, frames=FRAMES) -> str:
        """A y-up centimetre BVH: the hierarchy of `joints`, the root walking from `x` cm."""
        joints = joints or self.JOINTS
        children, offsets = {name: [] for name, _, _ in joints}, {name: o for name, _, o in joints}
        for name, parent, _ in joints[1:]:
            children[parent].append(name)
        lines, order = ["HIERARCHY"], []

        def block(name, offset, depth):
            order.append(name)
            pad = "  " * depth
            lines.extend([f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}", pad + "{", f"{pad}  OFFSET {offset[0]} {offset[1]} {offset[2]}",
                          f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if depth == 0
                          else f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation"])
            for child in children[name]:
                block(child, offsets[child], depth + 1)
            if not children[name]:
                lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET 0 5 0", pad + "  }"])
            lines.append(pad + "}")

        block(joints[0][0], joints[0][2], 0)
        lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
        for t in range(frames):
            values = [x + t, 93.0, 0.0, 0.0, 0.0, 5.0 * t] + [2.0 * t, 0.0, 0.0] * (len(order) - 1)
            lines.append(" ".join(f"{v:.4f}" for v in values))
        return "\n".join(lines) + "\n"

    def seed(self):
        return {self.FILES[0]: self.bvh(0.0).encode(), self.FILES[1]: self.bvh(100.0).encode()}

    @functools.lru_cache(maxsize=None)  # noqa: B019 -- two texts per fuzzer, built once
    def wide_bvh(self, extra: int) -> str:
        """The seed skeleton with `extra` more joints under the head."""
        return self.bvh(0.0, self.JOINTS + [(f"Finger{i}", "Head", (0, 1, 0)) for i in range(extra)])

    def mutate(self, rng):
        target = self.FILES[int(rng.random() < 0.4)]
        label, text = self.broken_text(rng, self.seed_files[target].decode())
        return Variant(label, {**self.seed_files, target: text if isinstance(text, bytes) else text.encode()}, target)

    def broken_text(self, rng, text: str) -> tuple[str, str | bytes]:
        lines, kind = text.split("\n"), int(rng.integers(12))
        at = int(rng.integers(len(lines)))
        motion = lines.index("MOTION")
        if kind == 0:
            return f"line {at} deleted", "\n".join(lines[:at] + lines[at + 1:])
        if kind == 1:
            return f"line {at} repeated", "\n".join(lines[:at + 1] + lines[at:])
        if kind == 2:
            token = ["nan", "inf", "-inf", "1e300", "1e999", "9" * 5000, "abc", "0x10", "1e-320", "-0"][int(rng.integers(10))]
            words = lines[at].split()
            if words:
                words[int(rng.integers(len(words)))] = token
            return f"line {at}: a token -> {token[:10]}", "\n".join(lines[:at] + [" ".join(words)] + lines[at + 1:])
        if kind == 3:
            value = ["0", "-1", "1", "1000000000000", "abc", "3", "5", "99" * 400][int(rng.integers(8))]
            return f"Frames: {value[:10]}", "\n".join(lines[:motion + 1] + [f"Frames: {value}"] + lines[motion + 2:])
        if kind == 4:
            value = ["0", "-0.03", "1e-9", "1e9", "nan", "inf", "abc", "0.001", "1.0", "2", "0.0083333"][int(rng.integers(11))]
            return f"Frame Time: {value}", "\n".join(lines[:motion + 2] + [f"Frame Time: {value}"] + lines[motion + 3:])
        if kind == 5:
            count = ["99999999", "-1", "7", "0", "1" + "0" * 30, "six", "3.0"][int(rng.integers(7))]
            return f"CHANNELS {count[:10]}", text.replace("CHANNELS 3", f"CHANNELS {count}", 1)
        if kind == 6:
            depth = int(rng.choice([70, 1100, 3000]))
            return f"{depth} nested joints", nested_bvh(depth)
        if kind == 7:
            extra = int(rng.choice([500, 1200]))
            return f"{extra} more joints", self.wide_bvh(extra)
        if kind == 8:
            name = [b"Le\xfft\xfeLeg", b"Hips\x00", b"x" * 2000][int(rng.integers(3))]
            return f"joint name {name[:8]!r}", text.encode().replace(b"LeftLeg", name, 1)
        if kind == 9:
            return "a brace lost", text.replace("}", "", 1) if rng.random() < 0.5 else text.replace("{", "{ {", 1)
        if kind == 10:
            offset = ["1e300 1e300 1e300", "0 0 0", "0 -0.00001 0", "0 -1e7 0", "nan 0 0"][int(rng.integers(5))]
            return f"OFFSET {offset}", text.replace("OFFSET 0 -42 0", f"OFFSET {offset}", 1)
        scale = float(rng.choice([1e6, 1e3, -1e4, 1e-6]))
        head = lines[:motion + 3]
        frames = [" ".join(f"{float(v) * scale:.6g}" for v in line.split()) for line in lines[motion + 3:]]
        return f"frame values x{scale:g}", "\n".join(head + frames)


class IntergenFuzzer(Fuzzer):
    source, input = "intergen", "gen.npy"

    def motion(self) -> np.ndarray:
        rng = np.random.default_rng(4)
        motion = rng.normal(size=(FRAMES, 2, 262))
        for p, x in enumerate((0.0, 1.2)):
            positions = moving(rest_positions() + [x, 0.0, 0.0], FRAMES, rng)
            motion[:, p, :66] = Y_UP_TO_Z_UP.inv().apply(positions.reshape(-1, 3)).reshape(FRAMES, 66)
        return motion.astype(np.float32)

    def seed(self):
        return {"gen.npy": npy_bytes(self.motion())}

    def mutate(self, rng):
        motion, kind = self.motion(), rng.random()
        if kind < 0.5:  # values where the positions are
            label, positions = weird_array(rng, motion[..., :66].astype(np.float64))
            motion = embed(motion.astype(np.float64), (Ellipsis, slice(0, 66)), positions)
        elif kind < 0.6:  # values the reader does not use
            motion = motion.astype(np.float64)
            motion[..., 66 + int(rng.integers(196))] = rng.choice(SPECIAL)
            label = "an unused value broken"
        else:
            label, motion = weird_array(rng, motion)
        if rng.random() < 0.1:
            motion = np.swapaxes(np.asarray(motion), 0, 1) if np.ndim(motion) == 3 else motion
            label += ", persons first"
        return Variant(label, {"gen.npy": npy_bytes(motion)}, "gen.npy")


class IntermaskFuzzer(Fuzzer):
    source, input = "intermask", "mask.npy"

    def motion(self) -> np.ndarray:
        rng = np.random.default_rng(5)
        motion = np.zeros((FRAMES, 2, 56, 6))
        motion[..., 0] = motion[..., 4] = 1.0
        motion[:, :, :55] += rng.normal(0, 0.05, (FRAMES, 2, 55, 6))
        motion[:, 1, 55, :3] = [1.0, 0.0, 0.0]
        motion[:, :, 55, :3] += moving(np.zeros((2, 3)), FRAMES, rng)
        return motion

    def seed(self):
        return {"mask.npy": npy_bytes(self.motion())}

    def mutate(self, rng):
        motion, kind = self.motion(), rng.random()
        if kind < 0.35:
            rows = [slice(0, 55), slice(55, 56)][int(rng.random() < 0.4)]
            label, part = weird_array(rng, motion[:, :, rows])
            motion = embed(motion, (slice(None), slice(None), rows), part)
        elif kind < 0.45:
            motion[:, 0, int(rng.integers(55))] = 0.0
            label = "a zero 6D rotation"
        elif kind < 0.55:
            return Variant("an npz archive under the .npy name", {"mask.npy": npz_bytes({"motion": motion.transpose(0, 2, 1, 3).reshape(FRAMES, 672)})}, "mask.npy")
        else:
            label, motion = weird_array(rng, motion)
        return Variant(label, {"mask.npy": npy_bytes(motion)}, "mask.npy")


class KeypointsFuzzer(Fuzzer):
    source, input = "keypoints", "kp.npz"

    def arrays(self) -> dict:
        rng = np.random.default_rng(6)
        positions = np.stack([moving(rest_positions() + [x, 0.0, 0.0], FRAMES, rng) for x in (0.0, 1.2)], axis=1)
        return {"positions": positions, "joint_names": np.array(SMPL_JOINT_NAMES[:22]), "fps": np.array(30.0)}

    def seed(self):
        return {"kp.npz": npz_bytes(self.arrays())}

    def mutate(self, rng):
        arrays = self.arrays()
        if rng.random() < 0.15:
            names, bad = list(SMPL_JOINT_NAMES[:22]), BAD_TEXT[int(rng.integers(len(BAD_TEXT)))]
            names[int(rng.integers(22))] = bad
            encode = isinstance(bad, bytes) or rng.random() < 0.5
            arrays["joint_names"] = np.array([n if isinstance(n, bytes) else n.encode("utf-8", "surrogatepass") for n in names]
                                             if encode else names)
            return Variant(f"joint name {bad[:12]!r}", {"kp.npz": npz_bytes(arrays)}, "kp.npz")
        if rng.random() < 0.1:
            arrays["positions"] = arrays["positions"] * float(rng.choice([100.0, 1e20, 1.0001]))
            return Variant("positions scaled", {"kp.npz": npz_bytes(arrays)}, "kp.npz")
        label, arrays = mutate_arrays(rng, arrays, fps_keys=("fps",))
        return Variant(label, {"kp.npz": npz_bytes(arrays)}, "kp.npz")


FUZZERS: dict[str, type[Fuzzer]] = {
    "interx": InterxFuzzer, "hhi": HhiFuzzer, "phc": PhcFuzzer, "amass": AmassFuzzer,
    "intergen": IntergenFuzzer, "intermask": IntermaskFuzzer, "keypoints": KeypointsFuzzer,
}


# --- reading and judging ---------------------------------------------------------------------------


@dataclass
class Report:
    """What `fuzz` saw for one format."""

    source: str
    variants: int = 0
    errors: int = 0
    clips: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def problem_with_error(err: Exception, folder: Path, variant: Variant, several_files: bool) -> str | None:
    """Why an exception of a variant's read is wrong, or None when it is the right kind: a
    `UserInputError` of one line naming the changed file (or its folder, for clips of several files)."""
    message, target = str(err), folder / variant.target
    if not isinstance(err, UserInputError):
        return f"wrong type {type(err).__name__}: {message[:300]}"
    if "\n" in message or "\r" in message:
        return f"message of several lines: {message[:300]!r}"
    named = [str(target)] + ([str(target.parent)] if several_files else [])
    if not any(name in message for name in named):
        return f"message does not name {target}: {message[:300]}"
    return None


def problem_with_clip(clip: Clip, entries: bool = True) -> str | None:
    """Why an accepted clip is wrong: it fails `Clip.validate`, or (with `entries`) the PHC entries the
    writer would write hold non-finite values."""
    try:
        clip.validate()
    except UserInputError as err:
        return f"accepted clip fails validation: {err}"
    for key, entry in (clip_entries(clip) if entries else {}).items():
        for name, value in entry.items():
            if isinstance(value, np.ndarray) and not np.isfinite(value).all():
                return f"non-finite {name} written for {key}"
    return None


def read_variant(fuzzer: Fuzzer, variant: Variant, folder: Path, options: ReadOptions,
                 entries: bool = True) -> tuple[int, int, list[str]]:
    """(errors, clips, problems) of reading one variant written under `folder` (`entries`: also check
    what the writer would write of each clip)."""
    for name, data in variant.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    errors, clips, problems = 0, 0, []
    try:
        items = source_items(fuzzer.source, folder / fuzzer.input, options)
    except Exception as err:  # noqa: BLE001 -- judged below
        wrong = problem_with_error(err, folder, variant, fuzzer.several_files)
        return 1, 0, [wrong] if wrong else []
    for item in items:
        if item.name in variant.skip:
            continue
        try:
            clip = item.load()
        except Exception as err:  # noqa: BLE001 -- judged below
            errors += 1
            wrong = problem_with_error(err, folder, variant, fuzzer.several_files)
            wrong = wrong or (f"intact clip {item.name} failed: {err}" if item.name in variant.intact else None)
        else:
            clips += 1
            wrong = problem_with_clip(clip, entries)
        if wrong:
            problems.append(f"{item.name}: {wrong}")
    loaded = {item.name for item in items}
    problems += [f"intact clip {name} missing" for name in variant.intact if name not in loaded]
    return errors, clips, problems


def fuzz(source: str, variants: int, seed: int, root: Path, marker: Path, writer_checks: int | None = None) -> Report:
    """Read `variants` seeded variants of `source`'s seed files under `root`; the report counts the
    errors, the clips and every problem (labelled with the variant's number and change). The PHC
    entries the writer would write are checked for the first `writer_checks` clips (None: all)."""
    fuzzer = FUZZERS[source](marker)
    rng = np.random.default_rng([seed, list(FUZZERS).index(source)])
    options = ReadOptions(skeleton=SMPL, fps=30.0)
    report, start = Report(source), time.perf_counter()
    for index in range(variants):
        variant = fuzzer.variant(rng)
        entries = writer_checks is None or report.clips < writer_checks
        errors, clips, problems = read_variant(fuzzer, variant, root / f"{source}{index:05d}", options, entries)
        report.variants += 1
        report.errors += errors
        report.clips += clips
        report.problems += [f"variant {index} ({variant.label}): {p}" for p in problems]
    report.seconds = time.perf_counter() - start
    if marker.exists():
        report.problems.append(f"a hostile pickle ran: {marker} exists")
    return report


def initial_pose_only(target_pos, body_names, skeleton):
    """IK without its Adam refinement (`ik.initial_pose`): the suite's stand-in for the fit, as every
    check under test runs before it."""
    return ik.initial_pose(target_pos, body_names, skeleton)


# --- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", list(FUZZERS))
def test_fuzzed_files_end_in_one_named_error_or_a_plausible_clip(source, tmp_path, monkeypatch):
    monkeypatch.setattr(keypoints, "fit_person_to_positions", initial_pose_only)
    report = fuzz(source, SUITE_VARIANTS, SUITE_SEED, tmp_path, tmp_path / "hostile_pickle_ran", SUITE_WRITER_CHECKS)
    assert not report.problems, f"{len(report.problems)} problem(s):\n" + "\n".join(report.problems[:15])
    assert report.variants == SUITE_VARIANTS
    assert report.errors >= SUITE_VARIANTS // 2 and report.clips >= SUITE_VARIANTS // 50, report  # both outcomes exercised


def test_the_fuzzers_cover_every_source():
    assert set(FUZZERS) == set(SOURCES)


def test_seed_files_read_as_clips(tmp_path, monkeypatch):
    """Every seed is valid, so what the variants break is the change, not the seed."""
    monkeypatch.setattr(keypoints, "fit_person_to_positions", initial_pose_only)
    for source, cls in FUZZERS.items():
        fuzzer = cls(tmp_path / "marker")
        variant = Variant("seed", fuzzer.seed_files, next(iter(fuzzer.seed_files)))
        errors, clips, problems = read_variant(fuzzer, variant, tmp_path / source, ReadOptions(skeleton=SMPL, fps=30.0))
        assert (errors, problems) == (0, []) and clips >= 1, (source, problems)


def test_judging_catches_a_wrong_type_an_unnamed_file_and_a_non_finite_clip(tmp_path):
    """The fuzz test can fail: each wrong outcome is reported."""
    variant = Variant("x", {}, "a.npz")
    assert "wrong type KeyError" in problem_with_error(KeyError("k"), tmp_path, variant, False)
    assert "does not name" in problem_with_error(UserInputError("b.npz: bad"), tmp_path, variant, False)
    assert "several lines" in problem_with_error(UserInputError(f"{tmp_path / 'a.npz'}: a\nb"), tmp_path, variant, False)
    assert problem_with_error(UserInputError(f"{tmp_path / 'a.npz'}: bad"), tmp_path, variant, False) is None
    fuzzer = AmassFuzzer(tmp_path / "marker")
    (item,) = source_items("amass", _write(tmp_path / "ok", fuzzer.seed_files) / "clip.npz", ReadOptions(skeleton=SMPL))
    clip = item.load()
    clip.persons[0].root_pos[1, 0] = np.inf
    assert "NaN/inf" in problem_with_clip(clip)


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _amass(**change) -> dict[str, bytes]:
    return {"clip.npz": npz_bytes({**AmassFuzzer(Path("m")).arrays(), **change})}


def _phc(key, **change) -> dict[str, bytes]:
    entries = PhcFuzzer(Path("m")).entries()
    entries[key] = {**entries.get(key, entries["walk"]), **change}
    return {"motions.pkl": joblib_bytes(entries)}


def _hhi_cg(edit) -> dict[str, bytes]:
    fuzzer = HhiFuzzer(Path("m"))
    return {**fuzzer.seed_files, fuzzer.FILES[0]: edit(fuzzer.seed_files[fuzzer.FILES[0]].decode()).encode()}


def _intermask(edit) -> dict[str, bytes]:
    motion = IntermaskFuzzer(Path("m")).motion()
    edit(motion)
    return {"mask.npy": npy_bytes(motion)}


def _keypoints(**change) -> dict[str, bytes]:
    return {"kp.npz": npz_bytes({**KeypointsFuzzer(Path("m")).arrays(), **change})}


def _interx_order() -> dict[str, bytes]:
    fuzzer = InterxFuzzer(Path("m"))
    data = bytearray(fuzzer.seed_files["annots/interaction_order.pkl"])
    data[data.index(b"X") + 4] = 0x7F
    return {**fuzzer.seed_files, "annots/interaction_order.pkl": bytes(data)}


MEASURED = [  # issue 20's measured failure paths: (source, files, file named, what the sentence says)
    ("amass", _amass(poses=np.zeros((0, 72)), trans=np.zeros((0, 3))), "clip.npz", "needs at least 2 frames, got 0"),
    ("amass", _amass(gender=np.array(b"\xff\xfe")), "clip.npz", "gender is not valid UTF-8 text"),
    ("amass", {"clip.npz": npy_bytes(np.zeros((FRAMES, 72)))}, "clip.npz", "holds one .npy array, not an .npz archive"),
    ("amass", _amass(mocap_framerate=np.array(1e-9)), "clip.npz", "mocap_framerate must be between 1 and 1000 frames per second, got 1e-09"),
    ("amass", _amass(mocap_framerate=np.array(1e-3)), "clip.npz", "mocap_framerate must be between 1 and 1000 frames per second, got 0.001"),
    ("amass", _amass(poses=np.full((FRAMES, 72), 1e300)), "clip.npz", r"poses has values up to 1e\+300 rad"),
    ("phc", {"motions.pkl": joblib_bytes({5: PhcFuzzer(Path("m")).entries()["walk"]})}, "motions.pkl", "key 5 is not a string"),
    ("phc", _phc("walk", root_trans_offset=np.full((FRAMES, 3), 1.7e308)), "motions.pkl", r"root_trans_offset has values up to 1.7e\+308 m"),
    ("interx", _interx_order(), "annots/interaction_order.pkl", "not a readable interaction order pickle"),
    ("hhi", _hhi_cg(lambda text: nested_bvh(1100)), HhiFuzzer.FILES[0], "nests joints more than 64 deep"),
    ("hhi", _hhi_cg(lambda text: text.replace("CHANNELS 3", "CHANNELS 99999999", 1)), HhiFuzzer.FILES[0], "declares 99999999 channels"),
    ("intermask", _intermask(lambda m: m.__setitem__((1, 0, 3, 2), 1e160)), "mask.npy", r"6D rotations has values up to 1e\+160"),
    ("intergen", {"gen.npy": npy_bytes(IntergenFuzzer(Path("m")).motion().astype(np.float64) * 1e20)}, "gen.npy",
     r"joint positions has values up to [0-9.]+e\+20 m"),
    ("keypoints", _keypoints(positions=np.full((FRAMES, 2, 22, 3), 1e20)), "kp.npz", r"positions has values up to 1e\+20 m"),
    ("keypoints", _keypoints(joint_names=np.array([b"Pelvis\xff"] * 22)), "kp.npz", r"joint_names\[0\] is not valid UTF-8 text"),
]


@pytest.mark.parametrize("source, files, named, message", MEASURED, ids=[f"{m[0]}-{m[3][:30]}" for m in MEASURED])
def test_measured_failure_paths_end_in_their_sentence(tmp_path, source, files, named, message):
    _write(tmp_path, files)
    fuzzer = FUZZERS[source](tmp_path / "marker")
    with pytest.raises(UserInputError) as err:
        for item in source_items(source, tmp_path / fuzzer.input, ReadOptions(skeleton=SMPL)):
            item.load()
    assert str(tmp_path / named) in str(err.value) and re.search(message, str(err.value)), str(err.value)


def test_hostile_pickles_never_run(tmp_path):
    """Every data-pickle loader refuses the hostile pickles with one sentence naming the file."""
    from motion_lib.body_model import load_body_model
    from motion_lib.safe_pickle import load_joblib, load_pickle

    marker = tmp_path / "ran"
    loaders = {"joblib": load_joblib, "pickle": load_pickle, "phc": read_clips, "smpl": load_body_model}
    for i, data in enumerate(hostile_pickles(marker)):
        path = tmp_path / f"hostile{i}.pkl"
        path.write_bytes(data)
        for name, load in loaders.items():
            with pytest.raises(UserInputError, match=str(path)):
                load(path)
    motions = tmp_path / "interx" / "motions" / "G001T000A035R000"
    _write(tmp_path / "interx", {**InterxFuzzer(marker).seed_files, "annots/interaction_order.pkl": hostile_pickles(marker)[1]})
    with pytest.raises(UserInputError, match="interaction_order.pkl: refused to load"):
        source_items("interx", motions.parents[1], ReadOptions(skeleton=SMPL))
    assert not marker.exists()


def test_convert_keeps_the_good_clips_of_a_folder_of_bad_files(tmp_path):
    """`stage=convert` on one good and several bad AMASS files: exit 0, the good clip written (finite),
    each bad file skipped with a reason naming it."""
    fuzzer = AmassFuzzer(tmp_path / "marker")
    bad = {"fps_tiny": {"mocap_framerate": np.array(1e-9)}, "inf_trans": {"trans": np.full((FRAMES, 3), 1.7e308)},
           "rot_huge": {"poses": np.full((FRAMES, 72), 1e300)}, "no_frames": {"poses": np.zeros((0, 72)), "trans": np.zeros((0, 3))},
           "gender": {"gender": np.array(b"\xff\xfe")}}
    folder = tmp_path / "in"
    _write(folder, {"good.npz": npz_bytes(fuzzer.arrays()), "renamed.npz": npy_bytes(np.zeros((FRAMES, 72))),
                    **{f"{name}.npz": npz_bytes({**fuzzer.arrays(), **change}) for name, change in bad.items()}})
    out, run_dir = tmp_path / "out.pkl", tmp_path / "run"
    result = run_cli("stage=convert", "source=amass", f"input={folder}", f"output={out}", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["clips_written"] == 1 and summary["clips_skipped"] == len(bad) + 1
    for skip in summary["skipped"]:
        assert skip["file"] in skip["reason"] and "unexpected" not in skip["reason"], skip
    (clip,) = read_clips(out)
    assert clip.name == "good" and problem_with_clip(clip) is None


def test_convert_of_a_pickle_with_bad_clips_keeps_the_good_one(tmp_path):
    """A PHC pickle with one good pair, one clip of translations of 1.7e308 and a key that is no string:
    exit 0, the good clip written, the others skipped with reasons naming the file and key."""
    entries = PhcFuzzer(tmp_path / "marker").entries()
    entries["walk"]["root_trans_offset"] = np.full((FRAMES, 3), 1.7e308)
    entries[7] = entries["help_caregiver"]
    path, out, run_dir = tmp_path / "mixed.pkl", tmp_path / "out.pkl", tmp_path / "run"
    path.write_bytes(joblib_bytes(entries))
    result = run_cli("stage=convert", "source=phc", f"input={path}", f"output={out}", f"run_dir={run_dir}", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    reasons = sorted(skip["reason"] for skip in json.loads((run_dir / "summary.json").read_text())["skipped"])
    assert reasons == [f"{path} ['walk']: root_trans_offset has values up to 1.7e+308 m (at frame(s) [0, 1, 2, 3]); "
                       "plausible values lie within ±1000 m", f"{path}: key 7 is not a string"]
    (clip,) = read_clips(out)
    assert clip.name == "help" and problem_with_clip(clip) is None


def test_convert_of_only_bad_files_is_one_line_naming_the_file(tmp_path):
    """An HHI-Assist take whose caregiver file nests 1,100 joints: exit 2, one error line naming the file."""
    files = HhiFuzzer(tmp_path / "marker").seed_files
    cg = HhiFuzzer.FILES[0]
    _write(tmp_path / "hhi", {**files, cg: nested_bvh(1100).encode()})
    result = run_cli("stage=convert", "source=hhi", f"input={tmp_path / 'hhi'}", f"output={tmp_path / 'out.pkl'}",
                     f"run_dir={tmp_path / 'run'}", tmp_path=tmp_path)
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # the rest: a progress bar
    assert result.returncode == 2 and str(tmp_path / "hhi" / cg) in error and "more than 64 deep" in error
    assert "Traceback" not in result.stderr and not (tmp_path / "out.pkl").exists()
