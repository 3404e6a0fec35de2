"""IMU codec (Ego4D). A recording is read once, as imu2clip's ``extract_imu`` prepares it: rows with a NaN
timestamp dropped, sorted by ``canonical_timestamp_ms``, channels ``accl_xyz, gyro_xyz`` (NaN → 0), resampled to
200 Hz. It comes either from Ego4D's CSV or from the processed ``{uid}.npy`` [6, T] + ``{uid}_timestamps.npy``
(ms). A 2 s window is cut by ``bisect`` on the timestamps with imu2clip's rejects (ends past the data, more than
4 s off, fewer than 10 samples) and stored as float32 [6, 400] in raw units (OneLLM does not normalise IMU)."""

from __future__ import annotations

import io
import math
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.errors import CodecError

RATE = 200.0
WINDOW_SECONDS = 2.0
WINDOW_SAMPLES = int(RATE * WINDOW_SECONDS)
CHANNELS = ("accl_x", "accl_y", "accl_z", "gyro_x", "gyro_y", "gyro_z")
TIME_COLUMN = "canonical_timestamp_ms"
MAX_OFFSET_MS = 4000.0
MIN_SAMPLES = 10


@dataclass(frozen=True)
class ImuRecording:
    """One video's IMU at 200 Hz: ``data`` float32 [6, T], ``timestamps_ms`` float64 [T] (video time)."""

    data: np.ndarray
    timestamps_ms: np.ndarray
    source_rate: float  # the rate the recording was captured at, before resampling

    @property
    def duration_s(self) -> float:
        """Seconds covered up to the end of the last sample."""
        return float(self.timestamps_ms[-1]) / 1000.0 + 1.0 / RATE


GAP_FACTOR = 2.5  # an interval this many times the typical one is a gap in the recording, not jitter


def _estimated_rate(ts_ms: np.ndarray) -> float:
    """Samples per second from the median interval: a gap in the recording must not lower the estimate (a mean
    over the span would, and resampling at that rate would stretch the whole signal in time)."""
    steps = np.diff(ts_ms)
    steps = steps[steps > 0]
    return 1000.0 / float(np.median(steps)) if len(steps) else 0.0


