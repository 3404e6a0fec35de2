"""Check a corpus's tars against its index, and rebuild the index from the tars.

``verify`` reports, per shard: missing, extra (on disk, not in the index), truncated (shorter than indexed or
not a readable tar), altered (sha256 differs), or inconsistent (sample count or member names differ from the
samples table). ``rebuild_index`` recreates the index parts and commit markers by reading the tars only.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onellm_data.pipeline.partition import FORMAT_VERSION, marker_path
from onellm_data.errors import CorpusError
from onellm_data.index import INDEX_DIR, finalize, part_path, read_table, SampleColumns, to_table, write_table
from onellm_data.schema import Sample
from onellm_data.shards.atomic import write_bytes_atomic

SHARD_NAME = re.compile(r"^(?P<source>[a-z0-9_]+)-(?P<partition>\d{6})-(?P<number>\d{3})\.tar$")


@dataclass
class VerifyReport:
    shards_checked: int = 0
    samples_checked: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, shard, detail)

    @property
    def ok(self) -> bool:
        return not self.problems


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def tar_members(path: Path) -> list[tuple[str, int, int]]:
    """(name, size, header offset) of every member; raises tarfile.TarError / EOFError on a broken tar."""
    with tarfile.open(path, "r:") as tf:
        return [(m.name, m.size, m.offset) for m in tf]


def _on_disk_shards(corpus: Path) -> set[str]:
    return {str(p.relative_to(corpus)) for p in corpus.glob("*/*/*.tar") if p.parts[-3] != INDEX_DIR}


def _check_shard(corpus: Path, row: dict[str, Any], expected: list[tuple[str, list[str]]]) -> list[tuple[str, str, str]]:
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
    wanted = [f"{key}.{ext}" for key, exts in expected for ext in exts]
    if len(expected) != row["count"]:
        problems.append(("inconsistent", rel, f"index lists {len(expected)} samples, shard table says {row['count']}"))
    if names != wanted:
        problems.append(("inconsistent", rel, f"{len(names)} members in the tar, {len(wanted)} expected from the index"))
    return problems


def verify(corpus: Path | str, workers: int = 4) -> VerifyReport:
    """Check every shard against the index; see the module docstring for the kinds of problem."""
    corpus = Path(corpus)
    shards = read_table(corpus, "shards").to_pylist()
    samples = read_table(corpus, "samples", columns=["key", "shard", "tar_offset", "members"]).to_pylist()
    by_shard: dict[str, list[tuple[int, str, list[str]]]] = defaultdict(list)
    for s in samples:
        order = sorted(s["members"], key=lambda e: (e != "json", e))
        by_shard[s["shard"]].append((s["tar_offset"], s["key"], order))
    report = VerifyReport(shards_checked=len(shards), samples_checked=len(samples))
    jobs = [(row, [(k, m) for _, k, m in sorted(by_shard.get(row["shard"], []))]) for row in shards]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for problems in pool.map(lambda job: _check_shard(corpus, *job), jobs):
            report.problems.extend(problems)
    indexed = {row["shard"] for row in shards}
    for rel in sorted(_on_disk_shards(corpus) - indexed):
        report.problems.append(("extra", rel, "shard on disk but not in the index"))
    for rel in sorted(set(by_shard) - indexed):
        report.problems.append(("inconsistent", rel, "samples reference a shard missing from the shard table"))
    return report


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


def rebuild_index(corpus: Path | str) -> dict[str, int]:
    """Recreate index parts and commit markers from the tars alone (rejects kept where their parts survive)."""
    corpus = Path(corpus)
    groups: dict[tuple[str, int], list[Path]] = defaultdict(list)
    for rel in sorted(_on_disk_shards(corpus)):
        match = SHARD_NAME.match(Path(rel).name)
        if match is None:
            raise CorpusError(f"{corpus / rel}: not a shard name this toolkit writes")
        groups[(match["source"], int(match["partition"]))].append(corpus / rel)
    for (source, partition), paths in sorted(groups.items()):
        rows, shards = SampleColumns(), []
        for path in sorted(paths, key=lambda p: str(p.relative_to(corpus))):
            rel = str(path.relative_to(corpus))
            try:
                items = _read_samples(path)
            except (tarfile.TarError, EOFError, json.JSONDecodeError, KeyError) as exc:
                raise CorpusError(f"cannot rebuild the index from {path}: {exc}") from exc
            for sample, offset, json_size in items:
                rows.add(sample, rel, partition, offset, json_size)
            modality = path.parts[-3]
            stat = path.stat().st_size
            shards.append(
                {"shard": rel, "source": source, "modality": modality, "partition": partition,
                 "count": len(items), "bytes": stat, "sha256": file_sha256(path)}
            )
        write_table(rows.table(), part_path(corpus, source, partition, "samples"))
        write_table(to_table(shards, "shards"), part_path(corpus, source, partition, "shards"))
        rejects_part = part_path(corpus, source, partition, "rejects")
        if not rejects_part.exists():
            write_table(to_table([], "rejects"), rejects_part)
        marker = {"format": FORMAT_VERSION, "source": source, "partition": partition, "rebuilt": True,
                  "samples": len(rows), "records": None, "rejects": {}, "shards": shards}
        write_bytes_atomic(marker_path(corpus, source, partition), json.dumps(marker, sort_keys=True, indent=1).encode())
    return finalize(corpus)
