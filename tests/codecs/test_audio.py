"""Audio codec: the Kaldi fbank against kaldi-native-fbank, OneLLM's [1, 128, 1024] features, resampling,
real files and rejects."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import pytest
import soundfile as sf
import torch

from onellm_data.codecs.audio import FBANK_MEAN, FBANK_STD, decode_audio, prepare_audio
from onellm_data.codecs.fbank import kaldi_fbank, mel_banks
from onellm_data.codecs.resample import resample
from onellm_data.errors import CodecError
from tests.conftest import realdata

FBANK_ATOL = 1e-3  # log-mel units; measured max |diff| ≈ 3e-4 (float32 FFT vs Kaldi's own split-radix FFT)
PAD_VALUE = (0.0 - FBANK_MEAN) / (FBANK_STD * 2)  # a zero-padded frame after normalisation


def tone(rate: int, seconds: float, freq: float = 440.0, noise: float = 0.05, seed: int = 0,
         channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)
    if channels == 1:
        return x.astype(np.float32)
    return np.stack([x * (c + 1) / channels for c in range(channels)], axis=1).astype(np.float32)


def wav_bytes(x: np.ndarray, rate: int, fmt: str = "WAV", subtype: str | None = "FLOAT") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def knf_fbank(x: np.ndarray, low_freq: float) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.frame_length_ms = 25
    opts.frame_opts.frame_shift_ms = 10
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hanning"
    opts.frame_opts.snip_edges = True
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.preemph_coeff = 0.97
    opts.mel_opts.num_bins = 128
    opts.mel_opts.low_freq = low_freq
    opts.use_energy = False
    opts.htk_compat = True
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, x.tolist())
    fb.input_finished()
    return np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])


# ---------------------------------------------------------------- fbank


@pytest.mark.parametrize("seconds,seed", [(2.0, 0), (1.2345, 1), (0.0251, 2)])
def test_fbank_matches_kaldi_native_fbank(seconds: float, seed: int) -> None:
    x = tone(16000, seconds, freq=440 + 300 * seed, seed=seed)
    x[: len(x) // 3] = 0.0  # a silent stretch exercises the log floor
    ref = knf_fbank(x, low_freq=25.0)
    ours = kaldi_fbank(torch.from_numpy(x), low_freq=25.0).numpy()
    assert ours.shape == ref.shape == (1 + (len(x) - 400) // 160, 128)
    assert np.abs(ours - ref).max() < FBANK_ATOL


def test_fbank_default_low_frequency_stays_20hz() -> None:
    """OneLLM calls torchaudio's fbank with its default low_freq (20 Hz). At 20 Hz with 128 bins one filter
    holds no FFT bin (Kaldi refuses such a bank; torchaudio, and so OneLLM, just outputs log(eps) there)."""
    assert inspect.signature(kaldi_fbank).parameters["low_freq"].default == 20.0
    x = torch.from_numpy(tone(16000, 1.0))
    default = kaldi_fbank(x)
    assert not torch.allclose(default, kaldi_fbank(x, low_freq=25.0))
    assert torch.equal(default, kaldi_fbank(x, low_freq=20.0))
    empty = (mel_banks(128, 512, 16000.0, 20.0, 0.0).sum(dim=1) == 0).nonzero().flatten().tolist()
    assert empty == [3]
    assert torch.all(default[:, 3] == torch.log(torch.tensor(torch.finfo(torch.float32).eps)))


def test_fbank_of_a_too_short_signal_is_empty_and_stereo_uses_channel_0() -> None:
    assert kaldi_fbank(torch.zeros(399)).shape == (0, 128)
    x = torch.from_numpy(tone(16000, 0.5, channels=2).T.copy())
    assert torch.equal(kaldi_fbank(x), kaldi_fbank(x[0]))


# ---------------------------------------------------------------- decode_audio


def _expected(x: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(x.astype(np.float32))
    fb = kaldi_fbank(x - x.mean())
    return ((fb - FBANK_MEAN) / (FBANK_STD * 2)).T


def test_decode_pads_short_audio_with_zero_frames() -> None:
    x = tone(16000, 3.0)
    out = decode_audio(wav_bytes(x, 16000))
    assert out.shape == (1, 128, 1024) and out.dtype == torch.float32
    n = 1 + (len(x) - 400) // 160  # 298 real frames
    torch.testing.assert_close(out[0, :, :n], _expected(x), atol=1e-5, rtol=0)
    assert torch.all(out[0, :, n:] == PAD_VALUE)
    assert PAD_VALUE == pytest.approx(4.2677393 / (4.5689974 * 2))


def test_decode_truncates_long_audio_to_1024_frames() -> None:
    x = tone(16000, 12.0, seed=3)
    out = decode_audio(wav_bytes(x, 16000))
    assert out.shape == (1, 128, 1024)
    torch.testing.assert_close(out[0], _expected(x)[:, :1024], atol=1e-5, rtol=0)


def test_train_masks_are_seeded_and_applied_before_normalisation() -> None:
    data = wav_bytes(tone(16000, 11.0, seed=4), 16000)
    plain = decode_audio(data)
    a = decode_audio(data, train=True, generator=torch.Generator().manual_seed(0))
    b = decode_audio(data, train=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    masked = a != plain
    assert masked.any()
    assert torch.all(a[masked] == PAD_VALUE)  # masked to 0 before normalisation, as OneLLM
    rows, cols = masked[0].all(dim=1), masked[0].all(dim=0)  # whole mel bins, whole frames
    assert torch.equal(masked[0], rows[:, None] | cols[None, :])  # one frequency band and one time span
    for band, width in ((rows, 48), (cols, 192)):
        idx = band.nonzero().flatten()
        assert len(idx) < width  # w ~ U[0, width)
        if len(idx):
            assert int(idx[-1] - idx[0]) + 1 == len(idx)  # contiguous
    seeds = [decode_audio(data, train=True, generator=torch.Generator().manual_seed(s)) for s in (1, 2)]
    assert not torch.equal(seeds[0], seeds[1])


@pytest.mark.parametrize("rate", [32000, 44100, 8000])
def test_resampling_to_16khz_keeps_frequency(rate: int) -> None:
    x = tone(rate, 2.0, freq=1000.0, noise=0.0)
    y = resample(torch.from_numpy(x), rate, 16000).numpy()
    assert y.dtype == np.float32 and len(y) == 32000
    spectrum = np.abs(np.fft.rfft(y[1000:17000]))
    assert np.argmax(spectrum) * 16000 / 16000 == pytest.approx(1000.0, abs=2.0)
    # The features of the resampled file match those of the same tone made at 16 kHz.
    native = decode_audio(wav_bytes(tone(16000, 2.0, freq=1000.0, noise=0.0), 16000))
    other = decode_audio(wav_bytes(x, rate))
    assert int(native[0, :, 50].argmax()) == int(other[0, :, 50].argmax())
    assert float((native[0, :, 10:180] - other[0, :, 10:180]).abs().median()) < 0.05


def test_resample_is_identity_at_16khz() -> None:
    x = torch.from_numpy(tone(16000, 0.1))
    assert resample(x, 16000, 16000) is x


# ---------------------------------------------------------------- prepare_audio


@pytest.mark.parametrize("fmt,ext,subtype", [("WAV", "wav", "PCM_16"), ("FLAC", "flac", "PCM_16"),
                                             ("OGG", "ogg", "VORBIS"), ("MP3", "mp3", "MPEG_LAYER_III")])
def test_prepare_keeps_the_file_and_reports_metadata(fmt: str, ext: str, subtype: str) -> None:
    x = tone(22050, 1.5, channels=2)
    data = wav_bytes(x, 22050, fmt=fmt, subtype=subtype)  # soundfile's bundled libsndfile writes all four
    members, meta = prepare_audio(data, ext=ext)
    assert members == {ext: data}
    assert meta["sample_rate"] == 22050 and meta["channels"] == 2
    assert meta["duration"] == pytest.approx(1.5, abs=0.06)  # lossy codecs add a little padding
    assert decode_audio(data).shape == (1, 128, 1024)


def test_prepare_reads_a_path(tmp_path: Path) -> None:
    path = tmp_path / "a.flac"
    sf.write(path, tone(16000, 0.5), 16000, format="FLAC")
    members, meta = prepare_audio(path)
    assert members == {"flac": path.read_bytes()}
    assert meta == {"duration": 0.5, "sample_rate": 16000, "channels": 1}


# ---------------------------------------------------------------- real files


def test_real_stereo_32khz_wav_uses_channel_0() -> None:
    path = realdata("audio/pydub_test_data/test1.wav")
    members, meta = prepare_audio(path)
    assert members == {"wav": path.read_bytes()}
    assert meta == {"duration": pytest.approx(10.0095, abs=1e-4), "sample_rate": 32000, "channels": 2}
    out = decode_audio(members["wav"])
    assert out.shape == (1, 128, 1024) and torch.isfinite(out).all()
    wav, rate = sf.read(path, dtype="int16")
    left = wav_bytes(wav[:, 0], rate, subtype="PCM_16")  # channel 0 alone, same samples
    # Equal up to rounding: OneLLM's mean removal spans both channels (each frame removes its own mean anyway).
    torch.testing.assert_close(out, decode_audio(left), atol=1e-3, rtol=0)
    right = wav_bytes(wav[:, 1], rate, subtype="PCM_16")
    assert float((out - decode_audio(right)).abs().max()) > 0.1


def test_real_mp3_44khz_mono() -> None:
    path = realdata("audio/pydub_test_data/party.mp3")
    members, meta = prepare_audio(path)
    assert members == {"mp3": path.read_bytes()}
    assert meta["sample_rate"] == 44100 and meta["channels"] == 1
    assert meta["duration"] == pytest.approx(6.62, abs=0.05)
    out = decode_audio(members["mp3"])
    n = int((meta["duration"] * 16000 - 400) // 160) + 1
    assert out.shape == (1, 128, 1024)
    assert torch.all(out[0, :, n + 2 :] == PAD_VALUE) and not torch.all(out[0, :, : n - 2] == PAD_VALUE)


def test_real_onellm_demo_wav_stereo_44khz() -> None:
    path = realdata("onellm_demo/bird_audio.wav")
    members, meta = prepare_audio(path)
    assert meta == {"duration": 5.0, "sample_rate": 44100, "channels": 2}
    out = decode_audio(members["wav"])
    assert out.shape == (1, 128, 1024) and torch.isfinite(out).all()


# ---------------------------------------------------------------- rejects


def test_rejects() -> None:
    with pytest.raises(CodecError) as err:
        prepare_audio(b"", ext="wav")
    assert err.value.reason == "empty audio"
    with pytest.raises(CodecError) as err:
        prepare_audio(b"RIFF garbage that is not audio" * 10, ext="wav")
    assert err.value.reason == "undecodable audio"
    # libsndfile says "Error opening <_io.BytesIO object at 0x7f…>: …": the address must not reach the detail.
    # Both decoders' words (libsndfile first, then the ffmpeg fallback), without addresses or temporary paths.
    assert err.value.detail == ("libsndfile: Error opening <_io.BytesIO>: Format not recognised.; "
                                "ffmpeg: input: Invalid data found when processing input")
    with pytest.raises(CodecError) as err:
        decode_audio(b"\x00" * 300)
    assert err.value.reason == "undecodable audio"
    nan = tone(16000, 0.2)
    nan[100] = np.nan
    with pytest.raises(CodecError) as err:
        prepare_audio(wav_bytes(nan, 16000), ext="wav")
    assert err.value.reason == "audio has non-finite samples"
    with pytest.raises(CodecError) as err:
        prepare_audio(wav_bytes(np.zeros(0, np.float32), 16000), ext="wav")
    assert err.value.reason == "audio has no samples"
    with pytest.raises(CodecError) as err:
        prepare_audio(b"xx", ext="xyz")
    assert err.value.reason == "unsupported audio format"
    with pytest.raises(ValueError):
        prepare_audio(b"xx")
