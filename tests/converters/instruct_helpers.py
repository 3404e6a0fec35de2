"""Shared steps of the instruction-source tests: generate a bundled sample tree, convert it, read samples back."""

from __future__ import annotations

import json
import tarfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from onellm_data.pipeline import ConversionSummary, ShardSettings, run_conversion
from onellm_data.converters import make_converter
from onellm_data.samples.instruct_media import SOURCES

SETTINGS = ShardSettings(partition_size=3)  # several partitions even for tiny trees
BIG = ShardSettings(partition_size=5000)  # real files: few partitions, fast


def sample_raw(tmp_path: Path, source: str) -> Path:
    raw = tmp_path / "raw" / source
    raw.mkdir(parents=True)
    SOURCES[source](raw)
    return raw


def convert(raw: Path, corpus: Path, source: str, settings: ShardSettings = SETTINGS, **options: Any) -> ConversionSummary:
    return run_conversion(make_converter(source, raw, **options), corpus, settings)


def index(corpus: Path, table: str = "samples") -> pd.DataFrame:
    return pd.read_parquet(corpus / "index" / f"{table}.parquet")


def read_samples(corpus: Path) -> dict[str, tuple[dict[str, Any], dict[str, bytes]]]:
    """source_id -> (the .json record, media members by extension), read back from every tar."""
    members: dict[str, dict[str, bytes]] = defaultdict(dict)
    for tar_path in sorted(corpus.glob("*/*/*.tar")):
        with tarfile.open(tar_path) as tar:
            for info in tar.getmembers():
                key, _, ext = info.name.partition(".")
                members[key][ext] = tar.extractfile(info).read()
    out = {}
    for group in members.values():
        record = json.loads(group.pop("json"))
        out[record["source_id"]] = (record, group)
        for item in record.get("more_conversations", []):  # further items stored with the same media
            out[item["source_id"]] = ({**record, **item}, group)
    return out


def first_turn(record: dict[str, Any]) -> str:
    return record["conversations"][0]["value"]
