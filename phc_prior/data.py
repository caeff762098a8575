"""The prior's training motion made by the project's own code: a set of motion-family clips
(`motion_lib.families`), generated in memory at the start of a run (about 0.1 s per clip on one core)."""

from __future__ import annotations

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.families.registry import make_clips, parse_mix


def generated_clips(count: int, seed: int, mix: str | None, robot: str,
                    subject_scale_share: float = 0.0, workers: int = 1) -> tuple[str, list[Clip]]:
    """`count` clips of the families `mix` (None: every family's default weight) from `seed`, `subject_scale_share`
    of them as from subjects of other sizes (`make_clips`, in `workers` processes), and a line naming them (what a
    checkpoint records as its data)."""
    if robot != "smpl":
        raise UserInputError(f"the motion families are made for the smpl skeleton, not {robot}; give data=<clips>")
    clips = make_clips(count, seed, parse_mix(mix), subject_scale_share=subject_scale_share, workers=workers)
    scaled = f", {subject_scale_share:g} of them resized" if subject_scale_share else ""
    return f"motion families ({count} clips, seed {seed}, mix {mix or 'default'}{scaled})", clips
