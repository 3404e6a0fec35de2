"""``verify --decode``: every sample of a corpus through the load-side decode, in parallel, failures per source.

Each sample is read the way the loader reads it (``ShardReader`` at its indexed offset and span) and checked with
``codecs.check_sample``, the rule conversion applies (``codecs.decode`` in eval mode succeeds, the exact shape,
only finite values); text samples need their record to parse. Work is cut into chunks of a few samples per task
so progress moves steadily and a pool of ``workers`` processes shares the corpus evenly.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from onellm_data.codecs import check_sample
from onellm_data.index import index_dir, read_table
from onellm_data.loader.streams import ShardReader, sample_spans
from onellm_data.pipeline.executors import die_with_parent
from onellm_data.progress import Progress

CHUNK = {"video": 4, "audio": 16, "point": 16}  # samples per task (default below): ~1 s of work at most
DEFAULT_CHUNK = 64


@dataclass(frozen=True)
class DecodeProblem:
    source: str
    key: str
    shard: str
    reason: str
    detail: str = ""


@dataclass
class Chunk:
    corpus: str
    modality: str
    rows: list[tuple[str, str, str, int, int]]  # (source, key, shard, offset, span)


@dataclass
class ChunkResult:
    modality: str
    checked: int
    seconds: float  # decode time in the worker
    problems: list[DecodeProblem]


@dataclass
class DecodeReport:
    checked: Counter = field(default_factory=Counter)  # per modality
    seconds: Counter = field(default_factory=Counter)  # worker seconds per modality
    problems: list[DecodeProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def by_source(self) -> dict[str, list[DecodeProblem]]:
        out: dict[str, list[DecodeProblem]] = defaultdict(list)
        for p in sorted(self.problems, key=lambda p: (p.source, p.key)):
            out[p.source].append(p)
        return dict(out)

    def rate(self, modality: str) -> float:
        """Samples per second per core (worker time only)."""
        return self.checked[modality] / self.seconds[modality] if self.seconds[modality] else float("nan")


_READERS: dict[str, ShardReader] = {}


def check_chunk(chunk: Chunk) -> ChunkResult:
    """Decode-check one chunk (runs in a worker; keeps a shard reader per corpus per process)."""
    reader = _READERS.setdefault(chunk.corpus, ShardReader(Path(chunk.corpus)))
    problems = []
    start = time.process_time()
    for source, key, shard, offset, span in chunk.rows:
        try:
            members = reader.read(shard, offset, span, key)
            record = json.loads(members.pop("json"))
            if not isinstance(record, dict) or not record.get("conversations"):
                raise ValueError("record has no conversations")
        except Exception as exc:  # noqa: BLE001 - an unreadable sample is this sample's failure, listed
            problems.append(DecodeProblem(source, key, shard, "unreadable sample", f"{type(exc).__name__}: {exc}"))
            continue
        failure = check_sample(chunk.modality, members)
        if failure is not None:
            problems.append(DecodeProblem(source, key, shard, failure.reason, failure.detail))
    return ChunkResult(chunk.modality, len(chunk.rows), time.process_time() - start, problems)


def plan_chunks(corpus: Path, modalities: set[str] | None) -> tuple[list[Chunk], int]:
    columns = ["key", "source", "modality", "shard", "tar_offset", "member_bytes"]
    stored = {"stored_key", "conversation"} <= set(pq.read_schema(index_dir(corpus) / "samples.parquet").names)
    table = read_table(corpus, "samples", columns=columns + (["stored_key", "conversation"] if stored else []))
    if stored:  # further conversations of a stored sample share its members: decode them once
        table = table.filter(pc.equal(table.column("conversation"), 0))
        table = table.set_column(0, "key", table.column("stored_key"))
    spans = sample_spans(table.column("member_bytes"))
    rows: dict[str, list[tuple[str, str, str, int, int]]] = defaultdict(list)
    values = [table.column(c).to_pylist() for c in ("source", "key", "shard", "tar_offset", "modality")]
    for source, key, shard, offset, modality, span in zip(*values, spans.tolist()):
        if modalities is None or modality in modalities:
            rows[modality].append((source, key, shard, offset, span))
    chunks = []
    for modality, items in sorted(rows.items()):
        items.sort(key=lambda r: (r[2], r[3]))  # shard order: sequential reads
        size = CHUNK.get(modality, DEFAULT_CHUNK)
        chunks += [Chunk(str(corpus), modality, items[i:i + size]) for i in range(0, len(items), size)]
    return chunks, sum(len(v) for v in rows.values())


def _run(chunks: list[Chunk], workers: int) -> Iterator[ChunkResult]:
    if workers <= 1:
        yield from map(check_chunk, chunks)
        return
    ctx = multiprocessing.get_context("spawn")
    on_main = threading.current_thread() is threading.main_thread()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=die_with_parent,
                             initargs=(os.getpid(), on_main)) as pool:
        pending: set[Future[ChunkResult]] = set()
        for chunk in chunks:
            pending.add(pool.submit(check_chunk, chunk))
            if len(pending) >= 4 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        for fut in pending:
            yield fut.result()


def verify_decode(corpus: Path | str, workers: int = 1, progress: Progress | None = None,
                  modalities: set[str] | None = None) -> DecodeReport:
    """Decode-check every sample (of ``modalities``, default all) of ``corpus`` with ``workers`` processes."""
    chunks, total = plan_chunks(Path(corpus), modalities)
    if progress is not None:
        progress.set_total(total)
    report = DecodeReport()
    for result in _run(chunks, workers):
        report.checked[result.modality] += result.checked
        report.seconds[result.modality] += result.seconds
        report.problems.extend(result.problems)
        if progress is not None:
            progress.advance(records=result.checked, samples=result.checked - len(result.problems),
                             rejects=len(result.problems))
    return report
