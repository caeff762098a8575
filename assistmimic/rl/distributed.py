"""Data-parallel training over the processes torchrun starts (`torchrun --nproc_per_node N run.py stage=prior ...`).

Every process (rank) steps its own worlds and keeps a full copy of the policies; the copies stay identical
because every rank starts from rank 0's weights (`broadcast_modules`), applies the same averaged gradients
(`average_gradients`), takes the same learning-rate decisions (`all_reduce_mean` of the KL) and merges the
same pooled observation statistics into its normalisers (`pooled_moments`).

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; `init_from_env` joins the process
group they describe: gloo for CPU tensors and, where CUDA is available, NCCL for CUDA tensors (one combined
group, each collective goes to the backend of its tensors' device; rank r uses `cuda:<LOCAL_RANK>`).
Without torchrun (or with WORLD_SIZE=1) no process group exists and every function here is a no-op that
returns its input: a single process runs exactly as before, with no overhead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import nn

from motion_lib.errors import UserInputError

TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""What torchrun sets for every process it starts."""


def _variable(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UserInputError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} is set but {name} is not; start the processes "
                             f"with torchrun, which sets {', '.join(TORCHRUN_VARIABLES)}")
    return value


def _int_variable(name: str) -> int:
    value = _variable(name)
    try:
        return int(value)
    except ValueError:
        raise UserInputError(f"environment variable {name}={value!r} is not an integer") from None


def requested_world_size() -> int:
    """WORLD_SIZE of the environment (1 when unset), checked to be a positive integer; starts nothing."""
    if "WORLD_SIZE" not in os.environ:
        return 1
    world = _int_variable("WORLD_SIZE")
    if world < 1:
        raise UserInputError(f"environment variable WORLD_SIZE={world} must be at least 1")
    return world


def init_from_env() -> bool:
    """Join the process group torchrun's environment describes; True when there is one (WORLD_SIZE > 1).

    Idempotent. Rank r's current CUDA device becomes `cuda:<LOCAL_RANK>` when CUDA is available.
    Raises UserInputError for an inconsistent environment (a variable missing or not an integer,
    RANK outside [0, WORLD_SIZE)).
    """
    if dist.is_initialized():
        return True
    world = requested_world_size()
    if world == 1:
        if os.environ.get("RANK", "0") != "0":
            raise UserInputError(f"RANK={os.environ['RANK']} does not fit a single process (WORLD_SIZE unset or 1); "
                                 "start the processes with torchrun, or unset RANK")
        return False
    rank, local_rank = _int_variable("RANK"), _int_variable("LOCAL_RANK")
    _variable("MASTER_ADDR")  # checked here: init_process_group's own errors for these are unclear
    _int_variable("MASTER_PORT")
    if not 0 <= rank < world or local_rank < 0:
        raise UserInputError(f"RANK={rank} and LOCAL_RANK={local_rank} do not fit WORLD_SIZE={world}: "
                             "need 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0")
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        if local_rank < torch.cuda.device_count():
            torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    return True


def is_distributed() -> bool:
    """Whether this process is one rank of several (a process group with more than one member exists)."""
    return dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank; 0 without a process group."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """The number of ranks; 1 without a process group."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Whether this process is rank 0, the one that logs and writes the run's files."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank gets here."""
    if is_distributed():
        dist.barrier()


def finish() -> NoReturn:
    """End a stage that every rank of a process group completed (only under torchrun: a single process must not be
    ended here, e.g. Hydra's multirun runs several stages in it): wait for all ranks (rank 0 writes the run's files
    before), then end this process at once (`os._exit(0)`, its output and logging flushed) without tearing the process
    group down.
    Left to tear gloo down and finalise the interpreter, a rank aborted now and then after both had finished (SIGABRT,
    "terminate called without an active exception", with the process group destroyed after the wait too; once in
    about 30 runs), and torchrun then failed the whole run. Not called after an error: a rank failing alone must not
    wait for the others (torchrun stops them). The wait is an all-reduce of a CPU tensor: gloo carries it on GPUs
    too, while rank 0 evaluates and renders an expert."""
    all_reduce_sum(torch.zeros(1))
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


def average_gradients(parameters: Iterable[torch.Tensor]) -> None:
    """Replace the gradient of each parameter that has one by its mean over the ranks: one all-reduce of all
    gradients flattened into one buffer. Every rank must have gradients for the same parameters."""
    if not is_distributed():
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The elementwise sum of `tensor` over the ranks (a new tensor; `tensor` itself without a process group)."""
    if not is_distributed():
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total)
    return total


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """The elementwise mean of `tensor` over the ranks, e.g. a minibatch's KL so that every rank takes the same
    adaptive learning-rate step."""
    if not is_distributed():
        return tensor
    return all_reduce_sum(tensor) / world_size()


