"""IMU recordings as devices write them (50-1000 Hz, dropped packets, jitter, repeated timestamps), read from real
Ego4D-layout CSVs: one 200 Hz grid per window, interpolated over the whole window, no ringing at gaps or at the
recording's start, repeated timestamps merged, long gaps rejected."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from onellm_data.codecs.imu import CHANNELS, MAX_GAP_S, load_imu_recording, narration_window, prepare_imu_window
from onellm_data.errors import CodecError
from tests.codecs.test_imu import write_csv


def motion(t: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Walking: gravity on z, a 1.8 Hz step with harmonics on the accelerometer, slower turns on the gyroscope,
    and sensor noise of 0.3 % of each channel's range."""
    step = 2 * np.pi * 1.8 * t
    clean = {
        "accl_x": 1.2 * np.sin(step) + 0.4 * np.sin(2 * step + 0.3),
        "accl_y": 0.8 * np.cos(step) + 0.2 * np.sin(3 * step),
        "accl_z": 9.8 + 2.0 * np.sin(2 * step) + 0.5 * np.sin(4 * step + 1.0),
        "gyro_x": 0.5 * np.sin(2 * np.pi * 0.9 * t) + 0.1 * np.sin(2 * np.pi * 2.7 * t),
        "gyro_y": 0.3 * np.cos(2 * np.pi * 0.6 * t),
        "gyro_z": 0.2 * np.sin(step + 0.5),
    }
    return {c: v + rng.normal(0, 0.003 * np.ptp(v), v.shape) for c, v in clean.items()}


