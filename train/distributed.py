"""Data-parallel training under torchrun: process group, sharding, and which rank writes.

    torchrun --nproc_per_node 2 train_hyper.py --out runs/hyper_ddp

torchrun sets WORLD_SIZE, RANK and LOCAL_RANK (and MASTER_ADDR/PORT); with WORLD_SIZE > 1
`init_distributed` joins the process group: NCCL when training on CUDA GPUs (one per local
rank), gloo on CPU. Every rank draws the same batch of images from the same seeded
generator and keeps its slice `index[rank::world]`; DistributedDataParallel averages the
gradients, so with a batch divisible by the world size the update equals the one-process
update on the whole batch (except BatchNorm in the conv encoder: batch statistics are per
rank, and the running statistics, which DDP copies from rank 0 at every forward, follow
rank 0's shards). Only rank 0 writes (checkpoints, metrics.json, figures, TensorBoard) and
shows the progress bar. Without WORLD_SIZE (or with 1) nothing here does anything.
"""
from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from common.errors import UserError

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Join the process group if WORLD_SIZE > 1; returns (info, this rank's device).
    device: the resolved --device; on CUDA each rank takes GPU LOCAL_RANK."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(), device
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        if info.local_rank >= torch.cuda.device_count():
            raise UserError(f"LOCAL_RANK {info.local_rank} but only {torch.cuda.device_count()} GPUs are visible: "
                            "start at most one process per GPU (torchrun --nproc_per_node)")
        if device.index is not None and device.index != info.local_rank and info.is_main:
            log.warning("--device %s ignored under torchrun: each process takes GPU LOCAL_RANK (cuda:0 to cuda:%d "
                        "here); choose the GPUs with CUDA_VISIBLE_DEVICES", device, world - 1)
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        # The timeout covers rank 0 evaluating alone (at 256 px on a CPU that takes minutes).
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=info.rank, world_size=world,
                                timeout=datetime.timedelta(minutes=30))
    return info, device


def shutdown(info: DistInfo, wait: bool = True) -> None:
    """Leave the process group; with `wait` after a final barrier, so no rank exits while
    others still talk (not after an error: the other ranks may never arrive)."""
    if info.enabled and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def wrap(method: nn.Module, info: DistInfo, device: torch.device, find_unused: bool = False) -> nn.Module:
    """DistributedDataParallel around `method` (its `forward` is the training forward), or `method`.
    find_unused: some parameters get no gradient in a step (DDP then looks for them each step)."""
    if not info.enabled:
        return method
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(method, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=find_unused)


def shard(index: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """This rank's rows of a batch: index (B, ...) -> (B / world, ...)."""
    return index[info.rank::info.world] if info.enabled else index


def check_batch(batch: int, info: DistInfo) -> None:
    """Equal shards keep the averaged gradient equal to the whole batch's gradient."""
    if info.enabled and batch % info.world:
        raise UserError(f"a batch of {batch} images does not split evenly over {info.world} processes: "
                        f"pass a --batch divisible by {info.world}")


def max_over_ranks(value: float, info: DistInfo, device: torch.device) -> float:
    """The largest `value` of all ranks, on every rank (an all-reduce: call it on all ranks alike)."""
    if not info.enabled:
        return value
    tensor = torch.tensor(float(value), dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.item()


def all_ok(ok: bool, info: DistInfo, device: torch.device) -> bool:
    """Whether `ok` holds on every rank, on every rank (an all-reduce: call it on all ranks alike)."""
    if not info.enabled:
        return ok
    flag = torch.tensor(1 if ok else 0, dtype=torch.int32, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN)
    return bool(flag.item())


def mean_over_ranks(info: DistInfo):
    """A function (n,) tensor -> its mean over ranks (an all-reduce), or None in one process."""
    if not info.enabled:
        return None

    def reduce(values: torch.Tensor) -> torch.Tensor:
        values = values.clone()
        dist.all_reduce(values)
        return values / info.world
    return reduce
