"""A tiny saved model and small media files of every kind the eval/chat tests feed it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from model.checkpoint import save_model
from model.config import preset
from model.onellm import OneLLM
from tests.conftest import make_jpeg


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A training output directory holding the tiny preset's ``model.pt`` (random weights, seed 0)."""
    run = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    save_model(OneLLM(preset("tiny")), run / "model.pt")
    return run


def write_wav(path: Path, seconds: float = 1.5, rate: int = 16000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    sf.write(path, (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32), rate)
    return path


def write_points(path: Path, n: int = 1500, seed: int = 0) -> Path:
    np.save(path, np.random.default_rng(seed).random((n, 6)).astype(np.float32))  # xyz + rgb in [0, 1]
    return path


def write_imu(root: Path, uid: str, seconds: float = 10.0, seed: int = 0) -> Path:
    """imu2clip's processed layout: ``{uid}.npy`` [6, T] at 200 Hz and ``{uid}_timestamps.npy`` (ms)."""
    ts = np.arange(0.0, seconds * 1000.0, 5.0)
    np.save(root / f"{uid}.npy", np.random.default_rng(seed).standard_normal((6, len(ts))).astype(np.float32))
    np.save(root / f"{uid}_timestamps.npy", ts)
    return root / f"{uid}.npy"


def write_depth_map(path: Path, size: tuple[int, int] = (64, 48), seed: int = 0) -> Path:
    """An 8-bit grey depth map (OneLLM's DPT maps are PNGs of the RGB image's scene)."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0]), dtype=np.uint8)).save(path)
    return path


def write_fmri(path: Path, seed: int = 0) -> Path:
    np.save(path, np.random.default_rng(seed).standard_normal((3, 15724)).astype(np.float16))
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("media")
    (root / "photo.jpg").write_bytes(make_jpeg(3))
    write_wav(root / "sound.wav")
    write_points(root / "cloud.npy")
    write_imu(root, "uid-1")
    write_fmri(root / "scan.npy")
    write_depth_map(root / "photo_depth.png")
    return root
