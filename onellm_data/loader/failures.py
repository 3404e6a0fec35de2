"""The loader's failure budget: unreadable samples are skipped, but a run that quietly loses a source stops.

Counted per source and in total (in each loader worker, over the samples it draws):

- ``max_failures`` consecutive failures: the corpus is unreadable as a whole (the recipe's ``max_failures``);
- in total, more than ``max_failures`` failures that are also more than 1% of the samples drawn;
- per source, once it has been drawn ``MIN_DRAWS`` times, fewer than half of its draws delivered: its share of the
  batches would fall to under half its weight (a deleted or damaged shard), so the error names the source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from onellm_data.errors import CorpusError

MIN_DRAWS = 16  # draws of a source before its delivered share is judged
MIN_DELIVERED = 0.5  # delivered / drawn below this: the source lost most of its weight
MAX_TOTAL_SHARE = 0.01  # failures beyond max_failures must also stay under this share of all draws


@dataclass
class FailureBudget:
    max_failures: int
    consecutive: int = 0
    draws: Counter = field(default_factory=Counter)  # per source
    failures: Counter = field(default_factory=Counter)  # per source

    def ok(self, source: str) -> None:
        self.draws[source] += 1
        self.consecutive = 0

    def failed(self, source: str, what: str, exc: BaseException) -> None:
        """Count one unreadable sample (``what`` names it); raise ``CorpusError`` once a budget is exceeded."""
        self.draws[source] += 1
        self.failures[source] += 1
        self.consecutive += 1
        drawn, lost = self.draws[source], self.failures[source]
        if drawn >= MIN_DRAWS and drawn - lost < MIN_DELIVERED * drawn:
            raise CorpusError(
                f"source {source!r}: only {drawn - lost} of {drawn} drawn samples readable, so it gets under "
                f"{MIN_DELIVERED:.0%} of its weight in the mix (last: {what}: {exc}); run `onellm-data verify` on "
                "the corpus"
            ) from exc
        if self.consecutive >= self.max_failures:
            raise CorpusError(f"{self.consecutive} consecutive unreadable samples (last: {what}: {exc}): stopping; "
                              "see the log") from exc
        total, total_lost = sum(self.draws.values()), sum(self.failures.values())
        if total_lost > self.max_failures and total_lost > MAX_TOTAL_SHARE * total:
            worst = ", ".join(f"{s}: {n}" for s, n in self.failures.most_common(3))
            raise CorpusError(f"{total_lost} of {total} drawn samples unreadable (by source: {worst}; last: {what}: "
                              f"{exc}): stopping; see the log") from exc
