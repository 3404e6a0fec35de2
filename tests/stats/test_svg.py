"""Chart helpers: labels wrap without losing a character, axes get round ticks (whole numbers for integer
fields), percentages never use exponents."""

from __future__ import annotations

import re

import pytest

from onellm_data.stats.fmt import num, pct
from onellm_data.stats.svg import axis_ticks, bar_chart, box_plot, histogram, nice_ticks, wrap


@pytest.mark.parametrize("label", ["llava_mix665k", "multis_audio-audiovideo_conversation_10k",
                                   "point cloud must have 3 (xyz) or 6 (xyz+rgb) columns", "x" * 70])
def test_wrap_keeps_every_character(label):
    lines = wrap(label, 120)
    assert "".join(lines).replace(" ", "") == label.replace(" ", "")
    assert all(len(line) <= 120 // 7 for line in lines)


def test_bar_labels_are_whole_with_tooltips():
    long = "a_source_with_a_rather_long_name-for_wrapping"
    svg = bar_chart("t", [(long, 3, "#000"), ("short", 1, "#111")])
    spans = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert "".join(spans).startswith(long) and f"<title>{long}</title>" in svg


def test_integer_axes_get_integer_ticks():
    assert nice_ticks(2, 4, 5, integer=True) == [2, 3, 4]
    assert all(float(t).is_integer() for t in axis_ticks(0, 7, 400, integer=True))
    svg = box_plot("Turns", [("image", {"whisker_low": 2, "q1": 2, "median": 2, "q3": 3.5, "whisker_high": 4,
                                        "outliers": 0}, "#000")], "turns", integer=True)
    ticks = re.findall(r'font-size="10">([^<]+)</text>', svg)
    assert ticks == ["2", "3", "4"]
    assert not re.search(r'font-size="\d+"[^>]*font-size=', svg)  # one font-size per element


def test_histogram_labels_round_ticks_between_min_and_max():
    svg = histogram("h", {"edges": [5.0, 25.25, 45.5, 65.75, 86.0, 106.25], "counts": [1, 4, 2, 0, 3]}, "#000",
                    "chars", integer=False)
    ticks = [t for t in re.findall(r'text-anchor="middle" font-family="sans-serif" font-size="10">([^<]+)<', svg)
             if t != "samples"]
    assert ticks and all(re.fullmatch(r"\d+", t) and int(t) % 10 == 0 for t in ticks), ticks
    assert len(ticks) >= 3  # more than min and max


def test_percentages_and_numbers_read_naturally():
    assert [pct(x) for x in (5e-9, 0.000076, 0.0045, 0.12, 1.0, 0.0)] == \
        ["<0.0001%", "0.0076%", "0.45%", "12.0%", "100.0%", "0%"]
    assert [num(x) for x in (2.5, 2.0, 16504.1666, 0.25)] == ["2.5", "2", "16,504.17", "0.25"]
