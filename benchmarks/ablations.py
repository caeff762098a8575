"""The ablation table of the AssistMimic paper on the built-in demo clips: each row switches one part off (README,
"Ablations of the paper"), each cell is one `run.py stage=expert` training run of one clip and one seed, launched
one after another (each alone on the cores); the expert stage scores its trained expert itself (`summary.json`,
`eval/eval_clips.csv` in the cell's run_dir).

    python benchmarks/ablations.py [--iterations 200] [--seeds 0 1 2] [--rows full no_grip] [--clips help_up_from_floor]
        [--out benchmarks/ablations] [--set stage.num_envs=64 ...] [--finished-only]

Cells run in `<out>/<row>/<clip>/seed<s>`; one whose run_dir holds a finished run's summary.json is reused, not rerun (an
interrupted cell is trained again from its start; `--finished-only` trains nothing and tables the finished cells, so a
sweep can span sessions). `--set key=value ...` is passed to every run; where it names
a row's own key, the row's switch wins. A cell keeps the overrides it was trained with (`ablation_overrides`, one per
line; in ablations.csv too): a finished cell trained with other overrides (another `--iterations` or `--set`) ends the
sweep with one sentence instead of being reused for a recipe it did not run (only the command line's overrides are
recorded, and the prior: a finished cell that started from another prior file than this sweep's (by content, the
expert's `prior_sha256`) ends the sweep too, and so does one trained on another version of its clip (the expert's
`clips_digest` against the clip the sweep would train on now: regenerated demo clips are not mixed with cells of
the old ones); cells from before these were recorded are reused, and the table counts them as prior "unknown").
Per cell, from the trained expert's evaluation: success by AssistMimic's training rule (`success_rate_training_rule`:
no termination rule fired before the clip's last frame) and by the 0.5 m rule (`success_rate`), both tracked from the
clip's first frame; MPJPE; the recipient's pelvis lift; the
mean vertical support force of the hands and of the whole body (a cell scored before the evaluation reported the
latter is scored again from its checkpoint, `trained_evaluation`); and the time to failure: `eval/eval_clips.csv`'s
`failed_at_s` (the evaluation's first failure), or the clip's length, (`frames` - 1) / 30 s, where it did not fail
(the stages read clips at 30 fps). CPU-minutes = wall clock of the cell's run.py x `os.cpu_count()`, kept in
`<run_dir>/ablation_wall_s`.
Writes `<out>/ablations.csv` (one line per cell) and `<out>/ablations.md` (mean ± sample std over seeds per row
and clip, and the CPU-minutes per row), and prints the markdown.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from hydra.errors import HydraException

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from learning_curve import PYTHON, run  # benchmarks/ (this script's folder)
from training_runs import run_main, stage_config

from assistmimic.evaluation import SUPPORT_FORCES
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import RunConfig
from assistmimic.stages.expert import prior_digest, select_clips
from motion_lib.errors import UserInputError
from motion_lib.motion_library import clips_digest

ROWS = {
    "full": [],
    "no_prior_init": ["stage.prior=null"],
    "no_contact_reward": ["stage.env.contact_facilitation=false"],
    "no_redirection": ["stage.env.redirection=false"],
    "sequential_training": ["stage.runner.sequential_period={period}"],
    "no_grip": ["scene.grip.agents=[]"],
}
"""Overrides of `stage=expert` per row; `{period}` is the sequential period, max(1, iterations // 6), so that both
agents get turns at a small budget."""
CLIPS = ("help_up_from_floor", "support_rise_from_chair")
CLIP_FPS = 30
WALL_FILE = "ablation_wall_s"
OVERRIDES_FILE = "ablation_overrides"
COLUMNS = ("row", "clip", "seed", "success_training_rule", "success", "time_to_failure_s", "mpjpe_mm",
           "recipient_lift_m", *SUPPORT_FORCES, "iterations", "wall_s", "prior_sha256", "overrides", "run_dir")
TABLE = (("success_training_rule", "success (training rule)"), ("success", "success (0.5 m)"),
         ("time_to_failure_s", "time to failure (s)"), ("recipient_lift_m", "recipient lift (m)"),
         ("mpjpe_mm", "MPJPE (mm)"), ("support_force_z_n", "support force, hands (N)"),
         ("whole_body_support_force_z_n", "support force, whole body (N)"))
"""The markdown table's measures: ablations.csv column, heading."""


def row_overrides(row: str, iterations: int, common: list[str]) -> list[str]:
    """The `--set` overrides without those of the row's own keys, then the row's switch."""
    own = [o.format(period=max(1, iterations // 6)) for o in ROWS[row]]
    keys = {o.split("=", 1)[0] for o in own}
    return [o for o in common if o.split("=", 1)[0].lstrip("+~") not in keys] + own


def cell_overrides(row: str, clip: str, seed: int, iterations: int, common: list[str]) -> list[str]:
    """The `run.py stage=expert` overrides of one cell."""
    return [f"stage.clips=[{clip}]", f"seed={seed}", f"max_iterations={iterations}", "stage.video=false",
            *row_overrides(row, iterations, common)]


def recorded_overrides(run_dir: Path) -> list[str] | None:
    """The overrides a cell was trained with (its `OVERRIDES_FILE`), or None where it kept none."""
    path = run_dir / OVERRIDES_FILE
    return path.read_text().splitlines() if path.exists() else None


def cell_clips_digest(cfg: RunConfig) -> str:
    """`clips_digest` of the clips a cell composed as `cfg` (its `stage=expert` config) trains on, read now from its
    data file."""
    data, clips = load_clips(cfg.data, cfg.stage.default_data, cfg.robot.name, persons=2)
    return clips_digest(select_clips(clips, cfg.stage.clips, data))


def recorded(run_dir: Path, key: str) -> str:
    """What a finished cell's summary.json recorded under `key` ("unknown" for cells from before it was)."""
    return json.loads((run_dir / "summary.json").read_text()).get(key, "unknown")


def check_reusable(run_dir: Path, overrides: list[str]) -> None:
    """Raise where the finished cell in `run_dir` was trained with overrides other than `overrides`, from another
    prior file than theirs, or on another version of its clip."""
    kept = recorded_overrides(run_dir)
    if kept is not None and sorted(kept) != sorted(overrides):
        had, asked = sorted(set(kept) - set(overrides)), sorted(set(overrides) - set(kept))
        raise UserInputError(f"the finished cell {run_dir} was trained with {' '.join(had) or 'no more overrides'} where "
                             f"this sweep asks for {' '.join(asked) or 'no more overrides'}; give this sweep another "
                             f"--out, or delete the cell to train it again")
    prior_sha256, clips = recorded(run_dir, "prior_sha256"), recorded(run_dir, "clips_digest")
    if prior_sha256 == clips == "unknown":
        return
    try:
        cfg = stage_config(["stage=expert", *overrides])  # the cell's config (its prior None: from scratch)
    except HydraException as error:
        raise UserInputError(f"the overrides of the cell {run_dir} do not make a config: {error}") from None
    if prior_sha256 not in ("unknown", prior_digest(cfg.stage.prior)):
        raise UserInputError(f"the finished cell {run_dir} started from a prior with SHA-256 {prior_sha256}, not the "
                             f"present {cfg.stage.prior}; give this sweep another --out, or delete the cell to train "
                             f"it again")
    if clips not in ("unknown", cell_clips_digest(cfg)):
        raise UserInputError(f"the finished cell {run_dir} was trained on another version of its clip than the one in "
                             f"its data file now (the clips were regenerated or changed); give this sweep another "
                             f"--out, or delete the cell to train it again")


def finished(run_dir: Path) -> bool:
    """The cell's run ended normally (its summary.json says `finished`; an interrupted or failed one trains again)."""
    summary = run_dir / "summary.json"
    return summary.exists() and json.loads(summary.read_text()).get("status") == "finished"


def run_py(arguments: list[str], what: str) -> None:
    """`run.py arguments`, its output discarded; a failed run ends the sweep with one sentence: `what` failed, its exit
    status and its last error line."""
    try:
        run([PYTHON, "run.py", *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as error:
        last = (error.stderr.strip().splitlines() or ["no message"])[-1].removeprefix("error: ")
        raise UserInputError(f"{what} failed (exit status {error.returncode}): {last}") from None


def train_cell(run_dir: Path, overrides: list[str]) -> None:
    """One `run.py stage=expert` with `overrides` into `run_dir`, its wall clock kept in `WALL_FILE` (a failed run
    ends the sweep, `run_py`)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / OVERRIDES_FILE).write_text("\n".join(overrides) + "\n")
    start = time.time()
    run_py(["stage=expert", f"run_dir={run_dir}", *overrides], f"the run in {run_dir}")
    (run_dir / WALL_FILE).write_text(f"{time.time() - start:.1f}\n")


SUMMARY_MEASURES = ("success_rate_training_rule", "success_rate", "mpjpe_mm", "recipient_lift_m", *SUPPORT_FORCES)
"""What a cell's line takes from its expert's evaluation summary."""
RESCORED = "eval_rescored"
"""A cell's folder for the present evaluation of its expert, where the expert stage's own lacks a measure."""


def trained_evaluation(run_dir: Path, summary: dict) -> tuple[dict, Path]:
    """The trained expert's evaluation summary and the folder of its eval_clips.csv: the expert stage's own, from
    the cell's `summary` (its summary.json), or, for a cell scored before the evaluation reported every
    `SUMMARY_MEASURES` (`whole_body_support_force_z_n` came later), `run.py stage=eval` of the cell's final checkpoint
    in `<run_dir>/eval_rescored` (run once, then kept; where the checkpoint is gone, the stage's own with the missing
    measures None)."""
    if "evaluation" not in summary:
        raise UserInputError(f"{run_dir}/summary.json has no evaluation: the ablations need stage.evaluate=true")
    trained = summary["evaluation"]["trained"]
    if all(key in trained for key in SUMMARY_MEASURES):
        return trained, run_dir / "eval"
    rescored = run_dir / RESCORED
    if not (rescored / "summary.json").exists():
        checkpoint = run_dir / Path(trained["checkpoint"]).name  # where the cell is now
        if not checkpoint.exists():
            print(f"{run_dir}: its evaluation predates a measure of the table and its checkpoint is not here; "
                  f"that measure stays empty", flush=True)
            return {key: None for key in SUMMARY_MEASURES} | trained, run_dir / "eval"
        print(f"scoring {run_dir} again: its evaluation predates a measure of the table", flush=True)
        run_py(["stage=eval", f"checkpoint={checkpoint}", f"run_dir={rescored}"], f"scoring {run_dir} again")
    return json.loads((rescored / "summary.json").read_text()), rescored


def time_to_failure(eval_dir: Path, clip: str) -> float:
    """Seconds until the trained expert's evaluation of `clip` (`<eval_dir>/eval_clips.csv`) failed, or the clip's
    length where it did not."""
    with open(eval_dir / "eval_clips.csv", newline="") as handle:
        line = next(r for r in csv.DictReader(handle) if r["clip"] == clip)
    return float(line["failed_at_s"]) if line["failed_at_s"] else (int(line["frames"]) - 1) / CLIP_FPS


def cell_result(row: str, clip: str, seed: int, run_dir: Path) -> dict:
    """One ablations.csv line from a finished cell's evaluation (`trained_evaluation`), summary.json and wall clock
    (None: not kept)."""
    summary = json.loads((run_dir / "summary.json").read_text())
    trained, eval_dir = trained_evaluation(run_dir, summary)
    wall = run_dir / WALL_FILE
    return {"row": row, "clip": clip, "seed": seed, "success_training_rule": trained["success_rate_training_rule"],
            "success": trained["success_rate"], "time_to_failure_s": time_to_failure(eval_dir, clip),
            "mpjpe_mm": trained["mpjpe_mm"], "recipient_lift_m": trained["recipient_lift_m"],
            **{force: trained[force] for force in SUPPORT_FORCES},
            "iterations": summary.get("iterations"),
            "wall_s": float(wall.read_text()) if wall.exists() else None,
            "prior_sha256": recorded(run_dir, "prior_sha256"),
            "overrides": " ".join(recorded_overrides(run_dir) or []), "run_dir": str(run_dir)}


def mean_std(values: list[float]) -> str:
    """`mean ± sample std` (the mean alone for one value, – for none: no finished cell, or a measure without a value)."""
    if not values:
        return "–"
    mean = statistics.fmean(values)
    return f"{mean:.2f}" if len(values) < 2 else f"{mean:.2f} ± {statistics.stdev(values):.2f}"


def markdown(results: list[dict], rows: list[str], clips: list[str], cores: int) -> str:
    """Per row and clip the `TABLE` measures over seeds, the number of seeds and the cells' training iterations
    (each distinct count, `/`-separated: cells trained for different budgets show); then per row its cells'
    CPU-minutes (cells whose wall clock was not kept count none)."""
    lines = ["| ablation | clip | " + " | ".join(h for _, h in TABLE) + " | seeds | iterations | priors |",
             "|---|---|" + "---|" * len(TABLE) + "---|---|---|"]
    for row in rows:
        for clip in clips:
            cells = [r for r in results if r["row"] == row and r["clip"] == clip]
            lines.append(f"| {row} | {clip} | " + " | ".join(mean_std([c[k] for c in cells if c[k] is not None]) for k, _ in TABLE)
                         + f" | {len(cells)} | {_iterations(cells)} | {_priors(cells)} |")
    lines += ["", "| ablation | cells | CPU-minutes |", "|---|---|---|"]
    for row in rows:
        walls = [r["wall_s"] for r in results if r["row"] == row and r["wall_s"] is not None]
        lines.append(f"| {row} | {len(walls)} | {sum(walls) * cores / 60:.1f} |")
    return "\n".join(lines) + "\n"


def _iterations(cells: list[dict]) -> str:
    """The cells' distinct training iterations, `/`-separated (– for none known)."""
    counts = sorted({c["iterations"] for c in cells if c["iterations"] is not None})
    return "/".join(map(str, counts)) or "–"


def _priors(cells: list[dict]) -> str:
    """The cells' distinct prior digests (`prior_sha256`, "none" without a prior), `/`-separated."""
    return "/".join(sorted({str(c["prior_sha256"] or "none") for c in cells})) or "–"


def keep_only_results_in_git(out: Path) -> None:
    """Give a new `out` inside the repository the default folder's .gitignore (git keeps the results, not the
    cells' checkpoints)."""
    ignore, default = out / ".gitignore", REPO / "benchmarks" / "ablations" / ".gitignore"
    if out.is_relative_to(REPO) and not ignore.exists() and default.exists():
        out.mkdir(parents=True, exist_ok=True)
        ignore.write_text(default.read_text())


def write_csv(path: Path, results: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200,
                        help="training iterations per cell (max_iterations; 200: the expert stage's default)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), help=f"of {', '.join(ROWS)}")
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "ablations",
                        help="cells and table (default benchmarks/ablations: its .gitignore keeps only the results)")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="overrides for every run.py")
    parser.add_argument("--finished-only", action="store_true",
                        help="train nothing: make the table of the cells already finished and list the others")
    args = parser.parse_args()
    unknown = [row for row in args.rows if row not in ROWS]
    if unknown:
        raise UserInputError(f"unknown ablation row {', '.join(map(repr, unknown))}; the rows are {', '.join(ROWS)}")
    if args.iterations < 1:
        raise UserInputError(f"--iterations must be a positive integer, got {args.iterations}")
    out = args.out.resolve()
    keep_only_results_in_git(out)
    results = []
    for row in args.rows:
        for clip in args.clips:
            for seed in args.seeds:
                run_dir = out / row / clip / f"seed{seed}"
                overrides = cell_overrides(row, clip, seed, args.iterations, args.set)
                if finished(run_dir):
                    if not args.finished_only:
                        check_reusable(run_dir, overrides)
                    print(f"{row} {clip} seed {seed}: reused {run_dir}", flush=True)
                elif args.finished_only:
                    print(f"{row} {clip} seed {seed}: not finished, left out of the table", flush=True)
                    continue
                else:
                    print(f"{row} {clip} seed {seed}: training in {run_dir}", flush=True)
                    train_cell(run_dir, overrides)
                results.append(cell_result(row, clip, seed, run_dir))
    if not results:
        raise UserInputError(f"no finished cell in {out} for these rows, clips and seeds")
    write_csv(out / "ablations.csv", results)
    table = markdown(results, args.rows, args.clips, os.cpu_count() or 1)
    (out / "ablations.md").write_text(table)
    print(table + f"wrote {out / 'ablations.csv'} and {out / 'ablations.md'}")


if __name__ == "__main__":
    run_main(main)
