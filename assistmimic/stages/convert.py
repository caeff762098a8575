"""`stage=convert source=<format> input=<path> output=<file.pkl>`: any supported format -> one PHC pickle.

Every clip the source offers is loaded and converted on its own; a clip that fails (truncated file,
missing key, NaN frames, ...) is skipped with its reason, the rest is still written. summary.json
lists `clips_written`, `clips_skipped` and each skip's name, file and reason, and `subject_scale`: the clips whose
root travel was rescaled to the skeleton's size (`stage.fit_subject_scale`, `motion_lib.subject_scale`), and
`seats_placed`: the clips that got a chair (or a bed) under a person who sits (or lies) on one the capture does not
show (`stage.place_seats`, `motion_lib.seats.seats_from_motion`), and `treadmill`: the clips captured on a treadmill that
were given the belt's travel (`stage.treadmill_to_ground`, `motion_lib.treadmill`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tqdm import tqdm

from assistmimic.sim.factory import make_skeleton
from assistmimic.stages.common import require_setting
from assistmimic.stages.config import ConvertConfig, RunConfig
from motion_lib.checks import one_line
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats import SOURCES, source_items
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.phc import write_clips
from motion_lib.seats import seats_from_motion


def read_options(stage: ConvertConfig, cfg: RunConfig) -> ReadOptions:
    return ReadOptions(
        skeleton=make_skeleton(cfg.robot), fps=stage.fps, fix_floor=stage.fix_floor,
        fit_subject_scale=stage.fit_subject_scale, treadmill_to_ground=stage.treadmill_to_ground,
        actions=tuple(stage.actions), split=stage.split, supporter=stage.supporter, up=stage.up,
        source_fps=stage.source_fps, loop_seconds=stage.loop_seconds,
    )


def read_source(source: str, input_path: Path, options: ReadOptions, verb: str, done: str,
                place_seats: bool = False) -> tuple[list[Clip], list[dict]]:
    """(clips, skipped) of every clip `source` offers at `input_path`, loaded through its reader (and, with
    `place_seats`, given a chair or a bed under each person who sits or lies on one the capture does not show:
    `seats_from_motion`); a clip that fails is skipped with its name, file and reason (printed). Nothing found, or
    nothing loaded, is one error. `verb` labels the progress bar, `done` the error ("none of the clips could be
    <done>")."""
    items = source_items(source, input_path, options)
    if not items:
        raise UserInputError(f"no clips found for source '{source}' in {input_path} (check the filters: actions, split)")
    clips, skipped = [], []
    for item in tqdm(items, desc=f"{verb} {source}", unit="clip", file=sys.stdout):  # stderr: the error sentence only
        try:
            clip = item.load()
            clips.append(seats_from_motion(clip, options.skeleton) if place_seats else clip)
        except UserInputError as err:
            skipped.append({"name": item.name, "file": str(item.path), "reason": str(err)})
        except Exception as err:  # noqa: BLE001 (a reader bug on one odd file must not lose the other clips)
            reason = f"{item.path}: unexpected {type(err).__name__}: {one_line(err)}"
            skipped.append({"name": item.name, "file": str(item.path), "reason": reason})
    for skip in skipped:
        print(f"skipped {skip['name']}: {skip['reason']}")
    if not clips:
        raise UserInputError(f"none of the {len(items)} clips in {input_path} could be {done}; first reason: {skipped[0]['reason']}")
    return clips, skipped


def subject_scales(clips: list[Clip]) -> dict:
    """What the readers' size fit did (`motion_lib.subject_scale`), printed and for summary.json: the clips whose
    root travel was rescaled, with the size found, and how many were kept as read (fit off, too little travel on
    planted feet, or within 3 % of the skeleton's size)."""
    fits = {clip.name: clip.source["subject_scale"] for clip in clips if "subject_scale" in clip.source}
    rescaled = {name: fit["factor"] for name, fit in fits.items() if fit["applied"]}
    if rescaled:
        sizes = sorted(rescaled.values())
        print(f"rescaled the root travel of {len(rescaled)} clip(s) to the skeleton's size: subjects "
              f"{sizes[0]:.2f}-{sizes[-1]:.2f} times its size (summary.json: subject_scale)")
    return {"rescaled": rescaled, "kept_as_read": len(clips) - len(rescaled)}


def on_treadmill(clips: list[Clip]) -> dict:
    """The clips captured on a treadmill and given the belt's travel (`motion_lib.treadmill`), printed and for
    summary.json: {clip: belt velocity (x, y) m/s}."""
    found = {clip.name: clip.source["treadmill"]["belt_velocity"] for clip in clips
             if clip.source.get("treadmill", {}).get("applied")}
    if found:
        print(f"gave {len(found)} clip(s) captured on a treadmill the belt's travel, so they walk or run over the "
              "ground (summary.json: treadmill)")
    return found


def seats_placed(clips: list[Clip]) -> dict:
    """The chairs and beds `seats_from_motion` put under seated or lying persons, printed and for summary.json:
    {clip: [{person, height_m}, ...]}."""
    placed = {clip.name: clip.source["seats_placed"] for clip in clips if "seats_placed" in clip.source}
    if placed:
        print(f"placed a chair or a bed under {len(placed)} clip(s) whose capture rests on furniture it does not show "
              "(summary.json: seats_placed)")
    return placed


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: ConvertConfig = cfg.stage
    source = require_setting(cfg.source, "source", f"source=interx (one of {', '.join(SOURCES)})")
    input_path = Path(require_setting(cfg.input, "input", "input=/data/Inter-X"))
    output = Path(require_setting(cfg.output, "output", "output=data/helpup.pkl"))
    if output.suffix != ".pkl":
        raise UserInputError(f"output must be a .pkl file (PHC/AssistMimic joblib pickle), got {output}")
    if stage.supporter not in (0, 1):
        raise UserInputError(f"stage.supporter must be 0 or 1, got {stage.supporter}")
    start = time.perf_counter()
    clips, skipped = read_source(source, input_path, read_options(stage, cfg), "convert", "converted",
                                 stage.place_seats)
    write_clips(output, clips)
    print(f"wrote {len(clips)} clip(s) to {output}; skipped {len(skipped)}")
    return {
        "source": source, "input": str(input_path), "output": str(output),
        "clips_written": len(clips), "clips_skipped": len(skipped), "skipped": skipped,
        "persons_per_clip": sorted({len(c.persons) for c in clips}), "subject_scale": subject_scales(clips),
        "seats_placed": seats_placed(clips), "treadmill": on_treadmill(clips),
        "total_duration_s": round(sum(c.duration for c in clips), 3),
        "seconds": round(time.perf_counter() - start, 3),
    }
