"""stats.md carries the summary tables with the computed figures."""

from __future__ import annotations

from pathlib import Path

from onellm_data.stats import compute_stats
from onellm_data.stats.markdown import render_markdown
from tests.stats.corpus import build_stats_corpus


def test_markdown_tables(tmp_path: Path) -> None:
    corpus, _, _ = build_stats_corpus(tmp_path)
    stats = compute_stats(corpus)
    md = render_markdown(stats)
    for heading in ("## By modality", "## By source", "## Conversations", "## Media", "### video (20 samples)",
                    "## Rejects"):
        assert heading in md
    assert "| video | 20 |" in md
    assert "| jsonl | image, text | 15 |" in md
    assert "| missing media file | 1 | 1: jsonl | `jsonl:missing` |" in md  # reasons grouped, with example ids
    assert "## Media at a glance" in md and "16000 Hz (64%), 44100 Hz (36%); 1 ch (82%), 2 ch (18%)" in md
    assert "Most frequent sample rate (Hz): 16000 (7), 44100 (4)" in md
    assert "has color: 5 of 8 (62.5%)" in md
    assert "## Mix" not in md and "## Deep" not in md
