"""Checkpoints written atomically, read with a clear error, and the random-number state they carry.

A crash while saving leaves the previous checkpoint untouched: the bytes are serialised in memory,
then written to a temporary file in the same folder, fsynced and renamed over the target
(`assistmimic.run_files.atomic_write_bytes`).
"""

from __future__ import annotations

import io
import os
import pickle
import random
import re
import secrets
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils._pytree import tree_map_only

from assistmimic.run_files import atomic_write_bytes, remove_temp_files
from motion_lib.errors import UserInputError


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Atomically write `state` with torch.save, every tensor moved to the CPU (a checkpoint written by a GPU run
    opens with a plain `torch.load` on a machine without CUDA)."""
    buffer = io.BytesIO()
    torch.save(tree_map_only(torch.Tensor, lambda tensor: tensor.cpu(), state), buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, *, weights_only: bool = True) -> dict[str, Any]:
    """The dict saved at `path`, on the CPU.

    weights_only=False also unpickles arbitrary Python objects (needed for some third-party
    checkpoints); only use it for files you trust.
    """
    path = Path(path)
    if path.is_dir():
        raise UserInputError(f"checkpoint {path} is a folder; give a checkpoint file, e.g. {path / LAST_CHECKPOINT}")
    if not path.is_file():
        raise UserInputError(f"checkpoint file {path} does not exist")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not for the user
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=weights_only)
    except (RuntimeError, EOFError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        if weights_only and isinstance(exc, pickle.UnpicklingError):  # (torch's message advises weights_only=False)
            raise UserInputError(f"checkpoint file {path} is corrupt, or holds Python objects besides tensors and "
                                 "plain values (not a checkpoint of this project)") from exc
        raise UserInputError(f"checkpoint file {path} is truncated or corrupt and cannot be read") from exc
    if not isinstance(state, dict):
        raise UserInputError(f"checkpoint file {path} holds a {type(state).__name__}, not a checkpoint dict")
    return state


def rng_state() -> dict[str, Any]:
    """The global random state of torch (CPU and every CUDA device), numpy and Python, as plain values and tensors."""
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "cached_gaussian": float(cached_gaussian)},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a `rng_state()`; saved CUDA states are skipped on a machine without CUDA."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    random.setstate(state["python"])


POLICY_FILE_KEYS = ("iteration", "total_env_steps", "policies", "runner_config", "ppo_config", "amp_config", "metadata")
"""What `export_policies` keeps of a training checkpoint: the policies and how they were trained."""


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by the runner (or `export_policies`): it must hold 'policies'."""
    state = load_checkpoint(path)
    if "policies" not in state:
        raise UserInputError(f"{path}: not a training checkpoint of this project (no 'policies'); keys: {sorted(state)}")
    return state


def export_policies(checkpoints: str | Path | list[str | Path], output: str | Path, data: str | None = None,
                    resumable: bool = False, state_from: str | Path | None = None) -> dict[str, Any]:
    """Write the policies of a training checkpoint (architecture, weights, normalisers) without the
    optimiser, discriminator and random state: a small file that `stage=eval` and later stages load
    like a checkpoint. Several checkpoints (of one run, or of runs continued from one checkpoint; same architecture):
    their policies averaged (`average_policies`; a file given twice counts twice), the rest from the last one,
    `metadata["averaged_iterations"]` naming them (an averaged file by the list of iterations it averaged). `data`: the
    clips file its metadata names instead (what eval and render use without `data=`, e.g. a repository path for a
    shipped file; the one trained on is kept as `trained_on`). `resumable`: keep the last checkpoint's training state
    too (optimiser, random state, clip failure rates; it must be a runner's checkpoint), so that a run resumes from the
    averaged policies at that checkpoint's iteration. `state_from`: a runner's checkpoint whose training state (and
    iteration) goes with the policies instead, so that a run resumes from policies that have none of their own (a
    DAgger student, `metadata["policies_from"]` naming their files); same architecture. Returns what was written."""
    paths = [checkpoints] if isinstance(checkpoints, (str, Path)) else list(checkpoints)
    states = [load_training_checkpoint(path) for path in paths]
    trainer_path = paths[-1] if state_from is None else Path(state_from)
    trainer = states[-1] if state_from is None else load_training_checkpoint(trainer_path)
    if (resumable or state_from is not None) and "ppo" not in trainer:
        raise UserInputError(f"{trainer_path} holds no training state (an exported policy file); to write a resumable "
                             f"checkpoint, give a runner's checkpoint (model_<iteration>.pt) "
                             f"{'last' if state_from is None else 'as the state to resume from'}")
    if state_from is not None:
        check_same_policies([trainer["policies"], states[-1]["policies"]], [trainer_path, paths[-1]])
        exported = {**trainer, "policies": states[-1]["policies"],
                    "metadata": {**(trainer.get("metadata") or {}), "policies_from": [str(p) for p in paths]}}
    elif resumable:
        exported = dict(states[-1])
    else:
        exported = {key: states[-1][key] for key in POLICY_FILE_KEYS if key in states[-1]}
    metadata = dict(exported.get("metadata") or {})
    if len(states) > 1:
        exported["policies"] = average_policies([state["policies"] for state in states], paths)
        metadata["averaged_iterations"] = [
            (state.get("metadata") or {}).get("averaged_iterations", state.get("iteration")) for state in states]
    if data is not None:
        metadata["trained_on"] = metadata.get("data")
        metadata["data"] = data
    exported["metadata"] = metadata
    save_checkpoint(output, exported)
    return exported


