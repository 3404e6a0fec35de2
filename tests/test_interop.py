"""Shards load unchanged with plain webdataset and with Hugging Face datasets."""

import json

import pytest
import webdataset as wds

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.converters import make_converter


@pytest.fixture
def corpus(jsonl_raw, tmp_path):
    raw, _ = jsonl_raw
    out = tmp_path / "corpus"
    run_conversion(make_converter("jsonl", raw, source="demo"), out, ShardSettings(max_count=5, partition_size=100))
    return out


def test_plain_webdataset(corpus, jsonl_raw):
    raw, _ = jsonl_raw
    urls = sorted(str(p) for p in (corpus / "image/demo").glob("*.tar"))
    items = list(wds.WebDataset(urls, shardshuffle=False))
    assert len(items) == 12
    first = items[0]
    assert first["__key__"] == "demo-img0"
    assert first["jpg"] == (raw / "media/img0.jpg").read_bytes()
    record = json.loads(first["json"])
    assert record["modality"] == "image" and record["conversations"][0]["value"].startswith("<image>")


def test_huggingface_datasets(corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from datasets import load_dataset

    files = sorted(str(p) for p in (corpus / "image/demo").glob("*.tar"))
    ds = load_dataset("webdataset", data_files={"train": files}, split="train", cache_dir=str(tmp_path / "hf"))
    assert len(ds) == 12
    row = ds[0]
    assert row["__key__"] == "demo-img0"
    assert row["json"]["source"] == "demo"
    assert row["jpg"].size == (64, 48)
