"""A tiny caption set in COCO's official layout, for the eval tests."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

def write_tiny_coco_captions(root: Path, n: int = 3, seed: int = 0) -> tuple[Path, Path]:
    """``n`` random JPEGs under ``root/images`` and COCO-form captions (two per image) → (annotations, media root)."""
    rng = np.random.default_rng(seed)
    media = Path(root) / "images"
    media.mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    words = ["red", "blue", "green", "square", "noise", "pattern", "bright", "dark"]
    for k in range(n):
        name = f"{k:012d}.jpg"
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(buf, format="JPEG")
        (media / name).write_bytes(buf.getvalue())
        images.append({"id": 100 + k, "file_name": name, "height": 48, "width": 64})
        for j in range(2):
            caption = f"a {words[(k + j) % len(words)]} {words[(k + 2 * j + 3) % len(words)]} image"
            anns.append({"id": 1000 + 2 * k + j, "image_id": 100 + k, "caption": caption})
    ann_path = Path(root) / "captions.json"
    ann_path.write_text(json.dumps({"info": {}, "licenses": [], "images": images, "annotations": anns}))
    return ann_path, media
