"""Named reject reasons of the converters, and the record form of a reject.

A reason is a short, stable string that the rejects table groups by; the detail says which file or value.
Rows that cannot even become a record are yielded by ``records()`` as ``rejected(...)``; problems found while
converting a record raise ``RejectError(REASON, detail)``.
"""

from __future__ import annotations

from typing import Any

MALFORMED_ROW = "malformed annotation row"
MALFORMED_FILE = "malformed annotation file"
NOT_UTF8 = "annotation text is not UTF-8"
MALFORMED_META = "malformed meta"
MISSING_MEDIA = "missing media file"
OUTSIDE_ROOT = "media path outside the source folder"
UNKNOWN_ID = "unknown id reference"
UNKNOWN_MODALITY = "unknown modality"
MISSING_CAPTION = "missing caption"
EMPTY_CAPTION = "empty caption"
UNDECODABLE_FMRI = "undecodable fmri array"
OUTSIDE_CC3M = "image outside the cc3m directory"
URL_MISMATCH = "url mismatch"
WINDOW_OUTSIDE = "window outside the IMU recording"
DETAIL_CHARS = 200


def rejected(source_id: str, reason: str, detail: Any = "") -> dict[str, Any]:
    """A record the runner stores as a reject with ``reason``."""
    return {"source_id": source_id, "_reject": reason, "_detail": str(detail)[:DETAIL_CHARS]}


def malformed(source_id: str, detail: Any, reason: str = MALFORMED_ROW) -> dict[str, Any]:
    """The common case: an annotation row (or file) that cannot be read."""
    return rejected(source_id, reason, detail)
