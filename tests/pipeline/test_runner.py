import os

import pandas as pd
import pytest

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.pipeline.executors import ProcessPoolExecutorBackend
from onellm_data.converters import make_converter
from onellm_data.errors import CorpusError
from onellm_data.verify import verify
from tests.pipeline.killable import markers, run_until, tmp_tar_exists, tree_bytes

SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5)


def convert(raw, corpus, executor=None, **kw):
    return run_conversion(make_converter("jsonl", raw, source="demo"), corpus, SETTINGS, executor, **kw)


def test_counts_rejects_and_layout(jsonl_raw, tmp_path):
    raw, expected = jsonl_raw
    summary = convert(raw, tmp_path / "c")
    assert summary.samples == expected["samples"] and sum(summary.rejects.values()) == expected["rejects"]
    assert summary.rejects == {"missing media file": 1, "roles out of order": 1, "duplicate id": 1,
                               "malformed annotation row": 1}
    samples = pd.read_parquet(tmp_path / "c/index/samples.parquet")
    assert len(samples) == expected["samples"] and samples.key.is_unique
    assert set(samples.modality) == {"image", "text"}
    assert all(s.startswith(f"{m}/demo/demo-") for s, m in zip(samples.shard, samples.modality))
    shards = pd.read_parquet(tmp_path / "c/index/shards.parquet")
    assert shards["count"].max() <= SETTINGS.max_count and shards["count"].sum() == expected["samples"]
    assert verify(tmp_path / "c").ok


def test_byte_identical_across_runs_and_executors(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "a")
    convert(raw, tmp_path / "b", ProcessPoolExecutorBackend(2))
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_rerun_skips_committed_partitions(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "a")
    before = tree_bytes(tmp_path / "a")
    summary = convert(raw, tmp_path / "a")
    assert summary.partitions_done == 0 and summary.partitions_skipped == 4
    assert tree_bytes(tmp_path / "a") == before


def test_retry_rejects_picks_up_fixed_input(jsonl_raw, tmp_path):
    raw, expected = jsonl_raw
    convert(raw, tmp_path / "a")
    (raw / "media" / "nope.jpg").write_bytes((raw / "media" / "img0.jpg").read_bytes())
    summary = convert(raw, tmp_path / "a", retry_rejects=True)
    assert summary.samples == expected["samples"] + 1 and "missing media file" not in summary.rejects
    assert verify(tmp_path / "a").ok


def test_changed_settings_are_refused_unless_overwrite(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "a")
    other = ShardSettings(max_count=2, partition_size=5)
    with pytest.raises(CorpusError, match="other settings"):
        run_conversion(make_converter("jsonl", raw, source="demo"), tmp_path / "a", other)
    run_conversion(make_converter("jsonl", raw, source="demo"), tmp_path / "a", other, overwrite=True)
    assert pd.read_parquet(tmp_path / "a/index/shards.parquet")["count"].max() == 2


def test_unwritable_output_is_a_clear_error(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(CorpusError, match=r"cannot write .*file/corpus"):
        convert(raw, tmp_path / "file" / "corpus")


def test_corrupt_committed_shard_is_reported_and_left_intact(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "a")
    shard = sorted((tmp_path / "a/image/demo").glob("*.tar"))[0]
    shard.write_bytes(shard.read_bytes()[:1000])
    others = {p: p.read_bytes() for p in (tmp_path / "a").rglob("*.tar") if p != shard}
    with pytest.raises(CorpusError, match=f"committed shard {shard} is corrupt \\(1000 bytes, expected "):
        convert(raw, tmp_path / "a")
    assert all(p.read_bytes() == b for p, b in others.items()) and shard.stat().st_size == 1000


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", ["mid_first_shard", "after_1_partition", "after_2_partitions_mid_shard"])
def test_resume_after_sigkill_gives_identical_output(jsonl_raw, tmp_path, kill_point):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "reference")
    corpus = tmp_path / "killed"
    if kill_point == "mid_first_shard":
        run_until(raw, corpus, tmp_tar_exists)
    elif kill_point == "after_1_partition":
        run_until(raw, corpus, markers(1))
    else:
        run_until(raw, corpus, lambda c: markers(2)(c) and tmp_tar_exists(c))
    assert not (corpus / "index/samples.parquet").exists()
    summary = convert(raw, corpus)
    if kill_point != "mid_first_shard":
        assert summary.partitions_skipped >= 1
    assert tree_bytes(corpus) == tree_bytes(tmp_path / "reference")
    assert verify(corpus).ok


