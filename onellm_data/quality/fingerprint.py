"""Media fingerprints: an exact digest of the normalised media and a 64-bit near-duplicate hash, per modality.

The exact digest is SHA-256 over the *decoded, normalised* content, so re-containering or re-tagging a file does
not hide a copy; the near hash tolerates resizing and recompression. Choices per modality:

========= ============================================== ======================================================
modality  exact (SHA-256 of)                             near (64 bits, Hamming distance)
========= ============================================== ======================================================
image     RGB pixels and size                            pHash (``imagehash.phash``: 32×32 grey DCT, 8×8
                                                         low frequencies against their median)
depth,    RGB pixels + map pixels                        pHash of the RGB image (the map is derived from it), so
normal                                                   the same photo is found under image sources too
video     the middle frame's pixels, frame count, size   pHash of the middle keyframe (robust to re-encoding
                                                         and rescaling; trimmed copies keep their middle close)
audio     mono float32 samples and rate                  spectral dHash: log energy of the first 10 s at 16 kHz
                                                         in 8 time slices × 9 log-spaced bands, bit = band b+1
                                                         louder than band b; bands 50 dB under the loudest
                                                         are clamped (noise flips no bit)
point     the [N, 6] rows sorted (order invariant)       dHash of the 9×8 point density projected on the cloud's
                                                         two widest axes (centred, scaled to [-1, 1])
imu, fmri the stored array (float32 / float16)           none: sensor windows are compared by id and exactly
========= ============================================== ======================================================
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from onellm_data.schema import AUDIO_EXTS, IMAGE_EXTS, VIDEO_EXTS

NEAR_SPACE = {"image": "image", "depth": "image", "normal": "image", "video": "video", "audio": "audio",
              "point": "point"}  # which near hashes are comparable with which


@dataclass(frozen=True)
class Fingerprint:
    exact: bytes  # 32-byte SHA-256
    near: int | None  # unsigned 64-bit, or None where the modality has no near hash


def _sha(*parts: bytes | str) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
    return h.digest()


def _as_int(h) -> int:
    return int(str(h), 16)


def image_fingerprint(img: Image.Image) -> Fingerprint:
    import imagehash

    rgb = img.convert("RGB")
    return Fingerprint(_sha(f"{rgb.size}", rgb.tobytes()), _as_int(imagehash.phash(rgb)))


def _open(data: bytes) -> Image.Image:
    from onellm_data.codecs.image import open_image, to_8bit

    return to_8bit(open_image(data))


def map_pair_fingerprint(rgb: bytes, map_png: bytes) -> Fingerprint:
    image = image_fingerprint(_open(rgb))
    m = Image.open(io.BytesIO(map_png))
    return Fingerprint(_sha(image.exact, f"{m.mode}{m.size}", m.tobytes()), image.near)


def video_fingerprint(data: bytes) -> Fingerprint:
    from onellm_data.codecs.video import _frames, open_video

    reader = open_video(data)
    n = len(reader)
    frame = _frames(reader, [n // 2])[0]
    del reader  # decord decodes ahead on its own thread while the reader lives
    img = Image.fromarray(frame)
    return Fingerprint(_sha(f"{n}{frame.shape}", frame.tobytes()), image_fingerprint(img).near)


def audio_near_hash(mono: np.ndarray, rate: int) -> int:
    import soxr

    x = mono[: rate * 10].astype(np.float32)
    x = soxr.resample(x, rate, 16000) if rate != 16000 else x
    n_fft, hop = 512, 256
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [time, 257]
    edges = np.unique(np.geomspace(2, power.shape[1], 10).astype(int))
    edges = np.r_[edges, [power.shape[1]] * (10 - len(edges))] if len(edges) < 10 else edges
    bands = np.stack([power[:, a:max(b, a + 1)].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])], axis=1)
    slices = np.array_split(np.arange(len(bands)), 8)
    energy = np.stack([bands[s].sum(axis=0) if len(s) else np.zeros(9) for s in slices])
    # Bands 50 dB below the loudest hold only noise: clamp them equal so noise cannot flip their bits.
    energy = np.log(np.maximum(energy, energy.max() * 1e-5 + 1e-20))
    bits = (energy[:, 1:] > energy[:, :-1]).ravel()  # 8 × 8
    return int(np.packbits(bits).view(">u8")[0])


def audio_fingerprint(data: bytes) -> Fingerprint:
    from onellm_data.codecs.audio import read_waveform

    wav, rate = read_waveform(data)
    mono = wav.mean(axis=0).astype(np.float32)
    return Fingerprint(_sha(f"{rate}", mono.tobytes()), audio_near_hash(mono, rate))


def point_fingerprint(points: np.ndarray) -> Fingerprint:
    arr = np.ascontiguousarray(points, np.float32)
    rows = arr[np.lexsort(arr.T[::-1])]
    xyz = arr[:, :3].astype(np.float64)
    xyz = xyz - xyz.mean(axis=0)
    xyz /= max(float(np.abs(xyz).max()), 1e-12)
    a, b = np.argsort(-xyz.std(axis=0))[:2]  # project on the two widest axes
    cols = np.clip(((xyz[:, a] + 1) / 2 * 9).astype(int), 0, 8)
    lines = np.clip(((xyz[:, b] + 1) / 2 * 8).astype(int), 0, 7)
    density = np.bincount(lines * 9 + cols, minlength=72).reshape(8, 9)
    bits = (density[:, 1:] > density[:, :-1]).ravel()  # dHash of the 9x8 density image
    return Fingerprint(_sha(f"{rows.shape}", rows.tobytes()), int(np.packbits(bits).view(">u8")[0]))


def array_fingerprint(arr: np.ndarray) -> Fingerprint:
    arr = np.ascontiguousarray(arr)
    return Fingerprint(_sha(f"{arr.dtype.str}{arr.shape}", arr.tobytes()), None)


def _first(members: dict[str, bytes], exts: tuple[str, ...]) -> bytes:
    for ext in exts:
        if ext in members:
            return members[ext]
    raise ValueError(f"no member among {exts}: {sorted(members)}")


def _npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def fingerprint_members(modality: str, members: dict[str, bytes]) -> Fingerprint | None:
    """The fingerprint of one shard sample (its members by extension); None for text-only samples."""
    if modality == "image":
        return image_fingerprint(_open(_first(members, IMAGE_EXTS)))
    if modality in ("depth", "normal"):
        return map_pair_fingerprint(_first(members, IMAGE_EXTS), members[f"{modality}.png"])
    if modality == "video":
        return video_fingerprint(_first(members, VIDEO_EXTS))
    if modality == "audio":
        return audio_fingerprint(_first(members, AUDIO_EXTS))
    if modality == "point":
        return point_fingerprint(_npy(members["npy"]))
    if modality in ("imu", "fmri"):
        return array_fingerprint(_npy(members["npy"]))
    return None
