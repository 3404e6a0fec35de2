"""IMU codec (Ego4D, imu2clip style): reading recordings, resampling to 200 Hz, narration windows and the
[6, 400] windows with their rejects."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from onellm_data.codecs.imu import (
    CHANNELS, ImuRecording, decode_imu, load_imu_recording, narration_window, prepare_imu_window,
)
from onellm_data.errors import CodecError

EGO4D_COLUMNS = ["component_idx", "component_type", "component_timestamp_ms", "canonical_timestamp_ms",
                 "gyro_x", "gyro_y", "gyro_z", "accl_x", "accl_y", "accl_z"]
# Constant offsets per channel make the order visible: accl_x → 10, …, gyro_z → 60.
OFFSETS = {"accl_x": 10.0, "accl_y": 20.0, "accl_z": 30.0, "gyro_x": 40.0, "gyro_y": 50.0, "gyro_z": 60.0}


def write_csv(path: Path, ts_ms: np.ndarray, values: dict[str, np.ndarray]) -> None:
    """An Ego4D IMU CSV (gyro columns before accl, as Ego4D writes them)."""
    lines = [",".join(EGO4D_COLUMNS)]
    for i, t in enumerate(ts_ms):
        row = [str(i), "imu_left", "" if np.isnan(t) else repr(float(t) + 123.0),
               "" if np.isnan(t) else repr(float(t))]
        row += ["" if np.isnan(values[c][i]) else repr(float(values[c][i])) for c in EGO4D_COLUMNS[4:]]
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")


def ramp_recording(n: int, rate: float = 200.0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    ts = np.arange(n) * 1000.0 / rate
    return ts, {c: OFFSETS[c] + np.arange(n) / 1000.0 for c in CHANNELS}


def rec200(seconds: float, start_ms: float = 0.0) -> ImuRecording:
    n = int(seconds * 200)
    ts = start_ms + np.arange(n) * 5.0
    data = np.stack([OFFSETS[c] + np.arange(n, dtype=np.float64) for c in CHANNELS]).astype(np.float32)
    return ImuRecording(data, ts, 200.0)


def npy_array(members: dict[str, bytes]) -> np.ndarray:
    assert list(members) == ["npy"]
    return np.load(io.BytesIO(members["npy"]), allow_pickle=False)


# ---------------------------------------------------------------- reading recordings


def test_csv_rows_are_sorted_nan_times_dropped_nan_values_zeroed(tmp_path: Path) -> None:
    ts, values = ramp_recording(1000)
    ts = ts.copy()
    values["gyro_y"][7] = np.nan
    ts[500] = np.nan  # this row goes
    order = np.random.default_rng(0).permutation(1000)  # Ego4D rows are not in time order
    write_csv(tmp_path / "uid.csv", ts[order], {c: v[order] for c, v in values.items()})
    rec = load_imu_recording(tmp_path / "uid.csv")
    keep = np.arange(1000) != 500
    assert rec.data.shape == (6, 999)
    assert np.array_equal(rec.timestamps_ms, ts[keep])
    for row, name in enumerate(CHANNELS):  # accl xyz, then gyro xyz
        expected = values[name][keep].copy()
        if name == "gyro_y":
            expected[7] = 0.0
        np.testing.assert_allclose(rec.data[row], expected, rtol=0, atol=1e-5)
    assert rec.source_rate == pytest.approx(200.0)
    assert rec.duration_s == pytest.approx(5.0)


def test_npy_with_timestamps(tmp_path: Path) -> None:
    ts, values = ramp_recording(600)
    data = np.stack([values[c] for c in CHANNELS])
    np.save(tmp_path / "uid.npy", data[:, ::-1])  # reversed in time: sorted on reading
    np.save(tmp_path / "uid_timestamps.npy", ts[::-1])
    rec = load_imu_recording(tmp_path / "uid.npy")
    assert np.array_equal(rec.timestamps_ms, ts)
    np.testing.assert_allclose(rec.data, data, atol=1e-5)


def test_npy_rejects(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.zeros((6, 50)))
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "a.npy")
    assert err.value.reason == "missing media file" and "a_timestamps.npy" in err.value.detail
    np.save(tmp_path / "a_timestamps.npy", np.arange(49.0))
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "a.npy")
    assert err.value.reason == "IMU array and timestamps differ in length"
    np.save(tmp_path / "b.npy", np.zeros((3, 50)))
    np.save(tmp_path / "b_timestamps.npy", np.arange(50.0))
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "b.npy")
    assert err.value.reason == "IMU array must be [6, T]"
    (tmp_path / "c.npy").write_bytes(b"junk")
    np.save(tmp_path / "c_timestamps.npy", np.arange(50.0))
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "c.npy")
    assert err.value.reason == "unreadable IMU array" and "0x" not in err.value.detail


def test_csv_rejects(tmp_path: Path) -> None:
    (tmp_path / "cols.csv").write_text("canonical_timestamp_ms,accl_x\n1,2\n")
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "cols.csv")
    assert err.value.reason == "IMU CSV lacks required columns"
    ts, values = ramp_recording(5)
    write_csv(tmp_path / "short.csv", ts, values)
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "short.csv")
    assert err.value.reason == "IMU recording too short"
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "empty.csv")
    assert err.value.reason == "unreadable IMU CSV"
    write_csv(tmp_path / "flat.csv", np.zeros(20), {c: np.zeros(20) for c in CHANNELS})
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "flat.csv")
    assert err.value.reason == "IMU recording has no time span"
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "nope.csv")
    assert err.value.reason == "missing media file"
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CodecError) as err:
        load_imu_recording(tmp_path / "x.json")
    assert err.value.reason == "unsupported IMU file"


# ---------------------------------------------------------------- resampling


def test_1000hz_recording_is_resampled_to_200hz_keeping_frequency(tmp_path: Path) -> None:
    n, rate, freq = 10000, 1000.0, 7.0  # 10 s of a 7 Hz sine
    ts = np.arange(n) * 1000.0 / rate
    t = ts / 1000.0
    values = {c: OFFSETS[c] + np.sin(2 * np.pi * freq * t + k) for k, c in enumerate(CHANNELS)}
    write_csv(tmp_path / "fast.csv", ts, values)
    rec = load_imu_recording(tmp_path / "fast.csv")
    assert rec.source_rate == pytest.approx(1000.0)
    for start in (0.0, 4.0, 8.0):  # at the recording's start, inside, at its end
        out = npy_array(prepare_imu_window(rec, start, start + 2.0)[0]).astype(np.float64)
        grid = start + np.arange(400) / 200.0
        for row, name in enumerate(CHANNELS):
            spectrum = np.abs(np.fft.rfft(out[row] - out[row].mean()))
            assert np.argmax(spectrum) * 200.0 / 400 == pytest.approx(freq, abs=0.5)
            expected = OFFSETS[name] + np.sin(2 * np.pi * freq * grid + row)
            np.testing.assert_allclose(out[row], expected, atol=2e-2)  # same phase: the time axis is right


def test_gap_in_a_200hz_recording_is_not_bridged(tmp_path: Path) -> None:
    """A gap lowers the mean rate (200 → 133 Hz here); the rate comes from the median interval instead."""
    ts = np.concatenate([np.arange(2000) * 5.0, 20000.0 + np.arange(2000) * 5.0])
    values = {c: OFFSETS[c] + np.arange(4000) / 1000.0 for c in CHANNELS}
    write_csv(tmp_path / "gap.csv", ts, values)
    rec = load_imu_recording(tmp_path / "gap.csv")
    assert rec.source_rate == pytest.approx(200.0)
    assert np.array_equal(rec.timestamps_ms, ts)
    with pytest.raises(CodecError) as err:
        prepare_imu_window(rec, 14.0, 16.0)
    assert err.value.reason == "IMU window has fewer than 10 samples"
    with pytest.raises(CodecError) as err:
        prepare_imu_window(rec, 9.0, 11.0)
    assert err.value.reason == "IMU window has a gap longer than 0.1 s"
    assert err.value.detail == "10.005 s without samples from 9.995 s"


def test_gap_in_a_1000hz_recording_stays_a_gap(tmp_path: Path) -> None:
    ts = np.concatenate([np.arange(5000) * 1.0, 15000.0 + np.arange(5000) * 1.0])
    write_csv(tmp_path / "gap.csv", ts, {c: OFFSETS[c] + np.zeros(10000) for c in CHANNELS})
    rec = load_imu_recording(tmp_path / "gap.csv")
    out = npy_array(prepare_imu_window(rec, 16.0, 18.0)[0])
    np.testing.assert_allclose(out[0], 10.0, atol=1e-3)
    with pytest.raises(CodecError) as err:
        prepare_imu_window(rec, 4.0, 6.0)
    assert err.value.reason == "IMU window has a gap longer than 0.1 s"


# ---------------------------------------------------------------- narration windows


@pytest.mark.parametrize("t,duration,expected", [
    (5.7, 30.0, (4.0, 6.0)),    # int(t - 1) .. + 2 s
    (5.0, 30.0, (4.0, 6.0)),
    (0.3, 30.0, (0.0, 2.0)),    # clamped at the start
    (1.99, 30.0, (0.0, 2.0)),
    (29.5, 30.0, (28.0, 30.0)),  # clamped at the end: the last whole second
    (29.9, 29.5, (27.0, 29.0)),
    (10.2, 10.5, (8.0, 10.0)),
    (0.5, 1.5, (0.0, 1.0)),     # too short for 2 s: prepare_imu_window rejects it
])
def test_narration_window(t: float, duration: float, expected: tuple[float, float]) -> None:
    assert narration_window(t, duration) == expected


# ---------------------------------------------------------------- windows


def test_prepare_window_layout_and_meta() -> None:
    rec = rec200(10.0)
    members, meta = prepare_imu_window(rec, 4.0, 6.0)
    arr = npy_array(members)
    assert arr.dtype == np.float32 and arr.shape == (6, 400)
    assert np.array_equal(arr, rec.data[:, 800:1200])
    assert arr[:, 0].tolist() == [10 + 800, 20 + 800, 30 + 800, 40 + 800, 50 + 800, 60 + 800]  # accl xyz, gyro xyz
    assert meta == {"imu_rate": 200.0, "imu_span": 2.0, "window_start": 4.0, "window_end": 6.0}
    x = decode_imu(members["npy"])
    assert x.shape == (6, 400) and x.dtype == torch.float32 and torch.equal(x, torch.from_numpy(arr))


def test_window_at_the_very_end_is_inside() -> None:
    members, meta = prepare_imu_window(rec200(10.0), 8.0, 10.0)
    assert np.array_equal(npy_array(members), rec200(10.0).data[:, 1600:2000])


def test_window_past_the_data_is_rejected_and_short_gaps_are_bridged() -> None:
    rec = rec200(10.0)
    cut = ImuRecording(rec.data[:, :1900], rec.timestamps_ms[:1900], 200.0)  # ends at 9.5 s
    with pytest.raises(CodecError):
        prepare_imu_window(cut, 8.0, 10.0)  # ends past the data
    drop = np.r_[1100:1300]  # 1 s missing inside the window: rejected, not closed up (imu2clip) or zero-filled
    gap = ImuRecording(np.delete(rec.data, drop, axis=1), np.delete(rec.timestamps_ms, drop), 200.0)
    with pytest.raises(CodecError) as err:
        prepare_imu_window(gap, 5.0, 7.0)
    assert err.value.reason == "IMU window has a gap longer than 0.1 s"
    drop = np.r_[1100:1110]  # 55 ms missing: bridged; the ramp is linear, so exactly restored
    gap = ImuRecording(np.delete(rec.data, drop, axis=1), np.delete(rec.timestamps_ms, drop), 200.0)
    members, meta = prepare_imu_window(gap, 5.0, 7.0)
    np.testing.assert_allclose(npy_array(members), rec.data[:, 1000:1400], atol=1e-4)
    assert meta["imu_span"] == pytest.approx(2.0)


@pytest.mark.parametrize("start,end,reason", [
    (9.0, 11.0, "IMU window ends past the recording"),
    (0.0, 3.0, "IMU window is not 2 s"),
    (3.0, 3.0, "empty IMU window"),
    (5.0, 4.0, "empty IMU window"),
])
def test_window_rejects(start: float, end: float, reason: str) -> None:
    with pytest.raises(CodecError) as err:
        prepare_imu_window(rec200(10.0), start, end)
    assert err.value.reason == reason


def test_window_before_the_recording_starts_is_rejected() -> None:
    rec = rec200(10.0, start_ms=20000.0)  # samples from 20 s
    with pytest.raises(CodecError) as err:
        prepare_imu_window(rec, 2.0, 4.0)
    assert err.value.reason == "IMU window has fewer than 10 samples"


def test_window_with_fewer_than_10_samples_is_rejected() -> None:
    rec = rec200(30.0)
    keep = (rec.timestamps_ms < 10000) | (rec.timestamps_ms >= 12980)  # nothing in 10 .. 12.98 s
    sparse = ImuRecording(rec.data[:, keep], rec.timestamps_ms[keep], 200.0)
    with pytest.raises(CodecError) as err:
        prepare_imu_window(sparse, 11.0, 13.0)  # 4 samples (12.98 .. 12.995 s)
    assert err.value.reason == "IMU window has fewer than 10 samples"
    assert err.value.detail.startswith("4 samples")


def test_decode_rejects_wrong_shapes() -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros((6, 399), np.float32))
    with pytest.raises(CodecError) as err:
        decode_imu(buf.getvalue())
    assert err.value.reason == "IMU window must be [6, 400]"
