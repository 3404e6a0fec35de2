"""Recipe filters (``data.filters``): parsed strictly, applied by the loader from the index, and reported per
source (samples and answer tokens removed) by ``mix`` and the stats report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.errors import CorpusError, OnellmDataError
from onellm_data.index import read_table
from onellm_data.loader.dataset import MixedDataset
from onellm_data.loader.realised_mix import realised_mix
from onellm_data.quality.exclude import kept_out_report
from onellm_data.recipes import load_recipe
from tests.quality.corpus import MEDIA_MIX, TOKENIZER, build_planted_corpus, quality_recipe
from tests.stats.corpus import build_stats_corpus

def _recipe(path: Path, corpus: Path, filters: str, mix: str = MEDIA_MIX) -> Path:
    return quality_recipe(path, corpus, "  filters:\n" + filters, mix)


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> Path:
    return build_planted_corpus(tmp_path_factory.mktemp("planted"))


def _lane_keys(recipe, corpus) -> set[str]:
    from model.text_tokenizer import Tokenizer

    ds = MixedDataset(recipe, corpus, Tokenizer(TOKENIZER))
    return {str(k) for lane in ds.lanes for k in lane.keys}


def test_media_bounds_remove_exactly_the_samples_outside_them(planted, tmp_path):
    # photos are 96x72 except gamma's resized 192x144; every clip lasts 1.5 s
    recipe = load_recipe(_recipe(tmp_path / "r.yaml", planted,
                                 "    image: {min_side: 100, max_aspect: 1.5}\n    audio: {max_duration: 1.0}\n"))
    assert _lane_keys(recipe, planted) == {"gamma-q1", "gamma-q2", "gamma-q1again"}
    samples = read_table(planted, "samples")
    rows = {(r["source"], r["filter"]): r for r in kept_out_report(recipe, samples)}
    assert rows[("alpha", "image.min_side 100")]["samples"] == 2 and rows[("alpha", "image.min_side 100")]["of"] == 4
    assert ("gamma", "image.min_side 100") in rows and rows[("gamma", "image.min_side 100")]["samples"] == 1
    assert not any(f == "image.max_aspect 1.5" for _, f in rows)  # 4:3 passes
    assert rows[("beta", "audio.max_duration 1")]["samples"] == 1
    assert rows[("gamma", "(all)")]["samples"] == 2  # p3 (small) and b (long)
    mix = realised_mix(recipe, samples.to_pandas(), num_batches=20)
    assert set(mix["source"]) == {"gamma"}


def test_unknown_scope_or_bound_is_an_error(planted, tmp_path):
    with pytest.raises(OnellmDataError, match=r"r\.yaml:\d+: data\.filters\.imagee: unknown key"):
        load_recipe(_recipe(tmp_path / "r.yaml", planted, "    imagee: {min_side: 1}\n"))
    recipe = load_recipe(_recipe(tmp_path / "r.yaml", planted, "    image: {min_sid: 1}\n"))
    with pytest.raises(CorpusError, match="data.filters.image.min_sid: unknown filter"):
        _lane_keys(recipe, planted)


def test_token_bounds_need_token_counts(tmp_path):
    uncounted = build_planted_corpus(tmp_path, tokenizer="")  # converted with token counting off
    recipe = load_recipe(_recipe(tmp_path / "r.yaml", uncounted, "    all: {max_answer_tokens: 5}\n"))
    with pytest.raises(CorpusError, match="no token counts"):
        _lane_keys(recipe, uncounted)


def test_answer_token_bound_reported_by_mix_and_stats(tmp_path):
    corpus, _, _ = build_stats_corpus(tmp_path)
    samples = read_table(corpus, "samples").to_pandas()
    jsonl = samples[samples["source"] == "jsonl"]
    bound = int(jsonl["answer_tokens"].min())  # keeps the shortest answers only
    recipe_path = _recipe(tmp_path / "r.yaml", corpus, f"    all: {{max_answer_tokens: {bound}}}\n",
                          mix="    - source: jsonl\n")
    over = jsonl[jsonl["answer_tokens"] > bound]
    assert 0 < len(over) < len(jsonl)
    rows = {r["filter"]: r for r in kept_out_report(load_recipe(recipe_path), read_table(corpus, "samples"))
            if r["source"] == "jsonl"}
    assert rows[f"all.max_answer_tokens {bound}"]["samples"] == len(over)
    assert rows[f"all.max_answer_tokens {bound}"]["answer_tokens"] == int(over["answer_tokens"].sum())

    result = CliRunner().invoke(app, ["mix", str(recipe_path), "--batches", "20"])
    assert result.exit_code == 0, result.output
    assert "kept out of training" in result.output and f"{len(over)} of {len(jsonl)}" in result.output

    from onellm_data.stats import compute_stats, validate
    from onellm_data.stats.markdown import render_markdown

    stats = compute_stats(corpus, recipe_path, mix_batches=20)
    assert validate(stats) == []
    kept = {r["filter"]: r for r in stats["mix"]["kept_out"] if r["source"] == "jsonl"}
    assert kept["(all)"]["samples"] == len(over)
    assert f"| jsonl | all.max_answer_tokens {bound} | {len(over)} |" in render_markdown(stats)
    assert isinstance(pd.DataFrame(stats["mix"]["rows"]), pd.DataFrame)
