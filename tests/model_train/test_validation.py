"""Validation loss per modality on the recipe's held-out split, every ``schedule.validate_every`` steps."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from model.text_tokenizer import DEMO_TOKENIZER
from model.train import RunOptions, run
from onellm_data.loader.dataset import held_out_mask
from onellm_data.index import read_table
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus


def test_train_log_has_validation_loss_per_modality_and_never_trains_held_out(tmp_path):
    corpus = build_corpus(tmp_path, {"pics": (16, "image", False), "chat": (16, "text", False)})
    spec = {"name": "val", "model": {"preset": "tiny"}, "trainable": ["upm", "llm"], "frozen": ["clip"],
            "tokenizer": str(DEMO_TOKENIZER),
            "data": {"corpus": str(corpus), "mix": [{"source": "pics"}, {"source": "chat"}], "seq_len": 96,
                     "batch_size": 2, "held_out": {"pics": 0.3, "chat": 0.3}},
            "optim": {"lr": 3e-3}, "schedule": {"max_steps": 6, "validate_every": 3}}
    path = tmp_path / "val.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "out"
    run(path, RunOptions(out_dir=out, workers=0, log_every=1, record_keys=True), log=lambda _: None)
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    validation = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in validation] == [3, 6]
    assert all(set(r["val_loss"]) == {"image", "text"} and r["val_tokens"] > 0 for r in validation), validation
    assert validation[1]["val_loss_mean"] < validation[0]["val_loss_mean"] + 1.0  # finite, same scale
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4, 5, 6]
    samples = read_table(corpus, "samples", columns=["key", "source", "stored_key"])
    held = set(samples.filter(held_out_mask(load_recipe(path), samples)).column("key").to_pylist())
    seen = {line.split("\t")[1] for line in (out / "seen_keys.rank0.txt").read_text().splitlines()}
    assert held and seen and held.isdisjoint(seen)

