"""--deep opens the tars: a whole corpus checks clean; a changed member size or a lost shard is reported."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from onellm_data.stats import compute_stats
from tests.stats.corpus import build_stats_corpus


def test_deep_check_clean_then_damaged(tmp_path: Path) -> None:
    corpus, _, _ = build_stats_corpus(tmp_path, with_synthetic=False)
    deep = compute_stats(corpus, deep=True)["deep"]
    tars = sorted(corpus.glob("*/jsonl/*.tar"))
    assert deep["shards_checked"] == len(tars) == 4
    assert deep["samples_checked"] == 15 and deep["problem_count"] == 0
    assert deep["member_bytes"] == compute_stats(corpus)["totals"]["bytes"]

    # Rewrite one shard with its first jpg one byte longer, and delete another shard.
    victim, lost = tars[0], tars[1]
    with tarfile.open(victim) as tar:
        members = [(info, tar.extractfile(info).read()) for info in tar]
    changed = next(info.name for info, _ in members if info.name.endswith(".jpg"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as out:
        for info, data in members:
            if info.name == changed:
                data += b"\0"
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    victim.write_bytes(buf.getvalue())
    lost.unlink()

    deep = compute_stats(corpus, deep=True)["deep"]
    kinds = {(p["kind"], p["shard"]) for p in deep["problems"]}
    rel = lambda p: str(p.relative_to(corpus))  # noqa: E731
    assert ("member sizes differ", rel(victim)) in kinds
    assert ("missing shard", rel(lost)) in kinds
    assert deep["problem_count"] == 2 and deep["shards_checked"] == 3
    assert changed.split(".")[0] in next(p["detail"] for p in deep["problems"] if p["kind"] == "member sizes differ")
