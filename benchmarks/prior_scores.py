"""What a single-person prior tracks, per motion family: score prior checkpoints on fixed held-out clip sets and
print success per family, beside each other.

    python benchmarks/prior_scores.py data/prior/smpl_prior_cpu.pt runs/prior/model_5000.pt [--sets builtin eval40 all
        noisy40] [--clips runs/train500.pkl] [--out runs/prior_scores]

Sets (generated once into `<out>/sets/` from a seed no training run uses, 12345; `--seed <n>` makes fresh ones in
`<out>/sets_s<n>/`, their results named `<set>_s<n>`, to report a checkpoint chosen on the default sets without the
bias of the choice):
- `builtin`: the three built-in single-person clips (`data/demo/single.pkl`);
- `eval40`: the learning benchmark's 40 locomotion and posture clips (`learning_curve.EVAL_FAMILIES`);
- `all`: `--per-family` (4) clips of every motion family with a default share (kicks, jumps, dance, floor and chair
  clips included; not `demo_single`, the built-in clips), of which a few are pulled up by a helper they do not hold;
- `noisy40`: eval40 with i.i.d. noise on every reference frame (1 degree on every joint, 5 mm on the pelvis;
  `motion_lib.families.transforms.with_reference_noise`), for robustness to jittery input;
- `scaled40`: eval40 as subjects 0.9 and 1.1 times the skeleton's size give it (alternating) once converted the way the
  readers convert motion capture (rotations copied, root translation kept: `with_subject_scale`): the feet slide by
  10 % of the travel and the pelvis bobs and drops 10 % more or less, as real capture of other people does here;
- `walkgrid`: walks from standing at fixed speeds (`WALK_GRID_SPEEDS`, 0.9-1.7 m/s), straight and turning at 30 deg/s,
  8 s each without a stop, named `walk_v<speed>_t<turn>`: where the speed-up from standing stops being tracked;
- `cruise`: walks (`CRUISE_WALK_SPEEDS`, 1.0-1.8 m/s) and runs (`CRUISE_RUN_SPEEDS`, 2.0-3.0 m/s) already under way,
  straight, 5 s from `CRUISE_DELAY` after they reach their speed, named `cruise_<walk|run>_v<speed>`: the speeds a
  prior can keep up, apart from speeding up to them (`walkgrid`), as capture that starts mid-stride asks;
- `dance24`: 24 clips of the `dance` family (mirrored and time-warped as in training), the family the prior fails most
  of (the 4 clips in `all` tell checkpoints apart by chance); `turn24`: 24 of the `turn` family (turning back at
  100-330 deg/s); `kick24`, `jump24`: 24 of the `kick` and `jump` families (half of the kicks aimed out to the side,
  half of the clips' last jumps turning in the air); `jack24`, `hop24`: 24 jumping jacks, 24 clips of hopping on one foot;
  `broadjump24`, `longjump24`: 24 standing broad jumps (0.6-1.2 m), 24 long ones (1.1-1.7 m, `long_jump`);
  `spinkick24`: 24 spinning kicks (`spin_kick`: turning 180-380 degrees on the ball of the support foot);
- `long12`: 8 walks of 30 s and 4 jogs of 20 s (the families' clips last 3-10 s; capture often lasts longer);
  `longdance8`: 8 dances of 30 s (a dance a prior loses once in k short clips it loses far more often over 30 s);
- `fastrun12`: runs from standing at 3.0, 3.5, 4.0 and 4.5 m/s (three each, 8 s; 4.5 is faster than any `run`
  clip), columns per speed: how fast a prior can run; `fastcruise12`: the same speeds already under way (cut as
  `cruise`'s runs, named `fastcruise_v<speed>_<k>`): whether a failure is the speed itself or the speeding up;
- `runstop12`, `runturn12`, `runwalk12`: jogs at 2.0 m/s and runs at 2.5, 3.0 and 3.5 m/s from standing that slow
  down and stop, slow down, turn back by 150-180 degrees and run on, or slow into a walk and walk on, before their end
  (three each, named `run<stop|turn|walk>_v<speed>_<k>`), as captured running often ends;
- `deepmimic40`, `deepmimicall`: eval40 and `all` as capture in DeepMimic's humanoid3d format gives them once
  converted (`run.py stage=convert source=deepmimic`; written by `motion_lib.formats.deepmimic.write_motion`): one spine
  joint, knees and elbows on one hinge, no toes, fixed wrists and the character's proportions, the lossy form the
  format's public capture (walks, runs, kicks, jumps, dances, getting up) comes in;
- `midcut`: `all` (without the clips whose person needs a helper) with each clip cut to `MIDCUT_SECONDS` starting up
  to `MIDCUT_LEAD` before its fastest moment (the bodies' mean speed; the start drawn from the seed): capture starts
  where its file starts, often mid-stride, mid-jump or mid-kick, and is then short (a DeepMimic clip lasts 1-3 s),
  while the generated clips start standing still;
- `capture`: `midcut`'s clips as capture in DeepMimic's format would give them: `noisy40`'s jitter, written in the
  format and converted (`deepmimicall`'s way). (Not `scaled40`'s subject sizes: that format, like BVH, gives the
  subject's legs, by which the reader scales the root track, so no 10 % mismatch is left; with it too, the squats and
  crouches lose a clip or two, their feet under the floor.)
- `chair8`: the built-in `sit_down_stand_up` on its chair, mirrored, time-warped (x0.85, x0.93, x1.07, x1.15) and
  three times with that noise: whether a prior really stands up, not only on one clip (checkpoints close together
  differ most on this rise);
- `--clips <file>`: any clips file, named by its stem (with its folder, `<folder>_<stem>`, where the stem repeats or
  names a generated set); e.g. a run's own training clips (made again with `python -m
  motion_lib.families` and the run's count, seed and mix), tracked from their first frames: what a run has lost of
  what it trained on, which its training failure rates (from random starts) only hint at.
Each checkpoint and set is one deterministic `run.py stage=eval` (PHC's 0.5 m rule) in `<out>/<name>/<set>/`, reused
when it was scored from the same checkpoint and clips files, unchanged (`learning_curve.scored_files`). Writes
`<out>/scores.csv` (one line per checkpoint, set and family; a call replaces the lines of the checkpoints and sets it
scores and keeps the others) and prints one markdown table per set: success overall (the 0.5 m rule and the training's
termination rule), MPJPE over the tracked clips, tracked / clips without those whose person needs a helper the clip
does not hold (`pulled_up` from the floor, the help-up recipient: `motion_lib.families.assisted.needs_helper`; of the
generated sets only `all` holds such clips), and tracked / clips per family.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import re
import sys
from functools import partial
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from learning_curve import EVAL_FAMILIES, evaluate, families  # benchmarks/ (this script's folder)
from training_runs import run_main

from motion_lib.errors import UserInputError
from motion_lib.files import atomic_write_bytes
from motion_lib.families.assisted import needs_helper
from motion_lib.families.dynamic import dance
from motion_lib.families.locomotion import RUN_SPEEDS, jog, run, walk
from motion_lib.families.registry import FAMILIES
from motion_lib.clip import Clip, PersonMotion
from motion_lib.families.transforms import mirror, time_warp, with_reference_noise, with_subject_scale
from motion_lib.formats import deepmimic
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.common import body_positions
from motion_lib.formats.phc import read_clips, write_clips
from motion_lib.skeleton import get_skeleton
from assistmimic.stages.convert import read_source

SEED = 12345
SETS = ("builtin", "eval40", "all", "noisy40", "scaled40", "chair8", "walkgrid", "cruise", "dance24", "turn24", "kick24",
        "jump24", "broadjump24", "longjump24", "spinkick24", "jack24", "hop24", "fastrun12", "fastcruise12", "runstop12", "runturn12",
        "runwalk12", "long12", "longdance8", "deepmimic40", "deepmimicall", "midcut", "capture")
MIDCUT_SECONDS, MIDCUT_LEAD = 2.0, 0.8
"""The `midcut` clips last `MIDCUT_SECONDS` s and start up to `MIDCUT_LEAD` s (uniform) before their fastest frame."""
FAMILY_SETS = {"dance24": "dance", "turn24": "turn", "kick24": "kick", "jump24": "jump", "broadjump24": "broad_jump",
               "jack24": "jumping_jack", "hop24": "hop", "longjump24": "long_jump", "spinkick24": "spin_kick"}
"""Sets of 24 clips of one family (mirrored and time-warped as in training)."""
CHAIR_SPEEDS = (0.85, 0.93, 1.07, 1.15)
"""The time warps of `chair8`."""
NOISE = {"joint_deg": 1.0, "root_m": 0.005}
"""The noise of `noisy40` (standard deviations per frame)."""
SUBJECT_SCALES = (0.9, 1.1)
"""The subject sizes of `scaled40`, alternating over its clips."""
DEEPMIMIC_SETS = {"deepmimic40": "eval40", "deepmimicall": "all"}
"""Sets of capture in DeepMimic's format: the set they are written from."""
WALK_GRID_SPEEDS = (0.9, 1.1, 1.3, 1.5, 1.7)
WALK_GRID_TURNS = (0, 30)
"""The cruise speeds (m/s) and turn rates (deg/s) of `walkgrid`."""
CRUISE_WALK_SPEEDS = (1.0, 1.2, 1.4, 1.6, 1.8)
CRUISE_RUN_SPEEDS = (2.0, 2.5, 3.0)
CRUISE_DELAY, CRUISE_SECONDS = 0.5, 5.0
"""The `cruise` clips start `CRUISE_DELAY` s after the gait reaches its speed and last `CRUISE_SECONDS` s."""
LONG_WALKS, LONG_JOGS = (8, 30.0), (4, 20.0)
"""The `long12` clips: (count, seconds) of walks and of jogs."""
LONG_DANCES = (8, 30.0)
"""The `longdance8` clips: (count, seconds)."""
FAST_RUN_SPEEDS, FAST_RUNS_EACH = (3.0, 3.5, 4.0, 4.5), 3
"""The `fastrun12` clips: runs from standing at each speed (m/s; 4.5 beyond `RUN_SPEEDS`), so many of each."""
RUN_END_SPEEDS, RUN_ENDS_EACH = (2.0, 2.5, 3.0, 3.5), 3
"""The `runstop12`, `runturn12` and `runwalk12` clips: jogs (2.0 m/s) and runs from standing that slow down and stop,
turn back, or slow into a walk, so many at each speed."""


