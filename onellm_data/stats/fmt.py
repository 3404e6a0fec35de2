"""Number formatting shared by the Markdown and HTML reports."""

from __future__ import annotations

import math
from typing import Any

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_bytes(n: float | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in UNITS:
        if abs(size) < 1024 or unit == UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(n)  # unreachable


def num(x: Any, digits: int = 2) -> str:
    """Thousands separators for ints, a few decimals for floats (trailing zeros dropped), a dash for missing."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}"
        text = f"{x:,.{digits}f}" if abs(x) >= 1 else f"{x:.{digits + 2}g}"
        return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text
    return str(x)


def pct(x: float | None) -> str:
    """A share as a percentage people read: 1 decimal from 1%, two significant digits below (never an exponent),
    "<0.0001%" for what rounds to nothing."""
    if x is None:
        return "–"
    p = 100 * x
    if p == 0:
        return "0%"
    if abs(p) < 0.0001:
        return "<0.0001%"
    if abs(p) < 1:  # two significant digits, fixed point, at most 4 decimals: 0.45%, 0.0076%
        return f"{p:.{min(4, max(2, 1 - math.floor(math.log10(abs(p)))))}f}%"
    return f"{p:.1f}%"


def field_label(field: str) -> str:
    units = {"duration": "duration (s)", "imu_rate": "IMU rate (Hz)", "imu_span": "IMU span (s)",
             "window_length": "window length (s)", "window_coverage": "window coverage", "fps": "fps",
             "sample_rate": "sample rate (Hz)"}
    return units.get(field, field.replace("_", " "))
