"""Declarative per-modality filters of a recipe (``data.filters``), evaluated on the index alone.

```yaml
data:
  filters:
    image: {min_side: 224, max_aspect: 3.0}        # a scope is one modality (depth, normal, video have theirs)
    video: {min_duration: 1.0, max_duration: 120}
    audio: {min_duration: 0.5, max_duration: 30, min_sample_rate: 16000}
    point: {min_points: 1024}
    all:   {min_answer_tokens: 1, max_answer_tokens: 1024, max_text_tokens: 2048}
```

A bound compares one index column; a sample whose column is null (not recorded for it) passes, so a filter never
drops what it cannot judge. Token bounds need token counts in the index (counted at conversion unless turned off;
an error otherwise, rather than silently keeping everything). Language detection is not offered: the text is not in the index and the
small detectors available (langdetect, langid) are unreliable on captions of a few words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onellm_data.errors import CorpusError
from onellm_data.schema import MODALITIES

# name -> (index column or derived value, comparison): "min" keeps value >= bound, "max" keeps value <= bound.
BOUNDS: dict[str, tuple[str, str]] = {
    "min_side": ("min_side", "min"), "max_side": ("max_side", "max"), "max_aspect": ("aspect", "max"),
    "min_duration": ("duration", "min"), "max_duration": ("duration", "max"),
    "min_points": ("num_points", "min"), "min_sample_rate": ("sample_rate", "min"),
    "min_answer_tokens": ("answer_tokens", "min"), "max_answer_tokens": ("answer_tokens", "max"),
    "min_text_tokens": ("text_tokens", "min"), "max_text_tokens": ("text_tokens", "max"),
}
SCOPES = ("all", *MODALITIES)
COLUMNS = ["key", "source", "modality", "width", "height", "duration", "num_points", "sample_rate",
           "answer_tokens", "text_tokens"]


@dataclass(frozen=True)
class Bound:
    scope: str  # a modality or "all"
    name: str  # a key of BOUNDS
    value: float

    @property
    def label(self) -> str:
        return f"{self.scope}.{self.name} {self.value:g}"


def parse_filters(filters: Mapping[str, Mapping[str, float]] | None, where: str = "data.filters") -> list[Bound]:
    """Bounds from a recipe's ``data.filters`` mapping; an unknown scope or bound is an error naming it."""
    bounds = []
    for scope, entries in (filters or {}).items():
        if scope not in SCOPES:
            raise CorpusError(f"{where}.{scope}: unknown scope (allowed: {', '.join(SCOPES)})")
        for name, value in (entries or {}).items():
            if name not in BOUNDS:
                raise CorpusError(f"{where}.{scope}.{name}: unknown filter (allowed: {', '.join(BOUNDS)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise CorpusError(f"{where}.{scope}.{name}: expected a number >= 0, got {value!r}")
            bounds.append(Bound(scope, name, float(value)))
    return bounds


def _column(table: pa.Table, name: str) -> np.ndarray:
    if name in ("min_side", "max_side", "aspect"):
        w, h = _column(table, "width"), _column(table, "height")
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"min_side": np.fmin(w, h), "max_side": np.fmax(w, h),
                    "aspect": np.fmax(w, h) / np.fmin(w, h)}[name]
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class FilterResult:
    keep: np.ndarray  # bool per row
    removed: dict[str, np.ndarray]  # bound label -> bool per row it fails (each bound counted on its own)


def apply_filters(table: pa.Table, bounds: list[Bound]) -> FilterResult:
    modality = table.column("modality").to_numpy(zero_copy_only=False).astype(str)
    keep = np.ones(table.num_rows, bool)
    removed = {}
    for b in bounds:
        column, kind = BOUNDS[b.name]
        values = _column(table, column)
        if column.endswith("_tokens") and table.num_rows and np.isnan(values).all():
            raise CorpusError(f"filter {b.label}: the index has no token counts (the corpus was converted with token counting off)")
        scope = np.ones(table.num_rows, bool) if b.scope == "all" else modality == b.scope
        with np.errstate(invalid="ignore"):
            fails = (values < b.value) if kind == "min" else (values > b.value)
        fails &= scope & ~np.isnan(values)
        removed[b.label] = fails
        keep &= ~fails
    return FilterResult(keep, removed)


def filtered_keys(table: pa.Table, bounds: list[Bound]) -> set[str]:
    if not bounds:
        return set()
    result = apply_filters(table, bounds)
    return set(np.asarray(table.column("key").to_pylist(), dtype=object)[~result.keep])


def filter_report(table: pa.Table, bounds: list[Bound]) -> list[dict]:
    """Per (source, bound): samples and answer tokens the bound removes (a sample failing two bounds counts in
    both), plus a ``(all filters)`` row per source with what the filters remove together."""
    if not bounds:
        return []
    result = apply_filters(table, bounds)
    sources = table.column("source").to_numpy(zero_copy_only=False).astype(str)
    tokens = np.nan_to_num(_column(table, "answer_tokens"))
    rows = []
    for source in sorted(set(sources)):
        mine = sources == source
        for label, fails in [*result.removed.items(), ("(all filters)", ~result.keep)]:
            hit = fails & mine
            if hit.any():
                rows.append({"source": source, "filter": label, "samples": int(hit.sum()),
                             "of": int(mine.sum()), "answer_tokens": int(tokens[hit].sum())})
    return rows
