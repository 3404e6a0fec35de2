"""Dedup on a real converted corpus with planted duplicates (and unique items that must stay out of every group)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from onellm_data.quality import dedup_corpus
from onellm_data.quality.hashes import compute_hashes
from tests.quality.corpus import build_planted_corpus, jpeg

REAL_COCO = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "coco"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_planted_corpus(tmp_path_factory.mktemp("planted"))


def test_planted_duplicates_found_and_excluded(corpus):
    result, (table, exclude) = dedup_corpus(corpus)
    m = result.members.set_index("key")
    groups = {frozenset(g.index) for _, g in m.groupby("group")}
    assert groups == {frozenset({"alpha-a", "beta-a"}),  # same PCM in WAV and FLAC
                      frozenset({"alpha-p0", "beta-copy", "gamma-q1", "gamma-q2", "gamma-q1again"}),  # copy + resize
                      frozenset({"alpha-c", "beta-c"})}  # same cloud, rows shuffled
    assert m.loc["beta-copy", "kind"] == "near" and m.loc["alpha-a", "kind"] == "exact"
    # Cross-source caption copies and the repeated conversation go; different questions stay.
    assert result.excluded == ["beta-a", "beta-c", "beta-copy", "gamma-q1again"]
    for unique in ("alpha-p1", "beta-p2", "gamma-p3", "gamma-b", "gamma-c"):
        assert unique not in m.index
    assert exclude.read_text().split() == result.excluded
    assert pq.read_table(table).num_rows == len(m)


def test_prefer_keeps_the_named_source(corpus):
    result, _ = dedup_corpus(corpus, prefer=("beta",))
    assert result.excluded == ["alpha-a", "alpha-c", "alpha-p0", "gamma-q1again"]


def test_hashes_are_cached_until_a_shard_changes(corpus):
    path = corpus / "quality" / "hashes.parquet"
    compute_hashes(corpus)
    stamp = path.stat().st_mtime_ns
    compute_hashes(corpus)
    assert path.stat().st_mtime_ns == stamp


def test_dedup_command(corpus):
    run = subprocess.run([sys.executable, "-c", "from onellm_data.cli import main; main()", "dedup", str(corpus)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "3 duplicate groups" in run.stderr and "4 excluded" in run.stderr


@pytest.mark.skipif(not REAL_COCO.is_dir(), reason="../shared/realdata/coco is absent (real COCO JPEGs)")
def test_real_photos_distinct_except_the_planted_copy(tmp_path):
    """80 real COCO photos: none is grouped with another, except a resized, recompressed copy of one."""
    from PIL import Image

    from onellm_data.converters.jsonl import JsonlConverter
    from onellm_data.pipeline import ShardSettings, run_conversion

    raw = tmp_path / "raw"
    (raw / "img").mkdir(parents=True)
    lines = []
    photos = sorted((REAL_COCO / "train2017").glob("*.jpg"))
    for p in photos:
        shutil.copyfile(p, raw / "img" / p.name)
        lines.append({"id": p.stem, "modality": "image", "media": {"jpg": f"img/{p.name}"},
                      "meta": {"task": "caption"},
                      "conversations": [{"from": "human", "value": "<image>\nCaption?"},
                                        {"from": "gpt", "value": f"photo {p.stem}"}]})
    small = Image.open(photos[0]).convert("RGB")
    (raw / "img" / "resized.jpg").write_bytes(jpeg(small.resize((small.width // 2, small.height // 2)), 70))
    lines.append({**lines[0], "id": "resized", "media": {"jpg": "img/resized.jpg"}})
    import json
    (raw / "samples.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    corpus = tmp_path / "corpus"
    run_conversion(JsonlConverter(raw, source="real"), corpus, ShardSettings(max_count=32))
    result, _ = dedup_corpus(corpus)
    assert sorted(result.members["key"]) == sorted([f"real-{photos[0].stem}", "real-resized"])


def test_hashes_recomputed_when_the_shards_change(tmp_path):
    from onellm_data.converters.jsonl import JsonlConverter
    from onellm_data.pipeline import ShardSettings, run_conversion

    corpus = build_planted_corpus(tmp_path)
    assert compute_hashes(corpus).num_rows == 14
    run_conversion(JsonlConverter(tmp_path / "raw" / "alpha", source="delta"), corpus, ShardSettings(max_count=4))
    table = compute_hashes(corpus)
    assert table.num_rows == 18 and "delta-p0" in table.column("key").to_pylist()
