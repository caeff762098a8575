"""Learning per CPU-minute of the single-person prior: train each recipe for the same wall-clock budget on this
machine (one after the other, each alone on the cores), score every saved checkpoint on one fixed clip set, and
print success rate (PHC's 0.5 m rule and the training's termination rule) and MPJPE against CPU-minutes.

    python benchmarks/learning_curve.py --minutes 15 --recipes legacy assistmimic --out runs/learning_curve

Recipes (`RECIPES`): `legacy` is the prior's recipe before REFERENCE §1b was followed (PHC's paper termination
"any body 0.25 m off", kernels summing over x, y, z, power penalty from the first step, lr 1e-4 constant, AMP, the
three built-in clips); `assistmimic` is today's (`configs/stage/prior.yaml`: AssistMimic's termination, kernels
and power grace, adaptive-KL PPO, the motion families); `assistmimic_2epochs` is today's with 2 PPO epochs,
`feedforward_2epochs` that with `env.velocity_feedforward`, `phc_power_2epochs` it with PHC's power penalty
(0.0005; the prior's is 0.0001). All use the continuous hinge angles (that is code, not
config). The evaluation clips are motion-family clips from a seed no recipe trains on, plus the built-in `stand`
and `step`. CPU-minutes = wall-clock minutes x the cores the run had (`os.cpu_count()`).
Writes `<out>/<recipe>/` (each a training run), `<out>/curve.csv` and prints a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
EVAL_FAMILIES = "walk=3,walk_stop_start=1,side_step=1,back_step=1,run=1,stand=1,arm_poses=1,bend=1,squat=1,crouch_reach=1"
"""The evaluation clips' family mix (no furniture: every stage then tracks them in the open scene)."""

LEGACY = [
    "data=data/demo/single.pkl",
    "~stage.env.terminations.mean_body_far", "+stage.env.terminations.any_body_far={distance: 0.25}",
    *(f"stage.env.rewards.{term}.params.average_xyz=false" for term in ("body_pos", "body_lin_vel", "body_ang_vel")),
    "stage.env.rewards.power.params.grace_steps=0", "stage.env.rewards.power.weight=-0.0005",
    "num_envs=64", "stage.ppo.minibatch_size=512", "stage.ppo.learning_rate=1e-4", "stage.ppo.lr_schedule=constant",
    "stage.policy.actor_hidden=[256,256]", "stage.policy.critic_hidden=[256,256]",
    "stage.runner.amp_enabled=true", "stage.runner.task_reward_weight=0.5", "stage.runner.amp_reward_weight=0.5",
]
RECIPES = {"legacy": LEGACY, "assistmimic": ["data={families}"],
           "assistmimic_2epochs": ["data={families}", "stage.ppo.num_epochs=2"],
           "feedforward_2epochs": ["data={families}", "stage.ppo.num_epochs=2", "stage.env.velocity_feedforward=true"],
           "phc_power_2epochs": ["data={families}", "stage.ppo.num_epochs=2", "stage.env.rewards.power.weight=-0.0005"],
           "valuenorm_2epochs": ["data={families}", "stage.ppo.num_epochs=2", "stage.ppo.normalize_value=true",
                                 "stage.ppo.max_grad_norm=50"]}
"""Overrides of `stage=prior` per recipe; `{families}` is the training families' pickle. `assistmimic_2epochs`:
today's recipe with 2 PPO epochs per update instead of 5 (the adaptive learning rate then rises to keep the KL);
`feedforward_2epochs`: that with PD targets leading the reference by kd/kp times its joint speeds
(`env.velocity_feedforward`); `phc_power_2epochs`: `assistmimic_2epochs` with PHC's power penalty (0.0005 instead of
the prior's 0.0001); `valuenorm_2epochs`: `assistmimic_2epochs` with rl_games' value normalisation and PHC's gradient
clipping at 50 (`ppo.normalize_value`, `ppo.max_grad_norm`)."""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, check=True, text=True, **kwargs)


def families(path: Path, clips: int, seed: int, mix: str | None) -> Path:
    """Write (once) a data set of generated clips."""
    if not path.exists():
        run([PYTHON, "-m", "motion_lib.families", "--clips", str(clips), "--seed", str(seed), "--output", str(path),
             *(["--mix", mix] if mix else [])], stdout=subprocess.DEVNULL)
    return path


