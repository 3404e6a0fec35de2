"""The training loop: gradient accumulation, clipping, warmup + cosine, bf16 autocast on GPU, per-modality
loss logging, throughput and data-wait time, atomic checkpoints and exact resume."""

from __future__ import annotations

import contextlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributed.tensor import DTensor

from model.checkpoint import check_config
from model.distributed import DistInfo, all_reduce_sum
from model.optim import OptimConfig, build_optimizer, lr_at, set_lr
from model.run_files import TRAIN_LOG_FILE
from model.full_state import (BY_POSITION, gather_model_state, gather_optimizer_state, is_sharded, load_model_state,
                              load_optimizer_state)
from model.train_state import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from onellm_data.loader.template import IGNORE_INDEX


@dataclass
class TrainConfig:
    out_dir: Path
    max_steps: int  # optimizer steps
    optim: OptimConfig = field(default_factory=OptimConfig)
    log_every: int = 10
    save_every: int = 0  # optimizer steps between checkpoints; 0 saves only at the end
    precision: str = "bf16"  # autocast dtype on GPU; CPU always runs fp32
    seed: int = 0
    record_keys: bool = False  # write the sample keys each rank trained on (seen_keys.rank{r}.txt)
    validate_every: int = 0  # optimizer steps between validation losses (0: at the end only)


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Next-token loss: position t predicts token t+1; labels are aligned with input_ids (-100 = ignored)."""
    shift_logits = logits[:, :-1].float()
    shift_labels = labels[:, 1:]
    count = int((shift_labels != IGNORE_INDEX).sum())
    loss = F.cross_entropy(shift_logits.reshape(-1, shift_logits.size(-1)), shift_labels.reshape(-1),
                           ignore_index=IGNORE_INDEX, reduction="sum")
    return loss / max(count, 1), count


def pooled_means(window: dict[str, list[float]], info: DistInfo) -> tuple[dict[str, float], float]:
    """Per modality and overall, the mean of every rank's losses together: one reduction, the same on every rank
    (each logs the same modalities). A modality only stand-in batches stood for has no loss to report."""
    names = sorted(window)
    sums = torch.tensor([[sum(window[m]), len(window[m])] for m in names] or [[0.0, 0.0]], dtype=torch.float64)
    sums = all_reduce_sum(sums, info)
    per = {m: float(sums[i, 0] / sums[i, 1]) for i, m in enumerate(names) if sums[i, 1]}
    count = float(sums[:, 1].sum())
    return per, float(sums[:, 0].sum() / count) if count else float("nan")


class Trainer:
    def __init__(self, model: nn.Module, loader: Iterable[dict[str, Any]], cfg: TrainConfig, *,
                 device: torch.device | None = None, info: DistInfo | None = None,
                 snapshot: dict[str, Any] | None = None, log: Callable[[str], None] = print,
                 validation: Callable[[], Iterable[dict[str, Any]]] | None = None) -> None:
        self.model = model
        self.loader = loader
        self.cfg = cfg
        self.device = device or torch.device("cpu")
        self.info = info or DistInfo()
        self.snapshot = snapshot or {}  # the resolved recipe, stored in every checkpoint
        self.log = log
        self.validation = validation  # a fresh pass over the held-out batches per call
        self.optimizer = build_optimizer(model, cfg.optim)
        self.step = 0
        self.history: list[dict[str, Any]] = []

    # -- checkpoints -------------------------------------------------------------------------------------------
    def save(self) -> Path | None:
        """Write the checkpoint (rank 0). Under FSDP every rank must call it: the shards are gathered first."""
        module = getattr(self.model, "module", self.model)
        sharded = is_sharded(module)
        if not sharded and not self.info.is_main:
            return None
        trainable = {name for name, p in module.named_parameters() if p.requires_grad}
        weights = gather_model_state(module, trainable)  # frozen CLIP/LLM weights come from their own files
        layout, optimizer = gather_optimizer_state(module, self.optimizer)
        if not self.info.is_main:
            return None
        payload = {
            "step": self.step,
            "model": weights,
            "optimizer": optimizer,
            "optimizer_layout": layout,
            "loader": self.loader.state_dict() if hasattr(self.loader, "state_dict") else None,
            "rng": rng_state(),
            "recipe": self.snapshot,
            "history": self.history,
        }
        if hasattr(module, "cfg"):  # head counts are invisible in shapes: resume checks the architecture
            payload["model_config"] = module.cfg.to_dict()
        return save_checkpoint(self.cfg.out_dir, payload)

    def resume(self, path: Path) -> None:
        state = load_checkpoint(path)
        module = getattr(self.model, "module", self.model)
        if "model_config" in state and hasattr(module, "cfg"):
            check_config(state["model_config"], module.cfg, f"training checkpoint {path}")
        names = set(module.state_dict())
        missing = [k for k in state["model"] if k not in names]
        if missing:
            raise KeyError(f"checkpoint {path} holds weights this model lacks: {missing[:5]}")
        load_model_state(module, state["model"])
        load_optimizer_state(module, self.optimizer, state.get("optimizer_layout", BY_POSITION), state["optimizer"])
        if state.get("loader") is not None and hasattr(self.loader, "load_state_dict"):
            self.loader.load_state_dict(state["loader"])
        set_rng_state(state["rng"])
        self.step = int(state["step"])
        self.history = list(state.get("history", []))

    # -- the loop ----------------------------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda" and self.cfg.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.cfg.precision == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        out = dict(batch)
        for name in ("input_ids", "labels"):
            out[name] = batch[name].to(self.device, non_blocking=True)
        if batch.get("media") is not None:
            out["media"] = batch["media"].to(self.device, non_blocking=True)
        return out

    def train(self) -> list[dict[str, Any]]:
        cfg, model = self.cfg, self.model
        model.train()
        batches = iter(self.loader)
        window: dict[str, list[float]] = defaultdict(list)
        samples = tokens = 0
        wait = 0.0
        started = time.perf_counter()
        while self.step < cfg.max_steps:
            lr = lr_at(self.step, cfg.optim)
            set_lr(self.optimizer, lr)
            for _ in range(cfg.optim.accum_steps):
                t0 = time.perf_counter()
                try:
                    batch = next(batches)
                except StopIteration:  # an epoch ended: start the next one
                    batches = iter(self.loader)
                    batch = next(batches)
                wait += time.perf_counter() - t0
                batch = self._to_device(batch)
                with self._autocast():
                    logits = model(batch["input_ids"], batch.get("media"), batch["modality"])
                loss, count = causal_lm_loss(logits, batch["labels"])
                (loss / cfg.optim.accum_steps).backward()
                losses = window[batch["modality"]]  # the modality is logged on every rank alike
                if not batch.get("placeholder"):  # a rank's stand-in batch (no samples for it) trains nothing
                    losses.append(float(loss.detach()))
                    samples += batch["input_ids"].size(0)
                if cfg.record_keys:
                    self._record_keys(batch.get("keys", []))
                tokens += count
            trainable = [p for p in model.parameters() if p.requires_grad and p.grad is not None]
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, cfg.optim.clip_grad) if trainable else torch.tensor(0.0)
            if isinstance(grad_norm, DTensor):  # FSDP: the norm over every rank's shards
                grad_norm = grad_norm.full_tensor()
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                elapsed = max(time.perf_counter() - started, 1e-9)
                per_modality, mean = pooled_means(window, self.info)
                record = {
                    "step": self.step,
                    "lr": lr,
                    "grad_norm": float(grad_norm),
                    "loss": per_modality,
                    "loss_mean": mean,
                    "samples_per_s": samples * self.info.world_size / elapsed,
                    "tokens_per_s": tokens * self.info.world_size / elapsed,
                    "data_wait_frac": wait / elapsed,
                }
                self.history.append(record)
                if self.info.is_main:
                    losses = " ".join(f"{m}={v:.4f}" for m, v in record["loss"].items())
                    self.log(f"step {self.step}/{cfg.max_steps} lr {lr:.2e} loss {record['loss_mean']:.4f} ({losses}) "
                             f"{record['samples_per_s']:.1f} samples/s {record['tokens_per_s']:.0f} tok/s "
                             f"data-wait {100 * record['data_wait_frac']:.0f}%")
                    self._append_log(record)
                window.clear()
                samples = tokens = 0
                wait = 0.0
                started = time.perf_counter()
            if self.validation is not None and (self.step == cfg.max_steps or (
                    cfg.validate_every and self.step % cfg.validate_every == 0)):
                self._validate()
            if cfg.save_every and self.step % cfg.save_every == 0 and self.step < cfg.max_steps:
                self.save()  # every rank: under FSDP saving gathers the shards
        self.save()
        return self.history

    @torch.no_grad()
    def _validate(self) -> dict[str, Any]:
        """Token-weighted loss per modality over one pass of the held-out batches (every rank runs the same
        pass, so no reduction is needed); logged as its own ``train_log.jsonl`` record."""
        model = self.model
        model.eval()
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for batch in self.validation():
            batch = self._to_device(batch)
            with self._autocast():
                logits = model(batch["input_ids"], batch.get("media"), batch["modality"])
            loss, count = causal_lm_loss(logits, batch["labels"])
            sums[batch["modality"]] += float(loss) * count
            counts[batch["modality"]] += count
        model.train()
        losses = {m: sums[m] / counts[m] for m in sorted(counts) if counts[m]}
        total = sum(counts.values())
        record = {"step": self.step, "val_loss": losses,
                  "val_loss_mean": sum(sums.values()) / total if total else float("nan"), "val_tokens": total}
        if self.info.is_main:
            shown = " ".join(f"{m}={v:.4f}" for m, v in losses.items())
            self.log(f"step {self.step}/{self.cfg.max_steps} validation loss {record['val_loss_mean']:.4f} ({shown})")
            self._append_log(record)
        return record

    def _record_keys(self, keys: list[str]) -> None:
        self.cfg.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cfg.out_dir / f"seen_keys.rank{self.info.rank}.txt", "a", encoding="utf-8") as fh:
            fh.writelines(f"{self.step}\t{k}\n" for k in keys)

    def _append_log(self, record: dict[str, Any]) -> None:
        self.cfg.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cfg.out_dir / TRAIN_LOG_FILE, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
