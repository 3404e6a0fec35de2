"""Process-group set-up for torchrun (DDP or FSDP); a single process needs none of it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Reads torchrun's RANK/WORLD_SIZE/LOCAL_RANK; initialises NCCL on GPUs, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def local_device(info: DistInfo) -> torch.device:
    """This rank's device: the GPU of its local rank, or the CPU when there is none."""
    return torch.device(f"cuda:{info.local_rank}") if torch.cuda.is_available() else torch.device("cpu")


def wrap_model(model: nn.Module, info: DistInfo, parallel: str, device: torch.device) -> nn.Module:
    """DDP (every rank holds the model) or FSDP (shards trainable state); frozen parts stay unwrapped by FSDP."""
    if info.world_size <= 1 or parallel == "none":
        return model
    if parallel == "ddp":
        ids = [device.index] if device.type == "cuda" else None
        # One modality per batch leaves the other modalities' tokenizers and routers unused in a step.
        return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
    if parallel == "fsdp":
        if device.type != "cuda":  # torch's FSDP has no CPU path: say so instead of failing deep inside it
            raise ValueError("--parallel fsdp needs one GPU per process; on CPU use --parallel ddp")
        from torch.distributed.fsdp import FullyShardedDataParallel, MixedPrecision

        frozen = [m for m in model.modules() if all(not p.requires_grad for p in m.parameters(recurse=False))
                  and any(True for _ in m.parameters(recurse=False))]
        mp = MixedPrecision(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) if device.type == "cuda" else None
        return FullyShardedDataParallel(model, device_id=device if device.type == "cuda" else None,
                                        use_orig_params=True, ignored_states=frozen, mixed_precision=mp)
    raise ValueError(f"unknown parallel mode {parallel!r}: use none, ddp or fsdp")


def all_reduce_mean(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.world_size > 1:
        value = value.clone()
        dist.all_reduce(value)
        value /= info.world_size
    return value
