"""Capture that needs the readers' fixes, converted with them off and on: what a single-person prior tracks of each.

    python benchmarks/capture_fixes.py data/prior/smpl_prior_cpu.pt [--sets chair8 sit8 treadmill8 eval40] \
        [--seed 777] [--out runs/capture_fixes]

- `chair8`, `sit8`: sitting down on a chair and standing up (`prior_scores.py`'s `chair8`; 8 clips of the `sit_stand`
  family): the capture formats hold no furniture, and `stage.place_seats` (`motion_lib/seats.py`) puts the chair
  back under the seated person.
- `treadmill8`: 8 straight walks at 0.8-1.5 m/s from their cruise on, captured as on a treadmill
  (`transforms.on_treadmill`: the person in place, the planted feet carried backwards); `stage.treadmill_to_ground`
  (`motion_lib/treadmill.py`) gives them the belt's travel back. Its "as generated" row is the walks on the ground.
- `eval40` (`prior_scores.py`): nobody sits, nobody is on a treadmill; the fixes should change nothing.

Each set is scored as generated, then written as AMASS files (SMPL poses, z up), converted with `run.py stage=convert
source=amass` with both fixes off and on, and scored with `run.py stage=eval` (PHC's 0.5 m rule; evaluations reused
like `prior_scores.py`'s). Prints one markdown table (success, MPJPE over the tracked clips, clips given a chair,
clips found on a treadmill) and writes `<out>/capture_fixes.csv`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from learning_curve import evaluate, families  # benchmarks/ (this script's folder)
from prior_scores import clip_set
from subject_sizes import convert, report, write_amass_folder
from training_runs import run_main

from motion_lib.families.locomotion import walk
from motion_lib.families.transforms import from_cruise, on_treadmill
from motion_lib.formats.phc import read_clips, write_clips

SETS = ("chair8", "sit8", "treadmill8", "eval40")
FIXES = ("stage.place_seats", "stage.treadmill_to_ground")


def treadmill_walks(folder: Path, seed: int) -> tuple[Path, Path]:
    """(the walks on the ground, the same on a treadmill): 8 straight walks at 0.8-1.5 m/s from their cruise on."""
    ground, belt = folder / "treadmill8_ground.pkl", folder / "treadmill8.pkl"
    if not belt.exists():
        walks = [from_cruise(walk(np.random.default_rng([seed, i]), speed=speed, turn_rate=0.0, duration=8.0,
                                  stop=False)) for i, speed in enumerate(np.linspace(0.8, 1.5, 8))]
        write_clips(ground, walks)
        write_clips(belt, [on_treadmill(clip) for clip in walks])
    return ground, belt


def sets(name: str, folder: Path, seed: int) -> tuple[Path, Path]:
    """(the clips of set `name` as generated, the clips written as capture) from `seed`."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "treadmill8":
        return treadmill_walks(folder, seed)
    clips = families(folder / "sit8.pkl", 8, seed, "sit_stand=1") if name == "sit8" else clip_set(name, folder, 4, seed)
    return clips, clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "capture_fixes")
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        generated, captured = sets(name, args.out / f"sets_s{args.seed}", args.seed)
        results = args.out / f"{name}_s{args.seed}"
        folder = write_amass_folder(captured, 1.0, results / "amass", furnished=True)
        cases = [("as generated", "generated", generated, {})]
        for on in (False, True):
            key = "fixes_on" if on else "fixes_off"
            out = results / key
            out.mkdir(parents=True, exist_ok=True)
            clips, converted = convert(folder, out, *(f"{fix}={str(on).lower()}" for fix in FIXES))
            cases.append((f"AMASS, fixes {'on' if on else 'off'}", key, clips, converted))
        for case, key, clips, converted in cases:
            summary = evaluate(args.checkpoint, clips, results / key / "eval")
            read = read_clips(clips)
            rows.append({"set": name, "clips as": case, "clips": summary["clips"], "success": summary["success_rate"],
                         "mpjpe_tracked_mm": summary["mpjpe_tracked_mm"],
                         "with_a_chair": sum(bool(clip.furniture) for clip in read),
                         "found_on_a_treadmill": len(converted.get("treadmill", {}))})
    report(args.out / "capture_fixes.csv", rows, f"{args.checkpoint}, sets from seed {args.seed}",
           ["set", "clips as", "clips", "success", "MPJPE tracked (mm)", "clips with a chair", "found on a treadmill"],
           lambda r: [r["set"], r["clips as"], r["clips"], f"{r['success']:.3f}",
                      f"{r['mpjpe_tracked_mm'] or float('nan'):.1f}", r["with_a_chair"], r["found_on_a_treadmill"]])

if __name__ == "__main__":
    run_main(main)
