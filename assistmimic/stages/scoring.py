"""What the stages that score policies share (eval, expert, track, render, distill): the run config as
`assistmimic.evaluation`'s world and rules, and the clips a two-agent checkpoint is scored on."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from assistmimic.evaluation import EvalRules, EvalWorld, evaluate_assist
from assistmimic.mjcf.config import AgentPhysicsConfig, GripConfig, ImpairmentConfig
from assistmimic.rl.policy import ActorCritic
from assistmimic.stages.common import command_line_chooses, load_clips, trained_clips_file
from assistmimic.stages.config import EvalConfig, RunConfig
from assistmimic.stored_config import from_stored
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError

ASSIST_DEFAULT_DATA = "data/demo/assist.pkl"
"""Two-person clips evaluated when neither `data=` nor the checkpoint's clips file is available."""

_IMPAIRMENT_NOTES: set[str] = set()
"""The notes `eval_world` has printed in this process: each once (stage=expert scores and films the shipped expert)."""


def eval_world(cfg: RunConfig, metadata: dict | None = None, checkpoint: Path | None = None) -> EvalWorld:
    """The run's robot, scene, simulator, impairment and seed. Scoring a two-agent `checkpoint` (with its `metadata`),
    the recipient impairment and the grip it was trained with, unless the command line chose them (`impairment=...`,
    `scene.grip...`): a grip adds one action per gripping hand, so a no-grip expert only runs in a no-grip scene."""
    scene, trained_scene = cfg.scene, (metadata or {}).get("scene")
    if trained_scene is not None and "grip" in trained_scene and not command_line_chooses("scene.grip"):
        scene = dataclasses.replace(scene, grip=from_stored(GripConfig, trained_scene["grip"], str(checkpoint),
                                                            "scene.grip"))
    impairment = cfg.impairment
    trained = (metadata or {}).get("impairment")
    if trained is not None and not command_line_chooses("impairment"):
        impairment = from_stored(ImpairmentConfig, trained, str(checkpoint), "impairment")
        note = (f"{checkpoint} is scored with the impairment it was trained with (recipient "
                f"{_describe(impairment.recipient)}); pass impairment=... to choose another")
        if impairment != cfg.impairment and note not in _IMPAIRMENT_NOTES:
            _IMPAIRMENT_NOTES.add(note)
            print(note)
    return EvalWorld(robot=cfg.robot, scene=scene, sim=cfg.sim, impairment=impairment, seed=cfg.seed)


def _describe(agent: AgentPhysicsConfig) -> str:
    """E.g. "mass x0.7; lower: kp x0.5, kd x0.5, effort 80 N m; hip: kp x1, kd x1, effort 20 N m"."""
    parts = [f"mass x{agent.mass_scale:g}"]
    for rule in agent.rules:
        effort = "" if rule.effort_limit is None else f", effort {rule.effort_limit:g} N m"
        parts.append(f"{'/'.join(rule.groups)}: kp x{rule.kp_scale:g}, kd x{rule.kd_scale:g}{effort}")
    return "; ".join(parts)


SUPPORTERS = ("policy", "passive")
"""`stage.supporter`: the checkpoint's supporter policy, or one that does not act (the recipient-alone baseline)."""


def eval_rules(stage: EvalConfig) -> EvalRules:
    """The scoring rules of `stage=eval`'s settings (or `stage=track`'s)."""
    if stage.supporter not in SUPPORTERS:
        raise UserInputError(f"stage.supporter must be one of {', '.join(SUPPORTERS)}, got '{stage.supporter}'")
    return EvalRules(failure_distance=stage.failure_distance, fall_head_drop=stage.fall_head_drop,
                     robustness=stage.robustness, robust_mass_scale=stage.robust_mass_scale,
                     robust_gain_scale=stage.robust_gain_scale, passive_supporter=stage.supporter == "passive",
                     action_noise=stage.action_noise)


def evaluate_assist_checkpoint(cfg: RunConfig, checkpoint: Path, policies: list[ActorCritic], metadata: dict,
                               run_dir: Path) -> dict:
    """`stage=eval` of a two-agent checkpoint (its `policies` and `metadata`) on two-person clips (`data=`, else the
    ones it was trained on), by the rules of `cfg.stage` (an `EvalConfig`); writes `eval_clips.csv` to `run_dir`."""
    stage: EvalConfig = cfg.stage
    data, clips = assist_clips(cfg.data, metadata, cfg.robot.name)
    return {"checkpoint": str(checkpoint), "data": str(data), "task": "assist",
            **evaluate_assist(eval_world(cfg, metadata, checkpoint), eval_rules(stage), checkpoint, policies, metadata,
                              clips, cfg.num_envs or stage.num_envs, run_dir, "eval_clips", stage.name)}


def assist_clips(data: str | None, metadata: dict, robot: str) -> tuple[Path, list[Clip]]:
    """Two-person clips: `data=` when given, else the clips the checkpoint was trained on (when their file
    is still there), else the built-in demo clips."""
    if data:
        return load_clips(data, ASSIST_DEFAULT_DATA, robot, persons=2)
    trained = trained_clips_file(metadata)
    if trained is None:
        if metadata.get("data"):
            print(f"the checkpoint's clips file {metadata['data']} is not here; evaluating {ASSIST_DEFAULT_DATA}")
        return load_clips(None, ASSIST_DEFAULT_DATA, robot, persons=2)
    path, clips = load_clips(trained, ASSIST_DEFAULT_DATA, robot, persons=2)
    names = metadata.get("clips") or [clip.name for clip in clips]
    missing = sorted(set(names) - {clip.name for clip in clips})
    if missing:
        raise UserInputError(f"{path} no longer holds the clip(s) {', '.join(missing[:5])} the checkpoint was "
                             f"trained on; give the clips to evaluate with data=...")
    return path, [clip for clip in clips if clip.name in names]
