"""One pass over a corpus' shards: per sample its media fingerprint, caption/question text digests and id tokens,
kept in ``CORPUS/quality/hashes.parquet`` (recomputed only when the shards' checksums change).

Dedup and the contamination check both read this table; at 2M samples it is about 150 MB, and the groupings
read only the columns they need. A sample whose media cannot be fingerprinted keeps its row with ``error`` set
(it is never silently dropped, and never grouped with anything).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from onellm_data.index import read_table
from onellm_data.quality.fingerprint import fingerprint_members
from onellm_data.quality.normalise import normalise_text, sample_id_tokens, text_hash
from onellm_data.shards.atomic import atomic_path

QUALITY_DIR = "quality"
HASHES_FILE = "hashes.parquet"
HASHES_SCHEMA = pa.schema([
    ("key", pa.string()), ("source", pa.string()), ("source_id", pa.string()), ("modality", pa.string()),
    ("task", pa.string()), ("exact", pa.binary(32)), ("near", pa.uint64()),
    ("conversation", pa.int64()), ("answers", pa.list_(pa.int64())), ("questions", pa.list_(pa.int64())), ("ids", pa.list_(pa.string())),
    ("error", pa.string()),
])
_SHARDS_META = b"onellm.shards_sha256"


def hashes_frame(table: pa.Table) -> pd.DataFrame:
    """The table as pandas with ``near`` kept exact (nullable uint64, not float64)."""
    return table.to_pandas(types_mapper={pa.uint64(): pd.UInt64Dtype()}.get)


def quality_dir(corpus: Path) -> Path:
    return Path(corpus) / QUALITY_DIR


def _samples(path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, members by extension) of a shard, in tar order."""
    key, members = None, {}
    with tarfile.open(path, "r:") as tar:
        for info in tar:
            if not info.isfile():
                continue
            k, _, ext = info.name.partition(".")
            if k != key and key is not None:
                yield key, members
                members = {}
            key = k
            members[ext] = tar.extractfile(info).read()
    if key is not None:
        yield key, members


def _texts(conversations: list[dict[str, str]], role: str) -> list[int]:
    hashes = {text_hash(t["value"]) for t in conversations if t.get("from") == role}
    return sorted(h for h in hashes if h is not None)


def conversation_hash(conversations: list[dict[str, str]]) -> int:
    """Signed 64-bit digest of the whole normalised conversation (roles included): equal for a repeated sample."""
    text = "\x1e".join(f"{t.get('from')}\x1f{normalise_text(t.get('value', ''))}" for t in conversations)
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def hash_shard(path: Path) -> list[dict[str, Any]]:
    """Rows of ``HASHES_SCHEMA`` for every sample of one shard."""
    rows = []
    for key, members in _samples(path):
        record = json.loads(members.pop("json"))
        meta = record.get("meta") or {}
        row = {"key": key, "source": record["source"], "source_id": str(record["source_id"]),
               "modality": record["modality"], "task": "caption" if meta.get("task") == "caption" else "instruct",
               "exact": None, "near": None, "error": None,
               "conversation": conversation_hash(record["conversations"]),
               "answers": _texts(record["conversations"], "gpt"),
               "questions": _texts(record["conversations"], "human"),
               "ids": sample_id_tokens(record["source"], str(record["source_id"]), meta)}
        try:
            fp = fingerprint_members(record["modality"], members)
        except Exception as exc:  # noqa: BLE001 - recorded on the row: one bad member must not stop the scan
            row["error"] = f"{type(exc).__name__}: {exc}"
        else:
            if fp is not None:
                row["exact"], row["near"] = fp.exact, fp.near
        rows.append(row)
        # Further conversations stored over the same media are index rows of their own: same fingerprint.
        for more in record.get("more_conversations") or ():
            rows.append({**row, "key": more["key"], "source_id": str(more["source_id"]),
                         "conversation": conversation_hash(more["conversations"]),
                         "answers": _texts(more["conversations"], "gpt"),
                         "questions": _texts(more["conversations"], "human"),
                         "ids": sample_id_tokens(record["source"], str(more["source_id"]), meta)})
    return rows


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pydict({n: [r[n] for r in rows] for n in HASHES_SCHEMA.names}, schema=HASHES_SCHEMA)


def compute_hashes(corpus: Path, workers: int = 1, force: bool = False) -> pa.Table:
    """The hashes table of ``corpus`` (cached under ``quality/``; rebuilt when any shard's sha256 changed)."""
    corpus = Path(corpus)
    shards = read_table(corpus, "shards", ["shard", "sha256"]).sort_by("shard")
    fingerprint = json.dumps(list(zip(shards.column("shard").to_pylist(), shards.column("sha256").to_pylist())))
    digest = hashlib.sha256(fingerprint.encode()).hexdigest().encode()
    out = quality_dir(corpus) / HASHES_FILE
    if out.exists() and not force:
        meta = pq.read_schema(out).metadata or {}
        if meta.get(_SHARDS_META) == digest:
            return pq.read_table(out)
    paths = [corpus / s for s in shards.column("shard").to_pylist()]
    # Each shard's rows become a columnar table at once (~200 B per sample, not a dict per sample).
    if workers > 1 and len(paths) > 1:
        with ProcessPoolExecutor(workers) as pool:
            parts = [_table(rows) for rows in pool.map(hash_shard, paths)]
    else:
        parts = [_table(hash_shard(p)) for p in paths]
    table = pa.concat_tables(parts) if parts else HASHES_SCHEMA.empty_table()
    table = table.sort_by("key").replace_schema_metadata({_SHARDS_META: digest})
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return table
