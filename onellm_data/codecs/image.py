"""Image codec. Conversion keeps the original JPEG/PNG/WebP bytes (other formats become lossless PNG) after
proving they decode; loading gives CLIP's [3, 224, 224] (random-resized crop in training, resize + centre crop
in evaluation)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from PIL import Image, UnidentifiedImageError

from onellm_data.codecs._vision import eval_image, train_image
from onellm_data.errors import CodecError

KEPT_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
Image.MAX_IMAGE_PIXELS = 200_000_000  # large scans are fine; decompression bombs are not


def read_source(src: Path | bytes | str) -> bytes:
    if isinstance(src, (bytes, bytearray)):
        return bytes(src)
    path = Path(src)
    if not path.is_file():
        raise CodecError("missing media file", str(path))
    return path.read_bytes()


def open_image(data: bytes, what: str = "image") -> Image.Image:
    """Fully decode (``load``) so truncated files fail here, not in a training worker."""
    if not data:
        raise CodecError(f"empty {what}")
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise CodecError(f"undecodable {what}", str(exc)[:200]) from exc
    if img.width < 1 or img.height < 1:
        raise CodecError(f"{what} has no pixels")
    return img


def prepare_image(src: Path | bytes | str) -> tuple[dict[str, bytes], dict[str, Any]]:
    data = read_source(src)
    img = open_image(data)
    ext = KEPT_FORMATS.get(img.format or "")
    if ext is None or getattr(img, "n_frames", 1) > 1:
        buf = io.BytesIO()
        frame = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        frame.save(buf, format="PNG")
        data, ext = buf.getvalue(), "png"
    return {ext: data}, {"width": img.width, "height": img.height}


def decode_image(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    img = open_image(data).convert("RGB")
    return train_image(img, generator) if train else eval_image(img)
