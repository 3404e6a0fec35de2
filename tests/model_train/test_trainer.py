"""The training loop on a small stand-in model: schedule, masking, freezing, clipping, accumulation, autocast,
validation and exact resume."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from model.optim import OptimConfig, build_optimizer, lr_at, parameter_groups
from model.trainer import TrainConfig, Trainer, causal_lm_loss
from model.train_state import load_checkpoint
from onellm_data.bundled import data_dir
from onellm_data.loader.template import IGNORE_INDEX
from onellm_data.recipes import load_recipe


class TinyLM(nn.Module):
    def __init__(self, vocab: int = 32, dim: int = 16) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(vocab, dim)
        self.media_proj = nn.Linear(4, dim)
        self.norm = nn.LayerNorm(dim)
        self.output = nn.Linear(dim, vocab, bias=False)

    def forward(self, input_ids, media, modality):
        h = self.tok_embeddings(input_ids)
        if media is not None:
            h = h + self.media_proj(media).unsqueeze(1)
        return self.output(self.norm(h))


class CountingLoader:
    """Deterministic batches from a position counter; its state is that counter."""

    def __init__(self, batch: int = 4, length: int = 12, vocab: int = 32) -> None:
        self.position = 0
        self.batch, self.length, self.vocab = batch, length, vocab

    def __iter__(self):
        while True:
            g = torch.Generator().manual_seed(self.position)
            self.position += 1
            ids = torch.randint(3, self.vocab, (self.batch, self.length), generator=g)
            labels = ids.clone()
            labels[:, : self.length // 2] = IGNORE_INDEX
            modality = "image" if self.position % 2 else "text"
            media = torch.randn(self.batch, 4, generator=g) if modality == "image" else None
            yield {"modality": modality, "media": media, "input_ids": ids, "labels": labels}

    def state_dict(self):
        return {"position": self.position}

    def load_state_dict(self, state):
        self.position = state["position"]


def test_lr_schedule_warmup_cosine_floor():
    cfg = OptimConfig(lr=1.0, min_lr=0.1, warmup_steps=10, total_steps=110)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(1.0)
    assert lr_at(60, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_at(110, cfg) == pytest.approx(0.1)
    assert lr_at(10_000, cfg) == pytest.approx(0.1)


def test_weight_decay_only_on_matrices_and_only_trainable():
    model = TinyLM()
    model.norm.weight.requires_grad_(False)
    groups = parameter_groups(model.named_parameters(), 0.1)
    decayed = {id(p) for p in groups[0]["params"]}
    assert id(model.output.weight) in decayed and id(model.tok_embeddings.weight) in decayed
    assert id(model.media_proj.bias) not in decayed
    assert all(id(model.norm.weight) != id(p) for g in groups for p in g["params"])


def test_loss_counts_only_answer_tokens_shifted():
    logits = torch.zeros(1, 4, 5)
    logits[0, 0, 3] = 10.0  # position 0 predicts token 1 = 3
    labels = torch.tensor([[IGNORE_INDEX, 3, IGNORE_INDEX, IGNORE_INDEX]])
    loss, count = causal_lm_loss(logits, labels)
    assert count == 1
    assert float(loss) == pytest.approx(-torch.log_softmax(logits[0, 0], -1)[3].item())


def _run(out: Path, steps: int, resume: bool = False, save_every: int = 0) -> list[dict]:
    torch.manual_seed(0)
    model = TinyLM()
    cfg = TrainConfig(out_dir=out, max_steps=steps, log_every=1, save_every=save_every,
                      optim=OptimConfig(lr=1e-2, warmup_steps=2, total_steps=8, accum_steps=2, weight_decay=0.1))
    trainer = Trainer(model, CountingLoader(), cfg, log=lambda _: None)
    if resume:
        trainer.resume(out)
    return trainer.train()


def test_resume_gives_identical_losses(tmp_path):
    full = _run(tmp_path / "full", 8)
    _run(tmp_path / "cut", 4)
    resumed = _run(tmp_path / "cut", 8, resume=True)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in full]
    assert [r["step"] for r in resumed] == list(range(1, 9))
    state = load_checkpoint(tmp_path / "cut")
    assert state["step"] == 8 and state["loader"] == {"position": 16}


def test_frozen_parameters_do_not_move(tmp_path):
    torch.manual_seed(0)
    model = TinyLM()
    model.tok_embeddings.weight.requires_grad_(False)
    before = model.tok_embeddings.weight.clone()
    cfg = TrainConfig(out_dir=tmp_path, max_steps=3, log_every=1, optim=OptimConfig(lr=1e-2, total_steps=3))
    history = Trainer(model, CountingLoader(), cfg, log=lambda _: None).train()
    assert torch.equal(model.tok_embeddings.weight, before)
    assert set(history[-1]["loss"]) <= {"image", "text"}
    assert "tok_embeddings.weight" not in load_checkpoint(tmp_path)["model"]


def test_optim_config_takes_every_optimizer_setting_from_the_recipe():
    """The recipe's OptimSpec owns the optimizer settings: a non-default value of each one reaches the trainer."""
    recipe = load_recipe(data_dir("recipes") / "demo.yaml")
    optim = replace(recipe.optim, lr=0.25, min_lr=0.125, weight_decay=0.5, betas=(0.5, 0.75), eps=1e-3,
                    clip_grad=3.0, accum_steps=4)
    cfg = OptimConfig.from_recipe(optim, replace(recipe.schedule, warmup_steps=7, total_steps=None), 40)
    assert (cfg.lr, cfg.min_lr, cfg.weight_decay, cfg.betas, cfg.eps, cfg.clip_grad, cfg.accum_steps) == \
        (0.25, 0.125, 0.5, (0.5, 0.75), 1e-3, 3.0, 4)
    assert (cfg.warmup_steps, cfg.total_steps) == (7, 40)  # no total_steps in the schedule: the whole run
    assert OptimConfig.from_recipe(optim, replace(recipe.schedule, total_steps=12), 40).total_steps == 12


