"""Annotation files read item by item: JSON (streamed with ijson), JSON lines and CSV/TSV text.

Annotation files reach hundreds of MB (mix665K: 1 GB), so JSON is never ``json.load``-ed whole. A damaged part
never aborts a run: a JSON file that stops parsing ends its stream with one ``(position, None)``; a JSON-lines
or CSV row with bytes that are not UTF-8 is reported for that row alone, so the caller records a reject.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from onellm_data.converters._rejects import MALFORMED_ROW, NOT_UTF8
from onellm_data.errors import AnnotationError


def iter_json(path: Path, prefix: str = "item", expected: str | None = None) -> Iterator[tuple[int, Any]]:
    """``(position, item)`` for each element under ``prefix`` of a JSON file, streamed (constant memory).

    ``prefix`` is ijson's path: ``"item"`` for a top-level list, ``"sentences.item"`` for a list under a key.
    A file that stops parsing part way (bad syntax, bytes that are not UTF-8) ends the stream with one
    ``(position, None)`` so the caller records it. A file without the list at all (another source's JSON) is
    an ``AnnotationError`` saying ``expected`` (checked only when no item came, so it costs nothing otherwise).
    """
    import ijson

    position = 0
    with open(path, "rb") as fh:
        try:
            for item in ijson.items(fh, prefix, use_float=True):
                yield position, item
                position += 1
        except (ijson.JSONError, UnicodeDecodeError):
            yield position, None
            return
    if position == 0:
        present, found = json_shape(path, prefix)
        if not present:
            under = f"a JSON object with a list under {prefix.removesuffix('.item')!r}"
            what = expected or ("a JSON list" if prefix == "item" else under)
            raise AnnotationError(path, what, found)


def json_shape(path: Path, prefix: str) -> tuple[bool, str]:
    """Whether the list at ``prefix`` exists in the file, and a short description of its top level."""
    import ijson

    container = prefix.removesuffix(".item") if prefix != "item" else ""
    keys: list[str] = []
    top = "empty file"
    with open(path, "rb") as fh:
        try:
            for where, event, value in ijson.parse(fh):
                if where == "" and event in ("start_array", "start_map"):
                    top = "a JSON list" if event == "start_array" else "a JSON object"
                if where == "" and event == "map_key" and len(keys) < 8:
                    keys.append(str(value))
                if where == container and event == "start_array":
                    return True, top
        except (ijson.JSONError, UnicodeDecodeError):
            return False, "text that is not JSON"
    return False, top + (f" with keys {', '.join(keys)}" if keys else "")


def iter_json_lines(path: Path) -> Iterator[tuple[int, Any, tuple[str, str] | None]]:
    """``(line number, object, None)`` per non-blank line, or ``(line number, None, (reason, detail))`` for a
    line that is not UTF-8 or not JSON; read as bytes so one bad byte costs one line, not the run."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield lineno, None, (NOT_UTF8, f"{path.name}:{lineno}: {exc}")
                continue
            try:
                yield lineno, json.loads(line), None
            except json.JSONDecodeError as exc:
                yield lineno, None, (MALFORMED_ROW, str(exc))


def open_text(path: Path) -> IO[str]:
    """A CSV/TSV annotation file as text; undecodable bytes become surrogates that ``bad_text`` detects."""
    return open(path, encoding="utf-8", errors="surrogateescape", newline="")


def bad_text(values: Any) -> bool:
    """Whether a row read through ``open_text`` held bytes that are not UTF-8."""
    if isinstance(values, dict):
        values = [v for v in values.values() if isinstance(v, str)] + [k for k in values if isinstance(k, str)]
    elif isinstance(values, str):
        values = [values]
    for value in values:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False
