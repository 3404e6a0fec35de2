"""Depth and normal maps, always paired with their RGB image (OneLLM feeds both).

Conversion keeps the RGB image as the image codec does and stores the map losslessly as PNG, at its own size,
whatever PIL mode it arrives in (PNG, TIFF, PGM/PPM…):

- 8-bit grey (``L``) and colour (``RGB``) maps as they are (a PNG's own bytes are kept);
- 16-bit greys (``I;16``, ``I;16B``, ``I;16L``; a 16-bit PGM opens as 32-bit ``I``) and integer-valued ``I``/``F``
  maps within 0-65535 as 16-bit PNG with the same values;
- other ``I``/``F`` maps (fractional metres, values past 65535) scaled linearly by their maximum into 16 bits
  (``stored = round(value × map_scale)``, ``map_scale`` in the metadata); NaN, infinite and negative values, which
  mark invalid depth, become 0;
- palette/alpha/other modes converted as ``convert('RGB')`` would see them (palette depth as grey).

Loading gives [2, 3, 224, 224] (image, map). The map becomes 8-bit with :func:`map_for_model` (the one place
that decides how map values become the model's 0-255), is resized to the image's size bicubic when the sizes differ
(as OneLLM's loader), then both get the same random-resized crop in training, resize + centre crop in evaluation.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from onellm_data.codecs._vision import crop_resize, eval_image, normalize, random_resized_crop_params, to_tensor
from onellm_data.codecs.check import proven
from onellm_data.codecs.image import open_image, prepare_image_rgb, read_source, to_rgb
from onellm_data.errors import CodecError

KINDS = ("depth", "normal")
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
WIDE_MODES = (*SIXTEEN_BIT_MODES, "I", "F")
KEPT_PNG_MODES = ("L", "RGB", "I;16")
UINT16_MAX = 65535


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _wide_to_uint16(img: Image.Image) -> tuple[Image.Image, float | None]:
    """A wide grey map as a 16-bit image: the same values when they are integers in 0-65535, else scaled by the
    maximum (the scale is returned)."""
    arr = np.asarray(img)
    if img.mode in SIXTEEN_BIT_MODES:
        return Image.fromarray(arr.astype(np.uint16)), None
    arr = arr.astype(np.float64)
    valid = np.where(np.isfinite(arr) & (arr > 0), arr, 0.0)  # invalid depth (NaN, inf, < 0) is 0
    top = float(valid.max())
    if top <= UINT16_MAX and np.array_equal(valid, np.floor(valid)):
        return Image.fromarray(valid.astype(np.uint16)), None
    scale = UINT16_MAX / top
    return Image.fromarray(np.rint(valid * scale).astype(np.uint16)), scale


def canonical_map(img: Image.Image, kind: str) -> tuple[Image.Image, dict[str, Any]]:
    """The map in a PNG-storable mode (``L``, ``RGB`` or 16-bit ``I;16``) and what was done to its values."""
    if img.mode == "I;16":  # already what a 16-bit PNG holds
        return img, {}
    if img.mode in WIDE_MODES:
        out, scale = _wide_to_uint16(img)
        return out, ({"map_scale": scale} if scale is not None else {})
    if img.mode in ("L", "RGB"):
        return img, {}
    if img.mode in ("1", "LA", "La") or (img.mode in ("P", "PA") and kind == "depth"):
        return img.convert("L"), {}
    return img.convert("RGB"), {}


def prepare_map_pair(image: Path | bytes | str, map_: Path | bytes | str, kind: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    members, meta, rgb = prepare_image_rgb(image, prove=False)
    data = read_source(map_)
    m = open_image(data, f"{kind} map")
    stored, info = canonical_map(m, kind)
    keep = m.format == "PNG" and stored is m and m.mode in KEPT_PNG_MODES
    members[f"{kind}.png"] = data if keep else _png(stored)  # lossless: ``stored`` is what the PNG decodes to
    proven(kind, members, _pair_tensor(rgb, map_for_model(stored)))  # the conversion check, on the decodes above
    resized = m.size != (meta["width"], meta["height"])  # resized bicubic at load time, as OneLLM
    return members, {**meta, "map_resized": resized, "map_mode": m.mode, **info}


def map_for_model(img: Image.Image) -> Image.Image:
    """The map as the model's 8-bit image (grey ``L`` or ``RGB``; grey becomes three equal channels at the end,
    which commutes with every resize and crop). 8-bit grey and colour maps are taken as OneLLM's
    ``convert('RGB')`` takes them.

    Wider maps (16-bit, 32-bit, float) are scaled by their own maximum: ``floor(value × 255 / max)`` (NaN,
    infinite and negative values as 0). This is a deliberate difference from OneLLM: its ``convert('RGB')`` clips
    every value above 255, which turns a millimetre depth map into a black-and-white mask (87 % of the pixels of
    Open3D's RGBD sample saturate)."""
    if img.mode in SIXTEEN_BIT_MODES:
        arr = np.asarray(img).astype(np.uint32)
        top = int(arr.max()) if arr.size else 0
        grey = (arr * 255 // top if top > 0 else arr).astype(np.uint8)  # exact integer floor
        return Image.fromarray(grey, mode="L")
    if img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        arr = np.where(np.isfinite(arr) & (arr > 0), arr, 0.0)
        top = arr.max() if arr.size else 0.0
        grey = np.floor(arr * 255.0 / top) if top > 0 else arr
        return Image.fromarray(grey.clip(0, 255).astype(np.uint8), mode="L")
    if img.mode in ("L", "RGB"):
        return img
    return img.convert("RGB")


def map_as_rgb(img: Image.Image) -> Image.Image:
    """The map as the RGB image the model sees (see :func:`map_for_model`)."""
    return map_for_model(img).convert("RGB")


def _pair_tensor(rgb: Image.Image, m: Image.Image, train: bool = False, generator: torch.Generator | None = None,
                 box: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    if m.size != rgb.size:
        m = m.resize(rgb.size, Image.BICUBIC)
    if train or box is not None:
        box = box if box is not None else random_resized_crop_params(rgb.width, rgb.height, generator)
        pair = [normalize(to_tensor(crop_resize(x, box))) for x in (rgb, m)]
    else:
        pair = [eval_image(x) for x in (rgb, m)]
    return torch.stack(pair)


def decode_map_pair(image_data: bytes, map_data: bytes, train: bool = False,
                    generator: torch.Generator | None = None,
                    box: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """[2, 3, 224, 224]; ``box`` (top, left, h, w) fixes the training crop instead of drawing it."""
    rgb = to_rgb(open_image(image_data))
    return _pair_tensor(rgb, map_for_model(open_image(map_data, "map")), train, generator, box)
