"""Time `MotionLibrary.sample` for 4,096 worlds x 2 persons (24 SMPL bodies), against a bare gather.

The bare baseline gathers the two frames around each query (all body data and joint rotations)
without interpolating, measured in the same run; the ratio shows what interpolation and clamping cost.
Usage: `.venv/bin/python benchmarks/sample_motion_library.py [--worlds 4096] [--device cpu|cuda]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts its thread pool
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from motion_lib.clip import Clip, PersonMotion
from motion_lib.formats.common import rotations_to_wxyz
from motion_lib.motion_library import MotionLibrary
from motion_lib.skeleton import get_skeleton

REPEATS = 5
CALLS = 50


def synthetic_clips(num_clips: int, frames: int, skeleton_name: str, seed: int = 0) -> list[Clip]:
    """Two-person clips with random smooth-ish joint rotations (only the shapes matter here)."""
    rng = np.random.default_rng(seed)
    skeleton = get_skeleton(skeleton_name)

    def person() -> PersonMotion:
        rotvec = np.cumsum(rng.normal(scale=0.02, size=(frames, skeleton.num_bodies, 3)), axis=0)
        quat = rotations_to_wxyz(Rotation.from_rotvec(rotvec.reshape(-1, 3)), (frames, skeleton.num_bodies))
        root_pos = np.cumsum(rng.normal(scale=0.01, size=(frames, 3)), axis=0) + [0, 0, 0.95]
        return PersonMotion(root_pos, quat[:, 0], quat[:, 1:])

    return [Clip(f"clip{i}", 30.0, skeleton_name, [person(), person()]) for i in range(num_clips)]


def best_time(function, device: torch.device) -> float:
    """Best of REPEATS mean times of CALLS calls (seconds per call)."""
    function()
    times = []
    for _ in range(REPEATS):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(CALLS):
            function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / CALLS)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=int, default=4096)
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--robot", default="smpl")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    library = MotionLibrary(synthetic_clips(args.clips, args.frames, args.robot), device)
    generator = torch.Generator(device="cpu").manual_seed(0)
    clip_ids = library.sample_clip_ids(args.worlds, generator).to(device)
    times = (torch.rand(args.worlds, generator=generator).to(device) * library.clip_duration[clip_ids])

    def bare_gather():
        frame = (times * library.clip_fps[clip_ids]).long()
        i0 = library.clip_start[clip_ids] + frame
        return library.frame_data[i0], library.frame_data[i0 + 1], library.joint_rot[i0], library.joint_rot[i0 + 1]

    sample = best_time(lambda: library.sample(clip_ids, times), device)
    bare = best_time(bare_gather, device)
    bodies = library.body_pos.shape[2]
    print(f"{args.worlds} worlds x {library.num_persons} persons x {bodies} bodies on {device} "
          f"(torch threads {torch.get_num_threads()})")
    print(f"sample():    {sample * 1e3:8.3f} ms per call   {args.worlds / sample:12,.0f} world samples/s")
    print(f"bare gather: {bare * 1e3:8.3f} ms per call   ratio sample/bare time {sample / bare:.2f}")


if __name__ == "__main__":
    main()
