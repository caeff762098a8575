"""Capture of people sitting on chairs it does not show, with and without the readers' seat placement
(`stage.place_seats`, `motion_lib/seats.py`): what a single-person prior tracks of each.

    python benchmarks/seats.py data/prior/smpl_prior_cpu.pt [--sets chair8 sit8 eval40] [--seed 777] \
        [--out runs/seats]

Each set (`prior_scores.py`'s `chair8` and `eval40`; `sit8`: 8 clips of the `sit_stand` family, seats 0.35-0.55 m)
is scored as generated (with the chairs the generator put under the seated person), then written as AMASS files
(SMPL poses, z up: the format holds no furniture), converted with `run.py stage=convert source=amass` with
`stage.place_seats` off and on, and scored with `run.py stage=eval` (PHC's 0.5 m rule). `eval40` (no one sits) shows
that placement adds no chair where none is needed. Prints one markdown table (success, MPJPE over the tracked clips,
clips given a chair, the seat heights against the generator's) and writes `<out>/seats.csv`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from learning_curve import evaluate, families  # benchmarks/ (this script's folder)
from prior_scores import clip_set
from subject_sizes import convert, write_amass_folder
from training_runs import run_main

from motion_lib.formats.phc import read_clips


def sets(name: str, folder: Path, seed: int) -> Path:
    """The clips file of set `name` (from `seed`)."""
    if name == "sit8":
        return families(folder / "sit8.pkl", 8, seed, "sit_stand=1")
    return clip_set(name, folder, 4, seed)


def seat_heights(clips: Path) -> list[float]:
    """Every chair's seat height (m) in `clips`, sorted."""
    return sorted(item.size[2] for clip in read_clips(clips) for item in clip.furniture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--sets", nargs="+", default=["chair8", "sit8", "eval40"], choices=["chair8", "sit8", "eval40"])
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "seats")
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        generated = sets(name, args.out / f"sets_s{args.seed}", args.seed)
        folder = write_amass_folder(generated, 1.0, args.out / name / "amass", furnished=True)
        cases = [("as generated", "generated", generated, None)]
        for place in (False, True):
            key = "seats" if place else "no_seats"
            out = args.out / name / key
            out.mkdir(parents=True, exist_ok=True)
            clips, converted = convert(folder, out, f"stage.place_seats={str(place).lower()}")
            cases.append((f"AMASS, place_seats={str(place).lower()}", key, clips, converted["seats_placed"]))
        for case, key, clips, placed in cases:
            summary = evaluate(args.checkpoint, clips, args.out / name / key / "eval")
            heights = seat_heights(clips)
            rows.append({"set": name, "clips as": case, "clips": summary["clips"], "success": summary["success_rate"],
                         "mpjpe_tracked_mm": summary["mpjpe_tracked_mm"],
                         "chairs": len(heights) if placed is None else len(placed),
                         "seat_heights_m": f"{heights[0]:.3f}-{heights[-1]:.3f}" if heights else ""})
    with open(args.out / "seats.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{args.checkpoint}, sets from seed {args.seed}\n")
    print("| set | clips as | clips | success | MPJPE tracked (mm) | clips with a chair | seat heights (m) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['set']} | {r['clips as']} | {r['clips']} | {r['success']:.3f} | {r['mpjpe_tracked_mm'] or float('nan'):.1f} | "
              f"{r['chairs']} | {r['seat_heights_m']} |")


if __name__ == "__main__":
    run_main(main)
