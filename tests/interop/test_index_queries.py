"""The index answers token questions out of the box: counts with the default tokenizer, recorded, queryable."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest
import sentencepiece as spm

from onellm_data.converters.jsonl import JsonlConverter
from onellm_data.index_tokens import default_tokenizer, read_tokenizers
from onellm_data.pipeline import ShardSettings, run_conversion
from tests.conftest import write_jsonl_source


@pytest.fixture
def corpus(tmp_path):
    write_jsonl_source(tmp_path / "raw", bad=False)
    run_conversion(JsonlConverter(tmp_path / "raw", source="demo"), tmp_path / "c", ShardSettings(max_count=5))
    return tmp_path / "c"


def test_tokens_counted_with_the_default_tokenizer_and_recorded(corpus, tmp_path):
    import json

    sp = spm.SentencePieceProcessor(model_file=str(default_tokenizer()))
    lines = [json.loads(line) for line in (tmp_path / "raw" / "samples.jsonl").read_text().splitlines()]
    expected = {f"demo-{r['id']}": sum(len(sp.encode(t["value"])) for t in r["conversations"]) for r in lines}
    table = pq.read_table(corpus / "index" / "samples.parquet").to_pandas()
    assert table["text_tokens"].notna().all()
    assert dict(zip(table["key"], table["text_tokens"])) == expected
    assert (table["answer_tokens"] < table["text_tokens"]).all()
    recorded = read_tokenizers(corpus / "index" / "samples.parquet")
    assert recorded == {"demo": {"file": "demo_tokenizer.model", "sha256": recorded["demo"]["sha256"]}}
    import hashlib

    assert recorded["demo"]["sha256"] == hashlib.sha256(default_tokenizer().read_bytes()).hexdigest()


def test_counting_can_be_turned_off(tmp_path):
    write_jsonl_source(tmp_path / "raw", bad=False)
    run_conversion(JsonlConverter(tmp_path / "raw"), tmp_path / "c", ShardSettings(max_count=5, tokenizer=""))
    table = pq.read_table(tmp_path / "c" / "index" / "samples.parquet")
    assert table.column("text_tokens").null_count == table.num_rows
    assert read_tokenizers(tmp_path / "c" / "index" / "samples.parquet") == {}


def test_readme_duckdb_query(corpus):
    index = corpus / "index"
    # The query shown in the README.
    rows = duckdb.sql(f"""
        SELECT source, modality, count(*) AS items, sum(answer_tokens) AS answer_tokens,
               round(avg(text_tokens), 1) AS mean_tokens
        FROM '{index}/samples.parquet'
        GROUP BY source, modality ORDER BY items DESC
    """).fetchall()
    table = pq.read_table(index / "samples.parquet").to_pandas()
    by_modality = table.groupby("modality")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (m, len(g), int(g["answer_tokens"].sum())) for m, g in sorted(by_modality, key=lambda kv: -len(kv[1]))]
    shards = duckdb.sql(f"SELECT count(*), sum(bytes) FROM '{index}/shards.parquet'").fetchall()[0]
    assert shards[0] == len(list(corpus.glob("*/demo/*.tar")))
