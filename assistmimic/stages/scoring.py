"""What the stages that score policies share (eval, expert, track, render, distill): the run config as
`assistmimic.evaluation`'s world and rules, and the clips a two-agent checkpoint is scored on."""

from __future__ import annotations

from pathlib import Path

from assistmimic.evaluation import EvalRules, EvalWorld, evaluate_assist
from assistmimic.rl.policy import ActorCritic
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import EvalConfig, RunConfig
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError

ASSIST_DEFAULT_DATA = "data/demo/assist.pkl"
"""Two-person clips evaluated when neither `data=` nor the checkpoint's clips file is available."""


def eval_world(cfg: RunConfig) -> EvalWorld:
    """The run's robot, scene, simulator, impairment and seed."""
    return EvalWorld(robot=cfg.robot, scene=cfg.scene, sim=cfg.sim, impairment=cfg.impairment, seed=cfg.seed)


SUPPORTERS = ("policy", "passive")
"""`stage.supporter`: the checkpoint's supporter policy, or one that does not act (the recipient-alone baseline)."""


def eval_rules(stage: EvalConfig) -> EvalRules:
    """The scoring rules of `stage=eval`'s settings (or `stage=track`'s)."""
    if stage.supporter not in SUPPORTERS:
        raise UserInputError(f"stage.supporter must be one of {', '.join(SUPPORTERS)}, got '{stage.supporter}'")
    return EvalRules(failure_distance=stage.failure_distance, fall_head_drop=stage.fall_head_drop,
                     robustness=stage.robustness, robust_mass_scale=stage.robust_mass_scale,
                     robust_gain_scale=stage.robust_gain_scale, passive_supporter=stage.supporter == "passive")


def evaluate_assist_checkpoint(cfg: RunConfig, checkpoint: Path, policies: list[ActorCritic], metadata: dict,
                               run_dir: Path) -> dict:
    """`stage=eval` of a two-agent checkpoint (its `policies` and `metadata`) on two-person clips (`data=`, else the
    ones it was trained on), by the rules of `cfg.stage` (an `EvalConfig`); writes `eval_clips.csv` to `run_dir`."""
    stage: EvalConfig = cfg.stage
    data, clips = assist_clips(cfg.data, metadata, cfg.robot.name)
    return {"checkpoint": str(checkpoint), "data": str(data), "task": "assist",
            **evaluate_assist(eval_world(cfg), eval_rules(stage), checkpoint, policies, metadata, clips,
                              cfg.num_envs or stage.num_envs, run_dir, "eval_clips", stage.name)}


def assist_clips(data: str | None, metadata: dict, robot: str) -> tuple[Path, list[Clip]]:
    """Two-person clips: `data=` when given, else the clips the checkpoint was trained on (when their file
    is still there), else the built-in demo clips."""
    if data:
        return load_clips(data, ASSIST_DEFAULT_DATA, robot, persons=2)
    trained = metadata.get("data")
    if not trained or not Path(trained).is_file():
        if trained:
            print(f"the checkpoint's clips file {trained} is not here; evaluating {ASSIST_DEFAULT_DATA}")
        return load_clips(None, ASSIST_DEFAULT_DATA, robot, persons=2)
    path, clips = load_clips(trained, ASSIST_DEFAULT_DATA, robot, persons=2)
    names = metadata.get("clips") or [clip.name for clip in clips]
    missing = sorted(set(names) - {clip.name for clip in clips})
    if missing:
        raise UserInputError(f"{path} no longer holds the clip(s) {', '.join(missing[:5])} the checkpoint was "
                             f"trained on; give the clips to evaluate with data=...")
    return path, [clip for clip in clips if clip.name in names]
