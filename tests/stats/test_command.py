"""``onellm-data stats CORPUS [--out DIR] [--deep]`` writes the three reports."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from onellm_data.cli import app
from tests.stats.corpus import build_stats_corpus


def test_stats_command_writes_reports(tmp_path: Path) -> None:
    corpus, _, _ = build_stats_corpus(tmp_path, with_synthetic=False)
    result = CliRunner().invoke(app, ["stats", str(corpus), "--deep"])
    assert result.exit_code == 0, result.output
    out = corpus / "stats"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["totals"]["items"] == 15 and stats["deep"]["problem_count"] == 0
    assert (out / "stats.md").read_text().startswith("# Corpus statistics")
    assert "<svg" in (out / "report.html").read_text()

    assert "duplicates:" not in result.output  # no quality results yet

    from onellm_data.quality import dedup_corpus

    dedup_corpus(corpus)
    result = CliRunner().invoke(app, ["stats", str(corpus)])
    assert result.exit_code == 0 and "duplicates: " in result.output
    assert json.loads((out / "stats.json").read_text())["quality"]["dedup"] is not None

    next(corpus.glob("image/jsonl/*.tar")).unlink()
    result = CliRunner().invoke(app, ["stats", str(corpus), "--deep", "--out", str(tmp_path / "r2")])
    assert result.exit_code == 1 and (tmp_path / "r2" / "stats.json").exists()


def test_stats_command_on_a_non_corpus(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["stats", str(tmp_path)])
    assert result.exit_code == 2


def test_deep_check_reports_progress_per_shard(tmp_path: Path) -> None:
    """``stats --deep`` moves its progress once per shard read: shards, samples, problems."""
    import io

    from onellm_data.progress import Progress
    from onellm_data.stats.deep import deep_check

    corpus, _, _ = build_stats_corpus(tmp_path, with_synthetic=False)
    next(corpus.glob("image/jsonl/*.tar")).unlink()
    stream = io.StringIO()
    with Progress("stats --deep", unit="shards", words=("samples", "problems"), plain=True, stream=stream,
                  interval=0.05) as progress:
        result = deep_check(corpus, progress)
    assert progress.total == progress.counts.records >= 2  # every shard counted, the missing one too
    assert progress.counts.samples == 15
    assert progress.counts.rejects == result["problem_count"] >= 1
    assert "stats --deep:" in stream.getvalue()
