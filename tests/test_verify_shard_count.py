"""`verify` checks each shard's sample count in the shard table against the samples the index lists in it."""

import pandas as pd
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.converters import make_converter
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.verify import verify


def test_wrong_sample_count_in_the_shard_table_is_named(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    corpus = tmp_path / "corpus"
    run_conversion(make_converter("jsonl", raw, source="demo"), corpus, ShardSettings(max_count=4, partition_size=5))
    assert verify(corpus).ok
    shards = pd.read_parquet(corpus / "index/shards.parquet")
    shard, count = shards.loc[0, "shard"], int(shards.loc[0, "count"])
    shards.loc[0, "count"] = count + 1
    shards.to_parquet(corpus / "index/shards.parquet")
    assert verify(corpus).problems == [
        ("inconsistent", shard, f"index lists {count} samples, shard table says {count + 1}")]
    result = CliRunner().invoke(app, ["verify", str(corpus)], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and "shard table says" in result.output
