"""Depth and normal maps, always paired with their RGB image (OneLLM feeds both).

Conversion: the RGB image is kept as it is; the map is kept as PNG (16-bit depth preserved). A map whose size
differs from the image's is resized to it (nearest for depth, so no invented depths; bicubic for normals) and
``map_resized`` is recorded. Loading gives [2, 3, 224, 224] (image, map): the map as 3 channels (8-bit maps as
OneLLM reads them; 16-bit depth scaled by its maximum into 0-255 first), the same random-resized crop for both
in training, resize + centre crop in evaluation.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from onellm_data.codecs._vision import crop_resize, eval_image, normalize, random_resized_crop_params, to_tensor
from onellm_data.codecs.image import open_image, prepare_image, read_source, to_rgb
from onellm_data.errors import CodecError

KINDS = ("depth", "normal")


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def prepare_map_pair(image: Path | bytes | str, map_: Path | bytes | str, kind: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    members, meta = prepare_image(image)
    data = read_source(map_)
    m = open_image(data, f"{kind} map")
    resized = m.size != (meta["width"], meta["height"])
    changed = resized or not data.startswith(b"\x89PNG")
    if kind == "depth" and m.mode not in ("L", "I", "I;16", "I;16B", "F", "RGB", "LA"):
        m, changed = m.convert("L"), True
    if m.mode == "F":  # float depth cannot live in PNG: scale its range into 16 bits
        arr = np.asarray(m, dtype=np.float64)
        top = float(np.nanmax(arr)) if np.isfinite(arr).any() else 0.0
        arr = np.nan_to_num(arr / top * 65535 if top > 0 else arr)
        m, changed = Image.fromarray(arr.astype(np.uint16)), True
    if resized:
        m = m.resize((meta["width"], meta["height"]), Image.NEAREST if kind == "depth" else Image.BICUBIC)
    out = _png(m) if changed else data
    members[f"{kind}.png"] = out
    return members, {**meta, "map_resized": resized}


def map_as_rgb(img: Image.Image) -> Image.Image:
    """The map as an RGB image: 8-bit and colour maps convert directly; wider depths scale by their maximum."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max()
        arr = arr / top * 255.0 if top > 0 else arr
        img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), mode="L")
    return img.convert("RGB")


def decode_map_pair(image_data: bytes, map_data: bytes, train: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    rgb = to_rgb(open_image(image_data))
    m = map_as_rgb(open_image(map_data, "map"))
    if m.size != rgb.size:
        m = m.resize(rgb.size, Image.BICUBIC)
    if train:
        box = random_resized_crop_params(rgb.width, rgb.height, generator)
        pair = [normalize(to_tensor(crop_resize(x, box))) for x in (rgb, m)]
    else:
        pair = [eval_image(x) for x in (rgb, m)]
    return torch.stack(pair)