def test_build_sample_never_overwrites_real_raw_data(tmp_path):
    from typer.testing import CliRunner

    from onellm_data.cli import app

    real = tmp_path / "raw" / "coco_captions" / "annotations" / "captions_train2017.json"
    real.parent.mkdir(parents=True)
    real.write_text('{"images": [], "annotations": []}')
    result = CliRunner().invoke(app, ["build", "--sample", "--sources", "coco_captions", "--raw-root",
                                      str(tmp_path / "raw"), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "not a generated sample" in result.output
    assert real.read_text() == '{"images": [], "annotations": []}'


def test_same_size_byte_flip_in_committed_shard_is_named_on_resume(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "a")
    shard = sorted((tmp_path / "a/image/demo").glob("*.tar"))[1]
    data = bytearray(shard.read_bytes())
    data[1500] ^= 0x01  # inside a JPEG: same size, still a valid tar
    shard.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match=f"committed shard {shard} is corrupt \\(sha256 "):
        convert(raw, tmp_path / "a")
    assert shard.read_bytes() == bytes(data)


def test_missing_committed_shard_is_named_on_resume_and_nothing_is_rewritten(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    convert(raw, tmp_path / "a")
    shard = sorted((tmp_path / "a/image/demo").glob("*.tar"))[0]
    shard.unlink()
    others = {p: p.read_bytes() for p in (tmp_path / "a").rglob("*.tar")}
    with pytest.raises(CorpusError, match=f"committed shard {shard} is corrupt \\(missing\\)"):
        convert(raw, tmp_path / "a")
    assert not shard.exists() and {p: p.read_bytes() for p in (tmp_path / "a").rglob("*.tar")} == others


def _shard_hashes(corpus) -> dict[str, str]:
    shards = pd.read_parquet(corpus / "index/shards.parquet")
    return dict(zip(shards["shard"], shards["sha256"]))


def test_overwrite_converts_again_with_unchanged_settings(jsonl_raw, tmp_path):
    """A plain rerun resumes (committed partitions are trusted); ``overwrite`` redoes them, so a replaced media
    file reaches the shards."""
    from tests.conftest import make_jpeg

    raw, _ = jsonl_raw
    corpus = tmp_path / "c"
    first = convert(raw, corpus)
    before = _shard_hashes(corpus)
    (raw / "media" / "img0.jpg").write_bytes(make_jpeg(99))
    resumed = convert(raw, corpus)
    assert resumed.partitions_done == 0 and resumed.partitions_skipped == first.partitions_done
    assert _shard_hashes(corpus) == before
    redone = convert(raw, corpus, overwrite=True)
    assert redone.partitions_done == first.partitions_done and redone.partitions_skipped == 0
    after = _shard_hashes(corpus)
    assert set(after) == set(before) and after != before
    assert verify(corpus).ok


def test_overwrite_under_partition_redoes_only_this_runs_share(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    corpus = tmp_path / "c"
    convert(raw, corpus)
    markers = sorted(corpus.glob("index/parts/demo/*.commit.json"))
    assert len(markers) >= 3
    for marker in markers:
        os.utime(marker, (0, 0))  # a rewritten marker is a new file with a current time
    redone = convert(raw, corpus, overwrite=True, shard_of=(0, 2))
    assert redone.partitions_done >= 1 and redone.partitions_skipped == 0
    for marker in markers:
        partition = int(marker.name.split(".")[0])
        assert (marker.stat().st_mtime == 0) == (partition % 2 == 1), marker.name
