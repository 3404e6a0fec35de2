"""Audio libsndfile cannot read converts through ffmpeg: real files made by ffmpeg in tmp_path (AAC in m4a, FLAC
inside Ogg, Opus in WebM, ALAC in m4a) become FLAC members whose features equal those of the same sound read
directly; files that are not audio say so instead of suggesting corruption."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from onellm_data.codecs.audio import decode_audio, prepare_audio
from onellm_data.codecs.check import check_sample
from onellm_data.errors import CodecError
from tests.codecs.media import need_ffmpeg

RATE = 44100


def source_wav(path: Path, seconds: float = 3.0, channels: int = 2) -> Path:
    """A chirp + noise, distinct per channel, as 16-bit PCM WAV (the reference libsndfile reads)."""
    t = np.arange(int(RATE * seconds)) / RATE
    rng = np.random.default_rng(0)
    chans = [0.4 * np.sin(2 * np.pi * (300 + 400 * c) * t * (1 + t)) + 0.02 * rng.standard_normal(t.size)
             for c in range(channels)]
    sf.write(path, np.stack(chans, axis=1).astype(np.float32), RATE, subtype="PCM_16")
    return path


def encode(src: Path, dst: Path, *codec: str) -> bytes:
    subprocess.run([need_ffmpeg(), "-v", "error", "-y", "-i", str(src), *codec, str(dst)], check=True)
    return dst.read_bytes()


def libsndfile_refuses(data: bytes) -> bool:
    try:
        sf.info(io.BytesIO(data))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return True
    return False


def test_flac_inside_ogg_converts_losslessly(tmp_path: Path) -> None:
    src = source_wav(tmp_path / "src.wav")
    data = encode(src, tmp_path / "a.ogg", "-c:a", "flac")
    assert libsndfile_refuses(data)  # the case the issue reports: FLAC in an Ogg container
    members, meta = prepare_audio(data, ext="ogg")
    assert list(members) == ["flac"]
    assert meta == {"duration": 3.0, "sample_rate": RATE, "channels": 2, "audio_source_format": "ogg"}
    # Lossless all the way: the stored FLAC holds the WAV's samples exactly, so the features are the WAV's.
    stored, _ = sf.read(io.BytesIO(members["flac"]), dtype="int32")
    original, _ = sf.read(src, dtype="int32")
    assert np.array_equal(stored, original)
    torch.testing.assert_close(decode_audio(members["flac"]), decode_audio(src.read_bytes()), atol=1e-4, rtol=0)
    assert check_sample("audio", members) is None
    # The load side reads the original Ogg bytes too (same fallback), to the same features.
    torch.testing.assert_close(decode_audio(data), decode_audio(members["flac"]), atol=0, rtol=0)


@pytest.mark.parametrize("ext,codec", [("m4a", ("-c:a", "aac", "-b:a", "192k")), ("webm", ("-c:a", "libopus")),
                                       ("m4a", ("-c:a", "alac"))])
def test_other_containers_convert_to_flac(tmp_path: Path, ext: str, codec: tuple[str, ...]) -> None:
    src = source_wav(tmp_path / "src.wav")
    path = tmp_path / f"a.{ext}"
    data = encode(src, path, *codec)
    assert libsndfile_refuses(data)
    members, meta = prepare_audio(path)
    assert list(members) == ["flac"] and meta["audio_source_format"] == ext
    assert meta["channels"] == 2 and meta["duration"] == pytest.approx(3.0, abs=0.05)
    assert meta["sample_rate"] in (RATE, 48000)  # Opus always decodes at 48 kHz
    x, ref = decode_audio(members["flac"]), decode_audio(src.read_bytes())
    assert x.shape == (1, 128, 1024) and torch.isfinite(x).all()
    # Lossy codecs change the sound a little, never the picture: the chirp's frames agree in the bulk.
    voiced = slice(5, 280)
    assert float((x[0, :, voiced] - ref[0, :, voiced]).abs().median()) < 0.05
    if codec[1] == "alac":  # lossless in, lossless out
        stored, _ = sf.read(io.BytesIO(members["flac"]), dtype="int32")
        assert np.array_equal(stored, sf.read(src, dtype="int32")[0])


def test_conversion_through_ffmpeg_is_reproducible(tmp_path: Path) -> None:
    data = encode(source_wav(tmp_path / "src.wav", seconds=1.0), tmp_path / "a.m4a", "-c:a", "aac")
    assert prepare_audio(data, ext="m4a")[0] == prepare_audio(data, ext="m4a")[0]


def test_files_without_audio_or_not_audio_say_so(tmp_path: Path) -> None:
    video_only = tmp_path / "v.mp4"
    subprocess.run([need_ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(video_only)], check=True)
    with pytest.raises(CodecError) as err:
        prepare_audio(video_only)
    assert err.value.reason == "file has no audio stream"
    with pytest.raises(CodecError) as err:
        prepare_audio(b"plain text, not a media file at all\n" * 20, ext="m4a")
    assert err.value.reason == "undecodable audio"
    assert err.value.detail.startswith("converting .m4a to FLAC; ffmpeg: ")
    assert str(tmp_path) not in err.value.detail and "/tmp" not in err.value.detail
