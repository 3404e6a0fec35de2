"""The Parquet index beside the shards: samples, shards and rejects.

Each committed partition writes its own part files under ``index/parts/<source>/``; ``finalize`` concatenates
all parts into ``index/samples.parquet``, ``index/shards.parquet`` and ``index/rejects.parquet``, which pandas,
pyarrow and DuckDB read as they are. Every statistic and recipe is computed from these tables alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from onellm_data.errors import CorpusError
from onellm_data.index_tokens import METADATA_KEY, merged_tokenizers
from onellm_data.schema import Sample
from onellm_data.shards.atomic import atomic_path, commit, write_unpublished

INDEX_DIR = "index"
PARTS_DIR = "parts"
TABLES = ("samples", "shards", "rejects")

# Typed media metadata promoted to columns (all nullable); the remaining keys go to ``meta_json``.
META_COLUMNS: dict[str, pa.DataType] = {
    "width": pa.int32(),
    "height": pa.int32(),
    "duration": pa.float64(),
    "fps": pa.float64(),
    "num_frames": pa.int32(),
    "sample_rate": pa.int32(),
    "channels": pa.int16(),
    "num_points": pa.int32(),
    "has_color": pa.bool_(),
    "imu_rate": pa.float64(),
    "imu_span": pa.float64(),
    "window_start": pa.float64(),
    "window_end": pa.float64(),
    "fmri_reps": pa.int16(),
    "fmri_voxels": pa.int32(),
    "map_resized": pa.bool_(),
}

SAMPLES_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("source_id", pa.string()),
        ("source", pa.string()),
        ("modality", pa.string()),
        ("shard", pa.string()),
        ("partition", pa.int32()),
        ("tar_offset", pa.int64()),
        # A stored sample can hold several items over the same media (one image, all its captions): each item is
        # a row; ``stored_key`` is the tar member stem, ``conversation`` which of the record's conversations
        # (0: ``conversations``, i: ``more_conversations[i - 1]``). ``bytes`` counts the storage on conversation
        # 0 only, so its sum is the disk used.
        ("stored_key", pa.string()),
        ("conversation", pa.int16()),
        ("members", pa.list_(pa.string())),
        ("member_bytes", pa.list_(pa.int64())),
        ("bytes", pa.int64()),
        ("turns", pa.int16()),
        ("text_chars", pa.int32()),
        ("answer_chars", pa.int32()),
        ("text_tokens", pa.int32()),
        ("answer_tokens", pa.int32()),
        *META_COLUMNS.items(),
        ("meta_json", pa.string()),
    ]
)
SHARDS_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("source", pa.string()),
        ("modality", pa.string()),
        ("partition", pa.int32()),
        ("count", pa.int64()),
        ("bytes", pa.int64()),
        ("sha256", pa.string()),
    ]
)
REJECTS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("partition", pa.int32()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)
SCHEMAS = {"samples": SAMPLES_SCHEMA, "shards": SHARDS_SCHEMA, "rejects": REJECTS_SCHEMA}


class SampleColumns:
    """Accumulates samples-table rows column by column (no per-row dicts: the index costs little per sample).

    Every value is computed from the sample in memory, never by re-reading media.
    """

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in SAMPLES_SCHEMA.names}
        # List columns kept flat with offsets: building them is several times faster than lists of lists.
        self._member_names: list[str] = []
        self._member_sizes: list[int] = []
        self._member_offsets: list[int] = [0]
        self._meta_cols = [(name, self.columns[name]) for name in META_COLUMNS]

    def __len__(self) -> int:
        return len(self.columns["key"])

    def add(self, sample: Sample, shard: str, partition: int, tar_offset: int, json_size: int,
            token_counts: tuple[int, int] | None = None, conversation: int = 0, stored_key: str | None = None
            ) -> None:
        """One row; for conversation ``i > 0`` of a stored sample, ``sample`` is its view (``Sample.items()``)."""
        c = self.columns
        media = sample.media
        names = sorted(media)
        sizes = [json_size, *(len(media[m]) for m in names)]
        text_chars = answer_chars = 0
        for turn in sample.conversations:
            n = len(turn["value"])
            text_chars += n
            if turn["from"] == "gpt":
                answer_chars += n
        c["key"].append(sample.key)
        c["source_id"].append(sample.source_id)
        c["source"].append(sample.source)
        c["modality"].append(sample.modality)
        c["shard"].append(shard)
        c["partition"].append(partition)
        c["tar_offset"].append(tar_offset)
        c["stored_key"].append(stored_key or sample.key)
        c["conversation"].append(conversation)
        self._member_names.append("json")
        self._member_names.extend(names)
        self._member_sizes.extend(sizes)
        self._member_offsets.append(len(self._member_sizes))
        c["bytes"].append(sum(sizes) if conversation == 0 else 0)
        c["turns"].append(len(sample.conversations))
        c["text_chars"].append(text_chars)
        c["answer_chars"].append(answer_chars)
        c["text_tokens"].append(token_counts[0] if token_counts else None)
        c["answer_tokens"].append(token_counts[1] if token_counts else None)
        meta = sample.meta
        extra = {k: v for k, v in meta.items() if k not in META_COLUMNS} if meta else None
        c["meta_json"].append(json.dumps(extra, sort_keys=True, separators=(",", ":")) if extra else None)
        get = meta.get
        for name, column in self._meta_cols:
            column.append(get(name))

    def table(self) -> pa.Table:
        offsets = pa.array(self._member_offsets, pa.int32())
        arrays = []
        for field in SAMPLES_SCHEMA:
            if field.name == "members":
                arrays.append(pa.ListArray.from_arrays(offsets, pa.array(self._member_names, field.type.value_type)))
            elif field.name == "member_bytes":
                arrays.append(pa.ListArray.from_arrays(offsets, pa.array(self._member_sizes, field.type.value_type)))
            else:
                arrays.append(pa.array(self.columns[field.name], field.type))
        return pa.Table.from_arrays(arrays, schema=SAMPLES_SCHEMA)


def to_table(rows: list[dict[str, Any]], table: str) -> pa.Table:
    """Rows → table, column by column (several times faster than ``from_pylist`` for wide rows)."""
    schema = SCHEMAS[table]
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def _write_parquet(table: pa.Table, path: Path) -> None:
    """Parquet with settings fixed for byte-reproducibility."""
    pq.write_table(table, path, compression="zstd", write_statistics=True, store_schema=True)


def write_table(table: pa.Table, path: Path) -> None:
    """Atomically write a Parquet file."""
    with atomic_path(path) as tmp:
        _write_parquet(table, tmp)


def index_dir(corpus: Path) -> Path:
    return Path(corpus) / INDEX_DIR


def parts_dir(corpus: Path, source: str) -> Path:
    return index_dir(corpus) / PARTS_DIR / source


def part_path(corpus: Path, source: str, partition: int, table: str) -> Path:
    return parts_dir(corpus, source) / f"{partition:06d}.{table}.parquet"


PUBLISH_LOCK = ".publish.lock"
MERGE_LOCK = ".merge.lock"


@contextlib.contextmanager
def _publish_lock(corpus: Path, exclusive: bool, name: str = PUBLISH_LOCK) -> Iterator[None]:
    """The merged tables are replaced as one unit under the exclusive lock; readers open them under the shared
    one, so a reader holds either the old three files or the new three, never a mix (open files survive a rename).
    A read-only corpus without a lock file has no writer to coordinate with."""
    path = index_dir(corpus) / name
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT if exclusive else os.O_RDONLY, 0o644)
    except OSError:
        if exclusive:
            raise
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock


def read_tables(corpus: Path, wanted: dict[str, list[str] | None], dictionary: tuple[str, ...] = (),
                present_only: bool = False) -> dict[str, pa.Table]:
    """Read several merged tables from one published version of the index (``wanted``: table → columns).
    ``dictionary``: string columns to read dictionary-encoded; ``present_only``: skip wanted columns a table lacks
    (a corpus written by an older version) instead of failing."""
    corpus = Path(corpus)
    handles = {}
    with _publish_lock(corpus, exclusive=False):
        try:
            for table in wanted:
                path = index_dir(corpus) / f"{table}.parquet"
                if not path.exists():
                    raise CorpusError(f"no index table at {path}: is {corpus} a corpus (run convert/build, or "
                                      "verify --rebuild-index)?")
                # Arrow's own file (not a Python file object): the inode stays readable after a later publish
                # renames over it, and no arrow thread needs the GIL to drop it (a Python file handed to
                # pq.read_table could be released by an arrow worker during interpreter shutdown: an abort).
                handles[table] = pa.memory_map(str(path), "r")
        except BaseException:
            for fh in handles.values():
                fh.close()
            raise
    try:
        return {table: _read_open(fh, wanted[table], dictionary, present_only) for table, fh in handles.items()}
    finally:
        for fh in handles.values():
            fh.close()


def _read_open(fh: pa.NativeFile, columns: list[str] | None, dictionary: tuple[str, ...],
               present_only: bool) -> pa.Table:
    if not (present_only or dictionary):
        return pq.read_table(fh, columns=columns)
    present = pq.read_schema(fh).names  # the footer, read only when a choice depends on it
    if present_only and columns is not None:
        columns = [c for c in columns if c in present]
    names = set(present if columns is None else columns)
    return pq.read_table(fh, columns=columns, read_dictionary=[c for c in dictionary if c in names] or None)


def read_table(corpus: Path, table: str, columns: list[str] | None = None) -> pa.Table:
    """Read a merged index table; a clear error if the corpus has none."""
    return read_tables(corpus, {table: columns})[table]


def finalize(corpus: Path) -> dict[str, int]:
    """Concatenate every committed partition's parts into the three merged tables; returns row counts.

    Parts are ordered by (source, partition) so the merged tables are identical however the partitions were
    produced (one process, many, or Ray tasks). Duplicate keys across partitions are a converter bug: refused.
    The three new tables are written first, then published together (see ``_publish_lock``); merges are
    serialised, so an older merge never replaces a newer one.
    """
    index_dir(corpus).mkdir(parents=True, exist_ok=True)
    with _publish_lock(corpus, exclusive=True, name=MERGE_LOCK):
        return _merge(corpus)


def _merge(corpus: Path) -> dict[str, int]:
    root = index_dir(corpus) / PARTS_DIR
    counts: dict[str, int] = {}
    written: dict[str, Path] = {}
    try:
        for table in TABLES:
            files = sorted((f for f in root.glob(f"*/*.{table}.parquet")
                            if (f.parent / f"{f.name.split('.', 1)[0]}.commit.json").is_file()),  # committed only
                           key=lambda p: (p.parent.name, p.name))
            pieces = [pq.read_table(f, schema=SCHEMAS[table]) for f in files]
            merged = pa.concat_tables(pieces) if pieces else SCHEMAS[table].empty_table()
            if table == "samples":  # which tokenizer counted each source's tokens
                tokenizers = json.dumps(merged_tokenizers(files), sort_keys=True).encode()
                merged = merged.replace_schema_metadata({**(merged.schema.metadata or {}), METADATA_KEY: tokenizers})
            if table == "samples" and merged.num_rows:
                keys = merged.column("key")
                if pc.count_distinct(keys).as_py() != merged.num_rows:
                    counts_by_key = pc.value_counts(keys)
                    dup = next(v["values"] for v in counts_by_key.to_pylist() if v["counts"] > 1)
                    raise CorpusError(f"duplicate sample key {dup!r} in {corpus}: two inputs map to the same key")
            written[table] = write_unpublished(index_dir(corpus) / f"{table}.parquet",
                                               lambda tmp, merged=merged: _write_parquet(merged, tmp))
            counts[table] = merged.num_rows
    except BaseException:
        for tmp in written.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    with _publish_lock(corpus, exclusive=True):
        for table, tmp in written.items():
            commit(tmp, index_dir(corpus) / f"{table}.parquet")
    return counts
