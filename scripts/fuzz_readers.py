"""The reader fuzzer of `tests/test_fuzz_readers.py`, run longer: `--variants N` seeded malformed variants
per format, every accepted clip's PHC entries checked (the suite checks a sample), position-only formats
fitted by the full IK (the suite skips its Adam refinement; `--ik initial` does too: the full fit takes
seconds per accepted clip).

    .venv/bin/python scripts/fuzz_readers.py --variants 20000 --ik initial
    .venv/bin/python scripts/fuzz_readers.py --formats phc hhi --seed 7 --variants 5000

Prints one line per format (variants, errors, clips, wrong outcomes, seconds) and the first wrong
outcomes; exits 1 when there is any (a wrong exception type, a message not naming the file or of
several lines, a clip that fails validation or would write non-finite values, a hostile pickle that ran).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from motion_lib.formats import keypoints  # noqa: E402
from tests.fuzz_formats import FUZZERS  # noqa: E402 -- needs the path above
from tests.fuzz_mutations import SUITE_SEED  # noqa: E402
from tests.test_fuzz_readers import fuzz, initial_pose_only  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=10_000, help="malformed variants per format")
    parser.add_argument("--formats", nargs="+", choices=list(FUZZERS), default=list(FUZZERS), help="formats to fuzz")
    parser.add_argument("--seed", type=int, default=SUITE_SEED, help="seed of the variants (the suite uses %(default)s)")
    parser.add_argument("--show", type=int, default=10, help="wrong outcomes printed per format")
    parser.add_argument("--ik", choices=("full", "initial"), default="full",
                        help="position-only formats: the readers' IK fit, or its initial pose alone (as the suite)")
    args = parser.parse_args()
    if args.variants < 1:
        parser.error(f"--variants must be at least 1, got {args.variants}")
    torch.set_num_threads(1)  # small fits run fastest on one thread, as the stages run them
    if args.ik == "initial":
        keypoints.fit_person_to_positions = initial_pose_only
    wrong = 0
    print(f"{'format':<10} {'variants':>8} {'errors':>8} {'clips':>8} {'wrong':>6} {'seconds':>8}")
    for source in args.formats:
        with tempfile.TemporaryDirectory(prefix=f"fuzz_{source}_") as folder:
            report = fuzz(source, args.variants, args.seed, Path(folder), Path(folder) / "hostile_pickle_ran")
        print(f"{source:<10} {report.variants:>8} {report.errors:>8} {report.clips:>8} {len(report.problems):>6} "
              f"{report.seconds:>8.1f}", flush=True)
        for problem in report.problems[: args.show]:
            print(f"    {problem[:400]}")
        wrong += len(report.problems)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
