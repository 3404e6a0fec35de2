"""Hand-drawn inline SVG charts: horizontal bars, grouped bars, histograms and box plots.

Plain SVG elements only (no script, no external font or stylesheet) so the report opens offline anywhere.
Labels are never cut: the label column widens to the longest label (up to ``MAX_LABEL_PX``), longer labels wrap
onto several lines at ``_``, ``-``, ``/`` or spaces, and every label carries its full text as a tooltip. Axes get
"nice" ticks (1, 2, 5 × 10^k), whole numbers only where the values are counts or integer fields.

Matplotlib's SVG backend was considered: it embeds fonts as paths (large files) and its text does not wrap to a
measured box; these four chart kinds are ~200 lines here and render identically everywhere.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

from onellm_data.stats.fmt import num

PALETTE = {"image": "#4e79a7", "video": "#f28e2b", "audio": "#e15759", "point": "#76b7b2", "depth": "#59a14f",
           "normal": "#edc948", "imu": "#b07aa1", "fmri": "#ff9da7", "text": "#9c755f"}
EXTRA = ("#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd")
AXIS = "#555"
FONT = 'font-family="sans-serif" font-size="12"'
CHAR_PX = 7.0  # generous average advance of a 12 px sans-serif character (DejaVu Sans is ~6.9)
SMALL_CHAR_PX = 6.0  # the same at 10 px
MAX_LABEL_PX = 230
LINE_PX = 14


def colour(name: str, i: int = 0) -> str:
    return PALETTE.get(name, EXTRA[i % len(EXTRA)])


def text_width(s: str, small: bool = False) -> float:
    return len(s) * (SMALL_CHAR_PX if small else CHAR_PX)


def wrap(label: str, max_px: float) -> list[str]:
    """``label`` in lines of at most ``max_px``, broken after ``_ - / `` or spaces (mid-word only if a single
    word is longer than a line)."""
    limit = max(int(max_px / CHAR_PX), 4)
    pieces = [p for p in re.split(r"(?<=[_\-/ ])", label) if p]
    lines, line = [], ""
    for piece in pieces:
        while len(piece) > limit:  # a word longer than a line: hard break
            if line:
                lines.append(line)
                line = ""
            lines.append(piece[:limit])
            piece = piece[limit:]
        if len(line) + len(piece) > limit and line:
            lines.append(line)
            line = ""
        line += piece
    if line:
        lines.append(line)
    return [x.rstrip() or x for x in lines] or [""]


def _label_column(labels: list[str]) -> float:
    return min(max((text_width(s) for s in labels), default=0) + 12, MAX_LABEL_PX)


def _svg(width: int, height: float, body: list[str], title: str) -> str:
    h = int(math.ceil(height))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
            f'viewBox="0 0 {width} {h}" role="img" aria-label="{escape(title)}">'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, anchor: str = "start", extra: str = "") -> str:
    font = 'font-family="sans-serif"' if "font-size" in extra else FONT  # one font-size attribute only
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {font} {extra}>{escape(s)}</text>'


def _label(x: float, y_centre: float, lines: list[str], full: str) -> str:
    """A right-aligned, vertically centred multi-line label with its full text as tooltip."""
    y0 = y_centre - (len(lines) - 1) * LINE_PX / 2 + 4
    spans = "".join(f'<tspan x="{x:.1f}" y="{y0 + i * LINE_PX:.1f}">{escape(s)}</tspan>' for i, s in enumerate(lines))
    return f'<text text-anchor="end" {FONT}><title>{escape(full)}</title>{spans}</text>'


def _title(s: str) -> str:
    return _text(8, 18, s, extra='font-weight="bold"')


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k (at least 1 when ``integer``)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / n))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= n:
            step *= m
            break
    if integer:
        step = max(step, 1.0)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]
    return [round(t) if integer else round(t, 12) for t in ticks]


def axis_ticks(lo: float, hi: float, plot_px: float, integer: bool = False, most: int = 6) -> list[float]:
    """``nice_ticks`` thinned until neighbouring labels (10 px text) are at least 10 px apart."""
    span = (hi - lo) or 1
    for n in range(most, 0, -1):
        ticks = [t for t in nice_ticks(lo, hi, n, integer) if lo - 1e-9 <= t <= hi + 1e-9]
        if len(ticks) < 2:
            return ticks
        room = plot_px * (ticks[1] - ticks[0]) / span
        if room >= max(text_width(num(t), small=True) for t in ticks) + 10:
            return ticks
    return ticks[:1]


def _is_integer(values: list[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def bar_chart(title: str, rows: list[tuple[str, float, str]], fmt=num, width: int = 540) -> str:
    """Horizontal bars: rows of (label, value, colour)."""
    gap, top, bar_min = 6, 28, 18
    left = _label_column([r[0] for r in rows])
    values_px = max((text_width(fmt(v)) for _, v, _ in rows), default=0) + 10
    plot_w = max(width - left - values_px - 8, 60)
    vmax = max((v for _, v, _ in rows), default=0) or 1
    body, y = [_title(title)], float(top)
    for label, value, fill in rows:
        lines = wrap(label, left - 12)
        bar_h = max(bar_min, len(lines) * LINE_PX)
        w = max(plot_w * value / vmax, 1 if value else 0)
        body.append(_label(left - 6, y + bar_h / 2, lines, label))
        body.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" fill="{fill}">'
                    f'<title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        body.append(_text(left + w + 4, y + bar_h / 2 + 4, fmt(value)))
        y += bar_h + gap
    return _svg(width, y + 4, body, title)


def grouped_bars(title: str, labels: list[str], series: list[tuple[str, list[float], str]],
                 fmt=num, width: int = 540) -> str:
    """Horizontal bar groups: one group per label, one bar per series (name, values, colour), with a legend."""
    bar_h, top = 12, 44
    left = _label_column(labels)
    values_px = max((text_width(fmt(v), small=True) for _, vals, _ in series for v in vals), default=0) + 8
    plot_w = max(width - left - values_px - 8, 60)
    vmax = max((v for _, vals, _ in series for v in vals), default=0) or 1
    body, x = [_title(title)], left
    for name, _, fill in series:
        body.append(f'<rect x="{x:.1f}" y="26" width="10" height="10" fill="{fill}"/>')
        body.append(_text(x + 14, 35, name))
        x += 14 + text_width(name) + 16
    y = float(top)
    for i, label in enumerate(labels):
        lines = wrap(label, left - 12)
        group_h = max(bar_h * len(series), len(lines) * LINE_PX)
        body.append(_label(left - 6, y + group_h / 2, lines, label))
        for k, (name, values, fill) in enumerate(series):
            w = plot_w * values[i] / vmax
            yb = y + k * bar_h
            body.append(f'<rect x="{left:.1f}" y="{yb:.1f}" width="{max(w, 0):.1f}" height="{bar_h - 1}" '
                        f'fill="{fill}"><title>{escape(label)}, {escape(name)}: {escape(fmt(values[i]))}</title></rect>')
            body.append(_text(left + w + 4, yb + 10, fmt(values[i]), extra='font-size="10"'))
        y += group_h + 8
    return _svg(width, y + 4, body, title)


def histogram(title: str, hist: dict[str, list], fill: str, xlabel: str, width: int = 540, height: int = 240,
              integer: bool | None = None) -> str:
    """Vertical bars over bin edges; x ticks at round values of the field (whole numbers for integer fields),
    y ticks at whole counts; each bar's range and count as tooltip."""
    edges, counts = hist["edges"], hist["counts"]
    cmax = max(counts) or 1
    y_ticks = nice_ticks(0, cmax, 4, integer=True)
    left = max(text_width(num(t), small=True) for t in y_ticks) + 18
    right, top, bottom = 16, 44, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1
    integer = _is_integer(edges) if integer is None else integer
    body = [_title(title),
            f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{AXIS}"/>',
            f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{AXIS}"/>']
    bw = plot_w / len(counts)
    for i, c in enumerate(counts):
        h = plot_h * c / cmax
        body.append(f'<rect x="{left + i * bw + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(bw - 1, 1):.1f}" '
                    f'height="{h:.1f}" fill="{fill}"><title>[{num(edges[i])}, {num(edges[i + 1])}]: {c}</title></rect>')
    for tick in y_ticks:
        y = top + plot_h - plot_h * tick / cmax
        body.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left}" y2="{y:.1f}" stroke="{AXIS}"/>')
        body.append(_text(left - 6, y + 4, num(tick), "end", 'font-size="10"'))
    x_ticks = axis_ticks(lo, hi, plot_w, integer)
    for tick in x_ticks:
        x = left + plot_w * (tick - lo) / span
        body.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" stroke="{AXIS}"/>')
        body.append(_text(x, top + plot_h + 16, num(tick), "middle", 'font-size="10"'))
    body.append(_text(left, top - 10, "samples", "middle", 'font-size="10"'))
    body.append(_text(left + plot_w / 2, height - 8, xlabel, "middle"))
    return _svg(width, height, body, title)


