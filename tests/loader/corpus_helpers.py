"""Tiny corpora for loader tests: jsonl sources converted by the real runner into real shards + index."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import torch
import yaml

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters.jsonl import JsonlConverter
from tests.conftest import make_jpeg

WORDS = ["red", "dog", "cat", "table", "blue", "car", "tree", "bird", "green", "ball"]


def write_source(raw: Path, n: int, modality: str, caption: bool = False, seed: int = 0) -> None:
    """``n`` samples of one modality; answers are a few words (distinct per sample)."""
    (raw / "media").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        answer = " ".join(WORDS[(i * 7 + j + seed) % len(WORDS)] for j in range(1 + i % 4)) + f" {i}"
        if modality == "text":
            conv = [{"from": "human", "value": f"Say item {i}."}, {"from": "gpt", "value": answer}]
            lines.append({"id": f"t{i}", "modality": "text", "conversations": conv})
            continue
        (raw / "media" / f"{i}.jpg").write_bytes(make_jpeg(seed * 1000 + i, size=(16, 12)))
        question = "<image>" if caption else "<image>\nWhat is shown?"
        conv = [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
        lines.append({"id": f"i{i}", "modality": "image", "media": {"jpg": f"media/{i}.jpg"}, "conversations": conv,
                      "meta": {"task": "caption"} if caption else {}})
    (raw / "samples.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def build_corpus(root: Path, sources: dict[str, tuple[int, str, bool]], max_count: int = 5) -> Path:
    """``sources``: name → (samples, modality, caption form). Small shards so streams cross shard borders."""
    corpus = root / "corpus"
    for seed, (name, (n, modality, caption)) in enumerate(sorted(sources.items())):
        raw = root / "raw" / name
        write_source(raw, n, modality, caption, seed)
        run_conversion(JsonlConverter(raw, source=name), corpus,
                       ShardSettings(max_count=max_count, partition_size=max_count * 4))
    return corpus


def fake_decode(modality: str, members: dict[str, bytes], *, train: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """A cheap stand-in for codecs.decode: depends on the bytes and on the generator (like random crops)."""
    data = next(v for k, v in members.items() if k != "json")
    noise = torch.rand(1, generator=generator) if train else torch.zeros(1)
    return torch.cat([torch.tensor([float(len(data)), float(sum(data[:64]))]), noise])


def write_recipe(path: Path, mix: list[dict], *, corpus: Path | None = None, sampling: str = "weighted",
                 batch_size: dict | int = 3, seq_len: int = 96, extra_data: dict | None = None) -> Path:
    data = {"mix": mix, "seq_len": seq_len, "batch_size": batch_size, "sampling": sampling, "block_shards": 2,
            **(extra_data or {})}
    if corpus is not None:
        data["corpus"] = str(corpus)
    recipe = {"name": path.stem, "model": {"preset": "tiny"}, "trainable": ["llm"], "frozen": ["clip"],
              "data": data, "optim": {"lr": 1e-3}, "schedule": {"max_steps": 10}}
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def take(loader, n: int) -> list[dict]:
    """The first ``n`` batches of a fresh iteration (a loader resumes from its state on each ``iter``)."""
    return list(itertools.islice(loader, n))
