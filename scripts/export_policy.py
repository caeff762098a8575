"""Keep only the policies of a training checkpoint (for shipping a prior or an expert):
`python scripts/export_policy.py <last.pt> <out.pt> [--data <clips file the export names>]`; several checkpoints of
one run, or of runs continued from one checkpoint (`... <model_a.pt> <model_b.pt> ... <out.pt>`): their policies
averaged, a file given twice counting twice (an exported average is itself a checkpoint that can be averaged again);
`--resumable` keeps the last checkpoint's training state too, to continue a run from the average
(`run.py stage=prior run_dir=<output's folder> stage.resume=true ...`); `--state-from <model_<it>.pt>` takes the
training state and iteration from that runner's checkpoint instead, to continue by PPO from policies that have none
(a DAgger student such as the shipped prior: `... data/prior/smpl_prior_cpu.pt runs/x/model_16000.pt --state-from
data/prior/broad_jump_run/model_16000.pt`)."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistmimic.rl.checkpoint import export_policies
from motion_lib.errors import UserInputError, exit_with


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoints", type=Path, nargs="+",
                        help="one checkpoint, or several to average (of one run or of runs from one checkpoint)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--data", help="the clips file the exported metadata names (eval and render use it without "
                                       "data=), e.g. data/demo/single.pkl for a prior trained on generated clips")
    parser.add_argument("--resumable", action="store_true",
                        help="keep the last checkpoint's optimiser, random state and clip failure rates (a runner's "
                             "checkpoint, given last): a run resumes from the averaged policies at its iteration")
    parser.add_argument("--state-from", type=Path,
                        help="a runner's checkpoint whose training state and iteration go with the policies "
                             "(resumable)")
    args = parser.parse_args()
    try:
        exported = export_policies(args.checkpoints, args.output, args.data, args.resumable, args.state_from)
    except UserInputError as err:
        exit_with(err)
    size_mb = args.output.stat().st_size / 1e6
    averaged = exported["metadata"].get("averaged_iterations")
    source = f"averaged over iterations {averaged}" if averaged else f"from iteration {exported.get('iteration')}"
    print(f"wrote {args.output} ({size_mb:.1f} MB): {len(exported['policies'])} policy(ies) {source}")


if __name__ == "__main__":
    main()
