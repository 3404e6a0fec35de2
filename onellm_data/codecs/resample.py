"""Band-limited sinc resampling with the exact kernel of ``torchaudio.transforms.Resample`` (its defaults, which
OneLLM's audio loader uses: Hann-windowed sinc, 6 zero crossings, roll-off 0.99), in plain torch: torchaudio
cannot be installed beside this project's torch, and any other resampler (soxr, scipy) shifts the top mel bins
of every non-16 kHz file by up to ~1.4 after normalisation.

The rates are reduced by their gcd to ``orig → new`` (44100 → 16000 becomes 441 → 160). Output sample ``j`` of
each block of ``new`` outputs is a dot product of one of ``new`` phase filters with ``orig + 2·width`` inputs,
and consecutive blocks move ``orig`` inputs on: one strided ``conv1d`` with ``new`` output channels. The filters
are built in float64 and stored as float32, as torchaudio does when no dtype is given."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F

ZERO_CROSSINGS = 6  # torchaudio's lowpass_filter_width
ROLLOFF = 0.99


@dataclass(frozen=True)
class SincKernel:
    orig: int  # input samples per block (gcd-reduced input rate)
    new: int  # output samples per block (gcd-reduced output rate)
    width: int  # inputs read beyond each side of a block
    filters: torch.Tensor  # [new, 1, orig + 2·width] float32

    def outputs_for(self, length: int) -> int:
        """Output length for ``length`` inputs: ceil(new · length / orig)."""
        return -(-self.new * length // self.orig)

    def inputs_for(self, outputs: int) -> int:
        """Fewest inputs whose first ``outputs`` results equal those of any longer input (the last needed
        block's filter ends ``width`` samples past its block)."""
        blocks = -(-outputs // self.new)
        return blocks * self.orig + self.width


@lru_cache(maxsize=32)
def sinc_kernel(orig_rate: int, new_rate: int) -> SincKernel:
    """The polyphase filters for ``orig_rate → new_rate`` (integer Hz), cached per rate pair."""
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} → {new_rate}")
    g = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // g, new_rate // g
    cutoff = min(orig, new) * ROLLOFF  # in units of the reduced rates; below both Nyquists
    width = math.ceil(ZERO_CROSSINGS * orig / cutoff)
    taps = torch.arange(-width, width + orig, dtype=torch.float64).view(1, 1, -1) / orig
    # Phase j of the block sits at -j/new; torchaudio divides an integer arange in the default float32 first.
    phases = (torch.arange(0, -new, -1) / new).to(torch.float64).view(-1, 1, 1)
    t = ((phases + taps) * cutoff).clamp(-ZERO_CROSSINGS, ZERO_CROSSINGS)
    window = torch.cos(t * (math.pi / ZERO_CROSSINGS / 2)) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones_like(t), torch.sin(t) / t)
    filters = (sinc * window * (cutoff / orig)).to(torch.float32)
    return SincKernel(orig, new, width, filters)


def resample(wave: torch.Tensor, orig_rate: int, new_rate: int, max_outputs: int | None = None) -> torch.Tensor:
    """``wave`` ([..., T] float) at ``new_rate``: ceil(T · new / orig) samples, as ``torchaudio.transforms.Resample``
    (identity when the rates are equal). ``max_outputs`` keeps only that many leading outputs and reads only the
    inputs they depend on (the kept values equal those of resampling everything)."""
    if not wave.is_floating_point():
        raise TypeError(f"resample needs a floating-point waveform, got {wave.dtype}")
    if orig_rate == new_rate:
        return wave if max_outputs is None else wave[..., :max_outputs]
    k = sinc_kernel(int(orig_rate), int(new_rate))
    shape = wave.shape
    flat = wave.reshape(-1, shape[-1])
    total = k.outputs_for(shape[-1])
    keep = total if max_outputs is None else min(total, max_outputs)
    if keep < total:
        flat = flat[:, : k.inputs_for(keep)]
    padded = F.pad(flat, (k.width, k.width + k.orig))
    out = F.conv1d(padded[:, None], k.filters.to(flat.dtype), stride=k.orig)  # [N, new, blocks]
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)[:, :keep]
    return out.reshape(*shape[:-1], keep)
