"""Helpers for the instruction-tuning converters: ids as published, repeated ids, and media lookup that turns a
missing file into a reject. Turns live in ``_turns``, annotation streams in ``_json_stream``, reasons in ``_rejects``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from onellm_data.converters._rejects import DETAIL_CHARS, MALFORMED_ROW, MISSING_MEDIA, OUTSIDE_ROOT
from onellm_data.errors import RejectError

SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")  # ids used as file names: no separators


def id_string(value: Any) -> str | None:
    """Ids arrive as str or int; anything else (or empty) is a malformed row."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def content_digest(*parts: Any) -> int:
    """A 64-bit digest of an item's content (to tell a repeated id with new content from a true duplicate)."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(repr(part).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest(), "little")


class RepeatedIds:
    """Source ids for sources whose published ids repeat for different items (mix665K, MULTIS).

    The first item with an id keeps it; a later item with the same id and *different* content becomes
    ``{id}-{n}``; one with the same content keeps the id, so the runner records it as a duplicate.
    Memory: two small ints per distinct id.
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple[int, int]] = {}

    def source_id(self, item_id: str, digest: int) -> str:
        key = int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=8).digest(), "little")
        found = self._seen.get(key)
        if found is None:
            self._seen[key] = (digest, 1)
            return item_id
        first_digest, count = found
        if digest == first_digest:
            return item_id
        self._seen[key] = (first_digest, count + 1)
        return f"{item_id}-{count}"


def safe_relpath(value: Any) -> Path | None:
    """A relative path from an annotation, or ``None`` for absolute paths and ``..`` escapes."""
    if not isinstance(value, str) or not value.strip():
        return None
    rel = Path(value.strip())
    if rel.is_absolute() or ".." in rel.parts:
        return None
    return rel


def media_relpath(value: Any, what: str = "media path") -> Path:
    """A media path from an annotation, relative to a media folder: a missing one is a malformed row, an
    absolute one or a ``..`` escape leaves the source folder (``Converter.media`` also checks after links)."""
    if not isinstance(value, str) or not value.strip():
        raise RejectError(MALFORMED_ROW, f"no usable {what}: {value!r}"[:DETAIL_CHARS])
    rel = Path(value.strip())
    if rel.is_absolute() or ".." in rel.parts:
        raise RejectError(OUTSIDE_ROOT, value.strip()[:DETAIL_CHARS])
    return rel


def find_media(roots: Iterable[Path], names: Iterable[str | Path]) -> Path:
    """The first ``root / name`` that is a file; otherwise a "missing media file" reject."""
    tried = []
    for root in roots:
        for name in names:
            path = root / name
            if path.is_file():
                return path
            tried.append(str(path))
    raise RejectError(MISSING_MEDIA, tried[0] if tried else "no candidate path")
