"""What a recipe keeps out of training: its ``data.exclude`` lists (dedup's and contamination's outputs, or any
file of keys) and the samples its ``data.filters`` bounds remove (``filters.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute

from onellm_data.errors import CorpusError


def read_key_list(path: Path) -> set[str]:
    """Keys of an exclude list: one per line, blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"exclude list not found: {path} (run `onellm-data dedup` / `contamination`, or fix "
                          "data.exclude in the recipe)")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line for line in lines if line and not line.startswith("#")}


def recipe_bounds(recipe: Any) -> list:
    from onellm_data.quality.filters import parse_filters

    return parse_filters(getattr(recipe.data, "filters", None))


def filter_table(recipe: Any, corpus: Path | None = None, samples: pa.Table | None = None) -> pa.Table | None:
    """The index columns the recipe's filters read (from ``samples`` when given, else the corpus index)."""
    from onellm_data.quality.filters import COLUMNS

    if not recipe_bounds(recipe):
        return None
    if samples is not None:
        return samples.select([c for c in COLUMNS if c in samples.column_names])
    from onellm_data.index import read_table

    return read_table(Path(corpus), "samples", columns=COLUMNS)


def recipe_exclude(recipe: Any, corpus: Path | None = None, samples: pa.Table | None = None) -> set[str]:
    """Union of the recipe's ``data.exclude`` lists and of the keys its filters remove (filters need ``corpus``
    or ``samples``)."""
    from onellm_data.quality.filters import filtered_keys

    keys: set[str] = set()
    for path in getattr(recipe.data, "exclude", ()) or ():
        keys |= read_key_list(path)
    bounds = recipe_bounds(recipe)
    if bounds:
        if corpus is None and samples is None:
            raise CorpusError("the recipe's filters need the corpus index")
        keys |= filtered_keys(filter_table(recipe, corpus, samples), bounds)
    return keys


def kept_out_report(recipe: Any, samples: pa.Table) -> list[dict]:
    """Per source: samples and answer tokens each filter bound removes, those the exclude lists remove, and all
    together (``filter`` = "(all)"); ``of`` is the source's samples in the index. Answer tokens are estimated as
    characters / 4 (as the mix preview does) when the index holds no token counts."""
    import numpy as np

    from onellm_data.quality.filters import apply_filters

    bounds = recipe_bounds(recipe)
    listed: set[str] = set()
    for path in getattr(recipe.data, "exclude", ()) or ():
        listed |= read_key_list(path)
    if not bounds and not listed:
        return []
    keys = np.asarray(samples.column("key").to_pylist(), dtype=object)
    sources = np.asarray(samples.column("source").to_pylist(), dtype=object)
    def column(name: str) -> np.ndarray:
        if name not in samples.column_names:
            return np.full(len(keys), np.nan)
        return pa.compute.cast(samples.column(name), pa.float64()).to_numpy(zero_copy_only=False)

    tokens = column("answer_tokens")
    if np.isnan(tokens).all():  # indexed without a tokenizer: the mix preview's estimate, characters / 4
        tokens = column("answer_chars") / 4.0
    tokens = np.nan_to_num(tokens)
    masks: dict[str, np.ndarray] = {}
    if bounds:
        result = apply_filters(samples, bounds)
        masks.update(result.removed)
    if listed:
        masks["exclude lists"] = np.isin(keys, list(listed))
    masks["(all)"] = np.logical_or.reduce(list(masks.values()))
    rows = []
    for source in sorted(set(sources)):
        mine = sources == source
        for label, mask in masks.items():
            hit = mask & mine
            if hit.any():
                rows.append({"source": str(source), "filter": label, "samples": int(hit.sum()),
                             "of": int(mine.sum()), "answer_tokens": int(tokens[hit].sum())})
    return rows
