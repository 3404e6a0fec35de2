"""The bundled sample corpus (every source, every modality), built once per test module."""

from __future__ import annotations

from pathlib import Path

import pytest


def build_sample_corpus(root: Path, sources: list[str] | None = None) -> Path:
    from onellm_data.converters import make_converter
    from onellm_data.pipeline import ShardSettings, run_conversion
    from onellm_data.samples import generate_sample_raw

    corpus = root / "corpus"
    for name, raw in sorted(generate_sample_raw(root / "raw", sources).items()):
        run_conversion(make_converter(name, raw), corpus, ShardSettings(max_count=64, partition_size=64))
    return corpus


@pytest.fixture(scope="module")
def sample_corpus(tmp_path_factory) -> Path:
    return build_sample_corpus(tmp_path_factory.mktemp("sample"))


@pytest.fixture
def hf_offline(monkeypatch, tmp_path) -> Path:
    """No Hub access, and a cache of the test's own."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path / "hf_cache"
