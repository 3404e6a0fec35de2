"""The converter protocol: a cheap, deterministic record stream plus a per-record conversion.

Splitting the two lets the driver enumerate records once (deterministically), cut them into partitions,
skip partitions already committed, and ship records to worker processes or Ray tasks that call
``convert`` — where all the expensive work (decoding media through the codecs) happens.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.schema import Sample


class Converter(ABC):
    """Base class for source converters.

    Subclasses set ``name`` (the source name: shard directory and key prefix) and ``modalities``, and implement
    ``records`` and ``convert``. Instances must be picklable (they travel to worker processes): keep only
    paths and small options on ``self``, open files lazily.
    """

    name: ClassVar[str]
    modalities: ClassVar[tuple[str, ...]]
    # Bumped when the converter's output changes, so committed partitions made by an older version are redone.
    version: ClassVar[str] = "1"

    def __init__(self, raw: Path | str, source: str | None = None, **options: Any) -> None:
        self.raw = Path(raw)
        self.source = source or self.name  # shard directory and key prefix; overridable for generic converters
        self.options = options

    @abstractmethod
    def records(self) -> Iterator[dict[str, Any]]:
        """Yield JSON-able records in a deterministic order; each has a string ``"source_id"``.

        Must be cheap (parse annotations only, never decode media) and stream (constant memory).
        A malformed annotation row is yielded as ``{"source_id": ..., "_reject": "reason"}`` so it is recorded.
        """

    @abstractmethod
    def convert(self, record: dict[str, Any]) -> Sample | list[Sample]:
        """Turn one record into one or more samples; raise ``RejectError`` for bad input."""

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this converter's output (used to decide whether a committed partition is current)."""
        return {
            "converter": type(self).__name__,
            "version": self.version,
            "source": self.source,
            "options": {k: str(v) for k, v in sorted(self.options.items())},
        }
