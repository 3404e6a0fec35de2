"""Drive one source's conversion: enumerate records once, cut them into partitions, skip the committed ones,
convert the rest on an executor, then merge the index.

Resume is by partition: a run killed at any point and rerun keeps every committed partition, wipes and redoes
the others, and ends with exactly the shards and index an uninterrupted run produces. Repeated source ids are
rejected during the enumeration, which every run (partitioned or resumed) does in full: see ``dedup``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onellm_data.pipeline.dedup import SeenIds
from onellm_data.pipeline.executors import Executor, InProcessExecutor
from onellm_data.pipeline.partition import (
    PartitionResult,
    PartitionTask,
    ShardSettings,
    convert_partition,
    read_marker,
)
from onellm_data.converters.base import Converter
from onellm_data.errors import CorpusError
from onellm_data.index import finalize, parts_dir
from onellm_data.index_tokens import resolve_tokenizer
from onellm_data.pipeline.lock import source_lock
from onellm_data.progress import Progress
from onellm_data.shards.atomic import ensure_writable_dir, file_sha256, remove_stale_tmp, write_bytes_atomic


@dataclass
class ConversionSummary:
    source: str
    records: int = 0  # every record of the source (each run enumerates them all)
    covered: int = 0  # records of the partitions this run converted or found committed (all, without shard_of)
    samples: int = 0
    partitions_done: int = 0
    partitions_skipped: int = 0
    rejects: Counter = field(default_factory=Counter)

    def add(self, result: PartitionResult) -> None:
        self.samples += result.samples
        self.rejects.update(result.rejects)


def _settings_fingerprint(converter: Converter, settings: ShardSettings) -> dict[str, Any]:
    fp = {"converter": converter.fingerprint(), "shards": asdict(settings)}
    counted_with = resolve_tokenizer(settings.tokenizer)  # the default model when none is given
    if counted_with:
        fp["shards"]["tokenizer"] = hashlib.sha256(Path(counted_with).read_bytes()).hexdigest()
    return fp


def _check_settings(corpus: Path, converter: Converter, settings: ShardSettings, overwrite: bool,
                    shard_of: tuple[int, int] | None) -> None:
    """Refuse to mix partitions made with different settings into one source's output. ``overwrite`` replaces the
    source's earlier output whatever its settings (under ``--partition i/n`` with unchanged settings, each run
    redoes its own share instead: deleting the whole source would destroy the other runs' work)."""
    path = parts_dir(corpus, converter.source) / "_settings.json"
    wanted = _settings_fingerprint(converter, settings)
    if path.exists():
        found = json.loads(path.read_text())
        if found == wanted and not (overwrite and shard_of is None):
            return
        # A run that failed before committing anything (a wrong annotation file, a bad option) holds nothing
        # to protect: the corrected rerun just takes its place.
        committed = any(path.parent.glob("*.commit.json"))
        if committed and not overwrite:
            raise CorpusError(
                f"{corpus} already holds source {converter.source!r} converted with other settings "
                f"({path}); rerun with --overwrite to replace it"
            )
        if committed:
            remove_source(corpus, converter.source)
    write_bytes_atomic(path, json.dumps(wanted, sort_keys=True, indent=1).encode())


def remove_source(corpus: Path, source: str) -> None:
    """Delete a source's shards and index parts (used by --overwrite)."""
    for shard_dir in corpus.glob(f"*/{source}"):
        if shard_dir.parent.name != "index":
            shutil.rmtree(shard_dir)
    shutil.rmtree(parts_dir(corpus, source), ignore_errors=True)


def _check_committed(corpus: Path, marker: dict[str, Any]) -> None:
    """A committed partition's shards must still be whole; a damaged one is an error, never silently reused.

    Size first (free), then the sha256 recorded at commit: a same-size byte flip is caught too. Hashing reads each
    committed shard once per rerun, at disk speed (``benchmarks/bench_resume_check.py``).
    """
    for shard in marker["shards"]:
        path = corpus / shard["shard"]
        size = path.stat().st_size if path.exists() else None
        found = None
        if size != shard["bytes"]:
            found = "missing" if size is None else f"{size} bytes, expected {shard['bytes']}"
        elif (digest := file_sha256(path)) != shard["sha256"]:
            found = f"sha256 {digest[:12]}…, expected {shard['sha256'][:12]}…"
        if found is not None:
            raise CorpusError(
                f"committed shard {path} is corrupt ({found}); run `onellm-data verify {corpus}`, then delete "
                f"{parts_dir(corpus, marker['source'])}/{marker['partition']:06d}.commit.json to redo that partition"
            )


