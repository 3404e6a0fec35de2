"""Convert one partition of records and commit it.

A partition is the unit of work, retry and resume: it writes its shards (one stream per modality and member
signature, each capped by sample count and bytes), then its three index parts, then a commit marker. Only a partition with a marker
counts; anything else it left behind is deleted and redone. Shard names depend only on (source, partition,
shard number), so partitions can be converted independently by processes, machines or Ray tasks.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onellm_data.codecs.check import check_sample
from onellm_data.converters._grouping import GROUP, convert_group
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.index import META_COLUMNS, SampleColumns, part_path, parts_dir, to_table, write_table
from onellm_data.index_tokens import resolve_tokenizer, with_tokenizer
from onellm_data.progress import Reporter, worker_sink
from onellm_data.schema import Sample, validate
from onellm_data.shards.atomic import TMP_PREFIX, write_bytes_atomic
from onellm_data.shards.tarwriter import BLOCK, TarShardWriter, member_span

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ShardSettings:
    """How records become shards. Changing any field changes the output, so it is part of the fingerprint."""

    max_count: int = 10_000  # samples per shard
    max_bytes: int = 1 << 30  # bytes per shard (a single larger sample still gets a shard of its own)
    partition_size: int = 10_000  # records per partition
    tokenizer: str | None = None  # SentencePiece model counting tokens into the index (None: the bundled default; "": none)

    def __post_init__(self) -> None:
        if self.max_count < 1 or self.max_bytes < BLOCK or self.partition_size < 1:
            raise ValueError(f"invalid shard settings: {self}")


@dataclass
class PartitionTask:
    corpus: str
    converter: Converter
    partition: int
    records: list[dict[str, Any]]
    first_record: int  # position of records[0] in the whole record stream
    settings: ShardSettings = field(default_factory=ShardSettings)
    progress: Any = None  # where to report running counts (``onellm_data.progress``); None: this process's sink


@dataclass
class PartitionResult:
    source: str
    partition: int
    records: int
    samples: int
    rejects: dict[str, int]
    shards: list[dict[str, Any]]
    # (records, samples, rejects) the worker did not send to the progress display: the executor adds them when the
    # result arrives, so the final counts never depend on a queue flushing in time. Not part of the marker.
    unreported: tuple[int, int, int] = field(default=(0, 0, 0), compare=False)


def marker_path(corpus: Path, source: str, partition: int) -> Path:
    return parts_dir(corpus, source) / f"{partition:06d}.commit.json"


def shard_relpath(modality: str, source: str, partition: int, number: int) -> str:
    return f"{modality}/{source}/{source}-{partition:06d}-{number:03d}.tar"


def remove_partition_output(corpus: Path, source: str, partition: int) -> None:
    """Delete everything an earlier attempt at this partition left: the marker first, then tars and parts."""
    with contextlib.suppress(FileNotFoundError):
        marker_path(corpus, source, partition).unlink()
    for tar in corpus.glob(f"*/{source}/{source}-{partition:06d}-*.tar"):
        tar.unlink()
    # Temporary shards of a killed attempt (another process id in the name).
    for tmp in corpus.glob(f"*/{source}/{TMP_PREFIX}*-{source}-{partition:06d}-*.tar"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    for table in ("samples", "shards", "rejects"):
        with contextlib.suppress(FileNotFoundError):
            part_path(corpus, source, partition, table).unlink()


_TOKENIZERS: dict[str, Any] = {}


def _token_counter(setting: str | None):
    """A cached SentencePiece processor per worker process (the default model when none is configured), or None
    when counting is turned off (``tokenizer=""``)."""
    model_path = resolve_tokenizer(setting)
    if model_path is None:
        return None
    if model_path not in _TOKENIZERS:
        import sentencepiece as spm

        _TOKENIZERS[model_path] = spm.SentencePieceProcessor(model_file=model_path)
    return _TOKENIZERS[model_path]


def member_signature(members: dict[str, bytes]) -> tuple[str, ...]:
    """The member names a sample stores (``json`` aside): samples with different ones never share a shard, so
    readers that infer columns from a shard's first samples (Hugging Face ``datasets``) see every member."""
    return tuple(sorted(members))


