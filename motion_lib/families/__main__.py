"""Write a data set of generated single-person clips as a PHC/AssistMimic pickle.

    python -m motion_lib.families --clips 400 --seed 0 --output data/families/prior_train.pkl
    python -m motion_lib.families --clips 50 --mix walk=3,run=1 --output /tmp/walk_run.pkl
    python -m motion_lib.families --list

The same arguments give the same clips (each clip is drawn with its own generator (seed, index)).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from motion_lib.errors import UserInputError
from motion_lib.families.registry import FAMILIES, family_counts, make_clips, parse_mix
from motion_lib.formats.phc import write_clips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motion_lib.families", description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=400, help="number of clips (default 400)")
    parser.add_argument("--seed", type=int, default=0, help="data set seed (default 0)")
    parser.add_argument("--output", type=Path, default=Path("data/families/prior_train.pkl"), help="pickle to write")
    parser.add_argument("--mix", default=None, help="family weights, e.g. walk=3,run=1 (only the families named); "
                                                    "default: every family with its default weight (--list)")
    parser.add_argument("--mirror", type=float, default=0.5, help="share of clips mirrored left-right (default 0.5)")
    parser.add_argument("--warp", type=float, default=0.5, help="share of clips time-warped 0.8-1.25x (default 0.5)")
    parser.add_argument("--subject-scale", type=float, default=0.0,
                        help="share of clips (without furniture) converted as from a subject 0.88-1.14x the skeleton's "
                             "size: feet slide as in real capture of other people (default 0)")
    parser.add_argument("--workers", type=int, default=1, help="processes making the clips (the same clips however "
                                                                 "many; default 1)")
    parser.add_argument("--list", action="store_true", help="list the families and their default weights, then exit")
    args = parser.parse_args(argv)
    try:
        if args.list:
            for name, family in FAMILIES.items():
                print(f"{name:16s} {family.weight:4.1f}  {family.summary}")
            return 0
        if args.clips < 1:
            raise UserInputError(f"--clips must be at least 1, got {args.clips}")
        if args.workers < 1:
            raise UserInputError(f"--workers must be at least 1, got {args.workers}")
        for flag, share in (("--mirror", args.mirror), ("--warp", args.warp), ("--subject-scale", args.subject_scale)):
            if not 0.0 <= share <= 1.0:
                raise UserInputError(f"{flag} is a share of the clips, between 0 and 1; got {share}")
        mix = parse_mix(args.mix)
        print("clips per family:", ", ".join(f"{n} {c}" for n, c in family_counts(args.clips, mix).items()))
        start = time.perf_counter()
        clips = make_clips(args.clips, args.seed, mix, args.mirror, args.warp, subject_scale_share=args.subject_scale,
                           progress=lambda i, c: print(f"\r{i + 1}/{args.clips} {c.name:32s}", end="", flush=True),
                           workers=args.workers)
        seconds = time.perf_counter() - start
        write_clips(args.output, clips)
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    frames = sum(c.num_frames for c in clips)
    kinds = Counter(c.source["family"] for c in clips)
    print(f"\nwrote {len(clips)} clips ({frames / 30.0 / 60.0:.1f} min of motion, {len(kinds)} families) to {args.output} "
          f"in {seconds:.1f} s ({args.output.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
