"""Checks around a conversion command: before it (every source known, every raw folder in the layout its
converter declares) and after it (something was written, rejects stayed under the allowed share)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from onellm_data.converters import registry
from onellm_data.converters._layout import check_layout
from onellm_data.pipeline import ConversionSummary

DEFAULT_MAX_REJECT_SHARE = 0.5
TOP_REASONS = 3


@dataclass(frozen=True)
class Outcome:
    source: str
    problem: str  # empty when the run is acceptable

    @property
    def ok(self) -> bool:
        return not self.problem


def judge(summary: ConversionSummary, max_reject_share: float) -> Outcome:
    """A run that wrote no sample, or rejected more than ``max_reject_share`` of its records, failed. Under
    ``--partition i/n`` both count only this run's partitions (its rejects against its own records)."""
    if summary.partitions_done + summary.partitions_skipped == 0 and summary.records:
        return Outcome(summary.source, "")  # --partition i/n gave this run no partition of a small source
    rejected = sum(summary.rejects.values())
    records = summary.covered
    top = ", ".join(f"{reason} ({n})" for reason, n in summary.rejects.most_common(TOP_REASONS))
    if summary.samples == 0:
        detail = f"; top reject reasons: {top}" if top else ""
        return Outcome(summary.source, f"wrote no sample from {records} record(s){detail}")
    share = rejected / records if records else 0.0
    if share > max_reject_share:
        return Outcome(summary.source, f"rejected {rejected} of {records} records ({share:.0%}, more than "
                                       f"--max-reject-share {max_reject_share:g}); top reasons: {top}")
    return Outcome(summary.source, "")


def preflight(sources: list[tuple[str, Path]]) -> list[str]:
    """One line per problem that would stop a multi-source build part way: unknown names, missing raw folders,
    raw folders without what the converter reads. Empty when every source can start."""
    known = registry()
    problems = []
    unknown = [name for name, _ in sources if name not in known]
    if unknown:
        problems.append(f"unknown source(s) {', '.join(unknown)}; known converters: {', '.join(sorted(known))}")
    for name, raw in sources:
        if name not in known:
            continue
        if not raw.exists():
            problems.append(f"{name}: raw folder {raw} does not exist")
            continue
        check = check_layout(raw, known[name].layout)
        if not check.ok:
            problems.append(f"{name}: {check.message()} under {raw}")
    return problems
