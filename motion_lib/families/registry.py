"""Every motion family by name, with its share of a generated data set, and the data set builder.

A family is a function `(rng: np.random.Generator, **params) -> Clip`: parameters left out are drawn
from `rng`, so one seed gives one clip. `make_clips` draws a data set: each family gets its share of
the clips, each clip its own generator (seed, index), then a mirror, a time warp and another subject's size by chance.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
import torch

from motion_lib.clip import Clip
from motion_lib.errors import UserInputError
from motion_lib.families import assisted, bounce, dynamic, floor, get_up, locomotion, seated, standing
from motion_lib.families.balance import rebalanced
from motion_lib.families.transforms import mirror, time_warp, with_subject_scale
from motion_lib.skeleton import get_skeleton


@dataclass(frozen=True)
class Family:
    make: Callable[..., Clip]
    weight: float
    """Default share of a generated data set (relative)."""
    balanced: bool = False
    """The generator keeps the zero-moment point on the feet (`balance`), so a time-warped copy is balanced again."""
    keep_knees: bool = False
    """The generator points the knees itself (`feet.place_feet` poles), so a time-warped copy is balanced again with
    them pointing where they point (`balance.rebalanced`)."""

    @property
    def summary(self) -> str:
        return " ".join((self.make.__doc__ or "").split("\n\n")[0].split())


FAMILIES: dict[str, Family] = {
    "walk": Family(locomotion.walk, 6.0, balanced=True),
    "walk_stop_start": Family(locomotion.walk_stop_start, 2.0, balanced=True),
    "side_step": Family(locomotion.side_step, 1.0, balanced=True),
    "back_step": Family(locomotion.back_step, 1.0, balanced=True),
    "jog": Family(locomotion.jog, 1.0, balanced=True),
    "run": Family(locomotion.run, 2.0, balanced=True),
    "stand": Family(standing.stand, 2.0),
    "arm_poses": Family(standing.arm_poses, 1.5),
    "bend": Family(standing.bend, 1.0),
    "squat": Family(standing.squat, 1.0),
    "crouch_reach": Family(standing.crouch_reach, 1.0),
    "sit_stand": Family(seated.sit_stand, 3.0),
    "floor_sit_stand": Family(floor.floor_sit_stand, 1.5),
    "kneel": Family(floor.kneel, 1.0, balanced=True),
    "lie_to_sit": Family(floor.lie_to_sit, 1.0),
    "prone_get_up": Family(get_up.prone_get_up, 1.0, balanced=True, keep_knees=True),
    "supine_get_up": Family(get_up.supine_get_up, 1.0, balanced=True),
    "pulled_up": Family(assisted.pulled_up, 2.0),
    "demo_person": Family(assisted.demo_person, 0.5),
    "demo_single": Family(assisted.demo_single, 0.0),
    "kick": Family(dynamic.kick, 1.0, balanced=True),
    "jump": Family(dynamic.jump, 1.0, balanced=True),
    "dance": Family(dynamic.dance, 1.5, balanced=True),
    "turn": Family(locomotion.turn, 1.0, balanced=True),
    "jumping_jack": Family(bounce.jumping_jack, 1.0, balanced=True),
    "hop": Family(bounce.hop, 1.0, balanced=True),
    "broad_jump": Family(dynamic.broad_jump, 0.5, balanced=True),
    "long_jump": Family(dynamic.long_jump, 0.0, balanced=True),
    "spin_kick": Family(dynamic.spin_kick, 0.0, balanced=True),
}
WARP_SPEEDS = (0.8, 1.25)
"""Time-warp speed factors drawn from (uniform in log speed)."""
SUBJECT_SCALES = (0.88, 1.14)
"""Subject sizes drawn from (uniform in log size) relative to the skeleton: about 1.5 to 1.95 m tall against its 1.7 m,
the span of the people motion capture records (`with_subject_scale`)."""


def parse_mix(text: str | None) -> dict[str, float]:
    """"walk=3,run=1" -> {family: weight}; None or "" -> every family's default weight."""
    if not text:
        return {name: family.weight for name, family in FAMILIES.items()}
    mix = {}
    for item in text.split(","):
        name, _, weight = item.partition("=")
        name = name.strip()
        if name not in FAMILIES:
            raise UserInputError(f"unknown motion family '{name}'; known: {', '.join(FAMILIES)}")
        try:
            mix[name] = float(weight) if weight else 1.0
        except ValueError:
            raise UserInputError(f"family weight must be a number: '{item}'") from None
        if mix[name] < 0:
            raise UserInputError(f"family weight must not be negative: '{item}'")
    if sum(mix.values()) <= 0:
        raise UserInputError(f"the mix '{text}' gives no family a positive weight")
    return mix


