"""Data parallelism on the GPUs (or CPU processes) of one machine, launched with torchrun.

World of one: nothing to set up. Otherwise: gloo on CPU, NCCL on GPU; the policy is wrapped in DDP
(``fsdp=False``) or sharded with FSDP2 ``fully_shard`` (the 1.5B model on GPUs). Each rank rolls out
and trains on its own slice of the step's prompts; gradients are averaged by the wrapper and the loss
is scaled by world size / global token count so the update equals the one-process token-mean update.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

COLLECTIVE_TIMEOUT_S = 3 * 3600


@dataclass(frozen=True)
class World:
    """This process's place: rank, world size, device string ("cpu" or "cuda:<local rank>")."""

    rank: int = 0
    size: int = 1
    device: str = "cpu"

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_world() -> World:
    """Read torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK) and join the process group if size > 1."""
    import torch

    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = f"cuda:{local}" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
    if size > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            from datetime import timedelta

            # ranks wait for each other at validation (up to 31,744-token samples) and checkpoints: NCCL's
            # default 10-minute watchdog would abort a healthy run there
            dist.init_process_group("nccl" if device.startswith("cuda") else "gloo",
                                    timeout=timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    return World(rank, size, device)


def all_sum(value: float, world: World) -> float:
    """Sum of a float over all ranks (identity for a world of one)."""
    if world.size == 1:
        return float(value)
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64, device=world.device)
    dist.all_reduce(t)
    return float(t.item())


def all_max(value: float, world: World) -> float:
    """Maximum of a float over all ranks (identity for a world of one)."""
    if world.size == 1:
        return float(value)
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(value)], dtype=torch.float64, device=world.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t.item())


def barrier(world: World) -> None:
    """Wait for every rank (no-op for a world of one)."""
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def wrap_model(model, world: World, *, fsdp: bool = False):
    """DDP (or FSDP2 when ``fsdp``) around ``model`` for a world > 1; the model itself otherwise."""
    if world.size == 1:
        return model
    if fsdp:
        from torch.distributed.fsdp import fully_shard

        for layer in model.model.layers:
            fully_shard(layer)
        fully_shard(model)
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(world.device.split(":")[1])] if world.device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model):
    """The underlying module of a DDP wrapper (FSDP2 modules are their own module)."""
    return model.module if hasattr(model, "module") else model


def shard(items: list, world: World) -> list:
    """This rank's contiguous slice of ``items`` (len divisible by world size)."""
    if len(items) % world.size:
        raise ValueError(f"{len(items)} items do not split over {world.size} ranks")
    per = len(items) // world.size
    return items[world.rank * per:(world.rank + 1) * per]
