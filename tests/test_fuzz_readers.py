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

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from motion_lib import ik
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats import SOURCES, keypoints, source_items
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.phc import clip_entries, read_clips
from tests.test_run_cli import run_cli
from tests.fuzz_formats import (
    FUZZERS,
    AmassFuzzer,
    HhiFuzzer,
    IntergenFuzzer,
    IntermaskFuzzer,
    InterxFuzzer,
    KeypointsFuzzer,
    PhcFuzzer,
    nested_bvh,
)
from tests.fuzz_mutations import (
    FRAMES,
    SMPL,
    SUITE_SEED,
    SUITE_VARIANTS,
    SUITE_WRITER_CHECKS,
    Fuzzer,
    Variant,
    hostile_pickles,
    joblib_bytes,
    npy_bytes,
    npz_bytes,
)



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
    ("amass", _amass(poses=np.zeros((2, 72)), trans=np.zeros((2, 3)), mocap_framerate=np.array(1000.0)), "clip.npz",
     r"2 frames at 1000 fps last 0.001 s, less than the 2 frames a clip needs at 30 fps \(stage.fps\)"),
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
