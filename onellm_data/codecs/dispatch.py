"""``decode``: a sample's members → OneLLM's input tensor, by modality, and the tensor shape each modality gives.

Each modality module is imported on first use so that converters for one modality never pay for another's
libraries (decord, open3d, nibabel)."""

from __future__ import annotations

from importlib import import_module

import torch

from onellm_data.errors import CodecError
from onellm_data.schema import AUDIO_EXTS, IMAGE_EXTS, MAP_MODALITIES, VIDEO_EXTS

# OneLLM's tensor shape per modality (without the batch dimension).
SHAPES: dict[str, tuple[int, ...]] = {
    "image": (3, 224, 224), "video": (15, 3, 224, 224), "audio": (1, 128, 1024), "point": (8192, 6),
    "depth": (2, 3, 224, 224), "normal": (2, 3, 224, 224), "imu": (6, 400), "fmri": (1, 15724),
}


def _first(members: dict[str, bytes], exts: tuple[str, ...], modality: str) -> bytes:
    for ext in exts:
        if ext in members:
            return members[ext]
    raise CodecError(f"{modality} sample has no media member", f"members {sorted(members)}")


def decode(modality: str, members: dict[str, bytes], *, train: bool = False,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """The model input for one sample; ``train`` selects the training augmentation, ``generator`` seeds it."""
    if modality == "image":
        return import_module("onellm_data.codecs.image").decode_image(
            _first(members, IMAGE_EXTS, modality), train, generator)
    if modality == "video":
        return import_module("onellm_data.codecs.video").decode_video(
            _first(members, VIDEO_EXTS, modality), train, generator)
    if modality == "audio":
        return import_module("onellm_data.codecs.audio").decode_audio(
            _first(members, AUDIO_EXTS, modality), train, generator)
    if modality in MAP_MODALITIES:
        depth = import_module("onellm_data.codecs.depth")
        return depth.decode_map_pair(_first(members, IMAGE_EXTS, modality),
                                     _first(members, (f"{modality}.png",), modality), train, generator)
    if modality in ("point", "imu", "fmri"):
        module = import_module(f"onellm_data.codecs.{modality}")
        return getattr(module, f"decode_{modality}")(_first(members, ("npy",), modality), train, generator)
    raise CodecError("no codec for modality", modality)
