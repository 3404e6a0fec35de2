"""Media files → model tensors for inference, through the same codecs (conversion check + eval decode) that
build and read the shards, so chat and eval see exactly what training saw."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from onellm_data.errors import OnellmDataError


@dataclass(frozen=True)
class MediaInput:
    """One input: ``path`` is the media file (the RGB image for depth/normal, the recording for IMU)."""

    modality: str
    path: Path
    map_path: Path | None = None  # depth or normal map paired with the RGB image
    window: tuple[float, float] | None = None  # IMU window (start, end) in seconds


def media_members(item: MediaInput) -> dict[str, bytes]:
    """What the shard would hold for this input (validated and normalised by the modality's codec)."""
    from onellm_data.codecs import audio, depth, fmri, image, imu, point, video

    m, path = item.modality, Path(item.path)
    if not path.exists():
        raise OnellmDataError(f"media file not found: {path}")
    if m == "image":
        members, _ = image.prepare_image(path)
    elif m == "video":
        members, _ = video.prepare_video(path)
    elif m == "audio":
        members, _ = audio.prepare_audio(path)
    elif m == "point":
        members, _ = point.prepare_point(path)
    elif m == "fmri":
        members, _ = fmri.prepare_fmri(path)
    elif m in ("depth", "normal"):
        if item.map_path is None:
            raise OnellmDataError(f"{m} input needs the RGB image and its {m} map (OneLLM always pairs them)")
        members, _ = depth.prepare_map_pair(path, Path(item.map_path), kind=m)
    elif m == "imu":
        if item.window is None:
            raise OnellmDataError("imu input needs a window (start, end) in seconds")
        members, _ = imu.prepare_imu_window(imu.load_imu_recording(path), *item.window)
    else:
        raise OnellmDataError(f"no media for modality {m!r}")
    return members


def load_media(item: MediaInput) -> torch.Tensor:
    """The eval-mode tensor with a batch dimension of 1."""
    from onellm_data.codecs import decode

    return decode(item.modality, media_members(item), train=False).unsqueeze(0)
