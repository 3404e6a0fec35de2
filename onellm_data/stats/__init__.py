"""Corpus statistics from the Parquet index: stats.json (schema in ``schema.py``), stats.md and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from onellm_data.stats.compute import compute_stats
from onellm_data.stats.json_schema import STATS_SCHEMA, validate

REPORT_FILES = ("stats.json", "stats.md", "report.html")


def write_reports(stats: dict[str, Any], out: Path | str) -> dict[str, Path]:
    """Validate ``stats`` and write the three report files into ``out``; returns their paths."""
    from onellm_data.shards.atomic import write_bytes_atomic
    from onellm_data.stats.html import render_html
    from onellm_data.stats.markdown import render_markdown

    errors = validate(stats)
    if errors:
        raise ValueError("stats do not match their schema: " + "; ".join(errors[:5]))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    texts = {"stats.json": json.dumps(stats, indent=1, sort_keys=False) + "\n",
             "stats.md": render_markdown(stats), "report.html": render_html(stats)}
    paths = {}
    for name, text in texts.items():
        paths[name] = out / name
        write_bytes_atomic(paths[name], text.encode("utf-8"))
    return paths


__all__ = ["REPORT_FILES", "STATS_SCHEMA", "compute_stats", "validate", "write_reports"]
