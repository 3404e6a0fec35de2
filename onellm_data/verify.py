"""Check a corpus's tars against its index, and rebuild the index from the tars.

``verify`` reports, per shard: missing, extra (on disk, not in the index), truncated (shorter than indexed or
not a readable tar), altered (sha256 differs), or inconsistent (sample count, member names, a sample's
``tar_offset`` or ``member_bytes`` differ from the tar headers). ``rebuild_index`` recreates the committed
partitions' index parts from their tars; it never marks a partition committed.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onellm_data.errors import CorpusError
from onellm_data.index import (INDEX_DIR, PARTS_DIR, SampleColumns, finalize, index_dir, part_path, read_tables,
                               to_table, write_table)
from onellm_data.index_tokens import tokenizer_record, with_tokenizer
from onellm_data.pipeline.partition import _count_tokens, _token_counter, marker_path, read_marker
from onellm_data.progress import Progress
from onellm_data.schema import Sample
from onellm_data.shards.atomic import TMP_PREFIX, file_sha256

SHARD_NAME = re.compile(r"^(?P<source>[a-z0-9_]+)-(?P<partition>\d{6})-(?P<number>\d{3})\.tar$")


@dataclass
class VerifyReport:
    shards_checked: int = 0
    samples_checked: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, shard, detail)

    @property
    def ok(self) -> bool:
        return not self.problems


def tar_members(path: Path) -> list[tuple[str, int, int]]:
    """(name, size, header offset) of every member; raises tarfile.TarError / EOFError on a broken tar."""
    with tarfile.open(path, "r:") as tf:
        return [(m.name, m.size, m.offset) for m in tf]


def _on_disk_shards(corpus: Path) -> set[str]:
    """Shards under their final names (a running or killed writer's temporary files are not shards)."""
    return {str(p.relative_to(corpus)) for p in corpus.glob("*/*/*.tar")
            if p.parts[-3] != INDEX_DIR and not p.name.startswith(TMP_PREFIX)}


def _check_shard(corpus: Path, row: dict[str, Any], expected: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``expected``: the shard's samples-table rows (key, tar_offset, members, member_bytes) in tar order."""
    rel = row["shard"]
    path = corpus / rel
    if not path.exists():
        return [("missing", rel, "file not found")]
    size = path.stat().st_size
    if size < row["bytes"]:
        return [("truncated", rel, f"{size} bytes on disk, {row['bytes']} in the index")]
    digest = file_sha256(path)
    problems = []
    if digest != row["sha256"] or size != row["bytes"]:
        problems.append(("altered", rel, f"sha256 {digest[:12]}… != indexed {row['sha256'][:12]}…"))
    try:
        members = tar_members(path)
    except (tarfile.TarError, EOFError, OSError) as exc:
        return problems + [("truncated", rel, f"unreadable tar: {exc}")]
    names = [m[0] for m in members]
    position = {name: i for i, name in enumerate(names)}
    # Expected in tar order, so that an edited tar_offset is reported as such, not as a reordering.
    expected = sorted(expected, key=lambda s: (position.get(f"{s['key']}.json", len(names)), s["tar_offset"], s["key"]))
    wanted = [f"{s['key']}.{ext}" for s in expected for ext in s["members"]]
    if len(expected) != row["count"]:
        problems.append(("inconsistent", rel, f"index lists {len(expected)} samples, shard table says {row['count']}"))
    if names != wanted:
        first = next((i for i, (a, b) in enumerate(zip(names, wanted)) if a != b), min(len(names), len(wanted)))
        found = names[first] if first < len(names) else "end of tar"
        problems.append(("inconsistent", rel, f"{len(names)} members in the tar, {len(wanted)} expected from the index "
                                              f"(member {first}: {found!r} in the tar, "
                                              f"{wanted[first] if first < len(wanted) else 'none'!r} expected)"))
    return problems + _check_spans(rel, members, expected)


def _check_spans(rel: str, members: list[tuple[str, int, int]], expected: list[dict[str, Any]]
                 ) -> list[tuple[str, str, str]]:
    """The loader seeks to ``tar_offset`` and reads ``member_bytes``: both must match the tar headers."""
    headers = {name: (size, offset) for name, size, offset in members}
    problems = []
    for s in expected:
        first = headers.get(f"{s['key']}.{s['members'][0]}") if s["members"] else None
        if first is not None and first[1] != s["tar_offset"]:
            problems.append(("inconsistent", rel, f"sample {s['key']}: tar_offset {s['tar_offset']} in the index, "
                                                  f"its first header is at {first[1]}"))
        for ext, indexed in zip(s["members"], s["member_bytes"] or []):
            found = headers.get(f"{s['key']}.{ext}")
            if found is not None and found[0] != indexed:
                problems.append(("inconsistent", rel, f"sample {s['key']}: member_bytes of {ext} is {indexed} in the "
                                                      f"index, {found[0]} in the tar header"))
        if len(s["member_bytes"] or []) != len(s["members"]):
            problems.append(("inconsistent", rel, f"sample {s['key']}: {len(s['member_bytes'] or [])} member_bytes "
                                                  f"for {len(s['members'])} members"))
    return problems


def verify(corpus: Path | str, workers: int = 4, progress: Progress | None = None) -> VerifyReport:
    """Check every shard against the index; see the module docstring for the kinds of problem."""
    corpus = Path(corpus)
    columns = ["key", "stored_key", "conversation", "shard", "tar_offset", "members", "member_bytes"]
    tables = read_tables(corpus, {"shards": None, "samples": columns})
    shards = tables["shards"].to_pylist()
    samples = tables["samples"].to_pylist()
    by_shard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    further = []
    for s in samples:
        if s["conversation"]:  # a further conversation of a stored sample: it points at that sample's members
            further.append(s)
        else:
            by_shard[s["shard"]].append(s)
    report = VerifyReport(shards_checked=len(shards), samples_checked=len(samples))
    jobs = [(row, by_shard.get(row["shard"], [])) for row in shards]
    if progress is not None:
        progress.set_total(sum(len(rows) for _, rows in jobs))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for (row, rows), problems in zip(jobs, pool.map(lambda job: _check_shard(corpus, *job), jobs)):
            report.problems.extend(problems)
            if progress is not None:
                progress.advance(records=len(rows), samples=len(rows), rejects=len(problems))
    stored = {(s["shard"], s["tar_offset"], s["key"]) for rows in by_shard.values() for s in rows}
    for s in further:
        if (s["shard"], s["tar_offset"], s["stored_key"]) not in stored:
            report.problems.append(("inconsistent", s["shard"], f"sample {s['key']}: conversation {s['conversation']} "
                                    f"of {s['stored_key']!r}, which is not stored at offset {s['tar_offset']}"))
    indexed = {row["shard"] for row in shards}
    for rel in sorted(_on_disk_shards(corpus) - indexed):
        report.problems.append(("extra", rel, _extra_detail(corpus, rel)))
    for rel in sorted(set(by_shard) - indexed):
        report.problems.append(("inconsistent", rel, "samples reference a shard missing from the shard table"))
    return report


def _extra_detail(corpus: Path, rel: str) -> str:
    match = SHARD_NAME.match(Path(rel).name)
    if match is not None and read_marker(corpus, match["source"], int(match["partition"])) is None:
        return (f"partition {match['partition']} of {match['source']} has no commit marker (an unfinished or running "
                f"conversion): rerun convert to redo it")
    return "shard on disk but not in the index"


def _read_samples(path: Path) -> list[tuple[Sample, int, int]]:
    """(sample, header offset, json size) for every sample group in a tar, in order."""
    out: list[tuple[Sample, int, int]] = []
    with tarfile.open(path, "r:") as tf:
        current: dict[str, Any] | None = None
        for member in tf:
            key, _, ext = member.name.partition(".")
            data = tf.extractfile(member).read()
            if current is None or current["key"] != key:
                if current is not None:
                    out.append(_group_to_sample(current, path))
                current = {"key": key, "offset": member.offset, "members": {}}
            current["members"][ext] = data
        if current is not None:
            out.append(_group_to_sample(current, path))
    return out


def _group_to_sample(group: dict[str, Any], path: Path) -> tuple[Sample, int, int]:
    members = dict(group["members"])
    if "json" not in members:
        raise CorpusError(f"{path}: sample {group['key']!r} has no .json member")
    blob = members.pop("json")
    return Sample.from_members(json.loads(blob), members), group["offset"], len(blob)


@dataclass
class RebuildResult:
    counts: dict[str, int]  # rows of the merged tables
    partitions: int  # committed partitions whose index parts were rebuilt
    uncommitted: list[tuple[str, int]]  # (source, partition) with shards on disk but no commit marker: left out


def rebuild_index(corpus: Path | str, progress: Progress | None = None) -> RebuildResult:
    """Recreate the committed partitions' samples and shards parts from their tars, then merge.

    Only a commit marker makes a partition committed, and this never writes one: the tars of a partition without
    a marker (a conversion killed mid-partition) are left out of the index, so the next ``convert`` redoes that
    partition instead of trusting a half-written one. A committed shard that is missing or whose sha256 differs
    from its marker is an error naming it. Rejects cannot be read from tars: their parts are kept where they exist.
    """
    corpus = Path(corpus)
    on_disk: set[tuple[str, int]] = set()
    for rel in _on_disk_shards(corpus):
        match = SHARD_NAME.match(Path(rel).name)
        if match is None:
            raise CorpusError(f"{corpus / rel}: not a shard name this toolkit writes")
        on_disk.add((match["source"], int(match["partition"])))
    # [0-9]*: committed markers only, not the temporary name of one being written.
    markers = sorted(index_dir(corpus).glob(f"{PARTS_DIR}/*/[0-9]*.commit.json"))
    if progress is not None:
        progress.set_total(len(markers))  # known before any work: the display gives n/N and an ETA
    committed: set[tuple[str, int]] = set()
    for path in markers:
        marker = json.loads(path.read_text())
        source, partition = marker["source"], int(marker["partition"])
        committed.add((source, partition))
        _rebuild_partition(corpus, source, partition, marker["shards"])
        if progress is not None:
            progress.advance(records=1, samples=marker["samples"])
    counts = finalize(corpus)
    return RebuildResult(counts, len(committed), sorted(on_disk - committed))


def _counted_with(corpus: Path, source: str) -> str:
    """The tokenizer setting to recount a source's tokens with: the default model when the source's settings
    record its hash (a tokenizer given by path cannot be found again: "", no counts)."""
    path = index_dir(corpus) / PARTS_DIR / source / "_settings.json"
    recorded = json.loads(path.read_text()).get("shards", {}).get("tokenizer") if path.exists() else None
    default = tokenizer_record(None)
    return None if default and recorded == default["sha256"] else ""  # None: the default model


def _rebuild_partition(corpus: Path, source: str, partition: int, listed: list[dict[str, Any]]) -> None:
    rows, shards = SampleColumns(), []
    setting = _counted_with(corpus, source)
    sp = _token_counter(setting)
    for entry in sorted(listed, key=lambda e: e["shard"]):
        rel = entry["shard"]
        path = corpus / rel
        if not path.exists():
            raise CorpusError(f"committed shard {path} is missing; delete {marker_path(corpus, source, partition)} "
                              f"and rerun convert to redo partition {partition} of {source}")
        digest = file_sha256(path)
        if digest != entry["sha256"]:
            raise CorpusError(f"committed shard {path} is damaged (sha256 {digest[:12]}… differs from its commit "
                              f"marker); delete {marker_path(corpus, source, partition)} and rerun convert to redo it")
        try:
            items = _read_samples(path)
        except (tarfile.TarError, EOFError, json.JSONDecodeError, KeyError) as exc:
            raise CorpusError(f"cannot rebuild the index from {path}: {exc}") from exc
        for sample, offset, json_size in items:
            for number, item in enumerate(sample.items()):
                tokens = _count_tokens(sp, item) if sp is not None else None
                rows.add(item, rel, partition, offset, json_size, tokens, number, sample.key)
        shards.append({"shard": rel, "source": source, "modality": path.parts[-3], "partition": partition,
                       "count": len(items), "bytes": path.stat().st_size, "sha256": digest})
    write_table(with_tokenizer(rows.table(), source, setting), part_path(corpus, source, partition, "samples"))
    write_table(to_table(shards, "shards"), part_path(corpus, source, partition, "shards"))
    rejects_part = part_path(corpus, source, partition, "rejects")
    if not rejects_part.exists():
        write_table(to_table([], "rejects"), rejects_part)
