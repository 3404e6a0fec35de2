"""Items of one JSON list that each point at an entry read before (COCO captions → images, MSR-VTT sentences →
videos): stream them, and turn an item without its own id, or naming an unknown parent, into a reject."""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onellm_data.converters._annotations import id_string
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._rejects import MALFORMED_FILE, UNKNOWN_ID, malformed


@dataclass(frozen=True)
class Link:
    """Where the items are and how they name themselves and their parent."""

    prefix: str  # ijson prefix of the items, e.g. "annotations.item"
    label: str  # names an item by position in rejects, e.g. "annotations" → "annotations[12]"
    id_key: str  # the item's own id field
    id_name: str  # how a reject calls that id ("annotation id", "sen_id")
    parent_key: str  # the field naming the parent
    parents_name: str  # the list the parent must be in ("images", "videos")


def linked_records(path: Path, expected: str, link: Link, parents: Container[str],
                   record: Callable[[str, str, dict[str, Any]], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``record(item id, parent id, item)`` per item, or a reject record; a malformed file ends with one reject."""
    for position, item in iter_json(path, link.prefix, expected):
        if item is None:
            yield malformed(f"{link.label}{position}", str(path), MALFORMED_FILE)
            return
        item_id = id_string(item.get(link.id_key)) if isinstance(item, dict) else None
        if item_id is None:
            yield malformed(f"{link.label}{position}", f"no {link.id_name}")
            continue
        parent_id = id_string(item.get(link.parent_key))
        if parent_id is None or parent_id not in parents:
            yield malformed(item_id, f"{link.parent_key} {item.get(link.parent_key)!r} not in {link.parents_name}",
                            UNKNOWN_ID)
            continue
        yield record(item_id, parent_id, item)
