"""`stage=eval checkpoint=<ckpt> data=<clips>`: track every clip from its first frame with the
deterministic policy; PHC's success rule and errors per clip.

A clip fails when the mean body position error exceeds `stage.failure_distance` (0.5 m) at any frame
(REFERENCE §2); success rate = fraction of clips tracked to their last frame. MPJPE is the mean body
position error over all frames (global, and root-relative), in millimetres. Writes `eval_clips.csv`
and summary.json (`success_rate`, `mpjpe_mm`, `mpjpe_local_mm`, `per_clip`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import torch
from tqdm import tqdm

from assistmimic.config import EvalConfig, RunConfig
from assistmimic.envs.config import TrackingEnvConfig
from assistmimic.envs.tracking import TrackingEnv
from assistmimic.rl.checkpoint import load_training_checkpoint
from assistmimic.rl.policy import ActorCritic
from assistmimic.sim.factory import make_backend, make_single_person_scene
from assistmimic.stages.common import load_clips, require_setting
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary


def policies_from_checkpoint(path: Path) -> tuple[list[ActorCritic], dict]:
    """The per-agent policies saved in a training checkpoint, in evaluation mode, and its metadata."""
    state = load_training_checkpoint(path)
    policies = [ActorCritic.from_saved_state(saved) for saved in state["policies"]]
    for policy in policies:
        policy.eval()
    return policies, state.get("metadata") or {}


@torch.no_grad()
def evaluate_clips(env: TrackingEnv, policies: list[ActorCritic], clip_ids: list[int], failure_distance: float) -> list[dict]:
    """Track clips `clip_ids` from their start in env's worlds (one clip per world; the batch is padded
    with its last clip). Returns per clip: frames tracked, success, MPJPE (global, local), max error."""
    n = env.num_envs
    padded = torch.tensor(clip_ids + [clip_ids[-1]] * (n - len(clip_ids)))
    obs = env.start_clips(padded)
    frames = env.library.clip_frames[padded].cpu()
    active = torch.ones(n, dtype=torch.bool)
    failed_at = torch.full((n,), -1, dtype=torch.long)
    error_sum, local_sum, max_error = torch.zeros(n), torch.zeros(n), torch.zeros(n)
    steps = torch.zeros(n, dtype=torch.long)
    for t in range(1, int(frames.max())):
        result = env.step([policy.act_deterministic(o) for policy, o in zip(policies, obs)])
        error = result.metrics["body_pos_error_m"]
        error_sum += torch.where(active, error, 0.0)
        local_sum += torch.where(active, result.metrics["body_pos_error_local_m"], 0.0)
        max_error = torch.where(active, torch.maximum(max_error, error), max_error)
        steps += active.long()
        fails = active & ((error > failure_distance) | result.terminated) & (failed_at < 0)
        failed_at[fails] = t
        active &= ~(result.terminated | result.truncated)
        if not active.any():
            break
        obs = result.obs
    rows = []
    for i, clip_id in enumerate(clip_ids):
        count = max(int(steps[i]), 1)
        rows.append({
            "clip": env.library.clip_names[clip_id], "frames": int(frames[i]), "success": bool(failed_at[i] < 0),
            "failed_at_s": None if failed_at[i] < 0 else round(float(failed_at[i]) * env.dt, 3),
            "mpjpe_mm": 1000 * float(error_sum[i]) / count, "mpjpe_local_mm": 1000 * float(local_sum[i]) / count,
            "max_error_m": float(max_error[i]),
        })
    return rows


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: EvalConfig = cfg.stage
    checkpoint = Path(require_setting(cfg.checkpoint, "checkpoint", "checkpoint=runs/prior/<run>/last.pt"))
    policies, metadata = policies_from_checkpoint(checkpoint)
    trained_env = metadata.get("env_config", {})
    if len(policies) != 1:
        raise UserInputError(f"{checkpoint}: holds {len(policies)} policies; stage=eval evaluates single-person priors")
    data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=1)
    library = MotionLibrary(clips)
    num_envs = min(cfg.num_envs or stage.num_envs, len(clips))
    backend = make_backend(make_single_person_scene(cfg.robot, cfg.scene, cfg.sim), cfg.sim, num_envs)
    # The action semantics must be the ones the policy was trained with (PHC's absolute targets unless saved otherwise).
    env_cfg = TrackingEnvConfig(early_termination=False, random_start=False,
                                max_episode_steps=max(c.num_frames for c in clips) + 1,
                                residual_actions=trained_env.get("residual_actions", False))
    env = TrackingEnv(backend, library, env_cfg, torch.Generator().manual_seed(cfg.seed))
    expected = env.obs_dims[0]
    if sum(policies[0].obs_dims) != expected or policies[0].action_dim != env.action_dims[0]:
        raise UserInputError(f"{checkpoint}: the policy takes {sum(policies[0].obs_dims)} observations and gives "
                             f"{policies[0].action_dim} actions; this robot's tracking task has {expected} and {env.action_dims[0]}")
    rows = []
    batches = [list(range(i, min(i + num_envs, len(clips)))) for i in range(0, len(clips), num_envs)]
    for batch in tqdm(batches, desc="eval", unit="batch"):
        rows += evaluate_clips(env, policies, batch, stage.failure_distance)
    env.close()
    _write_table(run_dir / "eval_clips.csv", rows)
    success_rate = sum(r["success"] for r in rows) / len(rows)
    def mean(key: str) -> float:
        return sum(r[key] for r in rows) / len(rows)

    print(f"success rate {success_rate:.3f} over {len(rows)} clip(s); MPJPE {mean('mpjpe_mm'):.1f} mm "
          f"(root-relative {mean('mpjpe_local_mm'):.1f} mm)")
    return {"checkpoint": str(checkpoint), "data": str(data), "clips": len(rows), "success_rate": success_rate,
            "mpjpe_mm": mean("mpjpe_mm"), "mpjpe_local_mm": mean("mpjpe_local_mm"), "per_clip": rows}


def _write_table(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.4g}" if isinstance(v, float) and not math.isnan(v) else v) for k, v in row.items()})
