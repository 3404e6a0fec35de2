"""The converter protocol: a cheap, deterministic record stream plus a per-record conversion.

Splitting the two lets the driver enumerate records once (deterministically), cut them into partitions,
skip partitions already committed, and ship records to worker processes or Ray tasks that call
``convert`` — where all the expensive work (decoding media through the codecs) happens.

The class also holds what every converter shares: its declared options (checked on construction), its
declared raw layout (what ``sources`` and ``download --check`` look for), the guard that keeps media reads
inside the source's folder, and ``sample()`` to build a sample under this source's name.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option, check_options, media_option_roots
from onellm_data.converters._rejects import OUTSIDE_ROOT
from onellm_data.errors import RejectError
from onellm_data.schema import Sample, make_key


class Converter(ABC):
    """Base class for source converters.

    Subclasses set ``name`` (the source name: shard directory and key prefix), ``modalities``, ``options``
    (the ``-o`` keys they read) and ``layout`` (the raw files they need), and implement ``records`` and
    ``convert``. Instances must be picklable (they travel to worker processes): keep only paths and small
    options on ``self``, open files lazily.
    """

    name: ClassVar[str]
    modalities: ClassVar[tuple[str, ...]]
    # Bumped when the converter's output changes, so committed partitions made by an older version are redone.
    version: ClassVar[str] = "1"
    declared_options: ClassVar[tuple[Option, ...]] = ()
    layout: ClassVar[tuple[Need, ...]] = ()

    def __init__(self, raw: Path | str, source: str | None = None, **options: Any) -> None:
        self.raw = Path(raw)
        self.source = source or self.name  # shard directory and key prefix; overridable for generic converters
        check_options(self.name, self.raw, self.declared_options, options)
        self.options = options
        self._roots: tuple[Path, ...] | None = None

    @abstractmethod
    def records(self) -> Iterator[dict[str, Any]]:
        """Yield JSON-able records in a deterministic order; each has a string ``"source_id"``.

        Must be cheap (parse annotations only, never decode media) and stream (constant memory).
        A malformed annotation row is yielded as ``_rejects.rejected(source_id, reason)`` so it is recorded.
        """

    @abstractmethod
    def convert(self, record: dict[str, Any]) -> Sample | list[Sample]:
        """Turn one record into one or more samples; raise ``RejectError`` for bad input."""

    def sample(self, source_id: str, modality: str, conversations: list[dict[str, str]],
               media: dict[str, bytes] | None = None, meta: dict[str, Any] | None = None) -> Sample:
        """A sample of this source (key derived from the source id)."""
        return Sample(key=make_key(self.source, source_id), source=self.source, modality=modality,
                      conversations=conversations, source_id=source_id, media=media or {}, meta=meta or {})

    def media_roots(self) -> tuple[Path, ...]:
        """Folders media may be read from, resolved: the raw folder, plus folders the user named explicitly."""
        if self._roots is None:
            base = self.raw if self.raw.is_dir() else self.raw.parent
            roots = [base, *media_option_roots(self.raw, self.declared_options, self.options)]
            self._roots = tuple(Path(os.path.realpath(r)) for r in roots)
        return self._roots

    def _root_strings(self) -> tuple[str, ...]:
        return tuple(str(root).rstrip(os.sep) for root in self.media_roots())

    def media(self, path: Path) -> Path:
        """``path`` when it resolves (after symlinks) inside an allowed root; else a reject.

        Annotation files name media paths, and a symlink can point anywhere: without this check a crafted row
        (``/etc/passwd``, ``../../``) or link would pack files from outside the source into the corpus.
        """
        resolved = _real_path(path)
        if not any(resolved == root or resolved.startswith(root + os.sep) for root in self._root_strings()):
            raise RejectError(OUTSIDE_ROOT, str(path))
        return path

    def fingerprint(self) -> dict[str, Any]:
        """What identifies this converter's output (used to decide whether a committed partition is current)."""
        return {
            "converter": type(self).__name__,
            "version": self.version,
            "source": self.source,
            "options": {k: str(v) for k, v in sorted(self.options.items())},
        }

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_roots": None}  # resolved on the machine that converts


def _real_path(path: Path) -> str:
    """``os.path.realpath`` with the folders' part cached: thousands of media files share a few folders, and
    resolving every component of every path costs more than the rest of the check."""
    name = path.name
    if name in ("", ".", "..") or os.path.islink(path):
        return os.path.realpath(path)
    return os.path.join(_real_dir(str(path.parent)), name)


@lru_cache(maxsize=4096)
def _real_dir(folder: str) -> str:
    return os.path.realpath(folder)
