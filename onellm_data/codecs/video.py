"""Video codec. Conversion keeps the original container after decord opens it and decodes its first and last
frames; loading gives OneLLM's [15, 3, 224, 224]: 5 one-second clips with evenly spaced starts, the first frame
of each, short side scaled to 224, CLIP-normalised, and 3 spatial crops (start, centre, end of the long side)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from onellm_data.codecs._vision import CLIP_MEAN, CLIP_STD, SIZE
from onellm_data.codecs.image import read_source
from onellm_data.errors import CodecError
from onellm_data.schema import VIDEO_EXTS

CLIPS, CLIP_SECONDS, CROPS = 5, 1.0, 3


def open_video(data: bytes):
    import decord

    if not data:
        raise CodecError("empty video")
    try:
        reader = decord.VideoReader(io.BytesIO(data), num_threads=1)
    except (decord.DECORDError, RuntimeError, ValueError) as exc:
        raise CodecError("undecodable video", str(exc)[:200]) from exc
    if len(reader) == 0:
        raise CodecError("video has no frames")
    return reader


def prepare_video(src: Path | bytes | str, ext: str | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    import decord

    if ext is None:
        if isinstance(src, (bytes, bytearray)):
            raise ValueError("prepare_video needs ext= for raw bytes")
        ext = Path(src).suffix.lower().lstrip(".")
    if ext not in VIDEO_EXTS:
        raise CodecError("unsupported video format", ext)
    data = read_source(src)
    reader = open_video(data)
    n = len(reader)
    try:
        first = reader[0].asnumpy()
        reader[n - 1].asnumpy()
    except (decord.DECORDError, RuntimeError, IndexError) as exc:
        raise CodecError("undecodable video frames", str(exc)[:200]) from exc
    fps = float(reader.get_avg_fps()) or 0.0
    if fps <= 0:
        raise CodecError("video has no frame rate")
    height, width = first.shape[:2]
    meta = {"duration": round(n / fps, 4), "fps": round(fps, 4), "width": int(width), "height": int(height),
            "num_frames": int(n)}
    return {ext: data}, meta


def clip_frame_indices(num_frames: int, fps: float, clips: int = CLIPS, clip_seconds: float = CLIP_SECONDS) -> list[int]:
    """First frame of each of ``clips`` clips whose starts are evenly spaced over [0, duration - clip]."""
    duration = num_frames / fps
    span = max(duration - clip_seconds, 0.0)
    starts = [span * k / (clips - 1) for k in range(clips)] if clips > 1 else [0.0]
    return [min(int(round(s * fps)), num_frames - 1) for s in starts]


def short_side_scale(frames: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """[T, 3, H, W] → short side ``size`` (bilinear, aspect kept)."""
    h, w = frames.shape[-2:]
    if w < h:
        new = (int(np.floor(h * size / w)), size)
    else:
        new = (size, int(np.floor(w * size / h)))
    return F.interpolate(frames, size=new, mode="bilinear", align_corners=False)


def spatial_crops(frames: torch.Tensor, size: int = SIZE) -> list[torch.Tensor]:
    """Three ``size`` crops along the long side: start, centre, end."""
    h, w = frames.shape[-2:]
    y, x = (h - size) // 2, (w - size) // 2
    if h > w:
        offsets = [(0, x), (y, x), (h - size, x)]
    else:
        offsets = [(y, 0), (y, x), (y, w - size)]
    return [frames[..., t : t + size, l : l + size] for t, l in offsets]


def decode_video(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """[15, 3, 224, 224], clip-major (clip 0 crops 0..2, clip 1 crops 0..2, ...); the same in train and eval."""
    reader = open_video(data)
    idx = clip_frame_indices(len(reader), float(reader.get_avg_fps()) or 25.0)
    frames = torch.from_numpy(reader.get_batch(idx).asnumpy()).permute(0, 3, 1, 2).float().div_(255.0)
    frames = short_side_scale(frames)
    frames = (frames - CLIP_MEAN) / CLIP_STD
    crops = spatial_crops(frames)  # each [5, 3, 224, 224]
    return torch.stack(crops, dim=1).reshape(CLIPS * CROPS, 3, SIZE, SIZE)
