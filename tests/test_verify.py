import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.cli import app
from onellm_data.converters import make_converter
from onellm_data.verify import rebuild_index, verify


@pytest.fixture
def corpus(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    out = tmp_path / "corpus"
    run_conversion(make_converter("jsonl", raw, source="demo"), out, ShardSettings(max_count=4, partition_size=5))
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
    shutil.rmtree(corpus / "index/parts")
    for t in ("samples", "shards", "rejects"):
        (corpus / f"index/{t}.parquet").unlink()
    rebuild_index(corpus)
    after = {t: pd.read_parquet(corpus / f"index/{t}.parquet") for t in ("samples", "shards")}
    for t in ("samples", "shards"):
        pd.testing.assert_frame_equal(before[t], after[t])
    assert verify(corpus).ok
    # Rejects are not in the tars: they survive only while their index parts do.
    assert len(pd.read_parquet(corpus / "index/rejects.parquet")) == 0 and len(before["rejects"]) == 4


def test_index_merge_leaves_out_uncommitted_partitions(corpus):
    from onellm_data.index import finalize, read_table

    out = corpus
    total = read_table(out, "samples").num_rows
    markers = sorted((out / "index/parts/demo").glob("*.commit.json"))
    assert len(markers) >= 2
    markers[0].unlink()  # as if that partition had not finished
    assert finalize(out)["samples"] < total