def train(recipe: str, overrides: list[str], run_dir: Path, minutes: float, save_every: int) -> None:
    """`stage=prior` with `overrides` for `minutes` of wall-clock time, then SIGTERM (it saves the last iteration). Not
    SIGINT: a process started from a background job of a non-interactive shell (`nohup ... &`) inherits SIGINT ignored,
    so Python installs no handler for it and run.py would see it only inside its deferred-interrupt blocks."""
    if (run_dir / "curve_done").exists():
        return
    command = [PYTHON, "run.py", "stage=prior", f"run_dir={run_dir}", "max_iterations=100000",
               f"stage.runner.save_interval={save_every}", *overrides]
    with open(run_dir.parent / f"{recipe}.log", "w") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            process.wait()
    (run_dir / "curve_done").write_text("")


def checkpoint_minutes(run_dir: Path) -> dict[int, float]:
    """Iteration -> wall-clock minutes of training up to its end, from the run's metrics."""
    total, minutes = 0.0, {}
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        row = json.loads(line)
        total += row.get("perf/iteration_s", 0.0)
        minutes[int(row["iteration"])] = total / 60
    return minutes


SCORED = "scored_files.json"
"""What an evaluation folder was scored from (`scored_files`), written beside its summary.json."""


def scored_files(checkpoint: Path, clips: Path) -> dict:
    """The checkpoint and clips files an evaluation reads, each by resolved path, size and modification time: a
    folder's summary is reused only for the same files, unchanged (not for another run's `model_9013.pt`, a `last.pt`
    saved since, or a clip set generated again)."""
    files = {}
    for role, path in (("checkpoint", checkpoint), ("clips", clips)):
        stat = path.stat()
        files[role] = {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return files


def evaluate(checkpoint: Path, clips: Path, out: Path) -> dict:
    """`stage=eval` of one checkpoint on the evaluation clips, in `out`; the summary found there is reused when it
    was scored from these same files (`scored_files`)."""
    files = scored_files(checkpoint, clips)
    stamp = out / SCORED
    if not ((out / "summary.json").exists() and stamp.exists() and json.loads(stamp.read_text()) == files):
        run([PYTHON, "run.py", "stage=eval", f"checkpoint={checkpoint}", f"data={clips}", f"run_dir={out}",
             "num_envs=64"], stdout=subprocess.DEVNULL)
        stamp.write_text(json.dumps(files, indent=1))
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0, help="wall-clock training budget per recipe")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "learning_curve")
    parser.add_argument("--save-every", type=int, default=10, help="iterations between scored checkpoints")
    parser.add_argument("--train-clips", type=int, default=300)
    parser.add_argument("--eval-clips", type=int, default=40)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train_set = families(args.out / "train_families.pkl", args.train_clips, 0, EVAL_FAMILIES)
    eval_set = families(args.out / "eval_families.pkl", args.eval_clips, 12345, EVAL_FAMILIES)
    cores = os.cpu_count() or 1
    rows = []
    for recipe in args.recipes:
        run_dir = args.out / recipe
        run_dir.mkdir(exist_ok=True)
        start = time.time()
        train(recipe, [o.replace("{families}", str(train_set)) for o in RECIPES[recipe]], run_dir, args.minutes,
              args.save_every)
        print(f"{recipe}: trained {(time.time() - start) / 60:.1f} min", flush=True)
        minutes = checkpoint_minutes(run_dir)
        for checkpoint in sorted(run_dir.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1])):
            iteration = int(checkpoint.stem.split("_")[1])
            summary = evaluate(checkpoint, eval_set, args.out / "eval" / recipe / checkpoint.stem)
            rows.append({"recipe": recipe, "iteration": iteration, "cpu_minutes": round(minutes[iteration] * cores, 1),
                         "success_rate": summary["success_rate"],
                         "success_rate_training_rule": summary["success_rate_training_rule"],
                         "mpjpe_mm": round(summary["mpjpe_mm"], 1)})
            print(" | ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    with open(args.out / "curve.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out / 'curve.csv'}")


if __name__ == "__main__":
    main()
