"""Image codec. Conversion keeps the original JPEG/PNG/WebP bytes (other formats become lossless PNG) after
proving they decode; loading gives CLIP's [3, 224, 224] (random-resized crop in training, resize + centre crop
in evaluation).

Kept byte for byte: JPEG (and MPO, a JPEG with extra pictures that every JPEG decoder reads as its first), PNG and
WebP whose pixels are plain 8-bit (modes 1, L, LA, P, PA, RGB, RGBA). Everything else becomes an 8-bit PNG that any
reader decodes to the same pixels: other formats (BMP, GIF, TIFF…), animations (first frame), CMYK JPEGs (as RGB),
16-bit PNGs and other wide greys (scaled by their nominal range, 65535 or 1.0 for float, into 0-255). Alpha is kept
(OneLLM's ``convert('RGB')`` drops it at load time, as we do)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs._vision import eval_image, train_image
from onellm_data.codecs.check import proven
from onellm_data.errors import CodecError

KEPT_FORMATS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp"}
KEPT_MODES = {"1", "L", "LA", "P", "PA", "RGB", "RGBA"}
WIDE_INT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
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
        raise CodecError(f"undecodable {what}", exc_detail(exc)) from exc
    if img.width < 1 or img.height < 1:
        raise CodecError(f"{what} has no pixels")
    return img


def to_8bit(img: Image.Image) -> Image.Image:
    """Wide greys (16-bit, 32-bit int, float) as 8-bit ``L`` scaled by their nominal range; other modes as they are."""
    if img.mode in WIDE_INT_MODES:
        arr = np.asarray(img, dtype=np.float64) / 257.0
    elif img.mode == "F":
        arr = np.nan_to_num(np.asarray(img, dtype=np.float64)) * 255.0
    else:
        return img
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """The image as 8-bit RGB (what the model sees): alpha dropped, as OneLLM's ``convert('RGB')``."""
    return to_8bit(img).convert("RGB")


def _is_16bit_png(data: bytes) -> bool:
    # The IHDR chunk comes first: 8-byte signature, length, "IHDR", width, height, then the bit depth.
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 24 and data[24] == 16


def prepare_image(src: Path | bytes | str) -> tuple[dict[str, bytes], dict[str, Any]]:
    members, meta, _ = prepare_image_rgb(src)
    return members, meta


def prepare_image_rgb(src: Path | bytes | str, prove: bool = True
                      ) -> tuple[dict[str, bytes], dict[str, Any], Image.Image]:
    """``prepare_image``, also giving the RGB image its stored member decodes to (depth/normal pair it with the
    map without decoding it again, and check the pair themselves: ``prove=False``)."""
    data = read_source(src)
    img = open_image(data)
    ext = KEPT_FORMATS.get(img.format or "")
    animated = img.format != "MPO" and getattr(img, "n_frames", 1) > 1
    if ext is None or animated or img.mode not in KEPT_MODES or _is_16bit_png(data):
        frame = to_8bit(img)
        frame = frame.convert("RGBA" if "A" in frame.getbands() or "transparency" in frame.info else "RGB")
        buf = io.BytesIO()
        frame.save(buf, format="PNG")
        data, ext = buf.getvalue(), "png"
        rgb = to_rgb(open_image(data))  # what is stored is what gets checked
    else:
        rgb = to_rgb(img)  # decode_image on these bytes, reusing the decode above
    members = {ext: data}
    if prove:
        proven("image", members, eval_image(rgb))  # the conversion check (codecs/check.py), with the one decode
    return members, {"width": img.width, "height": img.height}, rgb


def decode_image(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    img = to_rgb(open_image(data))
    return train_image(img, generator) if train else eval_image(img)
