"""Reject details that are the same on every run.

Library exceptions often embed things that change from one process to the next: object reprs with memory
addresses (``<_io.BytesIO object at 0x7f3c…>`` from PIL and libsndfile), decord's log prefixes with the wall-clock
time and its build path (``[07:27:01] /github/workspace/src/video/…cc:292: ``), native stack traces. A reject's
detail goes into ``rejects.parquet``, which must be byte-identical for the same input, so every detail built from
an exception passes through :func:`exc_detail`."""

from __future__ import annotations

import re

LIMIT = 200

_OBJECT_AT = re.compile(r" object at 0x[0-9a-fA-F]+")
_DECORD_PREFIX = re.compile(r"\[\d{1,2}:\d{2}:\d{2}\] (?:\S+\.(?:cc|cpp|cxx|h|hpp):\d+: )?")
_STACK = re.compile(r"\s*Stack trace.*", re.DOTALL)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_SPACE = re.compile(r"\s+")


def clean_detail(text: str, limit: int = LIMIT) -> str:
    """``text`` without run-specific parts (addresses, timestamps, stack traces), whitespace collapsed, then cut
    to ``limit`` characters (cut after cleaning, so the cut does not depend on the removed parts)."""
    text = _OBJECT_AT.sub("", str(text))
    text = _DECORD_PREFIX.sub("", text)
    text = _STACK.sub("", text)
    text = _ADDRESS.sub("0x?", text)
    return _SPACE.sub(" ", text).strip()[:limit]


def exc_detail(exc: BaseException, limit: int = LIMIT, replace: dict[str, str] | None = None) -> str:
    """A deterministic detail for ``exc``; ``replace`` maps run-specific substrings (a temporary file's path) to
    stable names first. An exception without a message gives its type name."""
    text = str(exc)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    return clean_detail(text, limit) or type(exc).__name__