def box_plot(title: str, boxes: list[tuple[str, dict[str, Any], str]], xlabel: str, width: int = 540,
             integer: bool = False) -> str:
    """Horizontal box plots on a shared axis: rows of (label, box figures, colour)."""
    row_h, right, top = 30, 24, 28
    left = _label_column([b[0] for b in boxes])
    height = top + len(boxes) * row_h + 40
    lo = min(b["whisker_low"] for _, b, _ in boxes)
    hi = max(b["whisker_high"] for _, b, _ in boxes)
    if hi - lo < 1 and integer:
        lo, hi = lo - 1, hi + 1  # an all-equal integer field: a readable unit axis around it
    span = (hi - lo) or 1
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * (v - lo) / span

    body = [_title(title)]
    axis_y = top + len(boxes) * row_h + 4
    body.append(f'<line x1="{left:.1f}" y1="{axis_y}" x2="{left + plot_w:.1f}" y2="{axis_y}" stroke="{AXIS}"/>')
    for tick in axis_ticks(lo, hi, plot_w, integer):
        body.append(f'<line x1="{x(tick):.1f}" y1="{axis_y}" x2="{x(tick):.1f}" y2="{axis_y + 4}" stroke="{AXIS}"/>')
        body.append(_text(x(tick), axis_y + 16, num(tick), "middle", 'font-size="10"'))
    body.append(_text(left + plot_w / 2, height - 6, xlabel, "middle"))
    for i, (label, b, fill) in enumerate(boxes):
        yc = top + i * row_h + row_h / 2
        body.append(_label(left - 6, yc, wrap(label, left - 12), label))
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
