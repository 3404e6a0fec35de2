"""IMU codec (Ego4D). A recording is read once, as imu2clip's ``extract_imu`` prepares it: rows with a NaN
timestamp dropped, sorted by ``canonical_timestamp_ms``, channels ``accl_xyz, gyro_xyz`` (NaN → 0). It comes
either from Ego4D's CSV or from the processed ``{uid}.npy`` [6, T] + ``{uid}_timestamps.npy`` (ms), at any rate
(Ego4D's devices log at 50-1000 Hz, with dropped packets, jitter and repeated timestamps). Rows sharing a
timestamp are merged into their mean; the samples are otherwise kept as recorded.

A 2 s window is resampled onto one 200 Hz grid (``start + 5 ms × k``, k < 400) from all the recording's samples
around it at once, so dropped packets are bridged by the samples on both sides and nothing rings at a gap:

- sources at 200 Hz or slower: linear interpolation at the grid times (a sample on a grid time is taken as it
  is, so a regular 200 Hz recording is copied sample for sample, as imu2clip does);
- faster sources: the samples are first put on a uniform grid at the source's own rate by linear interpolation,
  then low-passed and decimated to 200 Hz by soxr (the band-limited resampling imu2clip applies with torchaudio),
  with 0.1 s of context on each side (mirrored where the recording ends).

Rejects: windows of the wrong length or ending past the recording, windows with fewer than 10 samples
(imu2clip), and windows where the samples leave a gap longer than ``MAX_GAP_S`` (0.1 s: 20 output samples)
inside the window or at its edges: interpolating across that much missing motion would invent it. Stored as
float32 [6, 400] in raw units (OneLLM does not normalise IMU)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs._npy import npy_bytes, read_npy
from onellm_data.codecs.check import proven
from onellm_data.errors import CodecError

RATE = 200.0
STEP_MS = 1000.0 / RATE
WINDOW_SECONDS = 2.0
WINDOW_SAMPLES = int(RATE * WINDOW_SECONDS)
CHANNELS = ("accl_x", "accl_y", "accl_z", "gyro_x", "gyro_y", "gyro_z")
TIME_COLUMN = "canonical_timestamp_ms"
MIN_SAMPLES = 10
MAX_GAP_S = 0.1
CONTEXT_MS = 100.0  # source context on each side of a downsampled window (a multiple of STEP_MS)
UPSAMPLE_TOLERANCE = 0.005  # within 0.5 % of 200 Hz a source is not low-passed
GRID_MS = np.arange(WINDOW_SAMPLES) * STEP_MS


@dataclass(frozen=True)
class ImuRecording:
    """One video's IMU as recorded: ``data`` [6, T], ``timestamps_ms`` float64 [T] strictly increasing (video
    time), ``source_rate`` the typical rate in Hz (from the median interval)."""

    data: np.ndarray
    timestamps_ms: np.ndarray
    source_rate: float

    @property
    def duration_s(self) -> float:
        """Seconds covered up to the end of the last sample."""
        return float(self.timestamps_ms[-1]) / 1000.0 + 1.0 / self.source_rate


def _estimated_rate(ts_ms: np.ndarray) -> float:
    """Samples per second from the median interval: a gap in the recording must not lower the estimate (a mean
    over the span would)."""
    steps = np.diff(ts_ms)
    steps = steps[steps > 0]
    return 1000.0 / float(np.median(steps)) if len(steps) else 0.0


def _merge_duplicates(ts: np.ndarray, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``ts`` with repeats → unique times, each with the mean of its rows."""
    first = np.concatenate([[True], np.diff(ts) > 0])
    if first.all():
        return ts, data
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(ts)))
    return ts[starts], np.add.reduceat(data, starts, axis=1) / counts