class _Stream:
    """The open shard of one (modality, member signature) within a partition.

    Streams of one modality draw their shard numbers from a shared counter, in the order their shards open.
    """

    def __init__(self, corpus: Path, modality: str, source: str, partition: int, settings: ShardSettings,
                 numbers: Iterator[int]):
        self.corpus, self.modality, self.source, self.partition = corpus, modality, source, partition
        self.settings = settings
        self.numbers = numbers
        self.number = -1
        self.writer: TarShardWriter | None = None
        self.done: list[dict[str, Any]] = []

    @property
    def relpath(self) -> str:
        return shard_relpath(self.modality, self.source, self.partition, self.number)

    def add(self, key: str, members: dict[str, bytes]) -> tuple[str, int]:
        size = sum(member_span(len(blob)) for blob in members.values())
        w = self.writer
        if w is not None and (w.count >= self.settings.max_count or w.size + size > self.settings.max_bytes):
            self.close()
        if self.writer is None:
            self.number = next(self.numbers)
            self.writer = TarShardWriter(self.corpus / self.relpath)
        return self.relpath, self.writer.add_sample(key, members)

    def close(self) -> None:
        if self.writer is not None:
            sha = self.writer.commit()
            self.done.append(
                {
                    "shard": self.relpath,
                    "source": self.source,
                    "modality": self.modality,
                    "partition": self.partition,
                    "count": self.writer.count,
                    "bytes": self.writer.size,
                    "sha256": sha,
                }
            )
            self.writer = None

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


def _convert_record(converter: Converter, record: dict[str, Any]) -> list[Sample]:
    if "_reject" in record:
        raise RejectError(record["_reject"], record.get("_detail", ""))
    if GROUP in record:  # items over the same media: stored once
        return convert_group(converter.convert, record[GROUP])
    out = converter.convert(record)
    return out if isinstance(out, list) else [out]


