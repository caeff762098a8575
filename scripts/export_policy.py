"""Keep only the policies of a training checkpoint (for shipping a prior or an expert):
`python scripts/export_policy.py <last.pt> <out.pt> [--data <clips file the export names>]`."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistmimic.rl.checkpoint import export_policies
from motion_lib.errors import UserInputError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--data", help="the clips file the exported metadata names (eval and render use it without "
                                       "data=), e.g. data/demo/single.pkl for a prior trained on generated clips")
    args = parser.parse_args()
    try:
        exported = export_policies(args.checkpoint, args.output, args.data)
    except UserInputError as err:
        sys.exit(f"error: {err}")
    size_mb = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size_mb:.1f} MB): {len(exported['policies'])} policy(ies) "
          f"from iteration {exported.get('iteration')}")


if __name__ == "__main__":
    main()
