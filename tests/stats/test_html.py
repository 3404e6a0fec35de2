"""report.html is self-contained and, rendered by headless Chromium with no network, shows the plots."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from onellm_data.stats import compute_stats, write_reports
from onellm_data.stats.html import render_html
from onellm_data.stats.svg import PALETTE
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


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("headless Chromium not installed (scripts/setup.sh installs Debian's chromium with WITH_CHROMIUM=1)")


def test_chromium_renders_the_plots(report, tmp_path: Path) -> None:
    chromium = _chromium()
    shot = tmp_path / "shot.png"
    # No network: every host resolves to nothing and any proxied request goes to a closed local port.
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           f"--window-size={WINDOW[0]},{WINDOW[1]}", report[1].as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
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
