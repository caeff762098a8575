"""`stage=inspect data=<file.pkl>`: per-clip length, fps, heights, person distance and hand contact.

Prints a table, writes it as `clips.csv` and into summary.json; with `stage.png_frame` (and optionally
`stage.png_clip`) it also draws that frame as a PNG in the run folder.
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path

from assistmimic.stages.common import require_setting
from assistmimic.stages.config import InspectConfig, RunConfig
from motion_lib.clip_stats import clip_stats
from motion_lib.draw import draw_frame
from motion_lib.errors import UserInputError
from motion_lib.formats.phc import read_clips

COLUMNS = ("name", "persons", "frames", "fps", "duration_s", "root_height_m", "min_person_gap_m",
           "hand_contact_frames", "first_hand_contact_s")


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "..".join(_cell(v) for v in value)
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: InspectConfig = cfg.stage
    data = Path(require_setting(cfg.data, "data", "data=data/demo/assist.pkl"))
    clips = read_clips(data, cfg.robot.name, fps=None)
    stats = [clip_stats(clip) for clip in clips]
    rows = [{k: _cell(getattr(s, k)) for k in COLUMNS} for s in stats]
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in COLUMNS}
    print("  ".join(k.ljust(widths[k]) for k in COLUMNS))
    for row in rows:
        print("  ".join(row[k].ljust(widths[k]) for k in COLUMNS))
    with open(run_dir / "clips.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    summary = {"data": str(data), "clips": len(clips), "per_clip": [asdict(s) for s in stats]}
    if stage.png_clip is not None or stage.png_frame is not None:
        names = [c.name for c in clips]
        if stage.png_clip is not None and stage.png_clip not in names:
            raise UserInputError(f"stage.png_clip '{stage.png_clip}' is not in {data}; clips: {', '.join(names[:10])}")
        clip = clips[names.index(stage.png_clip) if stage.png_clip is not None else 0]
        frame = stage.png_frame or 0
        summary["png"] = str(draw_frame(clip, frame, run_dir / f"{clip.name}_frame{frame}.png"))
        print(f"picture: {summary['png']}")
    return summary