def _one_step(tmp_path: Path, loader, accum_steps: int = 1, clip_grad: float = 1e6) -> dict[str, torch.Tensor]:
    """The weights after one optimizer step. ``eps=1`` makes AdamW's first update lr·g/(|g|+1), linear in the
    gradient for small ones, so the size of the (clipped, accumulated) gradient shows in the weights."""
    torch.manual_seed(0)
    model = TinyLM()
    cfg = TrainConfig(out_dir=tmp_path, max_steps=1, log_every=1,
                      optim=OptimConfig(lr=1.0, eps=1.0, clip_grad=clip_grad, accum_steps=accum_steps, total_steps=1))
    Trainer(model, loader, cfg, log=lambda _: None).train()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class FixedBatches:
    """Text batches cut from one fixed batch of 4 rows: whole, or in ``parts`` consecutive slices."""

    def __init__(self, parts: int) -> None:
        batch = next(iter(CountingLoader()))
        rows = batch["input_ids"].size(0) // parts
        self.batches = [{"modality": "text", "media": None, "input_ids": batch["input_ids"][i:i + rows],
                         "labels": batch["labels"][i:i + rows]} for i in range(0, rows * parts, rows)]

    def __iter__(self):
        return iter(self.batches)


def test_gradients_are_clipped_to_the_recipe_norm(tmp_path):
    torch.manual_seed(0)
    before = TinyLM().state_dict()
    moved = {}
    for clip in (1e-6, 1e6):
        after = _one_step(tmp_path / str(clip), CountingLoader(), clip_grad=clip)
        moved[clip] = sum(float((after[k] - before[k]).norm() ** 2) for k in before) ** 0.5
    assert moved[1e-6] < 1e-5 < 1e-2 < moved[1e6]


def test_accumulated_half_batches_step_like_the_whole_batch(tmp_path):
    whole = _one_step(tmp_path / "whole", FixedBatches(1))
    halves = _one_step(tmp_path / "halves", FixedBatches(2), accum_steps=2)
    last_half_only = _one_step(tmp_path / "last", FixedBatches(2).batches[1:])  # accumulation forgotten
    assert all(torch.allclose(whole[k], halves[k], atol=1e-6) for k in whole)
    assert not all(torch.allclose(whole[k], last_half_only[k], atol=1e-6) for k in whole)  # the test can tell


