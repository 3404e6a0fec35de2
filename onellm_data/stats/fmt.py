"""Number formatting shared by the Markdown and HTML reports."""

from __future__ import annotations

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
    """Thousands separators for ints, a few significant decimals for floats, a dash for missing."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x.is_integer() and abs(x) < 1e15:
            return f"{int(x):,}"
        return f"{x:,.{digits}f}" if abs(x) >= 1 else f"{x:.{digits + 2}g}"
    return str(x)


def pct(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.2g}%" if 0 < abs(x) < 0.001 else f"{100 * x:.1f}%"


def field_label(field: str) -> str:
    units = {"duration": "duration (s)", "imu_rate": "IMU rate (Hz)", "imu_span": "IMU span (s)",
             "window_length": "window length (s)", "window_coverage": "window coverage", "fps": "fps",
             "sample_rate": "sample rate (Hz)"}
    return units.get(field, field.replace("_", " "))