def _from_columns(ts: np.ndarray, channels: np.ndarray) -> ImuRecording:
    """``ts`` [T] ms, ``channels`` [T, 6]: drop NaN times, sort, NaN → 0, merge repeated times."""
    keep = ~np.isnan(ts)
    ts, channels = ts[keep], channels[keep]
    if len(ts) < MIN_SAMPLES:
        raise CodecError("IMU recording too short", f"{len(ts)} samples with a timestamp")
    order = np.argsort(ts, kind="stable")
    data = np.nan_to_num(channels[order].T.astype(np.float64), nan=0.0)
    ts, data = _merge_duplicates(ts[order].astype(np.float64), data)
    rate = _estimated_rate(ts)
    if rate <= 0 or len(ts) < 2:
        raise CodecError("IMU recording has no time span", f"{len(ts)} distinct timestamps")
    return ImuRecording(data, ts, rate)


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


def _interp(data: np.ndarray, ts: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Linear interpolation of every channel at ``times`` (values held beyond the ends); exact on sample times."""
    right = np.searchsorted(ts, times, side="right")
    np.minimum(np.maximum(right, 1, out=right), len(ts) - 1, out=right)
    left = right - 1
    t_left = ts[left]
    w = (times - t_left) / (ts[right] - t_left)
    np.minimum(np.maximum(w, 0.0, out=w), 1.0, out=w)
    low = data[:, left]
    return low + (data[:, right] - low) * w


def _largest_gap(near: np.ndarray, steps: np.ndarray, first_ms: float, last_ms: float) -> tuple[float, float]:
    """(longest interval without a sample that the grid [first_ms, last_ms] interpolates across, where it
    starts), in ms. ``near``: the sample times from the last at or before ``first_ms`` to the first at or after
    ``last_ms`` (``steps`` their differences); a stretch of the grid before or after them counts too."""
    gap, at = 0.0, float(first_ms)
    if len(steps):
        i = int(steps.argmax())
        gap, at = float(steps[i]), float(near[i])
    if near[0] - first_ms > gap:
        gap, at = float(near[0] - first_ms), float(first_ms)
    if last_ms - near[-1] > gap:
        gap, at = float(last_ms - near[-1]), float(near[-1])
    return gap, at


def _on_grid(data: np.ndarray, near: np.ndarray, largest_step: float, grid: np.ndarray) -> np.ndarray:
    """The samples around the window at the grid times: for a recording sampled exactly every 5 ms (imu2clip's
    arrays) one weight serves every output and samples on grid times are copied; otherwise :func:`_interp`."""
    n = len(grid)
    # No step longer than 5 ms and 5 ms on average: every step is 5 ms.
    if largest_step == STEP_MS and near[0] <= grid[0] and near[-1] - near[0] == STEP_MS * (len(near) - 1):
        first = int((grid[0] - near[0]) // STEP_MS)
        w = (grid[0] - near[first]) / STEP_MS
        if w == 0 and first + n <= len(near):
            return data[:, first:first + n]
        if first + n < len(near):
            low = data[:, first:first + n]
            return low + (data[:, first + 1:first + n + 1] - low) * w
    return _interp(data, near, grid)


def _downsampled(rec: ImuRecording, grid: np.ndarray) -> np.ndarray:
    """A faster source on the grid: uniform at its own rate over the window and its context, then soxr."""
    import soxr

    rate = rec.source_rate
    t0 = grid[0] - CONTEXT_MS
    count = int(math.ceil((grid[-1] - t0 + CONTEXT_MS) * rate / 1000.0)) + 1
    ts = rec.timestamps_ms
    times = t0 + np.arange(count) * (1000.0 / rate)
    # Past either end of the recording, the context is its odd mirror image about the end sample (slope kept,
    # so the filter sees no corner there): x(t0 - d) = 2 x(t0) - x(t0 + d).
    before, after = times < ts[0], times > ts[-1]
    mirrored = np.where(before, 2 * ts[0] - times, np.where(after, 2 * ts[-1] - times, times))
    uniform = _interp(rec.data, ts, np.clip(mirrored, ts[0], ts[-1]))
    uniform[:, before] = 2 * rec.data[:, :1] - uniform[:, before]
    uniform[:, after] = 2 * rec.data[:, -1:] - uniform[:, after]
    # The filter sees the piece as cut from silence: a straight line from its first to its last value is taken
    # out first (and added back on the grid), so the piece starts and ends at 0 and its edges do not ring.
    first_value, slope = uniform[:, :1], (uniform[:, -1:] - uniform[:, :1]) / (count - 1)
    flat = uniform - first_value - slope * np.arange(count)
    out = soxr.resample(np.ascontiguousarray(flat.T), rate, RATE, quality="HQ").T
    first = int(round(CONTEXT_MS / STEP_MS))
    position = (first + np.arange(len(grid))) * (rate / RATE)  # grid times in uniform-sample units
    return out[:, first:first + len(grid)] + first_value + slope * position


def prepare_imu_window(rec: ImuRecording, start_s: float, end_s: float) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The window's float32 [6, 400] as ``npy`` and its metadata."""
    if not end_s > start_s:
        raise CodecError("empty IMU window", f"{start_s:g}..{end_s:g}s")
    if abs((end_s - start_s) - WINDOW_SECONDS) > 0.5:
        raise CodecError("IMU window is not 2 s", f"{start_s:g}..{end_s:g}s")
    ts = rec.timestamps_ms
    start_ms, end_ms = start_s * 1000.0, end_s * 1000.0
    # The last sample covers one period: a window ending there is inside the data.
    if end_ms > ts[-1] + 1000.0 / rec.source_rate + 1e-6:
        raise CodecError("IMU window ends past the recording", f"{end_s:g}s of {rec.duration_s:g}s")
    n = min(WINDOW_SAMPLES, int(round((end_s - start_s) * RATE)))
    grid = start_ms + GRID_MS[:n]
    lo, last, hi = ts.searchsorted((start_ms, grid[-1], end_ms))
    if hi - lo < MIN_SAMPLES:
        raise CodecError("IMU window has fewer than 10 samples", f"{hi - lo} samples in {start_s:g}..{end_s:g}s")
    a = int(lo) if lo < len(ts) and ts[lo] == start_ms else max(int(lo) - 1, 0)
    b = min(int(last) + 1, len(ts))  # the samples the grid interpolates between
    near = ts[a:b]
    steps = near[1:] - near[:-1]
    gap, at = _largest_gap(near, steps, grid[0], grid[-1])
    if gap > MAX_GAP_S * 1000.0 + 1e-6:
        raise CodecError(f"IMU window has a gap longer than {MAX_GAP_S:g} s",
                         f"{gap / 1000.0:.3f} s without samples from {at / 1000.0:.3f} s")
    if rec.source_rate > RATE * (1.0 + UPSAMPLE_TOLERANCE):
        values = _downsampled(rec, grid)
    else:
        values = _on_grid(rec.data[:, a:b], near, gap, grid)
    with np.errstate(over="ignore", invalid="ignore"):
        if n == WINDOW_SAMPLES:
            out = values.astype(np.float32, order="C")
        else:
            out = np.zeros((6, WINDOW_SAMPLES), dtype=np.float32)  # a window under 2 s is zero-padded (imu2clip)
            out[:, :n] = values
    members = {"npy": npy_bytes(out)}
    try:  # the conversion check (codecs/check.py), on the load-side decode of this member
        proven("imu", members, decode_imu(members["npy"]))
    except CodecError as exc:  # e.g. 1e300 in a CSV, which is inf as float32
        raise CodecError("IMU window has non-finite values", exc.detail) from exc
    meta = {"imu_rate": round(rec.source_rate, 3), "imu_span": round(n / RATE, 6),
            "window_start": float(start_s), "window_end": float(end_s)}
    return members, meta


def decode_imu(data: bytes, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
    arr = read_npy(data, "imu window")
    if arr.shape != (6, WINDOW_SAMPLES):
        raise CodecError("IMU window must be [6, 400]", f"shape {arr.shape}")
    return torch.from_numpy(arr.astype(np.float32))