def check_same_policies(saved: list[list[dict[str, Any]]], names: list[str | Path]) -> None:
    """One error unless every list of saved policies (one per file, named by `names`) has as many policies as the
    first, each of the same architecture and configuration."""
    first = saved[0]
    for policies, name in zip(saved[1:], names[1:]):
        if len(policies) != len(first):
            raise UserInputError(f"{name} holds {len(policies)} policies and {names[0]} {len(first)}; average "
                                 f"checkpoints of one run or of runs from one checkpoint")
        for a, (policy, reference) in enumerate(zip(policies, first)):
            if policy["spec"] != reference["spec"]:
                raise UserInputError(f"agent {a}'s policy in {name} has another architecture or configuration than "
                                     f"in {names[0]}; average checkpoints of one run or of runs from one checkpoint")


def average_policies(saved: list[list[dict[str, Any]]], names: list[str | Path]) -> list[dict[str, Any]]:
    """Per agent, the saved policy (`{"spec", "state_dict"}`) whose floating-point tensors (weights, the observation
    normaliser's mean and variance, the log-std) are the mean over `saved` (one list of policies per checkpoint,
    named by `names` in errors), its sample count the last one's: an average of checkpoints along one run (SWA,
    Izmailov et al. 2018), which evens out the checkpoint-to-checkpoint differences of held-out scores, or of runs
    continued from one checkpoint (a model soup, Wortsman et al. 2022), which can keep what each run learnt."""
    check_same_policies(saved, names)
    averaged = []
    for a, last in enumerate(saved[-1]):
        state = {key: (torch.stack([policies[a]["state_dict"][key] for policies in saved]).mean(0)
                       if value.is_floating_point() and not key.endswith("count") else value)
                 for key, value in last["state_dict"].items()}
        averaged.append({**last, "state_dict": state})
    return averaged


LAST_CHECKPOINT = "last.pt"
"""The newest checkpoint of a training run: a hard link to its newest `model_<iteration>.pt` (one file, two names)."""
MODEL_CHECKPOINT = re.compile(r"model_(\d+)\.pt")


def checkpoint_path(run_dir: str | Path, iteration: int) -> Path:
    return Path(run_dir) / f"model_{iteration}.pt"


def model_checkpoint_iterations(run_dir: str | Path) -> list[int]:
    """Iterations of the `model_<iteration>.pt` files in run_dir."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return [int(match.group(1)) for path in run_dir.iterdir() if (match := MODEL_CHECKPOINT.fullmatch(path.name))]


def save_iteration_checkpoint(run_dir: str | Path, iteration: int, state: dict[str, Any], keep: int) -> Path:
    """Write `model_<iteration>.pt` (atomically), point `last.pt` at it and delete all but the `keep` newest model
    files and the temporary files of a save that was killed. Returns the model file's path.

    A kill at any instant leaves every complete checkpoint loadable: `last.pt` names the previous one until the
    new one is complete, and `resume_checkpoint` finds the newest even where `last.pt` does not name it."""
    remove_temp_files(run_dir)
    path = checkpoint_path(run_dir, iteration)
    save_checkpoint(path, state)
    point_last_at(path)
    for old in sorted(model_checkpoint_iterations(run_dir))[:-keep]:
        checkpoint_path(run_dir, old).unlink()
    return path


def point_last_at(path: Path) -> None:
    """Make `last.pt` beside `path` a hard link to it, replacing the old one atomically; a copy on a file system
    without hard links."""
    last = path.parent / LAST_CHECKPOINT
    link = path.parent / f".{LAST_CHECKPOINT}.{secrets.token_hex(4)}"  # named like atomic_write_bytes' temporary files
    try:
        os.link(path, link)
    except OSError:
        atomic_write_bytes(last, path.read_bytes())
        return
    os.replace(link, last)
    link.unlink(missing_ok=True)  # left when last.pt already was this file (rename then does nothing)


def training_checkpoints(run_dir: str | Path) -> list[Path]:
    """The checkpoints a run in `run_dir` can continue from, newest first: its model files, then `last.pt`."""
    models = [checkpoint_path(run_dir, it) for it in sorted(model_checkpoint_iterations(run_dir), reverse=True)]
    last = Path(run_dir) / LAST_CHECKPOINT
    return models + ([last] if last.is_file() else [])


def resume_checkpoint(run_dir: str | Path) -> Path | None:
    """The newest checkpoint in `run_dir` that loads (older ones stand in for any cut short, with a warning), made
    `last.pt` again; None when none loads (the run stopped before its first save). Temporary files of a killed save
    are deleted first."""
    remove_temp_files(run_dir)
    for path in training_checkpoints(run_dir):
        try:
            load_checkpoint(path)
        except UserInputError as err:
            print(f"warning: skipping {path}: {err}", file=sys.stderr)
            continue
        if path.name != LAST_CHECKPOINT:
            point_last_at(path)
        return path
    return None


def delete_checkpoints_after(run_dir: str | Path, iteration: int) -> None:
    """Delete the model files of iterations after `iteration` (left by an abandoned continuation)."""
    for later in model_checkpoint_iterations(run_dir):
        if later > iteration:
            checkpoint_path(run_dir, later).unlink()
