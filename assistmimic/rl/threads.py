"""Independent jobs in parallel threads, each with its own share of torch's threads; this process's share of the
machine's cores."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")


def run_in_threads(jobs: list[Callable[[], T]], workers: int, torch_threads: int) -> list[T]:
    """Run the jobs on `workers` threads, each job with `torch_threads` torch threads (at least 1; the caller's
    setting is restored afterwards); their results in order. A job's exception is raised here once every job has
    ended."""
    caller_threads = torch.get_num_threads()

    def run(job: Callable[[], T]) -> T:
        torch.set_num_threads(max(1, torch_threads))
        return job()

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run, job) for job in jobs]
        return [future.result() for future in futures]
    finally:
        torch.set_num_threads(caller_threads)


def core_share() -> int:
    """The cores of this process's share: os.cpu_count() / LOCAL_WORLD_SIZE (the processes torchrun starts on this
    machine; 1 without torchrun), at least 1."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
