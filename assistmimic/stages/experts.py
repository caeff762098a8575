"""`stage=experts [data=<two-person clips>] [stage.clusters=<clusters.json>]`: train one expert per clip
(or per cluster of clips), several at once locally, sharded over cluster jobs, resumable.

Experts: one per clip of `data=` (named after the clip), or one per cluster of `stage.clusters`, a JSON
object {cluster name: [clip names]}. A non-empty `stage.clips` keeps the experts of those clips; with
clusters, every cluster holding one of them, whole (a cluster's expert always trains on all its clips).
With no `data=` and no `stage.clips`, the demo file's `stage.default_clips` are trained, as `stage=expert` does.

Sharding: in sorted name order, expert k belongs to shard k mod num_shards. The shard is
`stage.shard_index`/`stage.num_shards`, else RANK/WORLD_SIZE (torchrun), else SLURM_ARRAY_TASK_ID/
SLURM_ARRAY_TASK_COUNT (counted from SLURM_ARRAY_TASK_MIN in steps of SLURM_ARRAY_TASK_STEP), else 0 of 1.
Shards may share one run_dir (give it explicitly); its summary.json is the last shard's own.

`stage.n_jobs` experts train at once in joblib worker processes (loky), each with an equal share of the
cores for MuJoCo (`sim.nthread`, unless set) and one torch thread; n_jobs=1 trains them in this process.
Each expert is `stage=expert`'s training in its own run directory. An expert whose summary.json says
`"finished": true` is skipped, one with a `last.pt` resumes from it (no `stage.resume` needed), and one
that fails is recorded in its summary.json (`error`, `traceback`) while the others go on. Ctrl-C stops
after the running expert(s) saved, writes the records below and re-raises.

`stage.batch_experts` = K > 1 trains experts K at a time in one process on one batch of worlds
(`assistmimic/rl/stacked/`; with n_jobs > 1, one batch per job): in sorted name order, the experts to train
that hold no `last.pt` of their own are cut into batches of K (a batch of one, and an expert with its own
`last.pt`, trains alone as above). Each expert of a batch keeps its own `num_envs` worlds (the batch steps K x
num_envs), which play only its clips, and its own networks, optimisers and discriminators, so it learns as it
would alone. The batch checkpoints its stacked state in `batches/<batch>/` and resumes from it after an
interruption (the remaining experts form the same batches again, since a batch finishes as a whole); when
done it writes every expert's folder as `stage=expert` would (last.pt in the runner's checkpoint format,
start.pt, config.yaml, summary.json, and the optional evaluation and video).

run_dir layout:
    experts/<name>/       the expert's run: config.yaml, summary.json, last.pt, metrics.jsonl, tb/
    experts/index.json    {name: {"clips": [...], "checkpoint": "<name>/last.pt"}} of the finished experts,
                          paths relative to index.json; merged with the entries already there (read by DAgger)
    experts.csv           group, clips, status, checkpoint, iterations of every expert of the run (all shards);
                          status: finished, failed, unfinished (has a last.pt) or pending
    batches/<batch>/      a batch's run (batch_experts > 1): last.pt, model_<iteration>.pt, metrics.jsonl
                          (with per-expert `expert<k>/...` scalars), tb/; <batch> = first expert, size, hash of the names
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import fcntl
import hashlib
import io
import json
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Any

import joblib
import torch
from omegaconf import OmegaConf
from tqdm import tqdm

from assistmimic.envs.assist import AssistEnv
from assistmimic.rl.checkpoint import LAST_CHECKPOINT, save_checkpoint, training_checkpoints
from assistmimic.rl.stacked import StackedActorCritic, StackedRunner
from assistmimic.run_files import atomic_write_bytes, write_json
from assistmimic.sim.factory import make_backend, make_scene
from assistmimic.stages.common import load_clips
from assistmimic.stages.config import ExpertConfig, ExpertsConfig, RunConfig
from assistmimic.stages.training import apply_run_overrides, train
from motion_lib.errors import UserInputError
from motion_lib.motion_library import MotionLibrary

EXPERTS_DIR = "experts"
INDEX_FILE = "index.json"
TABLE_FILE = "experts.csv"
BATCHES_DIR = "batches"
BATCH_TASK = "assist_batch"
"""The `metadata["task"]` of a batch's checkpoints (stacked experts; each expert's own last.pt has "assist")."""
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,199}")
"""An expert's folder name: letters, digits, '.', '_', '-'; not hidden, no path separators."""


