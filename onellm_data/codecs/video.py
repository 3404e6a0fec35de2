"""Video codec. Conversion keeps the original container after running the load-side decode on it once (which is
also its conversion check, codecs/check.py); loading gives OneLLM's [15, 3, 224, 224]: 5 one-second clips whose
starts are spaced by a fifth of the video's span, the first frame of each, short side scaled to 224,
CLIP-normalised, and 3 spatial crops (start, centre, end of the long side). The arithmetic is pytorchvideo 0.1.5's, the version OneLLM
pins (``ConstantClipsPerVideoSampler``, ``EncodedVideoDecord.get_clip``, ``ShortSideScale``, ImageBind's
``SpatialCrop``), so the frames and pixels are the ones OneLLM's loader produces (tests/codecs/test_golden.py).

AVI files are opened from a temporary file, not from memory: decord 0.6 crashes the process (SIGSEGV) opening an
AVI without a complete index (a truncated download) from a file-like object, but reads it from a path."""

from __future__ import annotations

import io
import math
import os
import struct
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs._vision import CLIP_MEAN, CLIP_STD, SIZE
from onellm_data.codecs.check import proven
from onellm_data.codecs.image import read_source
from onellm_data.errors import CodecError
from onellm_data.schema import VIDEO_EXTS

CLIPS, CLIP_SECONDS, CROPS = 5, 1.0, 3
_MEAN_255, _STD_255 = CLIP_MEAN * 255.0, CLIP_STD * 255.0  # normalisation of 0-255 values


