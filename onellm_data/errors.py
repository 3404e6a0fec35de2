"""Exceptions shared by converters, codecs, the shard writer and the loader."""

from __future__ import annotations


class OnellmDataError(Exception):
    """Base class for errors raised by this package."""


class RejectError(OnellmDataError):
    """An input item that cannot become a sample. Recorded in the rejects table, never fatal.

    ``reason`` is a short, stable, machine-groupable string (e.g. ``"missing media file"``);
    ``detail`` adds the specifics (path, value) for humans.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class CodecError(RejectError):
    """Media that fails to decode or has the wrong shape (a reject with a codec-specific reason)."""


class SettingError(OnellmDataError, ValueError):
    """A name or setting the user gave that cannot be used (unknown source, out-of-range option, flags that
    contradict each other). Still a ``ValueError`` for callers that check arguments."""


class CorpusError(OnellmDataError):
    """A corpus on disk that is unusable: unwritable directory, corrupt committed shard, bad index."""


class AnnotationError(OnellmDataError):
    """An annotation file of the wrong shape (other columns, another source's JSON): one line naming the file,
    what was expected and what was found. Raised before anything is converted."""

    def __init__(self, path: object, expected: str, found: str = "") -> None:
        self.path = str(path)
        super().__init__(f"{path}: expected {expected}" + (f"; found {found}" if found else ""))
