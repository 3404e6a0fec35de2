import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.cli import app
from onellm_data.converters import make_converter
from onellm_data.errors import CorpusError
from onellm_data.verify import rebuild_index, verify
from tests.pipeline.killable import markers, run_until, tree_bytes, uncommitted_tar_exists

SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 20, partition_size=5)  # as tests.pipeline.killable


@pytest.fixture
def corpus(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    out = tmp_path / "corpus"
    run_conversion(make_converter("jsonl", raw, source="demo"), out, SETTINGS)
    return out


def kinds(corpus):
    return sorted({kind for kind, _, _ in verify(corpus).problems})


def first_image_shard(corpus):
    return sorted((corpus / "image/demo").glob("*.tar"))[0]


def test_clean_corpus_passes(corpus):
    report = verify(corpus)
    assert report.ok and report.samples_checked == 15 and report.shards_checked == 6


def test_flipped_byte_is_altered(corpus):
    shard = first_image_shard(corpus)
    data = bytearray(shard.read_bytes())
    data[2000] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert kinds(corpus) == ["altered"]


def test_truncated_and_missing_and_extra(corpus):
    shards = sorted((corpus / "image/demo").glob("*.tar"))
    shards[0].write_bytes(shards[0].read_bytes()[:3000])
    shards[1].unlink()
    shutil.copy(shards[2], corpus / "image/demo/demo-000099-000.tar")
    assert kinds(corpus) == ["extra", "missing", "truncated"]


def test_member_names_checked_against_index(corpus):
    samples = pd.read_parquet(corpus / "index/samples.parquet")
    samples.loc[0, "key"] = "demo-renamed"
    samples.to_parquet(corpus / "index/samples.parquet")
    assert kinds(corpus) == ["inconsistent"]


def test_cli_exit_codes(corpus):
    runner = CliRunner()
    assert runner.invoke(app, ["verify", str(corpus)]).exit_code == 0
    first_image_shard(corpus).write_bytes(b"garbage")
    result = runner.invoke(app, ["verify", str(corpus)])
    assert result.exit_code == 1 and "truncated" in result.output


def test_rebuild_index_reproduces_the_index(corpus):
    before = {t: pd.read_parquet(corpus / f"index/{t}.parquet") for t in ("samples", "shards", "rejects")}
    for part in (corpus / "index/parts").rglob("*.parquet"):
        if not part.name.endswith(".rejects.parquet"):
            part.unlink()
    for t in ("samples", "shards", "rejects"):
        (corpus / f"index/{t}.parquet").unlink()
    result = rebuild_index(corpus)
    assert result.partitions == 4 and result.uncommitted == []
    after = {t: pd.read_parquet(corpus / f"index/{t}.parquet") for t in ("samples", "shards", "rejects")}
    for t in ("samples", "shards", "rejects"):
        pd.testing.assert_frame_equal(before[t], after[t])
    assert verify(corpus).ok


def test_rebuild_never_marks_a_partition_committed(corpus, jsonl_raw, tmp_path):
    """Without commit markers nothing is proven whole: rebuild indexes nothing, and convert redoes everything."""
    reference = tree_bytes(corpus)
    shutil.rmtree(corpus / "index/parts")
    result = rebuild_index(corpus)
    assert result.counts["samples"] == 0 and result.uncommitted == [("demo", 0), ("demo", 1), ("demo", 2)]
    assert not list((corpus / "index/parts").rglob("*.commit.json"))
    problems = verify(corpus).problems
    assert {kind for kind, _, _ in problems} == {"extra"} and all("no commit marker" in d for _, _, d in problems)
    run_conversion(make_converter("jsonl", jsonl_raw[0], source="demo"), corpus, SETTINGS)
    assert tree_bytes(corpus) == reference


@pytest.mark.slow
def test_rebuild_after_sigkill_then_convert_is_byte_identical(jsonl_raw, tmp_path):
    """A real conversion killed with a half-written partition on disk: rebuild, verify, convert, compare."""
    raw, _ = jsonl_raw
    run_conversion(make_converter("jsonl", raw, source="demo"), tmp_path / "reference", SETTINGS)
    corpus = tmp_path / "killed"
    run_until(raw, corpus, lambda c: markers(1)(c) and uncommitted_tar_exists(c))
    result = rebuild_index(corpus)
    assert result.uncommitted, "the kill point leaves a partition with shards but no marker"
    indexed = set(pd.read_parquet(corpus / "index/shards.parquet").partition)
    assert indexed.isdisjoint({p for _, p in result.uncommitted})
    assert not verify(corpus).ok  # the half-written partition's shards are reported, not trusted
    summary = run_conversion(make_converter("jsonl", raw, source="demo"), corpus, SETTINGS)
    assert summary.samples == 15 and summary.partitions_skipped == result.partitions
    assert tree_bytes(corpus) == tree_bytes(tmp_path / "reference")
    assert verify(corpus).ok


def test_rebuild_refuses_a_damaged_committed_shard(corpus):
    shard = first_image_shard(corpus)
    data = bytearray(shard.read_bytes())
    data[2000] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match=f"committed shard {shard} is damaged"):
        rebuild_index(corpus)


def _edit_index(corpus, row, column, value):
    samples = pd.read_parquet(corpus / "index/samples.parquet")
    key = samples.loc[row, "key"]
    samples.at[row, column] = value
    samples.to_parquet(corpus / "index/samples.parquet")
    return key


def test_edited_tar_offset_is_named(corpus):
    offset = int(pd.read_parquet(corpus / "index/samples.parquet").loc[1, "tar_offset"])
    key = _edit_index(corpus, 1, "tar_offset", offset + 512)
    problems = verify(corpus).problems
    assert [k for k, _, _ in problems] == ["inconsistent"]
    assert f"sample {key}: tar_offset {offset + 512}" in problems[0][2] and f"header is at {offset}" in problems[0][2]


def test_edited_member_bytes_are_named(corpus):
    samples = pd.read_parquet(corpus / "index/samples.parquet")
    row = int((samples.modality == "image").idxmax())
    sizes = list(samples.loc[row, "member_bytes"])
    key = _edit_index(corpus, row, "member_bytes", [sizes[0], sizes[1] - 1])
    problems = verify(corpus).problems
    assert [k for k, _, _ in problems] == ["inconsistent"]
    assert f"sample {key}: member_bytes of jpg is {sizes[1] - 1}" in problems[0][2]
    result = CliRunner().invoke(app, ["verify", str(corpus)])
    assert result.exit_code == 1 and key in result.output


def test_index_merge_leaves_out_uncommitted_partitions(corpus):
    from onellm_data.index import finalize, read_table

    out = corpus
    total = read_table(out, "samples").num_rows
    markers = sorted((out / "index/parts/demo").glob("*.commit.json"))
    assert len(markers) >= 2
    markers[0].unlink()  # as if that partition had not finished
    assert finalize(out)["samples"] < total
