"""Kaldi-compatible log-mel filterbank in torch (what torchaudio.compliance.kaldi.fbank computes), so audio
features match OneLLM's without torchaudio. Defaults are OneLLM's: 16 kHz, 25 ms hanning frames every 10 ms,
128 mel bins from 20 Hz, power spectrum, no dither, no energy, snip edges."""

from __future__ import annotations

import math
from functools import lru_cache

import torch

EPS = torch.finfo(torch.float32).eps


def _mel(freq: torch.Tensor | float) -> torch.Tensor | float:
    if isinstance(freq, torch.Tensor):
        return 1127.0 * torch.log1p(freq / 700.0)
    return 1127.0 * math.log1p(freq / 700.0)


@lru_cache(maxsize=16)
def mel_banks(num_bins: int, padded_window: int, sample_rate: float, low_freq: float, high_freq: float) -> torch.Tensor:
    """[num_bins, padded_window // 2 + 1] triangular filters on Kaldi's mel scale (Nyquist column zero)."""
    nyquist = 0.5 * sample_rate
    if high_freq <= 0.0:
        high_freq += nyquist
    if not (0.0 <= low_freq < nyquist and 0.0 < high_freq <= nyquist and low_freq < high_freq):
        raise ValueError(f"bad mel range low={low_freq} high={high_freq} for sample rate {sample_rate}")
    num_fft_bins = padded_window // 2
    bin_width = sample_rate / padded_window
    mel_low, mel_high = _mel(low_freq), _mel(high_freq)
    delta = (mel_high - mel_low) / (num_bins + 1)
    b = torch.arange(num_bins, dtype=torch.float64).unsqueeze(1)
    left = mel_low + b * delta
    center = mel_low + (b + 1.0) * delta
    right = mel_low + (b + 2.0) * delta
    mel = _mel(bin_width * torch.arange(num_fft_bins, dtype=torch.float64)).unsqueeze(0)
    up = (mel - left) / (center - left)
    down = (right - mel) / (right - center)
    banks = torch.clamp(torch.minimum(up, down), min=0.0)
    return torch.nn.functional.pad(banks, (0, 1)).float()


def kaldi_fbank(waveform: torch.Tensor, sample_rate: int = 16000, num_mel_bins: int = 128,
                frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0, low_freq: float = 20.0,
                high_freq: float = 0.0, preemphasis: float = 0.97) -> torch.Tensor:
    """[num_frames, num_mel_bins] log mel energies of a mono waveform (1-D, or [C, T] using channel 0)."""
    x = waveform[0] if waveform.dim() == 2 else waveform
    x = x.to(torch.float32)
    window = int(sample_rate * frame_length_ms * 0.001)
    shift = int(sample_rate * frame_shift_ms * 0.001)
    if x.numel() < window:
        return torch.empty(0, num_mel_bins)
    padded = 1 << (window - 1).bit_length()
    frames = x.unfold(0, window, shift)  # snip_edges: only whole frames
    frames = frames - frames.mean(dim=1, keepdim=True)  # remove DC offset
    prev = torch.cat([frames[:, :1], frames[:, :-1]], dim=1)
    frames = frames - preemphasis * prev
    frames = frames * torch.hann_window(window, periodic=False, dtype=torch.float32)
    frames = torch.nn.functional.pad(frames, (0, padded - window))
    power = torch.fft.rfft(frames).abs().pow(2.0)
    banks = mel_banks(num_mel_bins, padded, float(sample_rate), float(low_freq), float(high_freq))
    return torch.clamp(power @ banks.T, min=EPS).log()
