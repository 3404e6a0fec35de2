"""AdamW with weight decay on matrices only, and OneLLM's warmup + half-cosine learning-rate schedule."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields

import torch
from torch import nn

from onellm_data.recipes import OptimSpec, ScheduleSpec


@dataclass(frozen=True, kw_only=True)
class OptimConfig(OptimSpec):
    """The recipe's optimizer settings (their defaults and bounds live in ``OptimSpec``) plus the resolved schedule."""

    warmup_steps: int = 0
    total_steps: int = 1000  # optimizer steps of the cosine decay; after it the rate stays at min_lr

    @classmethod
    def from_recipe(cls, optim: OptimSpec, schedule: ScheduleSpec, max_steps: int) -> OptimConfig:
        """The cosine decay runs over the schedule's ``total_steps``, or the whole run when it names none."""
        return cls(**{f.name: getattr(optim, f.name) for f in fields(OptimSpec)},
                   warmup_steps=schedule.warmup_steps, total_steps=schedule.total_steps or max_steps)


def parameter_groups(named: Iterable[tuple[str, nn.Parameter]], weight_decay: float) -> list[dict]:
    """Decay only on matrices (and conv kernels); biases, norms, embeddings' 1-D tables and tags go undecayed."""
    decay, no_decay = [], []
    for name, param in named:
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 and not name.endswith("norm.weight") else no_decay).append(param)
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    groups = parameter_groups(model.named_parameters(), cfg.weight_decay)
    if not groups:
        raise ValueError("no trainable parameters: check the recipe's trainable/frozen parts")
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps)


def lr_at(step: int, cfg: OptimConfig) -> float:
    """Linear warmup to ``lr``, then a half cosine down to ``min_lr`` at ``total_steps``, then flat."""
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if step >= cfg.total_steps:
        return cfg.min_lr
    span = max(1, cfg.total_steps - cfg.warmup_steps)
    progress = (step - cfg.warmup_steps) / span
    return cfg.min_lr + (cfg.lr - cfg.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
