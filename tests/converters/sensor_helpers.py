"""Shared helpers of the point/depth/normal/IMU/fMRI converter tests: generate a bundled sample tree, convert it
through the real runner, and read back the index and tar members."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.pipeline.runner import ConversionSummary
from onellm_data.converters import make_converter
from onellm_data.samples.sensors import SOURCES

SETTINGS = ShardSettings(max_count=4, max_bytes=1 << 24, partition_size=3)


def sample_tree(tmp_path: Path, source: str) -> Path:
    raw = tmp_path / "raw" / source
    raw.mkdir(parents=True)
    SOURCES[source](raw)
    return raw


def convert(source: str, raw: Path, corpus: Path, **options: Any) -> ConversionSummary:
    return run_conversion(make_converter(source, raw, **options), corpus, SETTINGS)


def index(corpus: Path, table: str = "samples") -> pd.DataFrame:
    return pd.read_parquet(corpus / "index" / f"{table}.parquet")


def members(corpus: Path) -> dict[str, dict[str, bytes]]:
    """Every sample in the corpus as ``{key: {ext: bytes}}``, read with plain tarfile."""
    out: dict[str, dict[str, bytes]] = {}
    for shard in sorted(corpus.rglob("*.tar")):
        with tarfile.open(shard) as tar:
            for m in tar:
                key, _, ext = m.name.partition(".")
                out.setdefault(key, {})[ext] = tar.extractfile(m).read()
    return out


def record(blobs: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(blobs["json"])


def npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)
