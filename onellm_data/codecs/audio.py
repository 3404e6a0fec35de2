"""Audio codec. Conversion keeps the original file (flac/wav/mp3/ogg) after decoding it fully; loading gives
OneLLM's [1, 128, 1024] Kaldi fbank: channel 0, resampled to 16 kHz (torchaudio's sinc kernel), mean removed, 1024 frames (~10.24 s,
zero-padded or truncated), SpecAugment masks in training, AudioSet mean/std normalisation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs.fbank import kaldi_fbank
from onellm_data.codecs.resample import resample
from onellm_data.codecs.image import read_source
from onellm_data.errors import CodecError
from onellm_data.schema import AUDIO_EXTS

TARGET_RATE = 16000
NUM_FRAMES = 1024
NUM_BINS = 128
FRAME_SECONDS = 0.025  # one 25 ms Kaldi frame
FBANK_MEAN, FBANK_STD = -4.2677393, 4.5689974
FREQ_MASK, TIME_MASK = 48, 192


def read_waveform(data: bytes) -> tuple[np.ndarray, int]:
    """[channels, samples] float32 and the sample rate; libsndfile reads wav, flac, ogg and mp3."""
    if not data:
        raise CodecError("empty audio")
    try:
        wav, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise CodecError("undecodable audio", exc_detail(exc)) from exc
    if wav.shape[0] == 0:
        raise CodecError("audio has no samples")
    if not np.isfinite(wav).all():
        raise CodecError("audio has non-finite samples")
    return wav.T, int(rate)


def prepare_audio(src: Path | bytes | str, ext: str | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    if ext is None:
        if isinstance(src, (bytes, bytearray)):
            raise ValueError("prepare_audio needs ext= for raw bytes")
        ext = Path(src).suffix.lower().lstrip(".")
    if ext not in AUDIO_EXTS:
        raise CodecError("unsupported audio format", ext)
    data = read_source(src)
    wav, rate = read_waveform(data)
    if wav.shape[1] < rate * FRAME_SECONDS:
        raise CodecError("audio shorter than one fbank frame", f"{wav.shape[1]} samples at {rate} Hz (< 25 ms)")
    if not np.any(wav[0]):
        raise CodecError("silent audio", "channel 0 is all zeros")
    meta = {"duration": round(wav.shape[1] / rate, 4), "sample_rate": rate, "channels": int(wav.shape[0])}
    return {ext: data}, meta


# 16 kHz samples the 1024 frames read (25 ms windows every 10 ms): later samples never reach the features.
FBANK_SAMPLES = (NUM_FRAMES - 1) * int(TARGET_RATE * 0.010) + int(TARGET_RATE * FRAME_SECONDS)


def _mask(spec: torch.Tensor, axis: int, width: int, generator: torch.Generator | None) -> None:
    """SpecAugment (torchaudio semantics): mask [start, start + w) with w ~ U[0, width)."""
    size = spec.shape[axis]
    w = int(torch.rand(1, generator=generator) * width)
    start = int(torch.rand(1, generator=generator) * max(size - w, 1))
    if axis == 0:
        spec[start : start + w, :] = 0.0
    else:
        spec[:, start : start + w] = 0.0


def decode_audio(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    wav, rate = read_waveform(data)
    # OneLLM resamples with torchaudio's Resample; only the samples the frames read are computed.
    x = resample(torch.from_numpy(np.ascontiguousarray(wav[0])), rate, TARGET_RATE, max_outputs=FBANK_SAMPLES)
    # OneLLM subtracts the mean of the whole resampled waveform (all channels). Every frame removes its own mean
    # too, so only rounding depends on it; the input's mean (resampling keeps the mean) is the closest cheap value.
    x = x - float(np.mean(wav, dtype=np.float64))
    fb = kaldi_fbank(x, sample_rate=TARGET_RATE, num_mel_bins=NUM_BINS)
    n = fb.shape[0]
    if n < NUM_FRAMES:
        fb = torch.nn.functional.pad(fb, (0, 0, 0, NUM_FRAMES - n))
    else:
        fb = fb[:NUM_FRAMES]
    spec = fb.T.contiguous()  # [bins, frames]
    if train:
        _mask(spec, 0, FREQ_MASK, generator)
        _mask(spec, 1, TIME_MASK, generator)
    spec = (spec - FBANK_MEAN) / (FBANK_STD * 2)
    return spec.unsqueeze(0)