def device_recording(rate: float, seconds: float, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Timestamps (ms) with ±20 % jitter, bursts of dropped packets (5 % of them, up to 60 ms each) and 2 % of the
    packets sent twice with the same timestamp (and fresh noise)."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    ts = (np.arange(n) + rng.uniform(-0.2, 0.2, n)) * 1000.0 / rate
    ts[0] = 0.0
    keep = np.ones(n, dtype=bool)
    burst_max = max(1, int(0.06 * rate) - 1)
    while (~keep).mean() < 0.05:
        at = rng.integers(1, n - burst_max - 1)
        keep[at:at + rng.integers(1, burst_max + 1)] = False
    ts = ts[keep]
    twice = np.sort(rng.choice(len(ts), size=len(ts) // 50, replace=False))
    ts = np.sort(np.concatenate([ts, ts[twice]]), kind="stable")
    return ts, motion(ts / 1000.0, rng)


def merged_linear_reference(ts: np.ndarray, values: dict[str, np.ndarray], grid_ms: np.ndarray) -> np.ndarray:
    """The source (repeated timestamps averaged) linearly interpolated at the grid times."""
    uniq, inverse = np.unique(ts, return_inverse=True)
    out = []
    for c in CHANNELS:
        mean = np.bincount(inverse, weights=values[c]) / np.bincount(inverse)
        out.append(np.interp(grid_ms, uniq, mean))
    return np.stack(out)


def window(rec, start: float) -> np.ndarray:
    members, meta = prepare_imu_window(rec, start, start + 2.0)
    assert meta["imu_span"] == 2.0
    return np.load(io.BytesIO(members["npy"]), allow_pickle=False).astype(np.float64)


@pytest.mark.parametrize("rate", [50.0, 100.0, 197.6, 400.0, 1000.0])
def test_device_recording_with_dropped_packets_matches_linear_interpolation(tmp_path: Path, rate: float) -> None:
    ts, values = device_recording(rate, 12.0, seed=int(rate))
    write_csv(tmp_path / "imu.csv", ts, values)
    rec = load_imu_recording(tmp_path / "imu.csv")
    assert rec.source_rate == pytest.approx(rate, rel=0.05)
    assert len(rec.timestamps_ms) == len(np.unique(ts))  # repeated timestamps merged
    last = narration_window(11.9, rec.duration_s)[0]
    for start in (0.0, 5.0, last):  # at the recording's start, inside, at its end
        out = window(rec, start)
        grid = start * 1000.0 + np.arange(400) * 5.0
        ref = merged_linear_reference(ts, values, grid)
        span = np.ptp(ref, axis=1, keepdims=True)
        diff = np.abs(out - ref) / span
        assert np.percentile(diff, 99, axis=1).max() <= 0.02, (rate, start, np.percentile(diff, 99, axis=1))
        assert diff.max() <= 0.10, (rate, start, diff.max())


def test_no_ringing_at_gaps_or_at_the_recordings_start(tmp_path: Path) -> None:
    """A 1000 Hz recording of a still device (6.0 and 9.8 m/s²) with a dropped burst every 150 ms: every output
    sample stays at the value, including those next to a gap and at t = 0."""
    ts = np.arange(8000) * 1.0
    keep = np.ones(len(ts), dtype=bool)
    for at in range(100, 8000 - 100, 150):
        keep[at:at + 40 + at % 50] = False  # 40-89 ms missing
    ts = ts[keep]
    values = {c: np.full(len(ts), 6.0) for c in CHANNELS}
    values["accl_z"] = np.full(len(ts), 9.8)
    write_csv(tmp_path / "still.csv", ts, values)
    rec = load_imu_recording(tmp_path / "still.csv")
    for start in (0.0, 3.0, 6.0):
        out = window(rec, start)
        np.testing.assert_allclose(out[2], 9.8, atol=1e-4)
        np.testing.assert_allclose(np.delete(out, 2, axis=0), 6.0, atol=1e-4)


def test_repeated_timestamps_are_merged_into_their_mean(tmp_path: Path) -> None:
    ts = np.repeat(np.arange(1000) * 5.0, 2)  # every packet twice
    values = {c: np.tile([1.0, 3.0], 1000) + k for k, c in enumerate(CHANNELS)}
    write_csv(tmp_path / "twice.csv", ts, values)
    rec = load_imu_recording(tmp_path / "twice.csv")
    assert rec.source_rate == pytest.approx(200.0) and rec.data.shape == (6, 1000)
    out = window(rec, 1.0)
    np.testing.assert_allclose(out, np.arange(6)[:, None] + 2.0 + np.zeros((6, 400)), atol=1e-6)


@pytest.mark.parametrize("rate", [50.0, 1000.0])
def test_a_gap_over_the_limit_anywhere_in_the_window_is_rejected(tmp_path: Path, rate: float) -> None:
    ts, values = device_recording(rate, 12.0, seed=7)
    for missing in ((5.5, 5.5 + MAX_GAP_S + 0.03), (4.9, 5.0 + MAX_GAP_S + 0.02), (6.95, 7.2)):
        keep = (ts < missing[0] * 1000) | (ts > missing[1] * 1000)
        write_csv(tmp_path / "gap.csv", ts[keep], {c: v[keep] for c, v in values.items()})
        rec = load_imu_recording(tmp_path / "gap.csv")
        with pytest.raises(CodecError) as err:
            prepare_imu_window(rec, 5.0, 7.0)
        assert err.value.reason == "IMU window has a gap longer than 0.1 s", missing
        window(rec, 8.0)  # the rest of the recording is fine


def test_non_finite_values_are_rejected(tmp_path: Path) -> None:
    ts = np.arange(2000) * 5.0
    values = {c: np.ones(2000) for c in CHANNELS}
    values["gyro_x"][500] = 1e300  # finite in the CSV, inf as float32
    write_csv(tmp_path / "big.csv", ts, values)
    rec = load_imu_recording(tmp_path / "big.csv")
    with pytest.raises(CodecError) as err:
        prepare_imu_window(rec, 2.0, 4.0)
    assert err.value.reason == "IMU window has non-finite values"
    window(rec, 5.0)


def test_regular_200hz_arrays_off_the_grid_are_interpolated_like_any_other() -> None:
    """imu2clip's processed arrays are exactly 200 Hz but start anywhere: the one-weight path for them gives the
    general interpolation's values (here: midway between samples)."""
    from onellm_data.codecs.imu import ImuRecording, _interp

    rng = np.random.default_rng(8)
    ts = 2.5 + np.arange(4000) * 5.0
    rec = ImuRecording(rng.normal(size=(6, 4000)), ts, 200.0)
    out = window(rec, 10.0)
    grid = 10000.0 + np.arange(400) * 5.0
    np.testing.assert_allclose(out, _interp(rec.data, ts, grid), rtol=0, atol=1e-6)
    np.testing.assert_allclose(out, (rec.data[:, 1999:2399] + rec.data[:, 2000:2400]) / 2, rtol=0, atol=1e-6)
    on_grid = ImuRecording(rec.data, ts - 2.5, 200.0)
    assert np.array_equal(window(on_grid, 10.0), rec.data[:, 2000:2400].astype(np.float32))  # copied as it is