def sum_over_ranks(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Each tensor summed over the ranks, in one all-reduce (float64); every rank must pass the same names and
    shapes on one device."""
    if not is_distributed() or not tensors:
        return tensors
    names = sorted(tensors)
    flat = all_reduce_sum(torch.cat([tensors[name].detach().reshape(-1).double() for name in names]))
    summed, offset = {}, 0
    for name in names:
        n = tensors[name].numel()
        summed[name] = flat[offset:offset + n].view_as(tensors[name])
        offset += n
    return summed


def average_scalars(scalars: dict[str, float]) -> dict[str, float]:
    """Each value averaged over the ranks (one all-reduce on the CPU); every rank must pass the same names."""
    if not is_distributed():
        return scalars
    names = sorted(scalars)
    means = all_reduce_mean(torch.tensor([scalars[name] for name in names], dtype=torch.float64))
    return dict(zip(names, means.tolist()))


def pooled_moments(mean: torch.Tensor, var: torch.Tensor, count: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Mean, population variance and count of the union of every rank's batch, given each batch's moments
    (mean (D,), var (D,), count; a rank with count 0 contributes nothing). Every rank gets the same result."""
    if not is_distributed():
        return mean, var, count
    count_tensor = torch.tensor([float(count)], dtype=torch.float64, device=mean.device)
    mine = torch.cat([mean.double(), var.double(), count_tensor])
    gathered = [torch.empty_like(mine) for _ in range(world_size())]
    dist.all_gather(gathered, mine)
    dim = mean.shape[0]
    moments = torch.stack(gathered)
    means, variances, counts = moments[:, :dim], moments[:, dim:2 * dim], moments[:, 2 * dim:]
    total = counts.sum()
    if total == 0:
        return mean, var, 0
    pooled_mean = (counts * means).sum(0) / total
    pooled_var = (counts * (variances + (means - pooled_mean).square())).sum(0) / total
    return pooled_mean.to(mean.dtype), pooled_var.to(var.dtype), int(total)


def broadcast_modules(modules: Iterable[nn.Module]) -> None:
    """Copy rank 0's parameters and buffers into every rank's `modules` (same architectures on every rank)."""
    if not is_distributed():
        return
    for module in modules:
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, src=0)


def broadcast_object(value: Any) -> Any:
    """Rank 0's `value` (a picklable object) on every rank."""
    if not is_distributed():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_object(value: Any) -> list[Any]:
    """Every rank's `value` (a picklable object), indexed by rank."""
    if not is_distributed():
        return [value]
    gathered: list[Any] = [None] * world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def state_digest(modules: Iterable[nn.Module]) -> str:
    """SHA-256 of the bytes of every parameter and buffer of `modules` (equal digests: bit-identical states)."""
    digest = hashlib.sha256()
    for module in modules:
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().reshape(-1).cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_same_on_every_rank(modules: Iterable[nn.Module], what: str) -> None:
    """Raise RuntimeError on every rank unless all ranks hold bit-identical `modules` (`what` names them)."""
    if not is_distributed():
        return
    digests = all_gather_object(state_digest(modules))
    differing = [r for r, digest in enumerate(digests) if digest != digests[0]]
    if differing:
        raise RuntimeError(f"the ranks' copies of {what} differ (rank(s) {differing} from rank 0); data-parallel "
                           "training must keep them identical (gradients or normaliser updates were not averaged)")
