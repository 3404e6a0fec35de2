"""``--deep``: open every shard and check its members' names and sizes against the index."""

from __future__ import annotations

import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from onellm_data.index import read_tables
from onellm_data.progress import Progress

MAX_LISTED = 20


def _tar_members(path: Path) -> dict[str, dict[str, int]]:
    """key -> {extension: size} read from the tar headers (member data is skipped, not read)."""
    members: dict[str, dict[str, int]] = defaultdict(dict)
    with tarfile.open(path, "r:") as tar:
        for info in tar:
            if info.isfile():
                key, _, ext = info.name.rpartition("/")[2].partition(".")
                members[key][ext] = info.size
    return members


def deep_check(corpus: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Shards/samples checked, byte totals found in the tars, and the first problems found; ``progress`` (shards,
    samples, problems) moves as each shard is read."""
    tables = read_tables(corpus, {"samples": ["key", "shard", "members", "member_bytes"], "shards": ["shard"]})
    samples = tables["samples"]
    by_shard: dict[str, list[tuple[str, dict[str, int]]]] = defaultdict(list)
    for key, shard, names, sizes in zip(*(samples.column(c).to_pylist() for c in samples.column_names)):
        by_shard[shard].append((key, dict(zip(names, sizes))))
    shards = tables["shards"].column("shard").to_pylist()
    problems: list[dict[str, str]] = []
    checked = samples_checked = member_bytes = 0
    todo = sorted(set(shards) | set(by_shard))
    if progress is not None:
        progress.set_total(len(todo))
    for shard in todo:
        before = len(problems)
        found_bytes = _check_shard(corpus, shard, dict(by_shard.get(shard, [])), problems)
        if found_bytes is not None:
            checked += 1
            samples_checked += len(by_shard.get(shard, ()))
            member_bytes += found_bytes
        if progress is not None:
            progress.advance(1, len(by_shard.get(shard, ())), len(problems) - before)
    return {"shards_checked": checked, "samples_checked": samples_checked, "member_bytes": member_bytes,
            "problem_count": len(problems), "problems": problems[:MAX_LISTED]}


def _check_shard(corpus: Path, shard: str, expected: dict[str, dict[str, int]],
                 problems: list[dict[str, str]]) -> int | None:
    """Appends the shard's problems; the bytes of its samples that match the index, or None if unreadable."""
    path = corpus / shard
    if not path.is_file():
        problems.append({"shard": shard, "kind": "missing shard", "detail": str(path)})
        return None
    try:
        found = _tar_members(path)
    except (tarfile.TarError, OSError) as exc:
        problems.append({"shard": shard, "kind": "unreadable shard", "detail": str(exc)})
        return None
    for key in sorted(set(found) - set(expected)):
        problems.append({"shard": shard, "kind": "sample not in index", "detail": key})
    member_bytes = 0
    for key, members in expected.items():
        got = found.get(key)
        if got is None:
            problems.append({"shard": shard, "kind": "sample missing from tar", "detail": key})
        elif got != members:
            problems.append({"shard": shard, "kind": "member sizes differ",
                             "detail": f"{key}: index {members} vs tar {got}"})
        else:
            member_bytes += sum(got.values())
    return member_bytes
