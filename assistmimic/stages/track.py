"""`stage=track checkpoint=<two-agent policy> source=<format> input=<file or folder>`: track new (e.g.
generated) interaction clips with a general two-agent policy.

1. The clips are read like `stage=convert` reads them (same readers and options: 30 fps, z-up, feet on the
   floor; InterGen and keypoints fitted by IK); a clip that fails to load, or holds one person, is skipped
   with its reason.
2. Roles (`stage.roles`, `motion_lib.roles`): "auto" makes the person whose head is lower over the first
   second the recipient (the one being helped starts lying or sitting); "as_is" / "swapped" keep or exchange
   the order read. The supporter becomes person 0, the recipient person 1; each clip's decision is printed
   and listed under `roles` in summary.json.
3. The role-assigned clips are written to `clips.pkl` (a PHC pickle: train an expert on them with
   `stage=expert data=<run_dir>/clips.pkl`), then the checkpoint (task "assist": an expert or a distilled
   general policy) tracks every clip from its first frame with `stage=eval`'s rules and measures.

With `stage.video` (default) the first clip is rendered with the policy tracking it (`videos/<clip>.mp4`, like
`stage=render`; a machine without EGL or OSMesa prints a warning instead).

Writes `clips.pkl`, `track_clips.csv` (one row per clip, `stage=eval`'s columns; `track_clips_robustness.csv`
with `stage.robustness=true`) and summary.json (`success_rate`, `mpjpe_mm`, per agent, contact, `roles`,
`skipped`, `per_clip`).
"""

from __future__ import annotations

import time
from pathlib import Path

from assistmimic.evaluation import checkpoint_task, evaluate_assist, policies_from_checkpoint
from assistmimic.sim.factory import make_skeleton
from assistmimic.stages.common import require_setting
from assistmimic.stages.config import RunConfig, TrackConfig
from assistmimic.stages.convert import read_source, seats_placed, subject_scales
from assistmimic.stages.render import render_policy_video
from assistmimic.stages.scoring import eval_rules, eval_world
from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.formats import SOURCES
from motion_lib.formats.base import ReadOptions
from motion_lib.formats.phc import write_clips
from motion_lib.roles import ROLE_MODES, assign_roles

CLIPS_FILE = "clips.pkl"
TABLE = "track_clips"


def read_options(stage: TrackConfig, cfg: RunConfig) -> ReadOptions:
    """`stage=convert`'s read options; persons come in the order read (`stage.roles` decides after)."""
    return ReadOptions(skeleton=make_skeleton(cfg.robot), fps=stage.fps, fix_floor=stage.fix_floor,
                       fit_subject_scale=stage.fit_subject_scale, actions=tuple(stage.actions), split=stage.split,
                       up=stage.up, source_fps=stage.source_fps)


def two_person_clips(clips: list[Clip], skipped: list[dict]) -> list[Clip]:
    """The two-person clips; single-person ones join `skipped` with their reason."""
    kept = []
    for clip in clips:
        if len(clip.persons) == 2:
            kept.append(clip)
            continue
        reason = (f"clip '{clip.name}' holds {len(clip.persons)} person; stage=track tracks two-person clips "
                  "(a supporter and a recipient)")
        skipped.append({"name": clip.name, "file": str(clip.source.get("file", "")), "reason": reason})
        print(f"skipped {clip.name}: {reason}")
    return kept


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: TrackConfig = cfg.stage
    checkpoint = Path(require_setting(cfg.checkpoint, "checkpoint", "checkpoint=runs/expert/<run>/last.pt"))
    source = require_setting(cfg.source, "source", f"source=intergen (one of {', '.join(SOURCES)})")
    input_path = Path(require_setting(cfg.input, "input", "input=generated/ (a file or a folder of clips)"))
    if stage.roles not in ROLE_MODES:
        raise UserInputError(f"stage.roles must be one of {', '.join(ROLE_MODES)}, got '{stage.roles}'")
    policies, metadata = policies_from_checkpoint(checkpoint)
    task = metadata.get("task", "tracking")  # priors' metadata names no task
    if task != "assist":
        what = "a single-person tracking prior" if task == "tracking" else f"a checkpoint of the '{task}' task"
        raise UserInputError(f"{checkpoint} is {what}; stage=track needs a two-agent checkpoint (task 'assist': the "
                             "last.pt of stage=expert, or a distilled general policy)")
    checkpoint_task(checkpoint, policies, metadata)  # two policies
    trained_robot = metadata.get("robot", cfg.robot.name)
    if trained_robot != cfg.robot.name:
        raise UserInputError(f"{checkpoint} was trained for the {trained_robot} robot; pass robot={trained_robot}")

    start = time.perf_counter()
    read, skipped = read_source(source, input_path, read_options(stage, cfg), "track", "read", stage.place_seats)
    clips = two_person_clips(read, skipped)
    if not clips:
        raise UserInputError(f"{input_path} holds no two-person clip; first reason: {skipped[0]['reason']}")
    assigned, roles = [], []
    for clip in clips:
        clip, decision = assign_roles(clip, stage.roles)
        assigned.append(clip)
        roles.append(decision)
        print(f"{clip.name}: supporter = person {decision['supporter_input_person']} as read ({decision['reason']})")
    write_clips(run_dir / CLIPS_FILE, assigned)
    summary = evaluate_assist(eval_world(cfg, metadata, checkpoint), eval_rules(stage), checkpoint, policies, metadata, assigned,
                              cfg.num_envs or stage.num_envs, run_dir, TABLE, stage.name)
    if stage.video:
        summary["video"] = render_policy_video(cfg, checkpoint, run_dir, run_dir / CLIPS_FILE, assigned[0].name)
    return {"checkpoint": str(checkpoint), "source": source, "input": str(input_path), "task": "assist",
            "clips_file": str(run_dir / CLIPS_FILE), "clips_skipped": len(skipped), "skipped": skipped,
            "roles": roles, "subject_scale": subject_scales(assigned),
            "seats_placed": seats_placed(assigned), **summary,
            "seconds": round(time.perf_counter() - start, 3)}
