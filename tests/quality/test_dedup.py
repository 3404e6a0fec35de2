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


def test_hashes_recomputed_when_a_shard_is_rewritten_under_its_name(tmp_path):
    """A source rebuilt with one photo changed keeps its shard names; the changed sha256 alone refreshes the cache."""
    from onellm_data.converters.jsonl import JsonlConverter
    from onellm_data.index import read_table
    from onellm_data.pipeline import ShardSettings, run_conversion
    from onellm_data.pipeline.runner import remove_source
    from tests.quality.corpus import photo

    corpus = build_planted_corpus(tmp_path)
    before = compute_hashes(corpus)
    shards = read_table(corpus, "shards", ["shard", "sha256"]).to_pylist()
    (tmp_path / "raw" / "alpha" / "p1.jpg").write_bytes(jpeg(photo(7)))
    remove_source(corpus, "alpha")
    run_conversion(JsonlConverter(tmp_path / "raw" / "alpha", source="alpha"), corpus, ShardSettings(max_count=4))
    rebuilt = read_table(corpus, "shards", ["shard", "sha256"]).to_pylist()
    assert [s["shard"] for s in rebuilt] == [s["shard"] for s in shards] and rebuilt != shards
    exact = {k: e for k, e in zip(*(compute_hashes(corpus).column(c).to_pylist() for c in ("key", "exact")))}
    old = {k: e for k, e in zip(*(before.column(c).to_pylist() for c in ("key", "exact")))}
    assert exact["alpha-p1"] != old["alpha-p1"] and exact["alpha-p0"] == old["alpha-p0"]


def test_groups_stay_inside_one_modality_and_every_exclusion_has_its_reason(corpus):
    import pyarrow as pa
    import pyarrow.compute as pc

    from onellm_data.quality.dedup import find_duplicates

    table = compute_hashes(corpus)
    # The same digest and near hash under another modality (a video whose middle frame is photo 0) is no copy.
    twin = table.filter(pc.equal(table.column("key"), "alpha-p0"))
    for name, value in (("key", "delta-v0"), ("source", "delta"), ("modality", "video")):
        twin = twin.set_column(twin.schema.get_field_index(name), name, pa.array([value]))
    result = find_duplicates(pa.concat_tables([table, twin]))
    assert "alpha-p0" in set(result.members["key"]) and "delta-v0" not in set(result.members["key"])
    members = pq.read_table(dedup_corpus(corpus)[1][0]).to_pandas().set_index("key")
    assert members.loc["beta-copy", "reason"] == "caption of media another source captions"
    assert members.loc["gamma-q1again", "reason"] == "repeated sample (same media and conversation)"
    assert (members.loc[~members["excluded"], "reason"] == "").all()
    assert (members.loc[members["excluded"], "reason"] != "").all()


@pytest.mark.parametrize("command, target", [("dedup", "dedup_corpus"), ("contamination", "check_contamination")])
def test_max_distance_defaults_to_three_bits(monkeypatch, tmp_path, command, target):
    import inspect

    import onellm_data.quality as quality
    from typer.testing import CliRunner

    from onellm_data.cli import app
    from onellm_data.quality.groups import DEFAULT_MAX_DISTANCE

    seen = []

    signature = inspect.signature(getattr(quality, target))

    def stop(*args, **kwargs):
        seen.append(signature.bind(*args, **kwargs).arguments["max_distance"])
        raise SystemExit(0)

    monkeypatch.setattr(quality, target, stop)
    args = [command, str(tmp_path)] + (["--eval", f"coco={tmp_path / 'a.json'}"] if command == "contamination" else [])
    CliRunner().invoke(app, args)
    assert seen == [3] == [DEFAULT_MAX_DISTANCE]