def _to_200hz(data: np.ndarray, ts_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Resample [6, T] to 200 Hz; recordings already at 200 Hz (within 0.5%) are kept sample for sample. Each
    stretch between gaps is resampled on its own and keeps its start time, so gaps stay gaps (and windows over
    them are rejected) instead of being closed up."""
    rate = _estimated_rate(ts_ms)
    if rate <= 0:
        raise CodecError("IMU recording has no time span", f"{len(ts_ms)} samples")
    if abs(rate - RATE) / RATE < 0.005:
        return data.astype(np.float32), ts_ms.astype(np.float64), rate
    import soxr  # librosa's resampler: band-limited, so gyro spikes do not alias

    breaks = np.flatnonzero(np.diff(ts_ms) > GAP_FACTOR * 1000.0 / rate) + 1
    parts, times = [], []
    for seg, seg_ts in zip(np.split(data, breaks, axis=1), np.split(ts_ms, breaks)):
        out = soxr.resample(np.ascontiguousarray(seg.T, dtype=np.float64), rate, RATE, quality="HQ").T
        parts.append(out)
        times.append(seg_ts[0] + np.arange(out.shape[1], dtype=np.float64) * (1000.0 / RATE))
    return np.concatenate(parts, axis=1).astype(np.float32), np.concatenate(times), rate


def _from_columns(ts: np.ndarray, channels: np.ndarray) -> ImuRecording:
    """``ts`` [T] ms, ``channels`` [T, 6]: drop NaN times, sort, NaN → 0, resample."""
    keep = ~np.isnan(ts)
    ts, channels = ts[keep], channels[keep]
    if len(ts) < MIN_SAMPLES:
        raise CodecError("IMU recording too short", f"{len(ts)} samples with a timestamp")
    order = np.argsort(ts, kind="stable")
    data = np.nan_to_num(channels[order].T.astype(np.float64), nan=0.0)
    data, ts_ms, rate = _to_200hz(data, ts[order])
    return ImuRecording(data, ts_ms, rate)


def _read_csv(path: Path) -> ImuRecording:
    import pandas as pd

    try:
        frame = pd.read_csv(path, usecols=[TIME_COLUMN, *CHANNELS])
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:  # before ValueError: subclasses
        raise CodecError("unreadable IMU CSV", exc_detail(exc)) from exc
    except ValueError as exc:  # a missing column
        raise CodecError("IMU CSV lacks required columns", exc_detail(exc)) from exc
    values = frame[[TIME_COLUMN, *CHANNELS]].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    return _from_columns(values[:, 0], values[:, 1:])


def _read_npy(path: Path) -> ImuRecording:
    ts_path = path.with_name(f"{path.stem}_timestamps.npy")
    if not ts_path.is_file():
        raise CodecError("missing media file", f"{ts_path.name} (timestamps of {path.name})")
    try:
        data = np.load(path, allow_pickle=False)
        ts = np.load(ts_path, allow_pickle=False).astype(np.float64).reshape(-1)
    except (ValueError, OSError, EOFError) as exc:
        raise CodecError("unreadable IMU array", exc_detail(exc)) from exc
    if data.ndim != 2 or data.shape[0] != 6:
        raise CodecError("IMU array must be [6, T]", f"shape {data.shape}")
    if data.shape[1] != ts.shape[0]:
        raise CodecError("IMU array and timestamps differ in length", f"{data.shape[1]} vs {ts.shape[0]}")
    return _from_columns(ts, data.T)


def load_imu_recording(src: Path | str) -> ImuRecording:
    path = Path(src)
    if not path.is_file():
        raise CodecError("missing media file", str(path))
    if path.suffix == ".csv":
        return _read_csv(path)
    if path.suffix == ".npy":
        return _read_npy(path)
    raise CodecError("unsupported IMU file", path.name)


def narration_window(t_s: float, duration_s: float, window_sec: float = WINDOW_SECONDS / 2) -> tuple[float, float]:
    """imu2clip's integer-second window of ``2 × window_sec`` around a narration at ``t_s``, kept inside
    [0, duration]: near the start it begins at 0, near the end it ends at the recording's last whole second."""
    length = 2 * window_sec
    start = float(int(max(0.0, t_s - window_sec)))
    end = start + length
    last = math.floor(duration_s + 1e-6)
    if end > last:
        end = float(last)
        start = max(0.0, end - length)
    return start, end


def prepare_imu_window(rec: ImuRecording, start_s: float, end_s: float) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The window's float32 [6, 400] as ``npy`` and its metadata."""
    if not end_s > start_s:
        raise CodecError("empty IMU window", f"{start_s:g}..{end_s:g}s")
    if abs((end_s - start_s) - WINDOW_SECONDS) > 0.5:
        raise CodecError("IMU window is not 2 s", f"{start_s:g}..{end_s:g}s")
    ts = rec.timestamps_ms
    start_ms, end_ms = start_s * 1000.0, end_s * 1000.0
    # The last sample covers one period: a window ending there is inside the data.
    if end_ms > ts[-1] + 1000.0 / RATE + 1e-6:
        raise CodecError("IMU window ends past the recording", f"{end_s:g}s of {rec.duration_s:g}s")
    lo = bisect_left(ts, start_ms)
    hi = bisect_left(ts, end_ms)
    if lo >= len(ts) or abs(ts[lo] - start_ms) > MAX_OFFSET_MS or (hi < len(ts) and abs(ts[hi] - end_ms) > MAX_OFFSET_MS):
        raise CodecError("IMU window more than 4 s off the recorded samples", f"{start_s:g}..{end_s:g}s")
    if hi - lo < MIN_SAMPLES:
        raise CodecError("IMU window has fewer than 10 samples", f"{hi - lo} samples in {start_s:g}..{end_s:g}s")
    window = rec.data[:, lo:hi]
    span = float(ts[hi - 1] - ts[lo]) / 1000.0 + 1.0 / RATE
    out = np.zeros((6, WINDOW_SAMPLES), dtype=np.float32)  # zero-padded like imu2clip when the data stop short
    n = min(WINDOW_SAMPLES, window.shape[1])
    out[:, :n] = window[:, :n]
    buf = io.BytesIO()
    np.save(buf, out, allow_pickle=False)
    meta = {"imu_rate": round(rec.source_rate, 3), "imu_span": round(min(span, end_s - start_s), 6),
            "window_start": float(start_s), "window_end": float(end_s)}
    return {"npy": buf.getvalue()}, meta


def decode_imu(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    from onellm_data.codecs.point import read_npy

    arr = read_npy(data, "imu window")
    if arr.shape != (6, WINDOW_SAMPLES):
        raise CodecError("IMU window must be [6, 400]", f"shape {arr.shape}")
    return torch.from_numpy(arr.astype(np.float32))
