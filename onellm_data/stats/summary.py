"""Numeric summaries of one distribution: counts, moments, quantiles, a box and a histogram.

Everything here works on a 1-D float numpy array with NaN for "not recorded", so a column read from the index
is summarised without any per-row Python. The box and histogram are stored in stats.json so every plot in the
HTML report is drawn from stats.json alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTILES = {"p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95}
HIST_BINS = 24


def _num(x: float) -> float | int:
    """Plain JSON number: integral values become ints, floats keep 9 significant digits (readable stats.json)."""
    if float(x).is_integer() and abs(x) < 2**53:
        return int(x)
    return float(f"{float(x):.9g}")


def histogram(values: np.ndarray, bins: int = HIST_BINS) -> dict[str, list]:
    """Equal-width bins over [min, max]; integer data gets one bin per value when the range is small."""
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return {"edges": [_num(lo), _num(hi)], "counts": [int(values.size)]}
    integral = bool(np.all(np.mod(values[: min(values.size, 10_000)], 1) == 0))
    if integral and hi - lo + 1 <= bins and np.all(np.mod(values, 1) == 0):
        counts = np.bincount((values - lo).astype(np.int64), minlength=int(hi - lo) + 1)
        edges = np.arange(lo, hi + 2) - 0.5
    else:
        # bins + range (not explicit edges) lets numpy bin arithmetically instead of by binary search.
        counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return {"edges": [_num(e) for e in edges], "counts": [int(c) for c in counts]}


def _quantile(ordered: np.ndarray, q: float) -> float:
    """numpy's default (linear) quantile of an already sorted array."""
    pos = q * (ordered.size - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, ordered.size - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def summarize(values: np.ndarray) -> dict[str, Any]:
    """Summary of the recorded (non-NaN) values; ``count`` 0 and no figures when none were recorded."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    out: dict[str, Any] = {"count": int(present.size), "missing": int(values.size - present.size)}
    if present.size == 0:
        return out
    ordered = np.sort(present)  # one sort serves the quantiles, the whiskers and min/max
    qs = [_quantile(ordered, q) for q in QUANTILES.values()]
    q1, q3 = qs[1], qs[3]
    iqr = q3 - q1
    # Tukey whiskers: the most extreme data points within 1.5 IQR of the box.
    first = int(np.searchsorted(ordered, q1 - 1.5 * iqr, side="left"))
    last = int(np.searchsorted(ordered, q3 + 1.5 * iqr, side="right")) - 1
    out.update(
        sum=_num(present.sum()),
        min=_num(ordered[0]),
        max=_num(ordered[-1]),
        mean=_num(present.mean()),
        std=_num(present.std()),
        **{name: _num(q) for name, q in zip(QUANTILES, qs)},
        box={
            "whisker_low": _num(ordered[first]),
            "q1": _num(q1),
            "median": _num(qs[2]),
            "q3": _num(q3),
            "whisker_high": _num(ordered[last]),
            "outliers": int(ordered.size - (last - first + 1)),
        },
        histogram=histogram(ordered),
    )
    return out


def value_counts(values: np.ndarray, top: int = 10) -> list[dict[str, Any]]:
    """Most frequent recorded values (e.g. sample rates, fps), as [{value, count}] by descending count."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if present.size == 0:
        return []
    uniq, counts = np.unique(present, return_counts=True)
    order = np.lexsort((uniq, -counts))[:top]
    return [{"value": _num(uniq[i]), "count": int(counts[i])} for i in order]


def pair_counts(a: np.ndarray, b: np.ndarray, top: int = 10) -> list[dict[str, Any]]:
    """Most frequent (a, b) pairs with both recorded, e.g. resolutions as width x height."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ok = ~(np.isnan(a) | np.isnan(b))
    if not ok.any():
        return []
    a, b = a[ok], b[ok]
    if np.all(np.mod(a, 1) == 0) and np.all(np.mod(b, 1) == 0) and a.min() >= 0 and b.min() >= 0 \
            and max(a.max(), b.max()) < 2**31:
        # Pack integer pairs into one int64 so the unique is a flat sort (not a row-wise one).
        packed = a.astype(np.int64) << 32 | b.astype(np.int64)
        uniq, counts = np.unique(packed, return_counts=True)
        firsts, seconds = (uniq >> 32).astype(np.float64), (uniq & 0xFFFFFFFF).astype(np.float64)
    else:
        rows, counts = np.unique(np.stack([a, b], axis=1), axis=0, return_counts=True)
        firsts, seconds = rows[:, 0], rows[:, 1]
    order = np.lexsort((seconds, firsts, -counts))[:top]
    return [{"value": f"{_num(firsts[i])}x{_num(seconds[i])}", "count": int(counts[i])} for i in order]


def share_true(values: np.ndarray) -> dict[str, Any]:
    """Share of True among recorded booleans (float array: 1.0, 0.0 or NaN)."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    return {"count": int(present.size), "true": int(present.sum()),
            "share": _num(present.mean()) if present.size else None}
