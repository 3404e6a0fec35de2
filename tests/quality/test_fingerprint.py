"""Fingerprints on real media: a re-encoded, rescaled or resampled copy stays within the near distance, a
different item does not, and the exact digest ignores the container. Depth/normal pairs are near by their RGB
photo; IMU and fMRI arrays have an exact digest only."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from onellm_data.quality.fingerprint import (audio_fingerprint, fingerprint_members, image_fingerprint,
                                             point_fingerprint, video_fingerprint)
from onellm_data.quality.groups import DEFAULT_MAX_DISTANCE, hamming

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
needs = pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent (real media files)")


def _ffmpeg(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True)
    return dst


@needs
def test_image_resized_and_recompressed_is_near_a_different_photo_is_not():
    a, b = sorted((REALDATA / "coco" / "train2017").glob("*.jpg"))[:2]
    img = Image.open(a).convert("RGB")
    buf = io.BytesIO()
    img.resize((img.width * 2 // 3, img.height * 2 // 3), Image.BICUBIC).save(buf, format="JPEG", quality=60)
    fa, fcopy = image_fingerprint(img), image_fingerprint(Image.open(buf))
    assert hamming(fa.near, fcopy.near) <= DEFAULT_MAX_DISTANCE and fa.exact != fcopy.exact
    assert hamming(fa.near, image_fingerprint(Image.open(b)).near) > DEFAULT_MAX_DISTANCE
    png = io.BytesIO()
    img.save(png, format="PNG")  # same pixels, another container: same exact digest
    assert image_fingerprint(Image.open(png)).exact == fa.exact


@needs
def test_video_reencoded_and_rescaled_is_near(tmp_path):
    avi = REALDATA / "video" / "mmaction2" / "test.avi"
    mp4 = _ffmpeg(avi, tmp_path / "copy.mp4", "-vf", "scale=160:120", "-c:v", "libx264", "-preset", "ultrafast",
                  "-an")
    bars = tmp_path / "bars.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "smptebars=duration=2:size=160x120:rate=10",
                    "-c:v", "libx264", "-preset", "ultrafast", str(bars)], check=True)
    original, copy = video_fingerprint(avi.read_bytes()), video_fingerprint(mp4.read_bytes())
    assert hamming(original.near, copy.near) <= DEFAULT_MAX_DISTANCE
    assert hamming(original.near, video_fingerprint(bars.read_bytes()).near) > DEFAULT_MAX_DISTANCE


@needs
def test_audio_same_samples_other_container_exact_and_resampled_near(tmp_path):
    wav = REALDATA / "audio" / "pydub_test_data" / "test1.wav"
    data, rate = sf.read(wav, dtype="int16")
    flac = io.BytesIO()
    sf.write(flac, data, rate, format="FLAC")
    original = audio_fingerprint(wav.read_bytes())
    assert audio_fingerprint(flac.getvalue()).exact == original.exact
    resampled = _ffmpeg(wav, tmp_path / "r.flac", "-ar", "16000", "-ac", "1")
    assert hamming(original.near, audio_fingerprint(resampled.read_bytes()).near) <= DEFAULT_MAX_DISTANCE
    other = audio_fingerprint((REALDATA / "audio" / "pydub_test_data" / "party.mp3").read_bytes())
    assert hamming(original.near, other.near) > DEFAULT_MAX_DISTANCE


@needs
def test_point_cloud_order_invariant_exact_and_jittered_near():
    clouds = sorted((REALDATA / "pointllm_format").rglob("*_8192.npy"))[:2]
    a = np.load(clouds[0]).astype(np.float32)
    fa = point_fingerprint(a)
    assert point_fingerprint(a[::-1].copy()).exact == fa.exact
    jitter = a + np.random.default_rng(0).normal(0, 1e-3, a.shape).astype(np.float32)
    assert hamming(fa.near, point_fingerprint(jitter).near) <= DEFAULT_MAX_DISTANCE
    assert hamming(fa.near, point_fingerprint(np.load(clouds[1]).astype(np.float32)).near) > DEFAULT_MAX_DISTANCE


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize("modality", ["depth", "normal"])
def test_map_pairs_are_near_by_their_rgb_image_and_exact_by_both(modality):
    """Depth/normal pairs: the near hash is the RGB photo's pHash (the same photo under an image source is found),
    the exact digest covers the map too."""
    from tests.quality.corpus import jpeg, photo

    rgb = jpeg(photo(0))
    rng = np.random.default_rng(0)
    one, other = (_png(rng.integers(0, 255, (72, 96), dtype=np.uint8)) for _ in range(2))
    pair = fingerprint_members(modality, {"jpg": rgb, f"{modality}.png": one})
    assert pair.near == image_fingerprint(Image.open(io.BytesIO(rgb))).near
    assert pair.exact == fingerprint_members(modality, {"jpg": rgb, f"{modality}.png": one}).exact
    assert pair.exact != fingerprint_members(modality, {"jpg": rgb, f"{modality}.png": other}).exact


@pytest.mark.parametrize("modality, shape, dtype", [("imu", (6, 400), np.float32), ("fmri", (1, 15724), np.float16)])
def test_sensor_arrays_have_no_near_hash_and_an_exact_digest(modality, shape, dtype):
    arr = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    fp = fingerprint_members(modality, {"npy": _npy(arr)})
    assert fp.near is None and fp.exact == fingerprint_members(modality, {"npy": _npy(arr.copy())}).exact
    changed = arr.copy()
    changed[0, 0] += 1
    assert fingerprint_members(modality, {"npy": _npy(changed)}).exact != fp.exact
