"""Audio codec. Conversion keeps the original file where libsndfile reads it (wav, flac, ogg Vorbis/Opus, mp3)
and stores FLAC made by ffmpeg from anything else ffmpeg reads (AAC in m4a, FLAC in Ogg, WMA…), after the
load-side decode succeeded on what is stored; loading gives OneLLM's [1, 128, 1024] Kaldi fbank: channel 0,
resampled to 16 kHz (torchaudio's sinc kernel), mean removed, 1024 frames (~10.24 s, zero-padded or truncated),
SpecAugment masks in training, AudioSet mean/std normalisation."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs.audio_ffmpeg import transcode_to_flac
from onellm_data.codecs.check import proven
from onellm_data.codecs.fbank import kaldi_fbank
from onellm_data.codecs.image import read_source
from onellm_data.codecs.resample import resample
from onellm_data.errors import CodecError
from onellm_data.schema import AUDIO_EXTS

TARGET_RATE = 16000
NUM_FRAMES = 1024
NUM_BINS = 128
FRAME_SECONDS = 0.025  # one 25 ms Kaldi frame
FBANK_MEAN, FBANK_STD = -4.2677393, 4.5689974
FREQ_MASK, TIME_MASK = 48, 192
# 16 kHz samples the 1024 frames read (25 ms windows every 10 ms): later samples never reach the features.
FBANK_SAMPLES = (NUM_FRAMES - 1) * int(TARGET_RATE * 0.010) + int(TARGET_RATE * FRAME_SECONDS)
# Files of these extensions convert through ffmpeg to FLAC (the shard's audio members are AUDIO_EXTS only).
FFMPEG_EXTS = ("m4a", "aac", "mp4", "m4b", "opus", "webm", "mka", "wma", "ac3", "amr", "caf", "aiff", "aif")


def _sndfile(data: bytes) -> tuple[np.ndarray, int]:
    wav, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return wav, int(rate)


def open_audio(data: bytes) -> tuple[bytes, np.ndarray, int]:
    """(bytes libsndfile decoded, [channels, samples] float32, sample rate). libsndfile reads wav, flac, ogg
    (Vorbis, Opus) and mp3; anything else ffmpeg reads becomes FLAC first (audio_ffmpeg.py), and those FLAC bytes
    are what is returned, so a caller can store them."""
    if not data:
        raise CodecError("empty audio")
    try:
        wav, rate = _sndfile(data)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        data = transcode_to_flac(data, f"libsndfile: {exc_detail(exc)}")
        try:
            wav, rate = _sndfile(data)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc2:
            raise CodecError("undecodable audio", f"ffmpeg's FLAC: {exc_detail(exc2)}") from exc2
    if wav.shape[0] == 0:
        raise CodecError("audio has no samples")
    if not np.isfinite(wav).all():
        raise CodecError("audio has non-finite samples")
    return data, wav.T, rate


def read_waveform(data: bytes) -> tuple[np.ndarray, int]:
    """[channels, samples] float32 and the sample rate (see :func:`open_audio`)."""
    return open_audio(data)[1:]


def prepare_audio(src: Path | bytes | str, ext: str | None = None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The original file (flac/wav/mp3/ogg that libsndfile reads), or FLAC made by ffmpeg from any other
    container/codec (meta ``audio_source_format`` names it), after the load-side decode succeeded on it."""
    if ext is None:
        if isinstance(src, (bytes, bytearray)):
            raise ValueError("prepare_audio needs ext= for raw bytes")
        ext = Path(src).suffix.lower().lstrip(".")
    if ext not in AUDIO_EXTS and ext not in FFMPEG_EXTS:
        raise CodecError("unsupported audio format", ext)
    original = read_source(src)
    if ext not in AUDIO_EXTS and original:
        original = transcode_to_flac(original, f"converting .{ext} to FLAC")
    data, wav, rate = open_audio(original)
    if wav.shape[1] < rate * FRAME_SECONDS:
        raise CodecError("audio shorter than one fbank frame", f"{wav.shape[1]} samples at {rate} Hz (< 25 ms)")
    if not np.any(wav[0]):
        raise CodecError("silent audio", "channel 0 is all zeros")
    meta: dict[str, Any] = {"duration": round(wav.shape[1] / rate, 4), "sample_rate": rate,
                            "channels": int(wav.shape[0])}
    if data is not original or ext not in AUDIO_EXTS:  # ffmpeg's FLAC is what is stored
        meta["audio_source_format"] = ext
        ext = "flac"
    members = {ext: data}
    proven("audio", members, features(wav, rate))  # the conversion check, on the decode above
    return members, meta


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
    return features(wav, rate, train, generator)


def features(wav: np.ndarray, rate: int, train: bool = False,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """[1, 128, 1024] from a decoded [channels, samples] waveform, as OneLLM's ``make_audio_features``."""
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
