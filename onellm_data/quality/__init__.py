"""Data quality over a whole corpus: media dedup across sources (``dedup.py``), contamination against the paper's
evaluation sets (``contamination.py``), both from one pass over the shards (``hashes.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onellm_data.quality.eval_side import EvalSetReader
from onellm_data.quality.groups import DEFAULT_MAX_DISTANCE


def dedup_corpus(corpus: Path, max_distance: int = DEFAULT_MAX_DISTANCE, prefer: tuple[str, ...] = (),
                 workers: int = 1):
    """Hash the corpus (cached), group duplicates, write ``quality/duplicates.parquet`` and
    ``quality/dedup_exclude.txt``; returns (DedupResult, (table path, exclude path))."""
    from onellm_data.quality.dedup import find_duplicates, write_dedup
    from onellm_data.quality.hashes import compute_hashes, quality_dir

    result = find_duplicates(compute_hashes(corpus, workers), max_distance, prefer)
    return result, write_dedup(result, quality_dir(corpus))


def check_contamination(corpus: Path, evals: list[tuple[str, Path, Path]],
                        max_distance: int = DEFAULT_MAX_DISTANCE, workers: int = 1,
                        read_eval_set: EvalSetReader | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """Compare the corpus with each (eval set name, annotations, media root); write the report files under
    ``quality/``; returns the summary and the paths written. ``read_eval_set`` reads the paper's eval sets
    (the evaluation code's reader, passed in by the application layer)."""
    import pandas as pd

    from onellm_data.quality.contamination import find_matches, read_eval_side, summarise
    from onellm_data.quality.hashes import compute_hashes, hashes_frame, quality_dir
    from onellm_data.quality.report import write_contamination

    hashes = hashes_frame(compute_hashes(corpus, workers))
    sides = [read_eval_side(name, ann, media, read_eval_set) for name, ann, media in evals]
    matches = pd.concat([find_matches(hashes, side, max_distance) for side in sides], ignore_index=True)
    summary = {**summarise(matches, sides, hashes), "max_distance": max_distance}
    return summary, write_contamination(summary, matches, quality_dir(corpus))
