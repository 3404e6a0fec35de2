"""A recipe's ``data.exclude`` lists (dedup / contamination outputs) keep those samples out of the loader's lanes
and out of the mix preview, which reports what they remove per source."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from onellm_data.cli import app
from onellm_data.errors import CorpusError
from onellm_data.index import read_table
from onellm_data.loader.dataset import MixedDataset
from onellm_data.loader.realised_mix import realised_mix
from onellm_data.quality import dedup_corpus
from onellm_data.quality.exclude import kept_out_report
from onellm_data.recipes import load_recipe
from tests.quality.corpus import TOKENIZER, build_planted_corpus, quality_recipe

def _recipe(path: Path, corpus: Path, exclude: list[Path]) -> Path:
    return quality_recipe(path, corpus, "  exclude:\n" + "".join(f"    - {p}\n" for p in exclude))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return build_planted_corpus(tmp_path_factory.mktemp("planted"))


def test_loader_and_mix_skip_excluded_keys(corpus, tmp_path):
    _, (_, dedup_list) = dedup_corpus(corpus)
    extra = tmp_path / "manual.txt"
    extra.write_text("# hand-picked\nalpha-p1\n\n")
    recipe = load_recipe(_recipe(tmp_path / "r.yaml", corpus, [dedup_list, extra]))
    assert recipe.data.exclude == (dedup_list, extra)

    from model.text_tokenizer import Tokenizer

    ds = MixedDataset(recipe, corpus, Tokenizer(TOKENIZER))
    keys = {str(k) for lane in ds.lanes for k in lane.keys}
    assert keys == {"alpha-p0", "gamma-q1", "gamma-q2", "gamma-p3", "beta-p2", "alpha-a", "gamma-b"}

    samples = read_table(corpus, "samples").to_pandas()
    mix = realised_mix(recipe, samples, num_batches=50)
    assert abs(mix["sample_share"].sum() - 1) < 1e-9
    # 5 image and 2 audio samples left of 9 and 3: epochs follow the smaller lanes.
    by_mod = mix.groupby("modality")["requested_share"].sum()
    assert by_mod["image"] == pytest.approx(5 / 7) and by_mod["audio"] == pytest.approx(2 / 7)

    # What the lists remove, per source: the mix preview prints it.
    report = {r["source"]: (r["samples"], r["of"]) for r in kept_out_report(recipe, read_table(corpus, "samples"))
              if r["filter"] == "exclude lists"}
    assert report == {"alpha": (1, 4), "beta": (3, 4), "gamma": (1, 6)}
    result = CliRunner().invoke(app, ["mix", str(recipe.path), "--batches", "20"])
    assert result.exit_code == 0, result.output
    assert "kept out of training" in result.output and "exclude lists" in result.output
    assert "3 of 4" in result.output


def test_missing_exclude_list_is_an_error(corpus, tmp_path):
    recipe = load_recipe(_recipe(tmp_path / "r.yaml", corpus, [tmp_path / "absent.txt"]))
    from model.text_tokenizer import Tokenizer

    with pytest.raises(CorpusError, match="exclude list not found: .*absent.txt"):
        MixedDataset(recipe, corpus, Tokenizer(TOKENIZER))