def clip_set(name: str, folder: Path, per_family: int, seed: int = SEED) -> Path:
    """The clips file of set `name` (generated from `seed`), written into `folder` once."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "builtin":
        return REPO / "data" / "demo" / "single.pkl"
    if name == "eval40":
        return families(folder / "eval40.pkl", 40, seed, EVAL_FAMILIES)
    if name == "all":
        shared = [family for family, spec in FAMILIES.items() if spec.weight > 0]  # not the built-in clips
        mix = ",".join(f"{family}=1" for family in shared)
        return families(folder / f"all{per_family}.pkl", per_family * len(shared), seed, mix)
    if name in FAMILY_SETS:
        return families(folder / f"{name}.pkl", 24, seed, f"{FAMILY_SETS[name]}=1")
    if name == "noisy40":
        path = folder / "noisy40.pkl"
        if not path.exists():
            rng = np.random.default_rng(0)
            clean = read_clips(clip_set("eval40", folder, per_family, seed))
            write_clips(path, [with_reference_noise(clip, rng, **NOISE) for clip in clean])
        return path
    if name == "scaled40":
        path = folder / "scaled40.pkl"
        if not path.exists():
            clean = read_clips(clip_set("eval40", folder, per_family, seed))
            write_clips(path, [with_subject_scale(clip, SUBJECT_SCALES[i % 2]) for i, clip in enumerate(clean)])
        return path
    if name in DEEPMIMIC_SETS:
        path = folder / f"{name}.pkl"
        if not path.exists():
            write_clips(path, through_deepmimic(read_clips(clip_set(DEEPMIMIC_SETS[name], folder, per_family, seed)),
                                                folder / name))
        return path
    if name == "midcut":
        path = folder / "midcut.pkl"
        if not path.exists():
            whole = read_clips(clip_set("all", folder, per_family, seed))
            write_clips(path, mid_cuts([clip for clip in whole if not needs_helper(clip)], seed))
        return path
    if name == "capture":
        path = folder / "capture.pkl"
        if not path.exists():
            rng, cut = np.random.default_rng([seed, 901]), read_clips(clip_set("midcut", folder, per_family, seed))
            jittery = [with_reference_noise(clip, rng, **NOISE) for clip in cut]
            write_clips(path, through_deepmimic(jittery, folder / name))
        return path
    if name == "chair8":
        path = folder / "chair8.pkl"
        if not path.exists():
            write_clips(path, chair_variants(read_clips(REPO / "data" / "demo" / "single.pkl"), seed))
        return path
    made_from_seed = {"walkgrid": walk_grid, "cruise": cruise_grid, "long12": long_clips, "longdance8": long_dances,
                      "fastrun12": fast_runs, "fastcruise12": fast_cruises,
                      "runstop12": partial(run_endings, "stop"), "runturn12": partial(run_endings, "turn"),
                      "runwalk12": partial(run_endings, "walk")}
    if name in made_from_seed:
        path = folder / f"{name}.pkl"
        if not path.exists():
            write_clips(path, made_from_seed[name](seed))
        return path
    raise UserInputError(f"unknown clip set '{name}'; the sets are {', '.join(SETS)}")


def through_deepmimic(clips: list[Clip], folder: Path) -> list[Clip]:
    """`clips` written as DeepMimic humanoid3d motion files into `folder` (`deepmimic.write_motion`: one spine joint,
    hinge knees and elbows, no toes, fixed wrists) and read back as `run.py stage=convert source=deepmimic` reads
    capture (floor, subject size, a chair under a person who sits on one the file does not show)."""
    skeleton = get_skeleton("smpl")
    folder.mkdir(parents=True, exist_ok=True)
    for clip in clips:
        deepmimic.write_motion(folder / f"{clip.name}.txt", clip, skeleton)
    converted, skipped = read_source("deepmimic", folder, ReadOptions(skeleton=skeleton), "reading", "read",
                                     place_seats=True)
    if skipped:
        raise UserInputError(f"{folder}: {len(skipped)} written clip(s) could not be read back: {skipped[0]['reason']}")
    order = {clip.name: k for k, clip in enumerate(clips)}
    return sorted(converted, key=lambda clip: order[clip.name])


RUNS_ON = {"walk": {"stop": False}, "jog": {"ending": "on"}, "run": {"ending": "on"}}
"""What a walk, jog or run is asked so that it goes on to the end of the clip (the sets made before runs could stop)."""


def walk_grid(seed: int = SEED) -> list[Clip]:
    """The `walkgrid` clips: a walk from standing at each of `WALK_GRID_SPEEDS` and `WALK_GRID_TURNS`, 8 s, no stop
    (gait style and path from `seed`)."""
    clips = []
    for k, (speed, turn) in enumerate((v, t) for v in WALK_GRID_SPEEDS for t in WALK_GRID_TURNS):
        clip = walk(np.random.default_rng([seed, k]), speed=speed, turn_rate=turn, duration=8.0, stop=False)
        clips.append(dataclasses.replace(clip, name=f"walk_v{speed:.1f}_t{turn}"))
    return clips


def cruise_grid(seed: int = SEED) -> list[Clip]:
    """The `cruise` clips: a straight walk at each of `CRUISE_WALK_SPEEDS` and a run at each of `CRUISE_RUN_SPEEDS`
    (a jog below `RUN_SPEEDS`; gait style from `seed`), cut to `CRUISE_SECONDS` from `CRUISE_DELAY` after the speed is reached, so each starts
    mid-stride at its speed."""
    clips = []
    for k, (gait, speed) in enumerate([("walk", v) for v in CRUISE_WALK_SPEEDS] + [("run", v) for v in CRUISE_RUN_SPEEDS]):
        make = walk if gait == "walk" else jog if speed < RUN_SPEEDS[0] else run
        rng = np.random.default_rng([seed, 100 + k])
        clips.append(under_way(make(rng, speed=speed, turn_rate=0.0, duration=9.0, **RUNS_ON[gait]), f"cruise_{gait}_v{speed:.1f}"))
    return clips


def mid_cuts(clips: list[Clip], seed: int = SEED) -> list[Clip]:
    """The `midcut` clips: each of `clips` cut to `MIDCUT_SECONDS` s from up to `MIDCUT_LEAD` s (drawn from `seed`)
    before the frame where its bodies move fastest on average (forward differences), kept within the clip."""
    rng, skeleton, cut = np.random.default_rng([seed, 900]), get_skeleton("smpl"), []
    for clip in clips:
        positions = body_positions(clip.persons[0], skeleton)  # (T, B, 3)
        speed = np.linalg.norm(np.diff(positions, axis=0), axis=-1).mean(axis=1)
        length = int(round(MIDCUT_SECONDS * clip.fps)) + 1
        first = int(np.argmax(speed)) - int(round(rng.uniform(0.0, MIDCUT_LEAD) * clip.fps))
        first = min(max(first, 0), max(clip.num_frames - length, 0))
        cut.append(cut_clip(clip, slice(first, first + length)))
    return cut


def cut_clip(clip: Clip, frames: slice, name: str | None = None) -> Clip:
    """`clip` with only `frames` of each person (furniture and source kept), renamed `name` if given."""
    persons = [PersonMotion(p.root_pos[frames], p.root_rot[frames], p.joint_rot[frames]) for p in clip.persons]
    return dataclasses.replace(clip, persons=persons, name=clip.name if name is None else name)


def under_way(whole: Clip, name: str) -> Clip:
    """`whole` (a gait from standing) cut to `CRUISE_SECONDS` from `CRUISE_DELAY` after it reaches its speed (its
    `cruise_from`), named `name`: the gait already under way, starting mid-stride."""
    first = int(round((whole.source["params"]["cruise_from"] + CRUISE_DELAY) * whole.fps))
    return cut_clip(whole, slice(first, first + int(round(CRUISE_SECONDS * whole.fps)) + 1), name)


def long_clips(seed: int = SEED) -> list[Clip]:
    """The `long12` clips: `LONG_WALKS` walks without a stop and `LONG_JOGS` jogs (speeds, paths and styles from
    `seed`), as long as much motion capture is, where a small drift from the reference would add up; named
    `long_<walk|jog><k>_v<speed>`."""
    clips = []
    gaits = (("walk", walk, LONG_WALKS, 200), ("jog", jog, LONG_JOGS, 300))
    for gait, make, (count, seconds), first_stream in gaits:
        for k in range(count):
            clip = make(np.random.default_rng([seed, first_stream + k]), duration=seconds, **RUNS_ON[gait])
            clips.append(dataclasses.replace(clip, name=f"long_{gait}{k}_v{clip.source['params']['speed']:.1f}"))
    return clips


def long_dances(seed: int = SEED) -> list[Clip]:
    """The `longdance8` clips: `LONG_DANCES` dances (beats, steps, turns and arms from `seed`), named `long_dance<k>`."""
    count, seconds = LONG_DANCES
    return [dataclasses.replace(dance(np.random.default_rng([seed, 400 + k]), duration=seconds), name=f"long_dance{k}")
            for k in range(count)]


def fast_runs(seed: int = SEED) -> list[Clip]:
    """The `fastrun12` clips: `FAST_RUNS_EACH` runs from standing at each of `FAST_RUN_SPEEDS`, 8 s (paths and styles
    from `seed`), named `fastrun_v<speed>_<k>` (k four digits, so that the speed names the family column)."""
    return [dataclasses.replace(run(np.random.default_rng([seed, 500 + 10 * i + k]), speed=speed, duration=8.0, ending="on"),
                                name=f"fastrun_v{speed:.1f}_{k:04d}")
            for i, speed in enumerate(FAST_RUN_SPEEDS) for k in range(FAST_RUNS_EACH)]


def fast_cruises(seed: int = SEED) -> list[Clip]:
    """The `fastcruise12` clips: `FAST_RUNS_EACH` runs at each of `FAST_RUN_SPEEDS` already under way (`under_way`;
    paths and styles from `seed`, not those of `fast_runs`), named `fastcruise_v<speed>_<k>`."""
    return [under_way(run(np.random.default_rng([seed, 700 + 10 * i + k]), speed=speed, duration=9.0, ending="on"),
                      f"fastcruise_v{speed:.1f}_{k:04d}")
            for i, speed in enumerate(FAST_RUN_SPEEDS) for k in range(FAST_RUNS_EACH)]


def run_endings(ending: str, seed: int = SEED) -> list[Clip]:
    """The `runstop12` (`ending` "stop"), `runturn12` ("turn") or `runwalk12` ("walk") clips: `RUN_ENDS_EACH` runs
    from standing at each of `RUN_END_SPEEDS` (a jog below `RUN_SPEEDS`) that slow down and stop, turn back, or slow
    into a walk, before their end (paths, styles and endings from `seed`), named `run<ending>_v<speed>_<k>`."""
    first_stream = {"stop": 900, "turn": 1100, "walk": 1300}[ending]
    return [dataclasses.replace((jog if speed < RUN_SPEEDS[0] else run)(
        np.random.default_rng([seed, first_stream + 10 * i + k]), speed=speed, ending=ending),
        name=f"run{ending}_v{speed:.1f}_{k:04d}")
        for i, speed in enumerate(RUN_END_SPEEDS) for k in range(RUN_ENDS_EACH)]


def chair_variants(builtin: list[Clip], seed: int = SEED) -> list[Clip]:
    """The `chair8` clips from the built-in single-person clips: their `sit_down_stand_up` (with its chair) mirrored,
    time-warped by each of `CHAIR_SPEEDS`, and with `NOISE` three times (from `seed`)."""
    (sit,) = [clip for clip in builtin if clip.name == "sit_down_stand_up"]
    rng = np.random.default_rng(seed)
    variants = [("chair_mirror", mirror(sit))]
    variants += [(f"chair_x{speed:.2f}", time_warp(sit, speed)) for speed in CHAIR_SPEEDS]
    variants += [(f"chair_noise{k}", with_reference_noise(sit, rng, **NOISE)) for k in range(3)]
    return [dataclasses.replace(clip, name=name) for name, clip in variants]


def family_of(clip: str) -> str:
    """The motion family of a generated clip's name (`<family>_<index>[_mirror][_x<speed>]`), else the name."""
    match = re.match(r"(.+?)_\d{4}(_|$)", clip)
    return match.group(1) if match else clip


