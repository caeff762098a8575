"""One `Fuzzer` per reader (`tests/fuzz_mutations.py`): its seed files and how to break them, for
`tests/test_fuzz_readers.py` and `scripts/fuzz_readers.py`."""

from __future__ import annotations

import functools
import json
import pickle

import numpy as np

from motion_lib.formats.common import Y_UP_TO_Z_UP
from motion_lib.skeleton import SMPL_JOINT_NAMES
from tests.fuzz_mutations import (
    BAD_TEXT,
    FRAMES,
    SPECIAL,
    Evil,
    Fuzzer,
    Variant,
    embed,
    hostile_pickles,
    joblib_bytes,
    moving,
    mutate_arrays,
    npy_bytes,
    npz_bytes,
    rest_positions,
    weird_array,
    weird_fps,
)



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


class BvhFuzzer(HhiFuzzer):
    """The generic BVH reader: one file of one person, broken like HHI-Assist's files."""

    source, input, several_files = "bvh", "walk.bvh", False
    FILES = ("walk.bvh",)

    def seed(self):
        return {self.FILES[0]: self.bvh(0.0).encode()}

    def mutate(self, rng):
        label, text = self.broken_text(rng, self.seed_files[self.FILES[0]].decode())
        return Variant(label, {self.FILES[0]: text if isinstance(text, bytes) else text.encode()}, self.FILES[0])


class DeepMimicFuzzer(Fuzzer):
    """DeepMimic humanoid3d motion files (JSON): broken structure, widths, values and durations."""

    source, input = "deepmimic", "walk.txt"

    def frames(self) -> list[list[float]]:
        rng = np.random.default_rng(7)
        rows = []
        for t in range(FRAMES):
            quats = [list(q) for q in rng.normal(0.0, 0.1, (10, 4)) + [1.0, 0.0, 0.0, 0.0]]
            rows.append([1 / 30, 0.03 * t, 0.9, 0.0, *quats[0], *quats[1], *quats[2], *quats[3], -0.4, *quats[4],
                         *quats[5], 0.3, *quats[6], -0.4, *quats[7], *quats[8], 0.3])
        return rows

    def seed(self):
        return {self.input: json.dumps({"Loop": "wrap", "Frames": self.frames()}).encode()}

    def mutate(self, rng):
        rows, kind = self.frames(), int(rng.integers(9))
        t, k = int(rng.integers(FRAMES)), int(rng.integers(44))
        if kind == 0:
            document, label = {"Loop": "wrap"}, "no Frames"
        elif kind == 1:
            document, label = {"Frames": rows[0]}, "Frames one flat list"
        elif kind == 2:
            rows[t] = rows[t][: int(rng.integers(44))]
            document, label = {"Frames": rows}, f"frame {t} cut short"
        elif kind == 3:
            rows[t][k] = [None, "abc", [1, 2], {"a": 1}, True][int(rng.integers(5))]
            document, label = {"Frames": rows}, f"frame {t} value {k}: not a number"
        elif kind == 4:
            rows[t][k] = float(rng.choice([1e308, -1e308, 1e30, 1e-320, 0.0]))
            document, label = {"Frames": rows}, f"frame {t} value {k}: {rows[t][k]:g}"
        elif kind == 5:
            for row in rows:
                row[0] = float(rng.choice([0.0, -0.03, 1e-9, 1e9]))
            document, label = {"Frames": rows}, f"durations {rows[0][0]:g}"
        elif kind == 6:
            rows[t][0] = 0.1
            document, label = {"Frames": rows}, f"frame {t} lasts 0.1 s"
        elif kind == 7:
            rows[t][4:8] = [0.0, 0.0, 0.0, 0.0]
            document, label = {"Frames": rows}, f"frame {t}: a zero root quaternion"
        else:
            document, label = rows, "a bare list"
        text = json.dumps(document)
        if rng.random() < 0.15:
            text, label = text[: int(rng.integers(len(text)))], label + ", truncated"
        return Variant(label, {self.input: text.encode()}, self.input)


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
    "intergen": IntergenFuzzer, "intermask": IntermaskFuzzer, "keypoints": KeypointsFuzzer, "bvh": BvhFuzzer,
    "deepmimic": DeepMimicFuzzer,
}


# --- reading and judging ---------------------------------------------------------------------------


