"""Audio spectrogram masking (OneLLM's SpecAugment) runs in alignment (caption-format) stages only; other
modalities keep their training augmentation in every stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from model.text_tokenizer import DEMO_TOKENIZER, Tokenizer
from onellm_data.converters.jsonl import JsonlConverter
from onellm_data.loader import make_loader
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.recipes import load_recipe
from tests.loader.corpus_helpers import build_corpus, write_recipe


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("masking")
    corpus = build_corpus(root, {"pics": (4, "image", False)})
    raw = root / "raw" / "sounds"
    raw.mkdir(parents=True)
    lines = []
    for i in range(4):
        wave = 0.2 * np.sin(np.linspace(0, 400 * (i + 1), 16000)).astype(np.float32)
        sf.write(raw / f"{i}.wav", wave, 16000)
        lines.append({"id": f"s{i}", "modality": "audio", "media": {"wav": f"{i}.wav"},
                      "conversations": [{"from": "human", "value": "<audio>\nWhat is heard?"},
                                        {"from": "gpt", "value": f"tone {i}"}]})
    (raw / "samples.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    run_conversion(JsonlConverter(raw, source="sounds"), corpus, ShardSettings(max_count=4, partition_size=8))
    return corpus


@pytest.mark.parametrize(("fmt", "audio_augmented"), [("caption", True), ("chat", False)])
def test_audio_masking_only_in_caption_format(tmp_path, corpus, fmt, audio_augmented):
    seen: dict[str, set[bool]] = {}

    def recording_decoder(modality, members, *, train=False, generator=None):
        seen.setdefault(modality, set()).add(train)
        return torch.zeros(3)

    path = write_recipe(tmp_path / "r.yaml", [{"source": "pics"}, {"source": "sounds"}], corpus=corpus,
                        sampling="epoch", batch_size=2)
    path.write_text(f"format: {fmt}\n" + path.read_text())
    for _ in make_loader(load_recipe(path), None, Tokenizer(DEMO_TOKENIZER), decoder=recording_decoder):
        pass
    assert seen == {"audio": {audio_augmented}, "image": {True}}