def checkpoint_names(checkpoints: list[Path]) -> list[str]:
    """A short name per checkpoint: its file's stem, with its folder where stems repeat."""
    stems = [c.stem for c in checkpoints]
    return [f"{c.parent.name}_{c.stem}" if stems.count(c.stem) > 1 else c.stem for c in checkpoints]


def clips_set_names(paths: list[Path]) -> list[str]:
    """A set name per `--clips` file: its file's stem, with its folder where that stem repeats or is a generated set's
    name (`<set>` or `<set>_s<seed>`), so that no two sets share a result folder or `scores.csv` lines."""
    stems = [path.stem for path in paths]
    generated = re.compile(rf"({'|'.join(map(re.escape, SETS))})(_s\d+)?$")
    return [f"{path.parent.name}_{path.stem}" if stems.count(path.stem) > 1 or generated.fullmatch(path.stem) else path.stem
            for path in paths]


def score(summary: dict, helped: frozenset[str] = frozenset()) -> tuple[dict, dict[str, tuple[int, int]]]:
    """Overall figures and per family (tracked, clips) of one evaluation's summary.json; `alone` is (tracked, clips)
    over the clips not in `helped` (the names of clips whose person needs a helper, `needs_helper`)."""
    per_family: dict[str, list[int]] = {}
    for row in summary["per_clip"]:
        counts = per_family.setdefault(family_of(row["clip"]), [0, 0])
        counts[0] += bool(row["success"])
        counts[1] += 1
    unhelped = [row for row in summary["per_clip"] if row["clip"] not in helped]
    alone = (sum(bool(row["success"]) for row in unhelped), len(unhelped))
    overall = {"success": summary["success_rate"], "success_training_rule": summary["success_rate_training_rule"],
               "mpjpe_tracked_mm": summary.get("mpjpe_tracked_mm"), "clips": summary["clips"], "alone": alone}
    return overall, {family: (t, n) for family, (t, n) in per_family.items()}


