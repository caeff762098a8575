"""Independent jobs in parallel threads, each with its own share of torch's threads."""

from __future__ import annotations

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
