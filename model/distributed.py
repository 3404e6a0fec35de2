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
    """DDP (every rank holds the whole model) or FSDP (every rank holds a shard of each parameter, gradient and
    optimizer state; ``model.full_state`` gathers them for saving)."""
    if info.world_size <= 1 or parallel == "none":
        return model
    if parallel == "ddp":
        ids = [device.index] if device.type == "cuda" else None
        # One modality per batch leaves the other modalities' tokenizers and routers unused in a step.
        return nn.parallel.DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)
    if parallel == "fsdp":
        return _fully_shard(model, info, device)
    raise ValueError(f"unknown parallel mode {parallel!r}: use none, ddp or fsdp")


def _fully_shard(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """torch's FSDP2 (``fully_shard``): each transformer block (LLaMA, UPM experts, CLIP) is its own unit,
    gathered just before it runs and freed after; the rest (tokenizers, embeddings, tags) forms the root unit.
    Every rank runs the same modality in a step (the loader's global schedule), so a unit one batch leaves unused
    is skipped on every rank alike. On GPUs the weights compute in bf16 and gradients reduce in fp32; it runs on
    CPU too (gloo), with fp32 throughout."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    from model.clip_vit import ResidualAttentionBlock
    from model.llama import TransformerBlock

    mesh = init_device_mesh(device.type, (info.world_size,))
    policy = (MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
              if device.type == "cuda" else MixedPrecisionPolicy())
    for block in [m for m in model.modules() if isinstance(m, (TransformerBlock, ResidualAttentionBlock))]:
        fully_shard(block, mesh=mesh, mp_policy=policy)
    fully_shard(model, mesh=mesh, mp_policy=policy)
    return model


def all_reduce_sum(value: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum over ranks (a copy); NCCL reduces only GPU tensors, so a CPU value travels through this rank's GPU."""
    if info.world_size <= 1:
        return value
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else value.device
    reduced = value.to(on, copy=True)
    dist.all_reduce(reduced)
    return reduced.to(value.device)
