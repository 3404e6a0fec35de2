"""Store media once per source: items over the same media become one stored sample with several conversations.

COCO has five captions per image and LLaVA's mix asks several datasets' questions about one COCO image; storing
the image once per item multiplies the shards' size (13 MB of COCO images became 63 MB). A converter wraps its
record stream in ``group_records`` with the media reference of each record; the pipeline converts a group with
``convert_group`` into one stored sample whose further items are ``Sample.more_conversations``. The index keeps
one row per item, and the loader visits the stored sample once per conversation, so exposure is unchanged.
"""

from __future__ import annotations

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

    Groups come in the order of their first record, items in stream order, so the stream stays deterministic.
    Records are spilled to a temporary SQLite file, never held in memory, so any annotation size streams.
    """
    with tempfile.TemporaryDirectory(dir=spill_dir, prefix="group-") as tmp:
        db = sqlite3.connect(Path(tmp) / "records.sqlite")
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE items (pos INTEGER PRIMARY KEY, grp TEXT NOT NULL, body TEXT NOT NULL)")
            db.execute("CREATE TABLE groups (grp TEXT PRIMARY KEY, first INTEGER NOT NULL)")
            batch: list[tuple[int, str, dict[str, Any]]] = []
            from onellm_data.pipeline.dedup import SeenIds  # here: the pipeline package imports this module

            seen = SeenIds(tmp)  # a group hides its later items' ids from the pipeline's check: repeat it here
            try:
                for pos, record in enumerate(records):
                    batch.append((pos, "", record))
                    if len(batch) >= 10_000:
                        _insert(db, batch, seen, media_of)
                _insert(db, batch, seen, media_of)
            finally:
                seen.close()
            query = ("SELECT items.grp, items.body FROM items JOIN groups ON items.grp = groups.grp "
                     "ORDER BY groups.first, items.pos")
            current: list[dict[str, Any]] = []
            current_grp = None
            for grp, body in db.execute(query):
                if grp != current_grp and current:
                    yield _grouped(current)
                    current = []
                current_grp = grp
                current.append(json.loads(body))
            if current:
                yield _grouped(current)
        finally:
            db.close()


def _insert(db: sqlite3.Connection, batch: list[tuple[int, str, dict[str, Any]]], seen: Any,
            media_of: Callable[[dict[str, Any]], str | None]) -> None:
    """Store a batch of records with their group; a repeated source id becomes a ``duplicate id`` reject."""
    checked = [i for i, (_, _, record) in enumerate(batch) if "_reject" not in record]
    repeated = seen.check_and_add([str(batch[i][2]["source_id"]) for i in checked])
    for i, dup in zip(checked, repeated):
        if dup:
            batch[i] = (batch[i][0], "", {"source_id": batch[i][2]["source_id"], "_reject": "duplicate id"})
    rows = []
    for pos, _, record in batch:
        media = None if "_reject" in record else media_of(record)
        rows.append((pos, f"m:{media}" if media is not None else f"#{pos}", json.dumps(record)))
    db.executemany("INSERT INTO items VALUES (?, ?, ?)", rows)
    db.executemany("INSERT OR IGNORE INTO groups VALUES (?, ?)", [(grp, pos) for pos, grp, _ in rows])
    batch.clear()


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
