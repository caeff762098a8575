"""Generate the built-in demo clips and write them as PHC/AssistMimic pickles.

    python scripts/make_demo_clips.py [--out data/demo]

Writes `<out>/assist.pkl` (two-person clips: `<name>_caregiver` / `<name>_recipient` keys) and
`<out>/single.pkl` (single-person clips for the motion prior), and prints each clip's statistics.
The clips are deterministic functions of `motion_lib.demo_clips`; running this again gives the same motion.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from motion_lib.clip_stats import clip_stats
from motion_lib.demo_clips import assist_clips, single_clips
from motion_lib.formats.phc import write_clips

FILES = {"assist.pkl": assist_clips, "single.pkl": single_clips}


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{round(value, 3) + 0.0:.3f}"
    if isinstance(value, tuple):
        return "..".join(_format(v) for v in value)
    return str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/demo"), help="output folder (default: data/demo)")
    args = parser.parse_args(argv)
    for file_name, make in FILES.items():
        clips = make()
        for clip in clips:
            stats = asdict(clip_stats(clip))
            print("  ".join(f"{key}={_format(value)}" for key, value in stats.items()))
        path = args.out / file_name
        write_clips(path, clips)
        print(f"wrote {len(clips)} clip(s) to {path}")


if __name__ == "__main__":
    main()