def _listing(names: list[str], limit: int = 5) -> str:
    more = f" (and {len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _check_folder_name(name: str, what: str) -> None:
    if not SAFE_NAME.fullmatch(name) or name == INDEX_FILE:
        raise UserInputError(f"{what} '{name}' cannot name a folder: use letters, digits, '.', '_' and '-' "
                             "(not first), at most 200 characters")


def read_clusters(path: Path, clip_names: list[str], data: Path) -> dict[str, list[str]]:
    """The clusters {name: [clip names]} of a JSON file, checked against the clips of `data`."""
    if not path.is_file():
        raise UserInputError(f"stage.clusters: {path} does not exist")
    try:
        clusters = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserInputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(clusters, dict) or not clusters:
        raise UserInputError(f'{path}: expected a non-empty JSON object {{"cluster name": ["clip name", ...]}}')
    for name, members in clusters.items():
        _check_folder_name(name, f"{path}: cluster name")
        if (not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members)
                or len(set(members)) != len(members)):
            raise UserInputError(f"{path}: cluster '{name}' must be a non-empty list of distinct clip names")
    unknown = sorted({m for members in clusters.values() for m in members} - set(clip_names))
    if unknown:
        raise UserInputError(f"{path}: clip(s) {_listing(unknown)} are not in {data}")
    return clusters


def expert_groups(clip_names: list[str], clusters: str | None, keep: list[str], data: Path) -> dict[str, list[str]]:
    """{expert name: its clips}: one expert per clip, or per cluster; only those holding a clip of `keep` (if any)."""
    groups = read_clusters(Path(clusters), clip_names, data) if clusters else {name: [name] for name in clip_names}
    if keep:
        unknown = sorted(set(keep) - set(clip_names))
        if unknown:
            raise UserInputError(f"stage.clips names clip(s) not in {data}: {_listing(unknown)}")
        groups = {name: clips for name, clips in groups.items() if set(clips) & set(keep)}
        if not groups:
            raise UserInputError(f"no cluster of {clusters} holds any of stage.clips ({_listing(sorted(keep))})")
    if not clusters:
        for name in groups:
            _check_folder_name(name, f"{data}: clip name (name its expert in a stage.clusters file)")
    return groups


