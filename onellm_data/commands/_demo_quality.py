"""The demo's data-quality step: dedup across sources, then contamination against tiny eval sets with planted
overlap (``quality/sample_eval.py`` writes them)."""

from __future__ import annotations

from pathlib import Path

from model.eval_sets import read_eval_set
from onellm_data.commands.quality import print_contamination
from onellm_data.quality import check_contamination, dedup_corpus
from onellm_data.quality.sample_eval import write_sample_eval_sets


def demo_quality(raw: Path, corpus: Path, out: Path, console) -> dict:
    """The demo's quality step: dedup across sources, then contamination against the sample eval sets; prints
    both summaries and returns the contamination summary."""
    result, (_, exclude) = dedup_corpus(corpus)
    console.print(f"dedup: {result.groups} duplicate groups ({result.exact_groups} exact), "
                  f"{len(result.excluded)} samples excluded → {exclude}", markup=False)
    sets = write_sample_eval_sets(raw, out)
    summary, paths = check_contamination(corpus, [(name, ann, media) for name, (ann, media) in sets.items()],
                                         read_eval_set=read_eval_set)
    print_contamination(summary, console)
    console.print(f"report: {paths['contamination.md']}", markup=False)
    return summary
