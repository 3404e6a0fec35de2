"""The demo's quality step on the bundled sample corpus: the planted eval overlap is found, the unique eval items
are not, and the summary is printed."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from onellm_data.commands.corpus import convert_sources
from onellm_data.pipeline import ShardSettings
from onellm_data.commands._demo_quality import demo_quality
from onellm_data.samples import generate_sample_raw


@pytest.mark.slow
def test_demo_quality_on_sample_corpus(tmp_path):
    raws = generate_sample_raw(tmp_path / "raw")
    corpus = tmp_path / "corpus"
    convert_sources(sorted(raws.items()), corpus, ShardSettings(max_count=64, partition_size=64), 1)
    buf = io.StringIO()
    summary = demo_quality(tmp_path / "raw", corpus, tmp_path / "eval_sets", Console(file=buf, width=200))
    found = {s["eval_set"]: s["items_found"] for s in summary["eval_sets"]}
    assert found == {"coco": 3, "clotho": 1, "pointllm": 1}  # of 4, 2, 2: the unique items stay clean
    pairs = {(p["source"], p["eval_set"]): p["by_method"] for p in summary["pairs"]}
    coco = pairs[("coco_captions", "coco")]
    assert coco["id"] >= 1 and coco["exact"] >= 1 and coco["caption"] >= 1  # image 9 copied; a caption reused
    assert pairs[("laion", "coco")]["near"] >= 1  # the resized copy of the LAION photo
    assert pairs[("audiocaps", "clotho")]["exact"] >= 1
    assert pairs[("pointllm_instruct", "pointllm")]["exact"] >= 1
    out = buf.getvalue()
    assert "dedup:" in out and "evaluation contamination" in out and "samples flagged" in out
    assert (corpus / "quality" / "contamination.md").is_file()
