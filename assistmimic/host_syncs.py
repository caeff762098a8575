"""Finding host syncs without a GPU.

A CUDA device runs ahead of Python until the host needs a value back; then the host waits for every queued
kernel. `HostSyncCounter` is a torch dispatch mode that records the operations which make that wait, on any
device, so a CPU test can show that code would not sync on a GPU:
- reading a value on the host: `.item()`, `bool(t)`, `int(t)`, `float(t)`, `if t.any():`, `torch.equal`,
  `torch.allclose`;
- sizing a result by the data: `nonzero`, `torch.where(mask)`, boolean-mask indexing and assignment,
  `masked_select`, `unique`, `repeat_interleave` without `output_size`;
- `multinomial` drawing one sample or without replacement (torch checks the weights on the host there).
Copies of a CPU tensor to the host (`.numpy()`, `.tolist()`) dispatch no operation, so they stay unseen; nor
can it tell a host tensor from a device one (on a GPU run, reading a CPU tensor is no sync). A dispatch mode
sees the thread it was entered in only.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten

VALUE_READS = {aten._local_scalar_dense, aten.is_nonzero, aten.equal, aten.allclose}
DATA_SIZED = {aten.nonzero, aten.argwhere, aten.masked_select, aten._unique2, aten.unique_dim, aten.unique_consecutive}
INDEXING = {aten.index, aten.index_put, aten.index_put_, aten._index_put_impl_}


def syncs_on_device(func, args: tuple, kwargs: dict) -> bool:
    """Whether the aten operation `func` called with `args`/`kwargs` makes the host wait for a CUDA device."""
    packet = func._overloadpacket
    if packet in VALUE_READS or packet in DATA_SIZED:
        return True
    if packet in INDEXING:
        indices = args[1] if len(args) > 1 else kwargs.get("indices", ())
        return any(i is not None and i.dtype in (torch.bool, torch.uint8) for i in indices)
    if func is aten.repeat_interleave.Tensor:  # the repeats alone: the output's size is their sum
        return kwargs.get("output_size") is None
    if packet is aten.multinomial:
        num_samples = args[1] if len(args) > 1 else kwargs["num_samples"]
        replacement = args[2] if len(args) > 2 else kwargs.get("replacement", False)
        return num_samples == 1 or not replacement
    return False


class HostSyncCounter(TorchDispatchMode):
    """Records the operations run under it that would sync a CUDA device with the host (see the module docstring).

    with HostSyncCounter() as syncs:
        env.step(actions)
    assert syncs.count == 0, syncs.ops
    """

    def __init__(self):
        super().__init__()
        self.ops: Counter[str] = Counter()
        """Operation name -> how often it ran."""

    @property
    def count(self) -> int:
        return sum(self.ops.values())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if syncs_on_device(func, args, kwargs):
            self.ops[str(func._overloadpacket)] += 1
        return func(*args, **kwargs)
