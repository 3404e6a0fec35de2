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


def _readme_filters() -> dict:
    """The ``data:`` example of the README's data-quality section."""
    import re

    import yaml

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block, = re.findall(r"```yaml\n(data:\n  exclude:.*?)```", readme, re.S)
    return yaml.safe_load(block)["data"]["filters"]


def test_readme_example_bounds_and_unrecorded_columns_pass():
    """Each bound of the README example removes what it names; a sample whose column is not recorded (null)
    passes every bound that reads it."""
    import pyarrow as pa

    from onellm_data.quality.filters import apply_filters, parse_filters

    bounds = parse_filters(_readme_filters())
    assert {b.label for b in bounds} == {"image.min_side 224", "image.max_aspect 3", "audio.min_duration 0.5",
                                         "audio.max_duration 30", "point.min_points 1024",
                                         "all.max_answer_tokens 1024"}
    rows = [  # key, modality, width, height, duration, num_points, answer_tokens
        ("small", "image", 200, 300, None, None, 10), ("wide", "image", 1000, 300, None, None, 10),
        ("photo", "image", 640, 480, None, None, 10), ("unmeasured", "image", None, None, None, None, None),
        ("blip", "audio", None, None, 0.2, None, 5), ("long", "audio", None, None, 31.0, None, 5),
        ("clip", "audio", None, None, 10.0, None, 5), ("sparse", "point", None, None, None, 512, 5),
        ("cloud", "point", None, None, None, 8192, 5), ("essay", "text", None, None, None, None, 2000),
        ("short_clip_video", "video", 64, 64, 0.1, None, 5),  # image and audio bounds do not reach video
    ]
    names = ["key", "modality", "width", "height", "duration", "num_points", "answer_tokens"]
    types = [pa.string(), pa.string(), pa.int64(), pa.int64(), pa.float64(), pa.int64(), pa.int64()]
    table = pa.table({n: pa.array([r[i] for r in rows], t) for i, (n, t) in enumerate(zip(names, types))})
    result = apply_filters(table, bounds)
    kept = {r[0] for r, keep in zip(rows, result.keep) if keep}
    assert kept == {"photo", "unmeasured", "clip", "cloud", "short_clip_video"}
    removed = {label: {r[0] for r, hit in zip(rows, mask) if hit} for label, mask in result.removed.items()}
    assert removed["image.min_side 224"] == {"small"} and removed["image.max_aspect 3"] == {"wide"}
    assert removed["audio.min_duration 0.5"] == {"blip"} and removed["audio.max_duration 30"] == {"long"}
    assert removed["point.min_points 1024"] == {"sparse"} and removed["all.max_answer_tokens 1024"] == {"essay"}
