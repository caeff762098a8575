"""Is a prior's failure on a clip one of balance, or one of the reference? Track each clip three ways and print when
the body falls in each (PHC's rule: mean body position error over 0.5 m).

    python benchmarks/held_pelvis.py <prior> [--data clips.pkl] [--clips name ...]
    python benchmarks/held_pelvis.py <prior> --family kneel [--count 8] [--seed 500]

- `alone`: as `run.py stage=eval` scores it;
- `position held`: the pelvis pulled towards the reference's position by the root assist (the training aid
  `env.root_assist`: `KP` N/m, `KD` N·s/m, never decaying);
- `pose held`: turned towards the reference's orientation too (`KP_ROT` N·m/rad, `KD_ROT` N·m·s/rad).

A clip tracked with its pose held but not alone fails on balance the policy has not learnt. One that fails even with
its pose held asks for something the body cannot do there (a foot stuck under its load, a joint past its range), which
a change of the reference can cure (`benchmarks/RESULTS.md`, twenty-first session: the kneel's back foot). Clips come
from a single-person clips file (`--data`, default the built-in ones; `--clips` picks some) or are generated
(`--family`: `--count` clips from seeds `--seed`, `--seed` + 1, ...). One world per clip, on the CPU backend unless
`--set sim=warp`; deterministic.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training_runs import run_main, stage_config  # benchmarks/ (this script's folder)

from assistmimic.envs.config import RootAssistConfig
from assistmimic.evaluation import check_policies, checkpoint_task, evaluate_clips, policies_from_checkpoint, tracking_eval_env
from assistmimic.stages.common import load_clips
from assistmimic.stages.scoring import eval_world
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.families.registry import FAMILIES, make_clip

KP, KD, KP_ROT, KD_ROT = 3000.0, 300.0, 300.0, 15.0
"""The holding gains: strong enough that a body held by them does not fall over (RESULTS, eleventh session)."""
FAILURE_DISTANCE = 0.5
WAYS = {"alone": None,
        "position held": RootAssistConfig(agents=[0], kp=KP, kd=KD, decay_start=10**9),
        "pose held": RootAssistConfig(agents=[0], kp=KP, kd=KD, kp_rot=KP_ROT, kd_rot=KD_ROT, decay_start=10**9)}


def generated(family: str, count: int, seed: int) -> list[Clip]:
    """`count` clips of `family`, from seeds `seed`, `seed` + 1, ..."""
    if family not in FAMILIES:
        raise UserInputError(f"unknown motion family '{family}'; known: {', '.join(FAMILIES)}")
    if count < 1:
        raise UserInputError(f"--count must be a positive integer, got {count}")
    return [make_clip(family, np.random.default_rng(seed + k)) for k in range(count)]


def chosen(clips: list[Clip], names: list[str], data: Path) -> list[Clip]:
    """The `clips` named in `names` (all of them when `names` is empty)."""
    unknown = sorted(set(names) - {clip.name for clip in clips})
    if unknown:
        raise UserInputError(f"{data} has no clip {', '.join(unknown)}")
    return [clip for clip in clips if not names or clip.name in names]


def outcome(row: dict) -> str:
    """"tracked (41 mm)" or "falls at 2.5 s" for one clip's row of `evaluate_clips`."""
    return f"tracked ({row['mpjpe_mm']:.0f} mm)" if row["success"] else f"falls at {row['failed_at_s']:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a single-person prior (model_<it>.pt, last.pt or exported)")
    parser.add_argument("--data", help="single-person clips file (default: the built-in clips)")
    parser.add_argument("--clips", nargs="*", default=[], help="names of the clips of --data to track")
    parser.add_argument("--family", help="generate the clips from this motion family instead")
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=500)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="run.py overrides (e.g. sim=warp)")
    args = parser.parse_args()
    if not args.checkpoint.is_file():
        raise UserInputError(f"no checkpoint file {args.checkpoint}")
    cfg = stage_config(["stage=eval", *args.set])
    if args.family:
        clips = generated(args.family, args.count, args.seed)
    else:
        data, clips = load_clips(args.data, cfg.stage.default_data, cfg.robot.name, persons=1)
        clips = chosen(clips, args.clips, data)
    policies, metadata = policies_from_checkpoint(args.checkpoint)
    if checkpoint_task(args.checkpoint, policies, metadata) != "tracking":
        raise UserInputError(f"{args.checkpoint} is not a single-person prior (it has {len(policies)} policies)")
    results = {}
    for way, assist in WAYS.items():
        env = tracking_eval_env(eval_world(cfg), metadata, clips, len(clips), assist)
        check_policies(args.checkpoint, policies, env, "tracking")
        results[way] = evaluate_clips(env, [p.to(env.device) for p in policies], list(range(len(clips))),
                                      FAILURE_DISTANCE)
        env.close()
    print("| clip | " + " | ".join(WAYS) + " |\n|---|" + "---|" * len(WAYS))
    for k, clip in enumerate(clips):
        print(f"| {clip.name} | " + " | ".join(outcome(results[way][k]) for way in WAYS) + " |")
    print(" | ".join(f"{way}: {sum(r['success'] for r in rows)}/{len(rows)} tracked" for way, rows in results.items()))


if __name__ == "__main__":
    run_main(main)
