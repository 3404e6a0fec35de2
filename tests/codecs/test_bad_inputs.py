"""The issue's list of bad inputs not covered in the per-codec files: each a reject with a specific reason."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from onellm_data.codecs.audio import prepare_audio
from onellm_data.codecs.depth import prepare_map_pair
from onellm_data.codecs.fmri import prepare_fmri
from onellm_data.codecs.point import prepare_point
from onellm_data.codecs.video import prepare_video
from onellm_data.errors import CodecError
from tests.codecs.media import encode, need_ffmpeg, noise_rgb


def wav(samples: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples.astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def reason(fn, *args, **kwargs) -> str:
    with pytest.raises(CodecError) as err:
        fn(*args, **kwargs)
    return err.value.reason


def test_audio_shorter_than_one_frame_and_silent_audio():
    assert reason(prepare_audio, wav(np.full(399, 0.1)), ext="wav") == "audio shorter than one fbank frame"
    assert reason(prepare_audio, wav(np.zeros(16000)), ext="wav") == "silent audio"
    prepare_audio(wav(np.full(400, 0.1)), ext="wav")  # exactly one frame is enough


def test_fewer_than_32_points():
    assert reason(prepare_point, np.random.default_rng(0).random((31, 6))) == "point cloud has fewer than 32 points"
    assert prepare_point(np.random.default_rng(0).random((32, 6)))[1]["num_points"] == 32


def test_video_without_a_video_stream(tmp_path: Path):
    ffmpeg = need_ffmpeg()
    path = tmp_path / "audio_only.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
                    "-c:a", "aac", str(path)], check=True)
    assert reason(prepare_video, path) == "file has no video stream"  # a valid file of another kind, not corrupt


def test_zero_byte_media(tmp_path: Path):
    for name in ("a.mp4", "a.wav", "a.flac"):
        (tmp_path / name).write_bytes(b"")
    assert reason(prepare_video, tmp_path / "a.mp4") == "empty video"
    assert reason(prepare_audio, tmp_path / "a.wav") == "empty audio"
    assert reason(prepare_audio, tmp_path / "a.flac") == "empty audio"


def test_nifti_with_a_corrupt_header(tmp_path: Path):
    path = tmp_path / "bad.nii"
    path.write_bytes(b"\x00" * 348 + b"n+1\x00" + b"\x00" * 100)  # sizeof_hdr 0: not a NIfTI-1 header
    assert reason(prepare_fmri, path, mask=np.ones((4, 4, 4))) == "undecodable NIfTI volume"


def test_depth_map_that_does_not_match_its_image_is_resized_and_recorded():
    rgb = encode(noise_rgb(64, 48), "JPEG")
    small = encode(noise_rgb(32, 24).convert("L"), "PNG")
    members, meta = prepare_map_pair(rgb, small, "depth")
    assert meta["map_resized"] is True
    assert reason(prepare_map_pair, rgb, b"not a png", "depth") == "undecodable depth map"
