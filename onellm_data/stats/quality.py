"""The data-quality section of the stats report: what ``onellm-data dedup`` and ``contamination`` last wrote under
``CORPUS/quality/`` (absent until they are run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

METHODS = ("id", "exact", "near", "caption", "question")


def _dedup(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    m = pq.read_table(path, columns=["group", "kind", "source", "excluded"]).to_pandas()
    per_source = m.groupby("source").agg(grouped=("group", "size"), excluded=("excluded", "sum"))
    kinds = m.drop_duplicates("group")["kind"]
    return {"groups": int(m["group"].nunique()), "exact_groups": int((kinds == "exact").sum()),
            "samples": int(len(m)), "excluded": int(m["excluded"].sum()),
            "by_source": [{"source": str(s), "grouped": int(r.grouped), "excluded": int(r.excluded)}
                          for s, r in per_source.iterrows()]}


def _contamination(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return {"samples_flagged": int(data["samples_flagged"]), "max_distance": int(data.get("max_distance", 3)),
            "eval_sets": data["eval_sets"], "pairs": data["pairs"], "notes": list(data.get("notes", []))}


def quality_section(corpus: Path) -> dict[str, Any] | None:
    root = Path(corpus) / "quality"
    dedup, contamination = _dedup(root / "duplicates.parquet"), _contamination(root / "contamination.json")
    if dedup is None and contamination is None:
        return None
    return {"dedup": dedup, "contamination": contamination}
