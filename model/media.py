"""Media files → model tensors for inference, through the same codecs (conversion check + eval decode) that
build and read the shards, so chat and eval see exactly what training saw."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

from onellm_data import codecs
from onellm_data.errors import OnellmDataError
from onellm_data.schema import MAP_MODALITIES, MEDIA_MODALITIES



class MediaError(OnellmDataError):
    """An inference input that cannot become a model tensor (missing file, wrong modality, bad window)."""


@dataclass(frozen=True)
class MediaInput:
    """One input: ``path`` is the media file (the RGB image for depth/normal, the recording for IMU)."""

    modality: str
    path: Path
    map_path: Path | None = None  # depth or normal map paired with the RGB image
    window: tuple[float, float] | None = None  # IMU window (start, end) in seconds

    def describe(self) -> str:
        extra = f" + map {self.map_path}" if self.map_path else ""
        if self.window is not None:
            extra += f" [{self.window[0]:g}s, {self.window[1]:g}s]"
        return f"{self.modality} {self.path}{extra}"


def check_input(item: MediaInput) -> None:
    """Reject inputs that name the wrong extras for their modality, before any file is read."""
    m = item.modality
    if m not in MEDIA_MODALITIES:
        raise MediaError(f"no media for modality {m!r}; media modalities: {', '.join(MEDIA_MODALITIES)}")
    if m in MAP_MODALITIES and item.map_path is None:
        raise MediaError(f"{m} input needs the RGB image and its {m} map (OneLLM always pairs them): "
                         "give the map (chat: --map; eval annotations: map_file)")
    if m not in MAP_MODALITIES and item.map_path is not None:
        raise MediaError(f"a map is only for depth/normal inputs, not {m}")
    if m == "imu" and item.window is None:
        raise MediaError("imu input needs a window (start, end) in seconds (chat: --window START END)")
    if m != "imu" and item.window is not None:
        raise MediaError(f"a time window is only for imu inputs, not {m}")
    for path in (item.path, item.map_path):
        if path is not None and not Path(path).exists():
            raise MediaError(f"media file not found: {path}")


# IMU eval sets cut many windows from one recording: keep the last few recordings decoded.
_IMU_CACHE: OrderedDict[tuple[str, int, int], object] = OrderedDict()
_IMU_CACHE_SIZE = 8


def _imu_recording(path: Path):
    from onellm_data.codecs import imu  # per-modality codecs load their own libraries (decord, open3d, nibabel)

    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _IMU_CACHE:
        _IMU_CACHE.move_to_end(key)
        return _IMU_CACHE[key]
    rec = imu.load_imu_recording(path)
    _IMU_CACHE[key] = rec
    while len(_IMU_CACHE) > _IMU_CACHE_SIZE:
        _IMU_CACHE.popitem(last=False)
    return rec


def media_members(item: MediaInput) -> dict[str, bytes]:
    """What the shard would hold for this input (validated and normalised by the modality's codec)."""
    # Per-modality codecs import their own heavy libraries (decord, open3d, nibabel): loaded on first use.
    from onellm_data.codecs import audio, depth, fmri, image, imu, point, video

    check_input(item)
    m, path = item.modality, Path(item.path)
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
    elif m in MAP_MODALITIES:
        members, _ = depth.prepare_map_pair(path, Path(item.map_path), kind=m)
    else:  # imu
        members, _ = imu.prepare_imu_window(_imu_recording(path), *item.window)
    return members


def load_media(item: MediaInput) -> torch.Tensor:
    """The eval-mode tensor with a batch dimension of 1."""
    return codecs.decode(item.modality, media_members(item), train=False).unsqueeze(0)