def markdown(set_name: str, results: list[tuple[str, dict, dict]]) -> str:
    """One table: a line per checkpoint, columns overall figures and tracked / clips per family."""
    names = list(dict.fromkeys(f for _, _, per_family in results for f in per_family))
    lines = [f"**{set_name}**", "", "| checkpoint | success (0.5 m) | success (training rule) | MPJPE tracked | "
             "tracked without a helper | " + " | ".join(names) + " |", "|---|---|---|---|---|" + "---|" * len(names)]
    for checkpoint, overall, per_family in results:
        mpjpe = "–" if overall["mpjpe_tracked_mm"] is None else f"{overall['mpjpe_tracked_mm']:.0f} mm"
        cells = [f"{per_family[f][0]}/{per_family[f][1]}" if f in per_family else "–" for f in names]
        alone = "{}/{}".format(*overall["alone"])
        lines.append(f"| {checkpoint} | {overall['success']:.3f} | {overall['success_training_rule']:.3f} | {mpjpe} | "
                     f"{alone} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="prior checkpoints (model_<it>.pt, last.pt or exported)")
    parser.add_argument("--sets", nargs="*", default=None,
                        help=f"of {', '.join(SETS)} (default: all of them, or none when --clips is given)")
    parser.add_argument("--clips", nargs="+", type=Path, default=[],
                        help="clips files scored as more sets, each named by its file's stem (e.g. a run's own training "
                             "clips, `python -m motion_lib.families --clips 500 --seed 0 --mix ... --output <file>`)")
    parser.add_argument("--per-family", type=int, default=4, help="clips per family in the `all` set")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "prior_scores")
    parser.add_argument("--seed", type=int, default=SEED,
                        help=f"seed of the generated sets ({SEED}); another seed gives fresh sets (named <set>_s<seed>) "
                             "to report a checkpoint chosen on the default ones")
    args = parser.parse_args()
    if args.sets is None:
        args.sets = [] if args.clips else list(SETS)
    unknown = [s for s in args.sets if s not in SETS]
    if unknown:
        raise UserInputError(f"unknown clip set {', '.join(map(repr, unknown))}; the sets are {', '.join(SETS)}")
    missing = [str(c) for c in args.checkpoints if not c.is_file()]
    if missing:
        raise UserInputError(f"no checkpoint file {', '.join(missing)}")
    missing = [str(c) for c in args.clips if not c.is_file()]
    if missing:
        raise UserInputError(f"no clips file {', '.join(missing)}")
    if args.per_family < 1:
        raise UserInputError(f"--per-family must be a positive integer, got {args.per_family}")
    out = args.out.resolve()
    names = checkpoint_names(args.checkpoints)
    lines, tables = [], []
    sets = []
    for set_name in args.sets:
        fresh = args.seed != SEED and set_name != "builtin"  # the built-in clips are the same for every seed
        clips = clip_set(set_name, out / (f"sets_s{args.seed}" if fresh else "sets"), args.per_family, args.seed)
        sets.append((f"{set_name}_s{args.seed}" if fresh else set_name, clips))
    sets += [(name, path.resolve()) for name, path in zip(clips_set_names(args.clips), args.clips)]
    for set_name, clips in sets:
        helped = frozenset(clip.name for clip in read_clips(clips) if needs_helper(clip))
        results = []
        for name, checkpoint in zip(names, args.checkpoints):
            overall, per_family = score(evaluate(checkpoint.resolve(), clips, out / name / set_name), helped)
            results.append((name, overall, per_family))
            lines += [{"checkpoint": name, "set": set_name, "family": family, "tracked": t, "clips": n}
                      for family, (t, n) in per_family.items()]
            print(f"{name} on {set_name}: success {overall['success']:.3f}", flush=True)
        tables.append(markdown(set_name, results))
    write_scores(out / "scores.csv", lines)
    print("\n" + "\n".join(tables) + f"\nwrote {out / 'scores.csv'}")


SCORE_FIELDS = ["checkpoint", "set", "family", "tracked", "clips"]


def write_scores(path: Path, lines: list[dict]) -> None:
    """Write `lines` (rows of SCORE_FIELDS) into the scores file at `path`, atomically, keeping the lines of earlier
    calls for the checkpoints and sets this one did not score (a call replaces the lines of those it did)."""
    scored = {(line["checkpoint"], line["set"]) for line in lines}
    kept = []
    if path.is_file():
        with open(path, newline="") as handle:
            kept = [row for row in csv.DictReader(handle) if (row["checkpoint"], row["set"]) not in scored]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SCORE_FIELDS)
    writer.writeheader()
    writer.writerows(kept + lines)
    atomic_write_bytes(path, text.getvalue().encode())


if __name__ == "__main__":
    run_main(main)
