"""Whole (unsharded) weights and optimizer state under any wrapping: the one place FSDP's shards are gathered
for saving and put back when resuming.

Without FSDP the module's own ``state_dict`` is already whole. Under FSDP (``fully_shard``) every parameter is a
DTensor holding this rank's shard: gathering is a collective, so every rank must call these functions at the same
point; rank 0 receives the full tensors on the CPU and the other ranks an empty dict. An FSDP checkpoint stores
the optimizer state keyed by parameter name (torch's distributed state-dict layout) rather than by position.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.distributed.tensor import DTensor

BY_POSITION, BY_NAME = "ids", "names"  # the two optimizer-state layouts a checkpoint can hold


def is_sharded(model: nn.Module) -> bool:
    return any(isinstance(p, DTensor) for p in model.parameters())


def _options(**kw: Any):
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, **kw)


def gather_model_state(model: nn.Module, names: set[str] | None = None) -> dict[str, torch.Tensor]:
    """Full CPU tensors of ``model`` (only ``names`` when given). Collective under FSDP; rank 0 gets the tensors."""
    if is_sharded(model):
        from torch.distributed.checkpoint.state_dict import get_model_state_dict

        state = get_model_state_dict(model, options=_options(cpu_offload=True))
    else:
        state = model.state_dict()
    return {k: v.detach().cpu() for k, v in state.items() if names is None or k in names}


def gather_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[str, dict[str, Any]]:
    """(layout, full optimizer state). Collective under FSDP."""
    if is_sharded(model):
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

        return BY_NAME, get_optimizer_state_dict(model, optimizer, options=_options(cpu_offload=True))
    return BY_POSITION, optimizer.state_dict()


def load_model_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Full tensors (a subset of the model's names) into ``model``, sharding them where it is sharded."""
    if is_sharded(model):
        from torch.distributed.checkpoint.state_dict import set_model_state_dict

        set_model_state_dict(model, state, options=_options(strict=False))
    else:
        model.load_state_dict(state, strict=False)


def load_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, layout: str,
                         state: dict[str, Any]) -> None:
    sharded = is_sharded(model)
    if (layout == BY_NAME) != sharded:
        written = "with" if layout == BY_NAME else "without"
        raise ValueError(f"the checkpoint was written {written} --parallel fsdp: resume it the same way")
    if sharded:
        from torch.distributed.checkpoint.state_dict import set_optimizer_state_dict

        # strict=False: a parameter no batch has used yet (another modality's router) has no state to restore.
        set_optimizer_state_dict(model, optimizer, state, options=_options(strict=False))
    else:
        optimizer.load_state_dict(state)
