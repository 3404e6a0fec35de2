"""Hand-drawn inline SVG charts: horizontal bars, grouped bars, histograms and box plots.

Plain SVG elements only (no script, no external font or stylesheet) so the report opens offline anywhere.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from onellm_data.stats.fmt import num

PALETTE = {"image": "#4e79a7", "video": "#f28e2b", "audio": "#e15759", "point": "#76b7b2", "depth": "#59a14f",
           "normal": "#edc948", "imu": "#b07aa1", "fmri": "#ff9da7", "text": "#9c755f"}
EXTRA = ("#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd")
AXIS = "#555"
FONT = 'font-family="sans-serif" font-size="12"'


def colour(name: str, i: int = 0) -> str:
    return PALETTE.get(name, EXTRA[i % len(EXTRA)])


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(s)}</text>'


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def bar_chart(title: str, rows: list[tuple[str, float, str]], fmt=num, width: int = 540) -> str:
    """Horizontal bars: rows of (label, value, colour)."""
    bar_h, gap, left, top = 18, 6, 150, 28
    height = top + len(rows) * (bar_h + gap) + 10
    vmax = max((v for _, v, _ in rows), default=0) or 1
    plot_w = width - left - 90
    body = [_text(8, 18, title, extra='font-weight="bold"')]
    for i, (label, value, fill) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(plot_w * value / vmax, 1 if value else 0)
        body.append(_text(left - 6, y + 13, label[:22], "end"))
        body.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{fill}"/>')
        body.append(_text(left + w + 4, y + 13, fmt(value)))
    return _svg(width, height, body, title)


def grouped_bars(title: str, labels: list[str], series: list[tuple[str, list[float], str]],
                 fmt=num, width: int = 540) -> str:
    """Horizontal bar groups: one group per label, one bar per series (name, values, colour), with a legend."""
    bar_h, left, top = 12, 150, 44
    group_h = bar_h * len(series) + 8
    height = top + len(labels) * group_h + 10
    vmax = max((v for _, vals, _ in series for v in vals), default=0) or 1
    plot_w = width - left - 80
    body = [_text(8, 18, title, extra='font-weight="bold"')]
    for k, (name, _, fill) in enumerate(series):
        body.append(f'<rect x="{left + k * 130}" y="26" width="10" height="10" fill="{fill}"/>')
        body.append(_text(left + k * 130 + 14, 35, name))
    for i, label in enumerate(labels):
        y0 = top + i * group_h
        body.append(_text(left - 6, y0 + group_h / 2, label[:22], "end"))
        for k, (_, values, fill) in enumerate(series):
            w = plot_w * values[i] / vmax
            y = y0 + k * bar_h
            body.append(f'<rect x="{left}" y="{y}" width="{max(w, 0):.1f}" height="{bar_h - 1}" fill="{fill}"/>')
            body.append(_text(left + w + 4, y + 10, fmt(values[i]), extra='font-size="10"'))
    return _svg(width, height, body, title)


def histogram(title: str, hist: dict[str, list], fill: str, xlabel: str, width: int = 540, height: int = 240) -> str:
    """Vertical bars over bin edges, with min/max and count axis labels."""
    left, right, top, bottom = 56, 16, 28, 40
    edges, counts = hist["edges"], hist["counts"]
    plot_w, plot_h = width - left - right, height - top - bottom
    cmax = max(counts) or 1
    body = [_text(8, 18, title, extra='font-weight="bold"'),
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{AXIS}"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{AXIS}"/>']
    n = len(counts)
    bw = plot_w / n
    for i, c in enumerate(counts):
        h = plot_h * c / cmax
        body.append(f'<rect x="{left + i * bw + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(bw - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{fill}"><title>[{num(edges[i])}, {num(edges[i + 1])}]: {c}</title></rect>')
    for tick in _nice_ticks(0, cmax, 4):
        y = top + plot_h - plot_h * tick / cmax
        body.append(_text(left - 4, y + 4, num(tick), "end", 'font-size="10"'))
    body.append(_text(left, top + plot_h + 14, num(edges[0]), "start", 'font-size="10"'))
    body.append(_text(left + plot_w, top + plot_h + 14, num(edges[-1]), "end", 'font-size="10"'))
    body.append(_text(left + plot_w / 2, height - 6, xlabel, "middle"))
    return _svg(width, height, body, title)


def box_plot(title: str, boxes: list[tuple[str, dict[str, Any], str]], xlabel: str, width: int = 540) -> str:
    """Horizontal box plots on a shared axis: rows of (label, box figures, colour)."""
    row_h, left, right, top = 30, 110, 20, 28
    height = top + len(boxes) * row_h + 36
    lo = min(b["whisker_low"] for _, b, _ in boxes)
    hi = max(b["whisker_high"] for _, b, _ in boxes)
    span = (hi - lo) or 1
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / span

    body = [_text(8, 18, title, extra='font-weight="bold"')]
    axis_y = top + len(boxes) * row_h + 4
    body.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="{AXIS}"/>')
    for tick in _nice_ticks(lo, hi, 5):
        body.append(f'<line x1="{x(tick):.1f}" y1="{axis_y}" x2="{x(tick):.1f}" y2="{axis_y + 4}" stroke="{AXIS}"/>')
        body.append(_text(x(tick), axis_y + 16, num(tick), "middle", 'font-size="10"'))
    body.append(_text(left + plot_w / 2, height - 4, xlabel, "middle"))
    for i, (label, b, fill) in enumerate(boxes):
        yc = top + i * row_h + row_h / 2
        body.append(_text(left - 6, yc + 4, label[:16], "end"))
        body.append(f'<line x1="{x(b["whisker_low"]):.1f}" y1="{yc}" x2="{x(b["whisker_high"]):.1f}" y2="{yc}" '
                    f'stroke="{AXIS}"/>')
        for v in (b["whisker_low"], b["whisker_high"]):
            body.append(f'<line x1="{x(v):.1f}" y1="{yc - 6}" x2="{x(v):.1f}" y2="{yc + 6}" stroke="{AXIS}"/>')
        bw = max(x(b["q3"]) - x(b["q1"]), 2)
        body.append(f'<rect x="{x(b["q1"]):.1f}" y="{yc - 10}" width="{bw:.1f}" height="20" fill="{fill}" '
                    f'stroke="{AXIS}"><title>{escape(label)}: q1 {num(b["q1"])}, median {num(b["median"])}, '
                    f'q3 {num(b["q3"])}</title></rect>')
        body.append(f'<line x1="{x(b["median"]):.1f}" y1="{yc - 10}" x2="{x(b["median"]):.1f}" y2="{yc + 10}" '
                    f'stroke="#000" stroke-width="2"/>')
    return _svg(width, height, body, title)
