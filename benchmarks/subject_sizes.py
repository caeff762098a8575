"""Capture of people taller or shorter than the skeleton, with and without the readers' size fit
(`stage.fit_subject_scale`, `motion_lib/subject_scale.py`): what a single-person prior tracks of each.

    python benchmarks/subject_sizes.py data/prior/smpl_prior_cpu.pt [--sizes 0.85 1.15] [--sets eval40 all] \
        [--seed 777] [--out runs/subject_sizes]

For each set (`prior_scores.py`'s held-out sets, furnished clips left out: their furniture would not move with the
travel) and size k, the clips are resized as from a subject k times the skeleton's size once converted the way the
readers convert capture (`with_subject_scale`: rotations copied, root translation kept), written as AMASS files
(SMPL poses, z up), converted with `run.py stage=convert source=amass` twice (size fit on and off) and scored with
`run.py stage=eval` (PHC's 0.5 m rule). Size 1 is the set as generated: the fit should keep it as read. Prints one
markdown table (success, MPJPE over the tracked clips, clips rescaled by the fit and the sizes it found) and writes
`<out>/sizes.csv`.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from learning_curve import PYTHON, evaluate, run  # benchmarks/ (this script's folder)
from prior_scores import clip_set
from training_runs import run_main

from motion_lib.families.transforms import with_subject_scale
from motion_lib.formats.common import smpl_pose_from_person
from motion_lib.formats.phc import read_clips
from motion_lib.skeleton import get_skeleton


def write_amass_folder(clips_file: Path, size: float, folder: Path, furnished: bool = False) -> Path:
    """Every clip of `clips_file` (furnished ones too if `furnished`: their furniture is lost, as AMASS holds none),
    resized by `size`, as one AMASS npz each in `folder` (written once)."""
    if folder.exists():
        return folder
    folder.mkdir(parents=True)
    for clip in read_clips(clips_file):
        if clip.furniture and not furnished:
            continue
        resized = with_subject_scale(clip, size) if size != 1.0 else clip
        pose, trans = smpl_pose_from_person(resized.persons[0], get_skeleton(clip.skeleton), "smpl")
        np.savez(folder / f"{clip.name}.npz", poses=pose.reshape(len(pose), -1), trans=trans, betas=np.zeros(10),
                 gender=np.array("neutral"), mocap_framerate=np.array(clip.fps))
    return folder


def convert(folder: Path, out: Path, *overrides: str) -> tuple[Path, dict]:
    """`stage=convert source=amass` of `folder` with the `overrides`: (clips file, summary)."""
    clips, run_dir = out / "clips.pkl", out / "convert"
    if not clips.exists():
        run([PYTHON, "run.py", "stage=convert", "source=amass", f"input={folder}", f"output={clips}",
             f"run_dir={run_dir}", *overrides], stdout=subprocess.DEVNULL)
    return clips, json.loads((run_dir / "summary.json").read_text())


def report(path: Path, rows: list[dict], title: str, header: list[str], cells: Callable[[dict], list]) -> None:
    """Write `rows` to the CSV file `path` and print them as one markdown table under `title`: columns `header`,
    each row's cells from `cells`."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in cells(row)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.85, 1.0, 1.15])
    parser.add_argument("--sets", nargs="+", default=["eval40"], choices=["eval40", "all"])
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--per-family", type=int, default=4)
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "subject_sizes")
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        clips_file = clip_set(name, args.out / f"sets_s{args.seed}", args.per_family, args.seed)
        for size in args.sizes:
            folder = write_amass_folder(clips_file, size, args.out / f"{name}_x{size:g}" / "amass")
            for fit in (False, True):
                out = args.out / f"{name}_x{size:g}" / ("fit" if fit else "as_read")
                out.mkdir(parents=True, exist_ok=True)
                clips, converted = convert(folder, out, f"stage.fit_subject_scale={str(fit).lower()}")
                scales = converted["subject_scale"]
                summary = evaluate(args.checkpoint, clips, out / "eval")
                found = sorted(scales["rescaled"].values())
                rows.append({"set": name, "size": size, "fit": fit, "clips": summary["clips"],
                             "success": summary["success_rate"], "mpjpe_tracked_mm": summary["mpjpe_tracked_mm"],
                             "rescaled": len(found), "sizes_found": f"{found[0]:.3f}-{found[-1]:.3f}" if found else ""})
    report(args.out / "sizes.csv", rows, f"{args.checkpoint}, sets from seed {args.seed}",
           ["set", "subject size", "size fit", "clips", "success", "MPJPE tracked (mm)", "rescaled", "sizes found"],
           lambda r: [r["set"], f"{r['size']:g}", "on" if r["fit"] else "off", r["clips"], f"{r['success']:.3f}",
                      f"{r['mpjpe_tracked_mm'] or float('nan'):.1f}", r["rescaled"], r["sizes_found"]])

if __name__ == "__main__":
    run_main(main)
