"""`stage=eval checkpoint=<ckpt> data=<clips>`: track every clip from its first frame with the
deterministic policies; PHC's success rule and errors per clip (the scoring is `assistmimic.evaluation`).

The checkpoint's metadata names its task: single-person priors (no `task`, "tracking") or two-agent
experts ("assist"). A clip fails when the mean body position error (of either agent) exceeds
`stage.failure_distance` (0.5 m) at any frame (REFERENCE §2); two-agent clips also fail when the
recipient falls (head `stage.fall_head_drop` below the reference's head). Success rate = fraction of
clips tracked to their last frame. MPJPE is the mean body position error over all frames (global, and
root-relative), in millimetres, averaged over all clips (the frames after a failure count) and also over the clips
tracked (PHC's "succ" figures: `mpjpe_tracked_mm`).

Two-agent checkpoints also report per agent MPJPE, the failure's reason, and over the reference's
contact phase (policy step t <-> reference time t·dt; only steps before a failure count): the fraction
of steps with simulated hand contact (`contact_rate`) and the mean vertical support force; and the peak
actuator torque; the recipient's pelvis lift beside the clip's and the supporter's grip use.
`stage.action_noise=1` scores the policies acting with their training's exploration noise (seeded; 0, the default:
their mean actions, as PHC and AssistMimic score). `stage.robustness=true` evaluates again with the recipient heavier
and weaker; `stage.supporter=passive` scores the recipient alone (the supporter's actions all 0: no grip, with residual
actions the clip's joint angles).

Writes `eval_clips.csv` (and `eval_clips_robustness.csv`) and summary.json (`success_rate` by the rule above,
`success_rate_training_rule` by the training's termination rules (AssistMimic's success: no rule fired before the
clip's last frame), `mpjpe_mm`, ..., `mpjpe_tracked_mm` and `clips_tracked`, `per_clip`, and
`robustness`).
"""

from __future__ import annotations

from pathlib import Path

from assistmimic.evaluation import (
    check_policies,
    checkpoint_task,
    evaluate_clips,
    in_batches,
    mean_of,
    policies_from_checkpoint,
    tracked_clip_errors,
    tracking_eval_env,
    with_action_noise,
    write_table,
)
from assistmimic.rl.policy import ActorCritic
from assistmimic.stages.common import load_clips, require_setting
from assistmimic.stages.config import EvalConfig, RunConfig
from assistmimic.stages.scoring import eval_world, evaluate_assist_checkpoint


def run(cfg: RunConfig, run_dir: Path) -> dict:
    checkpoint = Path(require_setting(cfg.checkpoint, "checkpoint", "checkpoint=runs/prior/<run>/last.pt"))
    policies, metadata = policies_from_checkpoint(checkpoint)
    task = checkpoint_task(checkpoint, policies, metadata)
    if task == "assist":
        return evaluate_assist_checkpoint(cfg, checkpoint, policies, metadata, run_dir)
    return _run_tracking(cfg, checkpoint, policies, metadata, run_dir)


def _run_tracking(cfg: RunConfig, checkpoint: Path, policies: list[ActorCritic], metadata: dict, run_dir: Path) -> dict:
    """A single-person prior on single-person clips."""
    stage: EvalConfig = cfg.stage
    data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=1)
    num_envs = min(cfg.num_envs or stage.num_envs, len(clips))
    world = eval_world(cfg)
    env = tracking_eval_env(world, metadata, clips, num_envs)
    check_policies(checkpoint, policies, env, "tracking")
    policies = with_action_noise([policy.to(env.device) for policy in policies], stage.action_noise, world.seed,
                                 env.device)
    rows = in_batches(len(clips), num_envs, lambda batch: evaluate_clips(env, policies, batch, stage.failure_distance), "eval")
    env.close()
    write_table(run_dir / "eval_clips.csv", rows)
    success_rate = sum(r["success"] for r in rows) / len(rows)
    training_rule = sum(r["success_training_rule"] for r in rows) / len(rows)

    tracked = tracked_clip_errors(rows)
    print(f"success rate {success_rate:.3f} over {len(rows)} clip(s) ({training_rule:.3f} by the training's termination "
          f"rule); MPJPE {mean_of(rows, 'mpjpe_mm'):.1f} mm (root-relative {mean_of(rows, 'mpjpe_local_mm'):.1f} mm) over all "
          f"clips, " + ("no clip tracked" if tracked["mpjpe_tracked_mm"] is None else
                        f"{tracked['mpjpe_tracked_mm']:.1f} mm (root-relative {tracked['mpjpe_local_tracked_mm']:.1f} mm) "
                        f"over the {tracked['clips_tracked']} tracked"))
    return {"checkpoint": str(checkpoint), "data": str(data), "clips": len(rows), "success_rate": success_rate,
            "success_rate_training_rule": training_rule, "mpjpe_mm": mean_of(rows, "mpjpe_mm"),
            "mpjpe_local_mm": mean_of(rows, "mpjpe_local_mm"), **tracked, "per_clip": rows}
