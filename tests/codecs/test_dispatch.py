"""``codecs.decode``: the members a shard holds for each modality give OneLLM's shape; unknown modalities and
missing members are rejects."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from onellm_data import codecs
from onellm_data.codecs.audio import prepare_audio
from onellm_data.codecs.depth import prepare_map_pair
from onellm_data.codecs.fmri import VOXELS, prepare_fmri
from onellm_data.codecs.image import prepare_image
from onellm_data.codecs.imu import ImuRecording, prepare_imu_window
from onellm_data.codecs.point import prepare_point
from onellm_data.codecs.video import prepare_video
from onellm_data.errors import CodecError
from tests.codecs.media import encode, frame_levels, grey_video, noise_rgb


def _audio(fmt: str) -> bytes:
    buf = io.BytesIO()
    t = np.arange(16000) / 16000
    sf.write(buf, (0.2 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), 16000, format=fmt)
    return buf.getvalue()


def test_shapes_table() -> None:
    assert codecs.SHAPES == {
        "image": (3, 224, 224), "video": (15, 3, 224, 224), "audio": (1, 128, 1024), "point": (8192, 6),
        "depth": (2, 3, 224, 224), "normal": (2, 3, 224, 224), "imu": (6, 400), "fmri": (1, 15724),
    }


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_image_members(fmt: str) -> None:
    members, _ = prepare_image(encode(noise_rgb(50, 40), fmt))
    for train in (False, True):
        x = codecs.decode("image", members, train=train, generator=torch.Generator().manual_seed(0))
        assert tuple(x.shape) == codecs.SHAPES["image"]


@pytest.mark.parametrize("ext,codec", [("mp4", "libx264"), ("avi", "mpeg4"), ("mkv", "libx264")])
def test_video_members(tmp_path: Path, ext: str, codec: str) -> None:
    members, _ = prepare_video(grey_video(tmp_path / f"v.{ext}", frame_levels(15), codec=codec))
    assert list(members) == [ext]
    assert tuple(codecs.decode("video", members).shape) == codecs.SHAPES["video"]


@pytest.mark.parametrize("fmt,ext", [("WAV", "wav"), ("FLAC", "flac"), ("MP3", "mp3")])
def test_audio_members(fmt: str, ext: str) -> None:
    members, _ = prepare_audio(_audio(fmt), ext=ext)
    assert tuple(codecs.decode("audio", members, train=True).shape) == codecs.SHAPES["audio"]


@pytest.mark.parametrize("kind,image_fmt", [("depth", "JPEG"), ("normal", "PNG")])
def test_map_members(kind: str, image_fmt: str) -> None:
    img = noise_rgb(64, 48)
    members, _ = prepare_map_pair(encode(img, image_fmt), encode(img.convert("L") if kind == "depth" else img, "PNG"),
                                  kind)
    assert set(members) == {"jpg" if image_fmt == "JPEG" else "png", f"{kind}.png"}
    assert tuple(codecs.decode(kind, members).shape) == codecs.SHAPES[kind]


def test_npy_members() -> None:
    point, _ = prepare_point(np.random.default_rng(0).random((100, 6)))
    n = 2000
    rec = ImuRecording(np.ones((6, n), np.float32), np.arange(n) * 5.0, 200.0)
    imu, _ = prepare_imu_window(rec, 2.0, 4.0)
    fmri, _ = prepare_fmri(np.zeros((3, VOXELS), np.float16))
    for modality, members in (("point", point), ("imu", imu), ("fmri", fmri)):
        assert tuple(codecs.decode(modality, members).shape) == codecs.SHAPES[modality]


def test_unknown_modality_and_missing_members() -> None:
    with pytest.raises(CodecError) as err:
        codecs.decode("smell", {"npy": b""})
    assert err.value.reason == "no codec for modality" and err.value.detail == "smell"
    with pytest.raises(CodecError) as err:
        codecs.decode("text", {"json": b"{}"})
    assert err.value.reason == "no codec for modality"
    cases = [("image", {"json": b"{}"}), ("video", {"jpg": b"x"}), ("audio", {"mp4": b"x"}), ("point", {"pt": b"x"}),
             ("imu", {}), ("fmri", {"json": b"{}"}), ("depth", {"jpg": encode(noise_rgb(8, 8), "JPEG")}),
             ("normal", {"normal.png": b"x"}), ("depth", {"jpg": b"x", "normal.png": b"x"})]
    for modality, members in cases:
        with pytest.raises(CodecError) as err:
            codecs.decode(modality, members)
        assert err.value.reason == f"{modality} sample has no media member", (modality, members)
        assert err.value.detail == f"members {sorted(members)}"
