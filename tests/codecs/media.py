"""Media generators for the codec tests: real container formats written in tmp_path."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073]).reshape(3, 1, 1)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711]).reshape(3, 1, 1)


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def noise_rgb(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth-ish random colours (so JPEG/bicubic stay well-behaved)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    return Image.fromarray(small).resize((width, height), Image.BILINEAR)


def png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG (grey [H, W] or RGB [H, W, 3] uint16) written by hand: PIL cannot write 16-bit RGB."""
    arr = np.asarray(arr, dtype=">u2")
    h, w = arr.shape[:2]
    color_type = 2 if arr.ndim == 3 else 0
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def clip_reference(img: Image.Image) -> np.ndarray:
    """CLIP's eval transform written out independently of the codec: torchvision ``Resize(224, bicubic)`` (short
    side 224, long side truncated) + ``CenterCrop(224)`` (offsets rounded) + ToTensor + Normalize."""
    img = img.convert("RGB")
    w, h = img.size
    if w <= h:
        size = (224, int(224 * h / w))
    else:
        size = (int(224 * w / h), 224)
    if size != (w, h):
        img = img.resize(size, Image.BICUBIC)
    w, h = img.size
    top, left = int(round((h - 224) / 2.0)), int(round((w - 224) / 2.0))
    img = img.crop((left, top, left + 224, top + 224))
    x = np.asarray(img, dtype=np.float64).transpose(2, 0, 1) / 255.0
    return (x - CLIP_MEAN) / CLIP_STD


def unnormalize(x) -> np.ndarray:
    """CLIP-normalised [..., 3, H, W] back to [0, 1]."""
    return np.asarray(x, dtype=np.float64) * CLIP_STD + CLIP_MEAN


def need_ffmpeg() -> str:
    """The ffmpeg CLI, a system requirement that scripts/setup.sh installs: missing, the test fails."""
    exe = shutil.which("ffmpeg")
    assert exe is not None, "ffmpeg CLI not on PATH (scripts/setup.sh installs it)"
    return exe


def grey_video(path: Path, levels: list[int], fps: int = 10, size: tuple[int, int] = (160, 120),
               codec: str = "libx264") -> Path:
    """A video whose frame i is a flat grey of ``levels[i]`` (lossless H.264, or mpeg4 at top quality for AVI),
    so a decoded frame tells which source frame it was."""
    exe = need_ffmpeg()
    w, h = size
    frames = b"".join(bytes([v]) * (w * h * 3) for v in levels)
    codec_args = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p"] if codec == "libx264" else \
        ["-c:v", codec, "-q:v", "1", "-pix_fmt", "yuv420p"]
    cmd = [exe, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps),
           "-i", "-", *codec_args, "-g", "5", str(path)]
    subprocess.run(cmd, input=frames, check=True, capture_output=True)
    return path


def frame_levels(n: int) -> list[int]:
    """Distinct grey levels 4 apart (2, 6, …, 254), so colour conversion (±1) cannot confuse neighbours."""
    assert n <= 64
    return [2 + 4 * i for i in range(n)]
