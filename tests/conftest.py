"""Shared fixtures: tiny raw sources in tmp_path."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def make_jpeg(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def write_jsonl_source(raw: Path, n_images: int = 12, n_text: int = 3, bad: bool = True) -> dict[str, int]:
    """A ``jsonl`` raw source: image samples with real JPEGs, text samples, and (optionally) bad rows."""
    (raw / "media").mkdir(parents=True, exist_ok=True)
    lines = []
    rng = random.Random(0)
    for i in range(n_images):
        (raw / "media" / f"img{i}.jpg").write_bytes(make_jpeg(i))
        lines.append({"id": f"img{i}", "modality": "image", "media": {"jpg": f"media/img{i}.jpg"},
                      "conversations": [{"from": "human", "value": "<image>\nWhat is shown?"},
                                        {"from": "gpt", "value": f"noise pattern {rng.randint(0, 99)}"}]})
    for i in range(n_text):
        lines.append({"id": f"txt{i}", "modality": "text",
                      "conversations": [{"from": "human", "value": f"Say {i}."}, {"from": "gpt", "value": str(i)}]})
    rejects = 0
    if bad:
        lines.append({"id": "missing", "modality": "image", "media": {"jpg": "media/nope.jpg"},
                      "conversations": [{"from": "human", "value": "<image>\nx"}, {"from": "gpt", "value": "y"}]})
        lines.append({"id": "order", "modality": "text",
                      "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]})
        lines.append({"id": "img0", "modality": "text",
                      "conversations": [{"from": "human", "value": "dup"}, {"from": "gpt", "value": "id"}]})
        rejects = 3
    text = "\n".join(json.dumps(line) for line in lines) + "\n"
    if bad:
        text += "{not json\n"
        rejects += 1
    (raw / "samples.jsonl").write_text(text)
    return {"samples": n_images + n_text, "rejects": rejects}


@pytest.fixture
def jsonl_raw(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    raw = tmp_path / "raw"
    counts = write_jsonl_source(raw)
    return raw, counts


REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def realdata(rel: str) -> Path:
    """A file of the third-party real-data folder, or skip (it is not part of a user's clone)."""
    path = REALDATA / rel
    if not path.exists():
        pytest.skip(f"real-data file {rel} not available (../shared/realdata is only present in the team checkout)")
    return path