def family_counts(total: int, mix: dict[str, float]) -> dict[str, int]:
    """Clips per family: `total` split by the weights, rounded by largest remainder."""
    names = [n for n, w in mix.items() if w > 0]
    shares = np.array([mix[n] for n in names]) / sum(mix[n] for n in names) * total
    counts = np.floor(shares).astype(int)
    counts[np.argsort(-(shares - counts))[: total - counts.sum()]] += 1
    return dict(zip(names, counts.tolist()))


def make_clip(name: str, rng: np.random.Generator, **params) -> Clip:
    if name not in FAMILIES:
        raise UserInputError(f"unknown motion family '{name}'; known: {', '.join(FAMILIES)}")
    return FAMILIES[name].make(rng, **params)


def make_clips(total: int, seed: int = 0, mix: dict[str, float] | None = None, mirror_share: float = 0.5,
               warp_share: float = 0.5, progress: Callable[[int, Clip], None] | None = None,
               subject_scale_share: float = 0.0, workers: int = 1) -> list[Clip]:
    """`total` clips: each family's share (`family_counts`); clip i of the set is drawn with its own
    generator `default_rng([seed, i])`, then mirrored with probability `mirror_share`, time-warped
    (speed 0.8-1.25) with probability `warp_share` (and balanced again, `Family.balanced`) and, if it has no furniture, converted as from a subject of another
    size (`SUBJECT_SCALES`, `with_subject_scale`: the feet slide as in real capture of other people) with probability
    `subject_scale_share` (the draws come last, so a set with share 0 is the set made before the option existed).
    Names are `<family>_<i:04d>` (+ `_mirror`, `_x<speed>`, `_s<size>`). `workers` > 1 makes them in that many
    processes, the same clips (each depends on its index alone)."""
    counts = family_counts(total, mix or parse_mix(None))
    jobs = [(i, name, seed, mirror_share, warp_share, subject_scale_share)
            for i, name in enumerate(name for name, count in counts.items() for _ in range(count))]
    clips = []
    with _pool(workers) as pool:
        try:
            for i, clip in enumerate(pool.map(_data_set_clip, jobs, chunksize=max(1, len(jobs) // (8 * workers)))):
                clips.append(clip)
                if progress is not None:
                    progress(i, clip)
        except BrokenProcessPool as error:
            raise UserInputError(
                f"make_clips' {workers} worker processes stopped before making the clips: a script that calls it with "
                f"workers > 1 must do so under `if __name__ == \"__main__\":` (the workers are spawned and import the "
                f"script again), else a worker ran out of memory or crashed; workers=1 makes them in this process"
            ) from error
    return clips


def _pool(workers: int) -> Executor:
    """`workers` fresh processes (spawned: the parent's torch threads are not forked) of one torch thread each, or
    this one for 1."""
    if workers <= 1:
        return _InProcess()
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=torch.set_num_threads,
                               initargs=(1,))


class _InProcess(Executor):
    """An executor that maps in the calling process (`make_clips` with one worker)."""

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        return map(fn, *iterables)


def _data_set_clip(job: tuple) -> Clip:
    """Clip i of a data set (`make_clips`): job = (i, family, seed, mirror_share, warp_share, subject_scale_share)."""
    i, name, seed, mirror_share, warp_share, subject_scale_share = job
    rng = np.random.default_rng([seed, i])
    clip = make_clip(name, rng)
    clip.name = f"{name}_{i:04d}"
    clip.source = {**clip.source, "seed": [seed, i]}
    if rng.random() < mirror_share:
        clip = mirror(clip)
    if rng.random() < warp_share:
        clip = time_warp(clip, float(np.exp(rng.uniform(*np.log(WARP_SPEEDS)))))
        family = FAMILIES[name]
        if family.balanced:
            skel = get_skeleton(clip.skeleton)
            clip = dataclasses.replace(clip, persons=[rebalanced(p, skel, keep_knees=family.keep_knees)
                                                      for p in clip.persons])
    if rng.random() < subject_scale_share and not clip.furniture:
        clip = with_subject_scale(clip, float(np.exp(rng.uniform(*np.log(SUBJECT_SCALES)))))
    return clip.validate()
