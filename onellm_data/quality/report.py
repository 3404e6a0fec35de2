"""Contamination and dedup results on disk: JSON (read back by the stats report), Markdown, the match table and
the exclude lists, all under ``CORPUS/quality/``."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from onellm_data.quality.contamination import METHODS
from onellm_data.shards.atomic import write_bytes_atomic

CONTAMINATION_JSON = "contamination.json"
CONTAMINATION_MD = "contamination.md"
CONTAMINATION_MATCHES = "contamination_matches.parquet"
CONTAMINATION_EXCLUDE = "contamination_exclude.txt"


def render_contamination_md(summary: dict[str, Any]) -> str:
    lines = ["# Evaluation contamination", "",
             f"{summary['samples_flagged']} training sample(s) overlap the evaluation sets below "
             f"(exclude list: `{CONTAMINATION_EXCLUDE}`).", "",
             "## Evaluation sets", "",
             "| eval set | modality | items | found in training | " + " | ".join(METHODS) + " |",
             "|---|---|---:|---:|" + "---:|" * len(METHODS)]
    for s in summary["eval_sets"]:
        lines.append(f"| {s['eval_set']} | {s['modality']} | {s['items']} | {s['items_found']} | "
                     + " | ".join(str(s["by_method"][m]) for m in METHODS) + " |")
    lines += ["", "## Training sources × evaluation sets (samples flagged)", ""]
    if not summary["pairs"]:
        lines.append("No overlap found.")
    else:
        lines += ["| source | eval set | samples | of source | " + " | ".join(METHODS) + " | examples |",
                  "|---|---|---:|---:|" + "---:|" * len(METHODS) + "---|"]
        for p in summary["pairs"]:
            examples = "; ".join(f"`{e['key']}` ↔ {e['eval_item']} ({', '.join(e['methods'])})"
                                 for e in p["examples"])
            lines.append(f"| {p['source']} | {p['eval_set']} | {p['samples']} | {p['source_samples']} | "
                         + " | ".join(str(p["by_method"][m]) for m in METHODS) + f" | {examples} |")
    lines += ["", "Methods: `id` same dataset id; `exact` same normalised media; `near` perceptual hash within "
              f"{summary.get('max_distance', 3)} bits; `caption` an answer equal to a reference caption; "
              "`question` a question equal to an eval question (texts normalised, under 4 words ignored)."]
    for note in summary["notes"]:
        lines.append(f"\nNote: {note}")
    return "\n".join(lines) + "\n"


def write_contamination(summary: dict[str, Any], matches: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in (CONTAMINATION_JSON, CONTAMINATION_MD, CONTAMINATION_MATCHES,
                                               CONTAMINATION_EXCLUDE)}
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(matches.astype(str), preserve_index=False), buf, compression="zstd")
    write_bytes_atomic(paths[CONTAMINATION_MATCHES], buf.getvalue())
    write_bytes_atomic(paths[CONTAMINATION_EXCLUDE], "".join(k + "\n" for k in summary["exclude"]).encode())
    public = {k: v for k, v in summary.items() if k != "exclude"}
    write_bytes_atomic(paths[CONTAMINATION_JSON], (json.dumps(public, indent=1) + "\n").encode())
    write_bytes_atomic(paths[CONTAMINATION_MD], render_contamination_md(summary).encode())
    return paths


def read_contamination(corpus: Path) -> dict[str, Any] | None:
    path = Path(corpus) / "quality" / CONTAMINATION_JSON
    return json.loads(path.read_text()) if path.exists() else None
