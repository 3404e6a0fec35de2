"""torchaudio's sinc resampling in torch: the polyphase layout, each output against the interpolation formula
evaluated directly in float64, output lengths, and the prefix shortcut. The match with torchaudio itself on real
files is in test_golden.py (OneLLM's fbanks, which go through ``transforms.Resample``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from onellm_data.codecs.resample import resample, sinc_kernel


def direct(x: np.ndarray, orig_rate: int, new_rate: int, outputs: list[int]) -> np.ndarray:
    """y[j] = Σ_i x[i] · h(i/orig − j/new), h a Hann-windowed sinc at cutoff 0.99·min(rates), cut at 6 zero
    crossings, read over the same inputs torchaudio's filter covers (``width`` samples beyond a block)."""
    g = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // g, new_rate // g
    cutoff = 0.99 * min(orig, new)
    width = math.ceil(6 * orig / cutoff)
    out = []
    for j in outputs:
        block, phase = divmod(j, new)
        total = 0.0
        for i in range(block * orig - width, block * orig + orig + width):
            if not 0 <= i < len(x):
                continue
            t = min(max((i - block * orig) / orig - phase / new, -6 / cutoff), 6 / cutoff) * cutoff
            window = math.cos(t * math.pi / 12) ** 2
            sinc = 1.0 if t == 0 else math.sin(math.pi * t) / (math.pi * t)
            total += float(x[i]) * sinc * window * cutoff / orig
        out.append(total)
    return np.array(out)


def noise(n: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(-0.5, 0.5, n).astype(np.float32))


@pytest.mark.parametrize("orig,new,reduced,width", [
    (44100, 16000, (441, 160), 17), (48000, 16000, (3, 1), 19), (32000, 16000, (2, 1), 13),
    (8000, 16000, (1, 2), 7), (22050, 16000, (441, 320), 9),
])
def test_kernel_is_gcd_reduced_polyphase(orig: int, new: int, reduced: tuple[int, int], width: int) -> None:
    k = sinc_kernel(orig, new)
    assert (k.orig, k.new) == reduced and k.width == width
    assert k.filters.shape == (k.new, 1, k.orig + 2 * k.width) and k.filters.dtype == torch.float32
    # Every phase passes DC unchanged (its taps sum to ~1): a constant signal stays constant.
    gains = k.filters.double().sum(dim=-1).flatten()
    assert torch.allclose(gains, torch.ones_like(gains), atol=0.02)


@pytest.mark.parametrize("orig,new", [(44100, 16000), (48000, 16000), (22050, 16000), (8000, 16000)])
def test_outputs_equal_the_formula(orig: int, new: int) -> None:
    x = noise(3000, seed=orig)
    y = resample(x, orig, new).numpy()
    assert len(y) == math.ceil(new * len(x) / orig)
    picks = [0, 1, 2, 7, len(y) // 3, len(y) // 2 + 1, len(y) - 2, len(y) - 1]
    # float32 filters and sums (as torchaudio) against float64: a wrong tap or phase would be off by ~1e-2.
    np.testing.assert_allclose(y[picks], direct(x.numpy(), orig, new, picks), atol=1e-5, rtol=0)


def test_batch_dimensions_are_kept_and_independent() -> None:
    x = torch.stack([noise(1000, 1), noise(1000, 2)]).view(2, 1, 1000)
    y = resample(x, 44100, 16000)
    assert y.shape == (2, 1, math.ceil(16000 * 1000 / 44100))
    torch.testing.assert_close(y[1, 0], resample(x[1, 0], 44100, 16000), atol=1e-7, rtol=0)


@pytest.mark.parametrize("orig", [44100, 48000, 32000, 8000])
def test_prefix_equals_the_full_resampling(orig: int) -> None:
    x = noise(20000, seed=3)
    full = resample(x, orig, 16000)
    for keep in (1, 159, 160, 161, 5000):
        part = resample(x, orig, 16000, max_outputs=keep)
        assert part.shape == (keep,)
        torch.testing.assert_close(part, full[:keep], atol=1e-6, rtol=0)
    assert torch.equal(resample(x, orig, 16000, max_outputs=10**9), full)


def test_equal_rates_and_bad_input() -> None:
    x = noise(100)
    assert resample(x, 16000, 16000) is x
    assert torch.equal(resample(x, 16000, 16000, max_outputs=10), x[:10])
    with pytest.raises(TypeError):
        resample(torch.zeros(10, dtype=torch.int16), 44100, 16000)
    with pytest.raises(ValueError):
        resample(x, 0, 16000)