def _env_int(name: str, default: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise UserInputError(f"environment variable {name} is not set; set stage.shard_index and stage.num_shards")
        return default
    try:
        return int(value)
    except ValueError:
        raise UserInputError(f"environment variable {name}={value!r} is not an integer") from None


def shard(stage: ExpertsConfig) -> tuple[int, int]:
    """(shard index, number of shards) from the config, else torchrun's or a SLURM array's environment, else (0, 1)."""
    if (stage.shard_index is None) != (stage.num_shards is None):
        raise UserInputError("set both stage.shard_index and stage.num_shards, or neither (then they come from "
                             "RANK/WORLD_SIZE or SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)")
    if stage.shard_index is not None:
        index, count, source = stage.shard_index, stage.num_shards, "stage.shard_index/stage.num_shards"
    elif "RANK" in os.environ or "WORLD_SIZE" in os.environ:
        index, count, source = _env_int("RANK"), _env_int("WORLD_SIZE"), "RANK/WORLD_SIZE"
    elif "SLURM_ARRAY_TASK_ID" in os.environ:
        step = max(_env_int("SLURM_ARRAY_TASK_STEP", 1), 1)
        index = (_env_int("SLURM_ARRAY_TASK_ID") - _env_int("SLURM_ARRAY_TASK_MIN", 0)) // step
        count, source = _env_int("SLURM_ARRAY_TASK_COUNT"), "the SLURM array"
    else:
        return 0, 1
    if count < 1 or not 0 <= index < count:
        raise UserInputError(f"shard {index} of {count} (from {source}) is not valid: need 0 <= shard_index < "
                             "num_shards; set stage.shard_index and stage.num_shards")
    return index, count


def expert_status(expert_dir: Path) -> tuple[str, dict[str, Any]]:
    """("finished" | "failed" | "unfinished" | "pending", the expert's summary.json or {})."""
    path = expert_dir / "summary.json"
    summary = {}
    if path.is_file():
        try:
            summary = json.loads(path.read_text())
        except json.JSONDecodeError:
            raise UserInputError(f"{path} is not valid JSON; delete it to train that expert again") from None
    if summary.get("finished") is True:
        return "finished", summary
    if "error" in summary:
        return "failed", summary
    if training_checkpoints(expert_dir):
        return "unfinished", summary
    return "pending", summary


def _check_same_clips(expert_dir: Path, clips: list[str]) -> None:
    """An expert folder from an earlier run must hold an expert of the same clips (a changed cluster is an error)."""
    config = expert_dir / "config.yaml"
    if config.is_file():
        trained = list(OmegaConf.load(config).stage.clips)
        if sorted(trained) != sorted(clips):
            raise UserInputError(f"{expert_dir} holds an expert of clips {_listing(trained)}, not {_listing(clips)}; "
                                 "use a new run_dir or delete that folder")


def expert_config(cfg: RunConfig, data: Path, clips: list[str], expert_dir: Path, resume: bool) -> RunConfig:
    """The config of one `stage=expert` run: this run's settings, `data`, the expert's clips and run_dir."""
    expert = copy.deepcopy(cfg)
    expert.stage = ExpertConfig(**{f.name: getattr(expert.stage, f.name) for f in dataclasses.fields(ExpertConfig)})
    expert.stage.name, expert.stage.clips, expert.stage.resume = "expert", list(clips), resume
    expert.run_dir, expert.data = str(expert_dir), str(data)
    return expert


def _train_one(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """`stage=expert`'s training (imported here, so each worker process loads it itself)."""
    from assistmimic.stages import expert

    return expert.run(cfg, run_dir)


def batch_dir(run_dir: Path, names: list[str]) -> Path:
    """The run folder of the batch of experts `names`: the first name, the size and a hash of all the names."""
    digest = hashlib.sha1("\n".join(names).encode()).hexdigest()[:8]
    return run_dir / BATCHES_DIR / f"{names[0]}-{len(names)}-{digest}"


def training_units(todo: list[str], own_checkpoint: list[str], batch_experts: int) -> list[list[str]]:
    """The experts to train, grouped into what trains together: an expert with its own last.pt alone, the others
    in sorted order in batches of `batch_experts` (1: every expert alone)."""
    fresh = [name for name in todo if name not in own_checkpoint]
    return [[name] for name in own_checkpoint] + [fresh[i:i + batch_experts] for i in range(0, len(fresh), batch_experts)]


def _train_batch(configs: dict[str, RunConfig], batch: Path) -> dict[str, dict[str, Any]]:
    """Train the experts `configs` describes (same settings, their own clips and run_dir) together: expert k owns
    the k-th block of `num_envs` worlds and slice k of the stacked networks (`rl/stacked/`). The batch checkpoints
    in `batch` and resumes from its last.pt; each expert's start.pt and last.pt go to its own run_dir.
    Returns each expert's summary, as `stage=expert` gives it."""
    from assistmimic.stages import expert

    names = list(configs)
    cfg = configs[names[0]]
    stage: ExpertConfig = cfg.stage
    apply_run_overrides(cfg, stage)
    expert.adopt_prior_env_settings(stage)
    data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=2)
    own_clips = {name: expert.select_clips(clips, configs[name].stage.clips, data) for name in names}
    library_clips = list({clip.name: clip for name in names for clip in own_clips[name]}.values())
    clip_index = {clip.name: i for i, clip in enumerate(library_clips)}
    worlds = cfg.num_envs or stage.num_envs
    torch.manual_seed(cfg.seed)
    backend = make_backend(make_scene(cfg.robot, cfg.scene, cfg.sim, cfg.impairment, library_clips), cfg.sim,
                           worlds * len(names))
    env = AssistEnv(backend, MotionLibrary(library_clips, backend.device), stage.env,
                    torch.Generator(device=backend.device).manual_seed(cfg.seed))
    env.partition_worlds([[clip_index[clip.name] for clip in own_clips[name]] for name in names])
    metadata = {name: expert.expert_metadata(cfg, data, own_clips[name]) for name in names}
    starts = [expert.initial_policies(env, stage, cfg.robot.name) for _ in names]
    for name, policies in zip(names, starts):
        start = Path(configs[name].run_dir) / expert.START_CHECKPOINT
        if not start.exists():
            save_checkpoint(start, {"iteration": 0, "policies": [p.saved_state() for p in policies],
                                    "metadata": metadata[name]})
    stacked = [StackedActorCritic([policies[a] for policies in starts], worlds) for a in range(env.num_agents)]
    runner = StackedRunner(env, stacked, stage.ppo, stage.amp, stage.runner, batch, backend.device,
                           {"task": BATCH_TASK, "experts": metadata})
    trained = train(runner, batch, resume=bool(training_checkpoints(batch)))
    summaries = {}
    for k, name in enumerate(names):
        expert_cfg, expert_dir = configs[name], Path(configs[name].run_dir)
        save_checkpoint(expert_dir / LAST_CHECKPOINT, runner.expert_checkpoint_state(k, metadata[name]))
        summary = {**expert.summary_start(metadata[name]), "batch": str(batch),
                   "iterations": trained["iterations"], "checkpoint": str(expert_dir / LAST_CHECKPOINT),
                   "seconds": trained["seconds"], "env_steps": trained["env_steps"] // len(names),
                   "final": {key.split("/", 1)[1]: value for key, value in trained["final"].items()
                             if key.startswith(f"expert{k}/")}}
        summaries[name] = {**summary, **expert.evaluate_and_render(expert_cfg, expert_dir)}
    return summaries


def _one_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    message = text[0] if text else ""
    return message if isinstance(err, UserInputError) else f"{type(err).__name__}: {message}".rstrip(": ")


def train_experts(configs: dict[str, RunConfig], batch: Path | None, in_worker: bool) -> list[dict[str, Any]]:
    """Train the experts `configs` describes, each in its `cfg.run_dir`: one alone (`stage=expert`), or several
    together in the batch folder `batch`; mark them finished. An exception is recorded in every one's summary.json
    and returned as {"status": "failed", "reason": one line} per expert (KeyboardInterrupt is raised)."""
    if in_worker:  # the workers share the cores: one torch thread each, in the updates too
        torch.set_num_threads(1)
        for cfg in configs.values():
            cfg.stage.runner.update_threads = None
    try:
        for cfg in configs.values():
            atomic_write_bytes(Path(cfg.run_dir) / "config.yaml", OmegaConf.to_yaml(OmegaConf.structured(cfg)).encode())
        if batch is None:
            results = {name: _train_one(cfg, Path(cfg.run_dir)) for name, cfg in configs.items()}
        else:
            results = _train_batch(configs, batch)
        for name, result in results.items():
            write_json(Path(configs[name].run_dir) / "summary.json", {"stage": "expert", **result, "finished": True})
    except Exception as err:  # noqa: BLE001 (one expert's failure, whatever it is, must not stop the others)
        reason = _one_line(err)
        for cfg in configs.values():
            write_json(Path(cfg.run_dir) / "summary.json",
                       {"stage": "expert", "finished": False, "error": reason, "traceback": traceback.format_exc()})
        return [{"name": name, "status": "failed", "reason": reason} for name in configs]
    return [{"name": name, "status": "trained"} for name in configs]


def write_records(run_dir: Path, groups: dict[str, list[str]]) -> None:
    """experts.csv and experts/index.json from what the experts' folders hold; under a lock, so shards
    sharing the folder keep each other's index entries."""
    experts_dir = run_dir / EXPERTS_DIR
    experts_dir.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["group", "clips", "status", "checkpoint", "iterations"])
    with open(experts_dir / f".{INDEX_FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        index_path = experts_dir / INDEX_FILE
        try:
            index = json.loads(index_path.read_text()) if index_path.is_file() else {}
        except json.JSONDecodeError:
            raise UserInputError(f"{index_path} is not valid JSON; delete it (the next run writes it again)") from None
        for name, clips in sorted(groups.items()):
            status, summary = expert_status(experts_dir / name)
            checkpoint = f"{name}/{LAST_CHECKPOINT}"
            if status == "finished":
                index[name] = {"clips": clips, "checkpoint": checkpoint}
            else:
                index.pop(name, None)
            has_checkpoint = (experts_dir / checkpoint).exists()
            writer.writerow([name, ";".join(clips), status, str(experts_dir / checkpoint) if has_checkpoint else "",
                             summary.get("iterations", "")])
        write_json(index_path, index)
    atomic_write_bytes(run_dir / TABLE_FILE, table.getvalue().encode())


def run(cfg: RunConfig, run_dir: Path) -> dict:
    stage: ExpertsConfig = cfg.stage
    shard_index, num_shards = shard(stage)
    if stage.n_jobs < 1 and stage.n_jobs != -1:
        raise UserInputError(f"stage.n_jobs must be >= 1, or -1 for one per core; got {stage.n_jobs}")
    if stage.batch_experts < 1:
        raise UserInputError(f"stage.batch_experts must be >= 1 (1: every expert trains alone); got {stage.batch_experts}")
    data, clips = load_clips(cfg.data, stage.default_data, cfg.robot.name, persons=2)
    data = data.resolve()
    keep = stage.clips or ([] if cfg.data else stage.default_clips)
    groups = expert_groups([clip.name for clip in clips], stage.clusters, keep, data)
    names = sorted(groups)
    mine = names[shard_index::num_shards]
    experts_dir = run_dir / EXPERTS_DIR
    for name in mine:
        _check_same_clips(experts_dir / name, groups[name])
    skipped = [name for name in mine if expert_status(experts_dir / name)[0] == "finished"]
    todo = [name for name in mine if name not in skipped]
    own_checkpoint = [name for name in todo if training_checkpoints(experts_dir / name)]
    units = [(unit, batch_dir(run_dir, unit) if len(unit) > 1 else None)
             for unit in training_units(todo, own_checkpoint, stage.batch_experts)]
    batches = {str(batch): unit for unit, batch in units if batch is not None}
    resumed = sorted(own_checkpoint + [name for batch, unit in batches.items()
                                       if training_checkpoints(batch) for name in unit])
    workers = min(joblib.effective_n_jobs(stage.n_jobs), len(units))
    if workers > 1 and cfg.sim.nthread is None:
        cfg = dataclasses.replace(cfg, sim=dataclasses.replace(cfg.sim, nthread=max(1, joblib.cpu_count() // workers)))
    batched = f" ({sum(map(len, batches.values()))} of them in {len(batches)} batch(es))" if batches else ""
    print(f"experts: {len(names)} in all, {len(mine)} in shard {shard_index} of {num_shards}: "
          f"{len(skipped)} finished already, {len(resumed)} to resume, {len(todo) - len(resumed)} to start{batched}")
    jobs = (joblib.delayed(train_experts)({name: expert_config(cfg, data, groups[name], experts_dir / name, name in resumed)
                                           for name in unit}, batch, workers > 1) for unit, batch in units)
    results: dict[str, dict[str, Any]] = {}
    try:
        if todo:
            outcomes = joblib.Parallel(n_jobs=workers, return_as="generator_unordered")(jobs)
            with tqdm(total=len(todo), desc="experts", unit="expert") as progress:
                for outcome in outcomes:
                    for result in outcome:
                        results[result["name"]] = result
                        tqdm.write(f"expert {result['name']}: {result['status']} {result.get('reason', '')}".rstrip())
                    progress.update(len(outcome))
                    write_records(run_dir, groups)
    finally:
        write_records(run_dir, groups)
    failed = {name: r["reason"] for name, r in sorted(results.items()) if r["status"] == "failed"}
    if failed:
        print(f"{len(failed)} expert(s) failed (see {experts_dir}/<name>/summary.json): {_listing(sorted(failed))}",
              file=sys.stderr)
    return {
        "data": str(data), "clusters": stage.clusters, "shard_index": shard_index, "num_shards": num_shards,
        "experts_total": len(names), "experts_in_shard": len(mine),
        "trained": sorted(name for name, r in results.items() if r["status"] == "trained"),
        "skipped": skipped, "resumed": resumed, "failed": failed, "batches": batches,
        "experts": {name: {"clips": groups[name], "dir": str(experts_dir / name),
                           "checkpoint": str(experts_dir / name / LAST_CHECKPOINT),
                           "status": "skipped" if name in skipped else results[name]["status"]}
                    for name in mine},
        "index": str(experts_dir / INDEX_FILE), "table": str(run_dir / TABLE_FILE),
    }
