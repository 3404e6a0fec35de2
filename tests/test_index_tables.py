"""The corpus on disk as the README's table describes it: shard paths, the three index tables' rows and columns,
and the per-partition parts with their commit markers."""

from __future__ import annotations

import hashlib
import json
import re
import tarfile

import pandas as pd
import pytest

from onellm_data.converters import make_converter
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.schema import make_key

SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5)


@pytest.fixture
def corpus(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    run_conversion(make_converter("jsonl", raw, source="demo"), tmp_path / "c", SETTINGS)
    return tmp_path / "c", raw


def _tar_members(path):
    with tarfile.open(path) as tar:
        return {m.name: (m.offset, tar.extractfile(m).read()) for m in tar.getmembers()}


def test_shard_paths_are_modality_source_partition_number(corpus):
    out, _ = corpus
    shards = pd.read_parquet(out / "index/shards.parquet")
    for shard, source, modality, partition in zip(shards.shard, shards.source, shards.modality, shards.partition):
        match = re.fullmatch(r"(\w+)/(\w+)/(\w+)-(\d{6})-(\d{3})\.tar", shard)
        assert match, shard
        assert match.groups()[:3] == (modality, source, source) and int(match[4]) == partition
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*.tar")}
    assert on_disk == set(shards.shard)


def test_shards_table_counts_bytes_and_sha256_of_each_tar(corpus):
    out, _ = corpus
    shards = pd.read_parquet(out / "index/shards.parquet")
    assert {"shard", "count", "bytes", "sha256"} <= set(shards.columns)
    for row in shards.itertuples():
        data = (out / row.shard).read_bytes()
        assert row.bytes == len(data) and row.sha256 == hashlib.sha256(data).hexdigest()
        assert row.count == sum(name.endswith(".json") for name in _tar_members(out / row.shard))


def test_samples_table_row_points_at_its_members_in_the_tar(corpus):
    out, _ = corpus
    samples = pd.read_parquet(out / "index/samples.parquet")
    for column in ("key", "source_id", "source", "modality", "shard", "tar_offset", "stored_key", "conversation",
                   "members", "member_bytes", "turns", "text_chars", "answer_chars", "text_tokens",
                   "answer_tokens", "width", "duration", "num_points", "imu_rate", "fmri_reps"):
        assert column in samples.columns, column
    for row in samples.itertuples():
        assert row.key == make_key("demo", row.source_id) == row.stored_key and row.conversation == 0
        members = _tar_members(out / row.shard)
        offset, record = members[f"{row.stored_key}.json"]
        assert offset == row.tar_offset
        sizes = [len(members[f"{row.stored_key}.{name}"][1]) for name in row.members]
        assert list(row.members)[0] == "json" and sizes == list(row.member_bytes)
        turns = json.loads(record)["conversations"]
        assert row.turns == len(turns) == 2
        assert row.text_chars == sum(len(t["value"]) for t in turns) and row.answer_chars == len(turns[1]["value"])
        assert 0 < row.answer_tokens < row.text_tokens  # counted with the default tokenizer


def test_rejects_table_names_source_id_reason_and_detail(corpus):
    out, raw = corpus
    rejects = pd.read_parquet(out / "index/rejects.parquet")
    assert list(rejects.columns[:2]) == ["source", "source_id"] and {"reason", "detail"} <= set(rejects.columns)
    by_id = {r.source_id: (r.source, r.reason, r.detail) for r in rejects.itertuples()}
    assert by_id["missing"] == ("demo", "missing media file", str(raw / "media" / "nope.jpg"))
    assert by_id["order"][1] == "roles out of order" and by_id["img0"][1] == "duplicate id"


def test_each_partition_has_its_index_parts_and_commit_marker(corpus):
    out, _ = corpus
    parts = out / "index/parts/demo"
    partitions = sorted(pd.read_parquet(out / "index/shards.parquet").partition.unique())
    for p in range(max(partitions) + 1):
        for kind in ("samples", "shards", "rejects", "commit"):
            assert (parts / f"{p:06d}.{kind}.{'json' if kind == 'commit' else 'parquet'}").is_file(), (p, kind)
    merged = pd.read_parquet(out / "index/samples.parquet")
    pieces = pd.concat([pd.read_parquet(f) for f in sorted(parts.glob("*.samples.parquet"))], ignore_index=True)
    assert merged.key.tolist() == pieces.key.tolist()

