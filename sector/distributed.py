"""Data parallelism on PyTorch's own engine, for `torchrun --nproc-per-node N -m sector run`.

Every rank runs the same loop on the same seeds, so all ranks draw the same problems and
the same global batches; each rank then works on its own slice (`shard`) and the results
are put back together in the original order (`gather`). Training wraps the model in
DistributedDataParallel; only rank 0 writes the run directory. With one process (no
torchrun) every function here is the identity and nothing is initialised.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place in the run: its rank and the number of ranks (0 and 1 without torchrun)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: list[T]) -> list[T]:
        """This rank's share of `items`: every size-th item, from its rank on."""
        return items[self.rank :: self.size]

    def gather(self, mine: list[T]) -> list[T]:
        """The shards of every rank, interleaved back into the order `shard` took them from."""
        if self.size == 1:
            return mine
        shards: list[list[T]] = [None] * self.size  # type: ignore[list-item]
        dist.all_gather_object(shards, mine)
        out: list[T] = []
        for i in range(max(map(len, shards))):
            out += [s[i] for s in shards if i < len(s)]
        return out

    def broadcast(self, obj: T) -> T:
        """Rank 0's `obj` on every rank: for decisions that must not differ between ranks."""
        if self.size == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        """Wait until every rank gets here."""
        if self.size > 1:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group together: a rank that exits while another still talks
        to it aborts gloo's threads. Collecting first frees what still holds the group (a
        dropped DistributedDataParallel), so the group is torn down here, not at exit."""
        if self.size > 1:
            dist.barrier()
            gc.collect()
            dist.destroy_process_group()


def init_world(device: str) -> World:
    """Join the process group that torchrun describes in the environment, if any."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device == "cuda" else "gloo")
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return World(dist.get_rank(), dist.get_world_size())
