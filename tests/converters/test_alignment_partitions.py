"""Partitioned conversion of the alignment sources: disjoint slices converted by separate processes and merged
give the same shards and index as one run; a partition that failed is redone alone."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.converters.laion import LaionConverter
from onellm_data.index import finalize
from onellm_data.samples.alignment_media import SOURCES, write_img2dataset

SETTINGS = ShardSettings(max_count=3, partition_size=5)
ROWS = 40  # 8 partitions


def make_laion(raw: Path) -> None:
    raw.mkdir(parents=True)
    rows = [(f"https://img.example/{i}.jpg", f"picture number {i}" if i % 11 else " ") for i in range(ROWS)]
    pq.write_table(pa.table({"URL": [u for u, _ in rows], "TEXT": [t for _, t in rows]}), raw / "part0.parquet",
                   row_group_size=7)
    write_img2dataset(raw / "images", rows, per_shard=10, missing=frozenset({3, 17, 38}), corrupt=frozenset({21}))


def tree(root: Path, pattern: str) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.glob(pattern)) if p.is_file()}


def rejects_without_detail(corpus: Path) -> pd.DataFrame:
    # detail holds library messages (some print object addresses), so it is compared by reason only
    return pd.read_parquet(corpus / "index/rejects.parquet").drop(columns="detail")


@pytest.fixture
def laion_raw(tmp_path):
    make_laion(tmp_path / "raw")
    return tmp_path / "raw"


@pytest.mark.slow  # two fresh interpreters importing the codecs: ~5 s
def test_two_processes_then_merge_equal_one_run(laion_raw, tmp_path):
    single = tmp_path / "single"
    summary = run_conversion(make_converter("laion", laion_raw, samples_per_shard=10), single, SETTINGS)
    assert summary.partitions_done == 8 and summary.samples == ROWS - 4 - 4
    assert dict(summary.rejects) == {"empty caption": 4, "missing media file": 3, "undecodable image": 1}

    split = tmp_path / "split"
    script = textwrap.dedent(f"""
        import sys
        from onellm_data.pipeline import ShardSettings, run_conversion
        from onellm_data.converters import make_converter
        i = int(sys.argv[1])
        s = run_conversion(make_converter("laion", {str(laion_raw)!r}, samples_per_shard=10), {str(split)!r},
                           ShardSettings(max_count=3, partition_size=5), shard_of=(i, 2), merge_index=False)
        print(s.partitions_done)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i)], stdout=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outs == ["4", "4"]
    finalize(split)
    assert tree(split, "image/**/*.tar") == tree(single, "image/**/*.tar")
    for table in ("samples", "shards"):
        assert (split / f"index/{table}.parquet").read_bytes() == (single / f"index/{table}.parquet").read_bytes()
    pd.testing.assert_frame_equal(rejects_without_detail(split), rejects_without_detail(single))


def test_failed_partition_is_redone_alone(laion_raw, tmp_path, monkeypatch):
    corpus = tmp_path / "c"
    real_convert = LaionConverter.convert

    def crash_in_partition_7(self, record):
        if record["source_id"] == "000036":  # row 36 → partition 7, the last of slice (1, 2)
            raise KeyboardInterrupt  # not a reject: the whole partition fails
        return real_convert(self, record)

    monkeypatch.setattr(LaionConverter, "convert", crash_in_partition_7)
    with pytest.raises(KeyboardInterrupt):
        run_conversion(make_converter("laion", laion_raw, samples_per_shard=10), corpus, SETTINGS, shard_of=(1, 2))
    assert not list(corpus.glob("image/laion/laion-000007-*"))  # nothing of the failed partition is left
    assert not (corpus / "index/parts/laion/000007.commit.json").exists()
    monkeypatch.setattr(LaionConverter, "convert", real_convert)

    redo = run_conversion(make_converter("laion", laion_raw, samples_per_shard=10), corpus, SETTINGS, shard_of=(1, 2))
    assert (redo.partitions_done, redo.partitions_skipped) == (1, 3)
    rest = run_conversion(make_converter("laion", laion_raw, samples_per_shard=10), corpus, SETTINGS, shard_of=(0, 2))
    assert (rest.partitions_done, rest.partitions_skipped) == (4, 0)

    single = tmp_path / "single"
    run_conversion(make_converter("laion", laion_raw, samples_per_shard=10), single, SETTINGS)
    assert tree(corpus, "image/**/*.tar") == tree(single, "image/**/*.tar")
    assert (corpus / "index/samples.parquet").read_bytes() == (single / "index/samples.parquet").read_bytes()


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_sample_source_splits_and_merges_identically(source, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    SOURCES[source](raw)
    settings = ShardSettings(max_count=2, partition_size=2)
    run_conversion(make_converter(source, raw), tmp_path / "one", settings)
    for i in (1, 0):  # slices in either order
        run_conversion(make_converter(source, raw), tmp_path / "split", settings, shard_of=(i, 2), merge_index=False)
    finalize(tmp_path / "split")
    assert tree(tmp_path / "split", "*/*/*.tar") == tree(tmp_path / "one", "*/*/*.tar")
    for table in ("samples", "shards"):
        assert (tmp_path / f"split/index/{table}.parquet").read_bytes() == (
            tmp_path / f"one/index/{table}.parquet").read_bytes()
    pd.testing.assert_frame_equal(rejects_without_detail(tmp_path / "split"), rejects_without_detail(tmp_path / "one"))