def test_optimizer_is_adamw_with_the_recipe_betas_and_eps():
    optimizer = build_optimizer(TinyLM(), OptimConfig(betas=(0.9, 0.95), eps=1e-6))
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["betas"] == (0.9, 0.95) and optimizer.defaults["eps"] == 1e-6


@pytest.mark.filterwarnings("ignore:.*CUDA is not available")
@pytest.mark.parametrize("device, precision, dtype", [("cuda", "bf16", torch.bfloat16), ("cuda", "fp16", torch.float16),
                                                      ("cuda", "fp32", None), ("cpu", "bf16", None)])
def test_autocast_only_on_gpu_in_the_chosen_precision(tmp_path, device, precision, dtype):
    trainer = Trainer(TinyLM(), CountingLoader(), TrainConfig(out_dir=tmp_path, max_steps=1, precision=precision),
                      device=torch.device(device), log=lambda _: None)
    context = trainer._autocast()
    if dtype is None:
        assert not isinstance(context, torch.autocast)  # fp32
    else:
        assert isinstance(context, torch.autocast) and context.device == "cuda" and context.fast_dtype == dtype


@pytest.mark.parametrize("validate_every, expected", [(3, [3, 5]), (0, [5])])
def test_validation_every_n_steps_and_at_the_end(tmp_path, validate_every, expected):
    held_out = FixedBatches(2).batches
    cfg = TrainConfig(out_dir=tmp_path, max_steps=5, log_every=1, validate_every=validate_every,
                      optim=OptimConfig(lr=1e-2, total_steps=5))
    Trainer(TinyLM(), CountingLoader(), cfg, log=lambda _: None, validation=lambda: iter(held_out)).train()
    records = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    validation = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in validation] == expected
    assert all(set(r["val_loss"]) == {"text"} and r["val_loss_mean"] == r["val_loss"]["text"] for r in validation)


class WithStandIns(CountingLoader):
    """Every other batch, the first included, is the loader's stand-in for a rank with no share of a batch (one
    padded row, no target, zero media)."""

    def __iter__(self):
        for i, batch in enumerate(super().__iter__()):
            if i % 2 == 0:
                yield {"modality": batch["modality"], "placeholder": True, "keys": [],
                       "media": None if batch["media"] is None else torch.zeros(1, 4),
                       "input_ids": torch.zeros(1, self.length, dtype=torch.long),
                       "labels": torch.full((1, self.length), IGNORE_INDEX)}
            else:
                yield batch


def _stand_in_run(tmp_path, steps: int) -> tuple[TinyLM, dict, list[dict]]:
    torch.manual_seed(0)
    model = TinyLM()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(out_dir=tmp_path, max_steps=steps, log_every=1,
                      optim=OptimConfig(lr=1e-2, warmup_steps=0, total_steps=steps, weight_decay=0.0))
    # No weight decay: AdamW's decay shrinks weights on any step; with it off, a first step moves a weight only
    # through its gradient.
    return model, before, Trainer(model, WithStandIns(), cfg, log=lambda _: None).train()


def test_a_stand_in_batch_trains_nothing_and_is_not_logged(tmp_path):
    """A stand-in runs forward and backward (so every rank takes part in each collective) but gives a zero
    gradient, no loss to the log and no samples to the throughput."""
    model, before, history = _stand_in_run(tmp_path, 1)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert history[0]["loss"] == {} and history[0]["samples_per_s"] == 0 and math.isnan(history[0]["loss_mean"])
    model, before, history = _stand_in_run(tmp_path / "more", 4)
    assert [list(r["loss"]) for r in history] == [[], ["text"], [], ["text"]]
    assert all(math.isfinite(r["loss"]["text"]) for r in history[1::2])
    assert not all(torch.equal(before[k], v) for k, v in model.state_dict().items())
