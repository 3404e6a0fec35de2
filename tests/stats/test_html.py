"""report.html is self-contained and, rendered by headless Chromium, fetches nothing, shows the plots, and keeps
every label whole inside its chart (a layout probe run in a test copy of the page)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from onellm_data.stats import compute_stats, validate, write_reports
from onellm_data.stats.html import render_html
from onellm_data.stats.svg import PALETTE
from tests.stats.chromium import RecordingProxy, layout_problems, screenshot
from tests.stats.corpus import build_stats_corpus

WINDOW = (1200, 2000)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("html")
    corpus, _, _ = build_stats_corpus(root)
    stats = compute_stats(corpus)
    return stats, write_reports(stats, root / "report")["report.html"]


def test_html_is_self_contained(report) -> None:
    html = report[1].read_text()
    assert html.startswith("<!DOCTYPE html>")
    for forbidden in ("<script", "src=", "href=", "@import", "url(", "<link", "<iframe"):
        assert forbidden not in html, forbidden
    # Only the SVG namespace URI appears, which browsers never fetch.
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}
    titles = re.findall(r"<svg[^>]*aria-label=\"([^\"]+)\"", html)
    for wanted in ("Samples by modality", "Samples by source", "Histogram of text tokens per conversation",
                   "video: duration (s)", "audio: duration (s)", "text tokens by modality", "width by modality",
                   "point: num points", "imu: window coverage", "Rejects by reason"):
        assert wanted in titles, (wanted, titles)


def test_html_escapes_names(report) -> None:
    stats = dict(report[0], corpus="<b>x</b>")
    assert "<b>x</b>" not in render_html(stats) and "&lt;b&gt;x&lt;/b&gt;" in render_html(stats)


LONG = "a_source_with_a_rather_long_name-for_the_label_wrapping_check"


def _with_long_names_and_quality(stats: dict) -> dict:
    """The report's figures with one source renamed to a long name everywhere, and a data-quality section."""
    text = json.dumps(stats).replace('"synth_video"', f'"{LONG}"')
    stats = json.loads(text)
    stats["quality"] = {
        "dedup": {"groups": 2, "exact_groups": 1, "samples": 5, "excluded": 2,
                  "by_source": [{"source": LONG, "grouped": 3, "excluded": 2}]},
        "contamination": {"samples_flagged": 1, "max_distance": 3, "notes": [],
                          "eval_sets": [{"eval_set": "coco", "modality": "image", "items": 4, "items_found": 1,
                                         "by_method": {"id": 1, "exact": 1, "near": 1, "caption": 0, "question": 0}}],
                          "pairs": [{"source": LONG, "eval_set": "coco", "samples": 1, "source_samples": 20,
                                     "by_method": {"id": 1, "exact": 1, "near": 1, "caption": 0, "question": 0},
                                     "examples": [{"key": f"{LONG}-1", "eval_item": "9", "methods": ["exact"]}]}]},
    }
    assert validate(stats) == []
    return stats


@pytest.fixture(scope="module")
def long_report(report, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("long") / "report.html"
    out.write_text(render_html(_with_long_names_and_quality(report[0])))
    return out


def test_labels_whole_coverage_rounded_quality_section(long_report) -> None:
    html = long_report.read_text()
    assert not re.search(r">\s*[0-9.]+e-\d+%", html), "a percentage in exponent notation"
    assert f"<title>{LONG}</title>" in html  # the full label as tooltip on the wrapped one
    assert "Data quality" in html and "Evaluation contamination" in html and f"{LONG}-1 ↔ 9 (exact)" in html
    assert "Media at a glance" in html


def test_chromium_renders_the_plots_without_network(report, tmp_path: Path) -> None:
    with RecordingProxy() as proxy:
        shot = screenshot(report[1], tmp_path / "shot.png", WINDOW, proxy)
    assert proxy.requests == []
    image = Image.open(shot).convert("RGB")
    assert image.size == WINDOW
    pixels = np.asarray(image).reshape(-1, 3)
    assert (pixels != 255).any(axis=1).mean() > 0.05, "screenshot is (almost) blank"
    colours = {tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in PALETTE.values()}
    packed = pixels[:, 0].astype(np.int64) << 16 | pixels[:, 1].astype(np.int64) << 8 | pixels[:, 2]
    wanted = np.array([r << 16 | g << 8 | b for r, g, b in colours])
    coloured = np.isin(packed, wanted)
    # Bars of several modality colours are drawn in the first screen (samples/bytes by modality, by source).
    assert coloured.sum() > 20_000, coloured.sum()
    present = {c for c, w in zip(colours, wanted) if (packed == w).sum() > 200}
    assert len(present) >= 6, present


def test_no_text_overflows_its_box(long_report, tmp_path: Path) -> None:
    with RecordingProxy() as proxy:
        probe = layout_problems(long_report, tmp_path, proxy)
    assert proxy.requests == []
    assert probe["texts"] > 150, probe["texts"]  # the probe saw the charts
    assert probe["bad"] == []


def test_the_checks_catch_a_fetch_and_an_overflow(long_report, tmp_path: Path) -> None:
    """The detectors themselves: a remote image is seen by the proxy, a label pushed out of its chart is flagged."""
    page = tmp_path / "bad.html"
    html = long_report.read_text().replace("</h1>", '</h1><img src="http://example.invalid/pixel.png">', 1)
    page.write_text(re.sub(r'(<text text-anchor="end"[^>]*>(?:<title>[^<]*</title>)?<tspan x=")[0-9.]+',
                           r"\g<1>-400", html, count=1))
    with RecordingProxy() as proxy:
        probe = layout_problems(page, tmp_path, proxy)
    assert any("example.invalid" in r for r in proxy.requests), proxy.requests
    assert any(b.startswith("outside its chart") for b in probe["bad"]), probe["bad"]
