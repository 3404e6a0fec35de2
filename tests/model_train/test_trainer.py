"""The training loop on a small stand-in model: schedule, masking, freezing and exact resume."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from model.optim import OptimConfig, lr_at, parameter_groups
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
