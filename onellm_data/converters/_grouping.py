"""Store media once per source: items over the same media become one stored sample with several conversations.

COCO has five captions per image and LLaVA's mix asks several datasets' questions about one COCO image; storing
the image once per item multiplies the shards' size (13 MB of COCO images became 63 MB). A converter wraps its
record stream in ``group_records`` with the media reference of each record; the pipeline converts a group with
``convert_group`` into one stored sample whose further items are ``Sample.more_conversations``. The index keeps
one row per item, and the loader visits the stored sample once per conversation, so exposure is unchanged.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from onellm_data.errors import RejectError
from onellm_data.schema import Sample

GROUP = "_group"


class GroupRejected(RejectError):
    """Every item of a group failed: one reject per item (``items``: (source id, reason, detail))."""

    def __init__(self, items: list[tuple[str, str, str]]) -> None:
        super().__init__(items[0][1], items[0][2])
        self.items = items


def group_records(records: Iterator[dict[str, Any]], media_of: Callable[[dict[str, Any]], str | None],
                  spill_dir: Path | str | None = None) -> Iterator[dict[str, Any]]:
    """Records sharing a media reference (``media_of``; None: never grouped) become ``{"source_id", "_group"}``.

    The output keeps stream order: a group stands where its first record stood, its items in stream order.
    Nothing is held in memory: records with media go to a temporary SQLite file (read back in order through
    indexes, no sort), the others to a sequential spill file, and the two are merged by position.
    """
    with tempfile.TemporaryDirectory(dir=spill_dir, prefix="group-") as tmp:
        db = sqlite3.connect(Path(tmp) / "records.sqlite")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE items (pos INTEGER PRIMARY KEY, grp TEXT NOT NULL, body TEXT NOT NULL)")
            db.execute("CREATE TABLE groups (grp TEXT PRIMARY KEY, first INTEGER NOT NULL)")
            # A group hides its later items' ids from the pipeline's duplicate check: it is repeated here.
            db.execute("CREATE TABLE ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
            with open(Path(tmp) / "other.jsonl", "w", encoding="utf-8") as other:
                batch: list[tuple[int, dict[str, Any]]] = []
                for pos, record in enumerate(records):
                    batch.append((pos, record))
                    if len(batch) >= 10_000:
                        _spill(db, other, batch, media_of)
                _spill(db, other, batch, media_of)
            db.execute("CREATE INDEX items_by_group ON items (grp, pos)")
            db.execute("CREATE UNIQUE INDEX groups_by_first ON groups (first)")
            db.commit()
            with open(Path(tmp) / "other.jsonl", encoding="utf-8") as other:
                yield from _merge(_groups(db), _others(other))
        finally:
            db.close()


def _spill(db: sqlite3.Connection, other: Any, batch: list[tuple[int, dict[str, Any]]],
           media_of: Callable[[dict[str, Any]], str | None]) -> None:
    """Spill a batch: records with media to SQLite (with their group), the rest in order to ``other``; a
    repeated source id becomes a ``duplicate id`` reject (the first one is kept)."""
    for i, (pos, record) in enumerate(batch):
        if "_reject" not in record and db.execute("INSERT OR IGNORE INTO ids VALUES (?)",
                                                  (str(record["source_id"]),)).rowcount == 0:
            batch[i] = (pos, {"source_id": record["source_id"], "_reject": "duplicate id"})
    rows = []
    for pos, record in batch:
        media = None if "_reject" in record else media_of(record)
        if media is None:
            other.write(f"{pos}\t{json.dumps(record)}\n")
        else:
            rows.append((pos, f"m:{media}", json.dumps(record)))
    db.executemany("INSERT INTO items VALUES (?, ?, ?)", rows)
    db.executemany("INSERT OR IGNORE INTO groups VALUES (?, ?)", [(grp, pos) for pos, grp, _ in rows])
    batch.clear()


def _groups(db: sqlite3.Connection) -> Iterator[tuple[int, dict[str, Any]]]:
    """(first position, grouped record) in order of first position."""
    # CROSS JOIN keeps groups as the outer loop: both orders come from the indexes, no temporary sort.
    query = ("SELECT groups.first, items.body FROM groups CROSS JOIN items ON items.grp = groups.grp "
             "ORDER BY groups.first, items.pos")
    current: list[dict[str, Any]] = []
    first = -1
    for start, body in db.execute(query):
        if start != first and current:
            yield first, _grouped(current)
            current = []
        first = start
        current.append(json.loads(body))
    if current:
        yield first, _grouped(current)


def _others(lines: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for line in lines:
        pos, _, body = line.partition("\t")
        yield int(pos), json.loads(body)


def _merge(*streams: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The records of streams each sorted by position, in position order."""
    for _, record in heapq.merge(*streams, key=lambda item: item[0]):
        yield record


def _grouped(items: list[dict[str, Any]]) -> dict[str, Any]:
    return items[0] if len(items) == 1 else {"source_id": items[0]["source_id"], GROUP: items}


def convert_group(convert: Callable[[dict[str, Any]], Sample | list[Sample]], items: list[dict[str, Any]]
                  ) -> list[Sample]:
    """One stored sample per distinct media among the items' samples (normally one); a failed item rides along
    as a ``{"source_id", "_reject", "_detail"}`` entry of ``more_conversations`` for the pipeline to record."""
    stored: list[Sample] = []
    failed: list[dict[str, Any]] = []
    for item in items:
        try:
            out = convert(item)
        except RejectError as exc:
            failed.append({"source_id": str(item["source_id"]), "_reject": exc.reason, "_detail": exc.detail})
            continue
        except Exception as exc:  # noqa: BLE001 - as the pipeline does for a single record: recorded, not fatal
            failed.append({"source_id": str(item["source_id"]), "_reject": f"unexpected error: {type(exc).__name__}",
                           "_detail": str(exc)[:500]})
            continue
        for sample in out if isinstance(out, list) else [out]:
            lead = next((s for s in stored if s.media == sample.media and s.modality == sample.modality), None)
            if lead is None:
                stored.append(sample)
            else:
                lead.more_conversations.append(
                    {"key": sample.key, "source_id": sample.source_id, "conversations": sample.conversations})
    if not stored:
        raise GroupRejected([(f["source_id"], f["_reject"], f["_detail"]) for f in failed])
    stored[0].more_conversations.extend(failed)
    return stored
