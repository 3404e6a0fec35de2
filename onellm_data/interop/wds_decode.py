"""Decoders for plain ``webdataset`` pipelines over our shards.

``webdataset``'s ``.decode("pil")`` turns a 16-bit ``depth.png`` into 8-bit RGB (every millimetre value above
255 becomes white) and leaves ``npy``/audio as bytes. Here:

- ``decode_arrays``: a ``.decode()`` handler giving faithful arrays: images as uint8 RGB [H, W, 3], maps in their
  stored dtype (16-bit depth stays uint16 [H, W]), ``npy`` as stored, audio as float32 [channels, samples] plus
  its rate, ``json`` as a dict; video stays bytes (decode it with ``to_model_inputs`` or your own reader).
- ``ModelInputs`` / ``to_model_inputs``: a ``.map()`` step on undecoded samples giving OneLLM's model tensor
  for the sample's modality (the same codecs the training loader uses) with its conversation.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from onellm_data.schema import AUDIO_EXTS, IMAGE_EXTS, MEMBER_SLOTS

_MAP_EXTS = ("depth.png", "normal.png")
_MEDIA_EXTS = {ext for slots in MEMBER_SLOTS.values() for slot in slots for ext in slot}


def decode_arrays(key: str, data: bytes) -> Any:
    """``webdataset`` handler: ``key`` is the member extension with a leading dot (``.depth.png``).

    Returns None for members it does not handle (video, foreign members), so later handlers still see them.
    """
    ext = key.lower().lstrip(".")
    if ext == "json":
        return json.loads(data)
    if ext in _MAP_EXTS:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img)  # I;16 → uint16 [H, W]; L → uint8 [H, W]; RGB → uint8 [H, W, 3]
    if ext in IMAGE_EXTS:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"))
    if ext == "npy":
        return np.load(io.BytesIO(data), allow_pickle=False)
    if ext in AUDIO_EXTS:
        from onellm_data.codecs.audio import read_waveform

        wav, rate = read_waveform(data)
        return {"array": wav, "sampling_rate": rate}
    return None


@dataclass(frozen=True)
class ModelInputs:
    """``.map(ModelInputs())`` on undecoded samples → ``{"__key__", "modality", "media", "conversations"}``.

    ``media`` is OneLLM's input tensor (image [3, 224, 224], video [15, 3, 224, 224], audio [1, 128, 1024],
    point [8192, 6], depth/normal [2, 3, 224, 224], IMU [6, 400], fMRI [1, 15724]); None for text chats.
    ``train=True`` applies the training augmentation, seeded per sample key when ``seed`` is set.
    """

    train: bool = False
    seed: int | None = None

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        import torch

        from onellm_data.codecs import decode

        record = sample["json"]
        record = json.loads(record) if isinstance(record, (bytes, str)) else record
        members = {k: v for k, v in sample.items() if k in _MEDIA_EXTS and isinstance(v, bytes)}
        media = None
        if record["modality"] != "text":
            generator = None
            if self.seed is not None:
                digest = hashlib.blake2b(f"{self.seed}:{record['key']}".encode(), digest_size=8).digest()
                generator = torch.Generator().manual_seed(int.from_bytes(digest, "little") >> 1)
            media = decode(record["modality"], members, train=self.train, generator=generator)
        return {"__key__": sample["__key__"], "modality": record["modality"], "media": media,
                "conversations": record["conversations"], "source": record["source"],
                # further items stored with the same media (one image, all its captions): train on each
                "more_conversations": [m["conversations"] for m in record.get("more_conversations", [])]}


to_model_inputs = ModelInputs()