def _is_avi(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"AVI "


def avi_declared_frames(data: bytes) -> int | None:
    """``dwTotalFrames`` of an AVI's main header (``avih``), or None where there is none to read."""
    pos = data.find(b"avih", 12, 4096)
    if pos < 0 or len(data) < pos + 28:
        return None
    return struct.unpack_from("<I", data, pos + 24)[0]


def open_video(data: bytes):
    import decord

    if not data:
        raise CodecError("empty video")
    try:
        if _is_avi(data):
            fd, tmp = tempfile.mkstemp(suffix=".avi", prefix="onellm-video-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                try:
                    reader = decord.VideoReader(tmp, num_threads=1)
                except (decord.DECORDError, RuntimeError, ValueError) as exc:
                    raise CodecError("undecodable video", exc_detail(exc, replace={tmp: f"{len(data)} bytes"})) from exc
            finally:
                os.unlink(tmp)  # decord holds the file open; POSIX keeps it readable until then
        else:
            reader = decord.VideoReader(io.BytesIO(data), num_threads=1)
    except CodecError:
        raise
    except (decord.DECORDError, RuntimeError, ValueError) as exc:
        if "cannot find video stream" in str(exc):  # a valid file of another kind (audio-only WebM/MP4)
            raise CodecError("file has no video stream", "decord found no video stream") from exc
        raise CodecError("undecodable video", exc_detail(exc)) from exc
    if len(reader) == 0:
        raise CodecError("video has no frames")
    return reader


def _fps(reader) -> float:
    fps = float(reader.get_avg_fps())
    if not fps > 0 or not math.isfinite(fps):
        raise CodecError("video has no frame rate")
    return fps


def _frames(reader, idx: list[int]):
    import decord

    try:
        return reader.get_batch(idx).asnumpy()
    except (decord.DECORDError, RuntimeError, IndexError, ValueError) as exc:
        raise CodecError("undecodable video frames", exc_detail(exc)) from exc


def prepare_video(src: Path | bytes | str, ext: str | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    if ext is None:
        if isinstance(src, (bytes, bytearray)):
            raise ValueError("prepare_video needs ext= for raw bytes")
        ext = Path(src).suffix.lower().lstrip(".")
    if ext not in VIDEO_EXTS:
        raise CodecError("unsupported video format", ext)
    data = read_source(src)
    reader = open_video(data)
    n = len(reader)
    fps = _fps(reader)
    declared = avi_declared_frames(data) if _is_avi(data) else None
    if declared is not None and n < declared:  # decord plays what is there; a cut download is not a sample
        raise CodecError("truncated video", f"{n} of {declared} frames readable")
    # The load-side decode itself, once: it is the conversion check too (codecs/check.py).
    raw = _clip_frames(reader)
    del reader  # stops decord's read-ahead thread, which would otherwise decode frames nobody asks for
    x, (height, width) = _load_tensor(raw)
    members = {ext: data}
    proven("video", members, x)
    meta = {"duration": round(n / fps, 4), "fps": round(fps, 4), "width": int(width), "height": int(height),
            "num_frames": int(n)}
    return members, meta


def clip_frame_indices(num_frames: int, fps: float, clips: int = CLIPS,
                       clip_seconds: float = CLIP_SECONDS) -> list[int]:
    """First frame of each of ``clips`` clips: start_k = k · max(duration − clip, 0) / clips (exact fractions), so
    the last clip starts one step before the end of the span. This is pytorchvideo 0.1.5's
    ``ConstantClipsPerVideoSampler`` (``Fraction(max_possible_clip_start, clips_per_video)``; later releases
    divide by ``clips_per_video - 1``), the version OneLLM pins. The clip's first frame is ``ceil(fps · start_k)``
    (``EncodedVideoDecord.get_clip`` decodes frames ceil(fps·start) … ceil(fps·end) − 1 and
    ``UniformTemporalSubsample(1)`` keeps the first), with duration = frames / fps as decord reports them."""
    duration = float(num_frames) / float(fps)
    span = Fraction(max(duration - clip_seconds, 0))
    step = span / clips
    return [min(math.ceil(fps * float(step * k)), num_frames - 1) for k in range(clips)]


def short_side_scale(frames: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    """[T, 3, H, W] → short side ``size`` (bilinear, aspect kept), pytorchvideo's ``short_side_scale``."""
    h, w = frames.shape[-2:]
    if w < h:
        new = (int(math.floor((float(h) / w) * size)), size)
    else:
        new = (size, int(math.floor((float(w) / h) * size)))
    return F.interpolate(frames, size=new, mode="bilinear", align_corners=False)


def spatial_crops(frames: torch.Tensor, size: int = SIZE) -> list[torch.Tensor]:
    """Three ``size`` crops along the long side: start, centre (offset rounded up), end; ``uniform_crop``."""
    h, w = frames.shape[-2:]
    y, x = int(math.ceil((h - size) / 2)), int(math.ceil((w - size) / 2))
    if h > w:
        offsets = [(0, x), (y, x), (h - size, x)]
    else:
        offsets = [(y, 0), (y, x), (y, w - size)]
    return [frames[..., t : t + size, l : l + size] for t, l in offsets]


def decode_video(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    """[15, 3, 224, 224], clip-major (clip 0 crops 0..2, clip 1 crops 0..2, ...); the same in train and eval."""
    return _load_tensor(_clip_frames(open_video(data)))[0]


def _clip_frames(reader) -> torch.Tensor:
    """The first frame of each clip, [5, H, W, 3] uint8. The reader should be dropped right after: decord keeps
    decoding ahead on a thread of its own while it is alive (CPU time that was ~20 % of a video's decode)."""
    return torch.from_numpy(_frames(reader, clip_frame_indices(len(reader), _fps(reader))))


def _load_tensor(raw: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """The load tensor of the clips' frames ([5, H, W, 3] uint8), and the frames' (height, width)."""
    # One frame at a time (its intermediates stay in cache: ~15 % faster than whole-clip tensors): scaled in
    # channels-last layout (torch's fast bilinear path, same arithmetic) on 0-255 values, made contiguous, then
    # each crop normalised straight into its slot of the output (the /255 folded into the normalisation: equal
    # to OneLLM's order to float rounding).
    x = torch.empty(CLIPS, CROPS, 3, SIZE, SIZE)
    for c in range(CLIPS):
        frame = short_side_scale(raw[c : c + 1].float().permute(0, 3, 1, 2)).contiguous()
        for j, crop in enumerate(spatial_crops(frame)):  # each [1, 3, 224, 224]
            torch.sub(crop[0], _MEAN_255, out=x[c, j]).div_(_STD_255)
    return x.view(CLIPS * CROPS, 3, SIZE, SIZE), (int(raw.shape[1]), int(raw.shape[2]))