def iter_partitions(
    converter: Converter, partition_size: int, dedup: bool = True, spill_dir: Path | str | None = None
) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
    """Yield ``(partition, first_record, records)``; a repeated source id becomes a recorded reject.

    The first record with a given ``source_id`` is kept and every later one becomes ``"duplicate id"`` (records
    that are already rejects are neither checked nor remembered). Decisions are taken on the whole stream before
    partitions are cut, so they do not depend on the executor, on ``shard_of`` or on what a resumed run skips.
    The seen ids live in a compact exact structure (``dedup.SeenIds``) that spills them to ``spill_dir``.
    """
    seen = SeenIds(spill_dir) if dedup else None
    try:
        chunk: list[dict[str, Any]] = []
        position = 0
        for record in converter.records():
            chunk.append(record)
            position += 1
            if len(chunk) == partition_size:
                yield (position - 1) // partition_size, position - len(chunk), _reject_repeats(seen, chunk)
                chunk = []
        if chunk:
            yield (position - 1) // partition_size, position - len(chunk), _reject_repeats(seen, chunk)
    finally:
        if seen is not None:
            seen.close()


def _reject_repeats(seen: SeenIds | None, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replace, in place, each record whose source id was seen before (in stream order) by a duplicate reject."""
    if seen is None:
        return chunk
    checked = [i for i, record in enumerate(chunk) if "_reject" not in record]
    repeated = seen.check_and_add([str(chunk[i]["source_id"]) for i in checked])
    for i, dup in zip(checked, repeated):
        if dup:
            chunk[i] = {"source_id": chunk[i]["source_id"], "_reject": "duplicate id"}
    return chunk


def run_conversion(
    converter: Converter,
    corpus: Path | str,
    settings: ShardSettings | None = None,
    executor: Executor | None = None,
    shard_of: tuple[int, int] | None = None,
    retry_rejects: bool = False,
    overwrite: bool = False,
    merge_index: bool = True,
    dedup: bool = True,
    progress: Progress | None = None,
) -> ConversionSummary:
    """Convert ``converter``'s records into ``corpus``.

    ``shard_of=(i, n)`` converts only partitions ``p`` with ``p % n == i`` so n processes or machines can
    share one source; run ``onellm-data index merge`` (or any run with ``merge_index``) afterwards.
    ``retry_rejects`` redoes the committed partitions that recorded rejects (e.g. after adding missing files).
    ``progress`` (a ``Progress``) receives records, samples and rejects as workers convert them.
    """
    corpus = Path(corpus)
    settings = settings or ShardSettings()
    executor = executor or InProcessExecutor()
    ensure_writable_dir(corpus)
    with source_lock(corpus, converter.source, shard_of):
        return _run_locked(converter, corpus, settings, executor, shard_of, retry_rejects, overwrite, merge_index,
                           dedup, progress)


def _run_locked(converter: Converter, corpus: Path, settings: ShardSettings, executor: Executor,
                shard_of: tuple[int, int] | None, retry_rejects: bool, overwrite: bool, merge_index: bool,
                dedup: bool, progress: Progress | None) -> ConversionSummary:
    remove_stale_tmp(corpus)
    _check_settings(corpus, converter, settings, overwrite, shard_of)
    summary = ConversionSummary(converter.source)

    def tasks() -> Iterator[PartitionTask]:
        spill = parts_dir(corpus, converter.source)
        for partition, first, records in iter_partitions(converter, settings.partition_size, dedup, spill):
            summary.records += len(records)
            if shard_of is not None and partition % shard_of[1] != shard_of[0]:
                continue
            summary.covered += len(records)
            if progress is not None:
                progress.set_total(summary.covered, final=False)  # read so far: the stream's length is unknown
            marker = read_marker(corpus, converter.source, partition)
            if marker is not None and not overwrite and not (retry_rejects and marker["rejects"]):
                _check_committed(corpus, marker)
                summary.partitions_skipped += 1
                summary.samples += marker["samples"]
                summary.rejects.update(marker["rejects"])
                if progress is not None:
                    progress.advance(len(records), marker["samples"], sum(marker["rejects"].values()))
                continue
            yield PartitionTask(str(corpus), converter, partition, records, first, settings)
        if progress is not None:
            progress.set_total(summary.covered)

    for result in executor.map(convert_partition, tasks(), progress):
        if progress is not None:
            progress.advance(*result.unreported)
        summary.partitions_done += 1
        summary.add(result)
    if merge_index:
        finalize(corpus)
    return summary
