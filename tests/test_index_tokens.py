"""``convert --tokenizer MODEL`` counts the index's text/answer tokens with that SentencePiece model, not the
default one, and records which model counted them."""

import json

import pyarrow.parquet as pq
import sentencepiece as spm
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.index_tokens import read_tokenizers
from tests.conftest import write_jsonl_source


def _tiny_tokenizer(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(f"noise pattern {i} what is shown say {i}" for i in range(200)) + "\n")
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp_path / "tiny"), vocab_size=40,
                                   model_type="char", minloglevel=2)
    return tmp_path / "tiny.model"


def test_tokenizer_option_counts_with_the_named_model(tmp_path):
    write_jsonl_source(tmp_path / "raw", bad=False)
    model = _tiny_tokenizer(tmp_path)
    result = CliRunner().invoke(app, ["convert", "jsonl", "--raw", str(tmp_path / "raw"), "--out",
                                      str(tmp_path / "c"), "--name", "demo", "-j", "1", "--tokenizer", str(model)])
    assert result.exit_code == 0, result.output
    sp = spm.SentencePieceProcessor(model_file=str(model))
    rows = [json.loads(line) for line in (tmp_path / "raw" / "samples.jsonl").read_text().splitlines()]
    expected = {f"demo-{r['id']}": (sum(len(sp.encode(t["value"])) for t in r["conversations"]),
                                    len(sp.encode(r["conversations"][1]["value"]))) for r in rows}
    table = pq.read_table(tmp_path / "c" / "index" / "samples.parquet").to_pylist()
    assert {r["key"]: (r["text_tokens"], r["answer_tokens"]) for r in table} == expected
    assert read_tokenizers(tmp_path / "c" / "index" / "samples.parquet")["demo"]["file"] == "tiny.model"