def convert_partition(task: PartitionTask) -> PartitionResult:
    """Convert and commit one partition. Idempotent: an earlier uncommitted attempt is wiped first."""
    corpus = Path(task.corpus)
    conv = task.converter
    source = conv.source
    remove_partition_output(corpus, source, task.partition)
    streams: dict[tuple[str, tuple[str, ...]], _Stream] = {}
    numbers: dict[str, Iterator[int]] = {}
    rows = SampleColumns()
    rejects: list[dict[str, Any]] = []
    keys: set[str] = set()
    sp = _token_counter(task.settings.tokenizer)
    report = Reporter(task.progress if task.progress is not None else worker_sink())

    def reject(source_id: str, reason: str, detail: str = "") -> None:
        rejects.append(
            {"source": source, "source_id": source_id, "partition": task.partition, "reason": reason, "detail": detail}
        )

    try:
        for done, record in enumerate(task.records):
            report.update(done, len(rows), len(rejects))
            source_id = str(record.get("source_id", ""))
            try:
                samples = _convert_record(conv, record)
            except RejectError as exc:
                for item_id, reason, detail in getattr(exc, "items", None) or [(source_id, exc.reason, exc.detail)]:
                    reject(item_id, reason, detail)
                continue
            except Exception as exc:  # noqa: BLE001 - a library error on one input must not end the run: recorded
                reject(source_id, f"unexpected error: {type(exc).__name__}", str(exc)[:500])
                continue
            for stored in samples:
                sample = _first_valid_items(stored, keys, reject) if stored.more_conversations else stored
                if sample is None:
                    continue
                reason = validate(sample, META_COLUMNS)
                if reason is None and sample.source != source:
                    reason = "sample source does not match converter"
                if reason is None and sample.modality not in conv.modalities:
                    reason = "modality not produced by this converter"
                if reason is None and sample.key in keys:
                    reason = "duplicate key"
                if reason is not None:
                    for item in sample.items():  # the stored sample's other conversations share its fate
                        reject(item.source_id or source_id, reason)
                    continue
                failure = check_sample(sample.modality, sample.media)  # the load-side decode rule, every converter
                if failure is not None:
                    for item in sample.items():
                        reject(item.source_id or source_id, failure.reason, failure.detail)
                    continue
                keys.update(item.key for item in sample.items())
                blob = sample.json_bytes()
                lane = (sample.modality, member_signature(sample.media))
                stream = streams.get(lane)
                if stream is None:
                    counter = numbers.setdefault(sample.modality, itertools.count())
                    stream = streams[lane] = _Stream(corpus, sample.modality, source, task.partition,
                                                     task.settings, counter)
                shard, offset = stream.add(sample.key, {"json": blob, **sample.media})
                for number, item in enumerate(sample.items()):
                    tokens = _count_tokens(sp, item) if sp is not None else None
                    rows.add(item, shard, task.partition, offset, len(blob), tokens, number, sample.key)
        for stream in streams.values():
            stream.close()
    except BaseException:
        for stream in streams.values():
            stream.abort()
        remove_partition_output(corpus, source, task.partition)
        raise

    shards = sorted((s for st in streams.values() for s in st.done), key=lambda s: s["shard"])
    write_table(with_tokenizer(rows.table(), source, task.settings.tokenizer),
                part_path(corpus, source, task.partition, "samples"))
    write_table(to_table(shards, "shards"), part_path(corpus, source, task.partition, "shards"))
    write_table(to_table(rejects, "rejects"), part_path(corpus, source, task.partition, "rejects"))
    by_reason: dict[str, int] = {}
    for r in rejects:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
    result = PartitionResult(source, task.partition, len(task.records), len(rows), by_reason, shards)
    marker = {
        "format": FORMAT_VERSION,
        "source": source,
        "partition": task.partition,
        "first_record": task.first_record,
        **{k: v for k, v in asdict(result).items() if k != "unreported"},
    }
    # The marker is the commit point: written last, atomically.
    write_bytes_atomic(marker_path(corpus, source, task.partition), json.dumps(marker, sort_keys=True, indent=1).encode())
    result.unreported = report.close(len(task.records), len(rows), len(rejects))
    return result


def _first_valid_items(stored: Sample, keys: set[str], reject: Any) -> Sample | None:
    """A stored sample with several conversations, less the invalid ones (each rejected alone with its reason);
    the first valid one leads. None when none is valid."""
    valid: list[Sample] = []
    seen = set(keys)
    for entry in stored.more_conversations:
        if "_reject" in entry:  # an item whose conversion failed (``convert_group``)
            reject(entry["source_id"], entry["_reject"], entry.get("_detail", ""))
    stored = Sample(stored.key, stored.source, stored.modality, stored.conversations, stored.source_id,
                    stored.media, stored.meta, [e for e in stored.more_conversations if "_reject" not in e])
    for item in stored.items():
        reason = validate(item)  # meta types are checked on the lead sample, which shares the meta
        if reason is None and item.key in seen:
            reason = "duplicate key"
        if reason is not None:
            reject(item.source_id, reason, "")
            continue
        seen.add(item.key)
        valid.append(item)
    if not valid:
        return None
    lead = valid[0]
    more = [{"key": v.key, "source_id": v.source_id, "conversations": v.conversations} for v in valid[1:]]
    return Sample(lead.key, stored.source, stored.modality, lead.conversations, lead.source_id, stored.media,
                  stored.meta, more)


def _count_tokens(sp: Any, sample: Sample) -> tuple[int, int]:
    values = [t["value"] for t in sample.conversations]
    lengths = [len(ids) for ids in sp.encode(values)]
    answer = sum(n for n, t in zip(lengths, sample.conversations) if t["from"] == "gpt")
    return sum(lengths), answer


def read_marker(corpus: Path, source: str, partition: int) -> dict[str, Any] | None:
    path = marker_path(corpus, source, partition)
    if not path.exists():
        return None
    return json.loads(path.read_text())
