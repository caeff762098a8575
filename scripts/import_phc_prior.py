"""Turn a PHC / rl_games checkpoint into a prior file `stage=expert stage.prior=<out.pt>` starts from:
`python scripts/import_phc_prior.py <phc.pth> <out.pt> [--robot smpl]`. PHC policies output absolute PD
targets, so train the experts with `stage.env.residual_actions=false`."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from motion_lib.errors import UserInputError, exit_with
from phc_prior.rl_games_import import import_prior


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--robot", default="smpl", help="the robot config the policy drives (smpl or smplx)")
    args = parser.parse_args()
    try:
        state = import_prior(args.checkpoint, args.output, args.robot)
    except UserInputError as err:
        exit_with(err)
    policy = state["policies"][0]["spec"]
    print(f"wrote {args.output}: {sum(policy['obs_dims'])} observations -> {policy['action_dim']} actions; "
          "train experts from it with stage.env.residual_actions=false")


if __name__ == "__main__":
    main()
